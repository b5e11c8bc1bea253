/// `.npz` files: a zip of `.npy` arrays, as `np.savez` (stored) and `np.savez_compressed` (deflated)
/// write them. medvol writes
///
/// - `image`: the voxels, shaped as in a `.npy` (`(nz, ny, nx)`, `(nt, nz, ny, nx)`, components last);
/// - `spacing` `(3,)`, `origin` `(3,)` float64, and `direction` `(3, 3)` float64 with
///   `direction[r][c]` = row r, column c (column c is the LPS direction of index axis c);
/// - `timeSpacing` `()` float64, for 4D volumes only.
///
/// Entries are stored unless compression is asked for; ZIP64 is used where a size or offset needs it.
/// Reading, a 4-axis `image` is `(nt, nz, ny, nx)` when `timeSpacing` is present; without it, a last
/// axis of 3 or 4 is taken as RGB(A) components (`(nz, ny, nx, c)`, what medvol writes for colour
/// volumes) and anything else as time (with a warning).
enum NumPyArchive {
    static func write(_ volume: Volume, to path: String, options: VolumeWriteOptions,
                      forceZip64: Bool = false) throws -> [String] {
        let info = VolumeInfo(volume)
        try OutputTransaction.write(outputs: [path], overwrite: options.overwrite, filesOnly: true) { transaction in
            let file = try WritableFile(creating: transaction.stagingPath(for: path))
            let zip = ZipWriter(file: file, forceZip64: forceZip64)
            // The .npy header in a stored block of its own, then the voxels in blocks of whole slices:
            // what a streamed conversion writes (see StreamedVolumeFile).
            try volume.withUnsafeBytes { voxels in
                try zip.addEntry(named: imageEntryName, storedPrefix: imageHeader(for: info), parts: [voxels],
                                 compress: options.compress, blockSize: ParallelDeflate.blockSize(wholeSlicesOf: info))
            }
            try finish(zip, info: info, compress: options.compress)
            try file.close()
        }
        return [path]
    }

    /// The name of the voxels' entry.
    static let imageEntryName = "image.npy"

    /// The `.npy` header of the voxels' entry (its length depends only on the shape).
    static func imageHeader(for info: VolumeInfo) -> [UInt8] {
        NumPyArray.header(descriptor: info.pixelType.numpyDescriptor,
                          shape: NumPyFile.arrayShape(size: info.geometry.size, components: info.components))
    }

    /// Adds the geometry arrays after the voxels' entry and ends the archive.
    static func finish(_ zip: ZipWriter, info: VolumeInfo, compress: Bool) throws {
        let geometry = info.geometry
        var metadataArrays: [(String, [UInt8])] = [
            ("spacing", NumPyArray.file(doubles: [geometry.spacing.x, geometry.spacing.y, geometry.spacing.z], shape: [3])),
            ("origin", NumPyArray.file(doubles: [geometry.origin.x, geometry.origin.y, geometry.origin.z], shape: [3])),
            ("direction", NumPyArray.file(doubles: geometry.direction.rowMajor, shape: [3, 3])),
        ]
        if let timeSpacing = geometry.timeSpacing {
            metadataArrays.append(("timeSpacing", NumPyArray.file(doubles: [timeSpacing], shape: [])))
        }
        for (name, bytes) in metadataArrays {
            try bytes.withUnsafeBytes { try zip.addEntry(named: name + ".npy", parts: [$0], compress: compress) }
        }
        try zip.finish()
    }

