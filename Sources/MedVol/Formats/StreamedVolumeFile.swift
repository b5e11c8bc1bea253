/// An output file that receives its voxels slice by slice, at offsets known in advance, and its header
/// last — so that a conversion never holds the whole volume: each decoded slice goes straight to its
/// place in the file (the way `cat` moves bytes), and the header, which depends on the voxel type that
/// the values decide, is written once they are all in.
///
/// Twelve layouts qualify: MetaImage `.mhd` + `.raw`, NIfTI `.hdr` + `.img` and NRRD `.nhdr` + `.raw`/`.raw.gz`
/// (the header is a file of its own), NumPy `.npy`
/// (the header's length depends only on the shape: every dtype name has three characters), NIfTI `.nii`
/// (a 352-byte header before the voxels), `.nii.gz` (slices gathered into blocks that are compressed
/// on every core as they fill, the header stored in a first gzip member of known size, see
/// ``IndexedGzip``), and MetaImage `.mha` and NRRD `.nrrd` (raw or gzip), whose header before the data
/// names the voxel type: when the values choose between two types of one size (`short` or `unsigned
/// short`), the voxels start after room for the longer header, and the shorter one is padded with a
/// comment line (`Comment = ` for MetaImage, `#` for NRRD) that ITK, Teem and pynrrd skip; otherwise the
/// header is ITK's, byte for byte. A compressed `.mhd`'s `.zraw` is one zlib stream, compressed in blocks
/// as the slices fill them (``ZlibStreamWriter``), its size written in the header last; a compressed `.mha`
/// puts that stream after room for a header naming any size it can have, padded when written last.
/// An `.npz` streams its voxels after room for the zip entry's local header and the `.npy` header (for a
/// deflated one, in a stored deflate block before the voxels' deflate stream), both written last with the
/// entry's CRC-32 (stored: combined from the CRC-32 of each slice, kept as it was written).
struct StreamedVolumeFile {
    enum Layout: Equatable {
        case metaImage
        /// `.mhd` with `.zraw`: one zlib stream compressed in blocks as the slices fill them, the header last.
        case metaImageCompressed
        case numpy
        case nifti
        /// `.hdr` (written last) with the voxels in `.img`.
        case niftiPair
        /// `.nii.gz` at a libdeflate level.
        case niftiCompressed(level: GzipLevel)
        /// `.nhdr` with `.raw` (or `.raw.gz` at a libdeflate level): the data file streamed, the header last.
        case nrrdDetached(compressLevel: GzipLevel?)
        /// `.mha`, uncompressed: the voxels after room for the header, which is written last.
        case metaImageSingleFile
        /// `.mha`, compressed: one zlib stream after room for the header, which gives its size and is
        /// written last (``MetaImageWriter/compressedSingleFileHeaderRoom(geometry:components:types:)``).
        case metaImageSingleFileCompressed
        /// `.nrrd`: raw (or gzip at a libdeflate level) data after room for the header, written last.
        case nrrdAttached(compressLevel: GzipLevel?)
        /// `.npz`, stored: the voxels after room for the zip entry's local header and the `.npy` header,
        /// both written last with the entry's CRC-32, then the geometry arrays and the central directory.
        case numpyArchive
        /// `.npz`, deflated: the entry's data begin with a stored deflate block for the `.npy` header
        /// (written last), then one raw deflate stream compressed in blocks as the slices fill them.
        case numpyArchiveCompressed
    }

    let layout: Layout
    /// The path of the header (`x.mhd`, `x.npy`, `x.hdr`, …).
    let path: String
    /// Text files written with the image (BIDS sidecars).
    var companions: [CompanionFile] = []

    /// The streamed layout for `format`, or nil when the format cannot be written this way.
    init?(path: String, format: VolumeFileFormat, options: VolumeWriteOptions) {
        switch format {
        case .metaImage: layout = options.compress ? .metaImageCompressed : .metaImage
        case .numpy: layout = .numpy
        case .nifti: layout = .nifti
        case .niftiPair: layout = .niftiPair
        case .niftiCompressed: layout = .niftiCompressed(level: options.gzipLevel)
        case .nrrdDetached: layout = .nrrdDetached(compressLevel: options.compress ? options.gzipLevel : nil)
        case .metaImageSingleFile: layout = options.compress ? .metaImageSingleFileCompressed : .metaImageSingleFile
        case .nrrd: layout = .nrrdAttached(compressLevel: options.compress ? options.gzipLevel : nil)
        case .numpyArchive: layout = options.compress ? .numpyArchiveCompressed : .numpyArchive
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
        case .metaImageCompressed: [MetaImageWriter.dataFile(for: path, compress: true), path]
        case .numpy: [path, NumPyFile.sidecarPath(for: path)]
        case .nifti, .niftiCompressed, .metaImageSingleFile, .metaImageSingleFileCompressed, .nrrdAttached, .numpyArchive, .numpyArchiveCompressed: [path]
        case .niftiPair: [NIfTIFile.PairPaths(path).image, path]
        case .nrrdDetached(let level): [NRRDFile.dataFile(for: path, compress: level != nil), path]
        }
    }

