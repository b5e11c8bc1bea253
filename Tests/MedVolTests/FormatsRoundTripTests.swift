import Foundation
@testable import MedVol
import Testing

/// Formats written through ITK and NumPy, and how closely each keeps geometry (NIfTI stores floats).
let writableFormats: [VolumeFileFormat] = [.metaImage, .metaImageSingleFile, .nifti, .niftiCompressed, .nrrd,
                                           .nrrdDetached, .numpy, .numpyArchive]

func tolerances(_ format: VolumeFileFormat) -> (coordinate: Double, direction: Double) {
    switch format {
    case .nifti, .niftiCompressed: (1e-4, 1e-6)  // the SPEC's contract; 32-bit header fields
    case .numpy, .numpyArchive: (0, 0)  // shortest round-trip decimal / float64: exact
    default: (1e-12, 1e-12)  // 17 significant digits
    }
}

@Suite("Write → read round trips")
struct FormatsRoundTripTests {
    @Test("every format, every voxel type: same bytes and geometry",
          arguments: writableFormats, PixelType.allCases)
    func scalarVolumes(format: VolumeFileFormat, type: PixelType) throws {
        let folder = TemporaryFolder()
        let volume = FormatFixtures.volume(type)
        let path = folder.file("v." + format.fileExtension)
        try volume.write(to: path)
        let read = try Volume(contentsOf: path)
        let tolerance = tolerances(format)
        expectSameVolume(read, volume, coordinateTolerance: tolerance.coordinate, directionTolerance: tolerance.direction)
        #expect(read.metadata.source == path)
    }

    @Test("4D volumes keep their fourth axis as time", arguments: writableFormats, [PixelType.int16, .float32])
    func fourDimensional(format: VolumeFileFormat, type: PixelType) throws {
        let folder = TemporaryFolder()
        let volume = FormatFixtures.volume(type, geometry: FormatFixtures.obliqueGeometry4D)
        let path = folder.file("t." + format.fileExtension)
        try volume.write(to: path)
        let read = try Volume(contentsOf: path)
        let tolerance = tolerances(format)
        expectSameVolume(read, volume, coordinateTolerance: tolerance.coordinate, directionTolerance: tolerance.direction)
        #expect(read.timeSpacing == 2.5)
        #expect(read.metadata.warnings.isEmpty)
    }

    @Test("RGB volumes, 3D and 4D", arguments: writableFormats, [FormatFixtures.obliqueGeometry3D, FormatFixtures.obliqueGeometry4D])
    func colour(format: VolumeFileFormat, geometry: ImageGeometry) throws {
        let folder = TemporaryFolder()
        let volume = FormatFixtures.volume(.uint8, geometry: geometry, components: 3)
        let path = folder.file("c." + format.fileExtension)
        try volume.write(to: path)
        let read = try Volume(contentsOf: path)
        let tolerance = tolerances(format)
        expectSameVolume(read, volume, coordinateTolerance: tolerance.coordinate, directionTolerance: tolerance.direction)
    }

    @Test("a single slice keeps its slice spacing and oblique direction", arguments: writableFormats)
    func singleSlice(format: VolumeFileFormat) throws {
        let folder = TemporaryFolder()
        let volume = FormatFixtures.volume(.int16, geometry: ImageGeometry(size: [4, 3, 1], spacing: SIMD3(0.5, 0.7, 3),
                                                                    origin: SIMD3(1, 2, 3), direction: FormatFixtures.rotation()))
        let path = folder.file("s." + format.fileExtension)
        try volume.write(to: path)
        let tolerance = tolerances(format)
        expectSameVolume(try Volume(contentsOf: path), volume, coordinateTolerance: tolerance.coordinate,
                         directionTolerance: tolerance.direction)
    }

    @Test("the paths written, data files first", arguments: [
        ("x.mhd", false, ["x.raw", "x.mhd"]), ("x.mhd", true, ["x.zraw", "x.mhd"]), ("x.mha", true, ["x.mha"]),
        ("x.nii", true, ["x.nii"]), ("x.nii.gz", false, ["x.nii.gz"]), ("x.nrrd", true, ["x.nrrd"]),
        ("x.nhdr", false, ["x.raw", "x.nhdr"]), ("x.nhdr", true, ["x.raw.gz", "x.nhdr"]),
        ("x.npy", false, ["x.npy", "x.json"]), ("x.npz", true, ["x.npz"]), ("X.MHD", false, ["X.raw", "X.MHD"]),
    ])
    func writtenPaths(name: String, compress: Bool, expected: [String]) throws {
        let folder = TemporaryFolder()
        let volume = FormatFixtures.volume(.int16)
        let written = try volume.write(to: folder.file(name), options: .init(compress: compress)).paths
        #expect(written == expected.map(folder.file))
        #expect(folder.contents() == expected.sorted())  // nothing else, no staging left behind
        expectSameVolume(try Volume(contentsOf: folder.file(name)), volume, coordinateTolerance: 1e-4)
    }

