/// Writes element values as a person reads them in a listing: text in brackets (`[ISO_IR 100]`),
/// numbers separated by backslashes, UIDs with their name, short binary values in hexadecimal and long
/// ones as a byte count. Long values are abbreviated with the full length given.
public struct DICOMValueFormatter: Sendable {
    /// Longest text shown, in characters, before it is abbreviated.
    public var valueWidth: Int
    /// Most numbers shown for a multi-valued numeric element.
    public var maximumNumbers: Int
    /// Binary values up to this many bytes are shown in hexadecimal.
    public var maximumHexBytes: Int

    /// A formatter with the given limits.
    ///
    /// - Parameters:
    ///   - valueWidth: Longest text shown, in characters, before it is abbreviated.
    ///   - maximumNumbers: Most numbers shown for a multi-valued numeric element.
    ///   - maximumHexBytes: Binary values up to this many bytes are shown in hexadecimal.
    public init(valueWidth: Int = 72, maximumNumbers: Int = 16, maximumHexBytes: Int = 16) {
        self.valueWidth = valueWidth
        self.maximumNumbers = maximumNumbers
        self.maximumHexBytes = maximumHexBytes
    }

    /// The text of a decoded value; `vr` says how binary values are grouped (OW in 16-bit words, …).
    public func text(_ value: DICOMTypedValue, vr: DICOMVR, isLittleEndian: Bool = true) -> String {
        switch value {
        case .empty:
            return "(no value)"
        case .strings(let values):
            var text = bracketed(values.joined(separator: "\\"))
            if vr == .UI, values.count == 1, let name = uidName(values[0]) { text += " \(name)" }
            return text
        case .personNames(let names):
            return bracketed(names.map(\.description).joined(separator: "\\"))
        case .integers(let values):
            return numbers(values.map { String($0) })
        case .unsignedIntegers(let values):
            return numbers(values.map { String($0) })
        case .decimals(let values):
            // FL values are shown as the float they are (55.804, not 55.80400085449219).
            return numbers(values.map { vr == .FL ? Float($0).description : formatNumber($0) })
        case .tags(let tags):
            return numbers(tags.map(\.description))
        case .bytes(let bytes):
            return binary(bytes, vr: vr, isLittleEndian: isLittleEndian)
        case .sequence(let items):
            return items.count == 1 ? "1 item" : "\(items.count) items"
        case .leftInFile(let offset, let length):
            return length.map { "\($0) bytes at byte \(offset) (not read)" } ?? "encapsulated data at byte \(offset) (not read)"
        }
    }

    /// `[text]`, with control characters escaped and long text cut, giving the full length.
    func bracketed(_ text: String) -> String {
        var escaped = ""
        var count = 0
        var truncated = false
        for scalar in text.unicodeScalars {
            let piece = TextEscaping.escape(scalar)
            if count + piece.count > valueWidth { truncated = true; break }
            escaped += piece
            count += piece.count
        }
        if truncated { return "[\(escaped)…] (\(text.count) characters)" }
        return "[\(escaped)]"
    }

    /// Values joined by backslashes, at most `maximumNumbers` of them.
    func numbers(_ values: [String]) -> String {
        if values.count <= maximumNumbers { return values.joined(separator: "\\") }
        return values.prefix(maximumNumbers / 2).joined(separator: "\\") + "\\… (\(values.count) values)"
    }

    private func binary(_ bytes: ArraySlice<UInt8>, vr: DICOMVR, isLittleEndian: Bool) -> String {
        guard bytes.count <= maximumHexBytes else { return "\(bytes.count) bytes" }
        let width = vr == .OW ? 2 : vr == .OL || vr == .OF ? 4 : vr == .OD || vr == .OV ? 8 : 1
        guard bytes.count % width == 0 else { return bytes.map { hex($0, digits: 2) }.joined(separator: "\\") }
        var words: [String] = []
        var index = bytes.startIndex
        while index < bytes.endIndex {
            var value: UInt64 = 0
            for offset in 0..<width {
                let byte = UInt64(bytes[index + (isLittleEndian ? width - 1 - offset : offset)])
                value = value << 8 | byte
            }
            words.append(hex(value, digits: 2 * width))
            index += width
        }
        return words.joined(separator: "\\")
    }

    private func hex<T: BinaryInteger>(_ value: T, digits: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}
