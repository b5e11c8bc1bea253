import Synchronization
private import _CLibDeflate

/// Whole-buffer gzip compression and decompression with libdeflate (faster than zlib, and smaller at the
/// same level), for the independent blocks that medvol's gzip outputs are made of.
enum LibDeflate {
    /// The levels libdeflate offers (1 fastest … 12 smallest).
    static let levels = 1...12

    /// libdeflate's compressors are not thread-safe and cost a few hundred KiB to make: a few are kept
    /// per level and lent to one thread at a time.
    private final class CompressorPool: Sendable {
        let level: Int32
        /// Idle compressors, as addresses (pointers are not Sendable).
        private let idle = SystemMutex<[UInt]>([])
        init(level: Int32) { self.level = level }

        func withCompressor<R>(_ body: (OpaquePointer) throws -> R) throws -> R {
            let reused = idle.withLock { $0.popLast() }
            guard let compressor = reused.flatMap({ OpaquePointer(bitPattern: $0) }) ?? libdeflate_alloc_compressor(level) else {
                throw MedVolError(.io, reason: "libdeflate could not allocate a compressor (level \(level))")
            }
            let address = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(compressor)))
            defer { idle.withLock { $0.append(address) } }
            return try body(compressor)
        }
    }

    private static let pools = SystemMutex<[Int32: CompressorPool]>([:])

    private static func pool(level: Int) -> CompressorPool {
        let level = Int32(min(max(level, levels.lowerBound), levels.upperBound))
        return pools.withLock { pools in
            if let pool = pools[level] { return pool }
            let pool = CompressorPool(level: level)
            pools[level] = pool
            return pool
        }
    }

    /// `input` as one complete gzip member (RFC 1952: header, deflate data, CRC-32, size).
    static func gzipMember(_ input: UnsafeRawBufferPointer, level: Int) throws -> [UInt8] {
        try pool(level: level).withCompressor { compressor in
            let bound = libdeflate_gzip_compress_bound(compressor, input.count)
            return try [UInt8](unsafeUninitializedCapacity: bound) { output, written in
                written = libdeflate_gzip_compress(compressor, input.baseAddress, input.count, output.baseAddress, bound)
                guard written > 0 else {
                    throw MedVolError(.io, reason: "libdeflate could not compress \(input.count) bytes")
                }
            }
        }
    }

    /// The size of `input` as raw deflate data at `level` (for choosing a level; see ``GzipLevel``).
    static func deflatedCount(_ input: UnsafeRawBufferPointer, level: Int) throws -> Int {
        try pool(level: level).withCompressor { compressor in
            let bound = libdeflate_deflate_compress_bound(compressor, input.count)
            let output = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, bound), alignment: 16)
            defer { output.deallocate() }
            let written = libdeflate_deflate_compress(compressor, input.baseAddress, input.count, output.baseAddress, bound)
            guard written > 0 || input.isEmpty else {
                throw MedVolError(.io, reason: "libdeflate could not compress \(input.count) bytes")
            }
            return written
        }
    }

    /// Inflates the single gzip member `member` into exactly `output` (its uncompressed size, known from
    /// medvol's index). Throws a corrupt-file error when the data are damaged or of another size.
    static func inflateGzipMember(_ member: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws {
        guard let decompressor = libdeflate_alloc_decompressor() else {
            throw MedVolError(.io, reason: "libdeflate could not allocate a decompressor")
        }
        defer { libdeflate_free_decompressor(decompressor) }
        var consumed = 0, produced = 0
        let result = libdeflate_gzip_decompress_ex(decompressor, member.baseAddress, member.count,
                                                   output.baseAddress, output.count, &consumed, &produced)
        guard result == LIBDEFLATE_SUCCESS, produced == output.count, consumed == member.count else {
            throw MedVolError(.corruptFile, reason: "damaged compressed data (a gzip block does not inflate to its \(output.count) bytes)")
        }
    }

    /// CRC-32 (gzip's) of `bytes`, continuing `crc`.
    static func crc32(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        libdeflate_crc32(crc, bytes.baseAddress, bytes.count)
    }
}
