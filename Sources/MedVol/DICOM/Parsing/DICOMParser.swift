/// Parses DICOM data sets (PS3.5 §7) from a ``ByteSource``, checking every length against its
/// container so that no file — truncated, corrupted, or with impossible lengths — can make it read out of
/// bounds, loop, or recurse without limit. Failures are ``MedVolError``s that name the file and the
/// element.
struct DICOMParser {
    struct Options {
        /// Stop at the top-level Pixel Data element, recording where it is (header-only scans).
        var stopAtPixelData = false
        /// Values longer than this are left in the file as `.deferred` (never for sequences).
        var deferValuesLongerThan = 4 << 20
        /// With ``stopAtPixelData``: record the Pixel Data element even when its length runs past the
        /// end of the bytes (parsing a prefix of a data set that is still being inflated).
        var pixelDataMayRunPastTheEnd = false
    }

    /// What the parse found besides the elements.
    struct Outcome {
        var elements: [DICOMElement] = []
        var characterSet: DICOMCharacterSet = .default
        /// Offset just past the last parsed byte.
        var end: Int = 0
        /// True when the parse stopped at the Pixel Data element.
        var stoppedAtPixelData = false
    }

    let source: ByteSource
    let options: Options
    var littleEndian: Bool
    var explicitVR: Bool

    static let undefinedLength: UInt32 = 0xFFFF_FFFF
    private static let maximumDepth = 48

    private var path: String { source.path }

    // MARK: Data sets

    /// Parses elements from `start` up to `end` (a defined-length container), or until an item
    /// delimiter when `end` is nil. `topLevel` enables the Pixel Data stop.
    func parseDataSet(from start: Int, to end: Int?, depth: Int, topLevel: Bool,
                      characterSet inherited: DICOMCharacterSet,
                      while keepGoing: (DICOMTag) -> Bool = { _ in true }) throws -> Outcome {
        guard depth <= Self.maximumDepth else {
            throw MedVolError.corrupt(path, "sequences are nested more than \(Self.maximumDepth) deep")
        }
        var outcome = Outcome()
        outcome.characterSet = inherited
        var offset = start
        let limit = end ?? source.count
        while offset < limit {
            guard try source.ensure(offset, 8), offset + 8 <= limit else {
                if end == nil && topLevel { break }   // trailing bytes at the end of a file
                throw MedVolError.corrupt(path, "data ends inside an element header at byte \(offset)")
            }
            let group = source.uint16(at: offset, littleEndian: littleEndian)
            let elementNumber = source.uint16(at: offset + 2, littleEndian: littleEndian)
            let tag = DICOMTag(group, elementNumber)

            if tag == .itemDelimitationItem {
                guard end == nil, !topLevel else {
                    throw MedVolError.corrupt(path, "unexpected item delimiter at byte \(offset)")
                }
                outcome.end = offset + 8
                return outcome
            }
            if tag == .sequenceDelimitationItem && topLevel {
                // Some writers leave a stray delimiter after the data set; nothing follows it.
                outcome.end = offset + 8
                return outcome
            }
            if !keepGoing(tag) {
                outcome.end = offset
                return outcome
            }

            let header = try readElementHeader(at: offset, tag: tag, limit: limit)
            let valueStart = offset + header.headerLength

            if header.length == Self.undefinedLength {
                if tag == .pixelData {
                    outcome.elements.append(DICOMElement(tag: tag, vr: header.vr, value: .encapsulatedPixelData(offset: valueStart)))
                    if topLevel && options.stopAtPixelData {
                        outcome.stoppedAtPixelData = true
                        outcome.end = valueStart
                        return outcome
                    }
                    offset = try skipEncapsulatedPixelData(from: valueStart, limit: limit)
                    continue
                }
                // A sequence of undefined length. UN of undefined length holds implicit-VR items (CP-246).
                let itemParser = header.vr == .UN ? implicitLittleEndian : self
                let (items, next) = try itemParser.parseSequence(from: valueStart, to: nil, limit: limit,
                                                                 depth: depth + 1, tag: tag, characterSet: outcome.characterSet)
                outcome.elements.append(DICOMElement(tag: tag, vr: .SQ, value: .sequence(items)))
                offset = next
                continue
            }

            let length = Int(header.length)
            let pixelDataStop = tag == .pixelData && topLevel && options.stopAtPixelData && options.pixelDataMayRunPastTheEnd
            guard valueStart <= limit - length || pixelDataStop else {
                if tag == .pixelData && topLevel {
                    throw MedVolError.corrupt(path, "pixel data truncated: \(max(0, limit - valueStart)) of \(length) bytes present")
                }
                throw MedVolError.corrupt(path, "element \(tag) claims \(length) bytes at byte \(valueStart), but only \(max(0, limit - valueStart)) remain")
            }

            if header.vr == .SQ {
                let (items, _) = try parseSequence(from: valueStart, to: valueStart + length, limit: limit,
                                                   depth: depth + 1, tag: tag, characterSet: outcome.characterSet)
                outcome.elements.append(DICOMElement(tag: tag, vr: .SQ, value: .sequence(items)))
            } else if header.vr == .UN, length > 0, Self.dictionaryVR(of: tag, creators: outcome.elements) == .SQ,
                      let items = try? implicitLittleEndian.parseSequence(from: valueStart, to: valueStart + length, limit: limit,
                                                                          depth: depth + 1, tag: tag, characterSet: outcome.characterSet).0 {
                // A sequence that went through a system that did not know it: UN holding implicit-VR
                // little-endian items (PS3.5 §6.2.2). Kept as bytes if they are not items after all.
                outcome.elements.append(DICOMElement(tag: tag, vr: .SQ, value: .sequence(items)))
            } else if tag == .pixelData && topLevel {
                outcome.elements.append(DICOMElement(tag: tag, vr: header.vr, value: .deferred(offset: valueStart, length: length)))
                if options.stopAtPixelData {
                    outcome.stoppedAtPixelData = true
                    outcome.end = valueStart
                    return outcome
                }
            } else if length > options.deferValuesLongerThan {
                outcome.elements.append(DICOMElement(tag: tag, vr: header.vr, value: .deferred(offset: valueStart, length: length)))
            } else {
                guard try source.ensure(valueStart, length) else {
                    throw MedVolError.corrupt(path, "file ends inside element \(tag)")
                }
                let bytes = source.slice(valueStart, length)
                if tag == .specificCharacterSet {
                    let terms = String(decoding: bytes, as: UTF8.self).split(separator: "\\", omittingEmptySubsequences: false)
                        .map { String($0).trimmingPadding() }
                    outcome.characterSet = DICOMCharacterSet(specificCharacterSet: terms)
                }
                outcome.elements.append(DICOMElement(tag: tag, vr: header.vr, value: .bytes(bytes)))
            }
            offset = valueStart + length
        }
        if end == nil && !topLevel {
            throw MedVolError.corrupt(path, "an item of undefined length has no delimiter before the end of the data")
        }
        outcome.end = offset
        return outcome
    }

