#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Constructors for elements built in memory (by the writers), values encoded little endian as the
// writers expect. Values are stored unpadded; the writer pads them to even length.
extension DICOMElement {
    /// A text element: `values` joined by backslashes (one value for LT, ST, UT, UR), encoded in the
    /// character set named by `specificCharacterSet`: "ISO_IR 192" (UTF-8), "ISO_IR 100" (Latin-1,
    /// other characters become "?"), or nil for the default repertoire (ASCII; others become "?").
    /// The data set must carry the same Specific Character Set (0008,0005).
    public static func text(_ tag: DICOMTag, _ vr: DICOMVR, _ values: [String],
                            specificCharacterSet: String? = nil) -> DICOMElement {
        precondition(vr.isText, "\(vr) is not a text VR")
        let joined = values.joined(separator: "\\")
        let bytes: [UInt8]
        if let specificCharacterSet {
            bytes = DICOMCharacterSet(specificCharacterSet: [specificCharacterSet]).encode(joined)
        } else {
            bytes = joined.unicodeScalars.map { $0.isASCII ? UInt8($0.value) : UInt8(ascii: "?") }
        }
        return DICOMElement(tag: tag, vr: vr, value: .bytes(ArraySlice(bytes)))
    }

    /// A text element with one value.
    public static func text(_ tag: DICOMTag, _ vr: DICOMVR, _ value: String,
                            specificCharacterSet: String? = nil) -> DICOMElement {
        text(tag, vr, [value], specificCharacterSet: specificCharacterSet)
    }

    /// A UI element. Throws when `uid` is not a valid UID (PS3.5 §9.1: digits and dots, no leading
    /// zeros, at most 64 characters); an empty UID is allowed (an empty type-2 element).
    public static func uid(_ tag: DICOMTag, _ uid: String) throws -> DICOMElement {
        guard uid.isEmpty || DICOMUID.isValid(uid) else {
            throw MedVolError(.invalidArgument, reason: "\"\(uid)\" is not a valid DICOM UID (element \(tag))")
        }
        return DICOMElement(tag: tag, vr: .UI, value: .bytes(ArraySlice(uid.utf8)))
    }

    /// A DS (decimal string) element, each value written in at most 16 characters with as many
    /// significant digits as fit (see ``DICOMElement/decimalString(_:)``).
    /// Throws for infinities and NaN, which DS cannot hold.
    public static func decimalString(_ tag: DICOMTag, _ values: [Double]) throws -> DICOMElement {
        let texts = try values.map { value in
            guard let text = decimalString(value) else {
                throw MedVolError(.invalidArgument, reason: "\(value) cannot be written as a decimal string (element \(tag))")
            }
            return text
        }
        return text(tag, .DS, texts)
    }

    /// An IS (integer string) element. Throws for values outside −2³¹ … 2³¹−1.
    public static func integerString(_ tag: DICOMTag, _ values: [Int]) throws -> DICOMElement {
        for value in values where value < Int(Int32.min) || value > Int(Int32.max) {
            throw MedVolError(.invalidArgument, reason: "\(value) does not fit an integer string (element \(tag))")
        }
        return text(tag, .IS, values.map(String.init))
    }

    /// A binary numeric element (US, SS, UL, SL, SV, UV, FL, FD, and OW/OL/OF/OD/OV/OB arrays).
    /// Throws when a value is not integral or out of range for an integer VR.
    public static func numbers(_ tag: DICOMTag, _ vr: DICOMVR, _ values: [Double]) throws -> DICOMElement {
        var bytes: [UInt8] = []
        func append<T: FixedWidthInteger>(_ value: T) {
            withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
        }
        func integer<T: FixedWidthInteger>(_ value: Double, _: T.Type) throws -> T {
            guard value.rounded() == value, let exact = T(exactly: value) else {
                throw MedVolError(.invalidArgument, reason: "\(value) does not fit \(vr) (element \(tag))")
            }
            return exact
        }
        for value in values {
            switch vr {
            case .US, .OW: append(try integer(value, UInt16.self))
            case .SS: append(try integer(value, Int16.self))
            case .UL, .OL: append(try integer(value, UInt32.self))
            case .SL: append(try integer(value, Int32.self))
            case .SV: append(try integer(value, Int64.self))
            case .UV, .OV: append(try integer(value, UInt64.self))
            case .OB, .UN: append(try integer(value, UInt8.self))
            case .FL, .OF: append(Float(value).bitPattern)
            case .FD, .OD: append(value.bitPattern)
            default:
                throw MedVolError(.invalidArgument, reason: "\(vr) is not a binary numeric VR (element \(tag))")
            }
        }
        return DICOMElement(tag: tag, vr: vr, value: .bytes(ArraySlice(bytes)))
    }

    /// A sequence element (SQ) holding `items`.
    public static func sequence(_ tag: DICOMTag, _ items: [DICOMDataSet]) -> DICOMElement {
        DICOMElement(tag: tag, vr: .SQ, value: .sequence(items))
    }

    /// An element holding `bytes` as they are (OB, OW, UN, … already little endian).
    public static func binary(_ tag: DICOMTag, _ vr: DICOMVR, _ bytes: [UInt8]) -> DICOMElement {
        DICOMElement(tag: tag, vr: vr, value: .bytes(ArraySlice(bytes)))
    }

    // MARK: Number formatting

    /// `value` as a DICOM decimal string: at most 16 characters, as many significant digits as fit,
    /// the shortest text that reads back as `value` when there is one that fits ("0.7", "-1024",
    /// "1e-5"). Nil for infinities and NaN.
    public static func decimalString(_ value: Double) -> String? {
        guard value.isFinite else { return nil }
        if value == 0 { return "0" }
        if value.rounded() == value, abs(value) < 1e15 { return String(Int64(value)) }
        let shortest = cleanedNumber(value.description)
        if shortest.count <= 16 { return shortest }
        for digits in stride(from: 16, through: 1, by: -1) {
            let candidates = [cleanedNumber(cFormat("%.*g", digits, value)),
                              cleanedNumber(cFormat("%.*e", digits - 1, value))]
                .filter { $0.count <= 16 }
            if let best = candidates.min(by: { $0.count < $1.count }) { return best }
        }
        return nil
    }

    /// Removes trailing zeros of the mantissa and writes the exponent without "+" and leading zeros.
    private static func cleanedNumber(_ text: String) -> String {
        let parts = text.lowercased().split(separator: "e", maxSplits: 1).map(String.init)
        var mantissa = parts[0]
        if mantissa.contains(".") {
            while mantissa.hasSuffix("0") { mantissa.removeLast() }
            if mantissa.hasSuffix(".") { mantissa.removeLast() }
        }
        guard parts.count == 2, let exponent = Int(parts[1]), exponent != 0 else { return mantissa }
        return "\(mantissa)e\(exponent)"
    }

    private static func cFormat(_ format: String, _ arguments: CVarArg...) -> String {
        withVaList(arguments) { list in
            var buffer = [CChar](repeating: 0, count: 64)
            let count = Int(vsnprintf(&buffer, buffer.count, format, list))
            return String(decoding: buffer.prefix(max(0, min(count, buffer.count - 1))).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }
}
