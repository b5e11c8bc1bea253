#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
private import _MedVolBridge

/// MetaImage (.mhd/.raw, .mha), NIfTI (.nii, .nii.gz) and NRRD (.nrrd, .nhdr/.raw) through ITK 5.2's
/// ImageIO classes, so that geometry is read and written exactly as ITK (and SimpleITK) do.
///
/// What goes through ITK today: reading the MetaImage, NIfTI and NRRD files medvol's Swift readers leave
/// to it (MetaImage headers with other fields, see ``MetaImageReader``; NIfTI-2, Analyze, 2D, other
/// units, see ``NIfTIFile``; colour and other NRRD, see ``NRRDFile``). Every
/// format is *written* in Swift (``MetaImageWriter``, ``NIfTIFile``, ``NRRDFile``); ``write(_:to:format:options:)``
/// stays as the reference those writers are tested against, byte for byte.
///
/// - 2D files become volumes with nz = 1; 4D files keep their fourth axis as time (its spacing is the
///   volume's `timeSpacing`; a fourth-axis origin other than 0 is dropped with a warning).
/// - Writing, a 4D volume gets NDims 4 with identity for the fourth axis, as ITK writes it.
/// - MetaImage headers carry only what ITK's writer puts there for an image without a metadata
///   dictionary: byte for byte the header SimpleITK writes. Binary MetaImage voxels are read by medvol
///   (see ``MetaImageHeader``), because ITK 5.2 accepts truncated or damaged data without an error.
/// - Colour (3-component uint8) volumes are written as RGB: NIfTI datatype RGB24, NRRD kind
///   "RGB-color" (SimpleITK writes its vector images as a vector intent / kind "vector"; both read back
///   as the same 3-component voxels).
/// - NIfTI: RAS on disk, LPS in memory; qform and sform both set and coded "scanner" (1); pixdim[4] =
///   timeSpacing; xyzt_units millimetres and seconds (ITK 5.2 leaves the time unit unset: medvol
///   patches that byte, as ITK 5.4 writes it). ITK 5.2 does not notice a truncated NIfTI file (it
///   zero-fills); medvol checks the size. `scl_slope`/`scl_inter` are applied by ITK, which makes the
///   voxels float32 (nibabel's scaled values, in float32); `metadata.valueTransform` says so.
///
/// NIfTI geometry precision. The header holds 32-bit floats, so a medvol NIfTI reads back with spacing
/// and origin within a float's rounding (half an ulp: 1.5e-5 mm at 300 mm) and the direction within
/// about 1e-7. Measured over 300 random oblique geometries (a third of them rotated by nearly 180°,
/// half left-handed, origins within ±300 mm): direction 9.1e-8, origin/spacing 1.5e-5 mm read back by
/// medvol; 5.6e-8 and 1.5e-5 mm read by SimpleITK 2.5; nibabel's affine within 1.5e-5 — inside the
/// 1e-4 mm / 1e-6 contract. Files from elsewhere whose sform is not coded "scanner" would be read by
/// ITK from the qform, which can be off by up to 6e-4; medvol then takes the sform (see
/// ``NIfTIHeader/preferredSform``).
enum ITKImageFile {
    static func formatName(_ format: VolumeFileFormat) -> String {
        switch format {
        case .metaImage, .metaImageSingleFile: "MetaImage"
        case .nifti, .niftiCompressed, .niftiPair: "NIfTI"
        case .nrrd, .nrrdDetached: "NRRD"
        default: format.rawValue
        }
    }

    private static func bridgeFormat(_ format: VolumeFileFormat) -> mv_image_format {
        switch format {
        case .metaImage, .metaImageSingleFile: MV_IMAGE_FORMAT_METAIMAGE
        case .nifti, .niftiCompressed, .niftiPair: MV_IMAGE_FORMAT_NIFTI
        case .nrrd, .nrrdDetached: MV_IMAGE_FORMAT_NRRD
        default: preconditionFailure("\(format) is not read through ITK")
        }
    }

    private static func message(of status: mv_status) -> String { fixedCString(status.message) }

    /// What the bridge reports for one ITK call: the failure's message (empty for a success) and what
    /// ITK, MetaIO, nifti1_io or Teem printed on stderr during it (captured by the bridge, never shown raw;
    /// empty when they printed nothing), each tidied to one line.
    private static func outcome(of status: mv_status) -> (failure: String, printed: String) {
        let text = message(of: status)
        if status.ok != 0 { return ("", tidy(text)) }
        guard let marker = text.firstRange(of: " | printed: ") else { return (tidy(text), "") }
        return (tidy(String(text[..<marker.lowerBound])), tidy(String(text[marker.upperBound...])))
    }

