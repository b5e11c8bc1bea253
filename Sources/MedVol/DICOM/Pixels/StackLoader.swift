#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Decodes a stack's frames, in parallel, straight into the volume's buffer, and settles the voxel type
/// by the SPEC's rule (``VoxelTypeRule``).
struct StackLoader {
    let stack: DICOMStack
    let geometry: ImageGeometry
    let options: DICOMLoadOptions

    /// One decode: a frame of a file, and where its pixels go (several places for a mosaic).
    private struct Job: Sendable {
        var fileIndex: Int
        var frameNumber: Int
        /// (index into stack.frames, volume slot)
        var targets: [(frame: Int, slot: Int)]
    }

    private struct JobOutcome: Sendable {
        var range: ClosedRange<Double>?
        var fits: Bool
    }

    func load() throws -> Volume {
        let (format, mappings, plan) = stack.voxelTypePlan(storedValues: options.storedValues)
        switch plan {
        case .fixed(let type):
            let (volume, range, allFit) = try decode(into: type)
            guard !allFit, let range else { return volume }
            // The headers promised values that fit `type`, but a JPEG 2000 or JPEG-LS stream of a higher
            // precision than Bits Stored holds others: decode again into a type that holds them all.
            return try load(as: VoxelTypeRule.typeHolding(range, format: format, mappings: mappings))
        case .measured(let provisional):
            let (volume, range, allFit) = try decode(into: provisional)
            guard let range else { return volume }
            // A measured plan maps integers to integers, so `final` is also the type that holds every value.
            let final = VoxelTypeRule.finalType(stored: format.storedSampleType, range: range)
            if !allFit { return try load(as: final) }
            if final == provisional { return volume }
            if final.byteSize == provisional.byteSize {
                var relabelled = volume
                relabelled.relabel(as: final)
                return relabelled
            }
            return VoxelMath.converted(volume, to: final)
        }
    }

    /// Decodes every frame once, into a volume of `type` (one the values are known to need).
    func load(as type: PixelType) throws -> Volume {
        try decode(into: type).volume
    }

    /// What streaming settled.
    enum StreamOutcome {
        /// Every slot was written; `type` is the voxel type the values settled on.
        case streamed(PixelType)
        /// The values need `type`, of another size than the one streamed (rare): the caller loads the
        /// volume as `type` instead (``load(as:)``).
        case reload(as: PixelType)
    }

    /// The bytes of one converted slot when streaming (the voxel type streaming starts with).
    var streamedSlotBytes: Int {
        let (format, _, plan) = stack.voxelTypePlan(storedValues: options.storedValues)
        return geometry.size[0] * geometry.size[1] * (format.producesColor ? 3 : 1) * plan.firstType.byteSize
    }

    /// The voxel types a stream can settle on (``stream(into:)``): the planned type when the headers fix
    /// it, else the integer types of the provisional type's size (the values choose between them).
    /// A header whose length depends on the type's name reserves room for the longest of them.
    var streamedTypes: [PixelType] {
        switch stack.voxelTypePlan(storedValues: options.storedValues).plan {
        case .fixed(let type): [type]
        case .measured(let provisional): [false, true].compactMap { PixelType.integer(bytes: provisional.byteSize, signed: $0) }
        }
    }

    /// Decodes every frame straight into `sink` (an output file, slot by slot, or blocks compressed as
    /// they fill) without holding the volume.
    func stream(into sink: SlotSink) throws -> StreamOutcome {
        let (format, mappings, plan) = stack.voxelTypePlan(storedValues: options.storedValues)
        try checkMemory(output: plan.firstType, components: format.producesColor ? 3 : 1, format: format, holdingVolume: false)
        switch plan {
        case .fixed(let type):
            let (range, allFit) = try decode(into: type, sink: sink)
            // A value that does not fit always comes with a range (see `SampleConverter.Outcome`).
            guard !allFit, let range else { return .streamed(type) }
            return .reload(as: VoxelTypeRule.typeHolding(range, format: format, mappings: mappings))
        case .measured(let provisional):
            let (range, allFit) = try decode(into: provisional, sink: sink)
            guard let range else { return .streamed(provisional) }
            // A measured plan maps integers to integers, so `final` is also the type that holds every value.
            let final = VoxelTypeRule.finalType(stored: format.storedSampleType, range: range)
            // Every value fit, and the same size: the bytes already written mean the same values in `final`.
            return allFit && final.byteSize == provisional.byteSize ? .streamed(final) : .reload(as: final)
        }
    }

