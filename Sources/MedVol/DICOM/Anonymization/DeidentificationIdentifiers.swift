/// The original identifier values of the files being de-identified — patient name parts, IDs, accession
/// number, dates, instance UIDs — used to find them wherever else they occur: in free text the table
/// keeps (Code Meaning inside a code sequence, a label, a standard element of unknown content), and in
/// file and folder names.
///
/// Matching is on bytes, ASCII letters compared without case; a value matches when it contains any
/// token. Tokens shorter than ``minimumLength`` (a middle initial, a two-digit ID) are not used: they
/// would match almost anything.
public struct DeidentificationIdentifiers: Sendable, Hashable {
    /// Shortest token used (shorter values are not searched for).
    public static let minimumLength = 3

    /// The tokens, upper-cased (ASCII), longest first.
    public private(set) var tokens: [[UInt8]] = []

    /// No tokens.
    public init() {}

    /// The identifier values of one data set (top level only: the patient, study, series and instance).
    public init(of dataSet: DICOMDataSet) {
        add(dataSet)
    }

    /// Attributes whose values are taken whole.
    static let wholeValueTags: [DICOMTag] = [
        .patientID, DICOMTag(0x0010, 0x1000), DICOMTag(0x0010, 0x0021),   // Patient ID, Other Patient IDs, Issuer
        DICOMTag(0x0008, 0x0050), DICOMTag(0x0020, 0x0010),               // Accession Number, Study ID
        DICOMTag(0x0010, 0x0030),                                          // Patient's Birth Date
        DICOMTag(0x0008, 0x0020), DICOMTag(0x0008, 0x0021), DICOMTag(0x0008, 0x0022), DICOMTag(0x0008, 0x0023),
        .studyInstanceUID, .seriesInstanceUID, .sopInstanceUID, DICOMTag(0x0020, 0x0052),
        DICOMTag(0x0002, 0x0003),
    ]
    /// Person-name attributes, split into their parts too.
    static let nameTags: [DICOMTag] = [
        .patientName, DICOMTag(0x0010, 0x1001), DICOMTag(0x0010, 0x1005), DICOMTag(0x0010, 0x1060),   // other names, birth name, mother's birth name
    ]

    /// Adds the identifier values of `dataSet`.
    public mutating func add(_ dataSet: DICOMDataSet) {
        var found = Set(tokens)
        func insert(_ text: String) {
            let bytes = Self.folded(Array(text.utf8))
            if bytes.count >= Self.minimumLength { found.insert(bytes) }
        }
        for tag in Self.wholeValueTags {
            for value in dataSet.strings(tag) {
                insert(value)
                // A date is also found written 2024-01-31 or 2024.01.31.
                if dataSet[tag].map({ dataSet.effectiveVR(of: $0) }) == .DA, value.count == 8, value.allSatisfy(\.isNumber) {
                    let y = value.prefix(4), m = value.dropFirst(4).prefix(2), d = value.suffix(2)
                    insert("\(y)-\(m)-\(d)")
                    insert("\(y).\(m).\(d)")
                }
            }
        }
        for tag in Self.nameTags {
            for value in dataSet.strings(tag) {
                insert(value)
                let parts = value.split(whereSeparator: { "^= ,".contains($0) })
                for part in parts { insert(String(part)) }
            }
        }
        tokens = found.sorted { $0.count != $1.count ? $0.count > $1.count : $0.lexicographicallyPrecedes($1) }
    }

    /// Adds every token of `other`.
    public mutating func formUnion(_ other: DeidentificationIdentifiers) {
        let all = Set(tokens).union(other.tokens)
        tokens = all.sorted { $0.count != $1.count ? $0.count > $1.count : $0.lexicographicallyPrecedes($1) }
    }

    /// Whether `bytes` contain any token.
    public func occurs<C: Collection>(in bytes: C) -> Bool where C.Element == UInt8 {
        guard !tokens.isEmpty, !bytes.isEmpty else { return false }
        let haystack = Self.folded(Array(bytes))
        return tokens.contains { token in Self.contains(haystack, token) }
    }

    /// Whether `text` contains any token.
    public func occurs(in text: String) -> Bool { occurs(in: Array(text.utf8)) }

    static func folded(_ bytes: [UInt8]) -> [UInt8] {
        bytes.map { $0 >= 0x61 && $0 <= 0x7A ? $0 - 0x20 : $0 }
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= haystack.count, let first = needle.first else { return false }
        var index = 0
        let last = haystack.count - needle.count
        while index <= last {
            if haystack[index] == first {
                var matched = true
                for offset in 1..<needle.count where haystack[index + offset] != needle[offset] {
                    matched = false
                    break
                }
                if matched { return true }
            }
            index += 1
        }
        return false
    }

    /// Whether a file or folder name identifies: it contains a token, or it is (before an extension)
    /// shaped like a DICOM UID — digits and at least three dots, as PACS exports name files after their
    /// SOP Instance UID, even of a file too damaged to read its UID from.
    public func identifies(name: String) -> Bool {
        if occurs(in: name) { return true }
        var stem = Substring(name)
        if let dot = stem.lastIndex(of: "."), stem[stem.index(after: dot)...].allSatisfy({ $0.isLetter }) { stem = stem[..<dot] }
        return stem.count >= 8 && stem.filter({ $0 == "." }).count >= 3 && stem.allSatisfy { $0 == "." || ("0"..."9").contains($0) }
    }

    /// `path` with every component that identifies (``identifies(name:)``) replaced by "[redacted]":
    /// what messages print.
    public func redacted(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false)
            .map { identifies(name: String($0)) ? "[redacted]" : String($0) }
            .joined(separator: "/")
    }
}
