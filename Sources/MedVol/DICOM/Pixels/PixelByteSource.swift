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
    /// The bytes the offsets of a parsed file refer to: the file itself, or the inflated data set of a
    /// deflated file.
    init(_ file: DICOMFile) throws {
        if let inflated = file.inflatedDataSet {
            self = .memory(inflated, path: file.path)
        } else {
            self = .file(try ReadableFile(path: file.path))
        }
    }
}
