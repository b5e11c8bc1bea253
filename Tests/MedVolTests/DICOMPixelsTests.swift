import Testing
@testable import MedVol

/// The pieces of the pixel pipeline that decide things on their own: the JPEG header reader, segmented
/// palettes, fragment tables, stream precision, RLE, and the guards against damaged counts. Decoding
/// real encodings against pydicom is in `Tests/conformance` (test_transfer_syntaxes.py and others).
@Suite("DICOM pixels")
struct DICOMPixelsTests {
    // MARK: JPEG codestream header

    /// SOI, an optional APP0 "JFIF", then a SOF (0xC0 or 0xF7 for JPEG-LS) of 2 rows × 3 columns.
    static func jpegHeader(ids: [UInt8], jfif: Bool, sof: UInt8 = 0xC0, precision: UInt8 = 8) -> [UInt8] {
        var bytes: [UInt8] = [0xFF, 0xD8]
        if jfif { bytes += [0xFF, 0xE0, 0x00, 0x10] + Array("JFIF".utf8) + [0, 1, 1, 0, 0, 1, 0, 1, 0, 0] }
        bytes += [0xFF, sof, 0x00, UInt8(8 + 3 * ids.count), precision, 0x00, 0x02, 0x00, 0x03, UInt8(ids.count)]
        for id in ids { bytes += [id, 0x11, 0x00] }
        return bytes + [0xFF, 0xDA, 0x00, 0x08, 1, 1, 0, 0, 63, 0]
    }

    @Test("the JPEG header gives precision, size, component IDs and JFIF")
    func jpegHeaderFields() throws {
        let header = try #require(JPEGCodestreamHeader(Self.jpegHeader(ids: [1, 2, 3], jfif: true, precision: 12)))
        #expect(header.precision == 12 && header.rows == 2 && header.columns == 3)
        #expect(header.componentIDs == [1, 2, 3] && header.hasJFIF && !header.isJPEGLS)
        let ls = try #require(JPEGCodestreamHeader(Self.jpegHeader(ids: [1], jfif: false, sof: 0xF7)))
        #expect(ls.isJPEGLS && ls.componentIDs == [1])
        #expect(JPEGCodestreamHeader([0xFF, 0xD8, 0xFF, 0xC0, 0x00]) == nil)           // cut inside the SOF
        #expect(JPEGCodestreamHeader([0x00, 0x00, 0xFF, 0xC0]) == nil)                 // no SOI
        #expect(JPEGCodestreamHeader(Array(Self.jpegHeader(ids: [1], jfif: false).prefix(9))) == nil)
    }

    @Test("colour space of JPEG samples: pydicom's rule (RGB component IDs, JFIF marker, else the header)")
    func jpegColourSpace() throws {
        let rgbIDs = try #require(JPEGCodestreamHeader(Self.jpegHeader(ids: [82, 71, 66], jfif: true)))
        #expect(rgbIDs.photometric(declared: "YBR_FULL_422", baseline: true) == "RGB")
        let jfif = try #require(JPEGCodestreamHeader(Self.jpegHeader(ids: [1, 2, 3], jfif: true)))
        #expect(jfif.photometric(declared: "RGB", baseline: true) == "YBR_FULL_422")
        #expect(jfif.photometric(declared: "RGB", baseline: false) == "YBR_FULL")
        #expect(jfif.photometric(declared: "YBR_FULL", baseline: true) == "YBR_FULL")
        let plain = try #require(JPEGCodestreamHeader(Self.jpegHeader(ids: [1, 2, 3], jfif: false)))
        #expect(plain.photometric(declared: "RGB", baseline: true) == "RGB")   // GDCM's YCbCr labelled RGB stays as stored
    }

    @Test("a JPEG-LS stream is complete when an EOI lies in its last 16 bytes (entropy data never hold FF D9), whatever padding follows")
    func endOfImage() {
        #expect(JPEGCodestreamHeader.endsWithEOI([0xFF, 0xD8, 1, 2, 0xFF, 0xD9]))
        #expect(JPEGCodestreamHeader.endsWithEOI([0xFF, 0xD8, 1, 2, 0xFF, 0xD9, 0x00]))
        #expect(!JPEGCodestreamHeader.endsWithEOI([0xFF, 0xD8, 1, 2, 3, 4]))
        #expect(JPEGCodestreamHeader.endsWithEOI([0xFF, 0xD9] + Array(repeating: 0, count: 9)))
        #expect(JPEGCodestreamHeader.endsWithEOI([0xFF, 0xD8, 0xFF, 0xD9, 0xFF, 0xFF]))
        #expect(!JPEGCodestreamHeader.endsWithEOI([0xFF, 0xD9] + Array(repeating: 0, count: 15)))
        #expect(!JPEGCodestreamHeader.endsWithEOI([]))
    }

    // MARK: Segmented palettes

