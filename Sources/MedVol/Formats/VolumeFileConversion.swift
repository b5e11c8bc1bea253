extension Volume {
    /// Converts the volume file `source` into `path` (each format from its extension unless given): the
    /// same files as `try Volume(contentsOf: source, format: sourceFormat).write(to: path, format: format,
    /// options: options)` writes, byte for byte, without holding the volume when it can.
    ///
    /// When medvol's own reader reads `source` (every volume file format streams, as from DICOM), the
    /// voxels go from one file to the other a run of slices at a time, on every core: memory stays at a few slices whatever the size of the
    /// volume. A source that can only be inflated front to back (a `.zraw`, an `.npz` entry, a `.nii.gz`
    /// that medvol did not write) streams into uncompressed outputs; into a compressed one it is read
    /// whole, so that the compression still runs on every core. Files for ITK's reader and Fortran-order
    /// `.npy` arrays are read whole, then written. Either way the outputs
    /// appear whole or not at all, and a source found damaged part way leaves nothing behind.
    @discardableResult
    public static func convert(contentsOf source: String, sourceFormat: VolumeFileFormat? = nil, to path: String,
                               format: VolumeFileFormat? = nil, options: VolumeWriteOptions = .init()) throws -> WriteResult {
        guard let inputFormat = sourceFormat ?? VolumeFileFormat(path: source) else {
            return try Volume(contentsOf: source, format: sourceFormat).write(to: path, format: format, options: options)
        }
        guard inputFormat != .dicom, let opened = try OpenedVolumeFile.open(source, format: inputFormat) else {
            return try Volume(contentsOf: source, format: inputFormat).write(to: path, format: format, options: options)
        }
        if let target = format ?? VolumeFileFormat(path: path), target != .dicom, VolumeFileFormat(path: path) == target,
           let streamed = StreamedVolumeFile(path: path, format: target, options: options),
           let result = try opened.stream(into: streamed, options: options) {
            return result
        }
        return try opened.load().write(to: path, format: format, options: options)
    }
}

extension OpenedVolumeFile {
    /// Bytes of slices one run reads and writes when the output is not compressed (a compressed output's
    /// runs are its blocks).
    static let uncompressedRunBytes = 4 << 20

    /// Streams the voxels into `file` a run of slices at a time (about `runBytes` each when the output
    /// is not compressed), or returns nil (nothing written) when this source and output are better read
    /// whole (see ``Volume/convert(contentsOf:sourceFormat:to:format:options:)``).
    func stream(into file: StreamedVolumeFile, options: VolumeWriteOptions,
                runBytes: Int = uncompressedRunBytes) throws -> WriteResult? {
        guard voxels.readsInRuns, voxels.isPositional || !file.compresses else { return nil }
        let geometry = info.geometry, components = info.components
        let slotElements = geometry.size[0] * geometry.size[1] * components
        let slotBytes = slotElements * info.pixelType.byteSize
        let slotCount = geometry.size.dropFirst(2).reduce(1, *)
        let transaction = try OutputTransaction(outputs: file.outputs, overwrite: options.overwrite, filesOnly: true)
        do {
            try file.checkHolds(geometry: geometry, components: components)
            try transaction.prepare()
            let data = try WritableFile(creating: transaction.stagingPath(for: file.dataPath))
            let types = [info.pixelType]
            let sink = file.sink(dataFile: data, geometry: geometry, components: components, types: types,
                                 slotBytes: slotBytes, slotCount: slotCount)
            let runs = Self.runs(slotCount: slotCount, slotBytes: slotBytes, runBytes: runBytes, sink: sink)
            let voxels = voxels
            let scratch = ScratchPool(byteCount: (runs.map(\.count).max() ?? 0) * slotBytes)
            let copy: @Sendable (Range<Int>) throws -> Void = { run in
                try scratch.withBuffer { buffer in
                    try sink.withSlots(run, bytes: slotBytes, scratch: buffer) { slots in
                        try voxels.read(elements: run.lowerBound * slotElements..<run.upperBound * slotElements,
                                        into: slots, parallel: false)
                    }
                }
            }
            if voxels.isPositional {
                _ = try Parallel.map(runs.count) { try copy(runs[$0]) }
            } else {
                for run in runs { try copy(run) }
            }
            try voxels.finish()
            try file.finish(info, types: types, dataFile: data, sink: sink, transaction: transaction)
            try data.close()
            try transaction.commit()
            return WriteResult(paths: file.outputs, info: info, streamed: true)
        } catch {
            transaction.abort()
            throw transaction.namingFinalPath(error)
        }
    }

    /// The runs of slots, in the order to convert them: a compressed output's blocks, those that choose
    /// its level first; else about `runBytes` each, in order.
    static func runs(slotCount: Int, slotBytes: Int, runBytes: Int, sink: SlotSink) -> [Range<Int>] {
        guard case .compressed(let collector) = sink else {
            let length = max(1, runBytes / max(slotBytes, 1))
            return stride(from: 0, to: slotCount, by: length).map { $0..<min($0 + length, slotCount) }
        }
        let length = collector.slotsPerBlock
        let blocks = stride(from: 0, to: slotCount, by: length).map { $0..<min($0 + length, slotCount) }
        let first = Set(collector.sampleBlocks)
        return collector.sampleBlocks.map { blocks[$0] } + blocks.indices.filter { !first.contains($0) }.map { blocks[$0] }
    }
}
