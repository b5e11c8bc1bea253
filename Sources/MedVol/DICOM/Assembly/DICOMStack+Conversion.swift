extension DICOMStack {
    /// Writes the stack's volume in `format` (from the extension unless given), the fastest way the
    /// format allows — the one write path of the library and of the medvol tool.
    ///
    /// For MetaImage `.mhd` (uncompressed), NumPy `.npy` and NIfTI `.nii`/`.nii.gz`, slices are decoded in
    /// parallel and written straight to their place in the output file (for `.nii.gz`, into blocks
    /// compressed on every core as they fill), and the header follows once the voxel type is settled:
    /// memory stays at a few slices whatever the size of the volume, and nothing is copied twice. For
    /// every other format (and in the rare case where the voxel type turns out to need another size than
    /// the one streamed) the volume is loaded, then written; `.dicom` writes a series into the folder
    /// `path` (``DICOMSeriesWriter``). Either way the result is the same file as
    /// `try load(options:).write(to:format:options:)` gives, and it appears whole or not at all.
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
        var reloaded: Volume?
        if format != .dicom, VolumeFileFormat(path: path) == format,
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
            let sink = file.sink(dataFile: data, geometry: geometry, components: components,
                                 slotBytes: loader.streamedSlotBytes, slotCount: slots.count)
            switch try loader.stream(into: sink) {
            case .streamed(let settled):
                let info = VolumeInfo(geometry: geometry, pixelType: settled, components: components,
                                      metadata: metadata(storedValues: loadOptions.storedValues))
                try file.finish(info, dataFile: data, sink: sink, transaction: transaction)
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
