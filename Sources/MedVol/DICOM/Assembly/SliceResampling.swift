#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Which resamplings a DICOM load may make of a stack's slices. Without any (``none``, the default) the
/// voxels are the stored slices, stacked; the geometry follows the slice normal and the stack's
/// ``StackWarning``s tell what is irregular about the positions.
///
/// A resampling is made only where the stack needs it: ``correctTilt`` when its slices shift in-plane
/// (``StackWarning/gantryTilt(sideways:along:degrees:declared:)``), ``equidistant`` when its gaps differ
/// (``StackWarning/unevenSpacing(typicalGap:gaps:)`` or
/// ``StackWarning/missingSlices(count:at:typicalGap:)``). What was done is reported in the volume's
/// warnings as ``StackWarning/tiltCorrected(maximumShift:degrees:)`` and
/// ``StackWarning/regridded(sourceSlices:slices:spacing:)``.
public struct SliceResampling: OptionSet, Sendable, Hashable {
    /// The bits of the set.
    public let rawValue: Int

    /// A set from its bits.
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// No resampling: the stored slices, stacked.
    public static let none: SliceResampling = []
    /// Gantry tilt correction: each slice is shifted in its plane, by the shift its Image Position
    /// (Patient) shows, back onto the line through the first slice along the slice normal, with linear
    /// interpolation; voxels shifted in from outside the slice take the lowest value of the volume.
    public static let correctTilt = SliceResampling(rawValue: 1 << 0)
    /// Equidistant slices: slices at the smallest gap of the stack (a little less, so that the first and
    /// last slices are kept), each interpolated linearly between the two nearest stored slices.
    public static let equidistant = SliceResampling(rawValue: 1 << 1)
}

/// How a stack's slices are resampled: worked out from the positions of its slices.
struct SliceResamplingPlan: Sendable {
    /// Slices per volume as stored.
    var sourceSlices: Int
    var timePoints: Int
    /// Per stored slice, what to add to an output index (i, j) to find the stored pixel; nil: no tilt correction.
    var shifts: [SIMD2<Double>]?
    /// Distance of each stored slice from the first along the normal, when regridding.
    var distances: [Double]?
    /// Output slices per volume and their spacing, when regridding.
    var slices: Int
    var spacing: Double
    /// The geometry the stored slices are loaded into (the output's size, so that the resampling runs in place).
    var loadGeometry: ImageGeometry
    var outputGeometry: ImageGeometry
    /// What was done.
    var reports: [StackWarning]
}