    /// A failure's reason with what the library printed, when it printed something.
    private static func reason(_ outcome: (failure: String, printed: String)) -> String {
        outcome.printed.isEmpty ? outcome.failure : "\(outcome.failure) (ITK printed: \(outcome.printed))"
    }

    private static func pixelType(_ component: UInt32) -> PixelType? {
        switch mv_component_type(rawValue: component) {
        case MV_COMPONENT_UINT8: .uint8
        case MV_COMPONENT_INT8: .int8
        case MV_COMPONENT_UINT16: .uint16
        case MV_COMPONENT_INT16: .int16
        case MV_COMPONENT_UINT32: .uint32
        case MV_COMPONENT_INT32: .int32
        case MV_COMPONENT_UINT64: .uint64
        case MV_COMPONENT_INT64: .int64
        case MV_COMPONENT_FLOAT32: .float32
        case MV_COMPONENT_FLOAT64: .float64
        default: nil
        }
    }

    private static func componentType(_ type: PixelType) -> mv_component_type {
        switch type {
        case .uint8: MV_COMPONENT_UINT8
        case .int8: MV_COMPONENT_INT8
        case .uint16: MV_COMPONENT_UINT16
        case .int16: MV_COMPONENT_INT16
        case .uint32: MV_COMPONENT_UINT32
        case .int32: MV_COMPONENT_INT32
        case .uint64: MV_COMPONENT_UINT64
        case .int64: MV_COMPONENT_INT64
        case .float32: MV_COMPONENT_FLOAT32
        case .float64: MV_COMPONENT_FLOAT64
        }
    }

    // MARK: Reading