    private func decode(into output: PixelType) throws -> (volume: Volume, range: ClosedRange<Double>?, allFit: Bool) {
        let format = stack.frames[stack.slots[0]].format
        let components = format.producesColor ? 3 : 1
        try checkMemory(output: output, components: components, format: format)
        var volume = Volume(pixelType: output, components: components, geometry: geometry,
                            metadata: stack.metadata(storedValues: options.storedValues))
        let (range, allFit) = try volume.withUnsafeMutableBytes { buffer in
            try decode(into: output, sink: .memory(buffer.baseAddress!))
        }
        return (volume, range, allFit)
    }

    /// Decodes every frame and hands each converted slot to `sink`; returns the range of the values and
    /// whether they all fit `output`.
    private func decode(into output: PixelType, sink: SlotSink) throws -> (range: ClosedRange<Double>?, allFit: Bool) {
        let format = stack.frames[stack.slots[0]].format
        let components = format.producesColor ? 3 : 1
        let files = stack.files
        let slotBytes = geometry.size[0] * geometry.size[1] * components * output.byteSize
        // Compressed blocks fill fastest in slot order; files are otherwise read in file order.
        let jobs = makeJobs(inSlotOrder: sink.prefersSlotOrder, first: sink.prioritySlots)
        let frames = stack.frames
        let storedValues = options.storedValues
        let control = options.control

        // Fragment tables of multi-frame encapsulated files, read once per file rather than per frame.
        let multiFrameFiles = Set(jobs.map(\.fileIndex)).filter { (files[$0].dataSet.int(.numberOfFrames) ?? 1) > 1 }.sorted()
        let tables: [Int: [[Range<Int>]]] = try Dictionary(uniqueKeysWithValues: Parallel.map(multiFrameFiles.count) { index in
            let file = files[multiFrameFiles[index]]
            return (multiFrameFiles[index], try FrameDecoder.frameFragments(header: file, frameCount: file.dataSet.int(.numberOfFrames) ?? 1) ?? [])
        }).filter { !$0.value.isEmpty }

        let threads = Self.decoderThreads(jobs: jobs.count, pixelsPerFrame: format.pixelsPerFrame)
        let progress = ProgressCounter(stage: "decoding", total: jobs.count, control: control)
        let outcomes: [JobOutcome] = try Parallel.map(jobs.count) { index in
            try control.checkCancellation()
            defer { progress.advance() }
            let job = jobs[index]
            let header = files[job.fileIndex]
            do {
                return try Self.run(job, header: header, frames: frames, fragments: tables[job.fileIndex],
                                    output: output, storedValues: storedValues, sink: sink, slotBytes: slotBytes,
                                    decoderThreads: threads, codecIsolation: options.codecIsolation)
            } catch let error as MedVolError {
                throw error.at(header.path)
            }
        }
        let ranges = outcomes.compactMap(\.range)
        let range = ranges.isEmpty ? nil : ranges.map(\.lowerBound).min()!...ranges.map(\.upperBound).max()!
        return (range, outcomes.allSatisfy(\.fits))
    }

    /// Threads each frame's decoder may use (OpenJPEG; the others use one): frames are decoded in
    /// parallel, one per core, so a frame gets more than one thread only when there are fewer frames than
    /// cores, or when it is large (4 Mpixel or more: a whole-slide tile, a large radiograph), where
    /// OpenJPEG's code-block threads also even out the end of the run.
    static func decoderThreads(jobs: Int, pixelsPerFrame: Int) -> Int {
        let cores = Parallel.processorCount
        if jobs < cores { return max(1, (cores + max(1, jobs) - 1) / max(1, jobs)) }
        return pixelsPerFrame >= 4 << 20 ? cores : 1
    }

