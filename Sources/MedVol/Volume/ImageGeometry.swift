/// A 3×3 direction matrix in ITK's convention: column *a* is the unit LPS vector of index axis *a*
/// (i = column, j = row, k = slice). Serialised row-major, exactly like `SimpleITK.Image.GetDirection()`.
public struct DirectionMatrix: Hashable, Sendable {
    /// The nine entries, row-major: `rowMajor[3 * row + column]`.
    public private(set) var rowMajor: [Double]

    /// A matrix from nine numbers in row-major order (as `SimpleITK.Image.GetDirection()` gives them).
    public init(rowMajor: [Double]) {
        precondition(rowMajor.count == 9, "a direction matrix has nine entries")
        self.rowMajor = rowMajor
    }

    /// A matrix whose columns are the directions of index axes i, j and k.
    public init(columns i: SIMD3<Double>, _ j: SIMD3<Double>, _ k: SIMD3<Double>) {
        rowMajor = [i.x, j.x, k.x, i.y, j.y, k.y, i.z, j.z, k.z]
    }

    /// The identity: i towards the patient's left, j posterior, k superior (LPS).
    public static let identity = DirectionMatrix(rowMajor: [1, 0, 0, 0, 1, 0, 0, 0, 1])

    /// The entry in `row` and `column` (each 0…2): component `row` (L, P, S) of index axis `column`.
    public subscript(row: Int, column: Int) -> Double {
        get { rowMajor[3 * row + column] }
        set { rowMajor[3 * row + column] = newValue }
    }

    /// The unit vector of index axis `axis` (0 = i, 1 = j, 2 = k).
    public func column(_ axis: Int) -> SIMD3<Double> {
        SIMD3(rowMajor[axis], rowMajor[3 + axis], rowMajor[6 + axis])
    }

    /// The matrix times `vector`: index-space components turned into an LPS vector.
    public static func * (matrix: DirectionMatrix, vector: SIMD3<Double>) -> SIMD3<Double> {
        matrix.column(0) * vector.x + matrix.column(1) * vector.y + matrix.column(2) * vector.z
    }

    /// The transpose (the inverse of an orthonormal matrix).
    public var transposed: DirectionMatrix {
        DirectionMatrix(rowMajor: [self[0, 0], self[1, 0], self[2, 0],
                                   self[0, 1], self[1, 1], self[2, 1],
                                   self[0, 2], self[1, 2], self[2, 2]])
    }

    /// The determinant: +1 for a right-handed orthonormal direction, −1 for a left-handed one.
    public var determinant: Double {
        let a = column(0), b = column(1), c = column(2)
        return dot(a, cross(b, c))
    }

    /// The inverse, or nil when the matrix is singular.
    public var inverse: DirectionMatrix? {
        let det = determinant
        guard abs(det) > 1e-12 else { return nil }
        let m = self
        func cofactor(_ r: Int, _ c: Int) -> Double {
            let rows = [0, 1, 2].filter { $0 != r }, cols = [0, 1, 2].filter { $0 != c }
            let minor = m[rows[0], cols[0]] * m[rows[1], cols[1]] - m[rows[0], cols[1]] * m[rows[1], cols[0]]
            return ((r + c) % 2 == 0 ? 1 : -1) * minor
        }
        var entries = [Double](repeating: 0, count: 9)
        for r in 0..<3 { for c in 0..<3 { entries[3 * r + c] = cofactor(c, r) / det } }
        return DirectionMatrix(rowMajor: entries)
    }

    /// Largest absolute difference between corresponding entries.
    public func maximumDifference(to other: DirectionMatrix) -> Double {
        zip(rowMajor, other.rowMajor).map { abs($0 - $1) }.max() ?? 0
    }

    /// The orientation code, one letter per index axis naming where the axis points in the patient
    /// ("LPS" for the identity: i towards the patient's left, j posterior, k superior), as nibabel's
    /// `aff2axcodes` names it. Each axis takes the letter of its largest component.
    /// A non-finite direction gives "???".
    public var orientationCode: String {
        guard rowMajor.allSatisfy(\.isFinite) else { return "???" }
        return String((0..<3).map { Self.patientLetter(column($0)) })
    }

    /// The patient direction a vector points to most ("L", "R", "P", "A", "S" or "I" in LPS): the letter
    /// of its largest component, by sign.
    static func patientLetter(_ vector: SIMD3<Double>) -> Character {
        let magnitudes = [abs(vector.x), abs(vector.y), abs(vector.z)]
        let dominant = magnitudes.firstIndex(of: magnitudes.max()!)!
        let positive = vector[dominant] >= 0
        return [["L", "R"], ["P", "A"], ["S", "I"]][dominant][positive ? 0 : 1]
    }
}