    static func read(path: String, format: VolumeFileFormat) throws -> Volume {
        let file = try ReadableFile(path: path)  // a clear error for a missing file or a folder
        let name = formatName(format)
        guard file.size > 0 else { throw MedVolError(.unrecognizedFormat, path: path, reason: "empty file, not a \(name) file") }
        var metaImage: MetaImageHeader?
        if format == .metaImage || format == .metaImageSingleFile {
            metaImage = try MetaImageHeader(file: file)
            if let field = metaImage?.unusableField {
                throw MedVolError.corrupt(path, "damaged MetaImage header: \(field) = \(metaImage?.fields[field] ?? "(missing)")")
            }
            // Before ITK sees the header: its data file must be a regular file inside the header's folder.
            if case .file(let dataPath)? = metaImage?.location {
                let folder = FileSystem.parentDirectory(of: path)
                if let problem = FileSystem.referenceProblem(dataPath, within: folder) {
                    throw MedVolError.corrupt(path, problem.reason(subject: "its data file", file: dataPath, folder: folder))
                }
            }
        }
        var nifti: NIfTIHeader?
        if format == .nifti || format == .niftiCompressed || format == .niftiPair {
            nifti = try NIfTIHeader.read(file: file, compressed: format == .niftiCompressed)
            // An Analyze 7.5 header (a pair without the NIfTI magic) has no qform or sform to check.
            if format == .niftiPair, nifti?.isPair != true { nifti = nil }
            if let field = nifti?.unusableGeometryField {
                throw MedVolError.corrupt(path, "damaged NIfTI header: \(field) is not a usable number")
            }
        }
        // ITK goes by lower-case extensions; give it the format's own name for the same file.
        let alias = try LowercaseAlias(file: file, format: format)
        let itkPath = alias?.path ?? path

        var reader: OpaquePointer?
        var header = mv_image_header()
        let opened = mv_image_reader_open(itkPath, bridgeFormat(format), &reader, &header)
        let openOutcome = outcome(of: opened)
        guard opened.ok != 0, let reader else {
            if openOutcome.failure.contains("not a readable file of this format") {
                throw MedVolError(.unrecognizedFormat, path: path, reason: "not a \(name) file that ITK can read")
            }
            throw MedVolError.corrupt(path, "cannot read the \(name) header: \(reason(openOutcome))")
        }
        defer { mv_image_reader_close(reader) }

        guard let type = pixelType(header.component_type) else {
            throw MedVolError.unsupported(path, "unsupported voxel type")
        }
        let dimensions = Int(header.dimensions)
        let extents = withUnsafeBytes(of: header.size) { Array($0.bindMemory(to: UInt64.self)) }
        guard extents.allSatisfy({ $0 >= 1 && $0 < 1 << 40 }), header.components >= 1 else {
            throw MedVolError.corrupt(path, "impossible image size \(extents.prefix(dimensions).map { $0 }) with \(header.components) components")
        }
        var size = extents.prefix(3).map { Int($0) }
        if dimensions == 4 { size.append(Int(extents[3])) }
        let spacing = withUnsafeBytes(of: header.spacing) { Array($0.bindMemory(to: Double.self)) }
        let origin = withUnsafeBytes(of: header.origin) { Array($0.bindMemory(to: Double.self)) }
        let direction = withUnsafeBytes(of: header.direction) { Array($0.bindMemory(to: Double.self)) }
        guard spacing.allSatisfy({ $0.isFinite && $0 > 0 }), origin.allSatisfy(\.isFinite),
              direction.allSatisfy(\.isFinite), DirectionMatrix(rowMajor: direction).inverse != nil else {
            throw MedVolError.corrupt(path, "impossible geometry: spacing \(spacing), origin \(origin), direction \(direction)")
        }
        var geometry = ImageGeometry(size: size, spacing: SIMD3(spacing[0], spacing[1], spacing[2]),
                                     origin: SIMD3(origin[0], origin[1], origin[2]),
                                     direction: DirectionMatrix(rowMajor: direction),
                                     timeSpacing: dimensions == 4 ? header.time_spacing : nil)
        var metadata = VolumeMetadata()
        metadata.source = path
        // A header ITK read while printing something: read, with what it printed as a warning.
        if !openOutcome.printed.isEmpty { metadata.warnings.append(.itkMessage(openOutcome.printed)) }
        if dimensions == 4 && header.time_origin != 0 {
            metadata.warnings.append(.timeOriginIgnored(header.time_origin))
        }

        let byteCount = try voxelByteCount(size: size, components: Int(header.components), type: type, path: path)
        guard UInt64(byteCount) == header.byte_count else {
            throw MedVolError.corrupt(path, "header announces \(header.byte_count) bytes of voxels for \(geometry.voxelCount) voxels of \(header.components) \(type) component(s)")
        }
        if let nifti {
            try checkNIfTI(nifti, path: path, file: file, format: format, dimensions: dimensions,
                           geometry: &geometry, metadata: &metadata)
        }
        // Binary MetaImage voxels are read by medvol; check they are there before allocating.
        let metaImageVoxels = try metaImage.flatMap { try MetaImageVoxels(header: $0, headerFile: file, byteCount: byteCount) }

        let storage = VoxelStorage(byteCount: byteCount)
        if let metaImageVoxels {
            try metaImageVoxels.stored(as: type).readAll(into: UnsafeMutableRawBufferPointer(start: storage.bytes, count: byteCount))
        } else {
            let status = mv_image_reader_read(reader, storage.bytes, UInt64(byteCount))
            let read = outcome(of: status)
            guard status.ok != 0 else {
                throw MedVolError.corrupt(path, "cannot read the voxels: \(reason(read))")
            }
            // ITK reports missing voxels ("data not read completely", "cannot open slice", "Uncompress
            // failed") only by printing them, and leaves the buffer partly filled: that is a failure.
            guard read.printed.isEmpty else {
                throw MedVolError.corrupt(path, "cannot read the voxels: \(read.printed)")
            }
        }
        return Volume(pixelType: type, components: Int(header.components), geometry: geometry, metadata: metadata,
                      storage: storage)
    }

    /// The bytes of the voxel buffer a header announces, refusing sizes that overflow or exceed the
    /// machine's memory (allocating them would end the process rather than throw).
    private static func voxelByteCount(size: [Int], components: Int, type: PixelType, path: String) throws -> Int {
        guard let bytes = VoxelMath.checkedByteCount(elementBytes: components * type.byteSize, extents: size) else {
            throw MedVolError.corrupt(path, "impossible image size \(size)")
        }
        try checkVoxelBufferFitsInMemory(bytes, path: path)
        return bytes
    }

