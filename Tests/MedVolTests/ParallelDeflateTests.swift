import Foundation
@testable import MedVol
import Testing

/// pigz-style parallel deflate: one ordinary stream that zlib inflates, with the checksums of the whole.
@Suite("Parallel deflate")
struct ParallelDeflateTests {
    /// 3.5 MiB over two parts (so blocks span a part boundary), compressible and not.
    static func parts() -> [[UInt8]] {
        var state: UInt32 = 12345
        let noisy = (0..<(1 << 21)).map { _ -> UInt8 in state = state &* 1_103_515_245 &+ 12345; return UInt8(state >> 24) }
        let smooth = (0..<(3 << 19)).map { UInt8(truncatingIfNeeded: $0 / 700) }
        return [noisy, smooth]
    }

    @Test("zlib-wrapped and raw streams inflate to the input; CRC-32 and Adler-32 are the whole input's",
          arguments: [Zlib.Wrapper.zlib, .raw])
    func roundTrip(wrapper: Zlib.Wrapper) throws {
        let parts = Self.parts()
        let whole = parts.flatMap { $0 }
        var stream: [UInt8] = []
        let summary = try parts[0].withUnsafeBytes { first in
            try parts[1].withUnsafeBytes { second in
                try ParallelDeflate.compress([first, second], wrapper: wrapper, level: 6) { stream.append(contentsOf: $0) }
            }
        }
        #expect(summary.compressedCount == stream.count)
        #expect(summary.crc32 == whole.withUnsafeBytes { Zlib.crc32($0) })
        // zlib checks the Adler-32 trailer of a zlib stream while inflating.
        let inflated = try stream.withUnsafeBytes { try Zlib.inflate($0, wrapper: wrapper, expectedSize: whole.count) }
        #expect(inflated == whole)
        // Independent blocks: more than one full-flush marker (00 00 FF FF) in the stream.
        let markers = (0..<(stream.count - 4)).filter { stream[$0] == 0 && stream[$0 + 1] == 0 && stream[$0 + 2] == 0xFF && stream[$0 + 3] == 0xFF }
        #expect(markers.count >= 3)
    }

    @Test("an empty input is a valid empty stream")
    func empty() throws {
        var stream: [UInt8] = []
        try ParallelDeflate.compress([], wrapper: .zlib, level: 6) { stream.append(contentsOf: $0) }
        #expect(try stream.withUnsafeBytes { try Zlib.inflate($0, wrapper: .zlib, expectedSize: 0) } == [])
    }
}