    /// The file that receives the voxels.
    var dataPath: String { outputs[0] }

    /// Whether the voxels are compressed (in blocks, as the slots fill them).
    var compresses: Bool {
        switch layout {
        case .metaImage, .numpy, .nifti, .niftiPair, .metaImageSingleFile, .nrrdDetached(nil), .nrrdAttached(nil), .numpyArchive: false
        case .metaImageCompressed, .metaImageSingleFileCompressed, .niftiCompressed, .nrrdDetached, .nrrdAttached,
             .numpyArchiveCompressed: true
        }
    }

    /// Where the voxels start in the data file (for `.nii.gz`, in the uncompressed data), for a volume
    /// of `geometry` and `components` whose voxel type will be one of `types`.
    func dataOffset(geometry: ImageGeometry, components: Int, types: [PixelType]) -> Int {
        switch layout {
        case .metaImage, .metaImageCompressed, .nrrdDetached, .niftiPair: 0
        case .numpy: NumPyArray.header(descriptor: PixelType.int16.numpyDescriptor, shape: NumPyFile.arrayShape(size: geometry.size, components: components)).count
        case .nifti, .niftiCompressed: NIfTIFile.voxelOffset
        case .metaImageSingleFile:
            Self.reservedHeaderLength(types.map { MetaImageWriter.Header(info: VolumeInfo(geometry: geometry, pixelType: $0, components: components),
                                                                         dataFile: "LOCAL").text.utf8.count },
                                      paddingLine: MetaImageWriter.Header.minimumPaddingLine)
        case .numpyArchive:
            Self.archiveLayout(geometry: geometry, components: components, type: types[0], compressed: false).voxelOffset
        case .numpyArchiveCompressed:
            Self.archiveLayout(geometry: geometry, components: components, type: types[0], compressed: true).voxelOffset
        case .metaImageSingleFileCompressed:
            MetaImageWriter.compressedSingleFileHeaderRoom(geometry: geometry, components: components, types: types)
        case .nrrdAttached(let level):
            Self.reservedHeaderLength(types.map { NRRDFile.header(for: VolumeInfo(geometry: geometry, pixelType: $0, components: components),
                                                                  gzip: level != nil, dataFile: nil).utf8.count },
                                      paddingLine: NRRDFile.minimumPaddingLine)
        }
    }

    /// Bytes a header before the data takes when its length for each possible voxel type is one of
    /// `lengths` (the type is settled after the voxels are written): that length when they agree, else
    /// room for the longest and a padding comment line of at least `paddingLine` bytes, so that every
    /// shorter header can be padded to it.
    private static func reservedHeaderLength(_ lengths: [Int], paddingLine: Int) -> Int {
        Set(lengths).count == 1 ? lengths[0] : lengths.max()! + paddingLine
    }

    /// Where an `.npz`'s image entry puts its data (the `.npy` header, in a stored deflate block when
    /// `compressed`) and the voxels (raw, or their deflate stream).
    private static func archiveLayout(geometry: ImageGeometry, components: Int, type: PixelType, compressed: Bool)
        -> (entryDataOffset: Int, voxelOffset: Int, voxelBytes: Int) {
        let voxelBytes = geometry.voxelCount * components * type.byteSize
        let npyHeader = NumPyArchive.imageHeader(for: VolumeInfo(geometry: geometry, pixelType: type, components: components))
        let zip64 = ZipWriter.needsZip64(size: npyHeader.count + voxelBytes, compress: compressed)
        let start = ZipWriter.localHeaderLength(name: NumPyArchive.imageEntryName, zip64: zip64)
        let headerBytes = compressed ? ZipWriter.storedDeflateBlock(npyHeader).count : npyHeader.count
        return (start, start + headerBytes, voxelBytes)
    }

    /// Refuses, before any voxel is decoded, a volume the format cannot hold (NIfTI-1: 32767 voxels
    /// along an axis, one component or RGB).
    func checkHolds(geometry: ImageGeometry, components: Int) throws {
        switch layout {
        case .metaImage, .metaImageCompressed, .numpy, .nrrdDetached, .metaImageSingleFile, .metaImageSingleFileCompressed,
             .nrrdAttached, .numpyArchive, .numpyArchiveCompressed: break
        case .nifti, .niftiCompressed, .niftiPair:
            _ = try NIfTIFile.header(for: VolumeInfo(geometry: geometry, pixelType: components == 3 ? .uint8 : .int16,
                                                     components: components), path: path)
        }
    }

