/// What the header of a JPEG or JPEG-LS codestream says (markers up to the first start-of-frame), read
/// before the stream goes to a decoder: the colour space the samples are really in, and whether the
/// stream can be complete.
struct JPEGCodestreamHeader: Equatable {
    /// Sample precision from the SOF segment.
    var precision: Int
    var rows: Int
    var columns: Int
    /// Component identifiers, in order (1, 2, 3 usually; 'R', 'G', 'B' when the encoder says RGB).
    var componentIDs: [Int]
    /// Whether an APP0 "JFIF" segment precedes the frame (JFIF means YCbCr).
    var hasJFIF: Bool
    /// SOF55: JPEG-LS.
    var isJPEGLS: Bool

    /// Reads the header of `bytes`; nil when they do not start like a JPEG stream or end before a SOF.
    init?(_ bytes: [UInt8]) {
        guard bytes.count >= 4, bytes[0] == 0xFF, bytes[1] == 0xD8 else { return nil }
        var at = 2
        var jfif = false
        while at + 4 <= bytes.count {
            guard bytes[at] == 0xFF else { return nil }
            let marker = bytes[at + 1]
            if marker == 0xFF { at += 1; continue }  // fill byte
            if marker == 0x01 || (0xD0...0xD7).contains(marker) { at += 2; continue }  // no length
            let length = Int(bytes[at + 2]) << 8 | Int(bytes[at + 3])
            guard length >= 2, at + 2 + length <= bytes.count else { return nil }
            let segment = at + 4
            if marker == 0xE0, length >= 7, Array(bytes[segment..<segment + 4]) == Array("JFIF".utf8) { jfif = true }
            let isFrame = (0xC0...0xCF).contains(marker) && marker != 0xC4 && marker != 0xC8 && marker != 0xCC
            if isFrame || marker == 0xF7 {
                guard length >= 8 else { return nil }
                let count = Int(bytes[segment + 5])
                guard length >= 8 + 3 * count else { return nil }
                precision = Int(bytes[segment])
                rows = Int(bytes[segment + 1]) << 8 | Int(bytes[segment + 2])
                columns = Int(bytes[segment + 3]) << 8 | Int(bytes[segment + 4])
                componentIDs = (0..<count).map { Int(bytes[segment + 6 + 3 * $0]) }
                hasJFIF = jfif
                isJPEGLS = marker == 0xF7
                return
            }
            if marker == 0xDA || marker == 0xD9 { return nil }  // scan or end before any frame
            at += 2 + length
        }
        return nil
    }

    /// The colour space of the decoded samples, pydicom's rule (`_conform_jpg_colorspace`): component
    /// identifiers 'R','G','B' mean RGB whatever the header says; a JFIF marker means YCbCr unless the
    /// header already says YBR; otherwise the header's Photometric Interpretation.
    func photometric(declared: String, baseline: Bool) -> String {
        guard componentIDs.count == 3 else { return declared }
        if componentIDs == [82, 71, 66] || componentIDs == [114, 103, 98] { return "RGB" }
        if hasJFIF && !declared.contains("YBR") { return baseline ? "YBR_FULL_422" : "YBR_FULL" }
        return declared
    }

    /// Whether `bytes` end with the EOI marker (0xFFD9), whatever padding follows it (the rule of
    /// ``CodestreamCheck/endsWithEOI(_:)``, which the scan applies). A JPEG-LS stream without it is
    /// truncated, and CharLS 2 loops for ever on some truncated streams.
    static func endsWithEOI(_ bytes: [UInt8]) -> Bool {
        var frame = FrameBytes(bytes)
        return (try? CodestreamCheck.endsWithEOI(&frame)) ?? false
    }
}
