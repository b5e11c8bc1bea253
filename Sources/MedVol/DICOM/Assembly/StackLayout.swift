#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where each frame of a stack goes in the volume, and the volume's geometry: frames sorted by position
/// along the slice normal (InstanceNumber only orders images at the same position), several images per
/// position making a 4D volume, slice spacing from the positions, and what is irregular about them.
struct StackLayout: Sendable {
    /// Frame indices in volume order: slot `t * nz + z`.
    var slots: [Int]
    var geometry: ImageGeometry
    var warnings: [StackWarning]

    /// Positions closer than this along the normal (mm) are the same position.
    static let positionTolerance = 0.01

    /// Lays out `frames`; throws `.inconsistentSeries` when positions hold different numbers of images.
    static func make(_ frames: [DICOMFrame], path: String) throws -> StackLayout {
        precondition(!frames.isEmpty)
        let first = frames[0]
        if let normal = first.normal, frames.allSatisfy({ $0.position != nil && $0.normal != nil }) {
            return try spatial(frames, normal: normal, path: path)
        }
        return unpositioned(frames, someHavePositions: frames.contains { $0.position != nil })
    }

    // MARK: Frames with position and orientation

    private static func spatial(_ frames: [DICOMFrame], normal: SIMD3<Double>, path: String) throws -> StackLayout {
        let distances = frames.map { dot($0.position!, normal) }
        let order = frames.indices.sorted { a, b in
            if abs(distances[a] - distances[b]) > positionTolerance { return distances[a] < distances[b] }
            return timeOrder(frames[a], frames[b])
        }
        // Positions: runs of frames at (nearly) the same distance.
        var positions: [[Int]] = []
        for index in order {
            if let last = positions.last, let head = last.first, abs(distances[index] - distances[head]) <= positionTolerance {
                positions[positions.count - 1].append(index)
            } else {
                positions.append([index])
            }
        }
        let counts = positions.map(\.count)
        let timePoints = counts[0]
        if counts.contains(where: { $0 != timePoints }) {
            throw MedVolError(.inconsistentSeries, path: path,
                              reason: "positions hold different numbers of images, so they make neither a 3D nor a 4D volume: " +
                                  countSummary(positions.map { (distances[$0[0]], $0.count) }))
        }
        let nz = positions.count
        // Volume t takes the t-th image (in time order) of every position.
        var slots: [Int] = []
        slots.reserveCapacity(frames.count)
        for t in 0..<timePoints { for position in positions { slots.append(position[t]) } }

        var warnings: [StackWarning] = []
        let head = frames[slots[0]]
        let spacingZ: Double
        if nz > 1 {
            let firstDistance = distances[positions[0][0]], lastDistance = distances[positions[nz - 1][0]]
            spacingZ = (lastDistance - firstDistance) / Double(nz - 1)
            warnings += spacingWarnings(positions.map { distances[$0[0]] }, spacing: spacingZ)
            if let tilt = tiltWarning(positions.map { frames[$0[0]].position! }, normal: normal, declared: head.gantryTilt) {
                warnings.append(tilt)
            }
        } else {
            spacingZ = head.spacingBetweenSlices ?? head.sliceThickness ?? 1
        }
        if frames.contains(where: { abs($0.spacingX - head.spacingX) > 1e-4 || abs($0.spacingY - head.spacingY) > 1e-4 }) {
            warnings.append(.pixelSpacingDiffers(row: head.spacingY, column: head.spacingX))
        }
        if !head.hasPixelSpacing { warnings.append(.noPixelSpacing) }

        let direction = DirectionMatrix(columns: head.rowDirection!, head.columnDirection!, normal)
        var size = [head.width, head.height, nz]
        if timePoints > 1 { size.append(timePoints) }
        // Between volumes: RepetitionTime in seconds when known (DICOM gives milliseconds), else 1.
        let geometry = ImageGeometry(size: size, spacing: SIMD3(head.spacingX, head.spacingY, spacingZ),
                                     origin: head.position!, direction: direction,
                                     timeSpacing: timePoints > 1 ? head.repetitionTime.map { $0 / 1000 } ?? 1 : nil)
        return StackLayout(slots: slots, geometry: geometry, warnings: warnings)
    }

    /// Orders images at one position: temporal position, acquisition, echo, trigger time, acquisition
    /// time, instance number, then file and frame (for a stable order).
    static func timeOrder(_ a: DICOMFrame, _ b: DICOMFrame) -> Bool {
        func compare<T: Comparable>(_ x: T?, _ y: T?) -> Bool? {
            guard let x, let y, x != y else { return nil }
            return x < y
        }
        if let result = compare(a.temporalPositionIdentifier, b.temporalPositionIdentifier) { return result }
        if let result = compare(a.temporalPositionIndex, b.temporalPositionIndex) { return result }
        if let result = compare(a.acquisitionNumber, b.acquisitionNumber) { return result }
        if let result = compare(a.echoNumber, b.echoNumber) { return result }
        if let result = compare(a.echoTime, b.echoTime) { return result }
        if let result = compare(a.triggerTime, b.triggerTime) { return result }
        if let result = compare(a.acquisitionTime, b.acquisitionTime) { return result }
        if let result = compare(a.instanceNumber, b.instanceNumber) { return result }
        if a.fileIndex != b.fileIndex { return a.fileIndex < b.fileIndex }
        if a.frameNumber != b.frameNumber { return a.frameNumber < b.frameNumber }
        return (a.tile?.index ?? 0) < (b.tile?.index ?? 0)
    }

