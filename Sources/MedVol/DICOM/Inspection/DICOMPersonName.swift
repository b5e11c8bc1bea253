/// A Person Name (PN) value, PS3.5 §6.2.1: up to three component groups separated by "=" —
/// alphabetic, ideographic and phonetic — each made of five components separated by "^":
/// family name, given name, middle name, prefix, suffix.
///
/// ```swift
/// let name = DICOMPersonName("Yamada^Tarou=山田^太郎=やまだ^たろう")
/// name.familyName    // "Yamada"
/// name.ideographic   // "山田^太郎"
/// ```
public struct DICOMPersonName: Sendable, Hashable, CustomStringConvertible {
    /// The alphabetic group ("Doe^John^^Dr"), empty when absent.
    public var alphabetic: String
    /// The ideographic group, empty when absent.
    public var ideographic: String
    /// The phonetic group, empty when absent.
    public var phonetic: String

    /// Parses one PN value (one of the backslash-separated values of an element).
    public init(_ text: String) {
        let groups = text.split(separator: "=", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        alphabetic = groups.count > 0 ? groups[0] : ""
        ideographic = groups.count > 1 ? groups[1] : ""
        phonetic = groups.count > 2 ? groups[2] : ""
    }

    /// A name from its three component groups, each as stored (components separated by "^").
    ///
    /// - Parameters:
    ///   - alphabetic: The alphabetic group, e.g. "Doe^John".
    ///   - ideographic: The ideographic group, or empty.
    ///   - phonetic: The phonetic group, or empty.
    public init(alphabetic: String, ideographic: String = "", phonetic: String = "") {
        self.alphabetic = alphabetic
        self.ideographic = ideographic
        self.phonetic = phonetic
    }

    /// The five components of the alphabetic group (missing ones are empty).
    public var components: [String] {
        var parts = alphabetic.split(separator: "^", maxSplits: 4, omittingEmptySubsequences: false).map(String.init)
        while parts.count < 5 { parts.append("") }
        return parts
    }

    /// The family name: the alphabetic group's first component.
    public var familyName: String { components[0] }
    /// The given name: the alphabetic group's second component.
    public var givenName: String { components[1] }
    /// The middle name: the alphabetic group's third component.
    public var middleName: String { components[2] }
    /// The name prefix ("Dr"): the alphabetic group's fourth component.
    public var namePrefix: String { components[3] }
    /// The name suffix ("Jr"): the alphabetic group's fifth component.
    public var nameSuffix: String { components[4] }

    /// The groups present, in the keys of the DICOM JSON model ("Alphabetic", "Ideographic",
    /// "Phonetic"); empty groups are left out.
    public var groups: [(key: String, value: String)] {
        [("Alphabetic", alphabetic), ("Ideographic", ideographic), ("Phonetic", phonetic)].filter { !$0.1.isEmpty }
    }

    /// The value as stored: groups joined by "=", trailing empty groups left out.
    public var description: String {
        var parts = [alphabetic, ideographic, phonetic]
        while let last = parts.last, last.isEmpty, parts.count > 1 { parts.removeLast() }
        return parts.joined(separator: "=")
    }

    /// The name as a person writes it: "Dr John Q Doe Jr" (alphabetic group).
    public var readable: String {
        [namePrefix, givenName, middleName, familyName, nameSuffix].filter { !$0.isEmpty }.joined(separator: " ")
    }
}

extension DICOMDataSet {
    /// The values of a PN element, parsed into their groups and components.
    public func personNames(_ tag: DICOMTag) -> [DICOMPersonName] {
        strings(tag).map(DICOMPersonName.init)
    }
}
