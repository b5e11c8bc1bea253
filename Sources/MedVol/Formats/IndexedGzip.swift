import Synchronization

/// The gzip files medvol writes (`.nii.gz`, gzip NRRD): ordinary gzip, so that gzip, zlib, nibabel, ITK
/// and SimpleITK read them, but made so that they can be written and read on every core.
///
/// A gzip file may hold several members one after another, read as one stream (RFC 1952 §2.2); medvol
/// cuts the data into blocks of about a MiB and compresses each into its own member, independently, on
/// any thread (pigz's idea, with libdeflate), and writes the members in order. An optional first member
/// holds a small header (a NIfTI header, whose voxel type is known only at the end) as a *stored* deflate
/// block, so that its size is known in advance and it can be written last. A final empty member carries
/// the index of every member (compressed and uncompressed size) in its header's extra field, subfield
/// "MV"; medvol reads that index to inflate the members in parallel straight into a volume's memory. Any
/// other gzip file is inflated as one stream.
///
/// The index member (all numbers little endian):
///
///     1F 8B 08 04  00000000  00 FF  XLEN(2)            gzip header with FEXTRA
///     'M' 'V'  LEN(2)                                  extra subfield
///       version(1) = 1, count(4), count × [compressed(4), uncompressed(4)], length of this member(4), "MVIX"
///     03 00                                            an empty final deflate block
///     00000000 00000000                                CRC-32 and size of nothing
enum IndexedGzip {
    /// Uncompressed bytes per member, for volumes whose slices are smaller.
    static let blockSize = 1 << 20
    /// Members an index can list (its extra field holds at most 65535 bytes).
    static let maximumMembers = (Int(UInt16.max) - 4 - 13) / 8

    /// One member of an indexed file.
    struct Member: Sendable, Equatable {
        var fileOffset: Int
        var compressedCount: Int
        var uncompressedOffset: Int
        var uncompressedCount: Int
    }

    /// The most bytes a gzip member of `compressedCount` bytes can inflate to: deflate's 1032:1 bound.
    static func maximumInflatedSize(ofMember compressedCount: Int) -> Int { compressedCount * 1032 + 1032 }

    /// Bytes a stored member of `payload` bytes takes.
    static func storedMemberSize(payload: Int) -> Int { 10 + 5 + payload + 8 }

    /// `payload` (at most 65535 bytes) as a gzip member holding one stored (uncompressed) deflate block.
    static func storedMember(_ payload: [UInt8]) -> [UInt8] {
        precondition(payload.count <= 0xFFFF)
        var member: [UInt8] = [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 0xFF]
        let length = UInt16(payload.count)
        member += [1, UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8(~length >> 8)]
        member += payload
        let crc = payload.withUnsafeBytes { LibDeflate.crc32($0) }
        appendLittleEndian(crc, to: &member)
        appendLittleEndian(UInt32(truncatingIfNeeded: payload.count), to: &member)
        return member
    }