    static func open(path: String) throws -> OpenedVolumeFile {
        let file = try ReadableFile(path: path)
        let zip = try ZipReader(file: file)
        guard let imageEntry = zip.entry(named: "image.npy") else {
            let names = zip.entries.map { $0.name.hasSuffix(".npy") ? String($0.name.dropLast(4)) : $0.name }
            throw MedVolError(.unrecognizedFormat, path: path,
                              reason: "no array named 'image' (arrays: \(names.isEmpty ? "none" : names.joined(separator: ", ")))")
        }

        /// A metadata array's values and shape, or nil when the archive has none of that name.
        func metadataArray(_ name: String) throws -> (shape: [Int], values: [Double])? {
            guard let entry = zip.entry(named: name + ".npy") else { return nil }
            let stream = CheckedStream(try zip.stream(for: entry))
            let array = try NumPyArray.readDoubles(from: stream)
            try zip.verify(stream, against: entry)
            guard array.values.allSatisfy(\.isFinite) else { throw MedVolError.corrupt(path, "'\(name)' holds non-finite numbers") }
            return array
        }
        func vector3(_ name: String) throws -> SIMD3<Double>? {
            guard let array = try metadataArray(name) else { return nil }
            guard array.values.count == 3, array.shape.count == 1 else {
                throw MedVolError.corrupt(path, "'\(name)' must have shape (3,), not \(NumPyArray.shapeText(array.shape))")
            }
            return SIMD3(array.values[0], array.values[1], array.values[2])
        }
        let spacing = try vector3("spacing")
        let origin = try vector3("origin")
        var direction: DirectionMatrix?
        if let array = try metadataArray("direction") {
            guard array.values.count == 9, array.shape == [3, 3] || array.shape == [9] else {
                throw MedVolError.corrupt(path, "'direction' must have shape (3, 3), not \(NumPyArray.shapeText(array.shape))")
            }
            direction = DirectionMatrix(rowMajor: array.values)
            guard direction?.inverse != nil else { throw MedVolError.corrupt(path, "'direction' is a singular matrix") }
        }
        var timeSpacing: Double?
        if let array = try metadataArray("timeSpacing") {
            guard array.values.count == 1 else { throw MedVolError.corrupt(path, "'timeSpacing' must hold one number") }
            timeSpacing = array.values[0]
        }
        if let spacing, !(spacing.x > 0 && spacing.y > 0 && spacing.z > 0) {
            throw MedVolError.corrupt(path, "'spacing' must be positive")
        }

        let stream = CheckedStream(try zip.stream(for: imageEntry))
        let header = try NumPyArray.readHeader(from: stream)
        guard header.dataByteCount == imageEntry.uncompressedSize - header.headerLength else {
            throw MedVolError.corrupt(path, "entry image.npy holds \(imageEntry.uncompressedSize) bytes, but its header announces \(header.headerLength + header.dataByteCount)")
        }
        var metadata = VolumeMetadata()
        metadata.source = path
        let shape = header.shape
        var (geometry, components) = try NumPyFile.defaultLayout(of: shape, path: path)
        if shape.count == 4 && timeSpacing == nil {
            if shape[3] == 3 || shape[3] == 4 {
                geometry = ImageGeometry(size: [shape[2], shape[1], shape[0]])
                components = shape[3]
            } else {
                metadata.warnings.append(.fourAxesWithoutTimeSpacing(path: path))
            }
        }
        let missing = [("spacing", spacing == nil), ("origin", origin == nil), ("direction", direction == nil)]
            .filter(\.1).map(\.0)
        if !missing.isEmpty {
            metadata.warnings.append(.missingGeometryArrays(path: path, names: missing))
        }
        geometry.spacing = spacing ?? SIMD3(1, 1, 1)
        geometry.origin = origin ?? .zero
        geometry.direction = direction ?? .identity
        if geometry.isFourDimensional { geometry.timeSpacing = timeSpacing ?? 1 }

        try checkVoxelBufferFitsInMemory(header.dataByteCount, path: path)
        let source = StoredVoxels.Source.stream(stream, finish: { try zip.verify(stream, against: imageEntry) })
        return OpenedVolumeFile(info: VolumeInfo(geometry: geometry, pixelType: header.dtype.pixelType,
                                                 components: components, metadata: metadata),
                                voxels: NumPyArray.storedVoxels(header, source: source))
    }
}