    @Test("linear palette segments are numpy's around(linspace(...)): halves round to even")
    func linearSegments() {
        #expect(PaletteColorTables.linearSegment(from: 1, to: 4, count: 2) == [2, 4])
        #expect(PaletteColorTables.linearSegment(from: 0, to: 5, count: 10) == [0, 1, 2, 2, 2, 3, 4, 4, 4, 5])
        #expect(PaletteColorTables.linearSegment(from: 10, to: 0, count: 4) == [8, 5, 2, 0])
        #expect(PaletteColorTables.linearSegment(from: 7, to: 7, count: 3) == [7, 7, 7])
        #expect(PaletteColorTables.linearSegment(from: 0, to: 1, count: 1) == [1])
        #expect(PaletteColorTables.linearSegment(from: 0, to: 1, count: 0) == [])
        let long = PaletteColorTables.linearSegment(from: 300, to: 65535, count: 100)
        #expect(Array(long.prefix(3)) == [952, 1605, 2257] && Array(long.suffix(2)) == [64883, 65535])
    }

    @Test("segmented palettes: discrete, linear and indirect segments; damaged ones are refused")
    func segmentedPalettes() throws {
        let words: [UInt16] = [0, 2, 10, 20, 1, 2, 40, 2, 1, 0, 0]
        #expect(try PaletteColorTables.expandSegmented(words, entries: 6, path: "p") == [10, 20, 30, 40, 10, 20])
        #expect(throws: MedVolError.self) { try PaletteColorTables.expandSegmented([0, 9, 1], entries: 4, path: "p") }
        #expect(throws: MedVolError.self) { try PaletteColorTables.expandSegmented([1, 4, 9], entries: 4, path: "p") }
        #expect(throws: MedVolError.self) { try PaletteColorTables.expandSegmented([0, 1, 5, 2, 3, 3, 0], entries: 9, path: "p") }
        // Indirect segments pointing at themselves, a thousand times over: refused at once.
        let bomb: [UInt16] = [0, 1, 5] + Array(repeating: [2, 65535, 3, 0], count: 1000).flatMap { $0 }
        #expect(throws: MedVolError.self) { try PaletteColorTables.expandSegmented(bomb, entries: 65536, path: "p") }
    }

    // MARK: Encapsulated pixel data

    /// Items: an offset table holding `table`, then `fragments`, then the sequence delimiter.
    static func encapsulated(table: [UInt32], fragments: [[UInt8]]) -> [UInt8] {
        func item(_ value: [UInt8]) -> [UInt8] { [0xFE, 0xFF, 0x00, 0xE0] + DICOMBytes.le32(UInt32(value.count)) + value }
        return item(table.flatMap(DICOMBytes.le32)) + fragments.flatMap(item) + [0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]
    }

    /// Three JPEG frames of two fragments each (the first starting with SOI).
    static let jpegFragments: [[UInt8]] = (0..<3).flatMap { frame in
        [[0xFF, 0xD8, UInt8(frame), 1], [UInt8(frame), 2, 0xFF, 0xD9]]
    }

    @Test("a consistent offset table groups the fragments; a lying one is not believed")
    func offsetTables() throws {
        let itemSize: UInt32 = 8 + 4
        let truth: [[Int]] = [[0, 1], [2, 3], [4, 5]]
        for (table, what) in [([0, 2 * itemSize, 4 * itemSize], "consistent"), ([], "empty"),
                              ([0, 0, 0], "all zero"), ([itemSize, 3 * itemSize, 5 * itemSize], "second fragments"),
                              ([0, 4 * itemSize, 2 * itemSize], "descending"), ([0, 99_999, 199_999], "past the end")] as [([UInt32], String)] {
            let bytes = Self.encapsulated(table: table, fragments: Self.jpegFragments)
            let frames = try EncapsulatedPixelData.frameFragments(source: PixelByteSource.memory(bytes, path: "f"), start: 0, frameCount: 3)
            let firstFragment = 8 + 4 * table.count + 8
            let indices = frames.map { $0.map { ($0.lowerBound - firstFragment) / Int(itemSize) } }
            #expect(indices == truth, "\(what)")
        }
    }

