/// A 3D or 4D image: typed, contiguous voxels and the geometry that places them in the patient.
///
/// Voxels are stored x fastest, then y, z and t (index `i + nx·(j + ny·(k + nz·t))`), components
/// interleaved — the memory order of a C array of shape `(nt, nz, ny, nx, c)`, which is what NumPy and
/// `SimpleITK.GetArrayFromImage` give. `Volume` is a value: copies share their voxels until one of them
/// is written (copy-on-write), so passing volumes around costs nothing.
///
/// ```swift
/// let volume = try Volume(contentsOf: "CT/", format: .dicom)
/// let hu = try volume.voxels(as: Int16.self)          // no copy
/// let centre = volume.transformIndexToPhysicalPoint(256, 256, 100)
/// ```
public struct Volume: Sendable {
    /// The type of one voxel component.
    public private(set) var pixelType: PixelType
    /// Components per voxel: 1 for grey values, 3 for RGB.
    public private(set) var components: Int
    /// Size, spacing, origin, direction (and time spacing for 4D).
    public private(set) var geometry: ImageGeometry
    /// Where the volume came from and what was noticed on the way.
    public var metadata: VolumeMetadata

    var storage: VoxelStorage

    /// A zero-filled volume.
    public init(pixelType: PixelType, components: Int = 1, geometry: ImageGeometry,
                metadata: VolumeMetadata = VolumeMetadata()) {
        precondition(components >= 1, "a voxel has at least one component")
        precondition(geometry.size.allSatisfy { $0 >= 1 }, "every axis holds at least one voxel")
        self.pixelType = pixelType
        self.components = components
        self.geometry = geometry
        self.metadata = metadata
        self.storage = VoxelStorage(byteCount: geometry.voxelCount * components * pixelType.byteSize)
    }

    /// A volume holding a copy of `voxels` (in the memory order described above).
    public init<T: VoxelScalar>(voxels: [T], components: Int = 1, geometry: ImageGeometry,
                                metadata: VolumeMetadata = VolumeMetadata()) {
        precondition(voxels.count == geometry.voxelCount * components, "voxel count does not match the size")
        self.init(pixelType: T.pixelType, components: components, geometry: geometry, metadata: metadata)
        voxels.withUnsafeBytes { storage.bytes.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }

    init(pixelType: PixelType, components: Int, geometry: ImageGeometry, metadata: VolumeMetadata,
         storage: VoxelStorage) {
        precondition(storage.byteCount == geometry.voxelCount * components * pixelType.byteSize)
        self.pixelType = pixelType
        self.components = components
        self.geometry = geometry
        self.metadata = metadata
        self.storage = storage
    }

    // MARK: Geometry

    /// `[nx, ny, nz]` or `[nx, ny, nz, nt]`.
    public var size: [Int] { geometry.size }
    /// `[sx, sy, sz]` in millimetres.
    public var spacing: SIMD3<Double> {
        get { geometry.spacing }
        set { geometry.spacing = newValue }
    }
    /// LPS position of the centre of voxel (0, 0, 0), in millimetres.
    public var origin: SIMD3<Double> {
        get { geometry.origin }
        set { geometry.origin = newValue }
    }
    /// Column *a* is the unit LPS vector of index axis *a*; `direction.rowMajor` is SimpleITK's order.
    public var direction: DirectionMatrix {
        get { geometry.direction }
        set { geometry.direction = newValue }
    }
    /// Spacing of the fourth axis; nil for a 3D volume.
    public var timeSpacing: Double? {
        get { geometry.timeSpacing }
        set { geometry.timeSpacing = geometry.isFourDimensional ? (newValue ?? 1) : nil }
    }
    /// "LPS", "RAS", …: where each index axis points (see ``DirectionMatrix/orientationCode``).
    public var orientationCode: String { geometry.orientationCode }

    /// The LPS point (mm) of the centre of voxel (i, j, k).
    public func transformIndexToPhysicalPoint(_ i: Int, _ j: Int, _ k: Int) -> SIMD3<Double> {
        geometry.transformIndexToPhysicalPoint(i, j, k)
    }

    /// The LPS point (mm) of a (continuous) index.
    public func transformIndexToPhysicalPoint(_ index: SIMD3<Double>) -> SIMD3<Double> {
        geometry.transformIndexToPhysicalPoint(index)
    }

    /// The continuous index of an LPS point (mm); the inverse of ``transformIndexToPhysicalPoint(_:)``.
    public func transformPhysicalPointToContinuousIndex(_ point: SIMD3<Double>) -> SIMD3<Double> {
        geometry.transformPhysicalPointToContinuousIndex(point)
    }

    // MARK: Voxels

    /// Bytes of the whole voxel buffer.
    public var byteCount: Int { storage.byteCount }

    /// Offset (in components) of voxel (i, j, k, t), component 0.
    public func linearIndex(_ i: Int, _ j: Int, _ k: Int, _ t: Int = 0) -> Int {
        let size = geometry.size
        return (i + size[0] * (j + size[1] * (k + size[2] * t))) * components
    }

    /// The voxels as a typed collection that shares the volume's memory (no copy).
    /// Throws when `T` is not the volume's ``pixelType``.
    public func voxels<T: VoxelScalar>(as type: T.Type) throws -> VoxelBuffer<T> {
        try checkType(T.self)
        return VoxelBuffer(storage: storage, count: geometry.voxelCount * components)
    }

    /// Calls `body` with the raw voxel bytes.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: storage.bytes, count: storage.byteCount))
    }