    /// NIfTI checks ITK 5.2 does not make: the file holds every voxel (its reader zero-fills a truncated
    /// file without an error); an sform that agrees with a lossy qform replaces ITK's choice (see
    /// ``NIfTIHeader/preferredSform``); the value scaling is recorded.
    private static func checkNIfTI(_ nifti: NIfTIHeader, path: String, file: ReadableFile, format: VolumeFileFormat,
                                   dimensions: Int, geometry: inout ImageGeometry, metadata: inout VolumeMetadata) throws {
        if let needed = nifti.storedByteCount {
            if format == .niftiPair {
                let image = try ReadableFile(path: NIfTIFile.PairPaths(path).image)
                guard image.size >= needed else {
                    throw MedVolError.corrupt(image.path, "truncated: the header announces \(needed) bytes, the file has \(image.size)")
                }
            } else if format == .nifti {
                guard file.size >= needed else {
                    throw MedVolError.corrupt(path, "truncated: the header announces \(needed) bytes, the file has \(file.size)")
                }
            } else if try GzipFile.trailerSize(of: file) != UInt32(truncatingIfNeeded: needed) {
                // Not the single gzip member of exactly that size that writers make: inflate to be sure.
                let available = try GzipFile.uncompressedSize(of: file, enough: needed)
                guard available >= needed else {
                    throw MedVolError.corrupt(path, "truncated: the header announces \(needed) bytes, the file holds \(available) uncompressed")
                }
            }
        }
        if dimensions >= 3, let sform = nifti.preferredSform {
            geometry.direction = sform.direction
            geometry.origin = sform.origin
        }
        if nifti.isScaled {
            metadata.valueTransform = nifti.valueTransform(as: .float32)
        }
    }

    /// ITK messages span lines, start with "ITK ERROR: Class(0x…): " and may end with "Reason: Success";
    /// keep the useful part on one line.
    private static func tidy(_ message: String) -> String {
        var lines = message.split(separator: "\n").map { $0.trimmingCharacters(in: " \t") }.filter { !$0.isEmpty }
        lines.removeAll { $0 == "Reason: Success" }
        // A message printed once per slice or per try says it once.
        var seen = Set<String>()
        lines = lines.filter { seen.insert($0).inserted }
        var text = lines.joined(separator: "; ")
        // "reading header: ./Modules/…/itkImageIOBase.cxx:399:; ITK ERROR: MetaImageIO(0x…): Unknown …",
        // "WARNING: In ./Modules/…/itkNiftiImageIO.cxx, line 1015; NiftiImageIO (0x…): an.hdr is …":
        // what follows the object's name is the description.
        for prefix in ["ITK ERROR: ", "WARNING: In ", "ERROR: In "] {
            if let error = text.ranges(of: prefix).last, let marker = text[error.upperBound...].firstRange(of: "): ") {
                text = String(text[marker.upperBound...])
            }
        }
        // Teem (NRRD) chains its messages, most general first: the last one says what went wrong.
        if let last = text.ranges(of: "[nrrd] ").last {
            text = String(text[last.upperBound...])
        }
        return text
    }

    // MARK: Writing

    /// The data file ITK writes beside a detached NRRD header (`NAME.raw`, `NAME.raw.gz`), or nil for
    /// single-file formats.
    static func dataFile(for path: String, format: VolumeFileFormat, compress: Bool) -> String? {
        if format == .niftiPair { return NIfTIFile.PairPaths(path).image }
        guard format == .nrrdDetached else { return nil }
        return String(path.dropLast(format.fileExtension.count + 1)) + (compress ? ".raw.gz" : ".raw")
    }

    /// Writes NIfTI or NRRD through ITK: the reference medvol's Swift writers are checked against in the
    /// tests (the library writes every format in Swift).
    static func write(_ volume: Volume, to path: String, format: VolumeFileFormat,
                      options: VolumeWriteOptions) throws -> [String] {
        let name = formatName(format)
        let compress = options.compress && format != .nifti && format != .niftiPair
        let companion = dataFile(for: path, format: format, compress: compress)
        let outputs = (companion.map { [$0] } ?? []) + [path]

        var header = mv_image_header()
        header.dimensions = volume.geometry.isFourDimensional ? 4 : 3
        let size = volume.size.map(UInt64.init) + (volume.geometry.isFourDimensional ? [] : [1])
        header.size = (size[0], size[1], size[2], size[3])
        header.spacing = (volume.spacing.x, volume.spacing.y, volume.spacing.z)
        header.origin = (volume.origin.x, volume.origin.y, volume.origin.z)
        let d = volume.direction.rowMajor
        header.direction = (d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8])
        header.time_spacing = volume.timeSpacing ?? 1
        header.time_origin = 0
        header.component_type = componentType(volume.pixelType).rawValue
        header.components = UInt32(volume.components)
        header.byte_count = UInt64(volume.byteCount)

