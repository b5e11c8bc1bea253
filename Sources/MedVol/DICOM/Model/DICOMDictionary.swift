/// The DICOM data dictionary (GDCM 3.0's, generated into Swift tables by scripts/generate-dictionary.py):
/// keyword, name, VR and multiplicity of every public element, private elements by creator, and UID names.
public final class DICOMDictionary: Sendable {
    /// One dictionary entry.
    public struct Entry: Sendable, Hashable {
        /// The element's tag; for a repeating group (50xx, 60xx), the tag in its first group.
        public let tag: DICOMTag
        /// "PatientID"
        public let keyword: String
        /// "Patient ID"
        public let name: String
        /// The VRs the standard allows, first the usual one ("US", or ["US", "SS"]).
        public let vrs: [DICOMVR]
        /// "1", "1-n", "3", …
        public let multiplicity: String
        /// Whether the standard has retired the element.
        public let isRetired: Bool

        /// The VR to use when a file does not say (implicit VR).
        public var vr: DICOMVR { vrs.first ?? .UN }
    }

    /// The dictionary, parsed from its tables (generated from GDCM 3.0's, see
    /// scripts/generate-dictionary.py) on first use.
    public static let shared = DICOMDictionary()

    private let byTag: [UInt32: Entry]
    private let byKeyword: [String: DICOMTag]

    /// Always nil: the dictionary is medvol's own data and no longer loaded from GDCM through the bridge.
    @available(*, deprecated, message: "the dictionary is built in and always loaded")
    public var loadError: String? { nil }

    private init() {
        var byTag: [UInt32: Entry] = [:]
        var byKeyword: [String: DICOMTag] = [:]
        byTag.reserveCapacity(14_000)
        byKeyword.reserveCapacity(14_000)
        // Line: TAG VRS VM R|- KEYWORD|- NAME…
        for line in Self.publicTableText.split(separator: "\n") {
            let field = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: false)
            guard field.count == 6, let raw = UInt32(field[0], radix: 16) else { continue }
            let keyword = field[4] == "-" ? "" : String(field[4])
            let entry = Entry(tag: DICOMTag(rawValue: raw), keyword: keyword, name: String(field[5]),
                              vrs: Self.vrs(field[1]), multiplicity: String(field[2]), isRetired: field[3] == "R")
            byTag[raw] = entry
            if !keyword.isEmpty, byKeyword[keyword] == nil || !entry.isRetired {
                byKeyword[keyword] = entry.tag
            }
        }
        self.byTag = byTag
        self.byKeyword = byKeyword
    }

    /// "US/SS" → [.US, .SS]; "-" (no VR) → [].
    private static func vrs(_ text: Substring) -> [DICOMVR] {
        text.split(separator: "/").compactMap { DICOMVR(rawValue: String($0)) }
    }

    /// The entry of a public element. Repeating groups (50xx curves, 60xx overlays) are found under
    /// their first group; group lengths and private creators are answered without the table.
    public func entry(for tag: DICOMTag) -> Entry? {
        if let entry = byTag[tag.rawValue] { return entry }
        if tag.element == 0 {
            return Entry(tag: tag, keyword: "GenericGroupLength", name: "Group Length", vrs: [.UL],
                         multiplicity: "1", isRetired: false)
        }
        if tag.isPrivateCreator {
            return Entry(tag: tag, keyword: "PrivateCreator", name: "Private Creator", vrs: [.LO],
                         multiplicity: "1", isRetired: false)
        }
        let group = tag.group
        if (group & 0xFF00 == 0x5000 || group & 0xFF00 == 0x6000) && group & 1 == 0 {
            return byTag[DICOMTag(group & 0xFF00, tag.element).rawValue]
        }
        return nil
    }

    /// The tag of a keyword ("PatientID" → (0010,0020)).
    public func tag(forKeyword keyword: String) -> DICOMTag? { byKeyword[keyword] }

    /// A private element's entry, known by GDCM's dictionary for its creator (e.g. "SIEMENS CSA HEADER";
    /// compared as GDCM does, exactly but for leading and trailing spaces), or one of the few medvol knows
    /// beyond it (`supplementaryPrivateEntries`). The element's block byte is any.
    public func privateEntry(for tag: DICOMTag, creator: String) -> Entry? {
        let element = UInt8(tag.element & 0xFF)
        if let entry = Self.privateEntries[PrivateKey(group: tag.group, element: element, creator: Self.trimmingSpaces(creator))] {
            return Entry(tag: tag, keyword: entry.keyword, name: entry.name, vrs: entry.vrs,
                         multiplicity: entry.multiplicity, isRetired: entry.isRetired)
        }
        return Self.supplementaryPrivateEntries[PrivateKey(group: tag.group, element: element, creator: creator)]
            .map { Entry(tag: tag, keyword: $0.keyword, name: $0.name, vrs: $0.vrs, multiplicity: $0.multiplicity, isRetired: false) }
    }

    private static func trimmingSpaces(_ text: String) -> String {
        guard text.first == " " || text.last == " " else { return text }
        let utf8 = text.utf8
        guard let first = utf8.firstIndex(where: { $0 != 0x20 }), let last = utf8.lastIndex(where: { $0 != 0x20 }) else { return text }
        return String(text[first...last])
    }

    /// GDCM's private dictionary, by group, low element byte and creator (parsed on first use). Its
    /// entries' tags carry the low element byte only.
    private static let privateEntries: [PrivateKey: Entry] = {
        var entries: [PrivateKey: Entry] = [:]
        entries.reserveCapacity(12_000)
        var creator = ""
        // Lines: "@CREATOR", then GROUP ELEMENT VRS VM R|- NAME…
        for line in privateTableText.split(separator: "\n") {
            if line.first == "@" {
                creator = String(line.dropFirst())
                continue
            }
            let field = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: false)
            guard field.count == 6, let group = UInt16(field[0], radix: 16), let element = UInt8(field[1], radix: 16) else { continue }
            let key = PrivateKey(group: group, element: element, creator: creator)
            entries[key] = Entry(tag: DICOMTag(group, UInt16(element)), keyword: "", name: String(field[5]),
                                 vrs: vrs(field[2]), multiplicity: String(field[3]), isRetired: field[4] == "R")
        }
        return entries
    }()

    /// The name of a UID (transfer syntax, SOP class, …) in GDCM's table, or nil.
    public func uidName(_ uid: String) -> String? { Self.uidNames[uid] }

    private static let uidNames: [String: String] = {
        var names: [String: String] = [:]
        for line in uidNamesText.split(separator: "\n") {
            guard let space = line.firstIndex(of: " ") else { continue }
            let uid = String(line[..<space])
            if names[uid] == nil { names[uid] = String(line[line.index(after: space)...]) }
        }
        return names
    }()

    private struct PrivateKey: Hashable {
        var group: UInt16
        var element: UInt8
        var creator: String
    }

    /// Private elements medvol reads that GDCM 3.0's dictionary does not name, so that they decode with
    /// their VR when a file sends them as UN (implicit VR): the slice count of a United Imaging mosaic
    /// ("grid") image, (0065,xx50) of creator "Image Private Header", a DS (as dcm2niix reads it).
    private static let supplementaryPrivateEntries: [PrivateKey: (keyword: String, name: String, vrs: [DICOMVR], multiplicity: String)] = [
        PrivateKey(group: 0x0065, element: 0x50, creator: "Image Private Header"):
            ("MRNumberOfSliceInVolume", "MR Number Of Slice In Volume", [.DS], "1"),
    ]

    /// Every public entry, in tag order.
    public var allEntries: [Entry] { byTag.values.sorted { $0.tag < $1.tag } }
}
