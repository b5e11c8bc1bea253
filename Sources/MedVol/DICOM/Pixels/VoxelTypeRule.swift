/// The SPEC's rule for the voxel type of a volume assembled from DICOM ("Voxel values"):
///
/// - when every rescaled value is an integer: the stored integer type (Bits Allocated, Pixel
///   Representation) if it holds every value, else the smallest of uint8, int8, uint16, int16, uint32,
///   int32 that holds every value actually present (so CT stored unsigned with intercept −1024 becomes
///   int16, never int32);
/// - otherwise float32 (float64 only for 32-bit stored integers, which float32 cannot hold exactly);
/// - colour stays uint8/uint16 (uint32 for 32-bit RGB); 1-bit data gives uint8 0/1; `--stored-values` keeps the stored type.
enum VoxelTypeRule {
    /// What can be decided before any pixel is decoded.
    enum Plan: Equatable {
        /// The type is known from the headers.
        case fixed(PixelType)
        /// Decode into `provisional` (same size as the stored type), measuring the values; the final type
        /// follows from the measured range (see `finalType`).
        case measured(provisional: PixelType)

        /// The type frames are first decoded into.
        var firstType: PixelType {
            switch self {
            case .fixed(let type), .measured(let type): type
            }
        }
    }

    static func plan(format: StoredPixelFormat, mappings: [ValueMapping], storedValues: Bool) -> Plan {
        if format.bitsAllocated == 1 { return .fixed(.uint8) }
        if format.producesColor { return .fixed(colorType(format)) }
        let stored = format.storedSampleType
        if storedValues || mappings.allSatisfy(\.isIdentity) { return .fixed(stored) }
        if !mappings.allSatisfy(\.isIntegral) { return .fixed(floatType(format)) }
        let possible = possibleRange(format: format, mappings: mappings)
        if stored.holds(possible) { return .fixed(stored) }
        let provisional = PixelType.integer(bytes: stored.byteSize, signed: possible.lowerBound < 0 || stored.isSigned)!
        return .measured(provisional: provisional)
    }

    /// Every value the mappings can produce from the values Bits Stored allows.
    static func possibleRange(format: StoredPixelFormat, mappings: [ValueMapping]) -> ClosedRange<Double> {
        let ranges = mappings.map { $0.mappedRange(of: format.storedValueRange) }
        return ranges.map(\.lowerBound).min()!...ranges.map(\.upperBound).max()!
    }

    /// The type for integer values spanning `range` that were stored as `stored`.
    static func finalType(stored: PixelType, range: ClosedRange<Double>) -> PixelType {
        if stored.holds(range) { return stored }
        return PixelType.integerPreference.first { $0.holds(range) } ?? .float64
    }

    /// The type for values found to span `range` (when they do not fit the planned type): `finalType`
    /// when every mapping gives integers, else the float type.
    static func typeHolding(_ range: ClosedRange<Double>, format: StoredPixelFormat, mappings: [ValueMapping]) -> PixelType {
        mappings.allSatisfy(\.isIntegral) ? finalType(stored: format.storedSampleType, range: range) : floatType(format)
    }

    /// float32, or float64 for 32-bit stored samples (which float32 cannot hold exactly).
    private static func floatType(_ format: StoredPixelFormat) -> PixelType {
        format.bitsAllocated == 32 ? .float64 : .float32
    }

    /// RGB of the palette's entry size, or of the stored sample size (8, 16 or 32 bits).
    static func colorType(_ format: StoredPixelFormat) -> PixelType {
        if format.isPalette { return paletteIs16Bit(format) ? .uint16 : .uint8 }
        switch format.bitsAllocated {
        case 32: return .uint32
        case 16: return .uint16
        default: return .uint8
        }
    }

    /// Palette entries of 16 bits give uint16 RGB (descriptor third value; set by the palette reader).
    private static func paletteIs16Bit(_ format: StoredPixelFormat) -> Bool {
        format.isPalette && format.paletteBits > 8
    }
}