    // MARK: Element headers

    private struct ElementHeader {
        var vr: DICOMVR
        var length: UInt32
        var headerLength: Int
    }

    private func readElementHeader(at offset: Int, tag: DICOMTag, limit: Int) throws -> ElementHeader {
        if explicitVR, let vr = DICOMVR(bytes: source.byte(at: offset + 4), source.byte(at: offset + 5)) {
            if vr.hasLongExplicitLength {
                guard try source.ensure(offset, 12), offset + 12 <= limit else {
                    throw MedVolError.corrupt(path, "data ends inside the header of element \(tag)")
                }
                return ElementHeader(vr: vr, length: source.uint32(at: offset + 8, littleEndian: littleEndian), headerLength: 12)
            }
            return ElementHeader(vr: vr, length: UInt32(source.uint16(at: offset + 6, littleEndian: littleEndian)), headerLength: 8)
        }
        // Implicit VR (or an explicit-VR file whose element carries no valid VR): 32-bit length,
        // VR from the dictionary.
        let length = source.uint32(at: offset + 4, littleEndian: littleEndian)
        return ElementHeader(vr: Self.implicitVR(for: tag, undefinedLength: length == Self.undefinedLength),
                             length: length, headerLength: 8)
    }

    /// This parser reading implicit VR little endian: how the value of a UN element is encoded
    /// (PS3.5 §6.2.2, CP-246).
    private var implicitLittleEndian: DICOMParser {
        var parser = self
        parser.explicitVR = false
        parser.littleEndian = true
        return parser
    }