    /// Where slots go: their place in `dataFile`, or (gzip) blocks compressed into it as they fill;
    /// `types` are the voxel types the stream can settle on (``StackLoader/streamedTypes``).
    func sink(dataFile: WritableFile, geometry: ImageGeometry, components: Int, types: [PixelType],
              slotBytes: Int, slotCount: Int) -> SlotSink {
        let offset = dataOffset(geometry: geometry, components: components, types: types)
        switch layout {
        case .metaImage, .numpy, .nifti, .niftiPair, .nrrdDetached(nil), .metaImageSingleFile, .nrrdAttached(nil):
            return .file(dataFile, dataOffset: offset)
        case .numpyArchive:
            return .file(dataFile, dataOffset: offset, checksums: SlotChecksums(slotCount: slotCount, slotBytes: slotBytes))
        case .metaImageCompressed, .metaImageSingleFileCompressed:
            return .compressed(CompressedSlotCollector(zlibStreamInto: dataFile, startingAt: offset, slotBytes: slotBytes,
                                                       slotCount: slotCount, level: MetaImageWriter.zlibLevel))
        case .numpyArchiveCompressed:
            return .compressed(CompressedSlotCollector(zlibStreamInto: dataFile, startingAt: offset, slotBytes: slotBytes,
                                                       slotCount: slotCount, level: Int(ZipWriter.deflateLevel), wrapper: .raw))
        case .nrrdDetached(let level?), .nrrdAttached(let level?):
            return .compressed(CompressedSlotCollector(file: dataFile, startingAt: offset, headerCount: 0, slotBytes: slotBytes,
                                                 slotCount: slotCount, level: level))
        case .niftiCompressed(let level):
            return .compressed(CompressedSlotCollector(file: dataFile, headerCount: NIfTIFile.voxelOffset, slotBytes: slotBytes,
                                                 slotCount: slotCount, level: level))
        }
    }

    /// Writes the header(s) once the voxels are in `dataFile` (staged by `transaction`); `sink` is the
    /// one ``sink(dataFile:geometry:components:types:slotBytes:slotCount:)`` gave for the same `types`.
    func finish(_ info: VolumeInfo, types: [PixelType], dataFile: WritableFile, sink: SlotSink, transaction: OutputTransaction) throws {
        try CompanionFile.write(companions, in: transaction)
        switch layout {
        case .metaImage, .metaImageCompressed:
            var compressedSize: Int?
            if case .compressed(let collector) = sink { compressedSize = try collector.finishZlibStream().size }
            let header = MetaImageWriter.Header(info: info, dataFile: FileSystem.lastComponent(of: dataPath), compressedDataSize: compressedSize)
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
        case .metaImageSingleFile:
            let reserved = dataOffset(geometry: info.geometry, components: info.components, types: types)
            var header = MetaImageWriter.Header(info: info, dataFile: "LOCAL", compressedDataSize: nil)
            header.padding = reserved - header.text.utf8.count
            try Array(header.text.utf8).withUnsafeBytes { try dataFile.write($0, at: 0) }
        case .metaImageSingleFileCompressed:
            guard case .compressed(let collector) = sink else { preconditionFailure("a compressed .mha streams into one zlib stream") }
            let compressedSize = try collector.finishZlibStream().size
            let reserved = dataOffset(geometry: info.geometry, components: info.components, types: types)
            var header = MetaImageWriter.Header(info: info, dataFile: "LOCAL", compressedDataSize: compressedSize)
            header.padding = reserved - header.text.utf8.count
            try Array(header.text.utf8).withUnsafeBytes { try dataFile.write($0, at: 0) }
        case .numpyArchive, .numpyArchiveCompressed:
            let compressed = layout == .numpyArchiveCompressed
            let archive = Self.archiveLayout(geometry: info.geometry, components: info.components, type: info.pixelType, compressed: compressed)
            let npyHeader = NumPyArchive.imageHeader(for: info)
            let voxelCRC: UInt32, storedEnd: Int
            switch sink {
            case .compressed(let collector):
                let stream = try collector.finishZlibStream()
                (voxelCRC, storedEnd) = (stream.checksum, archive.voxelOffset + stream.size)
                try ZipWriter.storedDeflateBlock(npyHeader).withUnsafeBytes { try dataFile.write($0, at: archive.entryDataOffset) }
            case .file(_, _, let checksums?):
                (voxelCRC, storedEnd) = (checksums.combined(), archive.voxelOffset + archive.voxelBytes)
                try npyHeader.withUnsafeBytes { try dataFile.write($0, at: archive.entryDataOffset) }
            default:
                preconditionFailure("a stored .npz streams into a file sink that keeps each slot's CRC-32")
            }
            let crc = Zlib.combineCRC32(npyHeader.withUnsafeBytes { Zlib.crc32($0) }, voxelCRC, length: archive.voxelBytes)
            let zip = ZipWriter(file: dataFile, startingAt: storedEnd)
            try zip.addWrittenEntry(named: NumPyArchive.imageEntryName, method: compressed ? .deflated : .stored,
                                    size: npyHeader.count + archive.voxelBytes, compressedSize: storedEnd - archive.entryDataOffset, crc: crc)
            try NumPyArchive.finish(zip, info: info, compress: compressed)
        case .nrrdAttached(let level):
            if case .compressed(let collector) = sink { try collector.finish(header: []) }
            let reserved = dataOffset(geometry: info.geometry, components: info.components, types: types)
            try Array(NRRDFile.header(for: info, gzip: level != nil, paddedTo: reserved).utf8).withUnsafeBytes {
                try dataFile.write($0, at: 0)
            }
        }
    }
}
