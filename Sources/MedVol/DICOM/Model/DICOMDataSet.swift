/// The value of one DICOM element.
public enum DICOMValue: Sendable {
    /// The value's bytes, in the byte order of the data set they came from.
    case bytes(ArraySlice<UInt8>)
    /// A sequence: one data set per item.
    case sequence([DICOMDataSet])
    /// Encapsulated (compressed) pixel data, left in the file: it starts at `offset` with the basic
    /// offset table item.
    case encapsulatedPixelData(offset: Int)
    /// A large value left in the file (native pixel data, or a value over the reader's size limit).
    case deferred(offset: Int, length: Int)
}

/// One DICOM data element: tag, VR and value.
public struct DICOMElement: Sendable {
    /// The element's tag.
    public let tag: DICOMTag
    /// The value representation: as written in an explicit-VR file, else the dictionary's (UN for an
    /// element the dictionary does not know).
    public let vr: DICOMVR
    /// The value, or where to find it in the file.
    public let value: DICOMValue

    /// An element with the given tag, VR and value.
    public init(tag: DICOMTag, vr: DICOMVR, value: DICOMValue) {
        self.tag = tag
        self.vr = vr
        self.value = value
    }

    /// The value bytes (indexed from 0), when the value was read (not a sequence, not left in the file).
    public var bytes: [UInt8]? { rawBytes.map(Array.init) }

    /// The value bytes without a copy (an `ArraySlice`: indices start at its `startIndex`).
    public var rawBytes: ArraySlice<UInt8>? {
        if case .bytes(let bytes) = value { return bytes }
        return nil
    }

    /// The items of a sequence.
    public var items: [DICOMDataSet]? {
        if case .sequence(let items) = value { return items }
        return nil
    }

    /// Length of the value in bytes (for sequences and encapsulated data: nil).
    public var valueLength: Int? {
        switch value {
        case .bytes(let bytes): bytes.count
        case .deferred(_, let length): length
        case .sequence, .encapsulatedPixelData: nil
        }
    }
}

/// A DICOM data set: elements in tag order, with typed access to their values.
///
/// Numbers are decoded in the data set's byte order; strings with its Specific Character Set
/// (ISO-IR 6, ISO-IR 100 and ISO-IR 192 are decoded exactly; other sets fall back to Latin-1).
public struct DICOMDataSet: Sendable {
    /// The top-level elements, in ascending tag order.
    public private(set) var elements: [DICOMElement]
    /// Whether numbers in the values are little endian (false only for the retired big-endian syntax).
    public let isLittleEndian: Bool
    let characterSet: DICOMCharacterSet

    /// A data set of `elements` (sorted into tag order if they are not), its text decoded as ISO-IR 6
    /// with a Latin-1 fallback.
    ///
    /// - Parameters:
    ///   - elements: The top-level elements, in any order.
    ///   - isLittleEndian: The byte order of the elements' binary values.
    public init(elements: [DICOMElement] = [], isLittleEndian: Bool = true) {
        self.init(elements: elements, isLittleEndian: isLittleEndian, characterSet: .default)
    }

    init(elements: [DICOMElement], isLittleEndian: Bool, characterSet: DICOMCharacterSet) {
        // Files list elements in tag order; sort only the rare ones that do not.
        let ordered = zip(elements, elements.dropFirst()).allSatisfy { $0.tag < $1.tag }
        self.elements = ordered ? elements : elements.sorted { $0.tag < $1.tag }
        self.isLittleEndian = isLittleEndian
        self.characterSet = characterSet
    }

    /// The element with `tag`, if present.
    public subscript(tag: DICOMTag) -> DICOMElement? {
        var low = 0, high = elements.count - 1
        while low <= high {
            let middle = (low + high) / 2
            let candidate = elements[middle].tag
            if candidate == tag { return elements[middle] }
            if candidate < tag { low = middle + 1 } else { high = middle - 1 }
        }
        return nil
    }

    /// The element named by a dictionary keyword ("PatientID", "ImagePositionPatient").
    public subscript(keyword keyword: String) -> DICOMElement? {
        guard let tag = DICOMDictionary.shared.tag(forKeyword: keyword) else { return nil }
        return self[tag]
    }

    /// Whether the data set has an element with `tag` (top level only).
    public func contains(_ tag: DICOMTag) -> Bool { self[tag] != nil }

