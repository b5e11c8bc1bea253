import Synchronization

/// De-identifies DICOM data sets and files with the Basic Application Level Confidentiality Profile of
/// PS3.15 Annex E, keeping the pixels and the geometry.
///
/// What it does to each data set, recursing into every sequence item:
/// - Every attribute listed in Table E.1-1 (``BasicProfile/rules``) gets its action; combined codes
///   are resolved by ``DeidentificationAction/applied`` (X/Z → Z, X/D, Z/D, X/Z/D → D, X/Z/U* → U).
/// - **Private attributes** (every odd group, private creators included) are removed.
/// - **UIDs**: every UI value is replaced — the table's U rows and every other UID too — except the
///   identifiers of classes and encodings (SOP Class, Transfer Syntax, Coding Scheme, … UIDs) and values
///   under the DICOM root 1.2.840.10008 (well-known UIDs). The replacement is a new "2.25." UID
///   (``DICOMUID/generate()``), and the same old UID always gives the same new one within one
///   anonymizer, so studies, series, frames of reference and references inside sequences (Referenced
///   SOP Instance UID, …) stay consistent across the files of a run.
/// - **Dates and times**: every date (DA) becomes ``Options/dummyDate`` (19000101), every time (TM)
///   ``Options/dummyTime`` (000000), every date-time (DT) ``Options/dummyDateTime`` — the same fixed
///   values for every file, for the table's D and Z rows and also for dates the table does not list, so
///   no original date survives. Patient's Birth Date (Z) is emptied instead (a made-up birth date would
///   give a false age). Where images of a 4D series were ordered only by acquisition time, the order
///   falls back to instance numbers.
/// - **Dummies (D)**: text becomes "ANONYMIZED", numbers 0, ages "000Y", binary values zero length;
///   Patient ID (Z/D → D) becomes a pseudonym "ANON0001", "ANON0002", … — the same pseudonym for the same
///   original ID within a run, so files of one patient stay together. A sequence that must get a dummy
///   or a zero-length value (Content Sequence, Graphic Annotation Sequence, Referenced Study Sequence, …)
///   keeps no items.
/// - **Z**: zero-length value (for dates and times: the dummy, as Z allows).
/// - Patient Identity Removed (0012,0062) = YES, De-identification Method (0012,0063) and its code
///   sequence (0012,0064: DCM 113100 "Basic Application Confidentiality Profile") are set, and
///   Longitudinal Temporal Information Modified (0028,0303) = REMOVED.
///
/// Pixel data are copied byte for byte (compressed fragments included, in the file's own transfer
/// syntax); the file meta group is rebuilt from the new SOP Instance UID.
///
/// ```swift
/// let anonymizer = DICOMAnonymizer()
/// let report = try anonymizer.anonymize(input: "/data/study", output: "/data/study-anon")
/// print(report.files.count, "files;", report.skipped.count, "skipped")
/// ```
public final class DICOMAnonymizer: Sendable {
    /// How to de-identify.
    public struct Options: Sendable {
        /// The dummy for dates (DA), `YYYYMMDD`.
        public var dummyDate = "19000101"
        /// The dummy for times (TM), `HHMMSS`.
        public var dummyTime = "000000"
        /// The dummy for date-times (DT), `YYYYMMDDHHMMSS`.
        public var dummyDateTime = "19000101000000"
        /// The dummy for text values (PN, LO, SH, CS, …).
        public var dummyText = "ANONYMIZED"
        /// Patient IDs become this prefix and a 4-digit number.
        public var patientIDPrefix = "ANON"
        /// Actions that replace the table's for some tags (e.g. `.keep` for an attribute a study needs).
        public var overrides: [DICOMTag: DeidentificationAction] = [:]

        /// The defaults: dates 19000101, times 000000, text "ANONYMIZED", Patient IDs "ANON0001", …, and
        /// no overrides.
        public init() {}
    }

    /// How this anonymizer de-identifies.
    public let options: Options

