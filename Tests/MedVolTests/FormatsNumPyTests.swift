import Foundation
@testable import MedVol
import Testing

/// An `.npy` file assembled by hand (not with medvol's writer), for reader tests.
func handMadeNPY(dictionary: String, version: UInt8 = 1, data: [UInt8]) -> [UInt8] {
    var text = Array(dictionary.utf8)
    let prefix = version == 1 ? 10 : 12
    text += [UInt8](repeating: 0x20, count: 63 - (prefix + text.count) % 64) + [0x0A]
    var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [version, 0]
    bytes += version == 1 ? [UInt8(text.count & 0xFF), UInt8(text.count >> 8)]
                          : [UInt8(text.count & 0xFF), UInt8(text.count >> 8), 0, 0]
    return bytes + text + data
}

func writeFile(_ path: String, _ bytes: [UInt8]) {
    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
}

func littleEndianBytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
    values.flatMap { value in (0..<(T.bitWidth / 8)).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
}

@Suite("NumPy .npy and .npz")
struct FormatsNumPyTests {
    // Generated once with numpy 2.4: `np.save(f, np.zeros((4, 5, 7), '<i2'))` etc., header bytes only.
    static let numpyHeaderInt16: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 0x01, 0x00, 0x76, 0x00, 0x7B, 0x27, 0x64, 0x65, 0x73, 0x63, 0x72, 0x27, 0x3A, 0x20, 0x27, 0x3C, 0x69, 0x32, 0x27, 0x2C, 0x20, 0x27, 0x66, 0x6F, 0x72, 0x74, 0x72, 0x61, 0x6E, 0x5F, 0x6F, 0x72, 0x64, 0x65, 0x72, 0x27, 0x3A, 0x20, 0x46, 0x61, 0x6C, 0x73, 0x65, 0x2C, 0x20, 0x27, 0x73, 0x68, 0x61, 0x70, 0x65, 0x27, 0x3A, 0x20, 0x28, 0x34, 0x2C, 0x20, 0x35, 0x2C, 0x20, 0x37, 0x29, 0x2C, 0x20, 0x7D, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x0A]
    static let numpyHeaderRGB4D: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 0x01, 0x00, 0x76, 0x00, 0x7B, 0x27, 0x64, 0x65, 0x73, 0x63, 0x72, 0x27, 0x3A, 0x20, 0x27, 0x7C, 0x75, 0x31, 0x27, 0x2C, 0x20, 0x27, 0x66, 0x6F, 0x72, 0x74, 0x72, 0x61, 0x6E, 0x5F, 0x6F, 0x72, 0x64, 0x65, 0x72, 0x27, 0x3A, 0x20, 0x46, 0x61, 0x6C, 0x73, 0x65, 0x2C, 0x20, 0x27, 0x73, 0x68, 0x61, 0x70, 0x65, 0x27, 0x3A, 0x20, 0x28, 0x33, 0x2C, 0x20, 0x32, 0x2C, 0x20, 0x34, 0x2C, 0x20, 0x35, 0x2C, 0x20, 0x33, 0x29, 0x2C, 0x20, 0x7D, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x0A]
    static let numpyHeaderLongAxis: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 0x01, 0x00, 0x76, 0x00, 0x7B, 0x27, 0x64, 0x65, 0x73, 0x63, 0x72, 0x27, 0x3A, 0x20, 0x27, 0x3C, 0x66, 0x38, 0x27, 0x2C, 0x20, 0x27, 0x66, 0x6F, 0x72, 0x74, 0x72, 0x61, 0x6E, 0x5F, 0x6F, 0x72, 0x64, 0x65, 0x72, 0x27, 0x3A, 0x20, 0x46, 0x61, 0x6C, 0x73, 0x65, 0x2C, 0x20, 0x27, 0x73, 0x68, 0x61, 0x70, 0x65, 0x27, 0x3A, 0x20, 0x28, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x2C, 0x20, 0x32, 0x2C, 0x20, 0x31, 0x29, 0x2C, 0x20, 0x7D, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x0A]

    @Test("the header is byte for byte what numpy writes")
    func headerMatchesNumPy() {
        #expect(NumPyArray.header(descriptor: "<i2", shape: [4, 5, 7]) == Self.numpyHeaderInt16)
        #expect(NumPyArray.header(descriptor: "|u1", shape: [3, 2, 4, 5, 3]) == Self.numpyHeaderRGB4D)
        #expect(NumPyArray.header(descriptor: "<f8", shape: [123456, 2, 1]) == Self.numpyHeaderLongAxis)
    }

    @Test("a written .npy starts with numpy's header and holds the voxels right after it")
    func writtenFileLayout() throws {
        let folder = TemporaryFolder()
        let volume = FormatFixtures.volume(.int16, geometry: ImageGeometry(size: [7, 5, 4]))
        let written = try volume.write(to: folder.file("x.npy")).paths
        #expect(written == [folder.file("x.npy"), folder.file("x.json")])
        let bytes = try ReadableFile(path: folder.file("x.npy")).readAll()
        #expect(Array(bytes.prefix(128)) == Self.numpyHeaderInt16)
        #expect(Array(bytes.dropFirst(128)) == FormatFixtures.bytes(of: volume))
        // Exact values at known places: voxel (i, j, k) = (2, 1, 3) is element [3][1][2] of the array.
        let index = 2 + 7 * (1 + 5 * 3)
        let value = Int16(bytes[128 + 2 * index]) | Int16(bytes[128 + 2 * index + 1]) << 8
        #expect(Double(value) == volume.value(2, 1, 3))
        #expect(value == Int16(((index * 37) % 251 - 125) * 257))
    }

    @Test("headers too long for 16 bits use version 2.0")
    func versionTwoHeader() {
        let header = NumPyArray.header(descriptor: "<f4", shape: [Int](repeating: 1, count: 30000))
        #expect(Array(header.prefix(8)) == [0x93] + Array("NUMPY".utf8) + [2, 0])
        #expect(header.count % 64 == 0)
        let declared = Int(header[8]) | Int(header[9]) << 8 | Int(header[10]) << 16 | Int(header[11]) << 24
        #expect(declared == header.count - 12)
        #expect(header.last == 0x0A)
    }

    @Test("the sidecar restores geometry and metadata; without it, defaults and a warning")
    func sidecar() throws {
        let folder = TemporaryFolder()
        var volume = FormatFixtures.volume(.float64)
        volume.metadata.seriesDescription = "axial"
        volume.metadata.windows = [DisplayWindow(center: 40, width: 80)]
        try volume.write(to: folder.file("a.npy"))
        let read = try Volume(contentsOf: folder.file("a.npy"))
        expectSameVolume(read, volume, coordinateTolerance: 0, directionTolerance: 0)
        #expect(read.metadata.seriesDescription == "axial")
        #expect(read.metadata.windows == [DisplayWindow(center: 40, width: 80)])
        #expect(read.metadata.modality == "CT")
        #expect(read.metadata.warnings.isEmpty)

        try FileManager.default.removeItem(atPath: folder.file("a.json"))
        let bare = try Volume(contentsOf: folder.file("a.npy"))
        #expect(bare.size == volume.size)
        #expect(bare.geometry.spacing == SIMD3(1, 1, 1) && bare.origin == .zero && bare.direction == .identity)
        #expect(bare.metadata.warnings == [.noGeometrySidecar(sidecar: folder.file("a.json"))])
        #expect(bare.metadata.warnings.map(\.description) == ["no geometry sidecar \(folder.file("a.json")): spacing 1, origin 0, identity direction assumed"])
        #expect(bare.metadata.source == folder.file("a.npy"))
        #expect(FormatFixtures.bytes(of: bare) == FormatFixtures.bytes(of: volume))
    }

    @Test("a sidecar that does not match the array is an error naming the sidecar")
    func mismatchedSidecar() throws {
        let folder = TemporaryFolder()
        try FormatFixtures.volume(.int16).write(to: folder.file("a.npy"))
        try FormatFixtures.volume(.int16, geometry: ImageGeometry(size: [7, 5, 3])).write(to: folder.file("b.npy"))
        try FileManager.default.removeItem(atPath: folder.file("a.json"))
        try FileManager.default.copyItem(atPath: folder.file("b.json"), toPath: folder.file("a.json"))
        let error = medVolError { _ = try Volume(contentsOf: folder.file("a.npy")) }
        #expect(error?.code == .corruptFile)
        #expect(error?.description == "\(folder.file("a.json")): size [7, 5, 3] with 1 component(s) does not match the shape (4, 5, 7) of \(folder.file("a.npy"))")

        try FormatFixtures.volume(.uint16).write(to: folder.file("c.npy"))
        try FileManager.default.removeItem(atPath: folder.file("c.json"))
        try FileManager.default.copyItem(atPath: folder.file("b.json"), toPath: folder.file("c.json"))
        try FormatFixtures.volume(.uint16, geometry: ImageGeometry(size: [7, 5, 3])).write(to: folder.file("c.npy"), options: .init(overwrite: true))
        writeFile(folder.file("c.json"), Array(FormatFixtures.volume(.int16, geometry: ImageGeometry(size: [7, 5, 3])).infoJSON.compactText.utf8))
        let typeError = medVolError { _ = try Volume(contentsOf: folder.file("c.npy")) }
        #expect(typeError?.description == "\(folder.file("c.json")): says pixelType int16, but \(folder.file("c.npy")) holds <u2 (uint16)")
    }

    @Test("a 2D array is one slice; a sidecar saying nz = 1 fits it too")
    func twoDimensionalArray() throws {
        let folder = TemporaryFolder()
        let data = littleEndianBytes([Int16](0..<6))
        writeFile(folder.file("a.npy"), handMadeNPY(dictionary: "{'descr': '<i2', 'fortran_order': False, 'shape': (2, 3), }", data: data))
        let volume = try Volume(contentsOf: folder.file("a.npy"))
        #expect(volume.size == [3, 2, 1])
        #expect(volume.value(2, 1, 0) == 5)
        writeFile(folder.file("a.json"), Array(#"{"size": [3, 2, 1], "spacing": [0.5, 0.5, 4], "origin": [1, 2, 3], "direction": [1, 0, 0, 0, 1, 0, 0, 0, 1]}"#.utf8))
        let placed = try Volume(contentsOf: folder.file("a.npy"))
        #expect(placed.spacing == SIMD3(0.5, 0.5, 4))
        #expect(placed.origin == SIMD3(1, 2, 3))
    }

    @Test("4 axes are (nt, nz, ny, nx); 5 axes add components")
    func fourAndFiveAxes() throws {
        let folder = TemporaryFolder()
        writeFile(folder.file("t.npy"), handMadeNPY(dictionary: "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 1, 3, 4), }", data: (0..<24).map(UInt8.init)))
        let fourD = try Volume(contentsOf: folder.file("t.npy"))
        #expect(fourD.size == [4, 3, 1, 2])
        #expect(fourD.timeSpacing == 1)
        #expect(fourD.value(3, 2, 0, 1) == 23)
        writeFile(folder.file("c.npy"), handMadeNPY(dictionary: "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 1, 2, 2, 3), }", data: (0..<24).map(UInt8.init)))
        let colour = try Volume(contentsOf: folder.file("c.npy"))
        #expect(colour.size == [2, 2, 1, 2] && colour.components == 3)
        #expect(colour.value(1, 0, 0, 1, component: 2) == 17)
    }

    @Test("big-endian, Fortran order, bool, version 2 and 3 headers, Python 2 longs")
    func readerVariants() throws {
        let folder = TemporaryFolder()
        let values: [Int32] = (0..<24).map { Int32($0) * 1_000_003 - 9_000_000 }
        func expectValues(_ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let volume = try Volume(contentsOf: folder.file(name))
            #expect(volume.size == [4, 3, 2], sourceLocation: sourceLocation)
            #expect(try Array(volume.voxels(as: Int32.self)) == values, sourceLocation: sourceLocation)
        }
        writeFile(folder.file("le.npy"), handMadeNPY(dictionary: "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3, 4), }", data: littleEndianBytes(values)))
        try expectValues("le.npy")
        writeFile(folder.file("be.npy"), handMadeNPY(dictionary: "{'descr': '>i4', 'fortran_order': False, 'shape': (2, 3, 4), }", data: littleEndianBytes(values.map(\.byteSwapped))))
        try expectValues("be.npy")
        // Fortran order: element [a][b][c] at a + 2·(b + 3·c).
        var fortran = [Int32](repeating: 0, count: 24)
        for a in 0..<2 { for b in 0..<3 { for c in 0..<4 { fortran[a + 2 * (b + 3 * c)] = values[c + 4 * (b + 3 * a)] } } }
        writeFile(folder.file("f.npy"), handMadeNPY(dictionary: "{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3, 4), }", data: littleEndianBytes(fortran)))
        try expectValues("f.npy")
        writeFile(folder.file("v2.npy"), handMadeNPY(dictionary: "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3, 4), }", version: 2, data: littleEndianBytes(values)))
        try expectValues("v2.npy")
        writeFile(folder.file("v3.npy"), handMadeNPY(dictionary: "{'shape': (2, 3, 4), 'descr': '<i4', 'fortran_order': False, 'note': 'é'}", version: 3, data: littleEndianBytes(values)))
        try expectValues("v3.npy")
        writeFile(folder.file("py2.npy"), handMadeNPY(dictionary: "{'descr': '<i4', 'fortran_order': False, 'shape': (2L, 3L, 4L), }", data: littleEndianBytes(values)))
        try expectValues("py2.npy")

        let flags: [UInt8] = (0..<24).map { $0 % 3 == 0 ? 1 : 0 }
        for descriptor in ["|b1", "?", "b1"] {
            writeFile(folder.file("b.npy"), handMadeNPY(dictionary: "{'descr': '\(descriptor)', 'fortran_order': False, 'shape': (2, 3, 4), }", data: flags))
            let mask = try Volume(contentsOf: folder.file("b.npy"))
            #expect(mask.pixelType == .uint8)
            #expect(try Array(mask.voxels(as: UInt8.self)) == flags)
        }
    }

    @Test("bad .npy files give errors that name the file", arguments: [
        ("empty", [], MedVolError.Code.unrecognizedFormat, "not a NumPy .npy file (too short for its header)"),
        ("random", (0..<300).map { UInt8(truncatingIfNeeded: $0 * 7919 + 13) }, .unrecognizedFormat, "not a NumPy .npy file (no \\x93NUMPY magic)"),
        ("version", [0x93] + Array("NUMPY".utf8) + [9, 0, 0, 0], .unsupported, "unsupported .npy format version 9.0"),
        ("truncated", handMadeNPY(dictionary: "{'descr': '<i2', 'fortran_order': False, 'shape': (2, 3, 4), }", data: [UInt8](repeating: 1, count: 47)),
         .corruptFile, "truncated: the header announces 48 bytes of data, but only 47 follow"),
        ("short header", Array(handMadeNPY(dictionary: "{'descr': '<i2', 'fortran_order': False, 'shape': (2, 3, 4), }", data: []).prefix(40)),
         .corruptFile, "ends 88 bytes too early (truncated)"),
        ("not a dict", handMadeNPY(dictionary: "['descr', '<i2']", data: []), .corruptFile, "bad .npy header: the header is not a dict"),
        ("syntax", handMadeNPY(dictionary: "{'descr': '<i2' 'fortran_order': False}", data: []), .corruptFile, "bad .npy header: expected ',' or '}'"),
        ("no shape", handMadeNPY(dictionary: "{'descr': '<i2', 'fortran_order': False}", data: []), .corruptFile, "bad .npy header: no 'shape' tuple"),
        ("no order", handMadeNPY(dictionary: "{'descr': '<i2', 'shape': (2,)}", data: []), .corruptFile, "bad .npy header: no 'fortran_order' True/False"),
        ("negative", handMadeNPY(dictionary: "{'descr': '<i2', 'fortran_order': False, 'shape': (2, -3, 4)}", data: []), .corruptFile,
         "bad .npy header: shape entries must be non-negative integers"),
        ("huge", handMadeNPY(dictionary: "{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, 4, 4)}", data: []), .corruptFile,
         "array shape [4611686018427387904, 4, 4] is impossibly large"),
        ("complex", handMadeNPY(dictionary: "{'descr': '<c8', 'fortran_order': False, 'shape': (2, 3, 4), }", data: []), .unsupported, "unsupported dtype '<c8' (complex)"),
        ("half", handMadeNPY(dictionary: "{'descr': '<f2', 'fortran_order': False, 'shape': (2, 3, 4), }", data: []), .unsupported, "unsupported dtype '<f2' (half-precision float)"),
        ("object", handMadeNPY(dictionary: "{'descr': '|O', 'fortran_order': False, 'shape': (2, 3, 4), }", data: []), .unsupported, "unsupported dtype '|O' (Python objects)"),
        ("text", handMadeNPY(dictionary: "{'descr': '<U8', 'fortran_order': False, 'shape': (2, 3, 4), }", data: []), .unsupported, "unsupported dtype '<U8' (text)"),
        ("structured", handMadeNPY(dictionary: "{'descr': [('r', '|u1'), ('g', '|u1')], 'fortran_order': False, 'shape': (2, 3, 4), }", data: []),
         .unsupported, "unsupported dtype (structured array with named fields)"),
        ("one axis", handMadeNPY(dictionary: "{'descr': '|u1', 'fortran_order': False, 'shape': (5,), }", data: [1, 2, 3, 4, 5]), .unsupported,
         "an array of shape (5,) is not a volume (2 to 5 axes: (nz, ny, nx), (nt, nz, ny, nx), optionally components last)"),
        ("empty array", handMadeNPY(dictionary: "{'descr': '|u1', 'fortran_order': False, 'shape': (0, 3, 4), }", data: []), .unsupported,
         "the array of shape (0, 3, 4) is empty"),
    ] as [(String, [UInt8], MedVolError.Code, String)])
    func badNPY(name: String, bytes: [UInt8], code: MedVolError.Code, reason: String) throws {
        let folder = TemporaryFolder()
        let path = folder.file("bad.npy")
        writeFile(path, bytes)
        let error = medVolError { _ = try Volume(contentsOf: path) }
        #expect(error?.code == code, "\(name)")
        #expect(error?.description == "\(path): \(reason)", "\(name)")
    }

    @Test func missingFile() throws {
        let folder = TemporaryFolder()
        let error = medVolError { _ = try Volume(contentsOf: folder.file("none.npy")) }
        #expect(error?.code == .notFound)
        #expect(error?.description == "\(folder.file("none.npy")): no such file or folder")
    }

    // MARK: .npz

    @Test("an .npz holds image, spacing, origin, direction (and timeSpacing for 4D), stored or deflated")
    func archiveEntries() throws {
        let folder = TemporaryFolder()
        let volume = FormatFixtures.volume(.int16, geometry: FormatFixtures.obliqueGeometry4D)
        for compress in [false, true] {
            let path = folder.file("v\(compress).npz")
            #expect(try volume.write(to: path, options: .init(compress: compress)).paths == [path])
            let zip = try ZipReader(file: try ReadableFile(path: path))
            #expect(zip.entries.map(\.name) == ["image.npy", "spacing.npy", "origin.npy", "direction.npy", "timeSpacing.npy"])
            #expect(zip.entries.allSatisfy { $0.method == (compress ? 8 : 0) })
            let image = zip.entries[0]
            #expect(image.uncompressedSize == 128 + volume.byteCount)
            let header = NumPyArray.header(descriptor: "<i2", shape: [4, 3, 5, 6])
            let crc = volume.withUnsafeBytes { voxels in Zlib.crc32(voxels, continuing: header.withUnsafeBytes { Zlib.crc32($0) }) }
            #expect(image.crc32 == crc)
            let read = try Volume(contentsOf: path)
            expectSameVolume(read, volume, coordinateTolerance: 0, directionTolerance: 0)
            #expect(read.timeSpacing == 2.5)
            #expect(read.metadata.warnings.isEmpty)
        }
    }

    @Test("ZIP64 fields are written and read")
    func zip64() throws {
        let folder = TemporaryFolder()
        let volume = FormatFixtures.volume(.float32)
        _ = try NumPyArchive.write(volume, to: folder.file("z.npz"), options: .init(), forceZip64: true)
        let bytes = try ReadableFile(path: folder.file("z.npz")).readAll()
        // The ZIP64 end record and its locator precede the classic end record.
        #expect(bytes.suffix(22 + 20 + 56).prefix(4) == [0x50, 0x4B, 0x06, 0x06])
        #expect(bytes.suffix(22).prefix(4) == [0x50, 0x4B, 0x05, 0x06])
        #expect(Array(bytes[bytes.count - 14..<bytes.count - 2]) == [UInt8](repeating: 0xFF, count: 12))
        expectSameVolume(try Volume(contentsOf: folder.file("z.npz")), volume, coordinateTolerance: 0, directionTolerance: 0)
    }

    @Test("colour volumes: a 4-axis image without timeSpacing whose last axis is 3 is RGB")
    func colourArchive() throws {
        let folder = TemporaryFolder()
        let volume = FormatFixtures.volume(.uint8, components: 3)
        try volume.write(to: folder.file("c.npz"))
        let read = try Volume(contentsOf: folder.file("c.npz"))
        expectSameVolume(read, volume, coordinateTolerance: 0, directionTolerance: 0)
        let colour4D = FormatFixtures.volume(.uint8, geometry: FormatFixtures.obliqueGeometry4D, components: 3)
        try colour4D.write(to: folder.file("c4.npz"))
        expectSameVolume(try Volume(contentsOf: folder.file("c4.npz")), colour4D, coordinateTolerance: 0, directionTolerance: 0)
    }

    @Test("an .npz without geometry arrays gets defaults and a warning; without 'image' it is refused")
    func partialArchives() throws {
        let folder = TemporaryFolder()
        let image = handMadeNPY(dictionary: "{'descr': '|u1', 'fortran_order': False, 'shape': (5, 2, 3, 6), }", data: [UInt8](repeating: 7, count: 180))
        try writeZip(folder.file("a.npz"), entries: [("image.npy", image)])
        let volume = try Volume(contentsOf: folder.file("a.npz"))
        #expect(volume.size == [6, 3, 2, 5])
        #expect(volume.metadata.warnings == [
            .fourAxesWithoutTimeSpacing(path: folder.file("a.npz")),
            .missingGeometryArrays(path: folder.file("a.npz"), names: ["spacing", "origin", "direction"]),
        ])
        #expect(volume.metadata.warnings.map(\.description) == [
            "\(folder.file("a.npz")): 4-axis image without 'timeSpacing': read as (nt, nz, ny, nx) with time spacing 1",
            "\(folder.file("a.npz")) has no spacing, origin, direction array: spacing 1, origin 0, identity direction assumed where missing",
        ])
        try writeZip(folder.file("b.npz"), entries: [("arr_0.npy", image), ("notes.txt", [0x41])])
        let error = medVolError { _ = try Volume(contentsOf: folder.file("b.npz")) }
        #expect(error?.description == "\(folder.file("b.npz")): no array named 'image' (arrays: arr_0, notes.txt)")
    }

    @Test("damaged archives are errors naming the file")
    func damagedArchives() throws {
        let folder = TemporaryFolder()
        try FormatFixtures.volume(.int16).write(to: folder.file("ok.npz"))
        var bytes = try ReadableFile(path: folder.file("ok.npz")).readAll()
        let path = folder.file("bad.npz")

        bytes[200] ^= 0xFF  // a voxel byte of image.npy
        writeFile(path, bytes)
        #expect(medVolError { _ = try Volume(contentsOf: path) }?.description == "\(path): zip entry image.npy is damaged (CRC-32 mismatch)")

        writeFile(path, Array(bytes.prefix(bytes.count - 30)))
        let truncated = medVolError { _ = try Volume(contentsOf: path) }
        #expect(truncated?.path == path)
        #expect(truncated?.code == .unrecognizedFormat || truncated?.code == .corruptFile)

        writeFile(path, [])
        #expect(medVolError { _ = try Volume(contentsOf: path) }?.description == "\(path): not a zip (.npz) file: no end of central directory record")
        writeFile(path, (0..<4000).map { UInt8(truncatingIfNeeded: $0 * 7919 + 13) })
        #expect(medVolError { _ = try Volume(contentsOf: path) }?.code == .unrecognizedFormat)

        try FormatFixtures.volume(.int16).write(to: folder.file("z.npz"), options: .init(compress: true))
        var deflated = try ReadableFile(path: folder.file("z.npz")).readAll()
        let imageEntry = try ZipReader(file: try ReadableFile(path: folder.file("z.npz"))).entries[0]
        deflated[30 + 9 + imageEntry.compressedSize - 8] ^= 0x55  // near the end of image.npy's deflate stream
        writeFile(path, deflated)
        let error = medVolError { _ = try Volume(contentsOf: path) }
        #expect(error?.path == path)
        #expect(error?.code == .corruptFile)
    }
}

