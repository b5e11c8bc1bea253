/// A DICOM value representation (PS3.5 §6.2).
public enum DICOMVR: String, Sendable, CaseIterable, Hashable {
    /// Application Entity.
    case AE
    /// Age String (`nnnD`, `nnnW`, `nnnM` or `nnnY`).
    case AS
    /// Attribute Tag (a pair of 16-bit unsigned integers).
    case AT
    /// Code String.
    case CS
    /// Date (`YYYYMMDD`).
    case DA
    /// Decimal String.
    case DS
    /// Date Time (`YYYYMMDDHHMMSS.FFFFFF&ZZXX`).
    case DT
    /// Floating Point Double (64-bit IEEE 754).
    case FD
    /// Floating Point Single (32-bit IEEE 754).
    case FL
    /// Integer String.
    case IS
    /// Long String.
    case LO
    /// Long Text.
    case LT
    /// Other Byte.
    case OB
    /// Other Double.
    case OD
    /// Other Float.
    case OF
    /// Other Long.
    case OL
    /// Other 64-bit Very Long.
    case OV
    /// Other Word.
    case OW
    /// Person Name.
    case PN
    /// Short String.
    case SH
    /// Signed Long (32-bit).
    case SL
    /// Sequence of Items.
    case SQ
    /// Signed Short (16-bit).
    case SS
    /// Short Text.
    case ST
    /// Signed 64-bit Very Long.
    case SV
    /// Time (`HHMMSS.FFFFFF`).
    case TM
    /// Unlimited Characters.
    case UC
    /// Unique Identifier (UID).
    case UI
    /// Unsigned Long (32-bit).
    case UL
    /// Unknown.
    case UN
    /// Universal Resource Identifier or Universal Resource Locator (URI/URL).
    case UR
    /// Unsigned Short (16-bit).
    case US
    /// Unlimited Text.
    case UT
    /// Unsigned 64-bit Very Long.
    case UV

    /// The VR from its two bytes as written in an explicit-VR file.
    init?(bytes first: UInt8, _ second: UInt8) {
        guard first >= 0x41, first <= 0x5A, second >= 0x41, second <= 0x5A else { return nil }
        self.init(rawValue: String(decoding: [first, second], as: UTF8.self))
    }

    /// VRs whose explicit encoding has two reserved bytes and a 32-bit length.
    var hasLongExplicitLength: Bool {
        switch self {
        case .OB, .OD, .OF, .OL, .OV, .OW, .SQ, .SV, .UC, .UN, .UR, .UT, .UV: true
        default: false
        }
    }

    /// Character-string VRs.
    public var isText: Bool {
        switch self {
        case .AE, .AS, .CS, .DA, .DS, .DT, .IS, .LO, .LT, .PN, .SH, .ST, .TM, .UC, .UI, .UR, .UT: true
        default: false
        }
    }

    /// Text VRs that hold one value even if it contains a backslash.
    var isSingleValuedText: Bool { self == .LT || self == .ST || self == .UT || self == .UR }

    /// The byte used to pad an odd-length value to even length.
    var paddingByte: UInt8 { self == .UI || self == .OB || self == .UN ? 0 : 0x20 }
}
