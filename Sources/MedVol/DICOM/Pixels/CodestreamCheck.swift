/// The bytes of one encoded frame, read on demand through a small cache: the frame's fragments seen as
/// one run of `count` bytes, so that a check can look at the codestream's headers (and its last bytes)
/// without reading the frame.
struct FrameBytes {
    /// Bytes in the frame (all its fragments).
    let count: Int
    private let readRange: (_ offset: Int, _ length: Int) throws -> [UInt8]
    /// Bytes read from the source so far (what a check costs).
    private(set) var bytesRead = 0
    private var cache: [UInt8] = []
    private var cacheStart = 0

    /// How much is read at a time: enough for the headers of most JPEG and JPEG 2000 streams at once.
    static let windowSize = 4096

    /// A frame held in memory (tests, or a frame already read).
    init(_ bytes: [UInt8]) {
        count = bytes.count
        readRange = { offset, length in Array(bytes[offset..<offset + length]) }
    }

    /// A frame made of `fragments` (byte ranges of `source`), concatenated.
    init(source: some PixelByteReader, fragments: [Range<Int>]) {
        count = fragments.reduce(0) { $0 + $1.count }
        readRange = { offset, length in
            var result: [UInt8] = []
            result.reserveCapacity(length)
            var skipped = 0
            for fragment in fragments {
                let wanted = offset + result.count
                if wanted >= skipped + fragment.count { skipped += fragment.count; continue }
                let start = fragment.lowerBound + (wanted - skipped)
                let take = min(fragment.upperBound - start, length - result.count)
                result += try source.read(count: take, at: start)
                skipped += fragment.count
                if result.count == length { break }
            }
            return result
        }
    }

    /// Up to `length` bytes at `offset` (fewer where the frame ends first).
    mutating func bytes(at offset: Int, count length: Int) throws -> [UInt8] {
        guard offset >= 0, offset < count, length > 0 else { return [] }
        let wanted = min(length, count - offset)
        if offset < cacheStart || offset + wanted > cacheStart + cache.count {
            let size = min(max(wanted, Self.windowSize), count - offset)
            cache = try readRange(offset, size)
            cacheStart = offset
            bytesRead += size
        }
        return Array(cache[offset - cacheStart..<offset - cacheStart + wanted])
    }

    /// The big-endian number of `width` bytes at `offset`, nil when the frame ends first.
    mutating func bigEndian(at offset: Int, width: Int) throws -> Int? {
        let bytes = try bytes(at: offset, count: width)
        guard bytes.count == width else { return nil }
        return bytes.reduce(0) { $0 << 8 | Int($1) }
    }
}

/// What the headers of a frame's codestream show about whether it can be decoded, read without
/// decoding: the start marker the transfer syntax needs, marker segments and tile-parts that fit in the
/// frame, a scan header, the end-of-image marker, and the image size. Only the headers and the last
/// bytes are read (a few KiB per frame), so a scan of a large archive can afford it.
///
/// Each check reports only what is certain: bytes a decoder could still make sense of (stray bytes
/// between segments, a JPEG 2000 stream without EOC) are not problems.
enum CodestreamCheck {
    /// At most this many marker segments or boxes are walked per header (real headers hold a dozen).
    static let maximumSegments = 256
    /// At most this many JPEG 2000 tile-parts are followed (one read each).
    static let maximumTileParts = 256

    /// Why the frame cannot be decoded, or nil when its headers look decodable.
    static func problem(_ frame: inout FrameBytes, family: CodecFamily, rows: Int, columns: Int) throws -> String? {
        switch family {
        case .jpeg, .jpegLS: return try jpegProblem(&frame, isJPEGLS: family == .jpegLS, rows: rows, columns: columns)
        case .jpeg2000: return try jpeg2000Problem(&frame, rows: rows, columns: columns)
        }
    }

    // MARK: JPEG and JPEG-LS (ISO 10918-1 B.1, ISO 14495-1 C.1)