extension DICOMStack {
    /// The plan for `resampling` of this stack, or nil when nothing is to be done (no option, or a
    /// stack that is neither tilted nor unevenly spaced, or has no positions).
    func resamplingPlan(_ resampling: SliceResampling) throws -> SliceResamplingPlan? {
        guard !resampling.isEmpty else { return nil }
        let geometry = try loadableGeometry()
        let nz = geometry.size[2]
        guard nz > 1, slots.count == geometry.timePoints * nz else { return nil }
        let positions = (0..<nz).map { frames[slots[$0]].position }
        guard positions.allSatisfy({ $0 != nil }) else { return nil }
        let tilt = warnings.lazy.compactMap { warning -> Double? in
            if case let .gantryTilt(_, _, degrees, _) = warning { return degrees }
            return nil
        }.first
        let uneven = warnings.contains { warning in
            switch warning {
            case .unevenSpacing, .missingSlices: return true
            default: return false
            }
        }
        let correctTilt = resampling.contains(.correctTilt) && tilt != nil
        let regrid = resampling.contains(.equidistant) && uneven
        guard correctTilt || regrid else { return nil }

        let row = geometry.direction.column(0), column = geometry.direction.column(1), normal = geometry.direction.column(2)
        let first = positions[0]!
        let distances = positions.map { dot($0! - first, normal) }
        var reports: [StackWarning] = []
        var shifts: [SIMD2<Double>]?
        if correctTilt {
            var largest = 0.0
            shifts = positions.indices.map { z in
                let sideways = positions[z]! - first - normal * distances[z]
                largest = max(largest, length(sideways))
                // Output voxel (i, j) of slice z lies at first + normal·d + row·i·sx + column·j·sy; the
                // stored slice starts `sideways` further, so the stored pixel is (i, j) − sideways / spacing.
                return SIMD2(-dot(sideways, row) / geometry.spacing.x, -dot(sideways, column) / geometry.spacing.y)
            }
            reports.append(.tiltCorrected(maximumShift: largest, degrees: tilt!))
        }
        var slices = nz
        var spacing = geometry.spacing.z
        if regrid {
            let gaps = zip(distances.dropFirst(), distances).map { $0 - $1 }
            let path = files[frames[slots[0]].fileIndex].path
            guard let smallest = gaps.min(), smallest > 0, let extent = distances.last, extent > 0 else {
                throw MedVolError(.inconsistentSeries, path: path, reason: "cannot make equidistant slices: the slice positions do not increase along the normal")
            }
            // Positions are written to a few decimals: a gap a thousandth shorter than the others is the same gap.
            slices = Int((extent / smallest - 1e-3).rounded(.up)) + 1
            guard slices <= 2 * nz else {
                throw MedVolError.unsupported(path, "equidistant slices at the smallest gap (\(formatMillimetres(smallest)) mm) would need \(slices) slices for the \(nz) stored; medvol regrids to at most twice as many")
            }
            spacing = extent / Double(slices - 1)
            reports.append(.regridded(sourceSlices: nz, slices: slices, spacing: spacing))
        }
        var output = geometry
        output.size[2] = slices
        output.spacing.z = spacing
        return SliceResamplingPlan(sourceSlices: nz, timePoints: geometry.timePoints, shifts: shifts,
                                   distances: regrid ? distances : nil, slices: slices, spacing: spacing,
                                   loadGeometry: output, outputGeometry: output, reports: reports)
    }

    /// The volume of `plan`: the stored slices loaded into the output's memory, then resampled in place.
    func loadResampled(_ plan: SliceResamplingPlan, options: DICOMLoadOptions) throws -> Volume {
        var volume = try StackLoader(stack: self, geometry: plan.loadGeometry, options: options).load()
        try options.control.checkCancellation()
        try SliceResampler.resample(&volume, plan: plan, control: options.control)
        volume.metadata.warnings = Self.warnings(volume.metadata.warnings, after: plan)
        return volume
    }

    /// `warnings` with the plan's reports, without those the resampling made untrue (the tilt left in
    /// the voxels, the mean spacing of stacked slices).
    static func warnings(_ warnings: [VolumeWarning], after plan: SliceResamplingPlan) -> [VolumeWarning] {
        var kept = warnings.filter { warning in
            switch warning {
            case .stack(.gantryTilt): return plan.shifts == nil
            case .stack(.meanSliceSpacing): return plan.distances == nil
            default: return true
            }
        }
        kept += plan.reports.map(VolumeWarning.stack)
        return kept
    }
}

/// The resampling itself, in place in a volume of the output's size whose first `timePoints × sourceSlices`
/// slices hold the stored slices in order.
enum SliceResampler {
    static func resample(_ volume: inout Volume, plan: SliceResamplingPlan, control: WorkControl = .none) throws {
        switch volume.pixelType {
        case .uint8: try integer(control, UInt8.self, &volume, plan)
        case .int8: try integer(control, Int8.self, &volume, plan)
        case .uint16: try integer(control, UInt16.self, &volume, plan)
        case .int16: try integer(control, Int16.self, &volume, plan)
        case .uint32: try integer(control, UInt32.self, &volume, plan)
        case .int32: try integer(control, Int32.self, &volume, plan)
        case .uint64: try integer(control, UInt64.self, &volume, plan)
        case .int64: try integer(control, Int64.self, &volume, plan)
        case .float32: try floating(control, Float.self, &volume, plan)
        case .float64: try floating(control, Double.self, &volume, plan)
        }
    }

