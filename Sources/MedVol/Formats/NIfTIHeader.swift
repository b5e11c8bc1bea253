/// The geometry and scaling fields of a NIfTI-1 header, read directly (ITK does the real reading; medvol
/// looks at these to correct one ITK 5.2 choice and to report the value scaling).
///
/// NIfTI stores geometry twice, both in 32-bit floats: the qform (a quaternion, offsets and pixdim) and
/// the sform (three rows of a 3×4 affine). Both map to RAS.
struct NIfTIHeader {
    var dimensions: [Int16]
    /// `datatype` (nifti1.h codes: 2 uint8, 4 int16, 16 float32, 128 RGB24, …).
    var dataType: Int16
    var bitsPerVoxel: Int16
    var pixdim: [Float]
    var voxelOffset: Float
    var sclSlope: Float
    var sclInter: Float
    /// Spatial unit code (xyzt_units & 7): 0 unknown, 1 metre, 2 millimetre, 3 micron.
    var spatialUnits: UInt8
    var qformCode: Int16
    var sformCode: Int16
    var quaternion: (b: Float, c: Float, d: Float)
    var qoffset: (x: Float, y: Float, z: Float)
    /// srow_x, srow_y, srow_z.
    var sform: [[Float]]
    /// Time unit code (xyzt_units & 0x38): 0 unknown, 8 second, 16 millisecond, 24 microsecond.
    var timeUnits: UInt8
    /// `toffset`: where the fourth axis starts.
    var timeOffset: Float
    /// The header is stored big endian (its numbers and the voxels).
    var isBigEndian: Bool
    /// `magic` is "n+1": header and voxels in one file (not "ni1", a .hdr/.img pair, nor Analyze).
    var isSingleFile: Bool
    /// `magic` is "ni1": the header of a `.hdr`/`.img` pair.
    var isPair: Bool

    static let byteCount = 348

    /// Reads the first 348 bytes of a `.nii` or (`compressed`) `.nii.gz` file; nil when they are not a
    /// NIfTI-1 header.
    static func read(path: String, compressed: Bool) throws -> NIfTIHeader? {
        try read(file: ReadableFile(path: path), compressed: compressed)
    }

    /// Reads the header of an open `.nii` or (`compressed`) `.nii.gz` file; nil when it is not NIfTI-1.
    static func read(file: ReadableFile, compressed: Bool) throws -> NIfTIHeader? {
        let stream: any ByteStream = compressed
            ? try InflatingStream(file: file, offset: 0, length: file.size, wrapper: .gzip)
            : FileRangeStream(file: file)
        guard let bytes = try? stream.read(count: byteCount) else { return nil }
        return NIfTIHeader(bytes: bytes)
    }

    init?(bytes: [UInt8]) {
        guard bytes.count >= Self.byteCount else { return nil }
        let littleEndian: Bool
        switch (bytes[0], bytes[1], bytes[2], bytes[3]) {
        case (0x5C, 0x01, 0x00, 0x00): littleEndian = true
        case (0x00, 0x00, 0x01, 0x5C): littleEndian = false
        default: return nil
        }
        func u16(_ offset: Int) -> UInt16 {
            let raw = UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
            return littleEndian ? raw : raw.byteSwapped
        }
        func i16(_ offset: Int) -> Int16 { Int16(bitPattern: u16(offset)) }
        func f32(_ offset: Int) -> Float {
            var raw: UInt32 = 0
            for index in 0..<4 { raw |= UInt32(bytes[offset + index]) << (8 * index) }
            return Float(bitPattern: littleEndian ? raw : raw.byteSwapped)
        }
        isBigEndian = !littleEndian
        dimensions = (0..<8).map { i16(40 + 2 * $0) }
        dataType = i16(70)
        bitsPerVoxel = i16(72)
        pixdim = (0..<8).map { f32(76 + 4 * $0) }
        voxelOffset = f32(108)
        sclSlope = f32(112)
        sclInter = f32(116)
        spatialUnits = bytes[123] & 7
        timeUnits = bytes[123] & 0x38
        timeOffset = f32(136)
        isSingleFile = Array(bytes[344..<348]) == Array("n+1".utf8) + [0]
        isPair = Array(bytes[344..<348]) == Array("ni1".utf8) + [0]
        qformCode = i16(252)
        sformCode = i16(254)
        quaternion = (f32(256), f32(260), f32(264))
        qoffset = (f32(268), f32(272), f32(276))
        sform = (0..<3).map { row in (0..<4).map { f32(280 + 16 * row + 4 * $0) } }
    }

