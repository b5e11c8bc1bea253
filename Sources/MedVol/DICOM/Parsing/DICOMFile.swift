/// A DICOM file as read from disk: its file meta information, its data set, its transfer syntax and
/// where its pixel data are (pixel data are never read here; see ``DICOMScan`` and ``DICOMStack``).
public struct DICOMFile: Sendable {
    /// How much of a file to read.
    public enum ReadExtent: Sendable {
        /// Up to the Pixel Data element (a header-only scan; pixel data are never touched).
        case headerOnly
        /// Every element, pixel data left in the file.
        case everything
    }

    /// The path the file was read from.
    public let path: String
    /// Group 0002 (empty for files without it).
    public let fileMetaInformation: DICOMDataSet
    /// The data set, without the pixel data bytes.
    public let dataSet: DICOMDataSet
    /// The transfer syntax the meta group declares (Implicit VR Little Endian when it names none); for
    /// a file with neither preamble nor meta group, the encoding found from its first element.
    public let transferSyntax: TransferSyntax
    /// True when the file had no 128-byte preamble and "DICM" prefix (old ACR-NEMA style).
    public let lacksPreamble: Bool
    /// For deflated files: the inflated data set bytes, which pixel data offsets refer to.
    let inflatedDataSet: [UInt8]?
    /// Size of the file in bytes when it was read.
    public let fileSize: Int

    /// Reads `path`.
    public static func read(path: String, extent: ReadExtent = .everything) throws -> DICOMFile {
        let file = try ReadableFile(path: path)
        return try read(file: file, extent: extent)
    }

    /// `pixelDataMayBeShort`: with `.headerOnly`, a Pixel Data element whose length runs past the end of
    /// the file is recorded rather than an error (the scan makes it its stack's problem, so that a short
    /// file fails its stack instead of silently leaving a slice out).
    static func read(file: ReadableFile, extent: ReadExtent, pixelDataMayBeShort: Bool = false) throws -> DICOMFile {
        let source = ByteSource(file: file)
        var options = DICOMParser.Options()
        options.stopAtPixelData = extent == .headerOnly
        options.pixelDataMayRunPastTheEnd = pixelDataMayBeShort && extent == .headerOnly
        let path = file.path

        // Preamble and prefix, or an old file that starts straight with an element.
        var offset = 0
        var lacksPreamble = false
        if try source.ensure(128, 4), source.byte(at: 128) == 0x44, source.byte(at: 129) == 0x49,
           source.byte(at: 130) == 0x43, source.byte(at: 131) == 0x4D {
            offset = 132
        } else {
            guard let layout = try guessLayoutWithoutPreamble(source) else {
                if file.size == 0 { throw MedVolError(.unrecognizedFormat, path: path, reason: "empty file") }
                throw MedVolError(.unrecognizedFormat, path: path, reason: "not a DICOM file (no DICM prefix and no DICOM element at the start)")
            }
            lacksPreamble = true
            if !layout.isMetaGroup {
                let syntax: TransferSyntax = layout.explicitVR
                    ? (layout.littleEndian ? .explicitVRLittleEndian : .explicitVRBigEndian)
                    : .implicitVRLittleEndian
                let parser = DICOMParser(source: source, options: options, littleEndian: layout.littleEndian, explicitVR: layout.explicitVR)
                let outcome = try parser.parseDataSet(from: 0, to: nil, depth: 0, topLevel: true, characterSet: .default)
                return DICOMFile(path: path, fileMetaInformation: DICOMDataSet(), dataSet: DICOMDataSet(
                    elements: outcome.elements, isLittleEndian: layout.littleEndian, characterSet: outcome.characterSet),
                    transferSyntax: syntax, lacksPreamble: true, inflatedDataSet: nil, fileSize: file.size)
            }
        }

        // File meta information: explicit VR little endian, group 0002 only.
        let metaParser = DICOMParser(source: source, options: options, littleEndian: true, explicitVR: true)
        let meta = try metaParser.parseDataSet(from: offset, to: nil, depth: 0, topLevel: true, characterSet: .default,
                                               while: { $0.group == 0x0002 })
        let metaSet = DICOMDataSet(elements: meta.elements, isLittleEndian: true, characterSet: .default)
        offset = meta.end
        let syntax = metaSet.string(.transferSyntaxUID).map(TransferSyntax.init(uid:)) ?? .implicitVRLittleEndian
        if metaSet.elements.isEmpty && offset >= file.size {
            throw MedVolError(.unrecognizedFormat, path: path, reason: "DICOM prefix but no data set")
        }

        if syntax.isDeflated {
            let compressed = try source.remainder(from: offset)
            let inflated = try compressed.withUnsafeBytes { try inflateDataSet($0, path: path) }
            let memory = ByteSource(bytes: inflated, path: path)
            var inflatedOptions = options
            inflatedOptions.deferValuesLongerThan = Int.max
            let parser = DICOMParser(source: memory, options: inflatedOptions, littleEndian: true, explicitVR: true)
            let outcome = try parser.parseDataSet(from: 0, to: nil, depth: 0, topLevel: true, characterSet: .default)
            return DICOMFile(path: path, fileMetaInformation: metaSet,
                             dataSet: DICOMDataSet(elements: outcome.elements, isLittleEndian: true, characterSet: outcome.characterSet),
                             transferSyntax: syntax, lacksPreamble: lacksPreamble, inflatedDataSet: inflated, fileSize: file.size)
        }

        // Some writers use a different VR encoding than the one declared: trust the bytes.
        var explicitVR = syntax.isExplicitVR
        if try source.ensure(offset, 6) {
            let looksExplicit = DICOMVR(bytes: source.byte(at: offset + 4), source.byte(at: offset + 5)) != nil
            if looksExplicit != explicitVR { explicitVR = looksExplicit }
        }
        let parser = DICOMParser(source: source, options: options, littleEndian: syntax.isLittleEndian, explicitVR: explicitVR)
        let outcome = try parser.parseDataSet(from: offset, to: nil, depth: 0, topLevel: true, characterSet: .default)
        return DICOMFile(path: path, fileMetaInformation: metaSet,
                         dataSet: DICOMDataSet(elements: outcome.elements, isLittleEndian: syntax.isLittleEndian, characterSet: outcome.characterSet),
                         transferSyntax: syntax, lacksPreamble: lacksPreamble, inflatedDataSet: nil, fileSize: file.size)
    }

