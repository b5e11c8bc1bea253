#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the coverage-guided fuzzers (`Sources/MedVolFuzz`, docs/fuzzing.md) run on one input: each
/// target hands the bytes to one of the Swift readers exactly as a file on disk would reach it, and
/// returns normally whatever the reader makes of them — an error thrown for bad input is the expected
/// outcome; only a crash, a trap, a sanitizer report, a hang or a runaway allocation is a finding.
///
/// `package` rather than `public`: the fuzzers are in this package, and the readers stay internal.
package enum FuzzTarget: String, CaseIterable, Sendable {
    /// DICOM parser (every element, then header only), the dump of the parsed file, and the header scan
    /// (frame extraction, pixel data length checks, codestream checks of encapsulated frames).
    case dicom
    /// A whole DICOM file scanned and loaded: native, deflated and RLE pixel data decoded in Swift
    /// (files with JPEG-family pixel data stop after the scan's codestream checks; their decoders are
    /// C libraries in worker processes, out of the fuzzers' scope).
    case dicomPixels = "dicom-pixels"
    /// The DICOMDIR reader: records, the series they describe, the referenced files located.
    case dicomdir
    /// The RLE Lossless decoder on one frame; the first two bytes choose the frame's layout.
    case rle
    /// Encapsulated pixel data: items, Basic Offset Table and fragments split into frames, each frame
    /// checked by ``CodestreamCheck`` (JPEG, JPEG-LS, JPEG 2000) or decoded as RLE.
    case encapsulated
    /// NIfTI-1/-2 (`.nii`, or `.nii.gz` when the input starts with the gzip magic).
    case nifti
    /// MetaImage header (`.mha`; a detached `ElementDataFile` may name `fuzz.raw` beside it).
    case metaimage
    /// NRRD (attached, or detached to `fuzz.raw`; raw or gzip).
    case nrrd
    /// NumPy `.npy`, or `.npz` when the input starts with a zip signature.
    case numpy

    /// The limit on what one input's headers may make a reader allocate in a fuzzing process, far below
    /// libFuzzer's limits (`-malloc_limit_mb=1024`, `-rss_limit_mb=2048`): an input that makes a reader
    /// allocate more than a GiB all the same has escaped ``ReadingLimits`` and is a finding.
    package static let maximumMemory = 64 << 20

    /// Sets ``ReadingLimits/maximumMemory`` to ``maximumMemory`` (process-wide: fuzzing processes only).
    package static func limitMemoryForFuzzing() { ReadingLimits.maximumMemory = maximumMemory }

    /// A folder of its own per process (in `$TMPDIR`, else /tmp) for the files the targets read, with a
    /// 4 KiB `fuzz.raw` that detached headers may name; call once before ``run(_:scratch:)``.
    package static func makeScratchFolder() throws -> String {
        let parent = getenv("TMPDIR").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        let folder = try FileSystem.makeTemporaryDirectory(in: parent, prefix: "medvol-fuzz-")
        let raw = try WritableFile(creating: folder + "/fuzz.raw")
        try raw.write((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 37) })
        try raw.close()
        return folder
    }

    /// Removes a folder made by ``makeScratchFolder()``.
    package static func removeScratchFolder(_ folder: String) { FileSystem.remove(folder) }

    /// Runs the target on `bytes`, with files written under `scratch` (see ``makeScratchFolder()``);
    /// returns the error the reader refused the input with, or nil when it read it.
    @discardableResult
    package func run(_ bytes: UnsafeRawBufferPointer, scratch: String) -> (any Error)? {
        do {
            switch self {
            case .dicom: try Self.dicom(try Self.write(bytes, to: scratch + "/fuzz.dcm"))
            case .dicomPixels: try Self.dicomPixels(try Self.write(bytes, to: scratch + "/fuzz.dcm"))
            case .dicomdir: try Self.dicomdir(try Self.write(bytes, to: scratch + "/DICOMDIR"))
            case .rle: try Self.rle(Array(bytes))
            case .encapsulated: try Self.encapsulated(Array(bytes))
            case .nifti:
                let compressed = bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B
                let path = try Self.write(bytes, to: scratch + (compressed ? "/fuzz.nii.gz" : "/fuzz.nii"))
                _ = try NIfTIFile.open(path: path, file: ReadableFile(path: path), compressed: compressed)?.load()
            case .metaimage: _ = try MetaImageReader.open(path: try Self.write(bytes, to: scratch + "/fuzz.mha"))?.load()
            case .nrrd:
                let path = try Self.write(bytes, to: scratch + "/fuzz.nrrd")
                _ = try NRRDFile.open(path: path, file: ReadableFile(path: path))?.load()
            case .numpy:
                if bytes.count >= 4, bytes[0] == 0x50, bytes[1] == 0x4B {
                    _ = try NumPyArchive.open(path: try Self.write(bytes, to: scratch + "/fuzz.npz")).load()
                } else {
                    _ = try NumPyFile.open(path: try Self.write(bytes, to: scratch + "/fuzz.npy")).load()
                }
            }
        } catch {
            // Bad input is refused with an error: what every reader must do.
            return error
        }
        return nil
    }

    private static func write(_ bytes: UnsafeRawBufferPointer, to path: String) throws -> String {
        let file = try WritableFile(creating: path)
        try file.write(bytes)
        try file.close()
        return path
    }

    private static func dicom(_ path: String) throws {
        if let file = try? DICOMFile.read(path: path, extent: .everything) {
            let dump = DICOMDump(file: file)
            _ = dump.entries.count
        }
        _ = try? DICOMFile.read(path: path, extent: .headerOnly)
        let scan = try DICOMScan(paths: [path])
        for stack in scan.stacks { _ = (stack.state.error, stack.geometry, stack.warnings.map(\.description), stack.formation.description) }
    }

    private static func dicomPixels(_ path: String) throws {
        let header = try DICOMFile.read(path: path, extent: .headerOnly)
        guard header.transferSyntax.pixelEncoding != .codec else { return }
        let scan = try DICOMScan(paths: [path])
        for stack in scan.stacks where stack.state.error == nil {
            _ = try? stack.load()
            _ = try? stack.load(options: DICOMLoadOptions(storedValues: true))
        }
    }

    private static func dicomdir(_ path: String) throws {
        let directory = try DICOMDirectory(path: path)
        for series in directory.series { _ = (series.files, series.missingFiles, series.rows) }
        _ = try DICOMDirectory.referencedFilesIfDirectory(path)
    }

    /// Layout byte: bit 0 samples per pixel (1 or 3), bits 1–2 bytes per sample (1, 2, 4); then columns
    /// (1–64) and rows (1–64); the rest is the frame.
    private static func rle(_ bytes: [UInt8]) throws {
        guard bytes.count >= 3 else { return }
        let samples = bytes[0] & 1 == 0 ? 1 : 3
        let bytesPerSample = [1, 2, 4, 2][Int(bytes[0] >> 1) & 3]
        let pixels = (Int(bytes[1] & 63) + 1) * (Int(bytes[2] & 63) + 1)
        let output = UnsafeMutableRawBufferPointer.allocate(byteCount: pixels * samples * bytesPerSample, alignment: 16)
        defer { output.deallocate() }
        try RLEDecoder.decode(Array(bytes[3...]), pixels: pixels, samplesPerPixel: samples,
                              bytesPerSample: bytesPerSample, into: output, path: "fuzz.rle")
    }

    /// First byte: frame count (bits 0–2, 1–8) and what each frame is (bits 3–4: JPEG, JPEG-LS,
    /// JPEG 2000, RLE); then columns and rows (1–256 each); the rest is the pixel data value from its
    /// first item tag on.
    private static func encapsulated(_ bytes: [UInt8]) throws {
        guard bytes.count >= 3 else { return }
        let frameCount = Int(bytes[0] & 7) + 1
        let kind = Int(bytes[0] >> 3) & 3
        let columns = Int(bytes[1]) + 1, rows = Int(bytes[2]) + 1
        let source = WindowedPixelReader(.memory(Array(bytes[3...]), path: "fuzz.dcm"))
        let frames = try EncapsulatedPixelData.frameFragments(source: source, start: 0, frameCount: frameCount)
        for fragments in frames.prefix(frameCount) {
            var frame = FrameBytes(source: source, fragments: fragments)
            switch kind {
            case 0: _ = try CodestreamCheck.problem(&frame, family: .jpeg, rows: rows, columns: columns)
            case 1: _ = try CodestreamCheck.problem(&frame, family: .jpegLS, rows: rows, columns: columns)
            case 2: _ = try CodestreamCheck.problem(&frame, family: .jpeg2000, rows: rows, columns: columns)
            default:
                let data = try EncapsulatedPixelData.frameBytes(source: source.source, fragments: fragments)
                let output = UnsafeMutableRawBufferPointer.allocate(byteCount: rows * columns * 2, alignment: 16)
                defer { output.deallocate() }
                try? RLEDecoder.decode(data, pixels: rows * columns, samplesPerPixel: 1, bytesPerSample: 2,
                                       into: output, path: "fuzz.dcm")
            }
        }
    }
}