/// A minimal stored zip, assembled by hand, for archive reader tests.
func writeZip(_ path: String, entries: [(String, [UInt8])]) throws {
    var bytes: [UInt8] = [], central: [UInt8] = []
    for (name, data) in entries {
        let crc = data.withUnsafeBytes { Zlib.crc32($0) }
        let offset = bytes.count
        let common: [UInt8] = littleEndianBytes([UInt16(20), 0, 0, 0, 0x21]) + littleEndianBytes([crc, UInt32(data.count), UInt32(data.count)])
            + littleEndianBytes([UInt16(name.utf8.count), 0])
        bytes += littleEndianBytes([UInt32(0x0403_4B50)]) + common + Array(name.utf8) + data
        central += littleEndianBytes([UInt32(0x0201_4B50)]) + littleEndianBytes([UInt16(20)]) + common
            + littleEndianBytes([UInt16(0), 0, 0]) + littleEndianBytes([UInt32(0), UInt32(offset)]) + Array(name.utf8)
    }
    let directoryOffset = bytes.count
    bytes += central
    bytes += littleEndianBytes([UInt32(0x0605_4B50)]) + littleEndianBytes([UInt16(0), 0, UInt16(entries.count), UInt16(entries.count)])
        + littleEndianBytes([UInt32(central.count), UInt32(directoryOffset)]) + littleEndianBytes([UInt16(0)])
    writeFile(path, bytes)
}
