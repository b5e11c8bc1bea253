/// Writes every slice of a volume (in a ``PlaneLayout``) as a picture file.
public enum SliceExport {
    /// One picture to write: which slice of which volume (4D), and where.
    public struct Item: Sendable, Hashable {
        /// Slice number in the renderer's order (0-based).
        public var slice: Int
        /// Volume number for 4D volumes (0-based; 0 for 3D).
        public var timePoint: Int
        /// The file to write.
        public var path: String

        /// Slice `slice` of volume `timePoint`, to be written to `path`.
        public init(slice: Int, timePoint: Int = 0, path: String) {
            self.slice = slice
            self.timePoint = timePoint
            self.path = path
        }
    }

    /// Renders and writes `items`, in parallel, so that they appear together or not at all; existing
    /// files are refused unless `overwrite`. Progress is reported as "exporting".
    public static func write(_ items: [Item], renderer: SliceRenderer, format: RasterImageFormat, quality: Int = 90,
                             overwrite: Bool, control: WorkControl = .none) throws {
        guard !items.isEmpty else { return }
        let writer = try RasterImageSetWriter(paths: items.map(\.path), overwrite: overwrite)
        let progress = ProgressCounter(stage: "exporting", total: items.count, control: control)
        do {
            _ = try Parallel.map(items.count) { index in
                try control.checkCancellation()
                let item = items[index]
                try writer.write(renderer.render(slice: item.slice, timePoint: item.timePoint), to: item.path,
                                 format: format, quality: quality)
                progress.advance()
            }
            try writer.commit()
        } catch {
            writer.abort()
            throw error
        }
    }
}

extension DICOMStack {
    /// The Instance Number of every image, in volume order (slice k of volume t at `k + nz·t`); nil
    /// where an image has none. Images cut from one mosaic share their file's number. Empty when the
    /// stack cannot be loaded.
    public var instanceNumbers: [Int?] { slots.map { frames[$0].instanceNumber } }
}