    /// Inserts or replaces an element.
    public mutating func set(_ element: DICOMElement) {
        if let index = elements.firstIndex(where: { $0.tag >= element.tag }) {
            if elements[index].tag == element.tag {
                elements[index] = element
            } else {
                elements.insert(element, at: index)
            }
        } else {
            elements.append(element)
        }
    }

    /// Removes the element with `tag`, if present.
    public mutating func remove(_ tag: DICOMTag) {
        elements.removeAll { $0.tag == tag }
    }

    /// Removes every element for which `shouldRemove` is true (top level only).
    public mutating func removeAll(where shouldRemove: (DICOMElement) -> Bool) {
        elements.removeAll(where: shouldRemove)
    }

    // MARK: The value decoder

    /// The VR every reader decodes `element` with (header scan, full parse, dump, anonymizer, DICOMDIR
    /// records — there is no other): the element's own VR, except that UN (an element that passed
    /// through a system that did not know its VR) is read with the dictionary's VR, PS3.5 §6.2.2 — the
    /// public dictionary, or GDCM's private dictionary for the element's creator — as pydicom does.
    /// Binary values are then read in the data set's byte order, as pydicom reads them.
    public func effectiveVR(of element: DICOMElement) -> DICOMVR {
        guard element.vr == .UN, element.rawBytes != nil else { return element.vr }
        let entry: DICOMDictionary.Entry?
        if element.tag.isPrivate {
            entry = privateCreator(of: element.tag).flatMap { DICOMDictionary.shared.privateEntry(for: element.tag, creator: $0) }
        } else {
            entry = DICOMDictionary.shared.entry(for: element.tag)
        }
        guard let vr = entry?.vr, vr != .SQ, vr != .UN else { return element.vr }
        return vr
    }

    // MARK: Text values

    /// All values of a text element, split at backslashes, with padding spaces removed.
    public func strings(_ tag: DICOMTag) -> [String] {
        guard let element = self[tag], let bytes = element.rawBytes else { return [] }
        return textValues(bytes, vr: effectiveVR(of: element))
    }

    /// The first value of a text element (nil when absent or empty).
    public func string(_ tag: DICOMTag) -> String? {
        guard let first = strings(tag).first, !first.isEmpty else { return nil }
        return first
    }

    /// The whole text of an element, backslashes included.
    public func text(_ tag: DICOMTag) -> String? {
        guard let element = self[tag], let bytes = element.rawBytes else { return nil }
        let value = characterSet.decode(bytes)
        let trimmed = value.trimmingPadding()
        return trimmed.isEmpty ? nil : trimmed
    }

    func textValues(_ bytes: ArraySlice<UInt8>, vr: DICOMVR) -> [String] {
        guard !bytes.isEmpty else { return [] }
        let text = characterSet.decode(bytes)
        if vr.isSingleValuedText { return [text.trimmingPadding(leading: false)] }
        return text.split(separator: "\\", omittingEmptySubsequences: false).map { String($0).trimmingPadding() }
    }

    // MARK: Numeric values

    /// All values of a numeric element: binary (US, SS, UL, SL, FL, FD, SV, UV, OW, …) or decimal and
    /// integer strings (DS, IS). Unparseable string values are skipped.
    public func doubles(_ tag: DICOMTag) -> [Double] {
        guard let element = self[tag], let bytes = element.rawBytes else { return [] }
        return numericValues(bytes, vr: effectiveVR(of: element))
    }

    /// The first numeric value.
    public func double(_ tag: DICOMTag) -> Double? { doubles(tag).first }

    /// The first value as an integer (when it is a whole number).
    public func int(_ tag: DICOMTag) -> Int? {
        guard let value = double(tag), value.rounded() == value, abs(value) < 9.0e15 else { return nil }
        return Int(value)
    }

    /// All values as integers (non-integral values are dropped).
    public func ints(_ tag: DICOMTag) -> [Int] {
        doubles(tag).compactMap { $0.rounded() == $0 && abs($0) < 9.0e15 ? Int($0) : nil }
    }

    func numericValues(_ bytes: ArraySlice<UInt8>, vr: DICOMVR) -> [Double] {
        switch vr {
        case .DS, .IS:
            return DecimalText.numbers(bytes)
        case .US, .OW: return integers(bytes, UInt16.self).map { Double($0) }
        case .SS: return integers(bytes, Int16.self).map { Double($0) }
        case .UL, .OL: return integers(bytes, UInt32.self).map { Double($0) }
        case .SL: return integers(bytes, Int32.self).map { Double($0) }
        case .SV: return integers(bytes, Int64.self).map { Double($0) }
        case .UV, .OV: return integers(bytes, UInt64.self).map { Double($0) }
        case .FL, .OF: return integers(bytes, UInt32.self).map { Double(Float(bitPattern: $0)) }
        case .FD, .OD: return integers(bytes, UInt64.self).map { Double(bitPattern: $0) }
        case .OB, .UN: return bytes.map { Double($0) }
        default:
            return textValues(bytes, vr: vr).compactMap { Double($0) }
        }
    }

