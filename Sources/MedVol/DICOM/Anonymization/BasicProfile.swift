/// An action of PS3.15 Table E.1-1: what to do with one attribute. The combined codes ("X/Z", …) let the
/// de-identifier choose; ``applied`` says which one medvol chooses.
public enum DeidentificationAction: String, Sendable, CaseIterable, Hashable {
    /// D: replace with a non-zero-length dummy value consistent with the VR.
    case dummy = "D"
    /// Z: replace with a zero-length value (or a dummy; medvol writes zero length, except for dates and
    /// times, which get the fixed dummy date or time).
    case zeroLength = "Z"
    /// X: remove.
    case remove = "X"
    /// K: keep.
    case keep = "K"
    /// U: replace with a new UID, the same new UID for the same old one within a run.
    case replaceUID = "U"
    /// Z/D: Z unless D is required.
    case zeroLengthOrDummy = "Z/D"
    /// X/Z: X unless Z is required.
    case removeOrZeroLength = "X/Z"
    /// X/D: X unless D is required.
    case removeOrDummy = "X/D"
    /// X/Z/D: X unless Z or D is required.
    case removeOrZeroLengthOrDummy = "X/Z/D"
    /// X/Z/U*: X unless Z, or replacing the UIDs inside the sequence's items, is required.
    case removeOrZeroLengthOrReplaceUIDs = "X/Z/U*"

    /// The single action medvol applies for this code.
    ///
    /// medvol does not know which attributes each IOD requires (Type 1 or 2), so for a combined code it
    /// takes the alternative that keeps every IOD valid whichever type the attribute has — the one the
    /// code lists last: X/Z → Z, X/D and Z/D and X/Z/D → D, X/Z/U* → U (the sequence is kept and the
    /// instance UIDs in its items are replaced, so references between the files of a run still
    /// resolve). Each of these is one of the choices the profile allows, and none keeps an original value.
    public var applied: DeidentificationAction {
        switch self {
        case .dummy, .zeroLength, .remove, .keep, .replaceUID: self
        case .removeOrZeroLength: .zeroLength
        case .zeroLengthOrDummy, .removeOrDummy, .removeOrZeroLengthOrDummy: .dummy
        case .removeOrZeroLengthOrReplaceUIDs: .replaceUID
        }
    }
}

/// The Basic Application Level Confidentiality Profile (PS3.15 Annex E): the attribute table
/// (``BasicProfile/rules``, from Table E.1-1) and the lookups the anonymizer uses.
public enum BasicProfile {
    /// One row of Table E.1-1.
    public struct Rule: Sendable, Hashable {
        /// The tag; for the repeating groups (50xx,xxxx), (60xx,3000), (60xx,4000), the tag with the
        /// wildcard digits set to zero, and `mask` telling which bits must match.
        public let tag: DICOMTag
        /// Bits of the tag that must match (0xFFFFFFFF for an ordinary tag).
        public let mask: UInt32
        /// The table's action code for the attribute.
        public let action: DeidentificationAction
        /// The attribute's name as the table gives it.
        public let name: String

        /// Whether `other` is this row's tag, the wildcard digits of a repeating group matching anything.
        public func matches(_ other: DICOMTag) -> Bool { other.rawValue & mask == tag.rawValue }
    }

    /// Every row of the table, in the table's tag order.
    public static let rules: [Rule] = parse(tableText)

    /// The rows with an exact tag, by tag.
    private static let exact: [UInt32: Rule] = {
        var table: [UInt32: Rule] = [:]
        for rule in rules where rule.mask == 0xFFFF_FFFF { table[rule.tag.rawValue] = rule }
        return table
    }()

    /// The rows with wildcards (repeating groups).
    private static let repeating: [Rule] = rules.filter { $0.mask != 0xFFFF_FFFF }

    /// The table's action for `tag`, or nil when the table does not list it. Private attributes (odd
    /// groups) are not looked up here: the anonymizer removes them all.
    public static func action(for tag: DICOMTag) -> DeidentificationAction? {
        rule(for: tag)?.action
    }

    /// The rule for `tag`, if the table lists it.
    public static func rule(for tag: DICOMTag) -> Rule? {
        exact[tag.rawValue] ?? repeating.first { $0.matches(tag) }
    }

    /// Parses lines "(gggg,eeee) CODE Name"; x in the tag is a wildcard hex digit.
    static func parse(_ text: String) -> [Rule] {
        text.split(separator: "\n").compactMap { line -> Rule? in
            let trimmed = line.trimmingPrefix(while: { $0 == " " })
            guard trimmed.first == "(" else { return nil }
            let fields = trimmed.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
            guard fields.count == 3, let action = DeidentificationAction(rawValue: String(fields[1])) else {
                preconditionFailure("Table E.1-1 row cannot be read: \(line)")
            }
            let digits = fields[0].filter { $0.isHexDigit || $0 == "x" }
            guard digits.count == 8 else { preconditionFailure("Table E.1-1 row has a bad tag: \(line)") }
            var value: UInt32 = 0, mask: UInt32 = 0
            for character in digits {
                value <<= 4
                mask <<= 4
                if character != "x" {
                    value |= UInt32(character.hexDigitValue!)
                    mask |= 0xF
                }
            }
            return Rule(tag: DICOMTag(rawValue: value), mask: mask, action: action,
                        name: String(fields[2]).trimmingPadding())
        }
    }
}