    private static func jpegProblem(_ frame: inout FrameBytes, isJPEGLS: Bool, rows: Int, columns: Int) throws -> String? {
        let kind = isJPEGLS ? "JPEG-LS" : "JPEG"
        let soi = try frame.bytes(at: 0, count: 2)
        guard soi == [0xFF, 0xD8] else {
            return "\(kind) stream does not start with an SOI marker (FFD8)\(found(soi))"
        }
        var at = 2
        var sawFrame = false
        for _ in 0..<maximumSegments {
            let marker = try frame.bytes(at: at, count: 2)
            guard marker.count == 2 else {
                return "\(kind) stream is truncated: its \(frame.count) bytes end before the scan header (SOS)"
            }
            guard marker[0] == 0xFF else { return nil }  // stray bytes: decoders skip them, nothing certain
            let code = marker[1]
            if code == 0xFF { at += 1; continue }  // fill byte
            if code == 0x01 || (0xD0...0xD7).contains(code) { at += 2; continue }  // markers without a length
            if code == 0xD9 { return "\(kind) stream ends (EOI) before its scan header (SOS)" }
            guard let length = try frame.bigEndian(at: at + 2, width: 2) else {
                return "\(kind) stream is truncated: its \(frame.count) bytes end inside the \(markerName(code)) marker at byte \(at)"
            }
            guard length >= 2 else { return "\(kind) stream has a \(markerName(code)) segment of impossible length \(length) at byte \(at)" }
            guard at + 2 + length <= frame.count else {
                return "\(kind) stream is truncated: its \(markerName(code)) segment at byte \(at) needs \(length + 2) bytes, the frame ends \(frame.count - at) bytes after it starts"
            }
            let isStartOfFrame = (0xC0...0xCF).contains(code) && code != 0xC4 && code != 0xC8 && code != 0xCC
            if isStartOfFrame || code == 0xF7 {
                if isJPEGLS && code != 0xF7 {
                    return "JPEG-LS stream has no SOF55 marker (FFF7): its frame header is \(markerName(code)), a JPEG process"
                }
                if !isJPEGLS && code == 0xF7 {
                    return "JPEG stream is JPEG-LS (SOF55, FFF7), which its transfer syntax does not allow"
                }
                if length >= 8, let height = try frame.bigEndian(at: at + 5, width: 2), let width = try frame.bigEndian(at: at + 7, width: 2),
                   width != columns || (height != rows && height != 0) {
                    return "\(kind) stream is \(width)×\(height), the header says \(columns)×\(rows)"
                }
                sawFrame = true
            }
            if code == 0xDA {
                guard sawFrame else { return "\(kind) stream has a scan (SOS) before any frame header (SOF)" }
                return try endsWithEOI(&frame) ? nil : "\(kind) stream is truncated: it does not end with an EOI marker (FFD9)"
            }
            at += 2 + length
        }
        return nil
    }

    /// Whether an EOI marker lies in the frame's last 16 bytes. Entropy-coded data never holds FF D9
    /// (JPEG stuffs FF 00, JPEG-LS a zero bit after FF), so this tells a complete stream from a cut one,
    /// whatever padding follows the marker.
    static func endsWithEOI(_ frame: inout FrameBytes) throws -> Bool {
        let tailLength = min(16, frame.count)
        let tail = try frame.bytes(at: frame.count - tailLength, count: tailLength)
        return zip(tail, tail.dropFirst()).contains { $0 == 0xFF && $1 == 0xD9 }
    }

    // MARK: JPEG 2000 (ISO 15444-1 A, I)

