/// Loops over raw voxel memory by pixel type, written once so that readers and writers share them.
enum VoxelMath {
    /// Smallest and largest value (NaN ignored); nil when empty or all NaN.
    static func range(of raw: UnsafeRawBufferPointer, type: PixelType) -> ClosedRange<Double>? {
        switch type {
        case .uint8: typedRange(raw, UInt8.self)
        case .int8: typedRange(raw, Int8.self)
        case .uint16: typedRange(raw, UInt16.self)
        case .int16: typedRange(raw, Int16.self)
        case .uint32: typedRange(raw, UInt32.self)
        case .int32: typedRange(raw, Int32.self)
        case .uint64: typedRange(raw, UInt64.self)
        case .int64: typedRange(raw, Int64.self)
        case .float32: floatRange(raw, Float.self)
        case .float64: floatRange(raw, Double.self)
        }
    }

    private static func typedRange<T: FixedWidthInteger & VoxelScalar>(_ raw: UnsafeRawBufferPointer, _: T.Type) -> ClosedRange<Double>? {
        let values = raw.bindMemory(to: T.self)
        guard var low = values.first else { return nil }
        var high = low
        for value in values {
            low = min(low, value)
            high = max(high, value)
        }
        return low.doubleValue...high.doubleValue
    }

    private static func floatRange<T: BinaryFloatingPoint & VoxelScalar>(_ raw: UnsafeRawBufferPointer, _: T.Type) -> ClosedRange<Double>? {
        let values = raw.bindMemory(to: T.self)
        var low = T.infinity, high = -T.infinity
        for value in values where !value.isNaN {
            low = min(low, value)
            high = max(high, value)
        }
        return low <= high ? low.doubleValue...high.doubleValue : nil
    }

    /// Reverses the byte order of every `width`-byte value in place.
    static func swapBytes(_ raw: UnsafeMutableRawBufferPointer, width: Int) {
        switch width {
        case 2:
            let values = raw.bindMemory(to: UInt16.self)
            for index in values.indices { values[index] = values[index].byteSwapped }
        case 4:
            let values = raw.bindMemory(to: UInt32.self)
            for index in values.indices { values[index] = values[index].byteSwapped }
        case 8:
            let values = raw.bindMemory(to: UInt64.self)
            for index in values.indices { values[index] = values[index].byteSwapped }
        default:
            break
        }
    }
}
