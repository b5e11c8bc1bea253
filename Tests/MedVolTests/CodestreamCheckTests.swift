import Testing
@testable import MedVol

/// Hand-made codestreams, only as far as headers go: what `CodestreamCheck` reads.
private enum Streams {
    static func segment(_ marker: UInt8, _ body: [UInt8]) -> [UInt8] {
        let length = body.count + 2
        return [0xFF, marker, UInt8(length >> 8), UInt8(length & 0xFF)] + body
    }

    /// SOI, DQT, SOFn (rows × columns, one component), DHT, SOS, entropy bytes (with a stuffed FF 00), EOI.
    static func jpeg(frameMarker: UInt8 = 0xC0, rows: Int = 3, columns: Int = 4, entropy: Int = 40, eoi: Bool = true) -> [UInt8] {
        var bytes: [UInt8] = [0xFF, 0xD8]
        bytes += segment(0xDB, [0] + [UInt8](repeating: 1, count: 64))
        bytes += segment(frameMarker, [8, UInt8(rows >> 8), UInt8(rows & 0xFF), UInt8(columns >> 8), UInt8(columns & 0xFF), 1, 1, 0x11, 0])
        bytes += segment(0xC4, [0] + [UInt8](repeating: 0, count: 16))
        bytes += segment(0xDA, [1, 1, 0, 0, 63, 0])
        bytes += (0..<entropy).map { UInt8($0 % 200) } + [0xFF, 0x00, 0x12]
        if eoi { bytes += [0xFF, 0xD9] }
        return bytes
    }

    /// SOC, SIZ (columns × rows, one 16-bit component, one tile), COD, then tile-parts of `parts` bytes each, EOC.
    static func j2k(rows: Int = 3, columns: Int = 4, parts: [Int] = [40], claimed: [Int]? = nil, eoc: Bool = true) -> [UInt8] {
        func be32(_ value: Int) -> [UInt8] { [UInt8(value >> 24 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)] }
        var bytes: [UInt8] = [0xFF, 0x4F]
        bytes += segment(0x51, [0, 0] + be32(columns) + be32(rows) + be32(0) + be32(0) + be32(columns) + be32(rows)
                         + be32(0) + be32(0) + [0, 1] + [15, 1, 1])
        bytes += segment(0x52, [0, 0, 0, 1, 0, 5, 4, 4, 0, 1])
        for (index, size) in parts.enumerated() {
            let psot = claimed?[index] ?? size
            bytes += [0xFF, 0x90, 0, 10, 0, 0] + be32(psot) + [UInt8(index), UInt8(parts.count)]
            bytes += [0xFF, 0x93] + [UInt8](repeating: 0x33, count: size - 14)
        }
        if eoc { bytes += [0xFF, 0xD9] }
        return bytes
    }

    /// A JP2 file: signature box, ftyp, a jp2h header box, then the codestream in jp2c.
    static func jp2(_ codestream: [UInt8]) -> [UInt8] {
        func box(_ type: String, _ body: [UInt8]) -> [UInt8] {
            let length = body.count + 8
            return [UInt8(length >> 24 & 0xFF), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)] + Array(type.utf8) + body
        }
        return box("jP  ", [0x0D, 0x0A, 0x87, 0x0A]) + box("ftyp", Array("jp2 ".utf8) + [0, 0, 0, 0] + Array("jp2 ".utf8))
            + box("jp2h", [UInt8](repeating: 0, count: 22)) + box("jp2c", codestream)
    }
}

private func check(_ bytes: [UInt8], _ family: CodecFamily, rows: Int = 3, columns: Int = 4) throws -> String? {
    var frame = FrameBytes(bytes)
    return try CodestreamCheck.problem(&frame, family: family, rows: rows, columns: columns)
}