    @Test("compression really compresses", arguments: [("c.mhd", "c.zraw"), ("c.mha", "c.mha"), ("c.nrrd", "c.nrrd"),
                                                      ("c.nhdr", "c.raw.gz"), ("c.npz", "c.npz")])
    func compression(name: String, dataFile: String) throws {
        let folder = TemporaryFolder()
        let volume = Volume(pixelType: .float32, geometry: ImageGeometry(size: [64, 64, 16]))  // zeros: very compressible
        try volume.write(to: folder.file(name), options: .init(compress: true))
        let size = try FileManager.default.attributesOfItem(atPath: folder.file(dataFile))[.size] as! Int
        #expect(size < volume.byteCount / 20)
        expectSameVolume(try Volume(contentsOf: folder.file(name)), volume)
    }

    @Test("upper-case extensions are read and written (ITK knows lower case only)",
          arguments: ["U.MHA", "U.NII.GZ", "U.Nrrd", "U.NHDR", "U.MHD", "U.NII"])
    func upperCaseExtensions(name: String) throws {
        let folder = TemporaryFolder()
        let volume = FormatFixtures.volume(.int16)
        try volume.write(to: folder.file(name), options: .init(compress: true))
        expectSameVolume(try Volume(contentsOf: folder.file(name)), volume, coordinateTolerance: 1e-4)
    }

    @Test("an explicit format reads a file whatever its extension", arguments: [
        (VolumeFileFormat.metaImageSingleFile, "mha"), (.niftiCompressed, "nii.gz"), (.nrrd, "nrrd"), (.numpyArchive, "npz"),
    ])
    func explicitFormat(format: VolumeFileFormat, extensionName: String) throws {
        let folder = TemporaryFolder()
        let volume = FormatFixtures.volume(.int16)
        try volume.write(to: folder.file("v." + extensionName))
        try FileManager.default.moveItem(atPath: folder.file("v." + extensionName), toPath: folder.file("v.dat"))
        expectSameVolume(try Volume(contentsOf: folder.file("v.dat"), format: format), volume, coordinateTolerance: 1e-4)
        #expect(medVolError { _ = try Volume(contentsOf: folder.file("v.dat")) }?.code == .unrecognizedFormat)
    }

    // MARK: Headers as ITK and SimpleITK write them