    /// The index member listing `members` (compressed and uncompressed sizes, in order).
    static func indexMember(_ members: [(compressed: Int, uncompressed: Int)]) -> [UInt8] {
        var data: [UInt8] = [1]
        appendLittleEndian(UInt32(members.count), to: &data)
        for member in members {
            appendLittleEndian(UInt32(member.compressed), to: &data)
            appendLittleEndian(UInt32(member.uncompressed), to: &data)
        }
        let total = 10 + 2 + 4 + data.count + 8 + 2 + 8
        appendLittleEndian(UInt32(total), to: &data)
        data += Array("MVIX".utf8)
        var member: [UInt8] = [0x1F, 0x8B, 8, 4, 0, 0, 0, 0, 0, 0xFF]
        appendLittleEndian(UInt16(4 + data.count), to: &member)
        member += [UInt8(ascii: "M"), UInt8(ascii: "V")]
        appendLittleEndian(UInt16(data.count), to: &member)
        member += data
        member += [3, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        return member
    }

    /// The members of a file medvol wrote, from its index; nil for any other gzip file (or a damaged
    /// index, which is then inflated as one stream). The gzip data may follow other bytes (a NRRD header):
    /// the members end where the index starts.
    static func members(of file: ReadableFile) throws -> [Member]? {
        guard file.size >= 40 else { return nil }
        let tail = try file.read(count: 18, at: file.size - 18)
        guard Array(tail[4...]) == Array("MVIX".utf8) + [3, 0, 0, 0, 0, 0, 0, 0, 0, 0] else { return nil }
        let length = Int(littleEndian32(tail, 0))
        guard length >= 35, length <= file.size else { return nil }
        let start = file.size - length
        let index = try file.read(count: length, at: start)
        guard index[0] == 0x1F, index[1] == 0x8B, index[3] == 4, index[12] == UInt8(ascii: "M"), index[13] == UInt8(ascii: "V"),
              index[16] == 1 else { return nil }
        let count = Int(littleEndian32(index, 17))
        guard count <= maximumMembers, 21 + count * 8 + 8 + 10 == length else { return nil }
        let sizes = (0..<count).map { (Int(littleEndian32(index, 21 + 8 * $0)), Int(littleEndian32(index, 25 + 8 * $0))) }
        let base = start - sizes.reduce(0) { $0 + $1.0 }
        guard base >= 0 else { return nil }
        // Deflate expands at most 1032:1 (plus a member's 18-byte frame): an index that says more lies, and
        // would size buffers from nothing (a 682-byte .nii.gz claimed a 4 GiB member; found by fuzzing).
        guard sizes.allSatisfy({ $0.1 <= Self.maximumInflatedSize(ofMember: $0.0) }) else { return nil }
        var members: [Member] = []
        var fileOffset = base, uncompressedOffset = 0
        for (compressed, uncompressed) in sizes {
            members.append(Member(fileOffset: fileOffset, compressedCount: compressed,
                                  uncompressedOffset: uncompressedOffset, uncompressedCount: uncompressed))
            fileOffset += compressed
            uncompressedOffset += uncompressed
        }
        // The first member must start like gzip (a cheap check that the index belongs to this data).
        if let first = members.first, first.compressedCount >= 2 {
            guard try file.read(count: 2, at: first.fileOffset) == [0x1F, 0x8B] else { return nil }
        }
        return members
    }

    /// Reads `buffer.count` uncompressed bytes from `offset` of medvol's gzip `members` of `file`,
    /// inflating them on every core (`parallel`) or on this thread (the caller runs pieces in parallel).
    static func read(_ file: ReadableFile, members: [Member], uncompressedOffset offset: Int,
                     into buffer: UnsafeMutableRawBufferPointer, parallel: Bool = true) throws {
        guard !buffer.isEmpty else { return }
        let end = offset + buffer.count
        guard end <= (members.last.map { $0.uncompressedOffset + $0.uncompressedCount } ?? 0) else {
            throw MedVolError.corrupt(file.path, "compressed data end before byte \(end) (truncated)")
        }
        let needed = members.filter { $0.uncompressedOffset < end && $0.uncompressedOffset + $0.uncompressedCount > offset }
        let target = SendableRawPointer(buffer.baseAddress!)
        _ = try Parallel.map(needed.count, maximumConcurrency: parallel ? Parallel.processorCount : 1) { index in
            let member = needed[index]
            let compressed = try file.read(count: member.compressedCount, at: member.fileOffset)
            let memberEnd = member.uncompressedOffset + member.uncompressedCount
            do {
                try compressed.withUnsafeBytes { source in
                    if member.uncompressedOffset >= offset && memberEnd <= end {
                        let destination = UnsafeMutableRawBufferPointer(start: target.base + (member.uncompressedOffset - offset),
                                                                        count: member.uncompressedCount)
                        try LibDeflate.inflateGzipMember(source, into: destination)
                    } else {
                        // A member across an end of the range: inflated aside, the overlap copied.
                        try ReadingLimits.checkAllocation(member.uncompressedCount, path: file.path, what: "a gzip member inflates to")
                        var whole = [UInt8](repeating: 0, count: member.uncompressedCount)
                        try whole.withUnsafeMutableBytes { try LibDeflate.inflateGzipMember(source, into: $0) }
                        let from = max(offset, member.uncompressedOffset), to = min(end, memberEnd)
                        whole.withUnsafeBytes { all in
                            (target.base + (from - offset)).copyMemory(from: all.baseAddress! + (from - member.uncompressedOffset), byteCount: to - from)
                        }
                    }
                }
            } catch let error as MedVolError {
                throw error.at(file.path)
            }
        }
    }

    static func appendLittleEndian<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }

