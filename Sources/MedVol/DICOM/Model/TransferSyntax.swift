/// A DICOM transfer syntax: how a data set and its pixel data are encoded.
public struct TransferSyntax: Hashable, Sendable, CustomStringConvertible {
    /// How pixel data of this syntax are decoded.
    public enum PixelEncoding: Hashable, Sendable {
        /// Uncompressed pixel data in the element's value.
        case native
        /// RLE Lossless (PS3.5 Annex G), decoded by medvol itself.
        case rle
        /// A JPEG family stream decoded by a codec library, in a worker process: JPEG-LS by CharLS,
        /// JPEG 2000 and HTJ2K by OpenJPEG, JPEG baseline/extended/lossless by GDCM.
        case codec
        /// Encapsulated data no decoder here understands (MPEG, HEVC, JPEG XL, …).
        case unsupported

        /// The former name of ``codec`` (when GDCM decoded every JPEG family stream).
        @available(*, deprecated, renamed: "codec")
        public static var gdcmCodec: PixelEncoding { .codec }
    }

    /// The transfer syntax UID, e.g. `1.2.840.10008.1.2.1`, without trailing padding.
    public let uid: String

    /// The syntax with the given UID; trailing spaces and NULs and leading spaces are trimmed.
    public init(uid: String) {
        self.uid = uid.trimmingPadding()
    }

    /// Implicit VR Little Endian (`1.2.840.10008.1.2`), the DICOM default.
    public static let implicitVRLittleEndian = TransferSyntax(uid: "1.2.840.10008.1.2")
    /// Explicit VR Little Endian (`1.2.840.10008.1.2.1`).
    public static let explicitVRLittleEndian = TransferSyntax(uid: "1.2.840.10008.1.2.1")
    /// Deflated Explicit VR Little Endian (`1.2.840.10008.1.2.1.99`).
    public static let deflatedExplicitVRLittleEndian = TransferSyntax(uid: "1.2.840.10008.1.2.1.99")
    /// Explicit VR Big Endian (`1.2.840.10008.1.2.2`, retired).
    public static let explicitVRBigEndian = TransferSyntax(uid: "1.2.840.10008.1.2.2")
    /// RLE Lossless (`1.2.840.10008.1.2.5`).
    public static let rleLossless = TransferSyntax(uid: "1.2.840.10008.1.2.5")
    /// JPEG Baseline (Process 1) (`1.2.840.10008.1.2.4.50`), lossy 8-bit.
    public static let jpegBaseline = TransferSyntax(uid: "1.2.840.10008.1.2.4.50")
    /// JPEG Extended (Process 2 and 4) (`1.2.840.10008.1.2.4.51`), lossy up to 12-bit.
    public static let jpegExtended = TransferSyntax(uid: "1.2.840.10008.1.2.4.51")
    /// JPEG Lossless, Non-Hierarchical (Process 14) (`1.2.840.10008.1.2.4.57`).
    public static let jpegLossless = TransferSyntax(uid: "1.2.840.10008.1.2.4.57")
    /// JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14, Selection Value 1)
    /// (`1.2.840.10008.1.2.4.70`).
    public static let jpegLosslessSV1 = TransferSyntax(uid: "1.2.840.10008.1.2.4.70")
    /// JPEG-LS Lossless Image Compression (`1.2.840.10008.1.2.4.80`).
    public static let jpegLSLossless = TransferSyntax(uid: "1.2.840.10008.1.2.4.80")
    /// JPEG-LS Lossy (Near-Lossless) Image Compression (`1.2.840.10008.1.2.4.81`).
    public static let jpegLSNearLossless = TransferSyntax(uid: "1.2.840.10008.1.2.4.81")
    /// JPEG 2000 Image Compression (Lossless Only) (`1.2.840.10008.1.2.4.90`).
    public static let jpeg2000Lossless = TransferSyntax(uid: "1.2.840.10008.1.2.4.90")
    /// JPEG 2000 Image Compression, lossless or lossy (`1.2.840.10008.1.2.4.91`).
    public static let jpeg2000 = TransferSyntax(uid: "1.2.840.10008.1.2.4.91")
    /// High-Throughput JPEG 2000 Image Compression (Lossless Only) (`1.2.840.10008.1.2.4.201`).
    public static let htj2kLossless = TransferSyntax(uid: "1.2.840.10008.1.2.4.201")
    /// High-Throughput JPEG 2000 with RPCL Options Image Compression (Lossless Only)
    /// (`1.2.840.10008.1.2.4.202`).
    public static let htj2kLosslessRPCL = TransferSyntax(uid: "1.2.840.10008.1.2.4.202")
    /// High-Throughput JPEG 2000 Image Compression, lossless or lossy (`1.2.840.10008.1.2.4.203`).
    public static let htj2k = TransferSyntax(uid: "1.2.840.10008.1.2.4.203")

