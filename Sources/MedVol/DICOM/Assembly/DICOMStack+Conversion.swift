extension DICOMStack {
    /// Writes the stack's volume in `format` (from the extension unless given), the fastest way the
    /// format allows — the one write path of the library and of the medvol tool.
    ///
    /// For every volume file format — MetaImage (`.mhd`, `.mha`), NumPy (`.npy`, `.npz`), NIfTI (`.nii`,
    /// `.nii.gz`, `.hdr`) and NRRD (`.nrrd`, `.nhdr`), raw or compressed — slices are decoded in parallel
    /// and written straight to their place in the output file (compressed: into blocks compressed on every
    /// core as they fill), and the header follows once the voxel type is settled: memory stays at a few
    /// slices whatever the size of the volume, and nothing is copied twice. In the rare case where the
    /// voxel type turns out to need another size than the one streamed the volume is loaded, then
    /// written; `.dicom` writes a series into the folder `path` (``DICOMSeriesWriter``). Either way the
    /// result holds the same voxels and header fields as `try load(options:).write(to:format:options:)`
    /// gives — the same bytes, except that a streamed `.mha` or `.nrrd` whose values chose between two
    /// types of one size carries a padding comment line, which ITK, Teem and pynrrd skip — and it appears whole
    /// or not at all.
    /// When `loadOptions` asks for a ``SliceResampling`` the stack needs, the volume is loaded and
    /// resampled in its one buffer, then written; the result's ``WriteResult/info`` reports what was done.
    @discardableResult
    public func write(to path: String, format: VolumeFileFormat? = nil, options: VolumeWriteOptions = VolumeWriteOptions(),
                      loadOptions: DICOMLoadOptions = DICOMLoadOptions()) throws -> WriteResult {
        let stack = scaled(loadOptions.scaling)
        if stack.appliedScaling != appliedScaling {
            return try stack.write(to: path, format: format, options: options, loadOptions: loadOptions)
        }
        guard let format = format ?? VolumeFileFormat(path: path) else {
            throw MedVolError(.invalidArgument, path: path,
                              reason: "cannot tell the format from the extension (use .mhd, .mha, .nii, .nii.gz, .hdr, .nrrd, .nhdr, .npy or .npz)")
        }
        var options = options
        if options.bidsSidecar {
            guard [.nifti, .niftiCompressed, .niftiPair].contains(format) else {
                throw MedVolError(.invalidArgument, path: path, reason: "a BIDS sidecar goes with NIfTI outputs (.nii, .nii.gz, .hdr) only")
            }
            options.companions = try bidsCompanions(for: path, format: format, storedValues: loadOptions.storedValues)
        }
        var reloaded: Volume?
        // Resampled slices are made in memory (once, in the output's own buffer), then written.
        let resampled = try resamplingPlan(loadOptions.sliceResampling) != nil
        if !resampled, format != .dicom, VolumeFileFormat(path: path) == format,
           let streamed = StreamedVolumeFile(path: path, format: format, options: options) {
            switch try stream(into: streamed, options: options, loadOptions: loadOptions) {
            case .written(let result):
                return result
            case .reload(let type):
                reloaded = try StackLoader(stack: self, geometry: loadableGeometry(), options: loadOptions).load(as: type)
            }
        }
        let volume = try reloaded ?? load(options: loadOptions)
        return try volume.write(to: path, format: format, options: options)
    }

    /// `NAME.json` and, for a diffusion series, `NAME.bval` and `NAME.bvec`, for the NIfTI output `path`.
    /// With `storedValues` no scaling is applied, so `UsePhilipsFloatNotDisplayScaling` is left out.
    func bidsCompanions(for path: String, format: VolumeFileFormat, storedValues: Bool = false) throws -> [CompanionFile] {
        let geometry = try loadableGeometry()
        var base = path
        for suffix in [".nii.gz", ".nii", ".hdr", ".img"] where base.lowercased().hasSuffix(suffix) {
            base.removeLast(suffix.count)
            break
        }
        var sidecar = bidsSidecar
        if storedValues { sidecar.usePhilipsFloatNotDisplayScaling = nil }
        var companions = [CompanionFile(path: base + ".json", text: sidecar.json.prettyText + "\n")]
        if let diffusion, diffusion.contains(where: { $0.bValue > 0 }) {
            let (bval, bvec) = Self.fslGradientTables(diffusion, geometry: geometry)
            companions.append(CompanionFile(path: base + ".bval", text: bval))
            companions.append(CompanionFile(path: base + ".bvec", text: bvec))
        }
        return companions
    }

    /// FSL's `.bval` (one line) and `.bvec` (three lines) for `encodings`: each gradient in the written
    /// image's voxel axes (the direction's columns), its first component negated when the image's
    /// voxel-to-world matrix has a positive determinant (FSL's radiological convention).
    static func fslGradientTables(_ encodings: [DiffusionEncoding], geometry: ImageGeometry) -> (bval: String, bvec: String) {
        let m = geometry.direction.rowMajor
        let columns = (0..<3).map { c in SIMD3(m[c], m[3 + c], m[6 + c]) }
        // NIfTI's RAS matrix is diag(-1, -1, 1) × direction × spacing: its determinant has the sign of the direction's.
        let determinant = (columns[0].x * (columns[1].y * columns[2].z - columns[1].z * columns[2].y)
            - columns[1].x * (columns[0].y * columns[2].z - columns[0].z * columns[2].y)
            + columns[2].x * (columns[0].y * columns[1].z - columns[0].z * columns[1].y))
        var rows: [[String]] = [[], [], []]
        for encoding in encodings {
            var v = columns.map { ($0 * encoding.gradient).sum() }
            if determinant > 0 { v[0] = -v[0] }
            for axis in 0..<3 { rows[axis].append(Self.tableNumber(v[axis])) }
        }
        let bval = encodings.map { Self.tableNumber($0.bValue) }.joined(separator: " ") + "\n"
        return (bval, rows.map { $0.joined(separator: " ") }.joined(separator: "\n") + "\n")
    }

    /// A number rounded to six decimals, whole numbers without a fraction, never "-0".
    static func tableNumber(_ value: Double) -> String {
        let rounded = (value * 1e6).rounded() / 1e6
        if rounded == 0 { return "0" }
        if rounded.rounded() == rounded, abs(rounded) < 1e15 { return String(Int(rounded)) }
        return rounded.description
    }

    /// The former name of `write(to:format:options:loadOptions:)`.
    @available(*, deprecated, renamed: "write(to:format:options:loadOptions:)")
    public func convert(to path: String, format: VolumeFileFormat? = nil, options: VolumeWriteOptions = VolumeWriteOptions(),
                        loadOptions: DICOMLoadOptions = DICOMLoadOptions()) throws -> WriteResult {
        try write(to: path, format: format, options: options, loadOptions: loadOptions)
    }

    private enum StreamedConversion {
        case written(WriteResult)
        /// The values need a voxel type of another size than the one streamed: load the volume as `type`.
        case reload(as: PixelType)
    }

    /// Streams the voxels into `file`, or tells the type to load the volume as instead (then nothing is
    /// left behind).
    private func stream(into file: StreamedVolumeFile, options: VolumeWriteOptions,
                        loadOptions: DICOMLoadOptions) throws -> StreamedConversion {
        let geometry = try loadableGeometry()
        let components = frames[slots[0]].format.producesColor ? 3 : 1
        let transaction = try OutputTransaction(outputs: file.outputs, overwrite: options.overwrite, filesOnly: true)
        do {
            try file.checkHolds(geometry: geometry, components: components)
            try transaction.prepare()
            let data = try WritableFile(creating: transaction.stagingPath(for: file.dataPath))
            let loader = StackLoader(stack: self, geometry: geometry, options: loadOptions)
            let types = loader.streamedTypes
            let sink = file.sink(dataFile: data, geometry: geometry, components: components, types: types,
                                 slotBytes: loader.streamedSlotBytes, slotCount: slots.count)
            switch try loader.stream(into: sink) {
            case .streamed(let settled):
                let info = VolumeInfo(geometry: geometry, pixelType: settled, components: components,
                                      metadata: metadata(storedValues: loadOptions.storedValues))
                try file.finish(info, types: types, dataFile: data, sink: sink, transaction: transaction)
                try data.close()
                try transaction.commit()
                return .written(WriteResult(paths: file.outputs, info: info, streamed: true))
            case .reload(let type):
                try data.close()
                transaction.abort()
                return .reload(as: type)
            }
        } catch {
            transaction.abort()
            throw transaction.namingFinalPath(error)
        }
    }
}
