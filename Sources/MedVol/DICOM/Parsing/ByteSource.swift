/// Bytes of a file (or of an in-memory buffer) read on demand through a moving window.
///
/// The parser asks for byte ranges; the window is refilled from the file only when a range falls
/// outside it, so a header scan reads the first few kilobytes of a file and never its pixel data, and a
/// large value can be skipped without being read. Slices handed out keep their window alive.
final class ByteSource {
    private let file: ReadableFile?
    /// Total number of bytes.
    let count: Int
    /// Path for error messages.
    let path: String
    private var window: [UInt8]
    private var windowStart: Int

    /// The first read: most headers fit in 8 KiB, and a header-only scan should read as little pixel
    /// data as possible. Later reads double, up to 1 MiB, for long headers (enhanced multi-frame).
    private static let firstWindowSize = 1 << 13
    private static let largestWindowGrowth = 1 << 20
    private var nextWindowSize = ByteSource.firstWindowSize

    init(file: ReadableFile) {
        self.file = file
        self.count = file.size
        self.path = file.path
        self.window = []
        self.windowStart = 0
    }

    init(bytes: [UInt8], path: String) {
        self.file = nil
        self.count = bytes.count
        self.path = path
        self.window = bytes
        self.windowStart = 0
    }

    /// Makes bytes [offset, offset + length) available; false when they run past the end.
    @inline(__always)
    func ensure(_ offset: Int, _ length: Int) throws -> Bool {
        guard offset >= 0, length >= 0, offset <= count - length else { return false }
        if offset >= windowStart && offset + length <= windowStart + window.count { return true }
        guard let file else { return false }
        // Read from `offset`, at least one window, but not past the end.
        let size = min(max(length, nextWindowSize), count - offset)
        nextWindowSize = min(nextWindowSize * 2, Self.largestWindowGrowth)
        window = try file.read(count: size, at: offset)
        windowStart = offset
        return window.count >= length
    }

    @inline(__always)
    func uint16(at offset: Int, littleEndian: Bool) -> UInt16 {
        let value = window.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset - windowStart, as: UInt16.self) }
        return littleEndian ? UInt16(littleEndian: value) : UInt16(bigEndian: value)
    }

    @inline(__always)
    func uint32(at offset: Int, littleEndian: Bool) -> UInt32 {
        let value = window.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset - windowStart, as: UInt32.self) }
        return littleEndian ? UInt32(littleEndian: value) : UInt32(bigEndian: value)
    }

    @inline(__always)
    func byte(at offset: Int) -> UInt8 { window[offset - windowStart] }

    /// Bytes [offset, offset + length), which `ensure` must have made available.
    func slice(_ offset: Int, _ length: Int) -> ArraySlice<UInt8> {
        let start = offset - windowStart
        // Rebase to a fresh array so that the slice does not pin a large window for long.
        if window.count > 4 * Self.largestWindowGrowth && length < Self.firstWindowSize {
            return ArraySlice(window[start..<start + length])
        }
        return window[start..<start + length]
    }

    /// The bytes from `offset` to the end (used for deflated data sets).
    func remainder(from offset: Int) throws -> [UInt8] {
        guard try ensure(offset, count - offset) else { return [] }
        return Array(slice(offset, count - offset))
    }
}
