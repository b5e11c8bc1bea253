/// The qform and sform a NIfTI-1 header gets for an LPS geometry, computed exactly as ITK 5.2's
/// `NiftiImageIO` computes them (its `SetNIfTIOrientationFromImageIO`, with nifti1_io's
/// `nifti_make_orthog_mat44`, `nifti_mat33_polar` and `nifti_mat44_to_quatern`), so that a file medvol
/// writes is, header byte for header byte, the file ITK writes.
///
/// nifti1_io mixes 32-bit matrices with 64-bit intermediate arithmetic; the functions here follow it
/// operation by operation (`Float` where C stores into a `float`, `Double` where it computes in
/// `double`), because a different rounding order changes the last bit of a quaternion.
struct NIfTIOrientation: Equatable {
    /// quatern_b, quatern_c, quatern_d.
    var quaternion: (b: Float, c: Float, d: Float)
    /// qoffset_x, qoffset_y, qoffset_z (RAS).
    var offset: (x: Float, y: Float, z: Float)
    /// pixdim[0]: 1 for a right-handed grid, −1 for a left-handed one.
    var qfac: Float
    /// srow_x, srow_y, srow_z: the 3×4 index-to-RAS affine, spacing included.
    var sform: [[Float]]

    static func == (lhs: NIfTIOrientation, rhs: NIfTIOrientation) -> Bool {
        lhs.quaternion == rhs.quaternion && lhs.offset == rhs.offset && lhs.qfac == rhs.qfac && lhs.sform == rhs.sform
    }

    /// The orientation of a 3D (or 4D: the first three axes) LPS geometry.
    init(direction: DirectionMatrix, origin: SIMD3<Double>, spacing: SIMD3<Double>) {
        // ITK: each axis as a float, LPS → RAS by negating x and y (for three or more dimensions).
        func axis(_ index: Int) -> [Float] {
            let column = direction.column(index)
            return [Float(-column.x), Float(-column.y), Float(column.z)]
        }
        var matrix = Self.orthogonalMatrix(rows: [axis(0), axis(1), axis(2)])
        matrix = (0..<3).map { row in (0..<3).map { matrix[$0][row] } }  // transpose: axes become columns
        let translation: [Float] = [Float(-origin.x), Float(-origin.y), Float(origin.z)]
        (quaternion, qfac) = Self.quaternion(of: matrix)
        offset = (translation[0], translation[1], translation[2])
        let steps: [Float] = [Float(spacing.x), Float(spacing.y), Float(spacing.z)]
        sform = (0..<3).map { row in (0..<3).map { column in steps[column] * matrix[row][column] } + [translation[row]] }
    }

    // MARK: nifti1_io, operation by operation

    typealias Matrix = [[Float]]

    /// C's `long double` on x86-64 (80-bit), which nifti1_io's constants force into some expressions;
    /// elsewhere (no 80-bit type) a double, which agrees in all but the rarest last bit.
    #if arch(x86_64) && !os(Windows)
    typealias Extended = Float80
    #else
    typealias Extended = Double
    #endif

    /// `nifti_make_orthog_mat44`: each row normalised, then the closest orthogonal matrix.
    static func orthogonalMatrix(rows: Matrix) -> Matrix {
        var q = rows
        let fallback: [[Float]] = [[1, 0, 0], [0, 1, 0]]
        for row in 0..<3 {
            let squared: Float = q[row][0] * q[row][0] + q[row][1] * q[row][1] + q[row][2] * q[row][2]
            if squared > 0 {
                // `1.0l / sqrt(val)`: a long double division, kept as a double, applied as a float.
                let scale = Float(Double(Extended(1) / Extended(Double(squared).squareRoot())))
                for column in 0..<3 { q[row][column] *= scale }
            } else if row < 2 {
                q[row] = fallback[row]
            } else {
                q[2] = [q[0][1] * q[1][2] - q[0][2] * q[1][1],
                        q[0][2] * q[1][0] - q[0][0] * q[1][2],
                        q[0][0] * q[1][1] - q[0][1] * q[1][0]]
            }
        }
        return polar(q)
    }