        try OutputTransaction.write(outputs: outputs, overwrite: options.overwrite, filesOnly: true) { transaction in
            let staged = transaction.stagingPath(for: path)
            let folder = FileSystem.parentDirectory(of: staged)
            // ITK picks its behaviour by lower-case extension; a .nii.gz is written as .nii first (see below).
            let base = String(FileSystem.lastComponent(of: path).dropLast(format.fileExtension.count + 1))
            let itkExtension = format == .niftiCompressed ? "nii" : format.fileExtension
            let itkPath = folder + "/" + base + "." + itkExtension
            let status = volume.withUnsafeBytes { voxels in
                mv_image_write(itkPath, bridgeFormat(format), &header, voxels.baseAddress, compress ? 1 : 0)
            }
            let written = outcome(of: status)
            guard status.ok != 0, written.printed.isEmpty else {
                let text = status.ok != 0 ? written.printed : reason(written)
                throw MedVolError(.io, path: path, reason: "ITK could not write this \(name) file: \(text)")
            }
            if format == .nifti || format == .niftiCompressed || format == .niftiPair {
                try markTimeUnitsAsSeconds(itkPath)
            }
            if format == .niftiCompressed {
                try GzipFile.compress(itkPath, to: itkPath + ".gz")
                FileSystem.remove(itkPath)
                try FileSystem.rename(itkPath + ".gz", to: staged)
            } else if itkPath != staged {
                try FileSystem.rename(itkPath, to: staged)
            }
            var expected = [FileSystem.lastComponent(of: staged)]
            if let companion {
                // ITK wrote the data file beside the staged header; move it to its own staging place.
                let dataName = FileSystem.lastComponent(of: companion)
                let written = folder + "/" + dataName
                guard FileSystem.kind(of: written) == .file else {
                    throw MedVolError(.io, path: companion, reason: "ITK did not write the \(name) data file \(dataName)")
                }
                try FileSystem.rename(written, to: transaction.stagingPath(for: companion))
                expected.append(dataName)
            }
            let unexpected = try FileSystem.listDirectory(folder).filter { !expected.contains($0) }
            guard unexpected.isEmpty else {
                throw MedVolError(.io, path: path, reason: "ITK wrote unexpected files: \(unexpected.joined(separator: ", "))")
            }
        }
        return outputs
    }

    /// ITK 5.2 writes xyzt_units = 2 (millimetres, time unit unknown) although it stores the time
    /// spacing in seconds; ITK 5.4 writes 10 (millimetres and seconds). Patch the byte to say seconds.
    private static func markTimeUnitsAsSeconds(_ path: String) throws {
        let offset = 123
        let file = try ReadableFile(path: path)
        guard file.size > NIfTIHeader.byteCount, try file.read(count: 1, at: offset) == [2] else { return }
        let output = try WritableFile(updating: path)
        try [UInt8(10)].withUnsafeBytes { try output.write($0, at: offset) }
        try output.close()
    }
}

/// Where binary MetaImage voxels are (one data file, or LOCAL in the header file), checked to hold
/// every byte before anything is allocated; read straight into the volume's memory.
struct MetaImageVoxels {
    let file: ReadableFile
    let offset: Int
    /// Bytes of zlib data, for compressed voxels.
    let compressedLength: Int?
    let isBigEndian: Bool
    let byteCount: Int

