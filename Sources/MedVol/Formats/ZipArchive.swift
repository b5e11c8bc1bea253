/// The parts of the ZIP format (PKWARE APPNOTE 6.3) that `.npz` files use: stored and deflated entries,
/// ZIP64 sizes and offsets, one disk, no encryption.
enum Zip {
    static let localHeaderSignature: UInt32 = 0x0403_4B50
    static let centralHeaderSignature: UInt32 = 0x0201_4B50
    static let endSignature: UInt32 = 0x0605_4B50
    static let zip64EndSignature: UInt32 = 0x0606_4B50
    static let zip64LocatorSignature: UInt32 = 0x0706_4B50
    static let zip64ExtraID: UInt16 = 0x0001
    /// A 32-bit size or offset field holding this value means "see the ZIP64 extra field".
    static let overflow32: UInt32 = 0xFFFF_FFFF
    static let overflow16: UInt16 = 0xFFFF

    enum Method: UInt16 {
        case stored = 0
        case deflated = 8
    }

    struct Entry {
        var name: String
        var method: UInt16
        var flags: UInt16
        var crc32: UInt32
        var compressedSize: Int
        var uncompressedSize: Int
        var localHeaderOffset: Int
    }
}

/// Little-endian fields out of a byte array, with bounds checks that report the file as damaged.
private struct LittleEndianReader {
    let bytes: [UInt8]
    let path: String
    var position: Int

    init(_ bytes: [UInt8], path: String, at position: Int = 0) {
        self.bytes = bytes
        self.path = path
        self.position = position
    }

    mutating func integer<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let size = MemoryLayout<T>.size
        guard position >= 0, position + size <= bytes.count else {
            throw MedVolError.corrupt(path, "zip structure ends early")
        }
        var value: T = 0
        for index in 0..<size { value |= T(bytes[position + index]) << (8 * index) }
        position += size
        return value
    }

    mutating func bytes(_ count: Int) throws -> ArraySlice<UInt8> {
        guard count >= 0, position + count <= bytes.count else { throw MedVolError.corrupt(path, "zip structure ends early") }
        defer { position += count }
        return bytes[position..<position + count]
    }
}

/// Reads the central directory of a zip file and opens its entries as byte streams.
final class ZipReader {
    let file: ReadableFile
    private(set) var entries: [Zip.Entry] = []
    var path: String { file.path }

    init(file: ReadableFile) throws {
        self.file = file
        try readCentralDirectory()
    }

    func entry(named name: String) -> Zip.Entry? { entries.first { $0.name == name } }

