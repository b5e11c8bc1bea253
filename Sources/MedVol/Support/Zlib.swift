private import _CZlib

/// zlib's deflate, inflate and CRC-32, with errors that say what went wrong.
enum Zlib {
    enum Wrapper {
        /// Bare deflate stream (zip entries, DICOM deflated transfer syntax).
        case raw
        /// zlib header and Adler-32 (PNG, MetaImage .zraw).
        case zlib
        /// gzip header and CRC-32 (.gz).
        case gzip

        var windowBits: Int32 {
            switch self {
            case .raw: -15
            case .zlib: 15
            case .gzip: 31
            }
        }
    }

    /// The most bytes `compressedLength` bytes of deflate data can inflate to (deflate's limit is
    /// 1032:1), with room for tiny streams: a cheap check against headers that announce impossible sizes.
    static func maximumExpansion(of compressedLength: Int) -> Int {
        let (product, overflow) = compressedLength.multipliedReportingOverflow(by: 1032)
        return overflow ? Int.max : product + 1024
    }

    /// The CRC-32 of two pieces from theirs (`length`: bytes of the second).
    static func combineCRC32(_ first: UInt32, _ second: UInt32, length: Int) -> UInt32 {
        UInt32(truncatingIfNeeded: crc32_combine(UInt(first), UInt(second), off_t(length)))
    }

    static func crc32(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        var value = UInt(crc)
        var offset = 0
        while offset < bytes.count {
            let chunk = min(bytes.count - offset, Int(UInt32.max >> 1))
            value = _CZlib.crc32(value, bytes.baseAddress!.advanced(by: offset).assumingMemoryBound(to: UInt8.self), UInt32(chunk))
            offset += chunk
        }
        return UInt32(truncatingIfNeeded: value)
    }

    /// Inflates `input`. `expectedSize`, when known, sizes the output at once; the output is never
    /// allowed to grow past `limit` bytes (protection against a bomb).
    static func inflate(_ input: UnsafeRawBufferPointer, wrapper: Wrapper, expectedSize: Int? = nil,
                        limit: Int = Int.max) throws -> [UInt8] {
        let inflater = try Inflater(wrapper: wrapper)
        var output = [UInt8](repeating: 0, count: max(1024, min(expectedSize ?? input.count * 4, limit)))
        var produced = 0
        var consumed = 0
        while true {
            if produced == output.count {
                guard output.count < limit else {
                    throw MedVolError(.corruptFile, reason: "compressed data expands beyond \(limit) bytes")
                }
                output.append(contentsOf: repeatElement(0, count: min(output.count, limit - output.count)))
            }
            let (usedIn, madeOut) = try output.withUnsafeMutableBytes { out in
                try inflater.inflate(UnsafeRawBufferPointer(rebasing: input[consumed...]),
                                     into: UnsafeMutableRawBufferPointer(rebasing: out[produced...]))
            }
            consumed += usedIn
            produced += madeOut
            if inflater.isFinished {
                output.removeSubrange(produced...)
                return output
            }
            // The inflater stops early only when zlib needs more input than there is.
            if produced < output.count && consumed >= input.count {
                throw MedVolError(.corruptFile, reason: "compressed data ends too early")
            }
        }
    }

    /// A deflate stream that compresses pieces as they are given and hands out compressed chunks.
    final class Deflater {
        private var stream = z_stream()
        private var chunk = [UInt8](repeating: 0, count: 1 << 20)

        init(wrapper: Wrapper, level: Int32 = 6) throws {
            guard deflateInit2_(&stream, level, Z_DEFLATED, wrapper.windowBits, 8, Z_DEFAULT_STRATEGY,
                                ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                throw MedVolError(.io, reason: "zlib could not start deflating")
            }
        }

        deinit { deflateEnd(&stream) }

        /// Compresses `input`; `finish` ends the stream. `emit` receives compressed bytes in order.
        func process(_ input: UnsafeRawBufferPointer, finish: Bool,
                     emit: (UnsafeRawBufferPointer) throws -> Void) throws {
            try process(input, flush: finish ? Z_FINISH : Z_NO_FLUSH, emit: emit)
        }

