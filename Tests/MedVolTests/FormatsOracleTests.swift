import Foundation
@testable import MedVol
import Testing

extension SplitMix64 {
    /// A uniform double in `range` (the library's seeded generator, used for reproducible geometries).
    mutating func uniform(_ range: ClosedRange<Double>) -> Double {
        range.lowerBound + (range.upperBound - range.lowerBound) * Double(next() >> 11) / Double(1 << 53)
    }
}

/// Oblique geometries, half of them left-handed, a third of them rotated in RAS (NIfTI's space) by nearly
/// 180°, where a NIfTI quaternion is least precise.
func randomGeometries(count: Int, seed: UInt64) -> [ImageGeometry] {
    var random = SplitMix64(seed: seed)
    return (0..<count).map { index in
        let axis = SIMD3(random.uniform(-1...1), random.uniform(-1...1), random.uniform(-1...1)) + SIMD3(0, 0, 1e-3)
        var direction: DirectionMatrix
        if index % 3 == 0 {
            let ras = FormatFixtures.rotation(axis: axis, angle: Double.pi - 2 * pow(10, random.uniform(-5 ... -2)))
            direction = DirectionMatrix(rowMajor: ras.rowMajor.enumerated().map { $0.offset < 6 ? -$0.element : $0.element })
        } else {
            direction = FormatFixtures.rotation(axis: axis, angle: random.uniform(0...Double.pi))
        }
        if index % 2 == 1 { for row in 0..<3 { direction[row, 2] = -direction[row, 2] } }
        return ImageGeometry(size: [3, 2, 2], spacing: SIMD3(random.uniform(0.3...5), random.uniform(0.3...5), random.uniform(0.3...5)),
                             origin: SIMD3(random.uniform(-300...300), random.uniform(-300...300), random.uniform(-300...300)),
                             direction: direction)
    }
}

func doubles(_ value: JSONValue?) -> [Double] { value?.arrayValue?.compactMap(\.doubleValue) ?? [] }

func maximumDifference(_ a: [Double], _ b: [Double]) -> Double {
    guard a.count == b.count else { return .infinity }
    return zip(a, b).map { abs($0 - $1) }.max() ?? 0
}

func crc32(of volume: Volume) -> Int { Int(volume.withUnsafeBytes { Zlib.crc32($0) }) }

/// What SimpleITK / nibabel / NumPy said about a file, compared with the volume medvol wrote.
func expectOracleAgrees(_ info: JSONValue, with volume: Volume, format: VolumeFileFormat, path: String,
                        sourceLocation: SourceLocation = #_sourceLocation) {
    let tolerance = format == .nifti || format == .niftiCompressed ? (1e-4, 1e-6) : (1e-9, 1e-9)
    let comment = Comment(rawValue: path)
    #expect(info["size"]?.arrayValue?.compactMap(\.intValue) == volume.size, comment, sourceLocation: sourceLocation)
    #expect(maximumDifference(doubles(info["spacing"]), [volume.spacing.x, volume.spacing.y, volume.spacing.z]) <= tolerance.0, comment, sourceLocation: sourceLocation)
    #expect(maximumDifference(doubles(info["origin"]), [volume.origin.x, volume.origin.y, volume.origin.z]) <= tolerance.0, comment, sourceLocation: sourceLocation)
    #expect(maximumDifference(doubles(info["direction"]), volume.direction.rowMajor) <= tolerance.1, comment, sourceLocation: sourceLocation)
    #expect(info["components"]?.intValue == volume.components, comment, sourceLocation: sourceLocation)
    #expect(info["dtype"]?.stringValue == volume.pixelType.rawValue, comment, sourceLocation: sourceLocation)
    #expect(info["digest"]?["crc32"]?.intValue == crc32(of: volume), comment, sourceLocation: sourceLocation)
    #expect(info["digest"]?["bytes"]?.intValue == volume.byteCount, comment, sourceLocation: sourceLocation)
    if let timeSpacing = volume.timeSpacing {
        #expect(info["timeSpacing"]?.doubleValue == timeSpacing, comment, sourceLocation: sourceLocation)
        #expect(info["fourthAxisIdentity"] == true, comment, sourceLocation: sourceLocation)
    }
}

@Suite("Both ways with SimpleITK, nibabel and NumPy", .enabled(if: PythonOracle.isAvailable, "set MEDVOL_PYTHON to a Python with SimpleITK, nibabel and numpy"))
struct FormatsOracleTests {
    static let volumes: [(String, Volume)] = [
        ("int16", FormatFixtures.volume(.int16)), ("uint16", FormatFixtures.volume(.uint16)), ("int8", FormatFixtures.volume(.int8)),
        ("int32", FormatFixtures.volume(.int32)), ("float64", FormatFixtures.volume(.float64)),
        ("float32_4d", FormatFixtures.volume(.float32, geometry: FormatFixtures.obliqueGeometry4D)),
        ("rgb", FormatFixtures.volume(.uint8, components: 3)),
    ]