    private func readCentralDirectory() throws {
        let notZip = MedVolError(.unrecognizedFormat, path: path, reason: "not a zip (.npz) file: no end of central directory record")
        guard file.size >= 22 else { throw notZip }
        // The end record is 22 bytes plus a comment of up to 65,535 bytes, at the very end.
        let tailStart = max(0, file.size - (22 + 0xFFFF))
        let tail = try file.read(count: file.size - tailStart, at: tailStart)
        var endAt: Int?
        var candidate = tail.count - 22
        while candidate >= 0 {
            if tail[candidate] == 0x50, tail[candidate + 1] == 0x4B, tail[candidate + 2] == 0x05, tail[candidate + 3] == 0x06 {
                endAt = candidate
                break
            }
            candidate -= 1
        }
        guard let endAt else { throw notZip }
        var end = LittleEndianReader(tail, path: path, at: endAt + 4)
        let disk = try end.integer(UInt16.self), directoryDisk = try end.integer(UInt16.self)
        _ = try end.integer(UInt16.self)
        var entryCount = Int(try end.integer(UInt16.self))
        var directorySize = Int(try end.integer(UInt32.self))
        var directoryOffset = Int(try end.integer(UInt32.self))
        guard disk == 0, directoryDisk == 0 else { throw MedVolError.unsupported(path, "multi-disk zip archives are not supported") }

        // ZIP64: a locator just before the end record points at the ZIP64 end record.
        let locatorAt = tailStart + endAt - 20
        if locatorAt >= 0 {
            let locatorBytes = try file.read(count: 20, at: locatorAt)
            var locator = LittleEndianReader(locatorBytes, path: path)
            if try locator.integer(UInt32.self) == Zip.zip64LocatorSignature {
                _ = try locator.integer(UInt32.self)
                let recordOffset = Int(truncatingIfNeeded: try locator.integer(UInt64.self))
                guard recordOffset >= 0, recordOffset <= file.size - 56 else {
                    throw MedVolError.corrupt(path, "ZIP64 end record lies outside the file")
                }
                var record = LittleEndianReader(try file.read(count: 56, at: recordOffset), path: path)
                guard try record.integer(UInt32.self) == Zip.zip64EndSignature else {
                    throw MedVolError.corrupt(path, "ZIP64 end record is missing")
                }
                record.position = 32
                entryCount = Int(truncatingIfNeeded: try record.integer(UInt64.self))
                directorySize = Int(truncatingIfNeeded: try record.integer(UInt64.self))
                directoryOffset = Int(truncatingIfNeeded: try record.integer(UInt64.self))
            }
        }
        guard directoryOffset >= 0, directorySize >= 0, directoryOffset <= file.size,
              directorySize <= file.size - directoryOffset,
              entryCount >= 0, entryCount <= directorySize / 46 + 1 else {
            throw MedVolError.corrupt(path, "zip central directory lies outside the file (truncated?)")
        }
        var directory = LittleEndianReader(try file.read(count: directorySize, at: directoryOffset), path: path)
        for _ in 0..<entryCount {
            guard try directory.integer(UInt32.self) == Zip.centralHeaderSignature else {
                throw MedVolError.corrupt(path, "damaged zip central directory")
            }
            directory.position += 4  // versions made by and needed
            let flags = try directory.integer(UInt16.self)
            let method = try directory.integer(UInt16.self)
            directory.position += 4  // time, date
            let crc = try directory.integer(UInt32.self)
            let compressed32 = try directory.integer(UInt32.self)
            let uncompressed32 = try directory.integer(UInt32.self)
            let nameLength = Int(try directory.integer(UInt16.self))
            let extraLength = Int(try directory.integer(UInt16.self))
            let commentLength = Int(try directory.integer(UInt16.self))
            directory.position += 8  // disk, internal and external attributes
            let offset32 = try directory.integer(UInt32.self)
            let name = String(decoding: try directory.bytes(nameLength), as: UTF8.self)
            let extra = Array(try directory.bytes(extraLength))
            _ = try directory.bytes(commentLength)

            var uncompressed = Int(uncompressed32), compressed = Int(compressed32), offset = Int(offset32)
            if uncompressed32 == Zip.overflow32 || compressed32 == Zip.overflow32 || offset32 == Zip.overflow32,
               let zip64 = Self.zip64Field(in: extra) {
                var field = LittleEndianReader(zip64, path: path)
                if uncompressed32 == Zip.overflow32 { uncompressed = Int(truncatingIfNeeded: try field.integer(UInt64.self)) }
                if compressed32 == Zip.overflow32 { compressed = Int(truncatingIfNeeded: try field.integer(UInt64.self)) }
                if offset32 == Zip.overflow32 { offset = Int(truncatingIfNeeded: try field.integer(UInt64.self)) }
            }
            entries.append(Zip.Entry(name: name, method: method, flags: flags, crc32: crc, compressedSize: compressed,
                                     uncompressedSize: uncompressed, localHeaderOffset: offset))
        }
    }

    /// The data of the ZIP64 extended-information extra field, if `extra` has one.
    private static func zip64Field(in extra: [UInt8]) -> [UInt8]? {
        var position = 0
        while position + 4 <= extra.count {
            let id = UInt16(extra[position]) | UInt16(extra[position + 1]) << 8
            let size = Int(UInt16(extra[position + 2]) | UInt16(extra[position + 3]) << 8)
            let start = position + 4
            guard start + size <= extra.count else { return nil }
            if id == Zip.zip64ExtraID { return Array(extra[start..<start + size]) }
            position = start + size
        }
        return nil
    }

