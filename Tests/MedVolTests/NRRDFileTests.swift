import Foundation
@testable import MedVol
import Testing

/// medvol's Swift NRRD writer against ITK 5.2's NrrdImageIO (through the bridge), which it replaces.
@Suite("NRRD in Swift vs ITK 5.2")
struct NRRDFileTests {
    func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    @Test("raw .nrrd and .nhdr/.raw are byte-identical to ITK's: 120 geometries (3D, 4D), every type, RGB")
    func rawFilesEqualITK() throws {
        let folder = TemporaryFolder()
        var volumes = NIfTIFileTests.geometries(count: 100).map { FormatFixtures.volume(.int16, geometry: $0) }
            + NIfTIFileTests.geometries(count: 20, fourDimensional: true).map { FormatFixtures.volume(.float32, geometry: $0) }
        volumes += PixelType.allCases.map { FormatFixtures.volume($0) }
        volumes += [FormatFixtures.volume(.uint8, components: 3)]
        for (index, volume) in volumes.enumerated() {
            for format in [VolumeFileFormat.nrrd, .nrrdDetached] {
                let itk = folder.file("itk\(index).\(format.fileExtension)")
                let swift = folder.file("swift\(index).\(format.fileExtension)")
                _ = try ITKImageFile.write(volume, to: itk, format: format, options: VolumeWriteOptions())
                try volume.write(to: swift)
                if format == .nrrd {
                    #expect(try bytes(swift) == bytes(itk), "volume \(index) \(volume.geometry)")
                } else {
                    // The header names its own data file; otherwise the same bytes.
                    let header = String(decoding: try bytes(swift), as: UTF8.self)
                    let itkHeader = String(decoding: try bytes(itk), as: UTF8.self)
                    #expect(header == itkHeader.replacingOccurrences(of: "itk\(index).raw", with: "swift\(index).raw"), "volume \(index)")
                    #expect(try bytes(folder.file("swift\(index).raw")) == bytes(folder.file("itk\(index).raw")))
                }
            }
        }
    }

    @Test("gzip NRRD: the same header as ITK's, data ITK reads back, indexed for medvol's parallel reading",
          arguments: [VolumeFileFormat.nrrd, .nrrdDetached])
    func gzipFiles(format: VolumeFileFormat) throws {
        let folder = TemporaryFolder()
        let volume = FormatFixtures.volume(.int16, geometry: ImageGeometry(size: [512, 300, 8], spacing: SIMD3(0.5, 0.6, 2),
                                                                          origin: SIMD3(-10, 20, 30), direction: FormatFixtures.rotation()))
        let itk = folder.file("itk.\(format.fileExtension)")
        let swift = folder.file("swift.\(format.fileExtension)")
        _ = try ITKImageFile.write(volume, to: itk, format: format, options: VolumeWriteOptions(compress: true))
        try volume.write(to: swift, options: VolumeWriteOptions(compress: true))
        let itkText = String(decoding: try bytes(itk).prefix(600), as: UTF8.self)
        let swiftText = String(decoding: try bytes(swift).prefix(600), as: UTF8.self)
        let headerEnd = format == .nrrd ? "\n\n" : "\n"
        let itkHeader = String(itkText[..<itkText.range(of: format == .nrrd ? headerEnd : "raw.gz\n")!.upperBound])
        #expect(swiftText.hasPrefix(itkHeader.replacingOccurrences(of: "itk.raw", with: "swift.raw")))
        // ITK reads medvol's multi-member gzip, and medvol its own (in parallel) and ITK's (as one stream).
        let byITK = try ITKImageFile.read(path: swift, format: format)
        #expect(FormatFixtures.bytes(of: byITK) == FormatFixtures.bytes(of: volume))
        expectSameVolume(try Volume(contentsOf: swift), volume, coordinateTolerance: 1e-12, directionTolerance: 1e-12)
        expectSameVolume(try Volume(contentsOf: itk), volume, coordinateTolerance: 1e-12, directionTolerance: 1e-12)
        let data = format == .nrrd ? swift : folder.file("swift.raw.gz")
        let members = try #require(try IndexedGzip.members(of: ReadableFile(path: data)))
        #expect(members.count > 2)
    }
}