    private static func integer<T: VoxelScalar & FixedWidthInteger>(_ control: WorkControl, _ type: T.Type, _ volume: inout Volume,
                                                                     _ plan: SliceResamplingPlan) throws {
        let components = volume.components
        let nx = volume.geometry.size[0], ny = volume.geometry.size[1]
        try volume.withUnsafeMutableBufferPointer(as: T.self) { voxels in
            try run(voxels, nx: nx, ny: ny, components: components, plan: plan, control: control) { value in
                let rounded = value.rounded()
                if rounded <= Double(T.min) { return T.min }
                if rounded >= Double(T.max) { return T.max }
                return T(rounded)
            }
        }
    }

    private static func floating<T: VoxelScalar & BinaryFloatingPoint>(_ control: WorkControl, _ type: T.Type, _ volume: inout Volume,
                                                                       _ plan: SliceResamplingPlan) throws {
        let components = volume.components
        let nx = volume.geometry.size[0], ny = volume.geometry.size[1]
        try volume.withUnsafeMutableBufferPointer(as: T.self) { voxels in
            try run(voxels, nx: nx, ny: ny, components: components, plan: plan, control: control) { T($0) }
        }
    }

    /// A volume's voxels, shared by the workers of one step (each writes its own slice or range).
    private struct SharedVoxels<T>: @unchecked Sendable {
        let buffer: UnsafeMutableBufferPointer<T>
    }

    private static func run<T: VoxelScalar>(_ voxels: UnsafeMutableBufferPointer<T>, nx: Int, ny: Int, components: Int,
                                            plan: SliceResamplingPlan, control: WorkControl,
                                            make: @escaping @Sendable (Double) -> T) throws {
        let sliceCount = nx * ny * components
        let stored = plan.timePoints * plan.sourceSlices
        let nz = plan.sourceSlices
        let shared = SharedVoxels(buffer: voxels)
        let progress = ProgressCounter(stage: "resampling",
                                       total: (plan.shifts == nil ? 0 : stored) + (plan.distances == nil ? 0 : plan.timePoints * plan.slices),
                                       control: control)
        if let shifts = plan.shifts {
            // The lowest value of the stored slices fills what comes in from outside a slice.
            var lowest = voxels[0]
            for index in 0..<(stored * sliceCount) where voxels[index] < lowest { lowest = voxels[index] }
            let fill = lowest
            // Slices are independent: one per worker, each with one slice of scratch (workers limited so
            // that the scratch stays within 5 % of the volume).
            let workers = max(1, min(Parallel.processorCount, stored / 20))
            Parallel.forEach(stored, maximumConcurrency: workers) { slot in
                guard (try? control.checkCancellation()) != nil else { return }
                defer { progress.advance() }
                let shift = shifts[slot % nz]
                guard abs(shift.x) > 1e-9 || abs(shift.y) > 1e-9 else { return }
                let base = slot * sliceCount
                let scratch = Array(shared.buffer[base..<base + sliceCount])
                shiftSlice(scratch, into: shared.buffer, base: base, nx: nx, ny: ny, components: components,
                           shift: shift, lowest: fill, make: make)
            }
            try control.checkCancellation()
        }
        guard let distances = plan.distances else { return }
        // Output slice k of volume t goes to slot t·slices + k and reads stored slots t·nz + lo and
        // t·nz + hi, with hi ≤ k (the spacing is at most the smallest gap): going down from the last
        // slot, every stored slot is read before it is overwritten. Slices go in that order, each split
        // into ranges across the cores.
        let chunks = max(1, min(Parallel.processorCount, sliceCount / 16384))
        let base = voxels.baseAddress!
        for t in stride(from: plan.timePoints - 1, through: 0, by: -1) {
            for k in stride(from: plan.slices - 1, through: 0, by: -1) {
                try control.checkCancellation()
                defer { progress.advance() }
                let target = Double(k) * plan.spacing
                var hi = 0
                while hi < nz - 1 && distances[hi] < target - 1e-6 { hi += 1 }
                hi = min(hi, k)
                let lo = max(0, hi - 1)
                let out = (t * plan.slices + k) * sliceCount
                let low = (t * nz + lo) * sliceCount, high = (t * nz + hi) * sliceCount
                let span = distances[hi] - distances[lo]
                let fraction = span > 0 ? min(1, max(0, (target - distances[lo]) / span)) : 1
                if lo == hi || span <= 0 || target >= distances[hi] || fraction >= 1 - 1e-9 || fraction <= 1e-9 {
                    // On a stored slice: copied (distinct slots never overlap).
                    let from = fraction <= 1e-9 && lo != hi && span > 0 && target < distances[hi] ? low : high
                    if out != from { (base + out).update(from: base + from, count: sliceCount) }
                    continue
                }
                Parallel.forEach(chunks) { chunk in
                    let range = (chunk * sliceCount / chunks)..<((chunk + 1) * sliceCount / chunks)
                    let voxels = shared.buffer
                    for index in range {
                        let a = voxels[low + index].doubleValue, b = voxels[high + index].doubleValue
                        voxels[out + index] = make(a + (b - a) * fraction)
                    }
                }
            }
        }
    }