    private struct State {
        var uids: [String: String] = [:]
        var uidOrder: [String] = []
        var patientIDs: [String: String] = [:]
        var patientOrder: [String] = []
    }

    private let state = SystemMutex(State())   // pthread, so that ThreadSanitizer sees the lock (see SystemMutex)

    /// An anonymizer with empty UID and Patient ID mappings; it then maps the same original to the same
    /// replacement for as long as it is used.
    public init(options: Options = Options()) {
        self.options = options
    }

    /// The value written into De-identification Method (0012,0063).
    public static let methodDescription = "PS3.15 E.1 Basic Application Confidentiality Profile (medvol)"

    /// The second value of De-identification Method for files whose pixels may show burned-in text.
    public static let pixelsNotCheckedNote = "pixels not checked for burned-in annotation"

    // MARK: Consistent replacements

    /// The new UID for `uid`: a new one the first time, the same one afterwards.
    public func replacementUID(for uid: String) -> String {
        state.withLock { state in
            if let known = state.uids[uid] { return known }
            let new = DICOMUID.generate()
            state.uids[uid] = new
            state.uidOrder.append(uid)
            return new
        }
    }

    /// The pseudonym for a Patient ID: "ANON0001" for the first ID met, and so on.
    public func pseudonym(forPatientID id: String) -> String {
        state.withLock { state in
            if let known = state.patientIDs[id] { return known }
            let number = String(state.patientOrder.count + 1)
            let new = options.patientIDPrefix + String(repeating: "0", count: max(0, 4 - number.count)) + number
            state.patientIDs[id] = new
            state.patientOrder.append(id)
            return new
        }
    }

    /// Every UID replaced so far, old → new, in the order they were met.
    public var uidMapping: [(original: String, replacement: String)] {
        state.withLock { state in state.uidOrder.map { ($0, state.uids[$0]!) } }
    }

    /// Every Patient ID replaced so far, original → pseudonym.
    public var patientIDMapping: [(original: String, replacement: String)] {
        state.withLock { state in state.patientOrder.map { ($0, state.patientIDs[$0]!) } }
    }

    // MARK: Data sets

    /// The de-identified data set (a top-level data set: the de-identification attributes are added).
    ///
    /// `identifiers` are the original values searched for in every element the table keeps (see
    /// ``DeidentificationIdentifiers``); by default, those of `dataSet` itself. An element whose value
    /// contains one gets a dummy (text "ANONYMIZED", numbers 0, binary values zero length).
    ///
    /// When ``BurnedInAnnotation/assess(_:)`` finds the pixels may show text, the De-identification
    /// Method gets a second value saying the pixels were not checked, and Burned In Annotation is kept.
    public func anonymize(_ dataSet: DICOMDataSet, identifiers: DeidentificationIdentifiers? = nil) throws -> DICOMDataSet {
        let identifiers = identifiers ?? DeidentificationIdentifiers(of: dataSet)
        var result = try clean(dataSet, depth: 0, identifiers: identifiers)
        result.set(.text(DICOMTag(0x0012, 0x0062), .CS, "YES"))
        var method = [Self.methodDescription]
        if BurnedInAnnotation.assess(dataSet) != nil { method.append(Self.pixelsNotCheckedNote) }
        result.set(.text(DICOMTag(0x0012, 0x0063), .LO, method))
        let code = DICOMDataSet(elements: [
            .text(DICOMTag(0x0008, 0x0100), .SH, "113100"),
            .text(DICOMTag(0x0008, 0x0102), .SH, "DCM"),
            .text(DICOMTag(0x0008, 0x0104), .LO, "Basic Application Confidentiality Profile"),
        ], isLittleEndian: dataSet.isLittleEndian)
        result.set(.sequence(DICOMTag(0x0012, 0x0064), [code]))
        result.set(.text(DICOMTag(0x0028, 0x0303), .CS, "REMOVED"))
        return result
    }

