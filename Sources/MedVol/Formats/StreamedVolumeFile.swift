/// An output file that receives its voxels slice by slice, at offsets known in advance, and its header
/// last — so that a conversion never holds the whole volume: each decoded slice goes straight to its
/// place in the file (the way `cat` moves bytes), and the header, which depends on the voxel type that
/// the values decide, is written once they are all in.
///
/// Two layouts qualify: MetaImage `.mhd` + `.raw` (the header is a file of its own) and NumPy `.npy`
/// (the header's length depends only on the shape: every dtype name has three characters). Compressed
/// or single-file MetaImage, NIfTI and NRRD are written from a loaded volume instead.
struct StreamedVolumeFile {
    enum Layout {
        case metaImage
        case numpy
    }

    let layout: Layout
    /// The path the caller asked for (`x.mhd` or `x.npy`).
    let path: String

    /// The streamed layout for `format`, or nil when the format cannot be written this way.
    init?(path: String, format: VolumeFileFormat, options: VolumeWriteOptions) {
        switch format {
        case .metaImage where !options.compress: layout = .metaImage
        case .numpy: layout = .numpy
        default: return nil
        }
        self.path = path
    }

    /// Every output, data files before the headers that name them.
    var outputs: [String] {
        switch layout {
        case .metaImage: [MetaImageWriter.dataFile(for: path, compress: false), path]
        case .numpy: [path, NumPyFile.sidecarPath(for: path)]
        }
    }

    /// The file that receives the voxels.
    var dataPath: String { outputs[0] }

    /// Where the voxels start in the data file, for a volume of `size` and `components`.
    func dataOffset(size: [Int], components: Int) -> Int {
        switch layout {
        case .metaImage: 0
        case .numpy: NumPyArray.header(descriptor: PixelType.int16.numpyDescriptor, shape: NumPyFile.arrayShape(size: size, components: components)).count
        }
    }

    /// Writes the header(s) once the voxels are in `dataFile` (staged by `transaction`).
    func finish(_ info: VolumeInfo, dataFile: WritableFile, transaction: OutputTransaction) throws {
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
        }
    }
}
