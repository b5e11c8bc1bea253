import Foundation
@testable import MedVol
import Testing

/// The level of `.nii.gz` outputs chosen per volume: the fastest libdeflate level whose samples come out
/// 0.5 % smaller than zlib's default level makes of them.
@Suite("Gzip level chosen per volume")
struct GzipLevelTests {
    @Test("samples are the blocks at 30, 50 and 70 %, each once")
    func sampleBlocks() {
        #expect(GzipLevel.sampleBlocks(count: 0) == [])
        #expect(GzipLevel.sampleBlocks(count: 1) == [0])
        #expect(GzipLevel.sampleBlocks(count: 2) == [0, 1])
        #expect(GzipLevel.sampleBlocks(count: 10) == [3, 5, 7])
        #expect(GzipLevel.sampleBlocks(count: 100) == [30, 50, 70])
    }

    /// Each candidate's deflate size of `bytes` (cut to the sample size) against zlib level 6's.
    static func sizes(_ bytes: UnsafeRawBufferPointer) throws -> (byLevel: [Int: Int], zlib: Int) {
        let part = UnsafeRawBufferPointer(rebasing: bytes.prefix(GzipLevel.sampleBytes))
        var reference = 0
        try Zlib.Deflater(wrapper: .raw, level: 6).process(part, finish: true) { reference += $0.count }
        var byLevel: [Int: Int] = [:]
        for level in GzipLevel.candidates { byLevel[level] = try LibDeflate.deflatedCount(part, level: level) }
        return (byLevel, reference)
    }

    @Test("a 512² CT gets level 4, a noisy MR-like ramp a higher one: each the first level within the margin")
    func choice() throws {
        let ct = Phantom.ct(size: [512, 512, 8])
        let ctMiddle = try ct.withUnsafeBytes { bytes in
            let middle = UnsafeRawBufferPointer(rebasing: bytes[(3 << 19)..<(5 << 19)])
            return (try GzipLevel.matchingZlibDefault.settled(samples: [middle]), try Self.sizes(middle))
        }
        #expect(ctMiddle.0 == 4)
        // Noise (±16) on a smooth 12-bit ramp, like an MR's background.
        var state: UInt32 = 7
        let noisy: [Int16] = (0..<(1 << 19)).map { index in
            state = state &* 1_103_515_245 &+ 12345
            return Int16(index % 4096 / 8) + Int16(truncatingIfNeeded: Int(state >> 27) - 16)
        }
        let noisyChoice = try noisy.withUnsafeBytes { bytes in
            (try GzipLevel.matchingZlibDefault.settled(samples: [bytes]), try Self.sizes(bytes))
        }
        #expect(noisyChoice.0 > 4)
        let choices: [(Int, (byLevel: [Int: Int], zlib: Int))] = [ctMiddle, noisyChoice]
        for (level, (byLevel, zlib)) in choices {
            func withinMargin(_ candidate: Int) -> Bool { byLevel[candidate]! * 1000 <= zlib * (1000 - GzipLevel.marginPerMille) }
            // The chosen level keeps the promise, and no faster candidate would have.
            #expect(withinMargin(level) || level == GzipLevel.candidates.last)
            #expect(GzipLevel.candidates.prefix { $0 < level }.allSatisfy { !withinMargin($0) })
        }
        #expect(try GzipLevel.fixed(9).settled(samples: []) == 9)
        #expect(try GzipLevel.matchingZlibDefault.settled(samples: []) == GzipLevel.fallback)
    }

    @Test("a streamed .nii.gz with the chosen level reads back exactly, and an explicit level gives another file")
    func streamedRoundTrip() throws {
        let folder = TemporaryFolder()
        let volume = Phantom.mr(size: [96, 80, 30])
        try volume.write(to: folder.file("auto.nii.gz"))
        try volume.write(to: folder.file("nine.nii.gz"), options: VolumeWriteOptions(compressionLevel: 9))
        for name in ["auto.nii.gz", "nine.nii.gz"] {
            let read = try Volume(contentsOf: folder.file(name))
            #expect(read.size == volume.size)
            let equal = read.withUnsafeBytes { a in volume.withUnsafeBytes { b in a.elementsEqual(b) } }
            #expect(equal, "\(name)")
        }
        let auto = try Data(contentsOf: URL(fileURLWithPath: folder.file("auto.nii.gz")))
        let nine = try Data(contentsOf: URL(fileURLWithPath: folder.file("nine.nii.gz")))
        #expect(auto != nine)
    }
}