// MARK: - Seed corpus

extension FuzzTarget {
    /// Writes the library-made seeds of every target under `root/<target>/`: small phantoms (CT int16,
    /// MR uint16, 12×10×3 voxels) in every format the Swift writers make, and DICOM series in explicit and
    /// implicit VR. `scripts/fuzz.sh` adds what other tools make (RLE, JPEG, JPEG-LS, JPEG 2000, deflate,
    /// a DICOMDIR), then calls ``extractPixelSeeds(root:)``.
    package static func writeSeeds(root: String) throws {
        var created: [String] = []
        for target in allCases { try FileSystem.createDirectory(root + "/" + target.rawValue, created: &created) }
        let staging = try FileSystem.makeTemporaryDirectory(in: root, prefix: ".staging-")
        defer { FileSystem.remove(staging) }
        let volumes = [("ct", Phantom.ct(size: [12, 10, 3])), ("mr", Phantom.mr(size: [12, 10, 3]))]
        let outputs: [(String, FuzzTarget, VolumeFileFormat, Bool)] = [
            ("nii", .nifti, .nifti, false), ("nii.gz", .nifti, .niftiCompressed, true),
            ("mha", .metaimage, .metaImageSingleFile, false), ("nrrd", .nrrd, .nrrd, false),
            ("gz.nrrd", .nrrd, .nrrd, true), ("npy", .numpy, .numpy, false), ("npz", .numpy, .numpyArchive, true),
        ]
        for (name, volume) in volumes {
            for (suffix, target, format, compress) in outputs {
                let path = "\(staging)/\(name)-\(suffix.replacingDots).\(format.fileExtension)"
                for written in try volume.write(to: path, format: format, options: VolumeWriteOptions(compress: compress)).paths
                where !written.hasSuffix(".json") {
                    try FileSystem.rename(written, to: "\(root)/\(target.rawValue)/\(FileSystem.lastComponent(of: written))")
                }
            }
            for (syntaxName, syntax) in [("explicit", TransferSyntax.explicitVRLittleEndian), ("implicit", .implicitVRLittleEndian)] {
                let folder = "\(staging)/\(name)-\(syntaxName)"
                let report = try DICOMSeriesWriter.write(volume, toDirectory: folder,
                                                         options: DICOMSeriesWriteOptions(transferSyntax: syntax))
                for target in [FuzzTarget.dicom, .dicomPixels] {
                    let bytes = try ReadableFile(path: report.paths[0]).readAll()
                    let file = try WritableFile(creating: "\(root)/\(target.rawValue)/\(name)-\(syntaxName).dcm")
                    try file.write(bytes)
                    try file.close()
                }
            }
        }
    }