    private static func littleEndian32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        (0..<4).reduce(0) { $0 | UInt32(bytes[offset + $1]) << (8 * $1) }
    }
}

/// Writes an indexed gzip file (see ``IndexedGzip``) from blocks compressed on any thread: block `n`
/// may be submitted before block `n − 1`; members are written in order as soon as they can be, so only
/// the blocks that arrive early wait in memory.
/// (`@unchecked`: the file is written only under the state lock.)
final class IndexedGzipWriter: @unchecked Sendable {
    private struct State {
        var next = 0                                    // the block to write next
        var fileOffset: Int
        var waiting: [Int: (member: [UInt8], uncompressed: Int)] = [:]
        var written: [(compressed: Int, uncompressed: Int)] = []
    }

    let file: WritableFile
    let blockCount: Int
    /// Where the gzip data start in the file (after a NRRD header, say).
    let start: Int
    /// Uncompressed bytes of the stored first member (0: none).
    let headerCount: Int
    private let state: SystemMutex<State>

    /// - Parameters:
    ///   - file: The (staged) output, written from byte `start`.
    ///   - headerCount: Bytes of a header to store, uncompressed, in the first member once known (0 for none).
    ///   - blockCount: How many blocks will be submitted.
    init(file: WritableFile, startingAt start: Int = 0, headerCount: Int, blockCount: Int) {
        self.file = file
        self.blockCount = blockCount
        self.start = start
        self.headerCount = headerCount
        state = SystemMutex(State(fileOffset: start + (headerCount > 0 ? IndexedGzip.storedMemberSize(payload: headerCount) : 0)))
    }

    /// Compresses block `index` at libdeflate `level` (on the calling thread) and hands it to the ordered writer.
    func compress(block index: Int, _ bytes: UnsafeRawBufferPointer, level: Int) throws {
        let member = try LibDeflate.gzipMember(bytes, level: level)
        try submit(block: index, member: member, uncompressedCount: bytes.count)
    }

    private func submit(block index: Int, member: [UInt8], uncompressedCount: Int) throws {
        try state.withLock { state in
            state.waiting[index] = (member, uncompressedCount)
            while let ready = state.waiting.removeValue(forKey: state.next) {
                try ready.member.withUnsafeBytes { try file.write($0, at: state.fileOffset) }
                state.fileOffset += ready.member.count
                state.written.append((ready.member.count, ready.uncompressed))
                state.next += 1
            }
        }
    }

    /// Writes the header member (`header.count == headerCount`) and the index, once every block is in.
    func finish(header: [UInt8] = []) throws {
        try state.withLock { state in
            precondition(state.next == blockCount && state.waiting.isEmpty, "not every block was submitted")
            precondition(header.count == headerCount)
            var members = state.written
            if headerCount > 0 {
                let stored = IndexedGzip.storedMember(header)
                try stored.withUnsafeBytes { try file.write($0, at: start) }
                members.insert((stored.count, header.count), at: 0)
            }
            let index = IndexedGzip.indexMember(members)
            try index.withUnsafeBytes { try file.write($0, at: state.fileOffset) }
            state.fileOffset += index.count
        }
    }

