/// Numbers from DICOM text (DS, IS) parsed straight from their bytes: no `String` per value, which is
/// most of what a header scan would otherwise spend its time on.
enum DecimalText {
    /// The backslash-separated numbers in `bytes`; values that are not numbers are skipped (as
    /// `Double(String)` would reject them).
    static func numbers(_ bytes: ArraySlice<UInt8>) -> [Double] {
        var result: [Double] = []
        var start = bytes.startIndex
        let end = bytes.endIndex
        while start <= end {
            var stop = start
            while stop < end && bytes[stop] != 0x5C { stop += 1 }   // "\"
            if let value = number(bytes[start..<stop]) { result.append(value) }
            start = stop + 1
        }
        return result
    }

    /// One number, padding spaces and NULs ignored.
    static func number(_ field: ArraySlice<UInt8>) -> Double? {
        var low = field.startIndex, high = field.endIndex
        while low < high && (field[low] == 0x20 || field[low] == 0) { low += 1 }
        while high > low && (field[high - 1] == 0x20 || field[high - 1] == 0) { high -= 1 }
        guard low < high else { return nil }
        if let exact = fastPath(field[low..<high]) { return exact }
        return Double(String(decoding: field[low..<high], as: UTF8.self))
    }

    /// Clinger's fast path: a decimal with at most 15 significant digits and a small exponent is
    /// exactly a double times an exact power of ten, so one multiplication or division rounds it
    /// correctly — the same result as `strtod`. Anything else returns nil (and goes the slow way).
    private static func fastPath(_ text: ArraySlice<UInt8>) -> Double? {
        var index = text.startIndex
        var negative = false
        if text[index] == 0x2D || text[index] == 0x2B {   // - +
            negative = text[index] == 0x2D
            index += 1
        }
        var mantissa: UInt64 = 0
        var digits = 0
        var fractionDigits = 0
        var seenPoint = false
        var seenDigit = false
        while index < text.endIndex {
            let byte = text[index]
            if byte >= 0x30 && byte <= 0x39 {
                seenDigit = true
                if mantissa == 0 && byte == 0x30 {
                    if seenPoint { fractionDigits += 1 }   // leading zeros carry no significant digit
                } else {
                    digits += 1
                    guard digits <= 15 else { return nil }
                    mantissa = mantissa * 10 + UInt64(byte - 0x30)
                    if seenPoint { fractionDigits += 1 }
                }
            } else if byte == 0x2E && !seenPoint {   // .
                seenPoint = true
            } else {
                break
            }
            index += 1
        }
        guard seenDigit else { return nil }
        var exponent = 0
        if index < text.endIndex {
            guard text[index] == 0x65 || text[index] == 0x45 else { return nil }   // e E
            index += 1
            var exponentNegative = false
            if index < text.endIndex && (text[index] == 0x2D || text[index] == 0x2B) {
                exponentNegative = text[index] == 0x2D
                index += 1
            }
            guard index < text.endIndex else { return nil }
            while index < text.endIndex {
                let byte = text[index]
                guard byte >= 0x30 && byte <= 0x39, exponent < 1000 else { return nil }
                exponent = exponent * 10 + Int(byte - 0x30)
                index += 1
            }
            if exponentNegative { exponent = -exponent }
        }
        let power = exponent - fractionDigits
        guard power >= -22 && power <= 22 else { return nil }
        var value = Double(mantissa)
        value = power < 0 ? value / powersOfTen[-power] : value * powersOfTen[power]
        return negative ? -value : value
    }

    private static let powersOfTen: [Double] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                                                1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22]
}
