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
