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

extension VoxelMath {
    /// A copy of `volume` with every value converted to `type` (values must fit; used to narrow a
    /// provisional type once the range of the values is known).
    static func converted(_ volume: Volume, to type: PixelType) -> Volume {
        var result = Volume(pixelType: type, components: volume.components, geometry: volume.geometry, metadata: volume.metadata)
        let count = volume.geometry.voxelCount * volume.components
        let sourceType = volume.pixelType
        volume.withUnsafeBytes { source in
            result.withUnsafeMutableBytes { destination in
                for index in 0..<count {
                    store(Volume.readValue(source.baseAddress!, index: index, type: sourceType), at: index, in: destination.baseAddress!, type: type)
                }
            }
        }
        return result
    }

    /// Writes `value` (exactly representable, or rounded for floats) as `type` at element `index`.
    static func store(_ value: Double, at index: Int, in base: UnsafeMutableRawPointer, type: PixelType) {
        switch type {
        case .uint8: base.storeBytes(of: UInt8(value), toByteOffset: index, as: UInt8.self)
        case .int8: base.storeBytes(of: Int8(value), toByteOffset: index, as: Int8.self)
        case .uint16: base.storeBytes(of: UInt16(value), toByteOffset: index * 2, as: UInt16.self)
        case .int16: base.storeBytes(of: Int16(value), toByteOffset: index * 2, as: Int16.self)
        case .uint32: base.storeBytes(of: UInt32(value), toByteOffset: index * 4, as: UInt32.self)
        case .int32: base.storeBytes(of: Int32(value), toByteOffset: index * 4, as: Int32.self)
        case .uint64: base.storeBytes(of: UInt64(value), toByteOffset: index * 8, as: UInt64.self)
        case .int64: base.storeBytes(of: Int64(value), toByteOffset: index * 8, as: Int64.self)
        case .float32: base.storeBytes(of: Float(value), toByteOffset: index * 4, as: Float.self)
        case .float64: base.storeBytes(of: value, toByteOffset: index * 8, as: Double.self)
        }
    }
}