@inline(__always) func dot(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> Double { (a * b).sum() }

@inline(__always) func cross(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> SIMD3<Double> {
    SIMD3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x)
}

@inline(__always) func length(_ a: SIMD3<Double>) -> Double { dot(a, a).squareRoot() }

/// Where a volume's voxels are in the patient: size, spacing, origin and direction, in SimpleITK's
/// vocabulary. Coordinates are DICOM patient coordinates (LPS) in millimetres.
///
/// `point(i, j, k) = origin + direction · (i·sx, j·sy, k·sz)`.
public struct ImageGeometry: Hashable, Sendable {
    /// `[nx, ny, nz]`, or `[nx, ny, nz, nt]` for a 4D volume.
    public var size: [Int]
    /// `[sx, sy, sz]` in millimetres.
    public var spacing: SIMD3<Double>
    /// LPS position of the centre of voxel (0, 0, 0).
    public var origin: SIMD3<Double>
    /// The direction of each index axis in LPS, one per column (see ``DirectionMatrix``).
    public var direction: DirectionMatrix
    /// Spacing of the fourth axis (seconds where known, else 1); nil for a 3D volume.
    public var timeSpacing: Double?

    /// A geometry from its parts.
    ///
    /// - Parameters:
    ///   - size: `[nx, ny, nz]`, or `[nx, ny, nz, nt]` for a 4D volume.
    ///   - spacing: `[sx, sy, sz]` in millimetres.
    ///   - origin: LPS position of the centre of voxel (0, 0, 0), in millimetres.
    ///   - direction: The direction of each index axis in LPS, one per column.
    ///   - timeSpacing: Spacing of the fourth axis; nil means 1 for a 4D volume, and it is ignored for a
    ///     3D one.
    public init(size: [Int], spacing: SIMD3<Double> = SIMD3(1, 1, 1), origin: SIMD3<Double> = .zero,
                direction: DirectionMatrix = .identity, timeSpacing: Double? = nil) {
        precondition(size.count == 3 || size.count == 4, "size has three or four entries")
        self.size = size
        self.spacing = spacing
        self.origin = origin
        self.direction = direction
        self.timeSpacing = size.count == 4 ? (timeSpacing ?? 1) : nil
    }

    /// 3 or 4.
    public var dimensions: Int { size.count }
    /// Whether the volume has a fourth (time) axis.
    public var isFourDimensional: Bool { size.count == 4 }
    /// Number of voxels (all time points).
    public var voxelCount: Int { size.reduce(1, *) }
    /// Voxels in one 3D volume.
    public var voxelsPerVolume: Int { size[0] * size[1] * size[2] }
    /// Number of 3D volumes (1 for a 3D volume).
    public var timePoints: Int { size.count == 4 ? size[3] : 1 }

    /// The LPS point of a (continuous) index.
    public func transformIndexToPhysicalPoint(_ index: SIMD3<Double>) -> SIMD3<Double> {
        origin + direction * (index * spacing)
    }

    /// The LPS point of the centre of voxel (i, j, k).
    public func transformIndexToPhysicalPoint(_ i: Int, _ j: Int, _ k: Int) -> SIMD3<Double> {
        transformIndexToPhysicalPoint(SIMD3(Double(i), Double(j), Double(k)))
    }

    /// The continuous index of an LPS point (inverse of `transformIndexToPhysicalPoint`).
    public func transformPhysicalPointToContinuousIndex(_ point: SIMD3<Double>) -> SIMD3<Double> {
        let inverse = direction.inverse ?? direction.transposed
        return (inverse * (point - origin)) / spacing
    }

    /// Whether `other` describes the same grid in space: same size, origin and spacing within
    /// `coordinateTolerance` (mm), direction within `directionTolerance` (SimpleITK's
    /// `IsCongruentImageGeometry`).
    public func isCongruent(with other: ImageGeometry, coordinateTolerance: Double = 1e-4,
                            directionTolerance: Double = 1e-6) -> Bool {
        size == other.size
            && abs(spacing - other.spacing).max() <= coordinateTolerance
            && abs(origin - other.origin).max() <= coordinateTolerance
            && direction.maximumDifference(to: other.direction) <= directionTolerance
            && abs((timeSpacing ?? 0) - (other.timeSpacing ?? 0)) <= coordinateTolerance
    }

    /// One letter per axis naming where it points ("LPS", "RAS", "LAI", …); see
    /// ``DirectionMatrix/orientationCode``.
    public var orientationCode: String { direction.orientationCode }
}

private func abs(_ v: SIMD3<Double>) -> SIMD3<Double> { SIMD3(Swift.abs(v.x), Swift.abs(v.y), Swift.abs(v.z)) }