    /// For every encapsulated DICOM seed in `root/dicom/`: its pixel data (from the first item on) as an
    /// `encapsulated` seed with the layout bytes that target reads, and the first frame of RLE files as
    /// an `rle` seed.
    package static func extractPixelSeeds(root: String) throws {
        for name in try FileSystem.listDirectory(root + "/dicom") {
            guard let header = try? DICOMFile.read(path: root + "/dicom/" + name, extent: .everything),
                  case .encapsulatedPixelData(let offset) = header.pixelDataElement?.value,
                  let format = try? StoredPixelFormat(header.dataSet, path: header.path) else { continue }
            let source = try PixelByteSource(header)
            let value = try source.read(count: source.size - offset, at: offset)
            let kind: UInt8
            switch header.transferSyntax.pixelEncoding {
            case .rle: kind = 3
            case .codec:
                switch CodecFamily(header.transferSyntax) {
                case .jpeg: kind = 0
                case .jpegLS: kind = 1
                case .jpeg2000: kind = 2
                }
            default: continue
            }
            let frames = max(1, min(8, header.dataSet.int(.numberOfFrames) ?? 1))
            let layout = [UInt8(frames - 1) | kind << 3, UInt8(min(255, format.columns - 1)), UInt8(min(255, format.rows - 1))]
            try write(layout + value, to: "\(root)/encapsulated/\(name)")
            if kind == 3, let fragments = try EncapsulatedPixelData.frameFragments(source: source, start: offset, frameCount: 1).first {
                let frame = try EncapsulatedPixelData.frameBytes(source: source, fragments: fragments)
                let samples: UInt8 = format.samplesPerPixel == 3 ? 1 : 0
                let width: UInt8 = format.bitsAllocated == 8 ? 0 : format.bitsAllocated == 16 ? 1 : 2
                let rleLayout = [samples | width << 1, UInt8(min(63, format.columns - 1)), UInt8(min(63, format.rows - 1))]
                try write(rleLayout + frame, to: "\(root)/rle/\(name)")
            }
        }
    }

    private static func write(_ bytes: [UInt8], to path: String) throws {
        _ = try bytes.withUnsafeBytes { try write($0, to: path) }
    }
}

private extension String {
    var replacingDots: String { split(separator: ".").joined(separator: "-") }
}