@Suite("Codestream checks: what the headers of an encapsulated frame show without decoding")
struct CodestreamCheckTests {
    @Test("complete JPEG, JPEG-LS and JPEG 2000 (raw and JP2) streams pass")
    func completeStreamsPass() throws {
        #expect(try check(Streams.jpeg(), .jpeg) == nil)
        #expect(try check(Streams.jpeg(frameMarker: 0xC3), .jpeg) == nil)
        #expect(try check(Streams.jpeg(frameMarker: 0xF7), .jpegLS) == nil)
        #expect(try check(Streams.jpeg() + [0, 0, 0], .jpeg) == nil, "padding after EOI")
        #expect(try check(Streams.jpeg(rows: 0), .jpeg) == nil, "height from a DNL marker")
        #expect(try check(Streams.j2k(), .jpeg2000) == nil)
        #expect(try check(Streams.j2k(parts: [30, 50, 20]), .jpeg2000) == nil)
        #expect(try check(Streams.j2k(eoc: false), .jpeg2000) == nil, "OpenJPEG decodes a stream without EOC")
        #expect(try check(Streams.j2k(claimed: [0]), .jpeg2000) == nil, "Psot 0: the last tile-part runs to EOC")
        #expect(try check(Streams.jp2(Streams.j2k()), .jpeg2000) == nil)
    }

    @Test("a missing start marker is named with the bytes found")
    func missingStartMarkers() throws {
        let jpeg = try #require(try check([0, 0] + Streams.jpeg().dropFirst(2), .jpeg))
        #expect(jpeg.contains("SOI marker (FFD8)") && jpeg.contains("starts with 00 00"))
        let ls = try #require(try check(Streams.jpeg(frameMarker: 0xC0), .jpegLS))
        #expect(ls.contains("no SOF55 marker (FFF7)") && ls.contains("SOF0"))
        let lsInJPEG = try #require(try check(Streams.jpeg(frameMarker: 0xF7), .jpeg))
        #expect(lsInJPEG.contains("JPEG-LS"))
        let j2k = try #require(try check(Streams.jpeg(), .jpeg2000))
        #expect(j2k.contains("FF4F FF51") && j2k.contains("JP2 signature box") && j2k.contains("FF D8"))
        #expect(try check([], .jpeg)?.contains("empty") == true)
    }

    @Test("JPEG and JPEG-LS cut short: inside a segment, before the scan header, before EOI", arguments: [CodecFamily.jpeg, .jpegLS])
    func truncatedJPEG(family: CodecFamily) throws {
        let whole = Streams.jpeg(frameMarker: family == .jpegLS ? 0xF7 : 0xC1)
        let kind = family == .jpegLS ? "JPEG-LS" : "JPEG"
        let inDQT = try #require(try check(Array(whole.prefix(30)), family))
        #expect(inDQT.hasPrefix("\(kind) stream is truncated") && inDQT.contains("DQT segment at byte 2 needs 69 bytes"))
        let beforeScan = try #require(try check(Array(whole.prefix(71)), family))
        #expect(beforeScan.contains("end before the scan header (SOS)"))
        let noEOI = try #require(try check(Streams.jpeg(frameMarker: family == .jpegLS ? 0xF7 : 0xC1, eoi: false), family))
        #expect(noEOI.contains("does not end with an EOI marker (FFD9)"))
        let halved = try #require(try check(Array(whole.prefix(whole.count - 10)), family))
        #expect(halved.contains("EOI"))
    }

    @Test("a codestream whose size disagrees with Rows and Columns")
    func sizeMismatch() throws {
        #expect(try check(Streams.jpeg(rows: 5, columns: 4), .jpeg)?.contains("4×5, the header says 4×3") == true)
        #expect(try check(Streams.j2k(rows: 3, columns: 7), .jpeg2000)?.contains("7×3, the header says 4×3") == true)
    }

    @Test("JPEG 2000 cut short: inside SIZ, before the first tile-part, a tile-part longer than the frame")
    func truncatedJPEG2000() throws {
        let whole = Streams.j2k(parts: [40, 60])
        #expect(try check(Array(whole.prefix(20)), .jpeg2000)?.contains("SIZ segment needs 43 bytes") == true)
        #expect(try check(Array(whole.prefix(60)), .jpeg2000)?.contains("before the first tile-part (SOT)") == true)
        let cut = try #require(try check(Array(whole.prefix(whole.count - 30)), .jpeg2000))
        #expect(cut.contains("tile-part 2 (tile 0)") && cut.contains("says it holds 60 bytes"))
        let lying = try #require(try check(Streams.j2k(parts: [40], claimed: [400]), .jpeg2000))
        #expect(lying.contains("tile-part 1 (tile 0)") && lying.contains("400 bytes"))
        let inJP2 = try #require(try check(Streams.jp2(Array(whole.prefix(whole.count - 30))), .jpeg2000))
        #expect(inJP2.contains("tile-part 2"))
        #expect(try check(Array(Streams.jp2(whole).prefix(40)), .jpeg2000)?.contains("JP2") == true)
    }