    /// Blocks for `byteCount` bytes cut at whole `unitBytes` units (slices), about ``IndexedGzip/blockSize``
    /// each, and never more than an index can list: how many units go in a block.
    static func unitsPerBlock(unitBytes: Int, byteCount: Int) -> Int {
        let unit = max(1, unitBytes)
        var units = max(1, IndexedGzip.blockSize / unit)
        while (byteCount + units * unit - 1) / (units * unit) > IndexedGzip.maximumMembers - 2 { units *= 2 }
        return units
    }

    /// Writes `bytes` (a whole volume in memory) compressed from byte `start` of `file`, blocks on every core.
    static func write(_ bytes: UnsafeRawBufferPointer, unitBytes: Int, to file: WritableFile, at start: Int = 0,
                      header: [UInt8], level: GzipLevel) throws {
        let blockBytes = unitsPerBlock(unitBytes: unitBytes, byteCount: bytes.count) * max(1, unitBytes)
        let count = bytes.count == 0 ? 0 : (bytes.count + blockBytes - 1) / blockBytes
        let writer = IndexedGzipWriter(file: file, startingAt: start, headerCount: header.count, blockCount: count)
        let base = SendableRawPointer(UnsafeMutableRawPointer(mutating: bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!))
        let total = bytes.count
        @Sendable func block(_ index: Int) -> UnsafeRawBufferPointer {
            let start = index * blockBytes
            return UnsafeRawBufferPointer(start: base.base + start, count: min(blockBytes, total - start))
        }
        let settled = try level.settled(samples: GzipLevel.sampleBlocks(count: count).map(block))
        _ = try Parallel.map(count) { index in try writer.compress(block: index, block(index), level: settled) }
        try writer.finish(header: header)
    }
}

/// Collects the slots (slices) a stack loader converts, on any thread, into blocks of whole slots and
/// compresses each block as soon as its last slot is in: into gzip members (``IndexedGzipWriter``:
/// `.nii.gz`, gzip NRRD) or into one zlib stream (``ZlibStreamWriter``: MetaImage `.zraw`).
final class CompressedSlotCollector: @unchecked Sendable {
    private final class Block {
        let buffer: UnsafeMutableRawBufferPointer
        var filled = 0
        init(bytes: Int) { buffer = .allocate(byteCount: bytes, alignment: 64) }
        deinit { buffer.deallocate() }
    }

    /// Where full blocks go.
    private enum Output {
        case gzipMembers(IndexedGzipWriter)
        case zlibStream(ZlibStreamWriter)
    }

    private let output: Output
    let slotBytes: Int
    let slotCount: Int
    let slotsPerBlock: Int
    private let blocks = SystemMutex<[Int: Block]>([:])

    /// Until the level is settled (``GzipLevel/matchingZlibDefault``), full blocks wait here; the sample
    /// blocks settle it once they are all in.
    private struct LevelState {
        var settled: Int?
        var waiting: [Int: Block] = [:]
        var samplesIn = 0
    }
    private let level: SystemMutex<LevelState>
    /// The blocks whose data choose the level (none when it is fixed): their slots should come first.
    let sampleBlocks: [Int]

    /// - Parameters:
    ///   - start: Where the gzip data start in `file` (after an attached NRRD header, say).
    ///   - headerCount: Bytes of a header stored uncompressed in the first member (a NIfTI header), or 0.
    convenience init(file: WritableFile, startingAt start: Int = 0, headerCount: Int, slotBytes: Int, slotCount: Int, level: GzipLevel) {
        let (slotsPerBlock, blockCount) = Self.blocks(slotBytes: slotBytes, slotCount: slotCount)
        self.init(output: .gzipMembers(IndexedGzipWriter(file: file, startingAt: start, headerCount: headerCount, blockCount: blockCount)),
                  slotBytes: slotBytes, slotCount: slotCount, slotsPerBlock: slotsPerBlock, blockCount: blockCount, level: level)
    }