    @Test("SimpleITK reads medvol's MetaImage, NRRD and NIfTI with the same voxels and geometry")
    func simpleITKReadsMedvol() throws {
        let folder = TemporaryFolder()
        var written: [(path: String, volume: Volume, format: VolumeFileFormat)] = []
        for (name, volume) in Self.volumes {
            for format in [VolumeFileFormat.metaImage, .metaImageSingleFile, .nrrd, .nrrdDetached, .nifti, .niftiCompressed] {
                for compress in [false, true] where !(compress && (format == .nifti || format == .niftiCompressed)) {
                    let path = folder.file("\(name)_\(format.rawValue)\(compress ? "_z" : "").\(format.fileExtension)")
                    try volume.write(to: path, options: .init(compress: compress))
                    written.append((path, volume, format))
                }
            }
        }
        let answers = try #require(PythonOracle.run(["op": "sitk", "paths": .array(written.map { .string($0.path) })]).arrayValue)
        #expect(answers.count == written.count)
        for (answer, file) in zip(answers, written) {
            expectOracleAgrees(answer, with: file.volume, format: file.format, path: file.path)
        }
    }

    @Test("nibabel reads medvol's NIfTI: RAS affine = diag(-1, -1, 1) · LPS affine, same array")
    func nibabelReadsMedvol() throws {
        let folder = TemporaryFolder()
        var written: [(String, Volume)] = []
        for (name, volume) in Self.volumes {
            for format in [VolumeFileFormat.nifti, .niftiCompressed] {
                let path = folder.file("\(name).\(format.fileExtension)")
                try volume.write(to: path)
                written.append((path, volume))
            }
        }
        let answers = try #require(PythonOracle.run(["op": "nib", "paths": .array(written.map { .string($0.0) })]).arrayValue)
        for (answer, (path, volume)) in zip(answers, written) {
            let comment = Comment(rawValue: path)
            let affine = answer["affine"]?.arrayValue?.map(doubles) ?? []
            try #require(affine.count == 4, comment)
            let flip: [Double] = [-1, -1, 1]
            for row in 0..<3 {
                for column in 0..<3 {
                    let expected = flip[row] * volume.direction[row, column] * volume.spacing[column]
                    #expect(abs(affine[row][column] - expected) <= 1e-4, comment)
                }
                #expect(abs(affine[row][3] - flip[row] * volume.origin[row]) <= 1e-4, comment)
            }
            #expect(affine[3] == [0, 0, 0, 1], comment)
            // nibabel's array is (x, y, z[, t][, c]).
            let shape = volume.size + (volume.components > 1 ? [volume.components] : [])
            #expect(answer["shape"]?.arrayValue?.compactMap(\.intValue) == shape, comment)
            #expect(answer["digest"]?["crc32"]?.intValue == crc32(of: volume), comment)
            #expect(answer["units"] == ["mm", "sec"], comment)
            #expect(answer["qform_code"] == 1 && answer["sform_code"] == 1, comment)
            if let timeSpacing = volume.timeSpacing {
                #expect(doubles(answer["zooms"]).last == timeSpacing, comment)
            }
        }
    }

