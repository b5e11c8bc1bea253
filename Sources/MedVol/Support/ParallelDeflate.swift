private import _CZlib

/// One deflate stream (raw, or zlib-wrapped) compressed on every core, pigz's way: the input is cut into
/// blocks of about a MiB, each compressed by its own zlib stream ending in a full flush (byte-aligned,
/// not final, no history carried over) except the last, which ends the stream; the blocks' checksums are
/// combined (`crc32_combine`, `adler32_combine`). The result is an ordinary deflate stream that any
/// inflater reads — for the outputs whose container wants one stream: MetaImage `.zraw` and compressed
/// `.mha` (zlib), deflated `.npz` entries (raw deflate in zip).
///
/// Blocks are compressed a few per core at a time and emitted in order, so memory stays at a few
/// compressed blocks whatever the size of the input.
enum ParallelDeflate {
    static let blockSize = 1 << 20

    /// Bytes of each block for a volume's voxels: whole slices, as a streamed conversion cuts them
    /// (``IndexedGzipWriter/unitsPerBlock(unitBytes:byteCount:)``), so that a loaded volume's write and a
    /// streamed one give the same bytes.
    static func blockSize(wholeSlicesOf info: VolumeInfo) -> Int {
        let sliceBytes = info.geometry.size[0] * info.geometry.size[1] * info.components * info.pixelType.byteSize
        let volumeBytes = info.geometry.voxelCount * info.components * info.pixelType.byteSize
        return IndexedGzipWriter.unitsPerBlock(unitBytes: sliceBytes, byteCount: volumeBytes) * max(1, sliceBytes)
    }

    /// What a compression produced besides its bytes.
    struct Summary {
        /// CRC-32 of the input (zip and gzip's checksum).
        var crc32: UInt32
        /// Bytes emitted.
        var compressedCount: Int
    }

    /// Compresses the concatenation of `parts` at zlib `level` in blocks of `blockSize` bytes; `emit`
    /// receives the stream in order (for `.zlib`, with its 2-byte header and Adler-32 trailer).
    @discardableResult
    static func compress(_ parts: [UnsafeRawBufferPointer], wrapper: Zlib.Wrapper, level: Int32, blockSize: Int = blockSize,
                         emit: (UnsafeRawBufferPointer) throws -> Void) throws -> Summary {
        precondition(wrapper != .gzip, "gzip outputs are written by IndexedGzipWriter")
        // Blocks: (part, range) of at most blockSize bytes; an empty input is one empty block.
        var cut: [(part: Int, range: Range<Int>)] = []
        for (index, part) in parts.enumerated() {
            var start = 0
            while start < part.count {
                let end = min(part.count, start + blockSize)
                cut.append((index, start..<end))
                start = end
            }
        }
        let blocks = cut.isEmpty ? [(part: 0, range: 0..<0)] : cut
        let bases = parts.map { SendableRawPointer(UnsafeMutableRawPointer(mutating: $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!)) }
        let hasParts = !parts.isEmpty
        var summary = Summary(crc32: 0, compressedCount: 0)
        var adler: UInt = 1
        func put(_ bytes: [UInt8]) throws {
            try bytes.withUnsafeBytes { try emit($0) }
            summary.compressedCount += bytes.count
        }
        if wrapper == .zlib { try put(zlibHeader) }
        let window = max(2, Parallel.processorCount * 2)
        var first = 0
        while first < blocks.count {
            let count = min(window, blocks.count - first)
            let batch = first
            let results: [(bytes: [UInt8], crc: UInt, adler: UInt, length: Int)] = try Parallel.map(count) { offset in
                let block = blocks[batch + offset]
                let input = UnsafeRawBufferPointer(start: hasParts ? bases[block.part].base + block.range.lowerBound : nil,
                                                   count: block.range.count)
                let isLast = batch + offset == blocks.count - 1
                let pointer = input.baseAddress?.assumingMemoryBound(to: UInt8.self)
                return (try deflateBlock(input, level: level, last: isLast), _CZlib.crc32(0, pointer, UInt32(input.count)),
                        adler32(input), input.count)
            }
            for result in results {
                try put(result.bytes)
                summary.crc32 = Zlib.combineCRC32(summary.crc32, UInt32(truncatingIfNeeded: result.crc), length: result.length)
                adler = combineAdler32(adler, result.adler, length: result.length)
            }
            first += count
        }
        if wrapper == .zlib { try put(zlibTrailer(adler: adler)) }
        return summary
    }

    /// The zlib header: deflate, 32 KiB window, default compression.
    static let zlibHeader: [UInt8] = [0x78, 0x9C]

    /// The zlib trailer: the Adler-32 of the uncompressed data, big-endian.
    static func zlibTrailer(adler: UInt) -> [UInt8] {
        let value = UInt32(truncatingIfNeeded: adler)
        return [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    /// One block of the stream: raw deflate at zlib `level`, ending in a full flush (byte-aligned, not
    /// final), or, for the `last` block, ending the stream.
    static func deflateBlock(_ input: UnsafeRawBufferPointer, level: Int32, last: Bool) throws -> [UInt8] {
        var bytes: [UInt8] = []
        try Zlib.Deflater(wrapper: .raw, level: level).process(input, flush: last ? Z_FINISH : Z_FULL_FLUSH) {
            bytes.append(contentsOf: $0)
        }
        return bytes
    }

    /// Adler-32 of `input` (zlib's checksum).
    static func adler32(_ input: UnsafeRawBufferPointer) -> UInt {
        _CZlib.adler32(1, input.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt32(input.count))
    }

    /// The Adler-32 of two pieces from theirs (`length`: bytes of the second).
    static func combineAdler32(_ first: UInt, _ second: UInt, length: Int) -> UInt {
        adler32_combine(first, second, off_t(length))
    }

    /// The whole stream in memory (for `.mha`, whose header gives the compressed size before the data).
    static func compress(_ input: UnsafeRawBufferPointer, wrapper: Zlib.Wrapper, level: Int32) throws -> [UInt8] {
        var output: [UInt8] = []
        try compress([input], wrapper: wrapper, level: level) { output.append(contentsOf: $0) }
        return output
    }
}