@Suite("NRRD reading in Swift vs ITK 5.2")
struct NRRDReadingTests {
    @Test("the Swift reader gives ITK's voxels and geometry: raw and gzip, attached and detached, 60 geometries, 20 in 4D, every type")
    func readerAgreesWithITK() throws {
        let folder = TemporaryFolder()
        let volumes = NIfTIFileTests.geometries(count: 60).map { FormatFixtures.volume(.float32, geometry: $0) }
            + NIfTIFileTests.geometries(count: 20, fourDimensional: true).map { FormatFixtures.volume(.int16, geometry: $0) }
            + PixelType.allCases.map { FormatFixtures.volume($0) }
        var read = 0
        for (index, volume) in volumes.enumerated() {
            for format in [VolumeFileFormat.nrrd, .nrrdDetached] {
                for compress in [false, true] {
                    // Files ITK wrote (one gzip member) and files medvol wrote (indexed members).
                    for writer in ["itk", "medvol"] {
                        let path = folder.file("\(writer)\(index)\(compress ? "z" : "").\(format.fileExtension)")
                        if writer == "itk" {
                            _ = try ITKImageFile.write(volume, to: path, format: format, options: VolumeWriteOptions(compress: compress))
                        } else {
                            try volume.write(to: path, options: VolumeWriteOptions(compress: compress))
                        }
                        let swift = try #require(try NRRDFile.open(path: path, file: ReadableFile(path: path))?.load())
                        let itk = try ITKImageFile.read(path: path, format: format)
                        #expect(swift.geometry.size == itk.geometry.size)
                        #expect(swift.geometry.spacing == itk.geometry.spacing, "\(path)")
                        #expect(swift.geometry.origin == itk.geometry.origin)
                        #expect(swift.geometry.timeSpacing == itk.geometry.timeSpacing, "\(path)")
                        #expect(swift.metadata.warnings == itk.metadata.warnings)
                        #expect(swift.geometry.direction.maximumDifference(to: itk.geometry.direction) == 0, "\(path)")
                        #expect(swift.pixelType == itk.pixelType)
                        #expect(FormatFixtures.bytes(of: swift) == FormatFixtures.bytes(of: itk))
                        read += 1
                    }
                }
            }
        }
        #expect(read == volumes.count * 8)
    }

    @Test("a 4D file whose time axis starts later reads with ITK's warning; one whose time axis mixes with space is left to ITK")
    func fourDimensionalEdges() throws {
        let folder = TemporaryFolder()
        let volume = FormatFixtures.volume(.int16, geometry: FormatFixtures.obliqueGeometry4D)
        let path = folder.file("x.nrrd")
        try volume.write(to: path)
        let written = try String(contentsOfFile: path, encoding: .isoLatin1)
        let headerEnd = try #require(written.range(of: "\n\n"))
        let header = String(written[..<headerEnd.lowerBound])
        let voxels = try Data(contentsOf: URL(fileURLWithPath: path)).dropFirst(header.utf8.count)
        func edited(_ name: String, _ edit: (String) -> String) throws -> String {
            let editedPath = folder.file(name)
            try (Data(edit(header).utf8) + voxels).write(to: URL(fileURLWithPath: editedPath))
            return editedPath
        }
        let lateStart = try edited("late.nrrd") { text in
            let origin = try! #require(text.split(separator: "\n").first { $0.hasPrefix("space origin: ") })
            return text.replacingOccurrences(of: origin, with: origin.dropLast(2) + "2.5)")
        }
        let swift = try #require(try NRRDFile.open(path: lateStart, file: ReadableFile(path: lateStart))?.load())
        let itk = try ITKImageFile.read(path: lateStart, format: .nrrd)
        #expect(swift.metadata.warnings == [.timeOriginIgnored(2.5)])
        #expect(swift.metadata.warnings.map(\.description) == ["the fourth axis starts at 2.5, not 0; medvol keeps only its spacing"])
        #expect(swift.metadata.warnings == itk.metadata.warnings)
        #expect(swift.geometry.origin == itk.geometry.origin)
        let mixed = try edited("mixed.nrrd") { text in
            let line = try! #require(text.split(separator: "\n").first { $0.hasPrefix("space directions: ") })
            let fixed = line.replacingOccurrences(of: ",0) ", with: ",0.25) ", options: [], range: line.range(of: ",0) "))
            return text.replacingOccurrences(of: line, with: fixed)
        }
        #expect(try String(contentsOfFile: mixed, encoding: .isoLatin1).contains(",0.25) "))
        #expect(try NRRDFile.open(path: mixed, file: ReadableFile(path: mixed)) == nil)
    }

    @Test("RGB NRRD files are left to ITK")
    func leftToITK() throws {
        let folder = TemporaryFolder()
        for volume in [FormatFixtures.volume(.uint8, components: 3)] {
            let path = folder.file("x\(volume.components).nrrd")
            try volume.write(to: path)
            #expect(try NRRDFile.open(path: path, file: ReadableFile(path: path)) == nil)
            expectSameVolume(try Volume(contentsOf: path), volume, coordinateTolerance: 1e-12, directionTolerance: 1e-12)
        }
    }
}
