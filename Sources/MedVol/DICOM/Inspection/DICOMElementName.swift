/// What an element is called: its dictionary keyword and name, and for a private element the creator
/// that reserved its block.
public struct DICOMElementName: Sendable, Hashable {
    /// "PatientName"; "PrivateCreator"; GDCM's keyword for a known private element; "" when unknown.
    public let keyword: String
    /// What `medvol dump` shows: "Patient's Name"; "[CSA Image Header Info]" for a private element
    /// that GDCM's dictionary knows for its creator; "Private tag (GEMS_ACQU_01)" for one it does not;
    /// "Unknown element" for a public tag missing from the dictionary.
    public let name: String
    /// The private creator of a private data element ("SIEMENS CSA HEADER"), nil for public elements
    /// and private creator elements.
    public let privateCreator: String?
    /// Whether a dictionary knows the element.
    public let isKnown: Bool
    /// Whether the dictionary marks the element as retired.
    public let isRetired: Bool

    /// Whether `text` occurs in the keyword or the name (or, for a private element, its creator),
    /// ignoring case — pydicom's `Dataset.dir(text)`.
    public func matches(_ text: String) -> Bool {
        let needle = text.lowercased()
        if needle.isEmpty { return true }
        return keyword.lowercased().contains(needle) || name.lowercased().contains(needle)
            || (privateCreator?.lowercased().contains(needle) ?? false)
    }
}

extension DICOMDataSet {
    /// The keyword and name of `tag` in this data set (private elements are looked up by the creator
    /// that reserved their block here).
    public func elementName(_ tag: DICOMTag) -> DICOMElementName {
        let dictionary = DICOMDictionary.shared
        if tag.isPrivate && !tag.isPrivateCreator && tag.element != 0 {
            guard let creator = privateCreator(of: tag) else {
                return DICOMElementName(keyword: "", name: "Private tag (no creator)", privateCreator: nil,
                                        isKnown: false, isRetired: false)
            }
            if let entry = dictionary.privateEntry(for: tag, creator: creator), !entry.name.isEmpty {
                return DICOMElementName(keyword: entry.keyword, name: "[\(entry.name)]", privateCreator: creator,
                                        isKnown: true, isRetired: entry.isRetired)
            }
            return DICOMElementName(keyword: "", name: "Private tag (\(creator))", privateCreator: creator,
                                    isKnown: false, isRetired: false)
        }
        if let entry = dictionary.entry(for: tag) {
            return DICOMElementName(keyword: entry.keyword, name: entry.name.isEmpty ? entry.keyword : entry.name,
                                    privateCreator: nil, isKnown: true, isRetired: entry.isRetired)
        }
        return DICOMElementName(keyword: "", name: "Unknown element", privateCreator: nil, isKnown: false, isRetired: false)
    }
}
