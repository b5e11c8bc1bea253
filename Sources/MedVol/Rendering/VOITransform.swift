#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The VOI LUT function of a window (VOI LUT Function (0028,1056), PS3.3 C.11.2.1.3).
public enum VOIFunction: String, Sendable, CaseIterable {
    /// PS3.3 C.11.2.1.2.1: the window with centre c − 0.5 and width w − 1 (the default).
    case linear = "LINEAR"
    /// PS3.3 C.11.2.1.3.2: exactly [c − w/2, c + w/2] onto the output range.
    case linearExact = "LINEAR_EXACT"
    /// PS3.3 C.11.2.1.3.1: a logistic curve centred on c, of slope 4/w there.
    case sigmoid = "SIGMOID"
}

/// A VOI LUT (an item of VOI LUT Sequence (0028,3010)): output = entries[clamp(x − firstMapped)],
/// entries of `bitsPerEntry` bits.
public struct VOILookupTable: Sendable, Hashable {
    /// The first input value mapped (LUT Descriptor value 2): inputs below it get the first entry, inputs
    /// past the end the last entry.
    public var firstMapped: Int
    /// Bits per entry (LUT Descriptor value 3, 1…16): an entry of 2^bits − 1 is white.
    public var bitsPerEntry: Int
    /// The output values, one per input from ``firstMapped`` on.
    public var entries: [UInt16]
    /// LUT Explanation (0028,3003), if any.
    public var explanation: String?

    /// A lookup table from its parts (`entries` must not be empty).
    ///
    /// - Parameters:
    ///   - firstMapped: The first input value mapped.
    ///   - bitsPerEntry: Bits per entry; an entry of 2^bits − 1 is white.
    ///   - entries: The output values, one per input from `firstMapped` on.
    ///   - explanation: LUT Explanation, if any.
    public init(firstMapped: Int, bitsPerEntry: Int, entries: [UInt16], explanation: String? = nil) {
        precondition(!entries.isEmpty, "a lookup table has at least one entry")
        self.firstMapped = firstMapped
        self.bitsPerEntry = bitsPerEntry
        self.entries = entries
        self.explanation = explanation
    }

    /// Reads one item of a VOI LUT Sequence: LUT Descriptor (count, 0 meaning 65536; first value
    /// mapped, signed when the stored values are; bits per entry), LUT Data, LUT Explanation.
    init?(item: DICOMDataSet, signedInput: Bool) {
        let descriptor = item.ints(.lutDescriptor)
        guard descriptor.count == 3, let data = item[.lutData]?.rawBytes else { return nil }
        let count = descriptor[0] == 0 ? 65536 : descriptor[0]
        var first = descriptor[1]
        if signedInput && first > 32767 { first -= 65536 }
        let bits = descriptor[2]
        guard (1...16).contains(bits) else { return nil }
        var entries: [UInt16]
        if bits <= 8 && data.count == count {
            entries = data.map { UInt16($0) }       // eight-bit entries packed one per byte
        } else {
            entries = Array(item.integers(data, UInt16.self).prefix(count))
        }
        guard !entries.isEmpty else { return nil }
        if entries.count < count, let last = entries.last {
            entries += repeatElement(last, count: count - entries.count)
        }
        self.init(firstMapped: first, bitsPerEntry: bits, entries: entries,
                  explanation: item.string(.lutExplanation))
    }

    /// The entry for input `x`, as a fraction of the largest entry value (0…1).
    func fraction(_ x: Double) -> Double {
        let position = Int(max(-1e9, min(1e9, x.rounded(.down)))) - firstMapped
        let entry = entries[max(0, min(entries.count - 1, position))]
        let top = Double((1 << bitsPerEntry) - 1)
        return min(1, Double(entry) / top)
    }
}

/// How values (modality LUT output: Hounsfield units for CT) become grey levels: a window with its
/// VOI LUT function, or a VOI lookup table (PS3.3 C.11.2).
public enum VOITransform: Sendable, Hashable {
    /// A window: centre and width in the input's units (HU for CT), and its VOI LUT function.
    case window(center: Double, width: Double, function: VOIFunction)
    /// A VOI lookup table.
    case lookupTable(VOILookupTable)

    /// A LINEAR_EXACT window over `range` (a volume's own values); a constant volume maps to black.
    public static func range(_ range: ClosedRange<Double>) -> VOITransform {
        let width = range.upperBound - range.lowerBound
        guard width > 0 else {
            return .window(center: range.lowerBound + 0.5, width: 1, function: .linearExact)
        }
        return .window(center: (range.lowerBound + range.upperBound) / 2, width: width, function: .linearExact)
    }

    /// The output for `x` in [0, 1] (the display range ymin…ymax), per PS3.3 C.11.2.1.2.1 (LINEAR),
    /// C.11.2.1.3.2 (LINEAR_EXACT), C.11.2.1.3.1 (SIGMOID), or the table.
    @inline(__always)
    public func fraction(_ x: Double) -> Double {
        switch self {
        case .window(let c, let w, .linear):
            // if x <= c − 0.5 − (w−1)/2: ymin; else if x > c − 0.5 + (w−1)/2: ymax;
            // else y = ((x − (c − 0.5)) / (w−1) + 0.5) · (ymax − ymin) + ymin
            if w <= 1 { return x <= c - 0.5 ? 0 : 1 }    // width 1: a threshold at c − 0.5
            let low = c - 0.5 - (w - 1) / 2, high = c - 0.5 + (w - 1) / 2
            if x <= low { return 0 }
            if x > high { return 1 }
            return (x - (c - 0.5)) / (w - 1) + 0.5
        case .window(let c, let w, .linearExact):
            if x <= c - w / 2 { return 0 }
            if x > c + w / 2 { return 1 }
            return (x - c) / w + 0.5
        case .window(let c, let w, .sigmoid):
            return 1 / (1 + exp(-4 * (x - c) / w))
        case .lookupTable(let table):
            return table.fraction(x)
        }
    }

    /// The 8-bit grey level for `x`: the output range 0…255, rounded to the nearest level.
    @inline(__always)
    public func grey(_ x: Double) -> UInt8 {
        guard !x.isNaN else { return 0 }
        // Halves round up; the 1e-9 keeps values that are exactly half-way on paper (37.5 after a
        // window of 128/256) from falling below it through floating-point error.
        let y = fraction(x) * 255
        guard !y.isNaN else { return 0 }   // a window made from infinite values
        return UInt8(max(0, min(255, (y + 0.5 + 1e-9).rounded(.down))))
    }

    /// "window 40/400", "window 40/400 SIGMOID", "VOI LUT (4096 entries, 12 bits)".
    public var summary: String {
        switch self {
        case .window(let c, let w, let function):
            return "window \(shortNumber(c))/\(shortNumber(w))" + (function == .linear ? "" : " \(function.rawValue)")
        case .lookupTable(let table):
            return "VOI LUT (\(table.entries.count) entries, \(table.bitsPerEntry) bits"
                + (table.explanation.map { ", \($0)" } ?? "") + ")"
        }
    }
}

/// A number as short as it can be written: 40, 0.5, -600.
func shortNumber(_ value: Double) -> String {
    if value.rounded() == value, abs(value) < 1e15 { return String(Int64(value)) }
    let rounded = (value * 1000).rounded() / 1000
    return rounded.description
}