    @Test("a frame split over fragments reads as one stream, and a check reads only windows of it")
    func fragmentsAndBoundedReads() throws {
        let stream = Streams.jpeg(entropy: 100_000)
        // Three fragments in a memory "file", with 8-byte gaps where item headers would be.
        let cuts = [0, 50, 70_000, stream.count]
        var file: [UInt8] = []
        var fragments: [Range<Int>] = []
        for (start, end) in zip(cuts, cuts.dropFirst()) {
            file += [UInt8](repeating: 0xEE, count: 8)
            fragments.append(file.count..<file.count + end - start)
            file += stream[start..<end]
        }
        var frame = FrameBytes(source: PixelByteSource.memory(file, path: "f"), fragments: fragments)
        #expect(frame.count == stream.count)
        #expect(try frame.bytes(at: 45, count: 10) == Array(stream[45..<55]), "across the first fragment boundary")
        #expect(try CodestreamCheck.problem(&frame, family: .jpeg, rows: 3, columns: 4) == nil)
        #expect(frame.bytesRead <= 3 * FrameBytes.windowSize, "read \(frame.bytesRead) of \(stream.count) bytes")

        var cut = FrameBytes(source: PixelByteSource.memory(file, path: "f"), fragments: Array(fragments.prefix(2)))
        #expect(try CodestreamCheck.problem(&cut, family: .jpeg, rows: 3, columns: 4)?.contains("EOI") == true)
    }

    @Test("encapsulated files: a frame without fragment, too few fragments, a damaged stream — each a reason; good files none")
    func encapsulatedFiles() throws {
        func file(frames: Int, fragments: [[UInt8]], offsets: [UInt32] = []) -> [UInt8] {
            DICOMBytes.part10(transferSyntax: "1.2.840.10008.1.2.4.80") { data in
                data.text(0x0008, 0x0018, "UI", "1.2.3.4.5", pad: 0)
                data.text(0x0008, 0x0060, "CS", "CT")
                data.text(0x0020, 0x000E, "UI", "1.2.3.4", pad: 0)
                data.us(0x0028, 0x0002, 1)
                data.text(0x0028, 0x0004, "CS", "MONOCHROME2")
                data.text(0x0028, 0x0008, "IS", "\(frames)")
                data.us(0x0028, 0x0010, 3)
                data.us(0x0028, 0x0011, 4)
                data.us(0x0028, 0x0100, 16)
                data.us(0x0028, 0x0101, 16)
                data.us(0x0028, 0x0102, 15)
                data.us(0x0028, 0x0103, 0)
                var value: [UInt8] = []
                func item(_ bytes: [UInt8]) {
                    value += [0xFE, 0xFF, 0x00, 0xE0] + DICOMBytes.le32(UInt32(bytes.count)) + bytes
                }
                item(offsets.flatMap { DICOMBytes.le32($0) })
                for fragment in fragments { item(fragment.count % 2 == 1 ? fragment + [0] : fragment) }
                value += [0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]
                data.element(0x7FE0, 0x0010, "OB", value, length: 0xFFFF_FFFF)
            }
        }
        let good = Streams.jpeg(frameMarker: 0xF7)
        let folder = TemporaryFolder()
        var written = 0
        func problem(_ bytes: [UInt8]) throws -> String? {
            written += 1
            let path = try folder.write("f\(written).dcm", bytes)
            let stacks = try DICOMScan(paths: [path]).stacks
            return try #require(stacks.first).state.error?.description
        }
        #expect(try problem(file(frames: 2, fragments: [good, good])) == nil)
        #expect(try problem(file(frames: 1, fragments: [Array(good.prefix(30)), Array(good.dropFirst(30))])) == nil)
        let tooFew = try #require(try problem(file(frames: 3, fragments: [good, good])))
        #expect(tooFew.contains("2 frames, Number of Frames says 3") && tooFew.contains(folder.path))
        let none = try #require(try problem(file(frames: 1, fragments: [])))
        #expect(none.contains("no fragment"))
        let damaged = try #require(try problem(file(frames: 2, fragments: [good, Array(good.prefix(good.count - 6))])))
        #expect(damaged.contains("frame 2 of 2") && damaged.contains("EOI"))
    }
}