    /// Missing slices (a gap that is a multiple of the usual one) and uneven spacing, naming the positions.
    static func spacingWarnings(_ distances: [Double], spacing: Double) -> [StackWarning] {
        guard distances.count > 2 else { return [] }
        let gaps = zip(distances.dropFirst(), distances).map { $0 - $1 }
        let typical = gaps.sorted()[gaps.count / 2]
        let tolerance = max(0.01, 0.01 * abs(typical))
        var warnings: [StackWarning] = []
        var uneven: [SliceGap] = []
        for (index, gap) in gaps.enumerated() where abs(gap - typical) > tolerance {
            let ratio = gap / typical
            let slices = SliceGap(slice: index, from: distances[index], to: distances[index + 1])
            if ratio > 1.5 && abs(ratio - ratio.rounded()) < 0.1 {
                warnings.append(.missingSlices(count: Int(ratio.rounded()) - 1, at: slices, typicalGap: typical))
            } else {
                uneven.append(slices)
            }
        }
        if !uneven.isEmpty { warnings.append(.unevenSpacing(typicalGap: typical, gaps: uneven)) }
        if !warnings.isEmpty { warnings.append(.meanSliceSpacing(spacing)) }
        return warnings
    }

    /// Gantry tilt: consecutive slice positions that shift in-plane, not only along the normal.
    static func tiltWarning(_ positions: [SIMD3<Double>], normal: SIMD3<Double>, declared: Double?) -> StackWarning? {
        guard let first = positions.first, let last = positions.last, positions.count > 1 else { return nil }
        let step = last - first
        let along = dot(step, normal)
        let across = length(step - normal * along)
        guard abs(along) > 1e-6 else { return nil }
        let angle = atan2Degrees(across, abs(along))
        guard angle > 0.05 else { return nil }
        return .gantryTilt(sideways: across, along: abs(along), degrees: angle, declared: declared)
    }

    // MARK: Frames without position

    private static func unpositioned(_ frames: [DICOMFrame], someHavePositions: Bool) -> StackLayout {
        let slots = frames.indices.sorted { a, b in
            let x = frames[a], y = frames[b]
            if let i = x.instanceNumber, let j = y.instanceNumber, i != j { return i < j }
            if x.fileIndex != y.fileIndex { return x.fileIndex < y.fileIndex }
            return x.frameNumber < y.frameNumber
        }
        let head = frames[slots[0]]
        let isSingleMultiFrameFile = Set(frames.map(\.fileIndex)).count == 1 && frames.count > 1
        let spacingZ: Double = frames.count == 1
            ? (head.sliceThickness ?? 1)
            : (isSingleMultiFrameFile ? 1 : (head.spacingBetweenSlices ?? head.sliceThickness ?? 1))
        var warnings: [StackWarning] = []
        if frames.count > 1 || someHavePositions { warnings.append(.noPosition(someHavePositions: someHavePositions)) }
        if !head.hasPixelSpacing { warnings.append(.noPixelSpacing) }
        let geometry = ImageGeometry(size: [head.width, head.height, frames.count],
                                     spacing: SIMD3(head.spacingX, head.spacingY, spacingZ))
        return StackLayout(slots: slots, geometry: geometry, warnings: warnings)
    }

    private static func countSummary(_ positions: [(distance: Double, count: Int)]) -> String {
        let byCount = Dictionary(grouping: positions, by: \.count)
        let usual = byCount.max { $0.value.count < $1.value.count }!.key
        var parts = ["\(byCount[usual]!.count) positions hold \(usual)"]
        for (count, members) in byCount.sorted(by: { $0.key < $1.key }) where count != usual {
            let listed = members.prefix(8).map { formatMillimetres($0.distance) + " mm" }.joined(separator: ", ")
            parts.append("\(members.count) position\(members.count == 1 ? "" : "s") hold \(count) (at \(listed)\(members.count > 8 ? ", …" : "") along the normal)")
        }
        return parts.joined(separator: ", ")
    }
}

func formatMillimetres(_ value: Double) -> String {
    let rounded = (value * 1000).rounded() / 1000
    return formatNumber(rounded == 0 ? 0 : rounded)
}

func atan2Degrees(_ y: Double, _ x: Double) -> Double {
    atan2(y, x) * 180 / Double.pi
}