    /// Whether elements carry their VR: true for every syntax but Implicit VR Little Endian.
    public var isExplicitVR: Bool { self != .implicitVRLittleEndian }
    /// Whether values are little-endian: true for every syntax but Explicit VR Big Endian.
    public var isLittleEndian: Bool { self != .explicitVRBigEndian }
    /// Whether the data set after the file meta group is deflate-compressed.
    public var isDeflated: Bool { self == .deflatedExplicitVRLittleEndian }
    /// Whether pixel data are encapsulated (compressed) rather than native.
    public var isEncapsulated: Bool {
        !(self == .implicitVRLittleEndian || self == .explicitVRLittleEndian || self == .explicitVRBigEndian
          || self == .deflatedExplicitVRLittleEndian)
    }

    /// How this syntax's pixel data are decoded: natively, by the built-in RLE decoder, by a codec library
    /// (CharLS, OpenJPEG, GDCM), or not at all.
    public var pixelEncoding: PixelEncoding {
        if !isEncapsulated { return .native }
        if self == .rleLossless { return .rle }
        if Self.codecDecodable.contains(uid) { return .codec }
        return .unsupported
    }

    private static let codecDecodable: Set<String> = [
        "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70",
        "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81", "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91",
        "1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.203",
    ]

    private static let names: [String: String] = [
        "1.2.840.10008.1.2": "Implicit VR Little Endian",
        "1.2.840.10008.1.2.1": "Explicit VR Little Endian",
        "1.2.840.10008.1.2.1.99": "Deflated Explicit VR Little Endian",
        "1.2.840.10008.1.2.2": "Explicit VR Big Endian",
        "1.2.840.10008.1.2.5": "RLE Lossless",
        "1.2.840.10008.1.2.4.50": "JPEG Baseline (Process 1)",
        "1.2.840.10008.1.2.4.51": "JPEG Extended (Process 2 & 4)",
        "1.2.840.10008.1.2.4.57": "JPEG Lossless, Non-Hierarchical (Process 14)",
        "1.2.840.10008.1.2.4.70": "JPEG Lossless, First-Order Prediction (Process 14 SV1)",
        "1.2.840.10008.1.2.4.80": "JPEG-LS Lossless",
        "1.2.840.10008.1.2.4.81": "JPEG-LS Near-Lossless",
        "1.2.840.10008.1.2.4.90": "JPEG 2000 Lossless",
        "1.2.840.10008.1.2.4.91": "JPEG 2000",
        "1.2.840.10008.1.2.4.100": "MPEG2 Main Profile / Main Level",
        "1.2.840.10008.1.2.4.201": "High-Throughput JPEG 2000 Lossless",
        "1.2.840.10008.1.2.4.202": "High-Throughput JPEG 2000 Lossless (RPCL)",
        "1.2.840.10008.1.2.4.203": "High-Throughput JPEG 2000",
    ]

    /// The standard's name for the syntax, or its UID when unknown.
    public var name: String { Self.names[uid] ?? uid }

    /// The name of a transfer syntax UID medvol knows, or nil (for UIDs that GDCM 3.0's table lacks:
    /// the HTJ2K syntaxes).
    static func knownName(_ uid: String) -> String? { names[uid] }

    /// The syntax's ``name``.
    public var description: String { name }
}
