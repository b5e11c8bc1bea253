private import _MedVolBridge

/// The DICOM data dictionary (GDCM's): keyword, name, VR and multiplicity of every public element, and
/// private elements by creator.
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

    /// The dictionary, loaded from GDCM on first use.
    public static let shared = DICOMDictionary()

    private let byTag: [UInt32: Entry]
    private let byKeyword: [String: DICOMTag]
    /// Why the dictionary is empty (it comes from GDCM, through the ITK/GDCM bridge), or nil.
    public let loadError: String?

    private init() {
        var entries: UnsafePointer<mv_dictionary_entry>?
        var count = 0
        var byTag: [UInt32: Entry] = [:]
        var byKeyword: [String: DICOMTag] = [:]
        let status = mv_dictionary_public(&entries, &count)
        loadError = status.ok == 1 ? nil : fixedCString(status.message)
        if status.ok == 1, let entries {
            byTag.reserveCapacity(count)
            for index in 0..<count {
                guard let entry = Self.entry(from: entries[index]) else { continue }
                byTag[entry.tag.rawValue] = entry
                if !entry.keyword.isEmpty, byKeyword[entry.keyword] == nil || !entry.isRetired {
                    byKeyword[entry.keyword] = entry.tag
                }
            }
        }
        self.byTag = byTag
        self.byKeyword = byKeyword
    }

    private static func entry(from raw: mv_dictionary_entry) -> Entry? {
        let tag = DICOMTag(raw.group, raw.element)
        let vrText = fixedCString(raw.vr)
        let vrs = vrText.split(separator: " ").compactMap { DICOMVR(rawValue: String($0)) }
        let keyword = raw.keyword.map { String(cString: $0) } ?? ""
        let name = raw.name.map { String(cString: $0) } ?? ""
        guard !name.isEmpty || !keyword.isEmpty else { return nil }
        return Entry(tag: tag, keyword: keyword, name: name, vrs: vrs,
                     multiplicity: raw.multiplicity.map { String(cString: $0) } ?? "",
                     isRetired: raw.retired != 0)
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

    /// A private element's entry, known by GDCM for its creator (e.g. "SIEMENS CSA HEADER").
    /// A private element's entry, known by GDCM for its creator (e.g. "SIEMENS CSA HEADER"), or one of
    /// the few medvol knows beyond GDCM's dictionary (``supplementaryPrivateEntries``).
    public func privateEntry(for tag: DICOMTag, creator: String) -> Entry? {
        var raw = mv_dictionary_entry()
        guard mv_dictionary_private(tag.group, tag.element, creator, &raw) == 1,
              let entry = Self.entry(from: raw) else {
            return Self.supplementaryPrivateEntries[PrivateKey(group: tag.group, element: UInt8(tag.element & 0xFF), creator: creator)]
                .map { Entry(tag: tag, keyword: $0.keyword, name: $0.name, vrs: $0.vrs, multiplicity: $0.multiplicity, isRetired: false) }
        }
        return Entry(tag: tag, keyword: entry.keyword, name: entry.name, vrs: entry.vrs,
                     multiplicity: entry.multiplicity, isRetired: entry.isRetired)
    }

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