    @Test("np.load of medvol's .npy equals GetArrayFromImage of the same volume as .mhd; .npz arrays are exact")
    func numpyReadsMedvol() throws {
        let folder = TemporaryFolder()
        var npy: [String] = [], mhd: [String] = [], npz: [String] = []
        for (name, volume) in Self.volumes {
            try volume.write(to: folder.file(name + ".npy"))
            try volume.write(to: folder.file(name + ".mhd"))
            try volume.write(to: folder.file(name + ".npz"))
            try volume.write(to: folder.file(name + "_z.npz"), options: .init(compress: true))
            _ = try NumPyArchive.write(volume, to: folder.file(name + "_64.npz"), options: .init(), forceZip64: true)
            npy.append(folder.file(name + ".npy"))
            mhd.append(folder.file(name + ".mhd"))
            npz += [folder.file(name + ".npz"), folder.file(name + "_z.npz"), folder.file(name + "_64.npz")]
        }
        let loaded = try #require(PythonOracle.run(["op": "npy", "paths": .array(npy.map(JSONValue.string))]).arrayValue)
        let fromITK = try #require(PythonOracle.run(["op": "sitk", "paths": .array(mhd.map(JSONValue.string))]).arrayValue)
        let archives = try #require(PythonOracle.run(["op": "npy", "paths": .array(npz.map(JSONValue.string))]).arrayValue)
        for (index, (name, volume)) in Self.volumes.enumerated() {
            let comment = Comment(rawValue: name)
            #expect(loaded[index]["shape"] == fromITK[index]["shape"], comment)
            #expect(loaded[index]["digest"]?["crc32"] == fromITK[index]["digest"]?["crc32"], comment)
            #expect(loaded[index]["digest"]?["crc32"]?.intValue == crc32(of: volume), comment)
            #expect(loaded[index]["digest"]?["dtype"]?.stringValue == volume.pixelType.numpyDescriptor, comment)
            for archive in archives[3 * index..<3 * index + 3] {
                #expect(archive["image"]?["shape"] == fromITK[index]["shape"], comment)
                #expect(archive["image"]?["digest"]?["crc32"]?.intValue == crc32(of: volume), comment)
                #expect(doubles(archive["spacing"]?["values"]) == [volume.spacing.x, volume.spacing.y, volume.spacing.z], comment)
                #expect(doubles(archive["origin"]?["values"]) == [volume.origin.x, volume.origin.y, volume.origin.z], comment)
                #expect(archive["direction"]?["shape"] == [3, 3], comment)
                #expect(doubles(archive["direction"]?["values"]) == volume.direction.rowMajor, comment)
                #expect(archive["timeSpacing"]?["values"].map(doubles) == volume.timeSpacing.map { [$0] }, comment)
            }
        }
    }

    @Test("medvol reads what SimpleITK, nibabel and NumPy write, with the same voxels and geometry")
    func medvolReadsOracleFiles() throws {
        let folder = TemporaryFolder()
        let fixtures = try #require(PythonOracle.run(["op": "make", "folder": .string(folder.path)]).arrayValue)
        #expect(fixtures.count >= 40)
        for fixture in fixtures {
            let path = try #require(fixture["path"]?.stringValue)
            let expected = try #require(fixture["expected"])
            let comment = Comment(rawValue: path)
            let volume: Volume
            do {
                volume = try Volume(contentsOf: path)
            } catch {
                Issue.record("\(error)")
                continue
            }
            #expect(volume.size == expected["size"]?.arrayValue?.compactMap(\.intValue), comment)
            #expect(volume.components == expected["components"]?.intValue, comment)
            #expect(volume.pixelType.rawValue == expected["pixelType"]?.stringValue, comment)
            #expect(maximumDifference([volume.spacing.x, volume.spacing.y, volume.spacing.z], doubles(expected["spacing"])) <= 1e-4, comment)
            #expect(maximumDifference([volume.origin.x, volume.origin.y, volume.origin.z], doubles(expected["origin"])) <= 1e-4, comment)
            #expect(maximumDifference(volume.direction.rowMajor, doubles(expected["direction"])) <= 1e-6, comment)
            #expect(volume.timeSpacing == expected["timeSpacing"]?.doubleValue, comment)
            #expect(crc32(of: volume) == expected["digest"]?["crc32"]?.intValue, comment)
            if let values = expected["values"].map(doubles) {
                let read = (0..<volume.size.reduce(1, *)).map { volume.value($0 % volume.size[0], ($0 / volume.size[0]) % volume.size[1], $0 / (volume.size[0] * volume.size[1])) }
                #expect(maximumDifference(read, values) == 0, comment)  // nibabel's scaled values, exactly
                #expect(volume.metadata.valueTransform == "value = stored × scl_slope 0.25 + scl_inter -1024.0 (applied as ITK applies it, as float32)", comment)
            }
            if let modality = expected["modality"]?.stringValue {
                #expect(volume.metadata.modality == modality, comment)
                #expect(volume.metadata.windows == [DisplayWindow(center: 40, width: 400)], comment)
                #expect(volume.metadata.warnings == [.recorded("from python")], comment)
            }
        }
    }