@Suite("One zlib stream from blocks compressed in any order")
struct ZlibStreamWriterTests {
    @Test("blocks submitted last-first make one zlib stream that inflates to the input, Adler-32 checked",
          arguments: [1, 2, 7])
    func outOfOrderBlocks(blockCount: Int) throws {
        let blockBytes = 300_000
        var generator = SystemRandomNumberGenerator()
        // Compressible but not trivial: a slow ramp with noise.
        let input = (0..<(blockCount * blockBytes - 1234)).map { UInt8(truncatingIfNeeded: $0 / 700 + Int.random(in: 0..<4, using: &generator)) }
        let folder = TemporaryFolder()
        let path = folder.file("stream.zraw")
        let file = try WritableFile(creating: path)
        let writer = ZlibStreamWriter(file: file, startingAt: 5, blockCount: blockCount)
        try input.withUnsafeBytes { all in
            for block in (0..<blockCount).reversed() {
                let range = block * blockBytes..<min(input.count, (block + 1) * blockBytes)
                try writer.compress(block: block, UnsafeRawBufferPointer(rebasing: all[range]), level: 2)
            }
        }
        let size = try writer.finish().size
        try file.close()
        let bytes = try ReadableFile(path: path).readAll()
        #expect(bytes.count == 5 + size)
        #expect(Array(bytes[5..<7]) == [0x78, 0x9C])
        // zlib inflates it as one stream and checks the combined Adler-32 at its end.
        let inflater = try Zlib.Inflater(wrapper: .zlib)
        var output = [UInt8](repeating: 0, count: input.count + 1)
        let (consumed, produced) = try bytes.withUnsafeBytes { compressed in
            try output.withUnsafeMutableBytes { try inflater.inflate(UnsafeRawBufferPointer(rebasing: compressed[5...]), into: $0) }
        }
        #expect(inflater.isFinished && consumed == size && produced == input.count)
        #expect(Array(output.prefix(produced)) == input)
        // A damaged checksum is caught: the stream really carries one.
        var damaged = bytes
        damaged[damaged.count - 1] ^= 0xFF
        let strict = try Zlib.Inflater(wrapper: .zlib)
        #expect(throws: MedVolError.self) {
            _ = try damaged.withUnsafeBytes { compressed in
                try output.withUnsafeMutableBytes { try strict.inflate(UnsafeRawBufferPointer(rebasing: compressed[5...]), into: $0) }
            }
        }
    }

    @Test("raw: no framing, the blocks' CRC-32s combined into the input's (a deflated .npz entry)", arguments: [1, 5])
    func rawStream(blockCount: Int) throws {
        let blockBytes = 200_000
        let input = (0..<(blockCount * blockBytes - 77)).map { UInt8(truncatingIfNeeded: ($0 * 7) / 900 + $0 % 3) }
        let folder = TemporaryFolder()
        let path = folder.file("stream.deflate")
        let file = try WritableFile(creating: path)
        let writer = ZlibStreamWriter(file: file, startingAt: 3, blockCount: blockCount, wrapper: .raw)
        try input.withUnsafeBytes { all in
            for block in (0..<blockCount).reversed() {
                let range = block * blockBytes..<min(input.count, (block + 1) * blockBytes)
                try writer.compress(block: block, UnsafeRawBufferPointer(rebasing: all[range]), level: 6)
            }
        }
        let (size, crc) = try writer.finish()
        try file.close()
        let bytes = try ReadableFile(path: path).readAll()
        #expect(bytes.count == 3 + size)
        #expect(crc == input.withUnsafeBytes { Zlib.crc32($0) })
        let inflater = try Zlib.Inflater(wrapper: .raw)
        var output = [UInt8](repeating: 0, count: input.count + 1)
        let (consumed, produced) = try bytes.withUnsafeBytes { compressed in
            try output.withUnsafeMutableBytes { try inflater.inflate(UnsafeRawBufferPointer(rebasing: compressed[3...]), into: $0) }
        }
        #expect(inflater.isFinished && consumed == size && produced == input.count)
        #expect(Array(output.prefix(produced)) == input)
    }
}