    /// Bytes of the whole file up to the end of the voxels (`vox_offset` plus the voxels, as stored), or
    /// nil when the header's numbers make no sense.
    var storedByteCount: Int? {
        let count = Int(dimensions[0])
        guard (1...7).contains(count), bitsPerVoxel > 0, bitsPerVoxel % 8 == 0,
              voxelOffset.isFinite, voxelOffset >= 0, voxelOffset < 1e15 else { return nil }
        let extents = (1...count).map { Int(dimensions[$0]) }
        guard extents.allSatisfy({ $0 >= 1 }),
              let bytes = VoxelMath.checkedByteCount(elementBytes: Int(bitsPerVoxel) / 8, extents: extents) else { return nil }
        let (total, overflow) = bytes.addingReportingOverflow(Int(voxelOffset))
        return overflow ? nil : total
    }

    /// The name of the first geometry field ITK would use that is not a finite, plausible number, or nil
    /// when all are. ITK 5.2 aborts the process on an infinite sform (vnl_matrix) and loops forever on a
    /// NaN one (its SVD), so such headers must be refused before ITK sees them.
    var unusableGeometryField: String? {
        func bad(_ value: Float) -> Bool { !value.isFinite || abs(value) > 1e15 }
        let count = (1...7).contains(Int(dimensions[0])) ? Int(dimensions[0]) : 7
        if let axis = (0...count).first(where: { bad(pixdim[$0]) }) { return "pixdim[\(axis)]" }
        if qformCode != 0 {
            let fields = [("quatern_b", quaternion.b), ("quatern_c", quaternion.c), ("quatern_d", quaternion.d),
                          ("qoffset_x", qoffset.x), ("qoffset_y", qoffset.y), ("qoffset_z", qoffset.z)]
            if let field = fields.first(where: { bad($0.1) }) { return field.0 }
        }
        if sformCode != 0 {
            for (row, name) in ["srow_x", "srow_y", "srow_z"].enumerated() where sform[row].contains(where: bad) {
                return name
            }
        }
        return nil
    }

    /// How scaled values were made, for `metadata.valueTransform` (the same words whichever reader applied
    /// the scale).
    func valueTransform(as type: PixelType) -> String {
        "value = stored × scl_slope \(Double(sclSlope)) + scl_inter \(Double(sclInter)) (applied as ITK applies it, as \(type))"
    }

    /// Whether voxel values are scaled on reading (ITK's rule: a non-zero slope, and not slope 1 with
    /// intercept 0).
    var isScaled: Bool {
        sclSlope.isFinite && sclSlope != 0 && (sclSlope != 1 || sclInter != 0)
    }

    /// The qform as a 3×4 matrix of floats, computed as nifti1_io's `nifti_quatern_to_mat44` does.
    var qformMatrix: [[Float]] {
        var b = Double(quaternion.b), c = Double(quaternion.c), d = Double(quaternion.d)
        var a = 1 - (b * b + c * c + d * d)
        if a < 1e-7 {
            a = 1 / (b * b + c * c + d * d).squareRoot()
            b *= a; c *= a; d *= a
            a = 0
        } else {
            a = a.squareRoot()
        }
        let xd = pixdim[1] > 0 ? Double(pixdim[1]) : 1
        let yd = pixdim[2] > 0 ? Double(pixdim[2]) : 1
        var zd = pixdim[3] > 0 ? Double(pixdim[3]) : 1
        if pixdim[0] < 0 { zd = -zd }
        let rows: [[Double]] = [
            [(a * a + b * b - c * c - d * d) * xd, 2 * (b * c - a * d) * yd, 2 * (b * d + a * c) * zd, Double(qoffset.x)],
            [2 * (b * c + a * d) * xd, (a * a + c * c - b * b - d * d) * yd, 2 * (c * d - a * b) * zd, Double(qoffset.y)],
            [2 * (b * d - a * c) * xd, 2 * (c * d + a * b) * yd, (a * a + d * d - c * c - b * b) * zd, Double(qoffset.z)],
        ]
        return rows.map { $0.map(Float.init) }
    }