    private static func jpeg2000Problem(_ frame: inout FrameBytes, rows: Int, columns: Int) throws -> String? {
        let head = try frame.bytes(at: 0, count: 12)
        var codestream = 0
        if head.count >= 4 && head[0...3] == [0xFF, 0x4F, 0xFF, 0x51] {
            codestream = 0
        } else if head.count >= 12 && head[4...7] == [0x6A, 0x50, 0x20, 0x20] {
            switch try jp2Codestream(&frame) {
            case .success(let offset): codestream = offset
            case .failure(let problem): return problem.reason
            }
        } else {
            return "JPEG 2000 frame starts with neither a codestream (SOC+SIZ, FF4F FF51) nor a JP2 signature box\(found(Array(head.prefix(4))))"
        }
        let start = try frame.bytes(at: codestream, count: 4)
        guard start == [0xFF, 0x4F, 0xFF, 0x51] else {
            return "JPEG 2000 codestream does not start with SOC+SIZ (FF4F FF51)\(found(start))"
        }
        // SIZ: Lsiz Rsiz Xsiz Ysiz XOsiz YOsiz XTsiz YTsiz XTOsiz YTOsiz Csiz, then 3 bytes per component.
        let siz = codestream + 2
        guard let sizLength = try frame.bigEndian(at: siz + 2, width: 2) else {
            return "JPEG 2000 codestream is truncated: its \(frame.count) bytes end inside the SIZ segment"
        }
        guard siz + 2 + sizLength <= frame.count else {
            return "JPEG 2000 codestream is truncated: its SIZ segment needs \(sizLength + 2) bytes, the frame ends \(frame.count - siz) bytes after it starts"
        }
        if sizLength >= 38,
           let xsiz = try frame.bigEndian(at: siz + 6, width: 4), let ysiz = try frame.bigEndian(at: siz + 10, width: 4),
           let xo = try frame.bigEndian(at: siz + 14, width: 4), let yo = try frame.bigEndian(at: siz + 18, width: 4),
           xsiz - xo != columns || ysiz - yo != rows {
            return "JPEG 2000 codestream is \(xsiz - xo)×\(ysiz - yo), the header says \(columns)×\(rows)"
        }
        // The rest of the main header, up to the first tile-part.
        var at = siz + 2 + sizLength
        var markers = 0
        while true {
            markers += 1
            guard markers <= maximumSegments else { return nil }
            guard let marker = try frame.bigEndian(at: at, width: 2) else {
                return "JPEG 2000 codestream is truncated: its \(frame.count) bytes end before the first tile-part (SOT)"
            }
            if marker == 0xFF90 { break }
            guard marker >> 8 == 0xFF, marker != 0xFFD9 else {
                return marker == 0xFFD9 ? "JPEG 2000 codestream ends (EOC) before its first tile-part (SOT)" : nil
            }
            guard let length = try frame.bigEndian(at: at + 2, width: 2) else {
                return "JPEG 2000 codestream is truncated: its \(frame.count) bytes end inside a main-header marker at byte \(at)"
            }
            guard length >= 2, at + 2 + length <= frame.count else {
                return "JPEG 2000 codestream is truncated: the marker segment \(hex(marker)) at byte \(at) needs \(length + 2) bytes, the frame ends \(frame.count - at) bytes after it starts"
            }
            at += 2 + length
        }
        // Tile-parts: SOT Lsot Isot Psot TPsot TNsot; Psot counts from the SOT marker, 0 means "to EOC".
        for part in 1...maximumTileParts {
            guard let psot = try frame.bigEndian(at: at + 6, width: 4), let tile = try frame.bigEndian(at: at + 4, width: 2) else {
                return "JPEG 2000 codestream is truncated: its \(frame.count) bytes end inside the SOT marker of tile-part \(part)"
            }
            if psot == 0 { return nil }
            guard psot >= 12 else { return "JPEG 2000 tile-part \(part) (tile \(tile)) claims an impossible length of \(psot) bytes" }
            guard at + psot <= frame.count else {
                return "JPEG 2000 codestream is truncated: tile-part \(part) (tile \(tile)) at byte \(at) says it holds \(psot) bytes, the frame ends \(frame.count - at) bytes after it starts"
            }
            at += psot
            guard let next = try frame.bigEndian(at: at, width: 2), next == 0xFF90 else { return nil }  // EOC, the end, or padding
        }
        return nil
    }