    /// The entry's uncompressed bytes as a stream (check `crc`/`count` of a ``CheckedStream`` over it at
    /// the end to detect damage).
    func stream(for entry: Zip.Entry) throws -> any ByteStream {
        let entryPath = "\(path) (\(entry.name))"
        guard entry.flags & 1 == 0 else { throw MedVolError.unsupported(entryPath, "encrypted zip entries are not supported") }
        guard entry.localHeaderOffset >= 0, entry.localHeaderOffset <= file.size - 30 else {
            throw MedVolError.corrupt(path, "zip entry \(entry.name) lies outside the file (truncated?)")
        }
        var local = LittleEndianReader(try file.read(count: 30, at: entry.localHeaderOffset), path: path)
        guard try local.integer(UInt32.self) == Zip.localHeaderSignature else {
            throw MedVolError.corrupt(path, "zip entry \(entry.name) has no local header")
        }
        local.position = 26
        let nameLength = Int(try local.integer(UInt16.self)), extraLength = Int(try local.integer(UInt16.self))
        let dataOffset = entry.localHeaderOffset + 30 + nameLength + extraLength
        guard entry.compressedSize >= 0, dataOffset <= file.size, entry.compressedSize <= file.size - dataOffset else {
            throw MedVolError.corrupt(path, "zip entry \(entry.name) ends beyond the end of the file (truncated?)")
        }
        switch Zip.Method(rawValue: entry.method) {
        case .stored:
            guard entry.compressedSize == entry.uncompressedSize else {
                throw MedVolError.corrupt(path, "stored zip entry \(entry.name) has different sizes")
            }
            return FileRangeStream(file: file, offset: dataOffset, length: entry.compressedSize)
        case .deflated:
            guard entry.uncompressedSize <= Zlib.maximumExpansion(of: entry.compressedSize) else {
                throw MedVolError.corrupt(path, "zip entry \(entry.name) claims \(entry.uncompressedSize) bytes from \(entry.compressedSize) compressed bytes, more than deflate can hold")
            }
            return try InflatingStream(file: file, offset: dataOffset, length: entry.compressedSize)
        case nil:
            throw MedVolError.unsupported(path, "zip entry \(entry.name) uses compression method \(entry.method) (only stored and deflate are supported)")
        }
    }

    /// Checks that everything read through `checked` is the whole entry, undamaged.
    func verify(_ checked: CheckedStream, against entry: Zip.Entry) throws {
        guard checked.count == entry.uncompressedSize else {
            throw MedVolError.corrupt(path, "zip entry \(entry.name) holds \(entry.uncompressedSize) bytes, but its array takes \(checked.count)")
        }
        guard checked.crc == entry.crc32 else {
            throw MedVolError.corrupt(path, "zip entry \(entry.name) is damaged (CRC-32 mismatch)")
        }
    }
}

/// Writes a zip file front to back: each entry's local header, its data (stored, or deflated as it is
/// written), then the header's CRC and sizes filled in, and the central directory at the end. ZIP64
/// fields are used only where a size or offset needs them, as Python's `zipfile` does.
final class ZipWriter {
    private let file: WritableFile
    private let forceZip64: Bool
    private var offset = 0
    private var entries: [(entry: Zip.Entry, zip64Local: Bool)] = []

    /// `forceZip64` writes ZIP64 fields even where 32 bits suffice (tests use it to exercise them
    /// without writing 4 GiB); `start`: where the writer goes on (after data already written, see
    /// ``addWrittenEntry(named:size:crc:)``).
    init(file: WritableFile, startingAt start: Int = 0, forceZip64: Bool = false) {
        self.file = file
        self.forceZip64 = forceZip64
        offset = start
    }

