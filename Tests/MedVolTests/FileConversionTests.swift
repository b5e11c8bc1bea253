import Foundation
@testable import MedVol
import Testing

/// A source file for the conversion tests: a name and how it is made from the fixture volume.
struct ConversionSource: CustomTestStringConvertible, Sendable {
    let name: String
    let compress: Bool
    /// Whether medvol reads it positionally (any run, on any core) rather than front to back.
    let positional: Bool
    var testDescription: String { name + (compress ? " --compress" : "") }

    /// Writes `volume` as this source in `folder` and returns its path.
    func make(_ volume: Volume, in folder: TemporaryFolder) throws -> String {
        let path = folder.file("source/" + name)
        try FileSystem.createDirectory(FileSystem.parentDirectory(of: path))
        if name == "foreign.nii.gz" {
            // One gzip member without medvol's index, as gzip and other writers make it: read front to back.
            let plain = folder.file("source/plain.nii")
            try volume.write(to: plain)
            let bytes = try Data(contentsOf: URL(fileURLWithPath: plain))
            let member = try bytes.withUnsafeBytes { try LibDeflate.gzipMember($0, level: 6) }
            try Data(member).write(to: URL(fileURLWithPath: path))
        } else {
            try volume.write(to: path, options: VolumeWriteOptions(compress: compress))
        }
        return path
    }
}

/// An output of the conversion tests.
struct ConversionTarget: CustomTestStringConvertible, Sendable {
    let name: String
    let compress: Bool
    var testDescription: String { name + (compress ? " --compress" : "") }
    var options: VolumeWriteOptions { VolumeWriteOptions(compress: compress) }
}

let conversionSources: [ConversionSource] = [
    .init(name: "s.mhd", compress: false, positional: true), .init(name: "s.mhd", compress: true, positional: false),
    .init(name: "s.mha", compress: false, positional: true), .init(name: "s.mha", compress: true, positional: false),
    .init(name: "s.nii", compress: false, positional: true), .init(name: "s.nii.gz", compress: false, positional: true),
    .init(name: "foreign.nii.gz", compress: false, positional: false), .init(name: "s.hdr", compress: false, positional: true),
    .init(name: "s.nrrd", compress: false, positional: true), .init(name: "s.nrrd", compress: true, positional: true),
    .init(name: "s.nhdr", compress: false, positional: true), .init(name: "s.nhdr", compress: true, positional: true),
    .init(name: "s.npy", compress: false, positional: true), .init(name: "s.npz", compress: false, positional: false),
    .init(name: "s.npz", compress: true, positional: false),
]

let conversionTargets: [ConversionTarget] = [
    .init(name: "o.npy", compress: false), .init(name: "o.nii", compress: false), .init(name: "o.nii.gz", compress: false),
    .init(name: "o.mha", compress: false), .init(name: "o.mha", compress: true), .init(name: "o.nrrd", compress: true), .init(name: "o.mhd", compress: true),
    .init(name: "o.hdr", compress: false), .init(name: "o.npz", compress: false), .init(name: "o.npz", compress: true),
]

/// Every file in `folder`, by name, with its bytes.
private func filesIn(_ folder: String) throws -> [String: Data] {
    let names = try FileManager.default.contentsOfDirectory(atPath: folder)
    return try Dictionary(uniqueKeysWithValues: names.map { ($0, try Data(contentsOf: URL(fileURLWithPath: folder + "/" + $0))) })
}

@Suite("Volume file → volume file, a run of slices at a time")
struct FileConversionTests {
    /// 4D, 128×100×12×8 int16 (2.5 MB): three blocks of whole slices (not a divisor of 1 MiB) for
    /// compressed outputs and, with runs of ``OpenedVolumeFile/uncompressedRunBytes``, one run; the run
    /// tests below use smaller runs.
    static let volume = FormatFixtures.volume(.int16, geometry: ImageGeometry(
        size: [128, 100, 12, 8], spacing: SIMD3(0.9, 0.8, 2.5), origin: SIMD3(-40.5, 12.25, 7),
        direction: FormatFixtures.rotation(), timeSpacing: 2))
    static let sliceBytes = 128 * 100 * 2