    /// Calls `body` with the raw voxel bytes, writable (copies them first if another volume shares them).
    public mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        makeStorageUnique()
        return try body(UnsafeMutableRawBufferPointer(start: storage.bytes, count: storage.byteCount))
    }

    /// Calls `body` with the voxels typed as `T`. Throws when `T` is not the volume's ``pixelType``.
    public func withUnsafeBufferPointer<T: VoxelScalar, R>(as type: T.Type,
                                                           _ body: (UnsafeBufferPointer<T>) throws -> R) throws -> R {
        try checkType(T.self)
        let typed = storage.bytes.bindMemory(to: T.self, capacity: geometry.voxelCount * components)
        return try body(UnsafeBufferPointer(start: typed, count: geometry.voxelCount * components))
    }

    /// Calls `body` with the voxels typed as `T`, writable. Throws when `T` is not the ``pixelType``.
    public mutating func withUnsafeMutableBufferPointer<T: VoxelScalar, R>(
        as type: T.Type, _ body: (UnsafeMutableBufferPointer<T>) throws -> R
    ) throws -> R {
        try checkType(T.self)
        makeStorageUnique()
        let typed = storage.bytes.bindMemory(to: T.self, capacity: geometry.voxelCount * components)
        return try body(UnsafeMutableBufferPointer(start: typed, count: geometry.voxelCount * components))
    }

    /// The value of one voxel component as a Double, whatever the pixel type.
    public func value(_ i: Int, _ j: Int, _ k: Int, _ t: Int = 0, component: Int = 0) -> Double {
        let index = linearIndex(i, j, k, t) + component
        return Self.readValue(storage.bytes, index: index, type: pixelType)
    }

    /// Smallest and largest value over all voxels (nil for an empty volume, NaN ignored).
    public func valueRange() -> ClosedRange<Double>? {
        withUnsafeBytes { raw in
            VoxelMath.range(of: raw, type: pixelType)
        }
    }

    static func readValue(_ base: UnsafeRawPointer, index: Int, type: PixelType) -> Double {
        switch type {
        case .uint8: Double(base.load(fromByteOffset: index, as: UInt8.self))
        case .int8: Double(base.load(fromByteOffset: index, as: Int8.self))
        case .uint16: Double(base.load(fromByteOffset: index * 2, as: UInt16.self))
        case .int16: Double(base.load(fromByteOffset: index * 2, as: Int16.self))
        case .uint32: Double(base.load(fromByteOffset: index * 4, as: UInt32.self))
        case .int32: Double(base.load(fromByteOffset: index * 4, as: Int32.self))
        case .uint64: Double(base.load(fromByteOffset: index * 8, as: UInt64.self))
        case .int64: Double(base.load(fromByteOffset: index * 8, as: Int64.self))
        case .float32: Double(base.load(fromByteOffset: index * 4, as: Float.self))
        case .float64: base.load(fromByteOffset: index * 8, as: Double.self)
        }
    }

    // MARK: Changing shape and type

    /// The same voxels with new geometry of the same voxel count (size may change, e.g. 3D ↔ 4D).
    public func withGeometry(_ newGeometry: ImageGeometry) -> Volume {
        precondition(newGeometry.voxelCount == geometry.voxelCount, "the voxel count must not change")
        var copy = self
        copy.geometry = newGeometry
        return copy
    }

    /// Reinterprets the stored bytes as another type of the same size (used when a rule picks, say,
    /// uint16 for values that were decoded as int16 and all fit both).
    mutating func relabel(as newType: PixelType) {
        precondition(newType.byteSize == pixelType.byteSize)
        pixelType = newType
    }

    private mutating func makeStorageUnique() {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
    }

    private func checkType<T: VoxelScalar>(_ type: T.Type) throws {
        guard T.pixelType == pixelType else {
            throw MedVolError(.invalidArgument, reason: "the volume holds \(pixelType) voxels, not \(T.pixelType)")
        }
    }
}

/// A volume's voxels as a typed random-access collection that shares the volume's memory.
public struct VoxelBuffer<Element: VoxelScalar>: RandomAccessCollection, Sendable {
    let storage: VoxelStorage
    /// Number of values: voxels × components, all time points.
    public let count: Int

    public var startIndex: Int { 0 }
    public var endIndex: Int { count }

    public subscript(position: Int) -> Element {
        precondition(position >= 0 && position < count, "voxel index out of range")
        return storage.bytes.load(fromByteOffset: position * MemoryLayout<Element>.stride, as: Element.self)
    }

    /// Calls `body` with the buffer's memory (valid only inside `body`).
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Element>) throws -> R) rethrows -> R {
        let typed = storage.bytes.bindMemory(to: Element.self, capacity: count)
        return try withExtendedLifetime(storage) { try body(UnsafeBufferPointer(start: typed, count: count)) }
    }
}