    /// The offset of the codestream inside a JP2 file: the contents of its 'jp2c' box.
    private static func jp2Codestream(_ frame: inout FrameBytes) throws -> Result<Int, MedVolError> {
        func failure(_ reason: String) -> Result<Int, MedVolError> { .failure(MedVolError.corrupt(nil, reason)) }
        var at = 0
        for _ in 0..<maximumSegments {
            guard let length = try frame.bigEndian(at: at, width: 4), let type = try frame.bigEndian(at: at + 4, width: 4) else {
                return failure("JPEG 2000 (JP2) frame is truncated: its \(frame.count) bytes end before the codestream box (jp2c)")
            }
            var header = 8
            var boxLength = length
            if length == 1 {
                guard let extended = try frame.bigEndian(at: at + 8, width: 8) else {
                    return failure("JPEG 2000 (JP2) frame is truncated inside a box header at byte \(at)")
                }
                header = 16
                boxLength = extended
            } else if length == 0 {
                boxLength = frame.count - at
            }
            if type == 0x6A70_3263 { return .success(at + header) }  // 'jp2c'
            guard boxLength >= header, at + boxLength <= frame.count else {
                return failure("JPEG 2000 (JP2) frame is truncated: the box at byte \(at) says \(boxLength) bytes, the frame ends \(frame.count - at) bytes after it starts")
            }
            at += boxLength
        }
        return failure("JPEG 2000 (JP2) frame holds no codestream box (jp2c) among its first \(maximumSegments) boxes")
    }

    // MARK: Text

    private static func markerName(_ code: UInt8) -> String {
        switch code {
        case 0xC0: "SOF0"
        case 0xC1: "SOF1"
        case 0xC2: "SOF2"
        case 0xC3: "SOF3"
        case 0xC4: "DHT"
        case 0xDA: "SOS"
        case 0xDB: "DQT"
        case 0xDD: "DRI"
        case 0xF7: "SOF55"
        case 0xF8: "LSE"
        case 0xE0...0xEF: "APP\(code - 0xE0)"
        case 0xFE: "COM"
        case 0xC5...0xCF: "SOF\(code - 0xC0)"
        default: "FF" + String(code, radix: 16, uppercase: true)
        }
    }

    private static func hex(_ marker: Int) -> String {
        let text = String(marker, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - text.count)) + text
    }

    private static func found(_ bytes: [UInt8]) -> String {
        guard !bytes.isEmpty else { return ": the frame is empty" }
        return "; it starts with " + bytes.map { byte in
            let text = String(byte, radix: 16, uppercase: true)
            return text.count == 1 ? "0" + text : text
        }.joined(separator: " ")
    }
}

extension EncapsulatedPixelData {
    /// Why the encapsulated pixel data of `header` cannot be decoded, found from the item headers and
    /// each frame's codestream headers (``CodestreamCheck``) without decoding; nil when nothing is wrong
    /// that the headers can show. Throws only when the file cannot be read.
    static func problem(header: DICOMFile, opened file: ReadableFile? = nil, format: StoredPixelFormat, frameCount: Int) throws -> String? {
        guard case .encapsulatedPixelData(let offset) = header.pixelDataElement?.value else { return nil }
        let syntax = header.transferSyntax
        guard syntax.pixelEncoding == .codec else { return nil }
        let source = WindowedPixelReader(try PixelByteSource(header, opened: file))
        let fragments: [[Range<Int>]]
        do {
            fragments = try frameFragments(source: source, start: offset, frameCount: frameCount)
        } catch let error as MedVolError where error.code == .corruptFile {
            return error.reason
        }
        guard fragments.count >= frameCount else {
            return "encapsulated pixel data hold \(fragments.count) frames, Number of Frames says \(frameCount)"
        }
        let family = CodecFamily(syntax)
        for (index, frameFragments) in fragments.prefix(frameCount).enumerated() {
            var frame = FrameBytes(source: source, fragments: frameFragments)
            if let problem = try CodestreamCheck.problem(&frame, family: family, rows: format.rows, columns: format.columns) {
                return frameCount == 1 ? problem : "frame \(index + 1) of \(frameCount): \(problem)"
            }
        }
        return nil
    }
}
