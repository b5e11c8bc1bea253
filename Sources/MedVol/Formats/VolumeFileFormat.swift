/// The file formats medvol reads and writes.
public enum VolumeFileFormat: String, Sendable, CaseIterable {
    /// A DICOM series (a folder of slice files). Never inferred from a path.
    case dicom
    /// MetaImage header `.mhd` with its voxels in `.raw` (`.zraw` when compressed).
    case metaImage
    /// MetaImage in one file, `.mha`.
    case metaImageSingleFile
    /// NIfTI-1, `.nii`.
    case nifti
    /// NIfTI-1, gzip-compressed, `.nii.gz`.
    case niftiCompressed
    /// NIfTI-1 as a pair of files: the header `.hdr` (magic "ni1") and the voxels `.img`. Read also
    /// when the path names the `.img`; an Analyze 7.5 `.hdr` is read through ITK.
    case niftiPair
    /// NRRD in one file, `.nrrd`.
    case nrrd
    /// NRRD header `.nhdr` with its voxels in `.raw` (`.raw.gz` when compressed).
    case nrrdDetached
    /// NumPy array `.npy`, with the geometry in a `.json` sidecar.
    case numpy
    /// NumPy archive `.npz` holding `image`, `spacing`, `origin`, `direction`.
    case numpyArchive

    /// The format a path's extension names (case-insensitive), or nil. DICOM is never inferred.
    public init?(path: String) {
        let name = FileSystem.lastComponent(of: path).lowercased()
        // Longest extension first, so that "x.nii.gz" is not taken for something ending in ".gz".
        let byLength = Self.allCases.filter { $0 != .dicom }.sorted { $0.fileExtension.count > $1.fileExtension.count }
        guard let format = byLength.first(where: { name.hasSuffix("." + $0.fileExtension) && name.count > $0.fileExtension.count + 1 })
        else {
            // The voxel file of a pair names the pair too.
            guard name.hasSuffix(".img"), name.count > 4 else { return nil }
            self = .niftiPair
            return
        }
        self = format
    }

    /// The format named by a `--format` value: "dicom", "mhd", "mha", "nii", "nii.gz", "nifti", "nrrd",
    /// "nhdr", "hdr" (or "img"), "npy", "npz" (case-insensitive, a leading dot allowed).
    public init?(name: String) {
        var key = name.lowercased()
        if key.hasPrefix(".") { key.removeFirst() }
        switch key {
        case "dicom", "dcm": self = .dicom
        case "mhd": self = .metaImage
        case "mha": self = .metaImageSingleFile
        case "nii", "nifti": self = .nifti
        case "nii.gz": self = .niftiCompressed
        case "hdr", "img": self = .niftiPair
        case "nrrd": self = .nrrd
        case "nhdr": self = .nrrdDetached
        case "npy": self = .numpy
        case "npz": self = .numpyArchive
        default: return nil
        }
    }

    /// The extension without its dot: "mhd", "nii.gz", … ("" for DICOM).
    public var fileExtension: String {
        switch self {
        case .dicom: ""
        case .metaImage: "mhd"
        case .metaImageSingleFile: "mha"
        case .nifti: "nii"
        case .niftiCompressed: "nii.gz"
        case .niftiPair: "hdr"
        case .nrrd: "nrrd"
        case .nrrdDetached: "nhdr"
        case .numpy: "npy"
        case .numpyArchive: "npz"
        }
    }
}

/// How `Volume.write(to:format:options:)` writes.
public struct VolumeWriteOptions: Sendable {
    /// Replace existing outputs (otherwise an existing output is an `.outputExists` error and nothing
    /// is written).
    public var overwrite = false
    /// Compress where the format allows it: `.zraw` for `.mhd`, compressed data in `.mha`, gzip for
    /// NRRD, deflate for `.npz`. `.nii.gz` is always compressed and `.nii`, `.npy` never are.
    public var compress = false
    /// The deflate level of gzip outputs written in Swift (`.nii.gz`, gzip NRRD): 1 (fastest) … 12 (smallest);
    /// nil to choose it for each volume: the fastest libdeflate level whose output, on samples of the
    /// volume, is no larger than zlib's default level makes (what dcm2niix and pigz write) — level 4 on a
    /// typical CT, 7 on a typical MR.
    public var compressionLevel: Int?
    /// With a NIfTI output of a DICOM stack, also write dcm2niix's BIDS sidecar `NAME.json` (see
    /// ``BIDSSidecar``) and, for diffusion series, `NAME.bval` and `NAME.bvec` (FSL convention, in the
    /// written image's voxel axes) — in the same transaction as the image. Other outputs refuse it.
    public var bidsSidecar = false
    /// Text files written beside the outputs in the same transaction (the BIDS sidecars).
    var companions: [CompanionFile] = []

    /// Options with the given ``overwrite``, ``compress`` and ``compressionLevel`` settings.
    public init(overwrite: Bool = false, compress: Bool = false, compressionLevel: Int? = nil, bidsSidecar: Bool = false) {
        self.overwrite = overwrite
        self.compress = compress
        self.compressionLevel = compressionLevel
        self.bidsSidecar = bidsSidecar
    }

    /// The level to compress at: ``compressionLevel``, else chosen for each volume.
    var gzipLevel: GzipLevel { compressionLevel.map(GzipLevel.fixed) ?? .matchingZlibDefault }
}