    /// Slots compressed into one zlib stream (`.raw`: a raw deflate stream) at zlib `level` (a MetaImage
    /// `.zraw` or `.mha`; a deflated `.npz` entry), written from byte `start`.
    convenience init(zlibStreamInto file: WritableFile, startingAt start: Int = 0, slotBytes: Int, slotCount: Int, level: Int,
                     wrapper: Zlib.Wrapper = .zlib) {
        let (slotsPerBlock, blockCount) = Self.blocks(slotBytes: slotBytes, slotCount: slotCount)
        self.init(output: .zlibStream(ZlibStreamWriter(file: file, startingAt: start, blockCount: blockCount, wrapper: wrapper)),
                  slotBytes: slotBytes, slotCount: slotCount, slotsPerBlock: slotsPerBlock, blockCount: blockCount, level: .fixed(level))
    }

    /// Whole slots per block (about ``IndexedGzip/blockSize`` bytes) and the blocks `slotCount` slots make.
    private static func blocks(slotBytes: Int, slotCount: Int) -> (slotsPerBlock: Int, blockCount: Int) {
        let slotsPerBlock = IndexedGzipWriter.unitsPerBlock(unitBytes: slotBytes, byteCount: slotBytes * slotCount)
        return (slotsPerBlock, (slotCount + slotsPerBlock - 1) / slotsPerBlock)
    }

    private init(output: Output, slotBytes: Int, slotCount: Int, slotsPerBlock: Int, blockCount: Int, level: GzipLevel) {
        self.output = output
        self.slotBytes = slotBytes
        self.slotCount = slotCount
        self.slotsPerBlock = slotsPerBlock
        switch level {
        case .fixed(let value):
            self.level = SystemMutex(LevelState(settled: value))
            sampleBlocks = []
        case .matchingZlibDefault:
            self.level = SystemMutex(LevelState(settled: nil))
            sampleBlocks = GzipLevel.sampleBlocks(count: blockCount)
        }
    }

    /// The slots of the sample blocks, which a loader should convert first (so that few blocks wait).
    var prioritySlots: [Int] {
        sampleBlocks.flatMap { block in block * slotsPerBlock..<min(slotCount, (block + 1) * slotsPerBlock) }
    }

    private func slots(inBlock block: Int) -> Int { min(slotsPerBlock, slotCount - block * slotsPerBlock) }

    /// Runs `body` on the memory of slot `slot`; compresses its block once every slot of it is in.
    func withSlot<R>(_ slot: Int, _ body: (UnsafeMutableRawBufferPointer) throws -> R) throws -> R {
        let number = slot / slotsPerBlock
        let block = blocks.withLock { blocks in
            if let block = blocks[number] { return block }
            let block = Block(bytes: slots(inBlock: number) * slotBytes)
            blocks[number] = block
            return block
        }
        let place = UnsafeMutableRawBufferPointer(rebasing: block.buffer[(slot % slotsPerBlock) * slotBytes..<(slot % slotsPerBlock + 1) * slotBytes])
        let result = try body(place)
        let complete = blocks.withLock { blocks -> Bool in
            block.filled += 1
            guard block.filled == slots(inBlock: number) else { return false }
            blocks[number] = nil
            return true
        }
        if complete { try blockIsFull(number, block) }
        return result
    }

    /// Compresses a full block, or keeps it until the level is settled; the last sample block in settles
    /// it and compresses every block kept.
    private func blockIsFull(_ number: Int, _ block: Block) throws {
        enum Next { case compress(level: Int), wait, settle(samples: [Block]) }
        let next = level.withLock { state -> Next in
            if let settled = state.settled { return .compress(level: settled) }
            state.waiting[number] = block
            guard sampleBlocks.contains(number) else { return .wait }
            state.samplesIn += 1
            guard state.samplesIn == sampleBlocks.count else { return .wait }
            return .settle(samples: sampleBlocks.map { state.waiting[$0]! })
        }
        switch next {
        case .compress(let settled):
            try compress(block: number, UnsafeRawBufferPointer(block.buffer), level: settled)
        case .wait:
            return
        case .settle(let samples):
            let settled = try GzipLevel.lowestLevelMatchingZlib(samples.map { UnsafeRawBufferPointer($0.buffer) })
            let waiting = level.withLock { state -> [Int: Block] in
                state.settled = settled
                defer { state.waiting = [:] }
                return state.waiting
            }
            for (index, waitingBlock) in waiting.sorted(by: { $0.key < $1.key }) {
                try compress(block: index, UnsafeRawBufferPointer(waitingBlock.buffer), level: settled)
            }
        }
    }