    /// The sform as LPS direction and origin, when it describes the same space as the qform, only more
    /// precisely — then medvol prefers it to whatever ITK chose.
    ///
    /// ITK 5.2's NiftiImageIO takes the direction from the qform unless the sform is coded
    /// NIFTI_XFORM_SCANNER_ANAT (or the qform is unset); ITK 5.4 (SimpleITK 2.5) also takes the sform
    /// when the two agree to 1e-4. But the qform's quaternion is stored as three 32-bit floats and its
    /// first component is recomputed as sqrt(1 − b² − c² − d²) — and set to 0 below 3.2e-4 — so for
    /// rotations near 180° in RAS the qform is off by up to about 6e-4 (measured: 3.9e-4 on files
    /// nibabel writes with the sform coded "aligned", as it and FSL do by default), and both ITK
    /// versions then read the lossy qform. The sform keeps float precision (about 1e-7). This returns
    /// the sform when both forms are set, the sform is orthonormal (to 1e-4, as ITK checks), and the
    /// two differ by no more than quaternion rounding explains: unit axes within 1e-3, spacings within
    /// 1e-4 (relative), offsets within 1e-3 mm. Forms that describe different spaces differ by far more
    /// and are left to ITK. Files medvol (ITK) writes code both forms as "scanner", which ITK already
    /// reads from the sform.
    var preferredSform: (direction: DirectionMatrix, origin: SIMD3<Double>)? {
        // Other units make ITK scale the geometry; leave those files to ITK alone.
        guard qformCode > 0, sformCode > 0, spatialUnits == 0 || spatialUnits == 2 else { return nil }
        let s = sform, q = qformMatrix
        guard s.allSatisfy({ $0.allSatisfy(\.isFinite) }), q.allSatisfy({ $0.allSatisfy(\.isFinite) }) else { return nil }
        func column(_ m: [[Float]], _ axis: Int) -> SIMD3<Double> { SIMD3(Double(m[0][axis]), Double(m[1][axis]), Double(m[2][axis])) }
        var sformAxes: [SIMD3<Double>] = []
        for axis in 0..<3 {
            let sColumn = column(s, axis), qColumn = column(q, axis)
            let sLength = length(sColumn), qLength = length(qColumn)
            guard sLength > 0, qLength > 0, abs(sLength - qLength) <= 1e-4 * max(1, qLength) else { return nil }
            let sUnit = sColumn / sLength, qUnit = qColumn / qLength
            let difference = sUnit - qUnit
            guard max(abs(difference.x), abs(difference.y), abs(difference.z)) <= 1e-3 else { return nil }
            sformAxes.append(sUnit)
        }
        // Orthonormal to 1e-4, as ITK checks before trusting an sform.
        for i in 0..<3 {
            for j in 0..<3 where abs(dot(sformAxes[i], sformAxes[j]) - (i == j ? 1 : 0)) > 1e-4 { return nil }
        }
        for row in 0..<3 where abs(s[row][3] - q[row][3]) > 1e-3 { return nil }
        // RAS → LPS: negate the first two rows.
        let flip = SIMD3<Double>(-1, -1, 1)
        let direction = DirectionMatrix(columns: sformAxes[0] * flip, sformAxes[1] * flip, sformAxes[2] * flip)
        let origin = SIMD3(Double(s[0][3]), Double(s[1][3]), Double(s[2][3])) * flip
        return (direction, origin)
    }
}