extension Volume {
    /// Reads a MetaImage, NIfTI, NRRD or NumPy file; the format comes from the extension unless given.
    ///
    /// For `.npy`, the geometry comes from the `.json` sidecar beside it (without one: spacing 1,
    /// origin 0, identity direction, and a warning in `metadata.warnings`). With `.dicom`, `path` may be
    /// a file, a folder or a DICOMDIR holding exactly one stack (use ``DICOMScan`` to choose among several).
    public init(contentsOf path: String, format: VolumeFileFormat? = nil) throws {
        guard let format = format ?? VolumeFileFormat(path: path) else {
            throw MedVolError(.unrecognizedFormat, path: path,
                              reason: "unknown file extension (medvol reads .mhd, .mha, .nii, .nii.gz, .hdr/.img, .nrrd, .nhdr, .npy, .npz)")
        }
        switch format {
        case .dicom:
            let scan = try DICOMScan(paths: [path])
            guard scan.stacks.count == 1 else {
                throw scan.stacks.isEmpty
                    ? MedVolError(.noImages, path: path, reason: "no DICOM images found")
                    : MedVolError(.ambiguousInput, path: path, reason: "holds \(scan.stacks.count) stacks; choose one with DICOMScan")
            }
            self = try scan.stacks[0].load()
        default:
            // medvol's own readers; ITK's for what they leave to it (NIfTI-2, Analyze, colour NRRD, other
            // MetaImage fields, …; see each reader).
            if let opened = try OpenedVolumeFile.open(path, format: format) {
                self = try opened.load()
            } else {
                self = try ITKImageFile.read(path: format == .niftiPair ? NIfTIFile.PairPaths(path).header : path, format: format)
            }
        }
    }

    /// Writes the volume; the result lists every path written, data files before the headers that name
    /// them (e.g. `[x.raw, x.mhd]`, `[x.npy, x.json]`), and what a reader of the output should know.
    ///
    /// The format comes from the extension unless given; when it is given and the path has no extension
    /// of a known format, its extension is appended (`"scan"` → `"scan.nii.gz"`). All outputs appear at
    /// once or not at all (they are written under a temporary name, then renamed), and existing outputs
    /// are refused with an `.outputExists` error unless `options.overwrite` is set. With `.dicom`, `path`
    /// is the folder that receives the series (see ``DICOMSeriesWriter`` for more options).
    @discardableResult
    public func write(to path: String, format: VolumeFileFormat? = nil,
                      options: VolumeWriteOptions = .init()) throws -> WriteResult {
        let named = VolumeFileFormat(path: path)
        guard let format = format ?? named else {
            throw MedVolError(.invalidArgument, path: path,
                              reason: "cannot tell the format from the extension (use .mhd, .mha, .nii, .nii.gz, .hdr, .nrrd, .nhdr, .npy or .npz)")
        }
        if let named, named != format {
            throw MedVolError(.invalidArgument, path: path,
                              reason: "the extension says \(named.fileExtension) but the format asked for is \(format.rawValue)")
        }
        if format == .dicom {
            let report = try DICOMSeriesWriter.write(self, toDirectory: path, options: DICOMSeriesWriteOptions(overwrite: options.overwrite))
            return WriteResult(dicomSeries: report, volume: self)
        }
        return WriteResult(paths: try writeFile(to: named == nil ? path + "." + format.fileExtension : path, format: format, options: options),
                           info: VolumeInfo(self), streamed: false)
    }

    /// Writes one volume file (every format but DICOM) at `target` and returns the paths written.
    private func writeFile(to target: String, format: VolumeFileFormat, options: VolumeWriteOptions) throws -> [String] {
        var target = target
        if format == .niftiPair { target = NIfTIFile.PairPaths(target).header }
        switch format {
        case .dicom:
            preconditionFailure("a DICOM series is written by DICOMSeriesWriter")
        case .metaImage, .metaImageSingleFile:
            return try MetaImageWriter.write(self, to: target, singleFile: format == .metaImageSingleFile, options: options)
        case .nifti, .niftiCompressed:
            return try NIfTIFile.write(self, to: target, compressed: format == .niftiCompressed,
                                       level: options.gzipLevel, options: options)
        case .niftiPair:
            return try NIfTIFile.writePair(self, to: NIfTIFile.PairPaths(target), options: options)
        case .nrrd, .nrrdDetached:
            return try NRRDFile.write(self, to: target, detached: format == .nrrdDetached, compress: options.compress,
                                      level: options.gzipLevel, options: options)
        case .numpy:
            return try NumPyFile.write(self, to: target, options: options)
        case .numpyArchive:
            return try NumPyArchive.write(self, to: target, options: options)
        }
    }
}

/// Refuses a voxel buffer larger than ``ReadingLimits/maximumMemory`` (or the machine's physical memory):
/// a damaged or hostile header could otherwise ask for an allocation that fails, which ends the process
/// instead of throwing, or fills the machine's memory.
func checkVoxelBufferFitsInMemory(_ byteCount: Int, path: String) throws {
    try ReadingLimits.checkAllocation(byteCount, path: path)
    guard let memory = VoxelMath.physicalMemory, byteCount > memory else { return }
    throw MedVolError.unsupported(path, "the voxels take \(byteCount) bytes, more than this machine's \(memory) bytes of memory")
}

/// A small text file written with an output, in its transaction.
struct CompanionFile: Sendable, Equatable {
    var path: String
    var text: String

    /// Writes every companion into its staging place in `transaction`.
    static func write(_ companions: [CompanionFile], in transaction: OutputTransaction) throws {
        for companion in companions {
            let file = try WritableFile(creating: transaction.stagingPath(for: companion.path))
            try file.write(companion.text)
            try file.close()
        }
    }
}
