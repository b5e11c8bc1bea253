/// Where encoded bytes go: memory, or a file written with few large writes.
protocol DICOMByteSink {
    mutating func append(_ bytes: UnsafeRawBufferPointer) throws
}

extension DICOMByteSink {
    mutating func append(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try append($0) }
    }
}

/// Collects bytes in an array.
struct MemorySink: DICOMByteSink {
    var bytes: [UInt8] = []

    mutating func append(_ raw: UnsafeRawBufferPointer) throws {
        bytes.append(contentsOf: raw)
    }
}

/// Buffers small pieces and writes large ones straight through.
struct FileSink: DICOMByteSink {
    let file: WritableFile
    private var buffer: [UInt8] = []
    private static let capacity = 1 << 16

    init(file: WritableFile) {
        self.file = file
        buffer.reserveCapacity(Self.capacity)
    }

    mutating func append(_ raw: UnsafeRawBufferPointer) throws {
        if buffer.count + raw.count > Self.capacity {
            try flush()
            if raw.count >= Self.capacity {
                try file.write(raw)
                return
            }
        }
        buffer.append(contentsOf: raw)
    }

    mutating func flush() throws {
        guard !buffer.isEmpty else { return }
        try file.write(buffer)
        buffer.removeAll(keepingCapacity: true)
    }
}

/// The values a parsed ``DICOMFile`` left in the file (`.deferred`, `.encapsulatedPixelData`), read back
/// for copying into a new file.
struct DICOMValueSource {
    /// The file, or the inflated data set of a deflated file (which its offsets refer to).
    let bytes: PixelByteSource
    /// Bytes per copy step.
    private static let chunk = 1 << 22

    init(_ file: DICOMFile) throws {
        bytes = try PixelByteSource(file)
    }

    /// Copies `length` bytes at `offset` into `sink`, reversing the byte order of every
    /// `swapWidth`-byte value when given (big-endian source).
    func copy<S: DICOMByteSink>(offset: Int, length: Int, swapWidth: Int?, into sink: inout S) throws {
        guard length > 0 else { return }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: min(Self.chunk, length), alignment: 16)
        defer { buffer.deallocate() }
        var done = 0
        while done < length {
            let step = min(Self.chunk, length - done)
            let at = offset + done
            guard at >= 0, at <= bytes.size - step else {
                if case .memory = bytes {
                    throw MedVolError.corrupt(bytes.path, "a value at byte \(at) runs past the end of the data set")
                }
                throw MedVolError.corrupt(bytes.path, "file ends inside a value at byte \(at)")
            }
            let piece = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<step])
            try bytes.read(into: piece, at: at)
            if let swapWidth { VoxelMath.swapBytes(piece, width: swapWidth) }
            try sink.append(UnsafeRawBufferPointer(piece))
            done += step
        }
    }

    /// Length of encapsulated pixel data starting at `offset` (the basic offset table item), up to and
    /// including the sequence delimiter.
    func encapsulatedLength(from offset: Int) throws -> Int {
        try EncapsulatedPixelData.items(source: bytes, start: offset).end - offset
    }
}

/// Encodes data sets little endian, explicit or implicit VR (PS3.5 §7), with values padded to even
/// length and sequences and items of defined length.
struct DICOMEncoder {
    let explicitVR: Bool
    /// Where `.deferred` and `.encapsulatedPixelData` values are read from.
    let source: DICOMValueSource?

    /// Encodes every element of `dataSet`. At the top level of a data set (not the meta group),
    /// group 0002, group lengths (gggg,0000) — stale once values are re-encoded — and stray item tags
    /// are left out.
    func encode<S: DICOMByteSink>(_ dataSet: DICOMDataSet, into sink: inout S, isMetaGroup: Bool = false) throws {
        for element in dataSet.elements {
            let tag = element.tag
            if !isMetaGroup && (tag.group == 0x0002 || tag.element == 0x0000 || tag.group == 0xFFFE) { continue }
            try encode(element, in: dataSet, into: &sink)
        }
    }

