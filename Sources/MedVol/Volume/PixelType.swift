/// The scalar type of one voxel component, named as NumPy names it (`int16`, `float32`, …).
public enum PixelType: String, Sendable, CaseIterable, Codable {
    /// Unsigned 8-bit integer (NumPy `uint8`).
    case uint8
    /// Signed 8-bit integer (NumPy `int8`).
    case int8
    /// Unsigned 16-bit integer (NumPy `uint16`).
    case uint16
    /// Signed 16-bit integer (NumPy `int16`).
    case int16
    /// Unsigned 32-bit integer (NumPy `uint32`).
    case uint32
    /// Signed 32-bit integer (NumPy `int32`).
    case int32
    /// Unsigned 64-bit integer (NumPy `uint64`).
    case uint64
    /// Signed 64-bit integer (NumPy `int64`).
    case int64
    /// 32-bit IEEE 754 floating point (NumPy `float32`).
    case float32
    /// 64-bit IEEE 754 floating point (NumPy `float64`).
    case float64

    /// Bytes of one component.
    public var byteSize: Int {
        switch self {
        case .uint8, .int8: 1
        case .uint16, .int16: 2
        case .uint32, .int32, .float32: 4
        case .uint64, .int64, .float64: 8
        }
    }

    /// Whether the type is `float32` or `float64`.
    public var isFloatingPoint: Bool { self == .float32 || self == .float64 }
    /// Whether the type is one of the eight integer types.
    public var isInteger: Bool { !isFloatingPoint }
    /// Whether the type can hold negative values: the signed integers and both float types.
    public var isSigned: Bool {
        switch self {
        case .int8, .int16, .int32, .int64, .float32, .float64: true
        case .uint8, .uint16, .uint32, .uint64: false
        }
    }

    /// Smallest and largest value of an integer type (for float types: ±greatestFiniteMagnitude).
    public var range: ClosedRange<Double> {
        switch self {
        case .uint8: 0...Double(UInt8.max)
        case .int8: Double(Int8.min)...Double(Int8.max)
        case .uint16: 0...Double(UInt16.max)
        case .int16: Double(Int16.min)...Double(Int16.max)
        case .uint32: 0...Double(UInt32.max)
        case .int32: Double(Int32.min)...Double(Int32.max)
        case .uint64: 0...Double(UInt64.max)
        case .int64: Double(Int64.min)...Double(Int64.max)
        case .float32: -Double(Float.greatestFiniteMagnitude)...Double(Float.greatestFiniteMagnitude)
        case .float64: -Double.greatestFiniteMagnitude...Double.greatestFiniteMagnitude
        }
    }

    /// Whether every value in `values` is representable (for integer types: in range; the caller
    /// checks integrality).
    public func holds(_ values: ClosedRange<Double>) -> Bool {
        range.contains(values.lowerBound) && range.contains(values.upperBound)
    }

    /// NumPy's little-endian dtype string (`"<i2"`, `"|u1"`).
    public var numpyDescriptor: String {
        switch self {
        case .uint8: "|u1"
        case .int8: "|i1"
        case .uint16: "<u2"
        case .int16: "<i2"
        case .uint32: "<u4"
        case .int32: "<i4"
        case .uint64: "<u8"
        case .int64: "<i8"
        case .float32: "<f4"
        case .float64: "<f8"
        }
    }

    /// The integer type of `bytes` bytes and the given signedness, if there is one.
    public static func integer(bytes: Int, signed: Bool) -> PixelType? {
        switch (bytes, signed) {
        case (1, false): .uint8
        case (1, true): .int8
        case (2, false): .uint16
        case (2, true): .int16
        case (4, false): .uint32
        case (4, true): .int32
        case (8, false): .uint64
        case (8, true): .int64
        default: nil
        }
    }

    /// The integer types the voxel-type rule chooses among, smallest first (SPEC "Voxel values").
    public static let integerPreference: [PixelType] = [.uint8, .int8, .uint16, .int16, .uint32, .int32]
}

/// A Swift scalar type that can be a voxel component. Lets typed access check the volume's type.
public protocol VoxelScalar: Numeric, Comparable, Sendable {
    /// The ``PixelType`` that stores this Swift type.
    static var pixelType: PixelType { get }
    /// The value as a Double (exact for every integer type up to 32 bits and for both float types).
    var doubleValue: Double { get }
}

extension UInt8: VoxelScalar {
    public static var pixelType: PixelType { .uint8 }
    public var doubleValue: Double { Double(self) }
}
extension Int8: VoxelScalar {
    public static var pixelType: PixelType { .int8 }
    public var doubleValue: Double { Double(self) }
}
extension UInt16: VoxelScalar {
    public static var pixelType: PixelType { .uint16 }
    public var doubleValue: Double { Double(self) }
}
extension Int16: VoxelScalar {
    public static var pixelType: PixelType { .int16 }
    public var doubleValue: Double { Double(self) }
}
extension UInt32: VoxelScalar {
    public static var pixelType: PixelType { .uint32 }
    public var doubleValue: Double { Double(self) }
}
extension Int32: VoxelScalar {
    public static var pixelType: PixelType { .int32 }
    public var doubleValue: Double { Double(self) }
}
extension UInt64: VoxelScalar {
    public static var pixelType: PixelType { .uint64 }
    public var doubleValue: Double { Double(self) }
}
extension Int64: VoxelScalar {
    public static var pixelType: PixelType { .int64 }
    public var doubleValue: Double { Double(self) }
}
extension Float: VoxelScalar {
    public static var pixelType: PixelType { .float32 }
    public var doubleValue: Double { Double(self) }
}
extension Double: VoxelScalar {
    public static var pixelType: PixelType { .float64 }
    public var doubleValue: Double { self }
}