    /// The dictionary's VR for `tag` (a private element's from GDCM's private dictionary, its creator
    /// looked up among `creators`, the elements parsed before it), or nil.
    static func dictionaryVR(of tag: DICOMTag, creators: [DICOMElement]) -> DICOMVR? {
        guard tag.isPrivate else { return DICOMDictionary.shared.entry(for: tag)?.vr }
        guard let creatorTag = tag.privateCreatorTag,
              let creator = creators.last(where: { $0.tag == creatorTag })?.rawBytes else { return nil }
        let name = String(decoding: creator, as: UTF8.self).trimmingPadding()
        return DICOMDictionary.shared.privateEntry(for: tag, creator: name)?.vr
    }

    static func implicitVR(for tag: DICOMTag, undefinedLength: Bool) -> DICOMVR {
        if tag == .pixelData { return undefinedLength ? .OB : .OW }
        if tag.element == 0 { return .UL }
        if tag.isPrivateCreator { return .LO }
        if tag.isPrivate { return undefinedLength ? .SQ : .UN }
        guard let entry = DICOMDictionary.shared.entry(for: tag) else { return undefinedLength ? .SQ : .UN }
        if undefinedLength && entry.vr != .SQ { return .SQ }
        return entry.vr
    }

    // MARK: Sequences

    /// Parses the items of a sequence whose value spans [start, end) or, when `end` is nil, runs to a
    /// sequence delimiter. Returns the items and the offset after the sequence.
    private func parseSequence(from start: Int, to end: Int?, limit: Int, depth: Int, tag: DICOMTag,
                               characterSet: DICOMCharacterSet) throws -> ([DICOMDataSet], Int) {
        var items: [DICOMDataSet] = []
        var offset = start
        let sequenceLimit = end ?? limit
        while true {
            if let end, offset >= end { return (items, end) }
            guard try source.ensure(offset, 8), offset + 8 <= sequenceLimit else {
                throw MedVolError.corrupt(path, "sequence \(tag) ends inside an item header at byte \(offset)")
            }
            let itemTag = DICOMTag(source.uint16(at: offset, littleEndian: littleEndian),
                                   source.uint16(at: offset + 2, littleEndian: littleEndian))
            let itemLength = source.uint32(at: offset + 4, littleEndian: littleEndian)
            if itemTag == .sequenceDelimitationItem {
                return (items, offset + 8)
            }
            guard itemTag == .item else {
                throw MedVolError.corrupt(path, "sequence \(tag) holds \(itemTag) at byte \(offset) where an item was expected")
            }
            let itemStart = offset + 8
            let parsed: Outcome
            if itemLength == Self.undefinedLength {
                parsed = try parseDataSet(from: itemStart, to: nil, depth: depth, topLevel: false, characterSet: characterSet)
                offset = parsed.end
            } else {
                let length = Int(itemLength)
                guard itemStart <= sequenceLimit - length else {
                    throw MedVolError.corrupt(path, "an item of sequence \(tag) claims \(length) bytes, more than the sequence holds")
                }
                parsed = try parseDataSet(from: itemStart, to: itemStart + length, depth: depth, topLevel: false, characterSet: characterSet)
                offset = itemStart + length
            }
            items.append(DICOMDataSet(elements: parsed.elements, isLittleEndian: littleEndian, characterSet: parsed.characterSet))
        }
    }

    /// Skips encapsulated pixel data (items up to the sequence delimiter) without reading fragments.
    private func skipEncapsulatedPixelData(from start: Int, limit: Int) throws -> Int {
        var offset = start
        while true {
            guard try source.ensure(offset, 8), offset + 8 <= limit else {
                throw MedVolError.corrupt(path, "encapsulated pixel data end without a sequence delimiter")
            }
            let tag = DICOMTag(source.uint16(at: offset, littleEndian: true), source.uint16(at: offset + 2, littleEndian: true))
            let length = Int(source.uint32(at: offset + 4, littleEndian: true))
            if tag == .sequenceDelimitationItem { return offset + 8 }
            guard tag == .item, offset + 8 <= limit - length else {
                throw MedVolError.corrupt(path, "encapsulated pixel data hold a damaged fragment at byte \(offset)")
            }
            offset += 8 + length
        }
    }
}
