/// NIfTI-1 single files (`.nii`, `.nii.gz`) and pairs (`.hdr` + `.img`) read and written in Swift, the
/// header exactly as ITK 5.2's NiftiImageIO writes it, the voxels streamed: a DICOM conversion writes each
/// slice to its place (see ``StreamedVolumeFile``) and a `.nii.gz` is compressed and inflated in
/// independent blocks on every core (see ``IndexedGzip``).
///
/// The header medvol writes (every other field zero):
/// - `sizeof_hdr` 348, `regular` "r", `magic` "n+1", `vox_offset` 352 (the header, then four zero bytes:
///   no extensions), little endian; for a pair, `magic` "ni1" and `vox_offset` 0 in a 352-byte `.hdr`
///   (the same four zero bytes), the voxels alone in the `.img`;
/// - `dim` = [3 or 4, nx, ny, nz, nt, 1, 1, 1]; `pixdim` = [qfac, sx, sy, sz, Δt or 0, 0, 0, 0];
/// - `datatype`/`bitpix` from the voxel type (RGB24 for 3-component uint8, as ITK writes RGB pixels;
///   `intent_code` stays 0);
/// - `scl_slope` 1, `scl_inter` 0; `xyzt_units` 10 (millimetres and seconds, as ITK 5.4 writes it);
/// - `qform_code` = `sform_code` = 1 (scanner), quaternion and sform from ``NIfTIOrientation``.
///
/// Voxels are stored in the volume's memory order (x fastest), RAS only in the header: LPS → RAS
/// negates the first two rows of the affine.
enum NIfTIFile {
    /// Bytes before the voxels in a file medvol writes.
    static let voxelOffset = 352

    /// The two files of a NIfTI pair, from either's path: `NAME.hdr` and `NAME.img`, in the capitals of
    /// the extension given (`SCAN.HDR` and `SCAN.IMG`); a path with neither extension is the header's.
    struct PairPaths: Equatable {
        var header: String
        var image: String

        init(_ path: String) {
            let name = FileSystem.lastComponent(of: path)
            let suffix = String(name.suffix(4))
            guard name.count > 4, [".hdr", ".img"].contains(suffix.lowercased()) else {
                header = path
                image = path + ".img"
                return
            }
            let stem = String(path.dropLast(4))
            let capitals = suffix == suffix.uppercased()
            header = stem + (capitals ? ".HDR" : ".hdr")
            image = stem + (capitals ? ".IMG" : ".img")
        }
    }

    // MARK: Data types

    /// NIfTI `datatype` codes (nifti1.h) and the voxels they hold.
    enum DataType: Int16, CaseIterable {
        case uint8 = 2, int16 = 4, int32 = 8, float32 = 16, float64 = 64, rgb24 = 128
        case int8 = 256, uint16 = 512, uint32 = 768, int64 = 1024, uint64 = 1280

        init?(pixelType: PixelType, components: Int) {
            switch (pixelType, components) {
            case (.uint8, 3): self = .rgb24
            case (_, 1):
                switch pixelType {
                case .uint8: self = .uint8
                case .int8: self = .int8
                case .uint16: self = .uint16
                case .int16: self = .int16
                case .uint32: self = .uint32
                case .int32: self = .int32
                case .uint64: self = .uint64
                case .int64: self = .int64
                case .float32: self = .float32
                case .float64: self = .float64
                }
            default: return nil
            }
        }

        /// The voxel type and components per voxel.
        var voxel: (type: PixelType, components: Int) {
            switch self {
            case .uint8: (.uint8, 1)
            case .int8: (.int8, 1)
            case .uint16: (.uint16, 1)
            case .int16: (.int16, 1)
            case .uint32: (.uint32, 1)
            case .int32: (.int32, 1)
            case .uint64: (.uint64, 1)
            case .int64: (.int64, 1)
            case .float32: (.float32, 1)
            case .float64: (.float64, 1)
            case .rgb24: (.uint8, 3)
            }
        }

        var bitsPerVoxel: Int16 { Int16(voxel.type.byteSize * voxel.components * 8) }
    }

    // MARK: Writing