    /// nil when the voxels are stored some other way (LIST, a file-name pattern, ASCII) and ITK must
    /// read them. `headerFile` is the open header file (which holds the voxels of a `.mha`).
    init?(header: MetaImageHeader, headerFile: ReadableFile, byteCount: Int) throws {
        let headerPath = headerFile.path
        let dataPath: String
        var offset: Int
        var isLocal = false
        switch header.location {
        case .local(let start):
            dataPath = headerPath
            offset = start
            isLocal = true
        case .file(let path):
            dataPath = path
            offset = 0
        case .other:
            return nil
        }
        if !isLocal, let problem = FileSystem.referenceProblem(dataPath, within: FileSystem.parentDirectory(of: headerPath)) {
            throw MedVolError.corrupt(headerPath, problem.reason(subject: "its data file", file: dataPath,
                                                                folder: FileSystem.parentDirectory(of: headerPath)))
        }
        let file = isLocal ? headerFile : try ReadableFile(path: dataPath)
        if header.headerSize > 0 {
            offset = header.headerSize
        } else if header.headerSize == -1 {
            guard !header.isCompressed else { return nil }
            offset = file.size - byteCount  // the voxels are the end of the file
        }
        guard offset >= 0, offset <= file.size else {
            throw MedVolError.corrupt(dataPath, "truncated: \(byteCount) bytes of voxels expected, the file is \(file.size) bytes")
        }
        if header.isCompressed {
            let length = header.compressedDataSize ?? (file.size - offset)
            guard length >= 0, length <= file.size - offset else {
                throw MedVolError.corrupt(dataPath, "truncated: \(length) bytes of compressed voxels expected from byte \(offset), the file is \(file.size) bytes")
            }
            guard byteCount <= Zlib.maximumExpansion(of: length) else {
                throw MedVolError.corrupt(dataPath, "\(length) compressed bytes cannot hold the \(byteCount) bytes of voxels the header announces")
            }
            compressedLength = length
        } else {
            guard file.size - offset >= byteCount else {
                throw MedVolError.corrupt(dataPath, "truncated: \(byteCount) bytes of voxels expected from byte \(offset), only \(file.size - offset) there")
            }
            compressedLength = nil
        }
        self.file = file
        self.offset = offset
        self.isBigEndian = header.isBigEndian
        self.byteCount = byteCount
    }

    /// The voxels as `type` values, for reading (a `.zraw` inflated front to back).
    func stored(as type: PixelType) throws -> StoredVoxels {
        let source: StoredVoxels.Source = if let compressedLength {
            .stream(try InflatingStream(file: file, offset: offset, length: compressedLength, wrapper: .zlib), finish: {})
        } else {
            .file(file, offset: offset)
        }
        return StoredVoxels(source: source, storedType: type, elementCount: byteCount / type.byteSize, swapsBytes: isBigEndian)
    }
}

/// A name with the format's lower-case extension for a file whose name has capitals (`SCAN.NII.GZ`) or
/// another extension (a format given explicitly), because ITK's ImageIO classes go by lower-case
/// extensions: a symbolic link in a private temporary folder, with a link to the data file of a
/// detached NRRD header beside it. Removed when released.
private final class LowercaseAlias {
    let path: String
    private let folder: String

    /// nil when the file already ends with the format's extension.
    init?(file: ReadableFile, format: VolumeFileFormat) throws {
        let original = file.path
        let name = FileSystem.lastComponent(of: original)
        guard !name.hasSuffix("." + format.fileExtension) else { return nil }
        let base = VolumeFileFormat(path: name) != nil
            ? String(name.dropLast(format.fileExtension.count + 1))  // same extension in capitals
            : name
        let temporary = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        folder = try FileSystem.makeTemporaryDirectory(in: temporary, prefix: "medvol-alias-")
        path = folder + "/" + base + "." + format.fileExtension
        let absolute = FileSystem.absolutePath(original)
        try Self.link(path, to: absolute)
        // A NIfTI pair's voxels are in the .img of the same name.
        if format == .niftiPair {
            try Self.link(String(path.dropLast(4)) + ".img", to: FileSystem.absolutePath(NIfTIFile.PairPaths(original).image))
        }
        // A detached NRRD header names its data file relative to itself: link that too.
        if format == .nrrdDetached, let dataName = Self.nrrdDataFile(of: file) {
            try Self.link(folder + "/" + dataName, to: FileSystem.parentDirectory(of: absolute) + "/" + dataName)
        }
    }

    deinit { FileSystem.remove(folder) }

    private static func link(_ alias: String, to target: String) throws {
        guard symlink(target, alias) == 0 else { throw MedVolError.io(alias, "create a symbolic link", errno: errno) }
    }

    /// The plain relative file name after "data file:" in a NRRD header, if that is what it holds.
    private static func nrrdDataFile(of file: ReadableFile) -> String? {
        guard let bytes = try? file.read(count: min(file.size, 1 << 16), at: 0) else { return nil }
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            for key in ["data file:", "datafile:"] where line.hasPrefix(key) {
                let value = line.dropFirst(key.count).trimmingCharacters(in: " \t\r")
                return value.isEmpty || value.contains(" ") || value.contains("/") || value.hasPrefix("LIST") ? nil : value
            }
        }
        return nil
    }
}

