/// Splits scanned frames into stacks (SPEC "Assembling volumes from DICOM"): by SeriesInstanceUID and
/// SeriesNumber, then by orientation, rows × columns, pixel type and image type, so that a localizer in
/// a series becomes its own stack. The same SOP Instance found twice is read once, with a warning.
enum StackGrouping {
    /// What distinguishes stacks within one series.
    private struct SplitKey: Hashable {
        var orientation: [Int]      // IOP rounded to 1e-3 (direction cosines), empty without geometry
        var rows: Int
        var columns: Int
        var pixelType: String       // stored sample type, samples, photometric family
        var imageType: String
    }

    static func stacks(from frames: [DICOMFrame], files: FileTable) -> [DICOMStack] {
        // Duplicates: keep the first file holding a SOP instance (per frame/tile, so multi-frame files
        // are not confused with duplicates).
        var firstPath: [String: String] = [:]
        var duplicateWarnings: [String: [StackWarning]] = [:]   // series UID → warnings
        var unique: [DICOMFrame] = []
        for frame in frames {
            if let uid = frame.sopInstanceUID {
                let path = files[frame.fileIndex].path
                if let first = firstPath[uid] {
                    if first != path {
                        duplicateWarnings[frame.seriesInstanceUID, default: []].append(
                            .duplicateInstance(sopInstanceUID: uid, path: path, kept: first))
                    }
                    continue
                }
                firstPath[uid] = path
            }
            unique.append(frame)
        }

        // Series, in order of series number then UID.
        let bySeries = Dictionary(grouping: unique) { SeriesKey(uid: $0.seriesInstanceUID, number: $0.seriesNumber) }
        var result: [DICOMStack] = []
        for series in bySeries.keys.sorted() {
            let seriesFrames = bySeries[series]!
            let groups = split(seriesFrames)
            let differing = differingAttributes(Array(groups.keys))
            // A stable order, the same on every run: larger stacks first, then the stack whose first image
            // comes first (by file, then frame), then by what split them.
            let ordered = groups.sorted { lhs, rhs in
                if lhs.value.count != rhs.value.count { return lhs.value.count > rhs.value.count }
                let left = firstImage(lhs.value), right = firstImage(rhs.value)
                if left != right { return left.lexicographicallyPrecedes(right) }
                return String(describing: lhs.key) < String(describing: rhs.key)
            }
            for (key, members) in ordered {
                let formation: StackFormation = groups.count == 1
                    ? .wholeSeries(imageCount: members.count, seriesNumber: series.number)
                    : .split(criteria: differing, values: differing.map { describe($0, of: key) },
                             imageCount: members.count, seriesImageCount: seriesFrames.count, seriesNumber: series.number)
                var stack = DICOMStack(index: result.count + 1, frames: members, files: files, formation: formation)
                if let warnings = duplicateWarnings[series.uid] { stack.addWarnings(warnings) }
                result.append(stack)
            }
        }
        return result
    }

    private struct SeriesKey: Hashable, Comparable {
        var uid: String
        var number: Int?
        static func < (lhs: SeriesKey, rhs: SeriesKey) -> Bool {
            let l = lhs.number ?? Int.max, r = rhs.number ?? Int.max
            return l != r ? l < r : lhs.uid < rhs.uid
        }
    }

    /// (file index, frame number) of a group's first image.
    private static func firstImage(_ frames: [DICOMFrame]) -> [Int] {
        frames.map { [$0.fileIndex, $0.frameNumber, $0.tile?.index ?? 0] }.min { $0.lexicographicallyPrecedes($1) } ?? [0, 0, 0]
    }

    private static func split(_ frames: [DICOMFrame]) -> [SplitKey: [DICOMFrame]] {
        Dictionary(grouping: frames) { frame in
            var orientation: [Int] = []
            if let row = frame.rowDirection, let column = frame.columnDirection {
                orientation = [row.x, row.y, row.z, column.x, column.y, column.z].map { Int(($0 * 1000).rounded()) }
            }
            let family = frame.format.isMonochrome ? "MONOCHROME" : frame.format.photometric
            return SplitKey(orientation: orientation, rows: frame.height, columns: frame.width,
                            pixelType: "\(frame.format.storedSampleType.rawValue)x\(frame.format.samplesPerPixel) \(family)",
                            imageType: frame.imageTypeKey)
        }
    }

    private static func differingAttributes(_ keys: [SplitKey]) -> [SplitCriterion] {
        guard let first = keys.first else { return [] }
        var result: [SplitCriterion] = []
        if keys.contains(where: { $0.orientation != first.orientation }) { result.append(.orientation) }
        if keys.contains(where: { $0.rows != first.rows || $0.columns != first.columns }) { result.append(.size) }
        if keys.contains(where: { $0.pixelType != first.pixelType }) { result.append(.pixelType) }
        if keys.contains(where: { $0.imageType != first.imageType }) { result.append(.imageType) }
        return result
    }

    private static func describe(_ attribute: SplitCriterion, of key: SplitKey) -> String {
        switch attribute {
        case .orientation:
            guard key.orientation.count == 6 else { return "no orientation" }
            let values = key.orientation.map { Double($0) / 1000 }
            let row = SIMD3(values[0], values[1], values[2]), column = SIMD3(values[3], values[4], values[5])
            return "\(ImagePlane(normal: cross(row, column))) orientation [\(values.map { formatNumber($0) }.joined(separator: ","))]"
        case .size: return "\(key.columns)×\(key.rows)"
        case .pixelType: return key.pixelType
        case .imageType: return "image type \(key.imageType.isEmpty ? "(none)" : key.imageType)"
        }
    }
}
