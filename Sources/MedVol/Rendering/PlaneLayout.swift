/// An anatomical plane to show a volume in.
public enum ViewPlane: String, Sendable, CaseIterable {
    /// Transverse slices, across the patient's head–foot (S–I) axis.
    case axial
    /// Frontal slices, across the patient's front–back (A–P) axis.
    case coronal
    /// Side slices, across the patient's left–right (L–R) axis.
    case sagittal
}

/// How slices of a volume are laid out as pictures: which index axis runs across the picture (left to
/// right), which runs down it (top to bottom), which goes through the slices, and which of them are
/// reversed.
///
/// - The stored slices (``stored(_:)``): i across, j down, k through, none reversed — each slice as
///   DICOM viewers show it, rows from the top.
/// - Reformats (``init(plane:geometry:)``) follow the radiological convention: axial with the
///   patient's right on the left and anterior at the top, coronal with the patient's right on the
///   left and superior at the top, sagittal with anterior on the left and superior at the top.
///   Slices run inferior → superior (axial), anterior → posterior (coronal), right → left
///   (sagittal). An axial view of a volume stored axially is the stored slices.
///
/// Reformats take whole rows, columns or slices of the voxel grid: each anatomical direction is
/// given to the index axis closest to it, so an oblique volume is shown in its nearest anatomical
/// plane, without resampling across slices.
public struct PlaneLayout: Sendable, Hashable {
    /// An index axis (0 = i, 1 = j, 2 = k) and whether it runs backwards on screen.
    public struct AxisUse: Sendable, Hashable {
        /// The index axis: 0 = i, 1 = j, 2 = k.
        public let axis: Int
        /// Whether the index decreases along the picture (right to left, bottom to top, or from the last
        /// slice to the first).
        public let reversed: Bool
    }

    /// The plane of the pictures (for the stored slices: the named plane nearest to them).
    public let plane: ViewPlane
    /// The index axis that runs across the pictures, left to right.
    public let across: AxisUse
    /// The index axis that runs down the pictures, top to bottom.
    public let down: AxisUse
    /// The index axis that goes through the slices, in slice order.
    public let through: AxisUse
    /// True when the pictures are the stored slices, unchanged.
    public let isStored: Bool

    /// The stored slices of a volume: i across, j down, k through.
    public static func stored(_ geometry: ImageGeometry) -> PlaneLayout {
        PlaneLayout(plane: Self.storedPlane(geometry), across: AxisUse(axis: 0, reversed: false),
                    down: AxisUse(axis: 1, reversed: false), through: AxisUse(axis: 2, reversed: false), isStored: true)
    }

    private init(plane: ViewPlane, across: AxisUse, down: AxisUse, through: AxisUse, isStored: Bool) {
        self.plane = plane
        self.across = across
        self.down = down
        self.through = through
        self.isStored = isStored
    }

    /// The layout of `plane` for a volume of `geometry`.
    public init(plane: ViewPlane, geometry: ImageGeometry) {
        let patientAxisOf = Self.patientAxes(geometry.direction)   // index axis → patient axis (0 L, 1 P, 2 S)
        func indexAxis(for patientAxis: Int) -> Int { patientAxisOf.firstIndex(of: patientAxis)! }
        /// The index axis along `patientAxis`, reversed when it points against `towards` (+1 or −1).
        func use(_ patientAxis: Int, towards: Double) -> AxisUse {
            let axis = indexAxis(for: patientAxis)
            let component = geometry.direction[patientAxis, axis]
            return AxisUse(axis: axis, reversed: component * towards < 0)
        }
        if plane == .axial && indexAxis(for: 2) == 2 {
            self = .stored(geometry)
            return
        }
        switch plane {
        case .axial:      // x towards the patient's left, y towards posterior, slices upwards
            self.init(plane: plane, across: use(0, towards: 1), down: use(1, towards: 1), through: use(2, towards: 1), isStored: false)
        case .coronal:    // x towards the patient's left, y downwards, slices anterior to posterior
            self.init(plane: plane, across: use(0, towards: 1), down: use(2, towards: -1), through: use(1, towards: 1), isStored: false)
        case .sagittal:   // x towards posterior, y downwards, slices right to left
            self.init(plane: plane, across: use(1, towards: 1), down: use(2, towards: -1), through: use(0, towards: 1), isStored: false)
        }
    }

    /// For each index axis, the patient axis (0 = L, 1 = P, 2 = S) it is closest to: the assignment
    /// with the largest sum of |cosines|, so that every patient axis gets exactly one index axis.
    static func patientAxes(_ direction: DirectionMatrix) -> [Int] {
        let permutations = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]]
        var best = permutations[0]
        var bestScore = -1.0
        for permutation in permutations {
            let score = (0..<3).reduce(0.0) { $0 + abs(direction[permutation[$1], $1]) }
            if score > bestScore + 1e-12 {
                bestScore = score
                best = permutation
            }
        }
        return best
    }

    /// The named plane nearest to a volume's stored slices (from the patient axis closest to k).
    static func storedPlane(_ geometry: ImageGeometry) -> ViewPlane {
        switch patientAxes(geometry.direction)[2] {
        case 0: .sagittal
        case 1: .coronal
        default: .axial
        }
    }

    /// Letters naming the patient direction at the picture's left, right, top and bottom edges
    /// ("R", "L", "A", "P", "S", "I"), from the direction of the axes on screen.
    public func edgeLabels(_ geometry: ImageGeometry) -> (left: String, right: String, top: String, bottom: String) {
        func letter(_ vector: SIMD3<Double>) -> String { String(DirectionMatrix.patientLetter(vector)) }
        let right = geometry.direction.column(across.axis) * (across.reversed ? -1 : 1)
        let down = geometry.direction.column(self.down.axis) * (self.down.reversed ? -1 : 1)
        return (letter(-right), letter(right), letter(-down), letter(down))
    }
}
