/// Whole-file gzip helpers for `.nii.gz`: checking that a file is complete, and compressing one.
enum GzipFile {
    /// The ISIZE field of the last gzip member: its uncompressed size modulo 2³², or nil for a file too
    /// short to be gzip.
    static func trailerSize(of file: ReadableFile) throws -> UInt32? {
        guard file.size >= 18 else { return nil }
        let bytes = try file.read(count: 4, at: file.size - 4)
        return bytes.reversed().reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// How far past the bytes a caller needs ``uncompressedSize(of:startingAt:enough:)`` goes on
    /// inflating: far enough to reach the end of an honest stream (and find a damaged or cut-off end),
    /// not so far that a stream that goes on for GiB is inflated whole.
    static let checkedPastEnough = 16 << 20

    /// The uncompressed size of a gzip file (all members), by inflating it — but no further than
    /// ``checkedPastEnough`` bytes past `enough`: the caller needs to know that the data hold that many,
    /// and a few MiB of gzip can hold GiB. Throws a `.corruptFile` error naming the file when the
    /// compressed data is damaged or ends early within that reach.
    static func uncompressedSize(of file: ReadableFile, startingAt start: Int = 0, enough: Int = Int.max) throws -> Int {
        let chunk = 1 << 20
        var input = [UInt8](repeating: 0, count: chunk)
        var output = [UInt8](repeating: 0, count: chunk)
        var position = start, inputStart = 0, inputEnd = 0, total = 0
        var inflater = try Zlib.Inflater(wrapper: .gzip)
        /// Reads the next piece of the file into `input`, once the previous one is used up.
        func refill() throws {
            let count = min(chunk, file.size - position)
            try input.withUnsafeMutableBytes { try file.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<count]), at: position) }
            position += count
            inputStart = 0
            inputEnd = count
        }
        while true {
            if inputStart == inputEnd {
                guard position < file.size else { break }
                try refill()
            }
            let (consumed, produced) = try input.withUnsafeBytes { source in
                try output.withUnsafeMutableBytes { target in
                    try inflater.inflate(UnsafeRawBufferPointer(rebasing: source[inputStart..<inputEnd]), into: target)
                }
            }
            inputStart += consumed
            total += produced
            if total - checkedPastEnough >= enough { return total }
            if inflater.isFinished {
                // Another member may follow (concatenated gzip); anything else ends the data.
                if inputStart == inputEnd && position < file.size { try refill() }
                guard inputEnd - inputStart >= 2, input[inputStart] == 0x1F, input[inputStart + 1] == 0x8B else { return total }
                inflater = try Zlib.Inflater(wrapper: .gzip)
            }
        }
        throw MedVolError.corrupt(file.path, "compressed data ends early (truncated)")
    }

    /// Compresses `source` into a new gzip file `destination`, streaming.
    static func compress(_ source: String, to destination: String) throws {
        let input = try ReadableFile(path: source)
        let output = try WritableFile(creating: destination)
        let deflater = try Zlib.Deflater(wrapper: .gzip)
        let chunk = 1 << 22
        var buffer = [UInt8](repeating: 0, count: min(max(input.size, 1), chunk))
        var position = 0
        repeat {
            let count = min(buffer.count, input.size - position)
            try buffer.withUnsafeMutableBytes { raw in
                let piece = UnsafeMutableRawBufferPointer(rebasing: raw[0..<count])
                try input.read(into: piece, at: position)
                try deflater.process(UnsafeRawBufferPointer(piece), finish: position + count == input.size) { try output.write($0) }
            }
            position += count
        } while position < input.size
        try output.close()
    }
}
