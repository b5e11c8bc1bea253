private import _MedVolBridge

/// File formats for rendered pictures.
public enum RasterImageFormat: String, Sendable, CaseIterable {
    /// PNG, written by medvol itself (lossless).
    case png
    /// Baseline JPEG through ITK's JPEGImageIO (lossy).
    case jpeg

    /// "png" or "jpg".
    public var fileExtension: String { self == .png ? "png" : "jpg" }

    /// The format named "png", "jpg" or "jpeg" (any case).
    public init?(name: String) {
        switch name.lowercased() {
        case "png": self = .png
        case "jpg", "jpeg": self = .jpeg
        default: return nil
        }
    }
}

extension RasterImage {
    /// The bytes of a PNG file of this picture.
    public func pngData(text: [(keyword: String, value: String)] = [("Software", "medvol")]) throws -> [UInt8] {
        try PNGEncoder.encode(self, text: text)
    }

    /// Writes the picture to `path` atomically (a temporary name beside it, then a rename); refuses to
    /// replace an existing file unless `overwrite`.
    public func write(to path: String, format: RasterImageFormat = .png, quality: Int = 90, overwrite: Bool = false) throws {
        let writer = try RasterImageSetWriter(paths: [path], overwrite: overwrite)
        try writer.write(self, to: path, format: format, quality: quality)
        try writer.commit()
    }

    /// Writes the picture straight to `path` (no staging; the caller stages).
    func writeFile(_ path: String, format: RasterImageFormat, quality: Int) throws {
        switch format {
        case .png:
            let bytes = try pngData()
            let file = try WritableFile(creating: path)
            try file.write(bytes)
            try file.close()
        case .jpeg:
            let status = pixels.withUnsafeBufferPointer { buffer in
                mv_jpeg_write(path, UInt32(width), UInt32(height), UInt32(channels), buffer.baseAddress, Int32(quality))
            }
            guard status.ok == 1 else {
                let message = fixedCString(status.message)
                throw MedVolError(.io, path: path, reason: message)
            }
        }
    }
}

/// Writes a set of pictures so that they appear together or not at all: each is written under a
/// temporary name in a hidden folder beside the outputs, and ``commit()`` moves them into place.
/// Existing files are refused unless `overwrite` is set; dropping the writer without committing
/// removes everything it wrote. ``write(_:to:format:quality:)`` may be called from several threads.
public final class RasterImageSetWriter: @unchecked Sendable {
    private let transaction: OutputTransaction

    /// Checks every output path (none may exist unless `overwrite`) and creates their folders.
    public init(paths: [String], overwrite: Bool) throws {
        let unique = Set(paths)
        guard unique.count == paths.count else {
            throw MedVolError(.invalidArgument, reason: "two pictures would have the same file name")
        }
        transaction = try OutputTransaction(outputs: paths, overwrite: overwrite)
        try transaction.prepare()
    }

    /// Writes one picture, to appear at `path` (one of the paths given at creation) on commit.
    public func write(_ image: RasterImage, to path: String, format: RasterImageFormat, quality: Int = 90) throws {
        do {
            try image.writeFile(transaction.stagingPath(for: path), format: format, quality: quality)
        } catch {
            throw transaction.namingFinalPath(error)
        }
    }

    /// Moves every picture into place.
    public func commit() throws { try transaction.commit() }

    /// Removes everything written so far.
    public func abort() { transaction.abort() }
}
