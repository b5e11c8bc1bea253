#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Synthetic, deterministic volumes with anatomy-like content, for the demo, tests and benchmarks.
///
/// A transverse body section: an elliptic body (soft tissue under a layer of fat), two lungs, a
/// contrast-filled aorta, a vertebra with its spinal canal and a ring of ribs. The content changes along
/// k so that slice order matters: the body widens, the lungs grow from nothing, the aorta moves
/// sideways and the ribs come and go. The same arguments always give the same voxels (the texture is a
/// hash of the voxel index, not a random draw), and slices are made in parallel.
public enum Phantom {
    /// A CT volume in Hounsfield units (int16): air −1000, fat −100, soft tissue ≈ 40 with a slight
    /// texture, lungs ≈ −850, aorta 300, cancellous bone 700, cortical bone and ribs 1200 and 1000.
    /// Metadata: modality "CT", series description "medvol phantom", window 40/400.
    ///
    /// - Parameters:
    ///   - size: `[nx, ny, nz]`.
    ///   - spacing: `[sx, sy, sz]` in mm.
    ///   - origin: LPS position of voxel (0, 0, 0); by default the volume is centred on (0, 0, 0).
    ///   - direction: the volume's direction matrix (identity: axial, LPS).
    public static func ct(size: [Int] = [256, 256, 64], spacing: SIMD3<Double> = [0.7, 0.7, 1.25],
                          origin: SIMD3<Double>? = nil, direction: DirectionMatrix = .identity) -> Volume {
        var volume = make(Int16.self, size: size, spacing: spacing, origin: origin, direction: direction, tissues: .ct)
        volume.metadata.modality = "CT"
        volume.metadata.windows = [DisplayWindow(center: 40, width: 400, explanation: "abdomen")]
        return volume
    }

    /// An MR-like volume (uint16, arbitrary units) of the same anatomy: fat bright, CSF brightest, air,
    /// lungs and cortical bone dark. Metadata: modality "MR", series description "medvol phantom".
    public static func mr(size: [Int] = [256, 256, 64], spacing: SIMD3<Double> = [0.9, 0.9, 3],
                          origin: SIMD3<Double>? = nil, direction: DirectionMatrix = .identity) -> Volume {
        var volume = make(UInt16.self, size: size, spacing: spacing, origin: origin, direction: direction, tissues: .mr)
        volume.metadata.modality = "MR"
        volume.metadata.windows = [DisplayWindow(center: 700, width: 1400)]
        return volume
    }

    // MARK: Drawing

    /// Values of the tissues and the amplitude of the texture added to soft tissue and lung.
    struct Tissues: Sendable {
        var air, fat, softTissue, lung, aorta, cancellous, cortical, rib, csf: Int32
        var texture: Int32

        static let ct = Tissues(air: -1000, fat: -100, softTissue: 40, lung: -850, aorta: 300, cancellous: 700,
                                cortical: 1200, rib: 1000, csf: 10, texture: 8)
        static let mr = Tissues(air: 0, fat: 900, softTissue: 450, lung: 40, aorta: 1200, cancellous: 600,
                                cortical: 60, rib: 80, csf: 1500, texture: 25)
    }

    private static func make<T: VoxelScalar & FixedWidthInteger>(_: T.Type, size: [Int], spacing: SIMD3<Double>,
                                                                 origin: SIMD3<Double>?, direction: DirectionMatrix,
                                                                 tissues: Tissues) -> Volume {
        precondition(size.count == 3 && size.allSatisfy { $0 >= 1 }, "a phantom has three positive sizes")
        let extent = SIMD3(Double(size[0] - 1), Double(size[1] - 1), Double(size[2] - 1)) * spacing / 2
        let geometry = ImageGeometry(size: size, spacing: spacing, origin: origin ?? -(direction * extent),
                                     direction: direction)
        var metadata = VolumeMetadata()
        metadata.seriesDescription = "medvol phantom"
        var volume = Volume(pixelType: T.pixelType, geometry: geometry, metadata: metadata)
        let nx = size[0], ny = size[1], nz = size[2]
        volume.withUnsafeMutableBytes { raw in
            let base = SendableRawPointer(raw.baseAddress!)
            Parallel.forEach(nz) { k in
                let slice = UnsafeMutableBufferPointer(start: base.base.assumingMemoryBound(to: T.self) + k * nx * ny,
                                                       count: nx * ny)
                drawSlice(k, nx: nx, ny: ny, nz: nz, tissues: tissues, into: slice)
            }
        }
        return volume
    }