    /// Values of a binary element as unsigned 16-bit words, in the data set's byte order.
    func words(_ tag: DICOMTag) -> [UInt16] {
        guard let bytes = self[tag]?.rawBytes else { return [] }
        return integers(bytes, UInt16.self)
    }

    /// Fixed-width integers in the data set's byte order (a trailing partial value is ignored).
    func integers<T: FixedWidthInteger>(_ bytes: ArraySlice<UInt8>, _: T.Type) -> [T] {
        let width = MemoryLayout<T>.size
        let count = bytes.count / width
        return bytes.withUnsafeBytes { raw in
            (0..<count).map { index in
                let value = raw.loadUnaligned(fromByteOffset: index * width, as: T.self)
                return isLittleEndian ? T(littleEndian: value) : T(bigEndian: value)
            }
        }
    }

    /// The tag values of an AT element.
    public func tags(_ tag: DICOMTag) -> [DICOMTag] {
        self[tag]?.rawBytes.map(tags(in:)) ?? []
    }

    /// The tags an AT value holds (pairs of 16-bit words in the data set's byte order; a trailing
    /// partial tag is ignored).
    func tags(in bytes: ArraySlice<UInt8>) -> [DICOMTag] {
        let halves = integers(bytes, UInt16.self)
        return stride(from: 0, to: halves.count - 1, by: 2).map { DICOMTag(halves[$0], halves[$0 + 1]) }
    }

    // MARK: Sequences

    /// The items of a sequence element (nil when absent or not a sequence).
    public func sequence(_ tag: DICOMTag) -> [DICOMDataSet]? { self[tag]?.items }

    /// The first item of a sequence.
    public func firstItem(_ tag: DICOMTag) -> DICOMDataSet? { sequence(tag)?.first }

    // MARK: Private elements

    /// The private creator that reserved the block of a private element ("SIEMENS CSA HEADER").
    public func privateCreator(of tag: DICOMTag) -> String? {
        guard let creatorTag = tag.privateCreatorTag else { return nil }
        return string(creatorTag)
    }

    /// The private element `element & 0xFF` in the block that `creator` reserved in `group`.
    public func privateElement(group: UInt16, element: UInt8, creator: String) -> DICOMElement? {
        for block in UInt16(0x10)...UInt16(0xFF) {
            if string(DICOMTag(group, block)) == creator {
                return self[DICOMTag(group, block << 8 | UInt16(element))]
            }
        }
        return nil
    }
}

extension String {
    /// Removes DICOM padding (spaces and NULs) at the end and, unless `leading` is false, at the start.
    func trimmingPadding(leading: Bool = true) -> String {
        var scalars = Substring(self)
        while let last = scalars.last, last == " " || last == "\0" { scalars.removeLast() }
        if leading { while let first = scalars.first, first == " " { scalars.removeFirst() } }
        return String(scalars)
    }
}

/// The character sets medvol decodes: ASCII/Latin-1 and UTF-8.
enum DICOMCharacterSet: Sendable, Hashable {
    case `default`      // ISO-IR 6, and a Latin-1 fallback for unknown sets
    case latin1         // ISO_IR 100
    case utf8           // ISO_IR 192

    init(specificCharacterSet terms: [String]) {
        let term = terms.last(where: { !$0.isEmpty }) ?? ""
        switch term.uppercased() {
        case "ISO_IR 192": self = .utf8
        case "ISO_IR 100", "ISO 2022 IR 100": self = .latin1
        default: self = .default
        }
    }

    func decode(_ bytes: ArraySlice<UInt8>) -> String {
        switch self {
        case .utf8: return String(decoding: bytes, as: UTF8.self)
        case .latin1, .default:
            if bytes.allSatisfy({ $0 < 0x80 }) { return String(decoding: bytes, as: UTF8.self) }
            return String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
        }
    }

    func encode(_ text: String) -> [UInt8] {
        switch self {
        case .utf8: return Array(text.utf8)
        case .latin1, .default:
            return text.unicodeScalars.map { $0.value < 256 ? UInt8($0.value) : UInt8(ascii: "?") }
        }
    }
}