    @Test("NIfTI geometry precision, measured over random oblique geometries: medvol, SimpleITK and nibabel")
    func niftiPrecisionAcrossReaders() throws {
        let folder = TemporaryFolder()
        let geometries = randomGeometries(count: 150, seed: 7)
        var paths: [String] = []
        for (index, geometry) in geometries.enumerated() {
            let path = folder.file("p\(index).nii")
            try FormatFixtures.volume(.int16, geometry: geometry).write(to: path)
            paths.append(path)
        }
        let answers = try #require(PythonOracle.run(["op": "sitk", "paths": .array(paths.map(JSONValue.string))]).arrayValue)
        let nibabel = try #require(PythonOracle.run(["op": "nib", "paths": .array(paths.map(JSONValue.string))]).arrayValue)
        var direction = 0.0, position = 0.0, nibabelAffine = 0.0
        for (index, geometry) in geometries.enumerated() {
            direction = max(direction, maximumDifference(doubles(answers[index]["direction"]), geometry.direction.rowMajor))
            position = max(position, maximumDifference(doubles(answers[index]["origin"]) + doubles(answers[index]["spacing"]),
                                                       [geometry.origin.x, geometry.origin.y, geometry.origin.z, geometry.spacing.x, geometry.spacing.y, geometry.spacing.z]))
            let affine = nibabel[index]["affine"]?.arrayValue?.map(doubles) ?? []
            let flip: [Double] = [-1, -1, 1]
            for row in 0..<3 {
                for column in 0..<3 {
                    nibabelAffine = max(nibabelAffine, abs(affine[row][column] - flip[row] * geometry.direction[row, column] * geometry.spacing[column]))
                }
                nibabelAffine = max(nibabelAffine, abs(affine[row][3] - flip[row] * geometry.origin[row]))
            }
        }
        print("NIfTI precision, SimpleITK 2.5 reading medvol's files: direction \(direction), origin/spacing \(position) mm; nibabel affine \(nibabelAffine)")
        #expect(direction <= 1e-6)
        #expect(position <= 1e-4)
        #expect(nibabelAffine <= 1e-4)
    }
}

@Suite("NIfTI geometry precision")
struct FormatsNIfTIPrecisionTests {
    @Test("medvol reads back its own NIfTI within 1e-4 mm and 1e-6 in direction (measured)")
    func ownRoundTrip() throws {
        let folder = TemporaryFolder()
        var direction = 0.0, position = 0.0
        for (index, geometry) in randomGeometries(count: 300, seed: 11).enumerated() {
            let volume = FormatFixtures.volume(.int16, geometry: geometry)
            let path = folder.file("r\(index % 2 == 0 ? ".nii" : ".nii.gz")")
            try volume.write(to: path, options: .init(overwrite: true))
            let read = try Volume(contentsOf: path)
            direction = max(direction, read.direction.maximumDifference(to: geometry.direction))
            let difference = [read.origin - geometry.origin, read.spacing - geometry.spacing].flatMap { [abs($0.x), abs($0.y), abs($0.z)] }
            position = max(position, difference.max()!)
        }
        print("NIfTI precision, medvol reading its own files: direction \(direction), origin/spacing \(position) mm")
        #expect(direction <= 1e-6)
        #expect(position <= 1e-4)
    }

    /// ITK 5.2 reads the direction from the qform unless the sform is coded "scanner" (1) (ITK 5.4: or
    /// the two agree to 1e-4). With the sform coded "aligned" (2), as nibabel and FSL write it, the
    /// 32-bit quaternion loses up to ~6e-4 for rotations near 180° in RAS; medvol takes the sform.
    @Test("an sform coded 'aligned' beats its lossy qform")
    func sformPreferred() throws {
        let folder = TemporaryFolder()
        var worstQform = 0.0, worstRead = 0.0
        for (index, geometry) in randomGeometries(count: 120, seed: 5).enumerated() where index % 3 == 0 {
            let path = folder.file("a\(index).nii")
            try FormatFixtures.volume(.int16, geometry: geometry).write(to: path)
            // Re-code the sform as NIFTI_XFORM_ALIGNED_ANAT (bytes 254–255).
            let file = try WritableFile(updating: path)
            try [UInt8(2), 0].withUnsafeBytes { try file.write($0, at: 254) }
            try file.close()
            let header = try #require(try NIfTIHeader.read(path: path, compressed: false))
            #expect(header.sformCode == 2 && header.qformCode == 1)
            let q = header.qformMatrix
            var columns: [SIMD3<Double>] = []
            for axis in 0..<3 {
                let v = SIMD3(-Double(q[0][axis]), -Double(q[1][axis]), Double(q[2][axis]))
                columns.append(v / (v * v).sum().squareRoot())
            }
            worstQform = max(worstQform, DirectionMatrix(columns: columns[0], columns[1], columns[2]).maximumDifference(to: geometry.direction))
            let read = try Volume(contentsOf: path)
            worstRead = max(worstRead, read.direction.maximumDifference(to: geometry.direction))
            #expect(read.geometry.isCongruent(with: geometry), "\(index)")
        }
        print("near-180° rotations, sform coded aligned: the qform alone is off by \(worstQform); medvol reads within \(worstRead)")
        #expect(worstQform > 1e-5)  // the qform really is lossy here, so the preference matters
        #expect(worstRead <= 1e-6)
    }
}