    /// One ellipse in normalised slice coordinates (u, v ∈ [−1, 1] across the columns and rows).
    private struct Ellipse {
        var u: Double, v: Double, a: Double, b: Double
    }

    private static func drawSlice<T: FixedWidthInteger>(_ k: Int, nx: Int, ny: Int, nz: Int, tissues: Tissues,
                                                        into slice: UnsafeMutableBufferPointer<T>) {
        // f runs from 0 (first slice) to 1 (last slice).
        let f = nz > 1 ? Double(k) / Double(nz - 1) : 0.5
        let body = Ellipse(u: 0, v: 0.02, a: 0.78 + 0.1 * f, b: 0.56 + 0.06 * f)
        let muscle = Ellipse(u: body.u, v: body.v, a: body.a - 0.06, b: body.b - 0.06)
        let lungScale = min(max((f - 0.15) / 0.55, 0), 1)
        let lungs = [-1.0, 1.0].map { side in
            Ellipse(u: side * (0.33 + 0.04 * f), v: -0.06, a: 0.24 * lungScale, b: 0.34 * lungScale)
        }
        let aorta = Ellipse(u: -0.12 + 0.2 * f, v: 0.2, a: 0.055, b: 0.055)
        let vertebra = Ellipse(u: 0, v: 0.36, a: 0.11, b: 0.1)
        let marrow = Ellipse(u: 0, v: 0.36, a: 0.085, b: 0.075)
        let canal = Ellipse(u: 0, v: 0.5, a: 0.04, b: 0.035)
        // Ribs: present over part of every sixth of the volume.
        let ribsVisible = sin(12 * Double.pi * f) > 0.2
        let ribs: [Ellipse] = ribsVisible ? (0..<10).map { index in
            let angle = Double.pi * (0.1 + 0.8 * Double(index % 5) / 4) * (index < 5 ? 1 : -1)
            return Ellipse(u: (body.a - 0.1) * sin(angle), v: body.v + (body.b - 0.1) * -cos(angle),
                           a: 0.035, b: 0.035)
        } : []

        let halfX = Double(nx) / 2, halfY = Double(ny) / 2
        let centreX = Double(nx - 1) / 2, centreY = Double(ny - 1) / 2
        func clamp(_ value: Int32) -> T { T(clamping: value) }
        let air = clamp(tissues.air)

        for j in 0..<ny {
            let row = UnsafeMutableBufferPointer(rebasing: slice[j * nx..<(j + 1) * nx])
            row.initialize(repeating: air)
            let v = (Double(j) - centreY) / halfY
            func span(_ e: Ellipse) -> ClosedRange<Int>? {
                let dv = (v - e.v) / e.b
                guard e.a > 0, e.b > 0, dv * dv < 1 else { return nil }
                let half = e.a * (1 - dv * dv).squareRoot()
                let low = max(0, Int(((e.u - half) * halfX + centreX).rounded(.up)))
                let high = min(nx - 1, Int(((e.u + half) * halfX + centreX).rounded(.down)))
                return low <= high ? low...high : nil
            }
            func fill(_ e: Ellipse, _ value: Int32, texture: Int32 = 0) {
                guard let range = span(e) else { return }
                if texture == 0 {
                    let stored = clamp(value)
                    for i in range { row[i] = stored }
                } else {
                    for i in range { row[i] = clamp(value + Self.texture(i, j, k, amplitude: texture)) }
                }
            }
            fill(body, tissues.fat)
            fill(muscle, tissues.softTissue, texture: tissues.texture)
            for lung in lungs { fill(lung, tissues.lung, texture: 2 * tissues.texture) }
            fill(aorta, tissues.aorta)
            fill(vertebra, tissues.cortical)
            fill(marrow, tissues.cancellous)
            fill(canal, tissues.csf)
            for rib in ribs { fill(rib, tissues.rib) }
        }
    }

    /// A deterministic value in −amplitude…amplitude from the voxel index (an integer hash).
    @inline(__always)
    private static func texture(_ i: Int, _ j: Int, _ k: Int, amplitude: Int32) -> Int32 {
        var h = UInt32(truncatingIfNeeded: i &* 0x27D4_EB2D ^ j &* 0x1656_67B1 ^ k &* 0x9E37_79B9)
        h ^= h >> 15
        h = h &* 0x85EB_CA6B
        h ^= h >> 13
        return Int32(h % UInt32(2 * amplitude + 1)) - amplitude
    }
}