    /// The 352 bytes before the voxels of a NIfTI-1 file for `info` (or, `pair`, of its `.hdr`), or an
    /// `.unsupported` error for a volume NIfTI cannot hold (a component count other than 1 or 3, a size
    /// beyond 32767).
    static func header(for info: VolumeInfo, path: String, pair: Bool = false) throws -> [UInt8] {
        guard let dataType = DataType(pixelType: info.pixelType, components: info.components) else {
            throw MedVolError.unsupported(path, "NIfTI holds one component or RGB (3 × uint8), not \(info.components) × \(info.pixelType)")
        }
        let geometry = info.geometry
        guard geometry.size.allSatisfy({ $0 >= 1 && $0 <= Int(Int16.max) }) else {
            throw MedVolError.unsupported(path, "NIfTI-1 holds at most 32767 voxels along an axis, not \(geometry.size)")
        }
        var bytes = [UInt8](repeating: 0, count: voxelOffset)
        func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
            withUnsafeBytes(of: value.littleEndian) { bytes.replaceSubrange(offset..<offset + $0.count, with: $0) }
        }
        func put(_ value: Float, at offset: Int) { put(value.bitPattern, at: offset) }

        let orientation = NIfTIOrientation(direction: geometry.direction, origin: geometry.origin, spacing: geometry.spacing)
        put(Int32(348), at: 0)
        bytes[38] = UInt8(ascii: "r")
        let dimensions = geometry.isFourDimensional ? 4 : 3
        let extents = geometry.size + Array(repeating: 1, count: 7 - geometry.size.count)
        put(Int16(dimensions), at: 40)
        for (axis, extent) in extents.enumerated() { put(Int16(extent), at: 42 + 2 * axis) }
        put(dataType.rawValue, at: 70)
        put(dataType.bitsPerVoxel, at: 72)
        let pixdim: [Float] = [orientation.qfac, Float(geometry.spacing.x), Float(geometry.spacing.y), Float(geometry.spacing.z),
                               geometry.isFourDimensional ? Float(geometry.timeSpacing ?? 1) : 0, 0, 0, 0]
        for (index, value) in pixdim.enumerated() { put(value, at: 76 + 4 * index) }
        put(Float(pair ? 0 : voxelOffset), at: 108)
        put(Float(1), at: 112)  // scl_slope
        put(Float(0), at: 116)  // scl_inter
        bytes[123] = 10          // xyzt_units: NIFTI_UNITS_MM | NIFTI_UNITS_SEC
        put(Int16(1), at: 252)   // qform_code: scanner
        put(Int16(1), at: 254)   // sform_code: scanner
        let quaternion = [orientation.quaternion.b, orientation.quaternion.c, orientation.quaternion.d,
                          orientation.offset.x, orientation.offset.y, orientation.offset.z]
        for (index, value) in quaternion.enumerated() { put(value, at: 256 + 4 * index) }
        for row in 0..<3 {
            for column in 0..<4 { put(orientation.sform[row][column], at: 280 + 16 * row + 4 * column) }
        }
        bytes.replaceSubrange(344..<348, with: Array((pair ? "ni1" : "n+1").utf8) + [0])
        return bytes
    }

    /// Writes `volume` as a NIfTI pair: the voxels in `paths.image`, then the header in `paths.header`.
    static func writePair(_ volume: Volume, to paths: PairPaths, options: VolumeWriteOptions) throws -> [String] {
        let header = try header(for: VolumeInfo(volume), path: paths.header, pair: true)
        let outputs = [paths.image, paths.header] + options.companions.map(\.path)
        try OutputTransaction.write(outputs: outputs, overwrite: options.overwrite, filesOnly: true) { transaction in
            try CompanionFile.write(options.companions, in: transaction)
            let image = try WritableFile(creating: transaction.stagingPath(for: paths.image))
            try volume.withUnsafeBytes { try image.write($0, at: 0) }
            try image.close()
            let file = try WritableFile(creating: transaction.stagingPath(for: paths.header))
            try header.withUnsafeBytes { try file.write($0, at: 0) }
            try file.close()
        }
        return outputs
    }

    /// Writes `volume` as `.nii` (or gzip-compressed `.nii.gz`, blocks on every core at `level`).
    static func write(_ volume: Volume, to path: String, compressed: Bool, level: GzipLevel,
                      options: VolumeWriteOptions) throws -> [String] {
        let header = try header(for: VolumeInfo(volume), path: path)
        try OutputTransaction.write(outputs: [path] + options.companions.map(\.path), overwrite: options.overwrite, filesOnly: true) { transaction in
            try CompanionFile.write(options.companions, in: transaction)
            let file = try WritableFile(creating: transaction.stagingPath(for: path))
            try volume.withUnsafeBytes { voxels in
                if compressed {
                    try IndexedGzipWriter.write(voxels, unitBytes: volume.size[0] * volume.size[1] * volume.components * volume.pixelType.byteSize, to: file, header: header, level: level)
                } else {
                    try header.withUnsafeBytes { try file.write($0, at: 0) }
                    try file.write(voxels, at: voxelOffset)
                }
            }
            try file.close()
        }
        return [path] + options.companions.map(\.path)
    }

    // MARK: Reading

    /// Opens a NIfTI-1 single file the Swift way, or returns nil when the file needs ITK's reader:
    /// NIfTI-2, Analyze, scaled RGB or 64-bit values, units other than millimetres, more than four
    /// dimensions, data types medvol has no voxel type for, or a header whose geometry comes from
    /// neither form. The geometry is ITK's (see ``geometry(of:)``).
    static func open(path: String, file: ReadableFile, compressed: Bool) throws -> OpenedVolumeFile? {
        guard let header = try NIfTIHeader.read(file: file, compressed: compressed) else { return nil }
        if let field = header.unusableGeometryField {
            throw MedVolError.corrupt(path, "damaged NIfTI header: \(field) is not a usable number")
        }
        guard let layout = try SwiftReadable(header: header, path: path, pair: false) else { return nil }
        let needed = layout.voxelOffset + layout.storedByteCount
        try checkVoxelBufferFitsInMemory(layout.byteCount, path: path)
        let source: StoredVoxels.Source
        if compressed {
            source = try StoredVoxels.gzipSource(file, offset: layout.voxelOffset, needed: needed) { available in
                MedVolError.corrupt(path, "truncated: the header announces \(needed) bytes, the file holds \(available) uncompressed")
            }
        } else {
            guard file.size >= needed else {
                throw MedVolError.corrupt(path, "truncated: the header announces \(needed) bytes, the file has \(file.size)")
            }
            source = .file(file, offset: layout.voxelOffset)
        }
        return opened(layout, header: header, path: path, source: source)
    }

    /// Opens a NIfTI pair (`.hdr` with magic "ni1", voxels in the `.img`) the Swift way, or returns nil
    /// when it needs ITK's reader (Analyze 7.5, and what ``open(path:file:compressed:)`` leaves to it).
    static func openPair(_ paths: PairPaths) throws -> OpenedVolumeFile? {
        let headerFile = try ReadableFile(path: paths.header)
        guard let header = try NIfTIHeader.read(file: headerFile, compressed: false) else { return nil }
        guard header.isPair else {
            // Analyze 7.5 is ITK's to read, but ITK reads a short .img without a word: check its size first.
            if !header.isSingleFile, let needed = header.storedByteCount {
                let image = try ReadableFile(path: paths.image)
                guard image.size >= needed else {
                    throw MedVolError.corrupt(paths.image, "truncated: the header \(FileSystem.lastComponent(of: paths.header)) announces \(needed) bytes, the file has \(image.size)")
                }
            }
            return nil
        }
        if let field = header.unusableGeometryField {
            throw MedVolError.corrupt(paths.header, "damaged NIfTI header: \(field) is not a usable number")
        }
        guard let layout = try SwiftReadable(header: header, path: paths.header, pair: true) else { return nil }
        let image = try ReadableFile(path: paths.image)
        let needed = layout.voxelOffset + layout.storedByteCount
        guard image.size >= needed else {
            throw MedVolError.corrupt(paths.image, "truncated: the header \(FileSystem.lastComponent(of: paths.header)) announces \(needed) bytes, the file has \(image.size)")
        }
        try checkVoxelBufferFitsInMemory(layout.byteCount, path: paths.header)
        return opened(layout, header: header, path: paths.header, source: .file(image, offset: layout.voxelOffset))
    }

    /// The volume a readable header describes, its stored values at `source`, byte-swapped and scaled
    /// as the header says when they are read.
    private static func opened(_ layout: SwiftReadable, header: NIfTIHeader, path: String,
                               source: StoredVoxels.Source) -> OpenedVolumeFile {
        var metadata = VolumeMetadata()
        metadata.source = path
        if layout.scale != nil {
            metadata.valueTransform = header.valueTransform(as: layout.pixelType)
        }
        let voxels = StoredVoxels(source: source, storedType: layout.storedType, pixelType: layout.pixelType,
                                  elementCount: layout.byteCount / layout.pixelType.byteSize,
                                  swapsBytes: header.isBigEndian, scale: layout.scale)
        return OpenedVolumeFile(info: VolumeInfo(geometry: layout.geometry, pixelType: layout.pixelType,
                                                 components: layout.components, metadata: metadata),
                                voxels: voxels)
    }

    /// What the Swift reader needs from a header it can read.
    struct SwiftReadable {
        /// The voxel type of the volume (float32, or float64 for float64 data, when values are scaled).
        var pixelType: PixelType
        /// The voxel type in the file.
        var storedType: PixelType
        var components: Int
        var geometry: ImageGeometry
        var voxelOffset: Int
        /// Bytes of the volume's voxels.
        var byteCount: Int
        /// Bytes of the voxels in the file (no more than ``byteCount``).
        var storedByteCount: Int
        /// `scl_slope`, `scl_inter`, when ITK would apply them.
        var scale: (slope: Double, intercept: Double)?

        /// nil when the file is one for ITK's reader (see ``NIfTIFile/open(path:file:compressed:)``);
        /// `pair`: the header of a `.hdr`/`.img` pair, whose voxels start at `vox_offset` in the `.img`.
        init?(header: NIfTIHeader, path: String, pair: Bool) throws {
            guard pair ? header.isPair : header.isSingleFile, header.spatialUnits == 2 || header.spatialUnits == 0,
                  let dataType = DataType(rawValue: header.dataType), header.bitsPerVoxel == dataType.bitsPerVoxel
            else { return nil }
            if header.isScaled {
                // ITK scales into float32 (float64 data stay float64); RGB and 64-bit integers (which would
                // shrink) are left to it, as is an intercept that is not a number.
                guard dataType != .rgb24, header.sclInter.isFinite,
                      dataType.voxel.type.byteSize <= (dataType == .float64 ? 8 : 4) else { return nil }
                scale = (Double(header.sclSlope), Double(header.sclInter))
            }
            let count = Int(header.dimensions[0])
            guard (3...4).contains(count) else { return nil }  // 2D and 5D+ files: ITK's reading
            let size = (1...count).map { Int(header.dimensions[$0]) }
            guard size.allSatisfy({ $0 >= 1 }) else {
                throw MedVolError.corrupt(path, "impossible image size \(size)")
            }
            // A 4D file with one time point, a time unit ITK would scale, or a fourth axis that does not
            // start at 0: ITK's reading (and its warnings).
            if count == 4 && (size[3] == 1 || !(header.timeUnits == 0 || header.timeUnits == 8) || header.timeOffset != 0) {
                return nil
            }
            guard let (direction, origin) = NIfTIFile.geometry(of: header) else { return nil }
            let steps = SIMD3(Double(header.pixdim[1]), Double(header.pixdim[2]), Double(header.pixdim[3]))
            guard steps.x > 0, steps.y > 0, steps.z > 0, steps.x.isFinite, steps.y.isFinite, steps.z.isFinite else {
                return nil  // ITK's own reading of odd spacings
            }
            let timeSpacing = size.count == 4 ? Double(header.pixdim[4]) : nil
            (storedType, components) = dataType.voxel
            pixelType = scale == nil ? storedType : (storedType == .float64 ? .float64 : .float32)
            geometry = ImageGeometry(size: size, spacing: steps, origin: origin, direction: direction, timeSpacing: timeSpacing)
            guard let bytes = VoxelMath.checkedByteCount(elementBytes: pixelType.byteSize * components, extents: size),
                  header.voxelOffset.isFinite, header.voxelOffset >= (pair ? 0 : 348), header.voxelOffset < 1e12 else {
                throw MedVolError.corrupt(path, "impossible image size \(size) or voxel offset \(header.voxelOffset)")
            }
            byteCount = bytes
            storedByteCount = bytes / pixelType.byteSize * storedType.byteSize
            voxelOffset = Int(header.voxelOffset)
        }
    }

    /// Applies `scl_slope`/`scl_inter` in place, as ITK's NiftiImageIO does: each stored value made a
    /// float (`output` float32) or kept a double (float64), then `Double(value) × slope + intercept`,
    /// stored as `output`. The stored values fill the start of the buffer; wider results are written from
    /// the last voxel back, so that no value is overwritten before it is read.
    static func rescale(_ base: UnsafeMutableRawPointer, count: Int, from stored: PixelType, to output: PixelType,
                        slope: Double, intercept: Double) {
        func backwards<S>(_: S.Type, _ float: (S) -> Float) {
            for index in stride(from: count - 1, through: 0, by: -1) {
                let value = Double(float(base.load(fromByteOffset: index * MemoryLayout<S>.size, as: S.self))) * slope + intercept
                base.storeBytes(of: Float(value), toByteOffset: index * 4, as: Float.self)
            }
        }
        switch (stored, output) {
        case (.float64, _):
            let values = base.assumingMemoryBound(to: Double.self)
            for index in 0..<count { values[index] = values[index] * slope + intercept }
        case (.uint8, _): backwards(UInt8.self) { Float($0) }
        case (.int8, _): backwards(Int8.self) { Float($0) }
        case (.uint16, _): backwards(UInt16.self) { Float($0) }
        case (.int16, _): backwards(Int16.self) { Float($0) }
        case (.uint32, _): backwards(UInt32.self) { Float($0) }
        case (.int32, _): backwards(Int32.self) { Float($0) }
        case (.float32, _): backwards(Float.self) { $0 }
        case (.uint64, _), (.int64, _): preconditionFailure("64-bit integers are scaled by ITK")
        }
    }

    /// The LPS direction and origin of a header, chosen as medvol's ITK path chooses them: the sform
    /// when it is coded and orthonormal and either coded "scanner" or the qform is unset (ITK 5.2's
    /// rule), or when it agrees with the qform (``NIfTIHeader/preferredSform``); else the qform. nil
    /// when neither form is set (ITK then derives an Analyze orientation).
    static func geometry(of header: NIfTIHeader) -> (DirectionMatrix, SIMD3<Double>)? {
        if header.sformCode > 0, let sform = orthonormalForm(header.sform),
           header.sformCode == 1 || header.qformCode <= 0 {
            return sform
        }
        if let preferred = header.preferredSform { return (preferred.direction, preferred.origin) }
        if header.qformCode > 0 { return orthonormalForm(header.qformMatrix) }
        return nil
    }

    /// A 3×4 index-to-RAS matrix as an LPS direction (unit columns) and origin, when its columns are
    /// orthonormal to 1e-4 (as ITK checks).
    private static func orthonormalForm(_ matrix: [[Float]]) -> (DirectionMatrix, SIMD3<Double>)? {
        guard matrix.allSatisfy({ $0.allSatisfy(\.isFinite) }) else { return nil }
        let flip = SIMD3<Double>(-1, -1, 1)
        var axes: [SIMD3<Double>] = []
        for axis in 0..<3 {
            let column = SIMD3(Double(matrix[0][axis]), Double(matrix[1][axis]), Double(matrix[2][axis]))
            let length = (column * column).sum().squareRoot()
            guard length > 0 else { return nil }
            axes.append(column / length)
        }
        for i in 0..<3 {
            for j in 0..<3 where abs((axes[i] * axes[j]).sum() - (i == j ? 1 : 0)) > 1e-4 { return nil }
        }
        let origin = SIMD3(Double(matrix[0][3]), Double(matrix[1][3]), Double(matrix[2][3])) * flip
        return (DirectionMatrix(columns: axes[0] * flip, axes[1] * flip, axes[2] * flip), origin)
    }
}