    @Test("the same files as reading then writing, streamed when reader and writer allow",
          arguments: conversionSources, conversionTargets)
    func sameBytesAsLoadedWrite(source: ConversionSource, target: ConversionTarget) throws {
        let folder = TemporaryFolder()
        let input = try source.make(Self.volume, in: folder)
        try FileSystem.createDirectory(folder.file("loaded"))
        try FileSystem.createDirectory(folder.file("converted"))
        let loaded = try Volume(contentsOf: input).write(to: folder.file("loaded/" + target.name), options: target.options)
        let converted = try Volume.convert(contentsOf: input, to: folder.file("converted/" + target.name), options: target.options)
        let expected = try filesIn(folder.file("loaded")), written = try filesIn(folder.file("converted"))
        #expect(written.keys.sorted() == expected.keys.sorted())
        for (name, bytes) in expected { #expect(written[name] == bytes, "\(name): the same bytes") }
        #expect(converted.paths.map { FileSystem.lastComponent(of: $0) } == loaded.paths.map { FileSystem.lastComponent(of: $0) })
        #expect(converted.info.geometry == loaded.info.geometry && converted.info.pixelType == .int16)
        // Streamed unless only a front-to-back inflate would feed a compressed output (which would then
        // compress on one core).
        let compresses = target.compress || target.name.hasSuffix(".gz")
        #expect(converted.streamed == (source.positional || !compresses))
        #expect(!loaded.streamed)
    }

    @Test("runs of a few slices, out of order on every core, give the same file", arguments: [1, 7, 96])
    func smallRuns(slotsPerRun: Int) throws {
        let folder = TemporaryFolder()
        for (source, target) in [("s.nii.gz", "o.npy"), ("s.nrrd", "o.nii"), ("s.npz", "o.mha"), ("s.nii", "o.nii.gz")] {
            let input = folder.file(source)
            try Self.volume.write(to: input, options: VolumeWriteOptions(overwrite: true, compress: source.hasSuffix(".nrrd")))
            let opened = try #require(try OpenedVolumeFile.open(input, format: VolumeFileFormat(path: input)!))
            let path = folder.file("runs-" + target)
            let streamed = try #require(StreamedVolumeFile(path: path, format: VolumeFileFormat(path: path)!, options: VolumeWriteOptions()))
            let result = try #require(try opened.stream(into: streamed, options: VolumeWriteOptions(), runBytes: slotsPerRun * Self.sliceBytes))
            #expect(result.streamed)
            let read = try Volume(contentsOf: path)
            let same = FormatFixtures.bytes(of: read) == FormatFixtures.bytes(of: Self.volume)
            #expect(same, "\(source) → \(target): the voxels")
        }
    }

    @Test("scaled NIfTI values and big-endian NRRD are converted run by run as when loaded")
    func convertedValues() throws {
        let folder = TemporaryFolder()
        // scl_slope 0.5, scl_inter -1024 (bytes 112 and 116 of the header): float32 values, as ITK scales them.
        let plain = folder.file("plain.nii")
        try Self.volume.write(to: plain)
        var nifti = try Data(contentsOf: URL(fileURLWithPath: plain))
        withUnsafeBytes(of: Float(0.5).bitPattern.littleEndian) { nifti.replaceSubrange(112..<116, with: $0) }
        withUnsafeBytes(of: Float(-1024).bitPattern.littleEndian) { nifti.replaceSubrange(116..<120, with: $0) }
        let scaled = folder.file("scaled.nii")
        try nifti.write(to: URL(fileURLWithPath: scaled))
        // The same voxels, big-endian, in a NRRD written by hand.
        let size = Self.volume.size
        var header = "NRRD0004\ntype: short\ndimension: 4\nspace dimension: 4\nsizes: \(size.map(String.init).joined(separator: " "))\n"
        header += "space directions: (0.9,0,0,0) (0,0.8,0,0) (0,0,2.5,0) (0,0,0,2)\nendian: big\nencoding: raw\nspace origin: (1,2,3,0)\n\n"
        var bigEndian = Data(header.utf8)
        Self.volume.withUnsafeBytes { raw in
            for index in 0..<(raw.count / 2) {
                let value = raw.load(fromByteOffset: index * 2, as: Int16.self).bigEndian
                withUnsafeBytes(of: value) { bigEndian.append(contentsOf: $0) }
            }
        }
        let swapped = folder.file("big.nrrd")
        try bigEndian.write(to: URL(fileURLWithPath: swapped))

        for input in [scaled, swapped] {
            let output = input + ".npy"
            let result = try Volume.convert(contentsOf: input, to: output)
            #expect(result.streamed)
            let loaded = try Volume(contentsOf: input)
            let read = try Volume(contentsOf: output)
            #expect(read.pixelType == loaded.pixelType)
            let same = FormatFixtures.bytes(of: read) == FormatFixtures.bytes(of: loaded)
            #expect(same, "\(input): the loaded voxels")
        }
        let read = try Volume(contentsOf: scaled + ".npy")
        #expect(read.pixelType == .float32)
        let original = Self.volume.value(5, 4, 3, 2)
        #expect(read.value(5, 4, 3, 2) == Double(Float(original * 0.5 - 1024)))
        #expect(original != 0)
        let big = try Volume(contentsOf: swapped + ".npy")
        #expect(big.value(127, 99, 11, 7) == Self.volume.value(127, 99, 11, 7))
        #expect(big.value(1, 0, 0, 0) == Self.volume.value(1, 0, 0, 0))
        #expect(big.geometry.origin == SIMD3(1, 2, 3))
    }

    @Test("the async call writes what the synchronous one writes")
    func asyncConversion() async throws {
        let folder = TemporaryFolder()
        let input = folder.file("s.nii.gz")
        // In an async function Swift picks the async overloads: the synchronous calls go through a function of their own.
        func synchronously(_ body: () throws -> Void) rethrows { try body() }
        try synchronously {
            try Self.volume.write(to: input)
            try Volume.convert(contentsOf: input, to: folder.file("s.nrrd"))
        }
        let result = try await Volume.convert(contentsOf: input, to: folder.file("a.nrrd"))
        #expect(result.streamed)
        #expect(try Data(contentsOf: URL(fileURLWithPath: folder.file("a.nrrd"))) == Data(contentsOf: URL(fileURLWithPath: folder.file("s.nrrd"))))
    }

    @Test("a Fortran-order .npy is read whole, then written")
    func fortranOrderIsLoaded() throws {
        let folder = TemporaryFolder()
        // (nz, ny, nx) = (2, 3, 4) in Fortran order: the first axis varies fastest.
        let dictionary = "{'descr': '<i2', 'fortran_order': True, 'shape': (2, 3, 4), }"
        var text = Array(dictionary.utf8)
        while (10 + text.count + 1) % 64 != 0 { text.append(0x20) }
        text.append(0x0A)
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(text.count & 0xFF), UInt8(text.count >> 8)] + text
        for index in 0..<24 { bytes += [UInt8(index), 0] }
        let input = try folder.write("f.npy", bytes)
        let result = try Volume.convert(contentsOf: input, to: folder.file("c.nii"))
        #expect(!result.streamed)
        let read = try Volume(contentsOf: folder.file("c.nii"))
        // C-order element (z, y, x) is Fortran element z + 2 y + 6 x.
        #expect(read.value(3, 2, 1) == Double(1 + 2 * 2 + 6 * 3))
    }

    @Test("a damaged source leaves no output", arguments: ["s.npz", "s.nii.gz", "foreign.nii.gz"])
    func damagedSourceLeavesNothing(name: String) throws {
        let folder = TemporaryFolder()
        let input = try ConversionSource(name: name, compress: false, positional: false).make(Self.volume, in: folder)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: input))
        switch name {
        case "s.npz": bytes[bytes.count / 2] ^= 0xFF  // a stored voxel, found by the entry's CRC-32 once all are written
        case "s.nii.gz": bytes[bytes.count * 2 / 3] ^= 0xFF  // inside a later member's deflate data
        default: bytes = bytes.prefix(bytes.count * 2 / 3)  // a gzip stream cut short
        }
        try bytes.write(to: URL(fileURLWithPath: input))
        try FileSystem.createDirectory(folder.file("out"))
        let error = medVolError { _ = try Volume.convert(contentsOf: input, to: folder.file("out/o.npy")) }
        #expect(error?.path == input, "the error names the source: \(String(describing: error))")
        #expect(folder.contents(of: folder.file("out")).isEmpty)
    }
}