    private func clean(_ dataSet: DICOMDataSet, depth: Int, identifiers: DeidentificationIdentifiers) throws -> DICOMDataSet {
        var elements: [DICOMElement] = []
        elements.reserveCapacity(dataSet.elements.count)
        for element in dataSet.elements {
            if let kept = try process(element, in: dataSet, depth: depth, identifiers: identifiers) {
                elements.append(scrubbed(kept, in: dataSet, identifiers: identifiers))
            }
        }
        return DICOMDataSet(elements: elements, isLittleEndian: dataSet.isLittleEndian, characterSet: dataSet.characterSet)
    }

    /// UI attributes whose values name classes, encodings or coding schemes, not instances: kept.
    static let classUIDTags: Set<DICOMTag> = [
        DICOMTag(0x0002, 0x0002), DICOMTag(0x0002, 0x0010), DICOMTag(0x0002, 0x0012),   // meta: SOP class, syntax, implementation
        DICOMTag(0x0004, 0x1510), DICOMTag(0x0004, 0x1512), DICOMTag(0x0004, 0x151A),   // DICOMDIR: classes and syntax in file
        .sopClassUID, DICOMTag(0x0008, 0x001A), DICOMTag(0x0008, 0x001B),               // SOP class, related, original specialized
        DICOMTag(0x0008, 0x0062),                                                       // SOP Classes in Study
        DICOMTag(0x0008, 0x010C), DICOMTag(0x0008, 0x0117), DICOMTag(0x0008, 0x0118),   // Coding Scheme, Context, Mapping Resource
        DICOMTag(0x0008, 0x1150),                                                       // Referenced SOP Class UID
        DICOMTag(0x0400, 0x0010), DICOMTag(0x0400, 0x0510),                             // MAC / encrypted content transfer syntaxes
    ]

    /// Whether the UID value `uid` of attribute `tag` is kept: class-like attributes and DICOM's own
    /// well-known UIDs.
    static func keepsUID(_ uid: String, of tag: DICOMTag) -> Bool {
        classUIDTags.contains(tag) || uid.hasPrefix("1.2.840.10008.")
    }

    private func process(_ element: DICOMElement, in dataSet: DICOMDataSet, depth: Int, identifiers: DeidentificationIdentifiers) throws -> DICOMElement? {
        let tag = element.tag
        if tag.group & 1 == 1 { return nil }                                       // private (and illegal odd) groups
        if tag.group == 0x0002 || tag.group == 0xFFFE { return nil }               // meta group (rebuilt), stray delimiters
        let vr = dataSet.effectiveVR(of: element)
        if let action = options.overrides[tag] ?? BasicProfile.action(for: tag) {
            switch action.applied {
            case .keep: return element
            case .remove: return nil
            case .zeroLength: return zeroLength(element, vr: vr)
            case .dummy: return dummy(element, vr: vr)
            default:   // .replaceUID
                if case .sequence(let items) = element.value {
                    return .sequence(tag, try items.map { try clean($0, depth: depth + 1, identifiers: identifiers) })
                }
                return vr == .UI ? replacingUIDs(element, vr: vr) : dummy(element, vr: vr)
            }
        }
        // Not in the table: kept, with its items cleaned, its UIDs replaced and its dates made dummies.
        if case .sequence(let items) = element.value {
            return DICOMElement(tag: tag, vr: .SQ, value: .sequence(try items.map { try clean($0, depth: depth + 1, identifiers: identifiers) }))
        }
        switch vr {
        case .UI: return replacingUIDs(element, vr: vr)
        case .DA, .DT, .TM: return dummy(element, vr: vr)
        default: return element
        }
    }

