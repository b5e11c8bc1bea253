/// Renders slices of a volume as 8-bit pictures in a ``PlaneLayout``: values are interpolated where
/// the picture's pixels fall between voxels, then mapped by a ``DisplayMapping``.
///
/// Pictures have square pixels: when the two in-plane spacings differ (a coronal or sagittal reformat
/// of 0.5 × 0.5 × 2 mm voxels), the coarser axis is resampled to the finer spacing by linear
/// interpolation, so that the picture keeps the physical aspect ratio. Where the spacings are equal,
/// pixels are the voxels themselves.
public struct SliceRenderer: Sendable {
    /// The volume drawn.
    public let volume: Volume
    /// Which plane is drawn, and which way up.
    public let layout: PlaneLayout
    /// How voxel values become grey levels or colours.
    public let mapping: DisplayMapping
    /// Size of one picture pixel, in millimetres.
    public let pixelSize: Double
    /// Picture size.
    public let width: Int
    /// Picture height in pixels (see ``width``).
    public let height: Int

    private let columnSamples: [Sample]
    private let rowSamples: [Sample]

    /// Where along an index axis one picture column or row samples: voxel `lower` with weight
    /// 1 − `fraction`, voxel `lower + 1` with weight `fraction`.
    private struct Sample: Sendable {
        var lower: Int
        var fraction: Double
    }

    /// A renderer of `volume`'s planes.
    ///
    /// - Parameters:
    ///   - volume: the volume to draw (for 4D, the volume chosen by the caller).
    ///   - layout: which plane to draw and which way up (axial as stored, coronal, sagittal).
    ///   - mapping: how voxel values become grey levels or colours (window, VOI LUT, inversion).
    ///   - pixelSize: size of a picture pixel in mm; by default the finer of the two in-plane spacings.
    ///   - maximumSide: pictures are never wider or higher than this (the pixel size grows instead).
    public init(volume: Volume, layout: PlaneLayout, mapping: DisplayMapping, pixelSize: Double? = nil,
                maximumSide: Int = 8192) {
        self.volume = volume
        self.layout = layout
        self.mapping = mapping
        let size = volume.size
        let spacing = volume.spacing
        let acrossCount = size[layout.across.axis], downCount = size[layout.down.axis]
        let acrossSpacing = spacing[layout.across.axis], downSpacing = spacing[layout.down.axis]
        let finer = min(acrossSpacing, downSpacing)
        var pixel = pixelSize ?? finer
        let extent = max(Double(acrossCount) * acrossSpacing, Double(downCount) * downSpacing)
        if extent / pixel > Double(maximumSide) { pixel = extent / Double(maximumSide) }
        // Equal spacings at their own size: the voxels themselves, no interpolation.
        let exact = abs(acrossSpacing - downSpacing) <= 1e-3 * max(acrossSpacing, downSpacing) && abs(pixel - finer) <= 1e-9 * finer
        width = exact ? acrossCount : max(1, Int((Double(acrossCount) * acrossSpacing / pixel).rounded()))
        height = exact ? downCount : max(1, Int((Double(downCount) * downSpacing / pixel).rounded()))
        self.pixelSize = exact ? acrossSpacing : pixel
        columnSamples = Self.samples(count: width, voxels: acrossCount, reversed: layout.across.reversed)
        rowSamples = Self.samples(count: height, voxels: downCount, reversed: layout.down.reversed)
    }

    /// Picture pixel centres spread evenly over the voxels' extent: pixel u sits at continuous index
    /// (u + ½)·n/m − ½, clamped to the first and last voxel centres.
    private static func samples(count: Int, voxels: Int, reversed: Bool) -> [Sample] {
        (0..<count).map { position in
            var index = count == voxels ? Double(position) : (Double(position) + 0.5) * Double(voxels) / Double(count) - 0.5
            index = max(0, min(Double(voxels - 1), index))
            if reversed { index = Double(voxels - 1) - index }
            let lower = min(Int(index.rounded(.down)), voxels - 1)
            let fraction = index - Double(lower)
            return Sample(lower: lower, fraction: fraction < 1e-9 ? 0 : fraction)
        }
    }

