/// Where pixel bytes are read from: the file itself, or (for deflated files) the inflated data set.
enum PixelByteSource {
    case file(ReadableFile)
    case memory([UInt8], path: String)

    var path: String {
        switch self {
        case .file(let file): file.path
        case .memory(_, let path): path
        }
    }

    var size: Int {
        switch self {
        case .file(let file): file.size
        case .memory(let bytes, _): bytes.count
        }
    }

    /// Reads exactly `buffer.count` bytes at `offset`.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws {
        switch self {
        case .file(let file):
            try file.read(into: buffer, at: offset)
        case .memory(let bytes, let path):
            guard offset >= 0, offset <= bytes.count - buffer.count else {
                throw MedVolError.corrupt(path, "pixel data run past the end of the data set")
            }
            bytes.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<offset + buffer.count])) }
        }
    }

    func read(count: Int, at offset: Int) throws -> [UInt8] {
        guard count >= 0, offset >= 0, offset <= size - count else {
            throw MedVolError.corrupt(path, "pixel data run past the end of the file")
        }
        return try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            try read(into: UnsafeMutableRawBufferPointer(buffer), at: offset)
            initialized = count
        }
    }
}

extension PixelByteSource {
    /// The bytes the offsets of a parsed file refer to: the file itself (`opened`, when the caller
    /// holds it open already), or the inflated data set of a deflated file.
    init(_ file: DICOMFile, opened: ReadableFile? = nil) throws {
        if let inflated = file.inflatedDataSet {
            self = .memory(inflated, path: file.path)
        } else {
            self = .file(try opened ?? ReadableFile(path: file.path))
        }
    }
}

/// Something pixel bytes can be read from at offsets: a ``PixelByteSource``, or a windowed reader over one.
protocol PixelByteReader {
    var path: String { get }
    var size: Int { get }
    /// Exactly `count` bytes at `offset`; throws when they are not all there.
    func read(count: Int, at offset: Int) throws -> [UInt8]
}

extension PixelByteSource: PixelByteReader {}

/// Small reads of a source served from two cached windows of a few KiB: the item headers and the
/// codestream headers and ends that a header check reads lie close together, so a check of a
/// single-fragment frame costs two reads of the file.
final class WindowedPixelReader: PixelByteReader {
    let source: PixelByteSource
    private var windows: [(start: Int, bytes: [UInt8])] = []
    /// Bytes per window; a window starts a little before the offset asked for, so that the last bytes
    /// of a fragment and the item header after it come in one read.
    static let windowSize = 8192, lookBehind = 64

    init(_ source: PixelByteSource) { self.source = source }

    var path: String { source.path }
    var size: Int { source.size }

    func read(count: Int, at offset: Int) throws -> [UInt8] {
        guard count >= 0, offset >= 0, offset <= size - count else {
            throw MedVolError.corrupt(path, "pixel data run past the end of the file")
        }
        for window in windows where offset >= window.start && offset + count <= window.start + window.bytes.count {
            return Array(window.bytes[(offset - window.start)..<(offset - window.start + count)])
        }
        guard count <= Self.windowSize else { return try source.read(count: count, at: offset) }
        let start = max(0, offset - Self.lookBehind)
        let bytes = try source.read(count: min(Self.windowSize, size - start), at: start)
        windows = [(start, bytes)] + windows.prefix(1)
        return Array(bytes[(offset - start)..<(offset - start + count)])
    }
}