    /// Refuses, before anything is allocated, a volume whose size overflows or which, with a frame's
    /// decoding buffer per core, needs more than this machine's memory: a damaged header can claim
    /// 65535 × 65535 pixels, and a failed allocation would end the process.
    /// Streaming (`holdingVolume` false) needs only the frame buffers, and one converted slot per core.
    private func checkMemory(output: PixelType, components: Int, format: StoredPixelFormat, holdingVolume: Bool = true) throws {
        let path = stack.files[stack.frames[0].fileIndex].path
        let extents = holdingVolume ? geometry.size : Array(geometry.size.prefix(2)) + [Parallel.processorCount]
        let checkedVolumeBytes = VoxelMath.checkedByteCount(elementBytes: output.byteSize * components, extents: extents.map { max(1, $0) })
        let volumeBytes = checkedVolumeBytes ?? 0
        // A decoded frame and its stored form, per core (an upper bound: most frames decode in place).
        var frameBytes = format.pixelsPerFrame * (format.producesColor ? 3 : 1) * max(1, format.bitsAllocated / 8) * 2
        var overflow = checkedVolumeBytes == nil
        if !overflow { (frameBytes, overflow) = frameBytes.multipliedReportingOverflow(by: Parallel.processorCount) }
        if holdingVolume && !overflow { try ReadingLimits.checkAllocation(volumeBytes, path: path) }
        let physical = VoxelMath.physicalMemory ?? 0
        guard !overflow, physical <= 0 || volumeBytes <= physical - min(physical, frameBytes) else {
            func gib(_ bytes: Int) -> String { formatNumber((Double(bytes) / Double(1 << 30) * 10).rounded() / 10) }
            let size = geometry.size.map(String.init).joined(separator: "×")
            throw MedVolError.unsupported(path, overflow
                ? "a \(size) volume of \(output.rawValue)×\(components) is too large to address"
                : "a \(size) volume of \(output.rawValue)×\(components) needs \(gib(volumeBytes)) GiB, plus up to \(gib(frameBytes)) GiB of decoding buffers: more than this machine's \(gib(physical)) GiB of memory")
        }
    }

    /// Groups the slots by source frame, in file order (or in the order of their first slot), the jobs
    /// that feed a slot of `first` before the rest.
    private func makeJobs(inSlotOrder: Bool = false, first: Set<Int> = []) -> [Job] {
        var byFrame: [Int: Int] = [:]   // (file, frame) key → job index
        var jobs: [Job] = []
        for (slot, frameIndex) in stack.slots.enumerated() {
            let frame = stack.frames[frameIndex]
            let key = frame.fileIndex << 20 | frame.frameNumber
            if let existing = byFrame[key] {
                jobs[existing].targets.append((frameIndex, slot))
            } else {
                byFrame[key] = jobs.count
                jobs.append(Job(fileIndex: frame.fileIndex, frameNumber: frame.frameNumber, targets: [(frameIndex, slot)]))
            }
        }
        let ordered = inSlotOrder ? jobs : jobs.sorted { ($0.fileIndex, $0.frameNumber) < ($1.fileIndex, $1.frameNumber) }
        guard !first.isEmpty else { return ordered }
        let isFirst = ordered.map { job in job.targets.contains { first.contains($0.slot) } }
        return zip(ordered, isFirst).filter(\.1).map(\.0) + zip(ordered, isFirst).filter { !$0.1 }.map(\.0)
    }

