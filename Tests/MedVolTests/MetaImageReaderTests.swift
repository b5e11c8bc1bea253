import Foundation
@testable import MedVol
import Testing

/// medvol's Swift MetaImage reader against ITK 5.2's MetaImageIO (through the bridge), which it replaces
/// for the headers ITK and medvol write: the same voxels and the same geometry, bit for bit; every other
/// header left to ITK.
@Suite("MetaImage read in Swift vs ITK 5.2")
struct MetaImageReaderTests {
    /// Reads `path` both ways and checks they agree exactly; returns the Swift reading.
    @discardableResult
    func expectSameAsITK(_ path: String, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Volume? {
        let swift = try MetaImageReader.open(path: path)?.load()
        #expect(swift != nil, "\(what): read by the Swift reader", sourceLocation: sourceLocation)
        guard let swift else { return nil }
        let format = VolumeFileFormat(path: path)!
        let itk = try ITKImageFile.read(path: path, format: format)
        #expect(swift.geometry.size == itk.geometry.size, "\(what) size", sourceLocation: sourceLocation)
        #expect(swift.geometry.spacing == itk.geometry.spacing, "\(what) spacing", sourceLocation: sourceLocation)
        #expect(swift.geometry.origin == itk.geometry.origin, "\(what) origin", sourceLocation: sourceLocation)
        #expect(swift.geometry.direction.rowMajor == itk.geometry.direction.rowMajor, "\(what) direction", sourceLocation: sourceLocation)
        #expect(swift.geometry.timeSpacing == itk.geometry.timeSpacing, "\(what) time spacing", sourceLocation: sourceLocation)
        #expect(swift.pixelType == itk.pixelType && swift.components == itk.components, "\(what) type", sourceLocation: sourceLocation)
        #expect(FormatFixtures.bytes(of: swift) == FormatFixtures.bytes(of: itk), "\(what) voxels", sourceLocation: sourceLocation)
        #expect(swift.metadata.warnings == itk.metadata.warnings, "\(what) warnings", sourceLocation: sourceLocation)
        return swift
    }

    @Test("medvol's .mhd, .mhd + .zraw and .mha: ITK's geometry and voxels for 60 geometries (3D, 4D)")
    func medvolFilesAgreeWithITK() throws {
        let folder = TemporaryFolder()
        let volumes = NIfTIFileTests.geometries(count: 40).map { FormatFixtures.volume(.float32, geometry: $0) }
            + NIfTIFileTests.geometries(count: 20, fourDimensional: true).map { FormatFixtures.volume(.int16, geometry: $0) }
        var compared = 0
        for (index, volume) in volumes.enumerated() {
            for (name, compress) in [("v\(index).mhd", false), ("z\(index).mhd", true), ("s\(index).mha", false), ("c\(index).mha", true)] {
                let path = folder.file(name)
                try volume.write(to: path, options: VolumeWriteOptions(compress: compress))
                let swift = try expectSameAsITK(path, name)
                #expect(swift.map { FormatFixtures.bytes(of: $0) } == FormatFixtures.bytes(of: volume))
                compared += 1
            }
        }
        #expect(compared == 240)
    }

    @Test("every voxel type and RGB, as medvol and ITK write them", arguments: PixelType.allCases)
    func everyType(type: PixelType) throws {
        let folder = TemporaryFolder()
        for components in type == .uint8 ? [1, 3] : [1] {
            let volume = FormatFixtures.volume(type, components: components)
            let path = folder.file("m-\(type)-\(components).mhd")
            try volume.write(to: path)
            try expectSameAsITK(path, "medvol \(type) × \(components)")
            let itkPath = folder.file("i-\(type)-\(components).mha")
            _ = try ITKImageFile.write(volume, to: itkPath, format: .metaImageSingleFile, options: VolumeWriteOptions())
            try expectSameAsITK(itkPath, "ITK \(type) × \(components)")
        }
    }

    /// A medvol .mhd with some header lines replaced (`key` → new line, nil to drop it).
    func edited(_ folder: TemporaryFolder, _ name: String, _ changes: [String: String?]) throws -> String {
        let path = folder.file(name + ".mhd")
        try FormatFixtures.volume(.int16).write(to: path)
        var lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        for (key, line) in changes {
            if let at = lines.firstIndex(where: { $0.hasPrefix(key + " =") }) {
                if let line { lines[at] = line } else { lines.remove(at: at) }
            } else if let line {
                lines.insert(line, at: 1)
            }
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: false, encoding: .utf8)
        return path
    }

    @Test("headers the Swift reader takes: what ITK gives for each")
    func editedHeadersAgreeWithITK() throws {
        let folder = TemporaryFolder()
        let cases: [(String, [String: String?])] = [
            ("orientation-disagrees", ["AnatomicalOrientation": "AnatomicalOrientation = LPI"]),
            ("no-orientation", ["AnatomicalOrientation": nil, "CenterOfRotation": nil]),
            ("not-orthonormal", ["TransformMatrix": "TransformMatrix = 1 0.2 0 0 2 0 0.1 0 0.5"]),
            ("exponents", ["Offset": "Offset = -1.5e2 3.25E-1 1e+1", "ElementSpacing": "ElementSpacing = 5e-1 0.7 1.25e0"]),
            ("tabs-and-spaces", ["DimSize": "DimSize =\t4  3 2"]),
            // A comment (what a streamed .mha pads its header with) changes nothing.
            ("comment", ["Comment": "Comment = made by hand"]),
            ("padding-comment", ["Comment": "Comment =         "]),
        ]
        for (name, changes) in cases {
            let path = try edited(folder, name, changes)
            try expectSameAsITK(path, name)
        }
    }

    @Test("headers with anything else are left to ITK")
    func otherHeadersGoToITK() throws {
        let folder = TemporaryFolder()
        let cases: [(String, [String: String?])] = [
            ("element-size", ["ElementSize": "ElementSize = 1 1 1"]),
            ("position", ["Offset": "Position = 1 2 3"]),
            ("rotation", ["TransformMatrix": "Rotation = 1 0 0 0 1 0 0 0 1"]),
            ("ascii", ["BinaryData": "BinaryData = False"]),
            ("no-matrix", ["TransformMatrix": nil]),
            ("singular", ["TransformMatrix": "TransformMatrix = 1 0 0 1 0 0 0 0 1"]),
            ("long", ["ElementType": "ElementType = MET_LONG"]),
            ("colon-line", ["Comment": "Comment: a line without an equals sign"]),
        ]
        for (name, changes) in cases {
            let path = try edited(folder, name, changes)
            #expect(try MetaImageReader.open(path: path) == nil, "\(name): ITK's reading")
        }
    }
}
