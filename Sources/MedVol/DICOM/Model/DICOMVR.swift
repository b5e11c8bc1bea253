/// A DICOM value representation (PS3.5 §6.2).
public enum DICOMVR: String, Sendable, CaseIterable, Hashable {
    case AE, AS, AT, CS, DA, DS, DT, FD, FL, IS, LO, LT, OB, OD, OF, OL, OV, OW, PN, SH, SL, SQ, SS, ST, SV,
         TM, UC, UI, UL, UN, UR, US, UT, UV

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

    /// Byte width of one value of a binary numeric VR, or nil.
    var binaryWidth: Int? {
        switch self {
        case .US, .SS, .OW: 2
        case .UL, .SL, .FL, .OF, .OL, .AT: 4
        case .FD, .OD, .SV, .UV, .OV: 8
        case .OB, .UN: 1
        default: nil
        }
    }

    /// The byte used to pad an odd-length value to even length.
    var paddingByte: UInt8 { self == .UI || self == .OB || self == .UN ? 0 : 0x20 }
}