    /// `nifti_mat44_to_quatern` for an index-to-RAS rotation part (the offsets are passed through).
    static func quaternion(of matrix: Matrix) -> (quaternion: (b: Float, c: Float, d: Float), qfac: Float) {
        var r = matrix.map { $0.map(Double.init) }
        let lengths = (0..<3).map { column -> Double in
            let x: Double = r[0][column], y: Double = r[1][column], z: Double = r[2][column]
            return (x * x + y * y + z * z).squareRoot()
        }
        var xd = lengths[0], yd = lengths[1], zd = lengths[2]
        if xd == 0 { r[0][0] = 1; r[1][0] = 0; r[2][0] = 0; xd = 1 }
        if yd == 0 { r[1][1] = 1; r[0][1] = 0; r[2][1] = 0; yd = 1 }
        if zd == 0 { r[2][2] = 1; r[0][2] = 0; r[1][2] = 0; zd = 1 }
        for row in 0..<3 {
            r[row][0] /= xd
            r[row][1] /= yd
            r[row][2] /= zd
        }
        let p = polar(r.map { $0.map(Float.init) }).map { $0.map(Double.init) }
        var (r11, r12, r13) = (p[0][0], p[0][1], p[0][2])
        var (r21, r22, r23) = (p[1][0], p[1][1], p[1][2])
        var (r31, r32, r33) = (p[2][0], p[2][1], p[2][2])
        let determinant = r11 * r22 * r33 - r11 * r32 * r23 - r21 * r12 * r33
            + r21 * r32 * r13 + r31 * r12 * r23 - r31 * r22 * r13
        let qfac: Float
        if determinant > 0 {
            qfac = 1
        } else {
            qfac = -1
            r13 = -r13; r23 = -r23; r33 = -r33
        }
        // nifti1_io writes these constants as long doubles (`1.0l`, `0.5l`, `0.25l`): the products and
        // quotients are computed in extended precision and stored as doubles.
        func extended(_ value: Extended) -> Double { Double(value) }
        var a = extended(Extended(r11 + r22 + r33) + 1), b: Double, c: Double, d: Double
        if a > 0.5 {
            a = extended(0.5 * Extended(a.squareRoot()))
            b = extended(0.25 * Extended(r32 - r23) / Extended(a))
            c = extended(0.25 * Extended(r13 - r31) / Extended(a))
            d = extended(0.25 * Extended(r21 - r12) / Extended(a))
        } else {
            let xx = 1.0 + r11 - (r22 + r33)
            let yy = 1.0 + r22 - (r11 + r33)
            let zz = 1.0 + r33 - (r11 + r22)
            if xx > 1 {
                b = extended(0.5 * Extended(xx.squareRoot()))
                c = extended(0.25 * Extended(r12 + r21) / Extended(b))
                d = extended(0.25 * Extended(r13 + r31) / Extended(b))
                a = extended(0.25 * Extended(r32 - r23) / Extended(b))
            } else if yy > 1 {
                c = extended(0.5 * Extended(yy.squareRoot()))
                b = extended(0.25 * Extended(r12 + r21) / Extended(c))
                d = extended(0.25 * Extended(r23 + r32) / Extended(c))
                a = extended(0.25 * Extended(r13 - r31) / Extended(c))
            } else {
                d = extended(0.5 * Extended(zz.squareRoot()))
                b = extended(0.25 * Extended(r13 + r31) / Extended(d))
                c = extended(0.25 * Extended(r23 + r32) / Extended(d))
                a = extended(0.25 * Extended(r21 - r12) / Extended(d))
            }
            if a < 0 { b = -b; c = -c; d = -d; a = -a }
        }
        return ((Float(b), Float(c), Float(d)), qfac)
    }