    /// Writes slice `source` shifted by `shift` pixels (bilinear) into `voxels` from `base`.
    private static func shiftSlice<T: VoxelScalar>(_ source: [T], into voxels: UnsafeMutableBufferPointer<T>, base: Int,
                                                   nx: Int, ny: Int, components: Int, shift: SIMD2<Double>,
                                                   lowest: T, make: @Sendable (Double) -> T) {
        let tolerance = 1e-6
        let rowLength = nx * components
        if abs(shift.x) <= 1e-9 {
            // Rows move along the column direction only (the usual gantry tilt): each output row is a
            // blend of two stored rows.
            source.withUnsafeBufferPointer { source in
                for j in 0..<ny {
                    let y = Double(j) + shift.y
                    let out = base + j * rowLength
                    guard y >= -tolerance && y <= Double(ny - 1) + tolerance else {
                        for index in 0..<rowLength { voxels[out + index] = lowest }
                        continue
                    }
                    let y0 = min(max(0, Int(y.rounded(.down))), max(0, ny - 2))
                    let fy = ny == 1 ? 0 : min(1, max(0, y - Double(y0)))
                    let y1 = min(y0 + 1, ny - 1)
                    let a = y0 * rowLength, b = y1 * rowLength
                    if fy <= 1e-9 || fy >= 1 - 1e-9 {
                        let from = fy <= 1e-9 ? a : b
                        for index in 0..<rowLength { voxels[out + index] = source[from + index] }
                        continue
                    }
                    for index in 0..<rowLength {
                        let top = source[a + index].doubleValue, bottom = source[b + index].doubleValue
                        voxels[out + index] = make(top + (bottom - top) * fy)
                    }
                }
            }
            return
        }
        for j in 0..<ny {
            let y = Double(j) + shift.y
            let rowInside = y >= -tolerance && y <= Double(ny - 1) + tolerance
            let y0 = min(max(0, Int(y.rounded(.down))), max(0, ny - 2))
            let fy = ny == 1 ? 0 : min(1, max(0, y - Double(y0)))
            let y1 = min(y0 + 1, ny - 1)
            for i in 0..<nx {
                let x = Double(i) + shift.x
                let out = base + (j * nx + i) * components
                guard rowInside, x >= -tolerance, x <= Double(nx - 1) + tolerance else {
                    for c in 0..<components { voxels[out + c] = lowest }
                    continue
                }
                let x0 = min(max(0, Int(x.rounded(.down))), max(0, nx - 2))
                let fx = nx == 1 ? 0 : min(1, max(0, x - Double(x0)))
                let x1 = min(x0 + 1, nx - 1)
                for c in 0..<components {
                    let v00 = source[(y0 * nx + x0) * components + c].doubleValue
                    let v01 = source[(y0 * nx + x1) * components + c].doubleValue
                    let v10 = source[(y1 * nx + x0) * components + c].doubleValue
                    let v11 = source[(y1 * nx + x1) * components + c].doubleValue
                    let top = v00 + (v01 - v00) * fx, bottom = v10 + (v11 - v10) * fx
                    voxels[out + c] = make(top + (bottom - top) * fy)
                }
            }
        }
    }
}
