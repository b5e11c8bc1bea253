/// The voxels of a volume file as a Swift reader found them: where the stored values are, how they are
/// encoded, and how they become the volume's (byte order, NIfTI's `scl_slope`/`scl_inter`, a NumPy
/// array in Fortran order). Every Swift reader reads its voxels through this one type — whole into a
/// ``Volume`` (``readAll(into:)``), or a run of values at a time into a streamed output
/// (``read(elements:into:parallel:)``, see ``OpenedVolumeFile/convert(to:format:options:)``) — so that
/// loading a file and converting it cannot disagree.
///
/// (`@unchecked Sendable`: a positional source is read from several threads at once, each call with its
/// own range and buffer; a stream is read by one caller, front to back.)
final class StoredVoxels: @unchecked Sendable {
    enum Source {
        /// Uncompressed values from byte `offset` of `file`.
        case file(ReadableFile, offset: Int)
        /// medvol's indexed gzip members (``IndexedGzip``), the values from uncompressed byte `offset`.
        case indexedGzip(ReadableFile, members: [IndexedGzip.Member], offset: Int)
        /// A stream read front to back from the first value (other gzip, zlib, a zip entry); `finish`
        /// checks what only its end can tell (a zip entry's CRC-32), once every value is read.
        case stream(any ByteStream, finish: () throws -> Void)
    }

    let source: Source
    /// The value type in the file.
    let storedType: PixelType
    /// The value type of the volume (wider than ``storedType`` only for scaled NIfTI values).
    let pixelType: PixelType
    /// Values (voxels × components) in the volume.
    let elementCount: Int
    /// Whether the file's byte order is the other one (big-endian).
    let swapsBytes: Bool
    /// NIfTI's `scl_slope`, `scl_inter`, applied as ITK applies them (``NIfTIFile/rescale(_:count:from:to:slope:intercept:)``).
    let scale: (slope: Double, intercept: Double)?
    /// The array's shape when the file holds it in Fortran order (first axis fastest): it can only be
    /// read whole, then put in C order.
    let fortranShape: [Int]?
    /// Values a stream has given so far.
    private var streamed = 0

    init(source: Source, storedType: PixelType, pixelType: PixelType? = nil, elementCount: Int, swapsBytes: Bool,
         scale: (slope: Double, intercept: Double)? = nil, fortranShape: [Int]? = nil) {
        self.source = source
        self.storedType = storedType
        self.pixelType = pixelType ?? storedType
        self.elementCount = elementCount
        self.swapsBytes = swapsBytes
        self.scale = scale
        self.fortranShape = fortranShape
    }

    /// The gzip data that start at byte `start` of `file`, the values from uncompressed byte `offset`,
    /// `needed` uncompressed bytes in all: medvol's indexed members when the file has them there (read
    /// anywhere, in parallel), else one stream inflated front to back. A stream that is not the single
    /// member of exactly `needed` bytes other writers make is inflated whole first, to be sure it is
    /// complete (a damaged end is an error, not ignored); `truncated` words the error for what it holds.
    static func gzipSource(_ file: ReadableFile, startingAt start: Int = 0, offset: Int, needed: Int,
                           truncated: (_ available: Int) -> MedVolError) throws -> Source {
        if let members = try IndexedGzip.members(of: file), members.first?.fileOffset == start {
            return .indexedGzip(file, members: members, offset: offset)
        }
        if try GzipFile.trailerSize(of: file) != UInt32(truncatingIfNeeded: needed) {
            let available = try GzipFile.uncompressedSize(of: file, startingAt: start, enough: needed)
            guard available >= needed else { throw truncated(available) }
        }
        let stream = try GzipStream(file: file, startingAt: start)
        try stream.skip(offset)
        return .stream(stream, finish: {})
    }

    /// Whether any run of values can be read, from any thread (else only in order, by one caller).
    var isPositional: Bool {
        if case .stream = source { return false }
        return true
    }

    /// Whether the values can be read a run at a time (not a Fortran-order array).
    var readsInRuns: Bool { fortranShape == nil }