    /// Number of slices through the volume in this layout.
    public var sliceCount: Int { volume.size[layout.through.axis] }

    /// The index along the through axis of picture `slice` (0-based, in picture order).
    public func throughIndex(of slice: Int) -> Int {
        layout.through.reversed ? sliceCount - 1 - slice : slice
    }

    /// Picture number `slice` (0-based, in the layout's slice order) of volume `timePoint` (4D).
    public func render(slice: Int, timePoint: Int = 0) -> RasterImage {
        precondition(slice >= 0 && slice < sliceCount, "slice \(slice) is outside 0..<\(sliceCount)")
        precondition(timePoint >= 0 && timePoint < volume.geometry.timePoints, "no volume \(timePoint)")
        let components = volume.components
        let colour = components >= 3
        let channels = colour ? 3 : 1
        var pixels = [UInt8](repeating: 0, count: width * height * channels)
        let size = volume.size
        // Strides (in voxels) of the three index axes, and the fixed offset of this slice.
        let strides = [1, size[0], size[0] * size[1]]
        let base = throughIndex(of: slice) * strides[layout.through.axis] + timePoint * volume.geometry.voxelsPerVolume
        let acrossStride = strides[layout.across.axis], downStride = strides[layout.down.axis]
        volume.withUnsafeBytes { raw in
            // One switch on the voxel type per picture; the loop itself runs typed.
            func typed<T: VoxelScalar>(_: T.Type) {
                fill(&pixels, from: raw.bindMemory(to: T.self), base: base, acrossStride: acrossStride, downStride: downStride)
            }
            switch volume.pixelType {
            case .uint8: typed(UInt8.self)
            case .int8: typed(Int8.self)
            case .uint16: typed(UInt16.self)
            case .int16: typed(Int16.self)
            case .uint32: typed(UInt32.self)
            case .int32: typed(Int32.self)
            case .uint64: typed(UInt64.self)
            case .int64: typed(Int64.self)
            case .float32: typed(Float.self)
            case .float64: typed(Double.self)
            }
        }
        return RasterImage(width: width, height: height, channels: channels, pixels: pixels)
    }

    /// The picture's pixels from the voxels starting at `base` (the slice's first voxel), bilinear
    /// between neighbours where a sample falls between voxel centres.
    private func fill<T: VoxelScalar>(_ pixels: inout [UInt8], from voxels: UnsafeBufferPointer<T>, base: Int,
                                      acrossStride: Int, downStride: Int) {
        let components = volume.components
        let colour = components >= 3
        let channels = colour ? 3 : 1
        let mapping = self.mapping
        @inline(__always) func value(_ voxel: Int, _ component: Int) -> Double {
            voxels[voxel * components + component].doubleValue
        }
        for row in 0..<height {
            let r = rowSamples[row]
            let rowBase = base + r.lower * downStride
            for column in 0..<width {
                let c = columnSamples[column]
                let voxel = rowBase + c.lower * acrossStride
                for channel in 0..<channels {
                    var v = value(voxel, channel)
                    if c.fraction > 0 { v += c.fraction * (value(voxel + acrossStride, channel) - v) }
                    if r.fraction > 0 {
                        var below = value(voxel + downStride, channel)
                        if c.fraction > 0 { below += c.fraction * (value(voxel + downStride + acrossStride, channel) - below) }
                        v += r.fraction * (below - v)
                    }
                    pixels[(row * width + column) * channels + channel] = mapping.pixel(v, colour: colour)
                }
            }
        }
    }
}

extension DisplayMapping {
    /// The 8-bit value of one (grey or colour-channel) voxel value.
    @inline(__always)
    func pixel(_ value: Double, colour: Bool) -> UInt8 {
        if let transform {
            let grey = transform.grey(value)
            return inverted && !colour ? 255 - grey : grey
        }
        guard !value.isNaN else { return 0 }
        return UInt8(max(0, min(255, (value * colourScale).rounded())))
    }
}
