/// Text from files (DICOM values, header fields, library messages) made safe to print: every control
/// character — C0 (U+0000…U+001F), DEL and C1 (U+0080…U+009F) — becomes a visible escape (`\n`, `\r`,
/// `\t`, else `\xHH`), so no value can move the cursor, recolour or clear a terminal, ring its bell or
/// forge a line of output. The one escaping of the project: `dump`, `series`, `info`, warnings, summaries
/// and error reasons all print through it.
public enum TextEscaping {
    /// `text` with its control characters escaped (all other characters kept as they are). With
    /// `keepingLineBreaks`, "\n" stays a line break: for output made of several lines, whose values were
    /// escaped (line breaks included) when they were put in.
    public static func escapingControlCharacters(_ text: String, keepingLineBreaks: Bool = false) -> String {
        guard text.unicodeScalars.contains(where: { isControl($0) && !(keepingLineBreaks && $0 == "\n") }) else { return text }
        var escaped = ""
        escaped.unicodeScalars.reserveCapacity(text.unicodeScalars.count + 8)
        for scalar in text.unicodeScalars {
            if keepingLineBreaks && scalar == "\n" { escaped += "\n" } else { escaped += escape(scalar) }
        }
        return escaped
    }

    /// One scalar as it is printed: itself, or its escape when it is a control character.
    public static func escape(_ scalar: Unicode.Scalar) -> String {
        switch scalar {
        case "\n": return "\\n"
        case "\r": return "\\r"
        case "\t": return "\\t"
        case _ where isControl(scalar):
            let hex = String(scalar.value, radix: 16, uppercase: true)
            return "\\x" + (hex.count == 1 ? "0" : "") + hex
        default: return String(scalar)
        }
    }

    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }
}

/// `"text"` with control characters escaped — how a value from a file is quoted in a message.
func quotedForMessage(_ text: String) -> String {
    "\"" + TextEscaping.escapingControlCharacters(text) + "\""
}