    /// Decodes one frame and converts it into every slot it feeds.
    private static func run(_ job: Job, header: DICOMFile, frames: [DICOMFrame], fragments: [[Range<Int>]]?,
                            output: PixelType, storedValues: Bool, sink: SlotSink, slotBytes: Int,
                            decoderThreads: Int, codecIsolation: CodecIsolation) throws -> JobOutcome {
        let first = frames[job.targets[0].frame]
        var decoder = try FrameDecoder(header: header, format: first.format, palette: first.palette, fragments: fragments)
        decoder.decoderThreads = decoderThreads
        decoder.codecIsolation = codecIsolation
        let decodedBytes = decoder.decodedBytesPerFrame

        // Fast path: one target of the decoded size: decode in place, and convert monochrome samples in
        // place (colour frames decode to the voxels themselves: RGB of the type of `output`).
        if job.targets.count == 1, first.tile == nil, decodedBytes == slotBytes {
            return try sink.withSlot(job.targets[0].slot, bytes: slotBytes) { slot in
                let decodedFrame = try decoder.decode(frame: job.frameNumber, into: slot)
                if first.format.producesColor { return JobOutcome(range: nil, fits: true) }
                let converter = SampleConverter(format: first.format.withValueBits(decodedFrame.valueBits),
                                                mapping: storedValues ? .identity : first.mapping, output: output)
                let outcome = converter.convert(source: slot.baseAddress!, destination: slot.baseAddress!,
                                                count: first.format.pixelsPerFrame)
                return JobOutcome(range: outcome.range, fits: outcome.fits)
            }
        }

        let decoded = UnsafeMutableRawBufferPointer.allocate(byteCount: decodedBytes, alignment: 64)
        defer { decoded.deallocate() }
        let decodedFrame = try decoder.decode(frame: job.frameNumber, into: decoded)
        var result = JobOutcome(range: nil, fits: true)
        let sampleBytes = decoder.decodedSampleBytes
        let components = decoder.decodedComponents
        for target in job.targets {
            let frame = frames[target.frame]
            // The samples of this target: the whole frame, or its mosaic tile.
            var samples = decoded
            var tileBuffer: UnsafeMutableRawBufferPointer?
            if let tile = frame.tile {
                let rowBytes = tile.columns * components * sampleBytes
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: tile.rows * rowBytes, alignment: 64)
                for row in 0..<tile.rows {
                    let from = ((tile.firstRow + row) * frame.format.columns + tile.firstColumn) * components * sampleBytes
                    (buffer.baseAddress! + row * rowBytes).copyMemory(from: decoded.baseAddress! + from, byteCount: rowBytes)
                }
                tileBuffer = buffer
                samples = buffer
            }
            defer { tileBuffer?.deallocate() }
            let outcome: SampleConverter.Outcome? = try sink.withSlot(target.slot, bytes: slotBytes) { destination in
                if frame.format.producesColor {
                    destination.copyMemory(from: UnsafeRawBufferPointer(rebasing: samples[0..<slotBytes]))
                    return nil
                }
                let converter = SampleConverter(format: frame.format.withValueBits(decodedFrame.valueBits),
                                                mapping: storedValues ? .identity : frame.mapping, output: output)
                return converter.convert(source: samples.baseAddress!, destination: destination.baseAddress!,
                                         count: frame.width * frame.height)
            }
            guard let outcome else { continue }
            if let range = outcome.range {
                result.range = result.range.map { min($0.lowerBound, range.lowerBound)...max($0.upperBound, range.upperBound) } ?? range
            }
            result.fits = result.fits && outcome.fits
        }
        return result
    }
}

/// Where converted slots go: the volume's memory, their place in an output file, or blocks of a
/// compressed output.
enum SlotSink: @unchecked Sendable {
    case memory(UnsafeMutableRawPointer)
    /// Slot `s` goes at `dataOffset + s × slotBytes` (written with pwrite, from any thread); with
    /// `checksums`, the CRC-32 of each slot is kept as it is written.
    case file(WritableFile, dataOffset: Int, checksums: SlotChecksums? = nil)
    /// Slots are gathered into blocks, each compressed once its last slot is in (see ``CompressedSlotCollector``).
    case compressed(CompressedSlotCollector)

    /// Whether slots should arrive in order (a block is compressed, and its memory freed, once full).
    var prefersSlotOrder: Bool {
        if case .compressed = self { return true }
        return false
    }

    /// Slots to convert before the others (the blocks that choose a compressed output's level).
    var prioritySlots: Set<Int> {
        if case .compressed(let collector) = self { return Set(collector.prioritySlots) }
        return []
    }