    @Test("the .mhd header is exactly what SimpleITK writes for the same image")
    func metaImageHeader() throws {
        let folder = TemporaryFolder()
        try FormatFixtures.volume(.int16).write(to: folder.file("v3.mhd"))
        // SimpleITK 2.5: GetImageFromArray + SetSpacing/SetOrigin/SetDirection, then WriteImage("v3.mhd").
        #expect(try String(contentsOfFile: folder.file("v3.mhd"), encoding: .utf8) == """
            ObjectType = Image
            NDims = 3
            BinaryData = True
            BinaryDataByteOrderMSB = False
            CompressedData = False
            TransformMatrix = 0.78163917390702509 0.55011723070435836 -0.29395787843858057 -0.48292928421421222 0.83203013377463464 0.27295633888831433 0.39473979817379978 -0.071392499417875857 0.91601506688731726
            Offset = -123.456789 98.765432099999998 -250.125
            CenterOfRotation = 0 0 0
            AnatomicalOrientation = RAI
            ElementSpacing = 0.80000000000000004 0.65000000000000002 2.5
            DimSize = 7 5 4
            ElementType = MET_SHORT
            ElementDataFile = v3.raw

            """)
        try FormatFixtures.volume(.float32, geometry: FormatFixtures.obliqueGeometry4D).write(to: folder.file("v4.mhd"))
        #expect(try String(contentsOfFile: folder.file("v4.mhd"), encoding: .utf8) == """
            ObjectType = Image
            NDims = 4
            BinaryData = True
            BinaryDataByteOrderMSB = False
            CompressedData = False
            TransformMatrix = 0.6217854482725369 -0.42871490325904349 -0.65542840039176653 0 -0.78157166226883923 -0.28592947587337514 -0.55442769732860619 0 0.050285117627825116 0.85699933871057699 -0.51285820690985318 0 0 0 0 1
            Offset = 12.5 -40.25 77.125 0
            CenterOfRotation = 0 0 0 0
            ElementSpacing = 1.5 1.25 3.2999999999999998 2.5
            DimSize = 6 5 3 4
            AnatomicalOrientation = ????
            ElementType = MET_FLOAT
            ElementDataFile = v4.raw

            """)
    }

    @Test("NIfTI: qform and sform set, pixdim[4] is the time spacing, units mm and s")
    func niftiHeader() throws {
        let folder = TemporaryFolder()
        for name in ["h.nii", "h.nii.gz"] {
            try FormatFixtures.volume(.int16, geometry: FormatFixtures.obliqueGeometry4D).write(to: folder.file(name))
            let header = try #require(try NIfTIHeader.read(path: folder.file(name), compressed: name.hasSuffix(".gz")))
            #expect(header.dimensions.prefix(5) == [4, 6, 5, 3, 4])
            #expect(header.pixdim[1...4] == [1.5, 1.25, Float(3.3), 2.5])
            #expect(header.qformCode == 1 && header.sformCode == 1)
            let bytes = name.hasSuffix(".gz") ? try NIfTIHeaderBytes.inflated(folder.file(name))
                                               : try ReadableFile(path: folder.file(name)).read(count: 348, at: 0)
            #expect(bytes[123] == 10)  // NIFTI_UNITS_MM | NIFTI_UNITS_SEC
            // RAS on disk: the sform's first two rows are the LPS ones negated.
            let lps = FormatFixtures.obliqueGeometry4D
            for column in 0..<3 {
                #expect(abs(Double(header.sform[0][column]) + lps.direction[0, column] * lps.spacing[column]) < 1e-6)
                #expect(abs(Double(header.sform[2][column]) - lps.direction[2, column] * lps.spacing[column]) < 1e-6)
            }
            #expect(header.sform[0][3] == -12.5 && header.sform[1][3] == 40.25 && header.sform[2][3] == 77.125)
        }
    }

    // MARK: Overwriting and failures

    @Test("an existing output is refused and left untouched; --overwrite replaces it", arguments: writableFormats)
    func overwriteRefusal(format: VolumeFileFormat) throws {
        let folder = TemporaryFolder()
        let path = folder.file("o." + format.fileExtension)
        let first = FormatFixtures.volume(.int16)
        let written = try first.write(to: path).paths
        let before = try written.map { try ReadableFile(path: $0).readAll() }
        let second = FormatFixtures.volume(.float32)
        let error = medVolError { _ = try second.write(to: path) }
        #expect(error?.code == .outputExists)
        #expect(error.map { written.contains($0.path ?? "") } == true)
        #expect(try written.map { try ReadableFile(path: $0).readAll() } == before)
        #expect(folder.contents() == written.map(FileSystem.lastComponent).sorted())
        try second.write(to: path, options: .init(overwrite: true))
        let tolerance = tolerances(format)
        expectSameVolume(try Volume(contentsOf: path), second, coordinateTolerance: tolerance.coordinate,
                         directionTolerance: tolerance.direction)
    }

    @Test("a data file alone blocks a detached header's write")
    func companionExists() throws {
        let folder = TemporaryFolder()
        writeFile(folder.file("d.raw"), [1, 2, 3])
        let error = medVolError { try FormatFixtures.volume(.int16).write(to: folder.file("d.mhd")) }
        #expect(error?.code == .outputExists)
        #expect(error?.path == folder.file("d.raw"))
        #expect(try ReadableFile(path: folder.file("d.raw")).readAll() == [1, 2, 3])
        #expect(folder.contents() == ["d.raw"])
    }

    @Test("a write that fails leaves nothing behind")
    func failedWrite() throws {
        let folder = TemporaryFolder()
        // NIfTI-1 sizes are 16-bit: 40,000 columns are refused.
        let wide = Volume(pixelType: .uint8, geometry: ImageGeometry(size: [40_000, 1, 1]))
        for name in ["w.nii", "w.nii.gz"] {
            let error = medVolError { try wide.write(to: folder.file(name)) }
            #expect(error?.code == .unsupported)
            #expect(error?.description == "\(folder.file(name)): NIfTI-1 holds at most 32767 voxels along an axis, not [40000, 1, 1]")
        }
        #expect(folder.contents().isEmpty)
        // A parent that is a file.
        writeFile(folder.file("file"), [0])
        #expect(medVolError { try FormatFixtures.volume(.int16).write(to: folder.file("file/x.npy")) }?.code == .io)
        #expect(medVolError { try FormatFixtures.volume(.int16).write(to: folder.file("file/x.mhd")) }?.code == .io)
        #expect(folder.contents() == ["file"])
        // A folder where the file should go.
        try FileManager.default.createDirectory(atPath: folder.file("d.nrrd"), withIntermediateDirectories: false)
        #expect(medVolError { try FormatFixtures.volume(.int16).write(to: folder.file("d.nrrd"), options: .init(overwrite: true)) }?.code == .invalidArgument)
        try FileManager.default.createDirectory(atPath: folder.file("e.raw"), withIntermediateDirectories: false)
        let companion = medVolError { try FormatFixtures.volume(.int16).write(to: folder.file("e.mhd"), options: .init(overwrite: true)) }
        #expect(companion?.description == "\(folder.file("e.raw")): is a folder; give a file name")
        try FileManager.default.createDirectory(atPath: folder.file("f.json"), withIntermediateDirectories: false)
        #expect(medVolError { try FormatFixtures.volume(.int16).write(to: folder.file("f.npy"), options: .init(overwrite: true)) }?.path == folder.file("f.json"))
        #expect(folder.contents() == ["d.nrrd", "e.raw", "f.json", "file"])
    }

    // MARK: Bad inputs

    @Test("empty and random files are refused, naming the file", arguments: writableFormats)
    func emptyAndRandom(format: VolumeFileFormat) throws {
        let folder = TemporaryFolder()
        let path = folder.file("bad." + format.fileExtension)
        for bytes in [[], (0..<5000).map { UInt8(truncatingIfNeeded: $0 * 7919 + 13) }] as [[UInt8]] {
            writeFile(path, bytes)
            let error = medVolError { _ = try Volume(contentsOf: path) }
            #expect(error?.path == path)
            #expect(error?.code == .unrecognizedFormat)
        }
    }

    @Test("truncated files are errors, never zero-filled volumes", arguments: [
        ("t.nii", "t.nii"), ("t.nii.gz", "t.nii.gz"), ("t.mha", "t.mha"), ("t.nrrd", "t.nrrd"), ("t.mhd", "t.raw"),
        ("t.nhdr", "t.raw"), ("t.npy", "t.npy"), ("t.npz", "t.npz"), ("tz.mhd", "tz.zraw"), ("tz.mha", "tz.mha"),
        ("tz.nhdr", "tz.raw.gz"), ("tz.nrrd", "tz.nrrd"), ("tz.npz", "tz.npz"),
    ])
    func truncated(name: String, dataFile: String) throws {
        let folder = TemporaryFolder()
        try FormatFixtures.volume(.int16).write(to: folder.file(name), options: .init(compress: name.hasPrefix("tz")))
        let size = try FileManager.default.attributesOfItem(atPath: folder.file(dataFile))[.size] as! Int
        #expect(truncate(folder.file(dataFile), off_t(size - 41)) == 0)
        let error = medVolError { _ = try Volume(contentsOf: folder.file(name)) }
        #expect(error?.code == .corruptFile || error?.code == .unrecognizedFormat)
        #expect(error?.path == folder.file(name) || error?.path == folder.file(dataFile))
    }

    @Test("exact messages for the usual MetaImage and NIfTI damage")
    func damageMessages() throws {
        let folder = TemporaryFolder()
        try FormatFixtures.volume(.int16).write(to: folder.file("m.mhd"))
        try FileManager.default.removeItem(atPath: folder.file("m.raw"))
        #expect(medVolError { _ = try Volume(contentsOf: folder.file("m.mhd")) }?.description
                == "\(folder.file("m.mhd")): its data file \(folder.file("m.raw")) is missing")

        try FormatFixtures.volume(.int16).write(to: folder.file("t.mhd"))
        #expect(truncate(folder.file("t.raw"), 100) == 0)
        #expect(medVolError { _ = try Volume(contentsOf: folder.file("t.mhd")) }?.description
                == "\(folder.file("t.raw")): truncated: 280 bytes of voxels expected from byte 0, only 100 there")

        try FormatFixtures.volume(.int16).write(to: folder.file("t.nii"))
        #expect(truncate(folder.file("t.nii"), 600) == 0)
        #expect(medVolError { _ = try Volume(contentsOf: folder.file("t.nii")) }?.description
                == "\(folder.file("t.nii")): truncated: the header announces 632 bytes, the file has 600")

        try FormatFixtures.volume(.int16).write(to: folder.file("z.mhd"), options: .init(compress: true))
        var zraw = try ReadableFile(path: folder.file("z.zraw")).readAll()
        zraw[zraw.count / 2] ^= 0x5A
        writeFile(folder.file("z.zraw"), zraw)
        let damaged = medVolError { _ = try Volume(contentsOf: folder.file("z.mhd")) }
        #expect(damaged?.code == .corruptFile)
        #expect(damaged?.path == folder.file("z.zraw"))
    }

    @Test("headers announcing impossible sizes are refused before anything is allocated")
    func impossibleSizes() throws {
        let folder = TemporaryFolder()
        let mhd = """
            ObjectType = Image
            NDims = 3
            BinaryData = True
            BinaryDataByteOrderMSB = False
            DimSize = 60000 60000 60000
            ElementType = MET_SHORT
            ElementDataFile = huge.raw

            """
        writeFile(folder.file("huge.mhd"), Array(mhd.utf8))
        writeFile(folder.file("huge.raw"), [UInt8](repeating: 0, count: 1000))
        let metaImage = medVolError { _ = try Volume(contentsOf: folder.file("huge.mhd")) }
        #expect(metaImage?.code == .unsupported || metaImage?.code == .corruptFile)
        #expect(metaImage?.path == folder.file("huge.mhd") || metaImage?.path == folder.file("huge.raw"))

        let nrrd = "NRRD0004\ntype: short\ndimension: 3\nsizes: 60000 60000 60000\nencoding: raw\nendian: little\n\n"
        writeFile(folder.file("huge.nrrd"), Array(nrrd.utf8) + [UInt8](repeating: 0, count: 1000))
        let nrrdError = medVolError { _ = try Volume(contentsOf: folder.file("huge.nrrd")) }
        #expect(nrrdError?.path == folder.file("huge.nrrd"))
        #expect(nrrdError?.reason.hasPrefix("the voxels take 432000000000000 bytes (392.9 TiB), more than the memory limit of 2 GiB") == true)

        // A deflated .npz entry that claims far more than its compressed bytes can hold.
        try FormatFixtures.volume(.int16).write(to: folder.file("bomb.npz"), options: .init(compress: true))
        var bytes = try ReadableFile(path: folder.file("bomb.npz")).readAll()
        let signature: [UInt8] = [0x50, 0x4B, 0x01, 0x02]
        let central = try #require((0..<bytes.count - 4).first { Array(bytes[$0..<$0 + 4]) == signature })
        for index in 0..<4 { bytes[central + 24 + index] = [0x00, 0x00, 0x00, 0x7F][index] }  // uncompressed size 2 GiB
        writeFile(folder.file("bomb.npz"), bytes)
        #expect(medVolError { _ = try Volume(contentsOf: folder.file("bomb.npz")) }?.description.contains("more than deflate can hold") == true)
    }

    @Test("a missing file or a folder is named")
    func missing() throws {
        let folder = TemporaryFolder()
        #expect(medVolError { _ = try Volume(contentsOf: folder.file("none.nii.gz")) }?.description
                == "\(folder.file("none.nii.gz")): no such file or folder")
        try FileManager.default.createDirectory(atPath: folder.file("dir.mha"), withIntermediateDirectories: false)
        #expect(medVolError { _ = try Volume(contentsOf: folder.file("dir.mha")) }?.description
                == "\(folder.file("dir.mha")): is a folder, not a file")
    }
}

enum NIfTIHeaderBytes {
    /// The first 348 bytes of a .nii.gz, inflated.
    static func inflated(_ path: String) throws -> [UInt8] {
        let file = try ReadableFile(path: path)
        return try InflatingStream(file: file, offset: 0, length: file.size, wrapper: .gzip).read(count: 348)
    }
}