    /// `element` (already through the table) with a dummy when its value still contains an original
    /// identifier. Pixel data, and values left in the file (too large to read), are not searched; UIDs
    /// are all replaced already, sequences were cleaned item by item.
    private func scrubbed(_ element: DICOMElement, in dataSet: DICOMDataSet, identifiers: DeidentificationIdentifiers) -> DICOMElement {
        guard element.tag.group != 0x7FE0, element.tag != DICOMTag(0x0008, 0x0005),   // pixels, Specific Character Set
              let bytes = element.rawBytes, !bytes.isEmpty else { return element }
        let vr = dataSet.effectiveVR(of: element)
        switch vr {
        case .UI, .SQ, .US, .SS, .UL, .SL, .FL, .FD, .SV, .UV, .AT, .OD, .OF, .OL, .OV, .OW: return element
        case .DS, .IS:
            // A well-formed number carries no name; a numeric ID found in one (a position, a window
            // centre) would be a coincidence, and zeroing it would break the geometry.
            if bytes.allSatisfy({ Self.numberCharacters.contains($0) }) { return element }
        default: break
        }
        guard identifiers.occurs(in: bytes) else { return element }
        return dummy(element, vr: vr)
    }

    private static let numberCharacters = Set("0123456789+-.eE \\".utf8)

    // MARK: Values

    private func zeroLength(_ element: DICOMElement, vr: DICOMVR) -> DICOMElement {
        if element.items != nil || vr == .SQ { return .sequence(element.tag, []) }
        let birth: Set<DICOMTag> = [DICOMTag(0x0010, 0x0030), DICOMTag(0x0010, 0x0032)]
        if (vr == .DA || vr == .DT || vr == .TM) && !birth.contains(element.tag) && hasValue(element) {
            return dummy(element, vr: vr)
        }
        return DICOMElement(tag: element.tag, vr: vr, value: .bytes([]))
    }

    private func hasValue(_ element: DICOMElement) -> Bool {
        switch element.value {
        case .bytes(let bytes): return bytes.contains { $0 != 0x20 && $0 != 0 }
        case .deferred(_, let length): return length > 0
        default: return true
        }
    }

    private func dummy(_ element: DICOMElement, vr: DICOMVR) -> DICOMElement {
        let tag = element.tag
        if element.items != nil || vr == .SQ { return .sequence(tag, []) }
        func text(_ value: String) -> DICOMElement { .text(tag, vr, value) }
        func zeros(_ count: Int) -> DICOMElement { .binary(tag, vr, [UInt8](repeating: 0, count: count)) }
        switch vr {
        case .DA: return text(options.dummyDate)
        case .TM: return text(options.dummyTime)
        case .DT: return text(options.dummyDateTime)
        case .AS: return text("000Y")
        case .DS, .IS: return text("0")
        case .UI: return replacingUIDs(element, vr: vr, generateIfEmpty: true)
        case .US, .SS: return zeros(2)
        case .UL, .SL, .FL, .AT: return zeros(4)
        case .FD, .SV, .UV: return zeros(8)
        case .OB, .OD, .OF, .OL, .OV, .OW, .UN: return .binary(tag, vr, [])
        case .LO, .SH, .PN, .CS, .AE, .LT, .ST, .UT, .UC, .UR:
            if tag == .patientID {
                let original = element.rawBytes.map { String(decoding: $0, as: UTF8.self).trimmingPadding() } ?? ""
                return text(pseudonym(forPatientID: original))
            }
            return text(options.dummyText)
        case .SQ: return .sequence(tag, [])
        }
    }

    /// The element with each of its UID values replaced (kept when ``keepsUID(_:of:)``).
    private func replacingUIDs(_ element: DICOMElement, vr: DICOMVR, generateIfEmpty: Bool = false) -> DICOMElement {
        let values: [String]
        switch element.value {
        case .bytes(let bytes):
            values = String(decoding: bytes, as: UTF8.self).split(separator: "\\", omittingEmptySubsequences: false)
                .map { String($0).trimmingPadding() }
        default:
            values = []   // a deferred (huge) UI value is not plausible: replaced by an empty value
        }
        var replaced = values.map { value -> String in
            guard !value.isEmpty, !Self.keepsUID(value, of: element.tag) else { return value }
            return replacementUID(for: value)
        }
        if generateIfEmpty && replaced.allSatisfy(\.isEmpty) { replaced = [DICOMUID.generate()] }
        return DICOMElement(tag: element.tag, vr: .UI, value: .bytes(ArraySlice(replaced.joined(separator: "\\").utf8)))
    }
}