    /// Runs `body` on the memory slot `slot` is converted into; for a file, a buffer that is then
    /// written at the slot's place.
    func withSlot<R>(_ slot: Int, bytes: Int, _ body: (UnsafeMutableRawBufferPointer) throws -> R) throws -> R {
        switch self {
        case .memory(let base):
            return try body(UnsafeMutableRawBufferPointer(start: base + slot * bytes, count: bytes))
        case .file(let file, let dataOffset, let checksums):
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes, alignment: 64)
            defer { buffer.deallocate() }
            let result = try body(buffer)
            try file.write(UnsafeRawBufferPointer(buffer), at: dataOffset + slot * bytes)
            checksums?.record(UnsafeRawBufferPointer(buffer), slots: slot..<(slot + 1))
            return result
        case .compressed(let collector):
            precondition(bytes == collector.slotBytes, "slots of another size than the collector's")
            return try collector.withSlot(slot, body)
        }
    }

    /// Runs `body` on the memory that the consecutive slots `slots` (of `bytes` each) fill: their place
    /// in memory, else the start of `scratch` (the caller's, reused from run to run), then written at
    /// their place in the file or copied into the collector's blocks slot by slot.
    func withSlots(_ slots: Range<Int>, bytes: Int, scratch: UnsafeMutableRawBufferPointer,
                   _ body: (UnsafeMutableRawBufferPointer) throws -> Void) throws {
        precondition(scratch.count >= slots.count * bytes)
        let buffer = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<(slots.count * bytes)])
        switch self {
        case .memory(let base):
            try body(UnsafeMutableRawBufferPointer(start: base + slots.lowerBound * bytes, count: slots.count * bytes))
        case .file(let file, let dataOffset, let checksums):
            try body(buffer)
            try file.write(UnsafeRawBufferPointer(buffer), at: dataOffset + slots.lowerBound * bytes)
            checksums?.record(UnsafeRawBufferPointer(buffer), slots: slots)
        case .compressed:
            try body(buffer)
            for (index, slot) in slots.enumerated() {
                try withSlot(slot, bytes: bytes) { place in
                    place.copyMemory(from: UnsafeRawBufferPointer(rebasing: buffer[index * bytes..<(index + 1) * bytes]))
                }
            }
        }
    }
}

/// The CRC-32 of every slot a file sink writes, combined in slot order once all are in: the checksum of a
/// stored `.npz` entry, without reading the voxels back. A slot's entry is set by the thread that writes
/// the slot, so threads never share an entry.
final class SlotChecksums: @unchecked Sendable {
    let slotBytes: Int
    private let checksums: UnsafeMutableBufferPointer<UInt32>
    private let recorded: UnsafeMutableBufferPointer<Bool>

    init(slotCount: Int, slotBytes: Int) {
        self.slotBytes = slotBytes
        checksums = .allocate(capacity: slotCount)
        checksums.initialize(repeating: 0)
        recorded = .allocate(capacity: slotCount)
        recorded.initialize(repeating: false)
    }

    deinit {
        checksums.deallocate()
        recorded.deallocate()
    }

    /// Keeps the CRC-32 of each of the consecutive `slots`, whose bytes `bytes` holds in order.
    func record(_ bytes: UnsafeRawBufferPointer, slots: Range<Int>) {
        precondition(bytes.count == slots.count * slotBytes, "slots of another size than the checksums'")
        for (index, slot) in slots.enumerated() {
            checksums[slot] = Zlib.crc32(UnsafeRawBufferPointer(rebasing: bytes[(index * slotBytes)..<((index + 1) * slotBytes)]))
            recorded[slot] = true
        }
    }

    /// The CRC-32 of all the slots in order; every slot must have been recorded.
    func combined() -> UInt32 {
        precondition(!recorded.contains(false), "a slot of the file was not written through its sink")
        return checksums.reduce(UInt32(0)) { Zlib.combineCRC32($0, $1, length: slotBytes) }
    }
}