    private func append(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try append($0) }
    }

    private func append(_ bytes: UnsafeRawBufferPointer) throws {
        try file.write(bytes, at: offset)
        offset += bytes.count
    }

    /// The zlib level of deflated entries (`np.savez_compressed`'s).
    static let deflateLevel: Int32 = 6

    /// Whether an entry of `size` uncompressed bytes needs ZIP64 sizes in its local header (deflate can
    /// make data slightly larger: room is left so that the choice holds).
    static func needsZip64(size: Int, compress: Bool, force: Bool = false) -> Bool {
        let worstCase = compress ? size + size / 1000 + 1024 : size
        return force || worstCase >= Int(Zip.overflow32)
    }

    /// Bytes of the local header of an entry named `name`: its data start after them.
    static func localHeaderLength(name: String, zip64: Bool) -> Int { 30 + name.utf8.count + (zip64 ? 20 : 0) }

    /// The local header of an entry whose CRC and sizes are known.
    private static func localHeader(name nameBytes: [UInt8], method: Zip.Method, zip64: Bool, crc: UInt32,
                                    compressedSize: Int, size: Int) -> [UInt8] {
        var header = fields(
            UInt32(Zip.localHeaderSignature), UInt16(zip64 ? 45 : 20), UInt16(0), method.rawValue,
            UInt16(0), UInt16(0x21),  // 1980-01-01 00:00: reproducible output
            crc, zip64 ? Zip.overflow32 : UInt32(compressedSize), zip64 ? Zip.overflow32 : UInt32(size),
            UInt16(nameBytes.count), UInt16(zip64 ? 20 : 0))
        header += nameBytes
        if zip64 { header += fields(Zip.zip64ExtraID, UInt16(16), UInt64(size), UInt64(compressedSize)) }
        return header
    }

    /// Records the first entry, whose `size` bytes (CRC-32 `crc`), `compressedSize` as stored, were
    /// written after room for its local header at the start of the file (``localHeaderLength(name:zip64:)``,
    /// ZIP64 as ``needsZip64(size:compress:force:)`` decides), and writes that header; the writer must
    /// have been made to start after those bytes.
    func addWrittenEntry(named name: String, method: Zip.Method, size: Int, compressedSize: Int, crc: UInt32) throws {
        precondition(entries.isEmpty)
        let zip64 = Self.needsZip64(size: size, compress: method == .deflated, force: forceZip64)
        precondition(offset == Self.localHeaderLength(name: name, zip64: zip64) + compressedSize)
        guard zip64 || compressedSize < Int(Zip.overflow32) else {
            throw MedVolError(.io, path: file.path, reason: "zip entry \(name) grew beyond 4 GiB while compressed")
        }
        let header = Self.localHeader(name: Array(name.utf8), method: method, zip64: zip64, crc: crc,
                                      compressedSize: compressedSize, size: size)
        try header.withUnsafeBytes { try file.write($0, at: 0) }
        entries.append((Zip.Entry(name: name, method: method.rawValue, flags: 0, crc32: crc, compressedSize: compressedSize,
                                  uncompressedSize: size, localHeaderOffset: 0), zip64))
    }

    /// A deflate block that stores `bytes` (at most 65535) as they are, not final: how a deflated entry
    /// begins with a header whose bytes are settled last (a `.npy` header), before the compressed data.
    static func storedDeflateBlock(_ bytes: [UInt8]) -> [UInt8] {
        precondition(bytes.count <= 0xFFFF)
        let length = UInt16(bytes.count)
        return [0x00] + fields(length, ~length) + bytes
    }

    /// Adds an entry whose uncompressed content is `parts` concatenated. Deflated, a `storedPrefix`
    /// begins the content in a stored deflate block (``storedDeflateBlock(_:)``) and the parts follow in
    /// blocks of `blockSize` — the layout a streamed `.npz` writes.
    func addEntry(named name: String, storedPrefix: [UInt8]? = nil, parts: [UnsafeRawBufferPointer], compress: Bool,
                  blockSize: Int = ParallelDeflate.blockSize) throws {
        if let storedPrefix, !compress {
            return try storedPrefix.withUnsafeBytes { try addEntry(named: name, parts: [$0] + parts, compress: false) }
        }
        let method: Zip.Method = compress ? .deflated : .stored
        let size = parts.reduce(0) { $0 + $1.count } + (storedPrefix?.count ?? 0)
        let zip64Local = Self.needsZip64(size: size, compress: compress, force: forceZip64)
        let headerOffset = offset
        let nameBytes = Array(name.utf8)
        // CRC and sizes are filled in once the data are written.
        try append(Self.localHeader(name: nameBytes, method: method, zip64: zip64Local, crc: 0, compressedSize: 0, size: 0))

        let dataStart = offset
        var crc: UInt32 = 0
        if compress {
            if let storedPrefix {
                try append(Self.storedDeflateBlock(storedPrefix))
                crc = storedPrefix.withUnsafeBytes { Zlib.crc32($0) }
            }
            // One raw deflate stream, compressed in blocks on every core (see ParallelDeflate).
            let rest = try ParallelDeflate.compress(parts, wrapper: .raw, level: Self.deflateLevel, blockSize: blockSize) { try append($0) }
            crc = Zlib.combineCRC32(crc, rest.crc32, length: parts.reduce(0) { $0 + $1.count })
        } else {
            for part in parts {
                crc = Zlib.crc32(part, continuing: crc)
                try append(part)
            }
        }
        let compressedSize = offset - dataStart
        guard zip64Local || compressedSize < Int(Zip.overflow32) else {
            throw MedVolError(.io, path: file.path, reason: "zip entry \(name) grew beyond 4 GiB while compressed")
        }

        // Fill in CRC and sizes in the local header (and its ZIP64 field).
        let header = Self.localHeader(name: nameBytes, method: method, zip64: zip64Local, crc: crc,
                                      compressedSize: compressedSize, size: size)
        try header.withUnsafeBytes { try file.write($0, at: headerOffset) }
        entries.append((Zip.Entry(name: name, method: method.rawValue, flags: 0, crc32: crc, compressedSize: compressedSize,
                                  uncompressedSize: size, localHeaderOffset: headerOffset), zip64Local))
    }

    /// Writes the central directory and the end records.
    func finish() throws {
        let directoryOffset = offset
        for (entry, zip64Local) in entries {
            let sizesOverflow = zip64Local
            let offsetOverflows = forceZip64 || entry.localHeaderOffset >= Int(Zip.overflow32)
            var zip64: [UInt8] = []
            if sizesOverflow { zip64 += Self.fields(UInt64(entry.uncompressedSize), UInt64(entry.compressedSize)) }
            if offsetOverflows { zip64 += Self.fields(UInt64(entry.localHeaderOffset)) }
            let extra = zip64.isEmpty ? [] : Self.fields(Zip.zip64ExtraID, UInt16(zip64.count)) + zip64
            let nameBytes = Array(entry.name.utf8)
            let needed: UInt16 = zip64.isEmpty ? 20 : 45
            var record = Self.fields(
                Zip.centralHeaderSignature, UInt16(0x0300) | needed, needed, UInt16(0), entry.method,
                UInt16(0), UInt16(0x21), entry.crc32,
                sizesOverflow ? Zip.overflow32 : UInt32(entry.compressedSize),
                sizesOverflow ? Zip.overflow32 : UInt32(entry.uncompressedSize),
                UInt16(nameBytes.count), UInt16(extra.count), UInt16(0), UInt16(0), UInt16(0),
                UInt32(0o100644) << 16,  // a regular file, rw-r--r--
                offsetOverflows ? Zip.overflow32 : UInt32(entry.localHeaderOffset))
            record += nameBytes
            record += extra
            try append(record)
        }
        let directorySize = offset - directoryOffset
        let needsZip64 = forceZip64 || entries.count >= Int(Zip.overflow16) || directoryOffset >= Int(Zip.overflow32)
            || directorySize >= Int(Zip.overflow32)
        if needsZip64 {
            let recordOffset = offset
            try append(Self.fields(
                Zip.zip64EndSignature, UInt64(44), UInt16(0x0300 | 45), UInt16(45), UInt32(0), UInt32(0),
                UInt64(entries.count), UInt64(entries.count), UInt64(directorySize), UInt64(directoryOffset)))
            try append(Self.fields(Zip.zip64LocatorSignature, UInt32(0), UInt64(recordOffset), UInt32(1)))
        }
        let count16 = needsZip64 ? Zip.overflow16 : UInt16(entries.count)
        try append(Self.fields(
            Zip.endSignature, UInt16(0), UInt16(0), count16, count16,
            needsZip64 || directorySize >= Int(Zip.overflow32) ? Zip.overflow32 : UInt32(directorySize),
            needsZip64 || directoryOffset >= Int(Zip.overflow32) ? Zip.overflow32 : UInt32(directoryOffset),
            UInt16(0)))
    }

    /// Little-endian bytes of each integer in turn.
    private static func fields(_ values: any FixedWidthInteger...) -> [UInt8] {
        values.flatMap { littleEndianBytes($0) }
    }

    private static func littleEndianBytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        (0..<(T.bitWidth / 8)).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }
}
