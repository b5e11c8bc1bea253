/// The libdeflate level of the independent blocks medvol's gzip outputs are made of: one the caller
/// gave, or one chosen for each volume so that the file is no larger than zlib's default level makes it.
///
/// Why choose per volume: libdeflate's levels compress differently well on different data. On a CT
/// (large uniform regions) level 4 already makes a file smaller than zlib's level 6 — what dcm2niix and
/// pigz write by default — at about six times zlib's speed; on an MR (noisy background) level 4 is 15 %
/// larger, level 6 2 % larger, and level 7 is needed. A fixed level is either slow on the one or too
/// large on the other.
enum GzipLevel: Hashable, Sendable {
    /// This libdeflate level (1…12), for every block.
    case fixed(Int)
    /// The lowest of ``candidates`` whose output on samples of the data is at least ``marginPerMille`` (per mille) smaller
    /// than zlib's at level 6 on the same samples (what pigz writes for dcm2niix's default `-z y`).
    case matchingZlibDefault

    /// The levels tried, fastest first. Level 5 is left out: on the data measured it is never smaller
    /// than level 4 by enough to matter and often larger.
    static let candidates = [4, 6, 7, 8, 9]
    /// The level for data that give no sample (an empty volume).
    static let fallback = 6
    /// How much smaller than zlib's the samples must come out, in thousandths: 0.5 %, for what the
    /// samples do not see (measured on the GE series of the tests: with no margin, a DWI series at level
    /// 4 came out 0.15 % larger than pigz's file; with it, every series is smaller, and a CT still gets 4).
    static let marginPerMille = 5
    /// Bytes compressed from each sample block (enough for deflate's 32 KiB window to see the data's
    /// statistics, little enough that the trial costs a few per cent of the write).
    static let sampleBytes = 256 << 10

    /// The blocks of a run of `count` whose data are sampled: those at 30 %, 50 % and 70 %, where a scan's
    /// content is (the first and last blocks are often nearly empty and compress better than the rest).
    static func sampleBlocks(count: Int) -> [Int] {
        guard count > 0 else { return [] }
        var blocks: [Int] = []
        for percent in [30, 50, 70] {
            let block = min(count - 1, count * percent / 100)
            if !blocks.contains(block) { blocks.append(block) }
        }
        return blocks
    }

    /// The level to compress with, given the sample blocks' bytes (ignored for `.fixed`).
    func settled(samples: [UnsafeRawBufferPointer]) throws -> Int {
        switch self {
        case .fixed(let level): return level
        case .matchingZlibDefault: return try Self.lowestLevelMatchingZlib(samples)
        }
    }

    /// The lowest candidate level whose deflate output of `samples` (each cut to ``sampleBytes``) is
    /// ``marginPerMille`` smaller than zlib's at level 6; the last candidate when none is.
    static func lowestLevelMatchingZlib(_ samples: [UnsafeRawBufferPointer]) throws -> Int {
        let parts = samples.map { UnsafeRawBufferPointer(rebasing: $0.prefix(sampleBytes)) }.filter { !$0.isEmpty }
        guard !parts.isEmpty else { return fallback }
        var reference = 0
        for part in parts {
            try Zlib.Deflater(wrapper: .raw, level: 6).process(part, finish: true) { reference += $0.count }
        }
        for level in candidates {
            var size = 0
            for part in parts { size += try LibDeflate.deflatedCount(part, level: level) }
            if size * 1000 <= reference * (1000 - marginPerMille) { return level }
        }
        return candidates.last!
    }
}