    @Test("RLE fragments without a usable offset table cannot be grouped: a clear error")
    func rleWithoutTable() {
        let fragments: [[UInt8]] = [[1, 0, 0, 0], [2, 0, 0, 0], [3, 0, 0, 0], [4, 0, 0, 0]]
        let bytes = Self.encapsulated(table: [0, 0], fragments: fragments)
        #expect(throws: MedVolError.self) {
            _ = try EncapsulatedPixelData.frameFragments(source: PixelByteSource.memory(bytes, path: "f"), start: 0, frameCount: 2)
        }
    }

    // MARK: RLE

    @Test("RLE of 32-bit RGB: twelve segments, most significant byte first")
    func rle32BitRGB() throws {
        let pixels: [UInt32] = [0x0102_0304, 0xA0B0_C0D0, 0xFFFF_0000, 7, 8, 9]   // two pixels, R G B each
        var segments: [[UInt8]] = []
        for sample in 0..<3 {
            for byte in (0..<4).reversed() {
                let plane = (0..<2).map { UInt8(truncatingIfNeeded: pixels[$0 * 3 + sample] >> (8 * UInt32(byte))) }
                segments.append([1] + plane)   // a literal run of two bytes
            }
        }
        var header = [UInt32](repeating: 0, count: 16)
        header[0] = 12
        var at: UInt32 = 64
        for (index, segment) in segments.enumerated() { header[index + 1] = at; at += UInt32(segment.count) }
        let frame = header.flatMap(DICOMBytes.le32) + segments.flatMap { $0 }
        let output = UnsafeMutableRawBufferPointer.allocate(byteCount: 24, alignment: 4)
        defer { output.deallocate() }
        try RLEDecoder.decode(frame, pixels: 2, samplesPerPixel: 3, bytesPerSample: 4, into: output, path: "f")
        #expect(Array(output.bindMemory(to: UInt32.self)) == pixels)

        var damaged = frame
        damaged[8] = 0xFF   // the second segment's offset points past the frame
        #expect(throws: MedVolError.self) {
            try RLEDecoder.decode(damaged, pixels: 2, samplesPerPixel: 3, bytesPerSample: 4, into: output, path: "f")
        }
    }

    // MARK: Values

    @Test("J2K/JPEG-LS samples keep the stream's precision: no masking to Bits Stored; sign from it")
    func streamPrecision() {
        let format = StoredPixelFormat(rows: 1, columns: 3, samplesPerPixel: 1, bitsAllocated: 16, bitsStored: 12,
                                       isSigned: false, photometric: "MONOCHROME2")
        func converted<T>(_ values: [T], _ converter: SampleConverter) -> [T] {
            var values = values
            let count = values.count
            values.withUnsafeMutableBytes { buffer in
                _ = converter.convert(source: buffer.baseAddress!, destination: buffer.baseAddress!, count: count)
            }
            return values
        }
        // Bits Stored 12: the high bits are junk
        #expect(converted([UInt16(8192), 4095, 0], SampleConverter(format: format, mapping: .identity, output: .uint16)) == [0, 4095, 0])
        // a 16-bit stream: its values are the values
        #expect(converted([UInt16(8192), 4095, 0], SampleConverter(format: format.withValueBits(16), mapping: .identity, output: .uint16)) == [8192, 4095, 0])

        let signed = StoredPixelFormat(rows: 1, columns: 2, samplesPerPixel: 1, bitsAllocated: 16, bitsStored: 16,
                                       isSigned: true, photometric: "MONOCHROME2")
        // a 12-bit unsigned J2K stream of signed data
        #expect(converted([Int16(2048), 2047], SampleConverter(format: signed.withValueBits(12), mapping: .identity, output: .int16)) == [-2048, 2047])
    }

    @Test("32-bit RGB becomes uint32 RGB")
    func colourTypes() {
        func format(_ bits: Int, _ photometric: String = "RGB") -> StoredPixelFormat {
            StoredPixelFormat(rows: 1, columns: 1, samplesPerPixel: 3, bitsAllocated: bits, bitsStored: bits,
                              isSigned: false, photometric: photometric)
        }
        #expect(VoxelTypeRule.colorType(format(8)) == .uint8)
        #expect(VoxelTypeRule.colorType(format(16)) == .uint16)
        #expect(VoxelTypeRule.colorType(format(32)) == .uint32)
    }

    @Test("whole numbers from damaged values: NaN, infinities and absurd sizes are nil")
    func wholeNumbers() {
        #expect(FrameExtraction.wholeNumber(42) == 42)
        #expect(FrameExtraction.wholeNumber(-7.9) == -7)
        #expect(FrameExtraction.wholeNumber(.nan) == nil)
        #expect(FrameExtraction.wholeNumber(.infinity) == nil)
        #expect(FrameExtraction.wholeNumber(1e300) == nil)
    }

    @Test("Number of Frames beyond what the pixel data hold: the file is skipped, not planned")
    func absurdFrameCount() throws {
        var slice = SliceSpec()
        slice.values = [1, 2, 3, 4, 5, 6]
        var bytes = slice.bytes()
        // Add Number of Frames (0028,0008) IS "2147483647" before Rows (0028,0010).
        var element = DICOMBytes()
        element.text(0x0028, 0x0008, "IS", "2147483647")
        let at = try #require(bytes.indices.dropLast(4).first { bytes[$0] == 0x28 && bytes[$0 + 1] == 0x00 && bytes[$0 + 2] == 0x10 && bytes[$0 + 3] == 0x00 })
        bytes.insert(contentsOf: element.bytes, at: at)
        let folder = TemporaryFolder()
        _ = try folder.write("frames.dcm", bytes)
        let scan = try DICOMScan(paths: [folder.path])
        #expect(scan.stacks.isEmpty)
        let reason = try #require(scan.skipped.first?.reason)
        #expect(reason.contains("Number of Frames is 2147483647, but the pixel data can hold at most 1 frames"))
    }
}
