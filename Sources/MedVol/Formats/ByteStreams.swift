/// A source of bytes read front to back: a range of a file, an inflated zip entry, or memory.
/// Readers fill memory the caller owns, so voxels go straight into a volume's storage.
protocol ByteStream: AnyObject {
    /// The file the bytes come from, for error messages.
    var path: String { get }
    /// Fills `buffer` completely, or throws (a stream that ends first is reported as truncated).
    func read(into buffer: UnsafeMutableRawBufferPointer) throws
}

extension ByteStream {
    func read(count: Int) throws -> [UInt8] {
        try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            if count > 0 { try read(into: UnsafeMutableRawBufferPointer(buffer)) }
            initialized = count
        }
    }
}

/// `length` bytes of a file starting at `offset`.
final class FileRangeStream: ByteStream {
    let file: ReadableFile
    private(set) var position: Int
    let end: Int
    var path: String { file.path }

    init(file: ReadableFile, offset: Int = 0, length: Int? = nil) {
        self.file = file
        position = offset
        end = offset + (length ?? (file.size - offset))
    }

    /// Bytes left before the end of the range.
    var remaining: Int { end - position }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws {
        guard buffer.count <= remaining else {
            throw MedVolError.corrupt(path, "ends \(buffer.count - remaining) bytes too early (truncated)")
        }
        try file.read(into: buffer, at: position)
        position += buffer.count
    }
}

/// The inflated bytes of a deflate stream stored in a file at `offset` (`length` compressed bytes).
final class InflatingStream: ByteStream {
    private let source: FileRangeStream
    private let inflater: Zlib.Inflater
    private var input: [UInt8] = []
    private var inputStart = 0, inputEnd = 0
    /// The size of the next input read: small at first (a header needs a few hundred bytes), doubling
    /// up to ``largestInputChunk`` for long streams (voxels).
    private var nextInputChunk = 1 << 16
    private static let largestInputChunk = 1 << 22
    var path: String { source.path }

    init(file: ReadableFile, offset: Int, length: Int, wrapper: Zlib.Wrapper = .raw) throws {
        source = FileRangeStream(file: file, offset: offset, length: length)
        inflater = try Zlib.Inflater(wrapper: wrapper)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws {
        var filled = 0
        while filled < buffer.count {
            if inputStart == inputEnd && source.remaining > 0 {
                let count = min(nextInputChunk, source.remaining)
                if input.count < count { input = [UInt8](repeating: 0, count: count) }
                nextInputChunk = min(nextInputChunk * 2, Self.largestInputChunk)
                try input.withUnsafeMutableBytes { try source.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<count])) }
                inputStart = 0
                inputEnd = count
            }
            let (consumed, produced): (Int, Int)
            do {
                (consumed, produced) = try input.withUnsafeBytes { raw in
                    try inflater.inflate(UnsafeRawBufferPointer(rebasing: raw[inputStart..<inputEnd]),
                                         into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
                }
            } catch let error as MedVolError {
                throw error.at(path)
            }
            inputStart += consumed
            filled += produced
            if produced == 0 && (inflater.isFinished || (inputStart == inputEnd && source.remaining == 0)) {
                throw MedVolError.corrupt(path, "compressed data ends \(buffer.count - filled) bytes too early (truncated)")
            }
        }
    }
}

/// Passes bytes through from another stream and keeps their CRC-32 and count (zip entries check both).
final class CheckedStream: ByteStream {
    private let base: any ByteStream
    private(set) var crc: UInt32 = 0
    private(set) var count = 0
    var path: String { base.path }

    init(_ base: any ByteStream) { self.base = base }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws {
        try base.read(into: buffer)
        crc = Zlib.crc32(UnsafeRawBufferPointer(buffer), continuing: crc)
        count += buffer.count
    }
}