        /// Compresses `input`, then flushes as `flush` says (`Z_NO_FLUSH`, `Z_FULL_FLUSH`: byte-aligned
        /// and independent of what follows, `Z_FINISH`: the end of the stream).
        func process(_ input: UnsafeRawBufferPointer, flush finalFlush: Int32,
                     emit: (UnsafeRawBufferPointer) throws -> Void) throws {
            var consumed = 0
            repeat {
                let inputChunk = min(input.count - consumed, Int(UInt32.max >> 1))
                let isLastInput = consumed + inputChunk == input.count
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.advanced(by: consumed).assumingMemoryBound(to: UInt8.self))
                stream.avail_in = UInt32(inputChunk)
                let flush = isLastInput ? finalFlush : Z_NO_FLUSH
                var status: Int32
                repeat {
                    let capacity = chunk.count
                    status = chunk.withUnsafeMutableBytes { out in
                        stream.next_out = out.baseAddress!.assumingMemoryBound(to: UInt8.self)
                        stream.avail_out = UInt32(capacity)
                        return _CZlib.deflate(&stream, flush)
                    }
                    guard status != Z_STREAM_ERROR else { throw MedVolError(.io, reason: "zlib failed while deflating") }
                    let produced = capacity - Int(stream.avail_out)
                    if produced > 0 { try chunk.withUnsafeBytes { try emit(UnsafeRawBufferPointer(rebasing: $0[0..<produced])) } }
                } while stream.avail_out == 0 || (flush == Z_FINISH && status != Z_STREAM_END)
                consumed += inputChunk
            } while consumed < input.count
        }
    }

    /// An inflate stream that takes compressed input piece by piece and writes into memory the caller
    /// owns, so that large outputs (voxels) need no intermediate copy.
    final class Inflater {
        private var stream = z_stream()
        /// True once the compressed stream has ended.
        private(set) var isFinished = false

        init(wrapper: Wrapper) throws {
            guard inflateInit2_(&stream, wrapper.windowBits, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                throw MedVolError(.io, reason: "zlib could not start inflating")
            }
        }

        deinit { inflateEnd(&stream) }

        /// Inflates from `input` into `output` until one of them is used up or the stream ends.
        /// Returns how many input bytes were consumed and how many output bytes produced.
        func inflate(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws
            -> (consumed: Int, produced: Int) {
            guard !isFinished, output.count > 0 else { return (0, 0) }
            var consumed = 0, produced = 0
            while !isFinished && produced < output.count {
                let inputChunk = min(input.count - consumed, Int(UInt32.max >> 1))
                let outputChunk = min(output.count - produced, Int(UInt32.max >> 1))
                stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.advanced(by: consumed).assumingMemoryBound(to: UInt8.self))
                stream.avail_in = UInt32(inputChunk)
                stream.next_out = output.baseAddress!.advanced(by: produced).assumingMemoryBound(to: UInt8.self)
                stream.avail_out = UInt32(outputChunk)
                let status = _CZlib.inflate(&stream, Z_NO_FLUSH)
                let usedIn = inputChunk - Int(stream.avail_in), madeOut = outputChunk - Int(stream.avail_out)
                consumed += usedIn
                produced += madeOut
                stream.avail_in = 0
                switch status {
                case Z_STREAM_END:
                    isFinished = true
                case Z_OK:
                    continue
                case Z_BUF_ERROR:
                    // No progress was possible: zlib needs more input.
                    return (consumed, produced)
                default:
                    let message = stream.msg.map { String(cString: $0) } ?? "error \(status)"
                    throw MedVolError(.corruptFile, reason: "compressed data is damaged (\(message))")
                }
            }
            return (consumed, produced)
        }
    }

    /// Deflates `input` in one go.
    static func deflate(_ input: UnsafeRawBufferPointer, wrapper: Wrapper, level: Int32 = 6) throws -> [UInt8] {
        var output: [UInt8] = []
        try Deflater(wrapper: wrapper, level: level).process(input, finish: true) { output.append(contentsOf: $0) }
        return output
    }
}
