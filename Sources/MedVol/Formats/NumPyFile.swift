/// `.npy` files with their `.json` geometry sidecar.
///
/// Layout: a C-order array of shape `(nz, ny, nx)`, `(nt, nz, ny, nx)` for 4D, with a trailing axis `c`
/// for multi-component voxels — `SimpleITK.GetArrayFromImage`'s order, which is also the memory order
/// of a ``Volume``, so the voxels are written and read in one piece with no copy. Beside `NAME.npy`
/// lives `NAME.json`: ``Volume/infoJSON``, pretty-printed.
enum NumPyFile {
    /// `NAME.json` for `NAME.npy`.
    static func sidecarPath(for path: String) -> String {
        let base = path.lowercased().hasSuffix(".npy") ? String(path.dropLast(4)) : path
        return base + ".json"
    }

    /// The array shape that holds a volume: reversed size, then components when there are several.
    static func arrayShape(of volume: Volume) -> [Int] {
        arrayShape(size: volume.size, components: volume.components)
    }

    static func arrayShape(size: [Int], components: Int) -> [Int] {
        size.reversed() + (components > 1 ? [components] : [])
    }

    static func open(path: String) throws -> OpenedVolumeFile {
        let file = try ReadableFile(path: path)
        let stream = FileRangeStream(file: file)
        let header = try NumPyArray.readHeader(from: stream)
        guard stream.remaining >= header.dataByteCount else {
            throw MedVolError.corrupt(path, "truncated: the header announces \(header.dataByteCount) bytes of data, but only \(stream.remaining) follow")
        }

        let sidecar = sidecarPath(for: path)
        var geometry: ImageGeometry
        var components: Int
        var metadata: VolumeMetadata
        if FileSystem.kind(of: sidecar) == .file {
            let description = try VolumeDescription(contentsOf: sidecar)
            try check(header, against: description, arrayPath: path, sidecarPath: sidecar)
            geometry = description.geometry
            components = description.components
            metadata = description.metadata
        } else {
            (geometry, components) = try defaultLayout(of: header.shape, path: path)
            metadata = VolumeMetadata()
            metadata.warnings.append(.noGeometrySidecar(sidecar: sidecar))
        }
        if metadata.source == nil { metadata.source = path }

        try checkVoxelBufferFitsInMemory(header.dataByteCount, path: path)
        return OpenedVolumeFile(info: VolumeInfo(geometry: geometry, pixelType: header.dtype.pixelType,
                                                 components: components, metadata: metadata),
                                voxels: NumPyArray.storedVoxels(header, source: .file(file, offset: header.headerLength)))
    }

    /// Geometry and components for an array without a sidecar: `(ny, nx)` → nz = 1, `(nz, ny, nx)`,
    /// `(nt, nz, ny, nx)`, `(nt, nz, ny, nx, c)`; unit spacing, zero origin, identity direction.
    static func defaultLayout(of shape: [Int], path: String) throws -> (ImageGeometry, Int) {
        try checkNotEmpty(shape, path: path)
        switch shape.count {
        case 2: return (ImageGeometry(size: [shape[1], shape[0], 1]), 1)
        case 3: return (ImageGeometry(size: [shape[2], shape[1], shape[0]]), 1)
        case 4: return (ImageGeometry(size: [shape[3], shape[2], shape[1], shape[0]]), 1)
        case 5: return (ImageGeometry(size: [shape[3], shape[2], shape[1], shape[0]]), shape[4])
        default:
            throw MedVolError.unsupported(path, "an array of shape \(NumPyArray.shapeText(shape)) is not a volume (2 to 5 axes: (nz, ny, nx), (nt, nz, ny, nx), optionally components last)")
        }
    }

    static func checkNotEmpty(_ shape: [Int], path: String) throws {
        if shape.contains(0) { throw MedVolError.unsupported(path, "the array of shape \(NumPyArray.shapeText(shape)) is empty") }
    }

    /// Checks that the sidecar describes this array (same shape, same type).
    private static func check(_ header: NumPyArray.Header, against description: VolumeDescription,
                              arrayPath: String, sidecarPath: String) throws {
        try checkNotEmpty(header.shape, path: arrayPath)
        let expected = arrayShape(size: description.geometry.size, components: description.components)
        func withoutLeadingOnes(_ shape: [Int]) -> ArraySlice<Int> { shape.drop { $0 == 1 } }
        guard withoutLeadingOnes(expected) == withoutLeadingOnes(header.shape) else {
            throw MedVolError.corrupt(sidecarPath, "size \(description.geometry.size) with \(description.components) component(s) does not match the shape \(NumPyArray.shapeText(header.shape)) of \(arrayPath)")
        }
        if let type = description.pixelType, type != header.dtype.pixelType {
            throw MedVolError.corrupt(sidecarPath, "says pixelType \(type), but \(arrayPath) holds \(header.descriptor) (\(header.dtype.pixelType))")
        }
    }

    /// Writes `NAME.npy` and `NAME.json`; returns both paths.
    static func write(_ volume: Volume, to path: String, options: VolumeWriteOptions) throws -> [String] {
        let sidecar = sidecarPath(for: path)
        let header = NumPyArray.header(descriptor: volume.pixelType.numpyDescriptor, shape: arrayShape(of: volume))
        let json = volume.infoJSON.prettyText + "\n"
        try OutputTransaction.write(outputs: [path, sidecar], overwrite: options.overwrite, filesOnly: true) { transaction in
            let array = try WritableFile(creating: transaction.stagingPath(for: path))
            try array.write(header)
            try volume.withUnsafeBytes { try array.write($0) }
            try array.close()
            let text = try WritableFile(creating: transaction.stagingPath(for: sidecar))
            try text.write(json)
            try text.close()
        }
        return [path, sidecar]
    }
}