    func encode<S: DICOMByteSink>(_ element: DICOMElement, in dataSet: DICOMDataSet, into sink: inout S) throws {
        let littleEndian = dataSet.isLittleEndian
        switch element.value {
        case .bytes(let bytes):
            var value = Array(bytes)
            // A UN value is written with the VR the data set reads it with (the one decoder), so that
            // a big-endian value is swapped as what it is and the output names its real VR.
            var vr = dataSet.effectiveVR(of: element)
            if !vr.hasLongExplicitLength && value.count > 0xFFFE { vr = element.vr }
            if !littleEndian, let width = Self.swapWidth(of: vr) {
                value.withUnsafeMutableBytes { VoxelMath.swapBytes($0, width: width) }
            }
            if value.count % 2 == 1 { value.append(vr.paddingByte) }
            try appendHeader(element.tag, vr, length: value.count, into: &sink)
            try sink.append(value)

        case .sequence(let items):
            var body = MemorySink()
            for item in items {
                var itemBody = MemorySink()
                try encode(item, into: &itemBody)
                try appendTag(.item, into: &body)
                try appendUInt32(try Self.checkedLength(itemBody.bytes.count, element.tag), into: &body)
                try body.append(itemBody.bytes)
            }
            try appendHeader(element.tag, .SQ, length: body.bytes.count, into: &sink)
            try sink.append(body.bytes)

        case .deferred(let offset, let length):
            guard let source else {
                throw MedVolError(.invalidArgument, reason: "element \(element.tag) was left in its source file; give the source file to copy it")
            }
            try appendHeader(element.tag, element.vr, length: length + length % 2, into: &sink)
            try source.copy(offset: offset, length: length,
                            swapWidth: littleEndian ? nil : Self.swapWidth(of: element.vr), into: &sink)
            if length % 2 == 1 { try sink.append([element.vr.paddingByte]) }

        case .encapsulatedPixelData(let offset):
            guard let source else {
                throw MedVolError(.invalidArgument, reason: "the encapsulated pixel data were left in their source file; give the source file to copy them")
            }
            guard explicitVR else {
                throw MedVolError(.invalidArgument, reason: "encapsulated pixel data need an explicit VR transfer syntax")
            }
            let length = try source.encapsulatedLength(from: offset)
            try appendTag(element.tag, into: &sink)
            try sink.append(Array("OB".utf8) + [0, 0])
            try appendUInt32(0xFFFF_FFFF, into: &sink)
            try source.copy(offset: offset, length: length, swapWidth: nil, into: &sink)
        }
    }

    func appendHeader<S: DICOMByteSink>(_ tag: DICOMTag, _ vr: DICOMVR, length: Int, into sink: inout S) throws {
        try appendTag(tag, into: &sink)
        let length32 = try Self.checkedLength(length, tag)
        guard explicitVR else {
            try appendUInt32(length32, into: &sink)
            return
        }
        try sink.append(Array(vr.rawValue.utf8))
        if vr.hasLongExplicitLength {
            try sink.append([0, 0])
            try appendUInt32(length32, into: &sink)
        } else {
            guard length <= 0xFFFF else {
                throw MedVolError(.invalidArgument, reason: "element \(tag) holds \(length) bytes, more than a \(vr) value can in explicit VR")
            }
            try sink.append([UInt8(length & 0xFF), UInt8(length >> 8)])
        }
    }

    private func appendTag<S: DICOMByteSink>(_ tag: DICOMTag, into sink: inout S) throws {
        try sink.append([UInt8(tag.group & 0xFF), UInt8(tag.group >> 8), UInt8(tag.element & 0xFF), UInt8(tag.element >> 8)])
    }

    private func appendUInt32<S: DICOMByteSink>(_ value: UInt32, into sink: inout S) throws {
        try withUnsafeBytes(of: value.littleEndian) { try sink.append($0) }
    }

    private static func checkedLength(_ length: Int, _ tag: DICOMTag) throws -> UInt32 {
        guard length < 0xFFFF_FFFF else {
            throw MedVolError(.invalidArgument, reason: "element \(tag) is too long for DICOM (\(length) bytes)")
        }
        return UInt32(length)
    }

    /// Width of the numbers whose bytes must be reversed when re-encoding a big-endian value.
    static func swapWidth(of vr: DICOMVR) -> Int? {
        switch vr {
        case .US, .SS, .OW, .AT: 2
        case .UL, .SL, .FL, .OF, .OL: 4
        case .FD, .OD, .SV, .UV, .OV: 8
        default: nil
        }
    }
}
