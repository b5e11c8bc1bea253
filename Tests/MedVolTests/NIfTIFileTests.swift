import Foundation
@testable import MedVol
import Testing

/// medvol's Swift NIfTI-1 writer and reader against ITK 5.2's NiftiImageIO (through the bridge), which
/// they replace: the same header bytes, the same voxels, the same geometry.
@Suite("NIfTI in Swift vs ITK 5.2")
struct NIfTIFileTests {
    /// Geometries of every kind: axial, permuted axes, flips, rotations near 180°, left-handed, oblique.
    static func geometries(count: Int, fourDimensional: Bool = false) -> [ImageGeometry] {
        var random = SplitMix64(seed: 20261206)  // reproducible
        var result: [ImageGeometry] = []
        for index in 0..<count {
            var direction: DirectionMatrix
            switch index % 4 {
            case 0:
                // A permutation of the axes with random signs.
                let permutations = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]]
                let p = permutations[Int.random(in: 0..<6, using: &random)]
                var columns = [SIMD3<Double>](repeating: .zero, count: 3)
                for axis in 0..<3 {
                    columns[axis][p[axis]] = Bool.random(using: &random) ? 1 : -1
                }
                direction = DirectionMatrix(columns: columns[0], columns[1], columns[2])
            case 1:
                // Nearly 180° about a random axis (the quaternion's hard case).
                let axis = SIMD3(Double.random(in: -1...1, using: &random), Double.random(in: -1...1, using: &random), Double.random(in: -1...1, using: &random))
                direction = FormatFixtures.rotation(axis: axis, angle: .pi - Double.random(in: 0...0.01, using: &random))
            default:
                let axis = SIMD3(Double.random(in: -1...1, using: &random), Double.random(in: -1...1, using: &random), Double.random(in: 0.1...1, using: &random))
                direction = FormatFixtures.rotation(axis: axis, angle: Double.random(in: 0...(2 * .pi), using: &random))
            }
            if index % 3 == 2 {
                // Left-handed: flip the slice axis.
                direction = DirectionMatrix(columns: direction.column(0), direction.column(1), -direction.column(2))
            }
            let spacing = SIMD3(Double.random(in: 0.2...5, using: &random), Double.random(in: 0.2...5, using: &random), Double.random(in: 0.2...8, using: &random))
            let origin = SIMD3(Double.random(in: -300...300, using: &random), Double.random(in: -300...300, using: &random), Double.random(in: -300...300, using: &random))
            let size = fourDimensional ? [3, 2, 2, 3] : [3, 2, 2]
            result.append(ImageGeometry(size: size, spacing: spacing, origin: origin, direction: direction,
                                        timeSpacing: fourDimensional ? Double.random(in: 0.5...3, using: &random) : nil))
        }
        return result
    }

    /// The first 352 bytes of a file.
    func header(of path: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: path)).prefix(NIfTIFile.voxelOffset))
    }

    @Test("header bytes equal ITK's for 300 geometries (3D) and 60 (4D)")
    func headerBytesEqualITK() throws {
        let folder = TemporaryFolder()
        var compared = 0
        for (index, geometry) in (Self.geometries(count: 300) + Self.geometries(count: 60, fourDimensional: true)).enumerated() {
            let volume = FormatFixtures.volume(.int16, geometry: geometry)
            let itkPath = folder.file("itk\(index).nii")
            _ = try ITKImageFile.write(volume, to: itkPath, format: .nifti, options: VolumeWriteOptions())
            let swift = try NIfTIFile.header(for: VolumeInfo(volume), path: "x.nii")
            let itk = try header(of: itkPath)
            let differing = (0..<NIfTIFile.voxelOffset).filter { swift[$0] != itk[$0] }
            #expect(differing.isEmpty, "geometry \(index) \(geometry): header bytes differ at \(differing)")
            compared += 1
        }
        #expect(compared == 360)
    }

    @Test("header bytes equal ITK's for every voxel type and RGB", arguments: PixelType.allCases)
    func headerBytesEqualITKForEveryType(type: PixelType) throws {
        let folder = TemporaryFolder()
        for components in type == .uint8 ? [1, 3] : [1] {
            let volume = FormatFixtures.volume(type, components: components)
            let itkPath = folder.file("itk-\(type)-\(components).nii")
            _ = try ITKImageFile.write(volume, to: itkPath, format: .nifti, options: VolumeWriteOptions())
            let swift = try NIfTIFile.header(for: VolumeInfo(volume), path: "x.nii")
            #expect(swift == (try header(of: itkPath)), "\(type) × \(components)")
            // And the voxels after the header, byte for byte.
            let swiftPath = folder.file("swift-\(type)-\(components).nii")
            try volume.write(to: swiftPath)
            #expect(try Data(contentsOf: URL(fileURLWithPath: swiftPath)) == (try Data(contentsOf: URL(fileURLWithPath: itkPath))))
        }
    }

    @Test("the Swift reader gives ITK's voxels and geometry, .nii and .nii.gz, 3D, 4D and RGB")
    func readerAgreesWithITK() throws {
        let folder = TemporaryFolder()
        let volumes = Self.geometries(count: 40).map { FormatFixtures.volume(.float32, geometry: $0) }
            + Self.geometries(count: 8, fourDimensional: true).map { FormatFixtures.volume(.uint16, geometry: $0) }
            + [FormatFixtures.volume(.uint8, components: 3)]
        for (index, volume) in volumes.enumerated() {
            for format in [VolumeFileFormat.nifti, .niftiCompressed] {
                let path = folder.file("v\(index).\(format.fileExtension)")
                try volume.write(to: path)
                let file = try ReadableFile(path: path)
                let swift = try #require(try NIfTIFile.open(path: path, file: file, compressed: format == .niftiCompressed)?.load())
                let itk = try ITKImageFile.read(path: path, format: format)
                #expect(swift.geometry.size == itk.geometry.size)
                #expect(swift.geometry.spacing == itk.geometry.spacing)
                #expect(swift.geometry.origin == itk.geometry.origin)
                #expect(swift.geometry.direction.maximumDifference(to: itk.geometry.direction) == 0, "volume \(index) \(format)")
                #expect(swift.geometry.timeSpacing == itk.geometry.timeSpacing)
                #expect(swift.pixelType == itk.pixelType && swift.components == itk.components)
                #expect(FormatFixtures.bytes(of: swift) == FormatFixtures.bytes(of: itk))
                #expect(FormatFixtures.bytes(of: swift) == FormatFixtures.bytes(of: volume))
            }
        }
    }

    @Test("a .hdr/.img pair: both files byte-identical to ITK's, for 60 geometries (3D and 4D) and every voxel type")
    func pairBytesEqualITK() throws {
        let folder = TemporaryFolder()
        let volumes = (Self.geometries(count: 40) + Self.geometries(count: 20, fourDimensional: true))
            .map { FormatFixtures.volume(.int16, geometry: $0) }
            + PixelType.allCases.map { FormatFixtures.volume($0) } + [FormatFixtures.volume(.uint8, components: 3)]
        for (index, volume) in volumes.enumerated() {
            let itkPath = folder.file("itk\(index).hdr")
            let itkWritten = try ITKImageFile.write(volume, to: itkPath, format: .niftiPair, options: VolumeWriteOptions())
            #expect(itkWritten == [folder.file("itk\(index).img"), itkPath])
            let swiftPath = folder.file("swift\(index).hdr")
            let written = try volume.write(to: swiftPath).paths
            #expect(written == [folder.file("swift\(index).img"), swiftPath])
            for (swiftFile, itkFile) in zip(written, itkWritten) {
                let swiftBytes = try Data(contentsOf: URL(fileURLWithPath: swiftFile))
                let itkBytes = try Data(contentsOf: URL(fileURLWithPath: itkFile))
                #expect(swiftBytes == itkBytes, "volume \(index) \(volume.pixelType): \(swiftFile) differs from ITK's")
            }
            // Read back from either name, the Swift way, exactly as ITK reads it.
            let itk = try ITKImageFile.read(path: swiftPath, format: .niftiPair)
            for path in written {
                let swift = try Volume(contentsOf: path)
                #expect(swift.geometry.size == itk.geometry.size && swift.geometry.timeSpacing == itk.geometry.timeSpacing)
                #expect(swift.geometry.origin == itk.geometry.origin && swift.geometry.spacing == itk.geometry.spacing)
                #expect(swift.geometry.direction.maximumDifference(to: itk.geometry.direction) == 0, "volume \(index)")
                #expect(swift.pixelType == itk.pixelType && swift.components == itk.components)
                #expect(FormatFixtures.bytes(of: swift) == FormatFixtures.bytes(of: volume))
                #expect(FormatFixtures.bytes(of: itk) == FormatFixtures.bytes(of: volume))
            }
            #expect(try NIfTIFile.openPair(NIfTIFile.PairPaths(swiftPath)) != nil, "read by the Swift reader, not ITK's")
        }
    }

    @Test(".nii.gz from medvol is an indexed multi-member gzip that zlib reads as one stream")
    func compressedLayout() throws {
        let folder = TemporaryFolder()
        // Slices of 512 KiB: several members.
        let volume = FormatFixtures.volume(.int16, geometry: ImageGeometry(size: [512, 512, 9]))
        let path = folder.file("big.nii.gz")
        try volume.write(to: path)
        let file = try ReadableFile(path: path)
        let members = try #require(try IndexedGzip.members(of: file))
        // The stored header member, then blocks of whole slices of about a MiB (two 512 KiB slices).
        #expect(members.first?.uncompressedCount == NIfTIFile.voxelOffset)
        #expect(members.dropFirst().map(\.uncompressedCount) == Array(repeating: 2 << 19, count: 4) + [1 << 19])
        // The whole file, inflated by zlib front to back (not using the index), is header + voxels.
        let stream = try GzipStream(file: file)
        var all = [UInt8](repeating: 0, count: NIfTIFile.voxelOffset + volume.byteCount)
        try all.withUnsafeMutableBytes { try stream.read(into: $0) }
        #expect(Array(all.prefix(NIfTIFile.voxelOffset)) == (try NIfTIFile.header(for: VolumeInfo(volume), path: path)))
        #expect(Array(all.dropFirst(NIfTIFile.voxelOffset)) == FormatFixtures.bytes(of: volume))
        #expect(try GzipFile.uncompressedSize(of: file) == all.count)
    }

    @Test("a damaged block of a medvol .nii.gz is an error naming the file, not wrong voxels")
    func damagedBlock() throws {
        let folder = TemporaryFolder()
        let volume = FormatFixtures.volume(.int16, geometry: ImageGeometry(size: [512, 512, 4]))
        let path = folder.file("d.nii.gz")
        try volume.write(to: path)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let members = try #require(try IndexedGzip.members(of: ReadableFile(path: path)))
        let target = members[2].fileOffset + members[2].compressedCount / 2
        bytes[target] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: path))
        #expect {
            _ = try Volume(contentsOf: path)
        } throws: { error in
            let text = String(describing: error)
            return text.contains(path) && text.contains("damaged")
        }
    }

    @Test("levels: a higher level gives a file no larger, every level reads back the same voxels")
    func levels() throws {
        let folder = TemporaryFolder()
        let volume = FormatFixtures.volume(.int16, geometry: ImageGeometry(size: [256, 256, 6]))
        var sizes: [Int] = []
        for level in [1, 6, 9, 12] {
            let path = folder.file("l\(level).nii.gz")
            try volume.write(to: path, options: VolumeWriteOptions(compressionLevel: level))
            sizes.append(try ReadableFile(path: path).size)
            #expect(FormatFixtures.bytes(of: try Volume(contentsOf: path)) == FormatFixtures.bytes(of: volume))
        }
        #expect(zip(sizes, sizes.dropFirst()).allSatisfy { $0 >= $1 }, "sizes \(sizes)")
    }

    @Test("scaled files (scl_slope, scl_inter): the Swift reader gives ITK's values and type, bit for bit",
          arguments: [PixelType.uint8, .int8, .uint16, .int16, .uint32, .int32, .float32, .float64])
    func scaledValuesAgreeWithITK(type: PixelType) throws {
        let folder = TemporaryFolder()
        let volume = FormatFixtures.volume(type)
        for (slope, intercept) in [(Float(1), Float(-1024)), (Float(0.3712), Float(12.5)), (Float(-2.75), Float(0))] {
            for format in [VolumeFileFormat.nifti, .niftiCompressed] {
                let plain = folder.file("s.nii")
                try volume.write(to: plain, options: VolumeWriteOptions(overwrite: true))
                var bytes = try Data(contentsOf: URL(fileURLWithPath: plain))
                bytes.replaceSubrange(112..<116, with: withUnsafeBytes(of: slope.bitPattern.littleEndian) { Data($0) })
                bytes.replaceSubrange(116..<120, with: withUnsafeBytes(of: intercept.bitPattern.littleEndian) { Data($0) })
                let path = folder.file("scaled.\(format.fileExtension)")
                if format == .nifti {
                    try bytes.write(to: URL(fileURLWithPath: path))
                } else {
                    let file = try WritableFile(creating: path)
                    let member = try bytes.withUnsafeBytes { try LibDeflate.gzipMember($0, level: 6) }
                    try member.withUnsafeBytes { try file.write($0, at: 0) }
                    try file.close()
                }
                let swift = try #require(try NIfTIFile.open(path: path, file: ReadableFile(path: path), compressed: format == .niftiCompressed)?.load())
                let itk = try ITKImageFile.read(path: path, format: format)
                #expect(swift.pixelType == itk.pixelType, "\(type) slope \(slope)")
                #expect(swift.pixelType == (type == .float64 ? .float64 : .float32))
                #expect(FormatFixtures.bytes(of: swift) == FormatFixtures.bytes(of: itk), "\(type) slope \(slope) \(format)")
                #expect(swift.metadata.valueTransform?.contains("scl_slope") == true)
            }
        }
    }
}