    /// `nifti_mat33_polar`: the orthogonal matrix closest to `a` (Higham's iteration).
    static func polar(_ a: Matrix) -> Matrix {
        var x = a
        var gam = determinant(x)
        while gam == 0 {
            gam = Float(0.00001 * (0.001 + Double(rowNorm(x))))
            for i in 0..<3 { x[i][i] += gam }
            gam = determinant(x)
        }
        var dif: Float = 1
        var iterations = 0
        var z = x
        while true {
            let y = inverse(x)
            var gmi: Float
            if dif > 0.3 {
                let alp = Float(Double(rowNorm(x) * columnNorm(x)).squareRoot())
                let bet = Float(Double(rowNorm(y) * columnNorm(y)).squareRoot())
                gam = Float(Double(bet / alp).squareRoot())
                gmi = Float(1.0 / Double(gam))
            } else {
                gam = 1
                gmi = 1
            }
            var sum = 0.0
            for i in 0..<3 {
                for j in 0..<3 {
                    let blend: Float = gam * x[i][j] + gmi * y[j][i]
                    z[i][j] = Float(0.5 * Double(blend))
                }
            }
            for i in 0..<3 { for j in 0..<3 { sum += Double(abs(z[i][j] - x[i][j])) } }
            dif = Float(sum)
            iterations += 1
            if iterations > 100 || Double(dif) < 3e-6 { break }
            x = z
        }
        return z
    }

    /// `nifti_mat33_determ` (computed in double, returned as float).
    static func determinant(_ m: Matrix) -> Float {
        let r = m.map { $0.map(Double.init) }
        let value = r[0][0] * r[1][1] * r[2][2] - r[0][0] * r[2][1] * r[1][2] - r[1][0] * r[0][1] * r[2][2]
            + r[1][0] * r[2][1] * r[0][2] + r[2][0] * r[0][1] * r[1][2] - r[2][0] * r[1][1] * r[0][2]
        return Float(value)
    }

    /// `nifti_mat33_inverse`.
    static func inverse(_ m: Matrix) -> Matrix {
        let r = m.map { $0.map(Double.init) }
        let (r11, r12, r13) = (r[0][0], r[0][1], r[0][2])
        let (r21, r22, r23) = (r[1][0], r[1][1], r[1][2])
        let (r31, r32, r33) = (r[2][0], r[2][1], r[2][2])
        var deti = r11 * r22 * r33 - r11 * r32 * r23 - r21 * r12 * r33
            + r21 * r32 * r13 + r31 * r12 * r23 - r31 * r22 * r13
        if deti != 0 { deti = 1 / deti }
        let rows: [[Double]] = [
            [deti * (r22 * r33 - r32 * r23), deti * (-r12 * r33 + r32 * r13), deti * (r12 * r23 - r22 * r13)],
            [deti * (-r21 * r33 + r31 * r23), deti * (r11 * r33 - r31 * r13), deti * (-r11 * r23 + r21 * r13)],
            [deti * (r21 * r32 - r31 * r22), deti * (-r11 * r32 + r31 * r12), deti * (r11 * r22 - r21 * r12)],
        ]
        return rows.map { $0.map(Float.init) }
    }

    /// `nifti_mat33_rownorm`: the largest row sum of absolute values.
    static func rowNorm(_ m: Matrix) -> Float {
        let sums = m.map { row in Float(Double(abs(row[0])) + Double(abs(row[1])) + Double(abs(row[2]))) }
        return max(sums[0], sums[1], sums[2])
    }

    /// `nifti_mat33_colnorm`: the largest column sum of absolute values.
    static func columnNorm(_ m: Matrix) -> Float {
        let sums = (0..<3).map { j in Float(Double(abs(m[0][j])) + Double(abs(m[1][j])) + Double(abs(m[2][j]))) }
        return max(sums[0], sums[1], sums[2])
    }
}