    /// Compresses block `index` into the output at `level`.
    private func compress(block index: Int, _ bytes: UnsafeRawBufferPointer, level: Int) throws {
        switch output {
        case .gzipMembers(let writer): try writer.compress(block: index, bytes, level: level)
        case .zlibStream(let writer): try writer.compress(block: index, bytes, level: level)
        }
    }

    /// Writes the header and the index of the gzip members (every slot must be in).
    func finish(header: [UInt8]) throws {
        guard case .gzipMembers(let writer) = output else { preconditionFailure("not a gzip collector") }
        try writer.finish(header: header)
    }

    /// Ends the zlib stream (every slot must be in); returns its size in bytes.
    func finishZlibStream() throws -> (size: Int, checksum: UInt32) {
        guard case .zlibStream(let writer) = output else { preconditionFailure("not a zlib collector") }
        return try writer.finish()
    }
}

/// A gzip file inflated front to back as one stream, member after member (for gzip files medvol did not
/// write; see ``StoredVoxels/gzipSource(_:startingAt:offset:needed:truncated:)``).
final class GzipStream: ByteStream {
    private let file: ReadableFile
    private var inflater: Zlib.Inflater
    private var input: [UInt8] = []
    private var inputStart = 0, inputEnd = 0, position = 0
    var path: String { file.path }

    /// A stream of the gzip data that start at byte `start` of `file`.
    init(file: ReadableFile, startingAt start: Int = 0) throws {
        self.file = file
        position = start
        inflater = try Zlib.Inflater(wrapper: .gzip)
    }

    /// Reads the next piece of the file after the input not yet used (moved to the front).
    private func refill() throws {
        let kept = inputEnd - inputStart
        let count = min(1 << 20, file.size - position)
        var next = [UInt8](repeating: 0, count: kept + count)
        next[0..<kept] = input[inputStart..<inputEnd]
        try next.withUnsafeMutableBytes { try file.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[kept...]), at: position) }
        input = next
        position += count
        inputStart = 0
        inputEnd = kept + count
    }

    /// Inflates and drops `count` bytes.
    func skip(_ count: Int) throws {
        var scratch = [UInt8](repeating: 0, count: min(count, 1 << 16))
        var left = count
        while left > 0 {
            let piece = min(left, scratch.count)
            try scratch.withUnsafeMutableBytes { try read(into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<piece])) }
            left -= piece
        }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws {
        var filled = 0
        while filled < buffer.count {
            if inputStart == inputEnd {
                guard position < file.size else {
                    throw MedVolError.corrupt(path, "compressed data end \(buffer.count - filled) bytes too early (truncated)")
                }
                try refill()
            }
            if inflater.isFinished {
                // The next member, if the file goes on with one.
                guard inputEnd - inputStart >= 2 || position < file.size else {
                    throw MedVolError.corrupt(path, "compressed data end \(buffer.count - filled) bytes too early (truncated)")
                }
                if inputEnd - inputStart < 2 { try refill() }
                guard input[inputStart] == 0x1F, input[inputStart + 1] == 0x8B else {
                    throw MedVolError.corrupt(path, "compressed data end \(buffer.count - filled) bytes too early (followed by bytes that are not gzip)")
                }
                inflater = try Zlib.Inflater(wrapper: .gzip)
            }
            let (consumed, produced): (Int, Int)
            do {
                (consumed, produced) = try input.withUnsafeBytes { raw in
                    try inflater.inflate(UnsafeRawBufferPointer(rebasing: raw[inputStart..<inputEnd]),
                                         into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
                }
            } catch let error as MedVolError {
                throw error.at(path)
            }
            inputStart += consumed
            filled += produced
        }
    }
}