    /// Bytes a deflated data set may hold after its Pixel Data (trailing padding, digital signatures).
    static let deflatedTrailingAllowance = 1 << 20

    /// Inflates the data set of a deflated file no further than its header justifies: the inflated bytes
    /// are parsed as they grow, and once the Pixel Data element is found, the data set may go on only to
    /// the end of the pixel data — as long as Rows × Columns × Number of Frames × Samples per Pixel ×
    /// Bits Allocated say, if less than its length — plus ``deflatedTrailingAllowance``; never beyond
    /// ``ReadingLimits/maximumMemory``. A few MiB of deflated zeros can inflate to GiB.
    static func inflateDataSet(_ compressed: UnsafeRawBufferPointer, path: String) throws -> [UInt8] {
        let inflater = try Zlib.Inflater(wrapper: .raw)
        let memoryLimit = ReadingLimits.maximumMemory
        var bound = memoryLimit
        var justification: String?
        var output = [UInt8](repeating: 0, count: min(1 << 16, bound))
        var produced = 0, consumed = 0
        var nextParse = 1 << 14
        while true {
            if produced == output.count {
                guard output.count < bound else {
                    if let justification {
                        throw MedVolError.corrupt(path, "the deflated data set inflates to more than the \(bound) bytes its header justifies (\(justification))")
                    }
                    throw MedVolError.unsupported(path, "the deflated data set inflates to more than \(bound) bytes (\(ReadingLimits.describe(bytes: bound))), the memory limit (raise it with --max-memory)")
                }
                var grown = [UInt8](repeating: 0, count: min(bound, output.count <= bound / 2 ? output.count * 2 : bound))
                grown.withUnsafeMutableBytes { target in
                    output.withUnsafeBytes { target.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: produced) }
                }
                output = grown
            }
            let (usedIn, madeOut) = try output.withUnsafeMutableBytes { out in
                try inflater.inflate(UnsafeRawBufferPointer(rebasing: compressed[consumed...]),
                                     into: UnsafeMutableRawBufferPointer(rebasing: out[produced...]))
            }
            consumed += usedIn
            produced += madeOut
            if inflater.isFinished {
                output.removeSubrange(produced...)
                return output
            }
            if madeOut == 0 && consumed >= compressed.count {
                throw MedVolError.corrupt(path, "the deflated data set ends too early (truncated)")
            }
            // Find the Pixel Data element in what has been inflated so far, to bound the rest.
            if justification == nil && produced >= min(nextParse, output.count) {
                nextParse = produced * 2
                if let (end, reason) = justifiedEnd(Array(output[0..<produced]), path: path) {
                    bound = min(memoryLimit, max(end, produced))
                    justification = reason
                }
            }
        }
    }

    /// Where a deflated data set may end, from the inflated bytes so far: nil while the Pixel Data
    /// element is not among them (or the data set has none yet).
    private static func justifiedEnd(_ prefix: [UInt8], path: String) -> (Int, String)? {
        var options = DICOMParser.Options()
        options.stopAtPixelData = true
        options.pixelDataMayRunPastTheEnd = true
        options.deferValuesLongerThan = Int.max
        let parser = DICOMParser(source: ByteSource(bytes: prefix, path: path), options: options, littleEndian: true, explicitVR: true)
        guard let outcome = try? parser.parseDataSet(from: 0, to: nil, depth: 0, topLevel: true, characterSet: .default),
              outcome.stoppedAtPixelData,
              let pixelData = outcome.elements.last, pixelData.tag == .pixelData,
              case .deferred(let offset, let length) = pixelData.value else { return nil }
        let dataSet = DICOMDataSet(elements: outcome.elements, isLittleEndian: true, characterSet: outcome.characterSet)
        var pixelBytes = length
        if let rows = dataSet.int(.rows), let columns = dataSet.int(.columns), let bits = dataSet.int(.bitsAllocated),
           rows > 0, columns > 0, bits > 0 {
            let frames = max(1, dataSet.int(.numberOfFrames) ?? 1), samples = max(1, dataSet.int(.samplesPerPixel) ?? 1)
            if let pixels = VoxelMath.checkedByteCount(elementBytes: 1, extents: [rows, columns, frames, samples, bits]) {
                // Whole bytes, rounded to an even length.
                pixelBytes = min(length, ((pixels + 7) / 8 + 1) / 2 * 2)
            }
        }
        let (end, overflow) = (offset + pixelBytes).addingReportingOverflow(deflatedTrailingAllowance)
        return overflow ? nil : (end, "pixel data end at byte \(offset + pixelBytes)")
    }

    private struct Layout {
        var isMetaGroup: Bool
        var explicitVR: Bool
        var littleEndian: Bool
    }

    /// For a file without preamble: does it start with a plausible element, and how is it encoded?
    private static func guessLayoutWithoutPreamble(_ source: ByteSource) throws -> Layout? {
        guard try source.ensure(0, 8) else { return nil }
        let littleGroup = source.uint16(at: 0, littleEndian: true)
        let bigGroup = source.uint16(at: 0, littleEndian: false)
        let explicitVR = DICOMVR(bytes: source.byte(at: 4), source.byte(at: 5)) != nil
        // Plausible first groups of a data set: 0002 (meta), 0008 (identification), or another low
        // even group of an old file.
        func plausible(_ group: UInt16) -> Bool { group == 0x0002 || group == 0x0008 || (group >= 0x0008 && group <= 0x0028 && group & 1 == 0) }
        if plausible(littleGroup) {
            let element = source.uint16(at: 2, littleEndian: true)
            if !explicitVR {
                // An implicit-VR element: its 32-bit length must fit in the file.
                let length = Int(source.uint32(at: 4, littleEndian: true))
                guard element <= 0x0020 || littleGroup != 0x0002, length < source.count else { return nil }
            }
            return Layout(isMetaGroup: littleGroup == 0x0002, explicitVR: explicitVR, littleEndian: true)
        }
        if plausible(bigGroup) && explicitVR {
            return Layout(isMetaGroup: false, explicitVR: true, littleEndian: false)
        }
        return nil
    }
}

extension DICOMFile {
    /// SOP Class UID (from the data set, else the meta group).
    public var sopClassUID: String? {
        dataSet.string(.sopClassUID) ?? fileMetaInformation.string(.mediaStorageSOPClassUID)
    }

    /// Whether this is a DICOMDIR (Media Storage Directory).
    public var isDirectory: Bool {
        sopClassUID == "1.2.840.10008.1.3.10" || dataSet.contains(.directoryRecordSequence)
    }

    /// The pixel data element (its value left in the file), if there is one.
    public var pixelDataElement: DICOMElement? { dataSet[.pixelData] }
}
