/// An output file that receives its voxels slice by slice, at offsets known in advance, and its header
/// last — so that a conversion never holds the whole volume: each decoded slice goes straight to its
/// place in the file (the way `cat` moves bytes), and the header, which depends on the voxel type that
/// the values decide, is written once they are all in.
///
/// Six layouts qualify: MetaImage `.mhd` + `.raw`, NIfTI `.hdr` + `.img` and NRRD `.nhdr` + `.raw`/`.raw.gz`
/// (the header is a file of its own), NumPy `.npy`
/// (the header's length depends only on the shape: every dtype name has three characters), NIfTI `.nii`
/// (a 352-byte header before the voxels) and `.nii.gz` (slices gathered into blocks that are compressed
/// on every core as they fill, the header stored in a first gzip member of known size, see
/// ``IndexedGzip``). Compressed or single-file MetaImage and single-file NRRD (whose header length
/// depends on the voxel type's name) are written from a loaded volume.
struct StreamedVolumeFile {
    enum Layout: Equatable {
        case metaImage
        case numpy
        case nifti
        /// `.hdr` (written last) with the voxels in `.img`.
        case niftiPair
        /// `.nii.gz` at a libdeflate level.
        case niftiCompressed(level: GzipLevel)
        /// `.nhdr` with `.raw` (or `.raw.gz` at a libdeflate level): the data file streamed, the header last.
        case nrrdDetached(compressLevel: GzipLevel?)
    }

    let layout: Layout
    /// The path of the header (`x.mhd`, `x.npy`, `x.hdr`, …).
    let path: String
    /// Text files written with the image (BIDS sidecars).
    var companions: [CompanionFile] = []

    /// The streamed layout for `format`, or nil when the format cannot be written this way.
    init?(path: String, format: VolumeFileFormat, options: VolumeWriteOptions) {
        switch format {
        case .metaImage where !options.compress: layout = .metaImage
        case .numpy: layout = .numpy
        case .nifti: layout = .nifti
        case .niftiPair: layout = .niftiPair
        case .niftiCompressed: layout = .niftiCompressed(level: options.gzipLevel)
        case .nrrdDetached: layout = .nrrdDetached(compressLevel: options.compress ? options.gzipLevel : nil)
        default: return nil
        }
        self.path = layout == .niftiPair ? NIfTIFile.PairPaths(path).header : path
        companions = options.companions
    }

    /// Every output, data files before the headers that name them.
    var outputs: [String] { imageOutputs + companions.map(\.path) }

    /// The image's own outputs, data files before the headers that name them.
    private var imageOutputs: [String] {
        switch layout {
        case .metaImage: [MetaImageWriter.dataFile(for: path, compress: false), path]
        case .numpy: [path, NumPyFile.sidecarPath(for: path)]
        case .nifti, .niftiCompressed: [path]
        case .niftiPair: [NIfTIFile.PairPaths(path).image, path]
        case .nrrdDetached(let level): [NRRDFile.dataFile(for: path, compress: level != nil), path]
        }
    }

    /// The file that receives the voxels.
    var dataPath: String { outputs[0] }

    /// Where the voxels start in the (uncompressed) data, for a volume of `size` and `components`.
    func dataOffset(size: [Int], components: Int) -> Int {
        switch layout {
        case .metaImage, .nrrdDetached, .niftiPair: 0
        case .numpy: NumPyArray.header(descriptor: PixelType.int16.numpyDescriptor, shape: NumPyFile.arrayShape(size: size, components: components)).count
        case .nifti, .niftiCompressed: NIfTIFile.voxelOffset
        }
    }

    /// Refuses, before any voxel is decoded, a volume the format cannot hold (NIfTI-1: 32767 voxels
    /// along an axis, one component or RGB).
    func checkHolds(geometry: ImageGeometry, components: Int) throws {
        switch layout {
        case .metaImage, .numpy, .nrrdDetached: break
        case .nifti, .niftiCompressed, .niftiPair:
            _ = try NIfTIFile.header(for: VolumeInfo(geometry: geometry, pixelType: components == 3 ? .uint8 : .int16,
                                                     components: components), path: path)
        }
    }

    /// Where slots go: their place in `dataFile`, or (`.nii.gz`) blocks compressed into it as they fill.
    func sink(dataFile: WritableFile, geometry: ImageGeometry, components: Int, slotBytes: Int, slotCount: Int) -> SlotSink {
        switch layout {
        case .metaImage, .numpy, .nifti, .niftiPair, .nrrdDetached(nil):
            return .file(dataFile, dataOffset: dataOffset(size: geometry.size, components: components))
        case .nrrdDetached(let level?):
            return .compressed(GzipSlotCollector(file: dataFile, headerCount: 0, slotBytes: slotBytes, slotCount: slotCount, level: level))
        case .niftiCompressed(let level):
            return .compressed(GzipSlotCollector(file: dataFile, headerCount: NIfTIFile.voxelOffset, slotBytes: slotBytes,
                                                 slotCount: slotCount, level: level))
        }
    }

    /// Writes the header(s) once the voxels are in `dataFile` (staged by `transaction`); `sink` is the
    /// one ``sink(dataFile:geometry:components:slotBytes:slotCount:)`` gave.
    func finish(_ info: VolumeInfo, dataFile: WritableFile, sink: SlotSink, transaction: OutputTransaction) throws {
        try CompanionFile.write(companions, in: transaction)
        switch layout {
        case .metaImage:
            let header = MetaImageWriter.Header(info: info, dataFile: FileSystem.lastComponent(of: dataPath), compressedDataSize: nil)
            let file = try WritableFile(creating: transaction.stagingPath(for: path))
            try file.write(header.text)
            try file.close()
        case .numpy:
            let header = NumPyArray.header(descriptor: info.pixelType.numpyDescriptor,
                                           shape: NumPyFile.arrayShape(size: info.geometry.size, components: info.components))
            try header.withUnsafeBytes { try dataFile.write($0, at: 0) }
            let sidecar = try WritableFile(creating: transaction.stagingPath(for: NumPyFile.sidecarPath(for: path)))
            try sidecar.write(info.infoJSON.prettyText + "\n")
            try sidecar.close()
        case .nifti:
            try NIfTIFile.header(for: info, path: path).withUnsafeBytes { try dataFile.write($0, at: 0) }
        case .niftiPair:
            let file = try WritableFile(creating: transaction.stagingPath(for: path))
            try NIfTIFile.header(for: info, path: path, pair: true).withUnsafeBytes { try file.write($0, at: 0) }
            try file.close()
        case .niftiCompressed:
            guard case .compressed(let collector) = sink else { preconditionFailure("a .nii.gz streams into blocks") }
            try collector.finish(header: NIfTIFile.header(for: info, path: path))
        case .nrrdDetached(let level):
            if case .compressed(let collector) = sink { try collector.finish(header: []) }
            let text = NRRDFile.header(for: info, gzip: level != nil, dataFile: FileSystem.lastComponent(of: dataPath))
            let file = try WritableFile(creating: transaction.stagingPath(for: path))
            try file.write(text)
            try file.close()
        }
    }
}