/// Writes one zlib stream (or a raw deflate stream) from blocks compressed on any thread, pigz's way
/// (see ``ParallelDeflate``): each block is its own raw deflate stream ending in a full flush, the last
/// one ending the stream, and the blocks' Adler-32 (raw: CRC-32) checksums are combined — for a streamed
/// MetaImage `.zraw` or `.mha`, which ITK inflates as one stream, and a deflated `.npz` entry. Blocks that
/// arrive early wait in memory until the ones before them are written.
/// (`@unchecked`: the file is written only under the state lock.)
final class ZlibStreamWriter: @unchecked Sendable {
    private struct State {
        var next = 0
        var fileOffset: Int
        var waiting: [Int: (bytes: [UInt8], checksum: UInt, length: Int)] = [:]
        var checksum: UInt
    }

    let file: WritableFile
    let blockCount: Int
    let start: Int
    /// `.zlib` (header, Adler-32 trailer) or `.raw` (no framing; the CRC-32 kept for the container).
    let wrapper: Zlib.Wrapper
    private let state: SystemMutex<State>

    /// - Parameters:
    ///   - file: The (staged) output, written from byte `start`.
    ///   - blockCount: How many blocks will be submitted (at least one).
    init(file: WritableFile, startingAt start: Int = 0, blockCount: Int, wrapper: Zlib.Wrapper = .zlib) {
        precondition(blockCount > 0, "a zlib stream of no block")
        precondition(wrapper != .gzip, "gzip outputs are written by IndexedGzipWriter")
        self.file = file
        self.blockCount = blockCount
        self.start = start
        self.wrapper = wrapper
        state = SystemMutex(State(fileOffset: start + (wrapper == .zlib ? ParallelDeflate.zlibHeader.count : 0),
                                  checksum: wrapper == .zlib ? 1 : 0))
    }

    /// Compresses block `index` at zlib `level` (on the calling thread) and writes it once the blocks before it are in.
    func compress(block index: Int, _ bytes: UnsafeRawBufferPointer, level: Int) throws {
        let deflated = try ParallelDeflate.deflateBlock(bytes, level: Int32(level), last: index == blockCount - 1)
        let checksum = wrapper == .zlib ? ParallelDeflate.adler32(bytes) : UInt(Zlib.crc32(bytes))
        try state.withLock { state in
            state.waiting[index] = (deflated, checksum, bytes.count)
            while let ready = state.waiting.removeValue(forKey: state.next) {
                try ready.bytes.withUnsafeBytes { try file.write($0, at: state.fileOffset) }
                state.fileOffset += ready.bytes.count
                state.checksum = wrapper == .zlib
                    ? ParallelDeflate.combineAdler32(state.checksum, ready.checksum, length: ready.length)
                    : UInt(Zlib.combineCRC32(UInt32(state.checksum), UInt32(ready.checksum), length: ready.length))
                state.next += 1
            }
        }
    }

    /// Writes the zlib header and the Adler-32 trailer (raw: nothing) once every block is in; returns
    /// the stream's size and the CRC-32 of its uncompressed bytes (for `.zlib`, their Adler-32).
    func finish() throws -> (size: Int, checksum: UInt32) {
        try state.withLock { state in
            precondition(state.next == blockCount && state.waiting.isEmpty, "not every block was submitted")
            if wrapper == .zlib {
                try ParallelDeflate.zlibHeader.withUnsafeBytes { try file.write($0, at: start) }
                let trailer = ParallelDeflate.zlibTrailer(adler: state.checksum)
                try trailer.withUnsafeBytes { try file.write($0, at: state.fileOffset) }
                state.fileOffset += trailer.count
            }
            return (state.fileOffset - start, UInt32(truncatingIfNeeded: state.checksum))
        }
    }
}