    /// Bytes of the volume's values.
    var byteCount: Int { elementCount * pixelType.byteSize }

    /// Reads every value into `buffer` (``byteCount`` bytes), as the volume holds them.
    func readAll(into buffer: UnsafeMutableRawBufferPointer) throws {
        precondition(buffer.count == byteCount)
        if let shape = fortranShape {
            let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: max(buffer.count, 1), alignment: 64)
            defer { scratch.deallocate() }
            let values = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<buffer.count])
            try read(elements: 0..<elementCount, into: values, parallel: true)
            NumPyArray.reverseAxes(of: UnsafeRawBufferPointer(values), shape: shape, width: pixelType.byteSize, into: buffer)
        } else {
            try read(elements: 0..<elementCount, into: buffer, parallel: true)
        }
        try finish()
    }

    /// Reads the values `elements` (indices in the file's order) into the start of `buffer`, as the volume
    /// holds them; `parallel`: inflate on every core (else on this thread: the caller runs runs in
    /// parallel). A stream must be read in order, each run starting where the last one ended.
    func read(elements: Range<Int>, into buffer: UnsafeMutableRawBufferPointer, parallel: Bool) throws {
        precondition(elements.upperBound <= elementCount && buffer.count >= elements.count * pixelType.byteSize)
        let width = storedType.byteSize
        let stored = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<(elements.count * width)])
        switch source {
        case .file(let file, let offset):
            try file.read(into: stored, at: offset + elements.lowerBound * width)
        case .indexedGzip(let file, let members, let offset):
            try IndexedGzip.read(file, members: members, uncompressedOffset: offset + elements.lowerBound * width,
                                 into: stored, parallel: parallel)
        case .stream(let stream, _):
            precondition(elements.lowerBound == streamed, "a stream's values are read in order")
            try stream.read(into: stored)
            streamed = elements.upperBound
        }
        if swapsBytes && width > 1 { VoxelMath.swapBytes(stored, width: width) }
        if let scale, !elements.isEmpty {
            NIfTIFile.rescale(buffer.baseAddress!, count: elements.count, from: storedType, to: pixelType,
                              slope: scale.slope, intercept: scale.intercept)
        }
    }

    /// Checks what a stream can tell only once it is read (a zip entry's CRC-32).
    func finish() throws {
        if case .stream(_, let finish) = source { try finish() }
    }
}

/// A volume file that one of the Swift readers has opened: what it holds, its voxels not yet read.
struct OpenedVolumeFile {
    /// The volume's geometry, voxel type, components and metadata (its warnings, its source).
    var info: VolumeInfo
    let voxels: StoredVoxels

    /// Opens `path` with medvol's reader for `format`, or returns nil when the file is one for ITK's
    /// reader (see each reader); throws for a damaged file, naming it.
    static func open(_ path: String, format: VolumeFileFormat) throws -> OpenedVolumeFile? {
        switch format {
        case .dicom:
            return nil
        case .nifti, .niftiCompressed:
            return try NIfTIFile.open(path: path, file: ReadableFile(path: path), compressed: format == .niftiCompressed)
        case .niftiPair:
            return try NIfTIFile.openPair(NIfTIFile.PairPaths(path))
        case .nrrd, .nrrdDetached:
            return try NRRDFile.open(path: path, file: ReadableFile(path: path))
        case .metaImage, .metaImageSingleFile:
            return try MetaImageReader.open(path: path)
        case .numpy:
            return try NumPyFile.open(path: path)
        case .numpyArchive:
            return try NumPyArchive.open(path: path)
        }
    }

    /// Reads the whole volume (each reader has checked that its buffer may be allocated).
    func load() throws -> Volume {
        let storage = VoxelStorage(byteCount: voxels.byteCount)
        try voxels.readAll(into: UnsafeMutableRawBufferPointer(start: storage.bytes, count: voxels.byteCount))
        return Volume(pixelType: info.pixelType, components: info.components, geometry: info.geometry,
                      metadata: info.metadata, storage: storage)
    }
}
