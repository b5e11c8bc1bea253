#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
        volume.withUnsafeBytes { source in
            result.withUnsafeMutableBytes { destination in
                let from = source.baseAddress!, to = destination.baseAddress!
                switch volume.pixelType {
                case .uint8: convert(from.assumingMemoryBound(to: UInt8.self), to, type, count)
                case .int8: convert(from.assumingMemoryBound(to: Int8.self), to, type, count)
                case .uint16: convert(from.assumingMemoryBound(to: UInt16.self), to, type, count)
                case .int16: convert(from.assumingMemoryBound(to: Int16.self), to, type, count)
                case .uint32: convert(from.assumingMemoryBound(to: UInt32.self), to, type, count)
                case .int32: convert(from.assumingMemoryBound(to: Int32.self), to, type, count)
                case .uint64: convert(from.assumingMemoryBound(to: UInt64.self), to, type, count)
                case .int64: convert(from.assumingMemoryBound(to: Int64.self), to, type, count)
                case .float32: convert(from.assumingMemoryBound(to: Float.self), to, type, count)
                case .float64: convert(from.assumingMemoryBound(to: Double.self), to, type, count)
                }
            }
        }
        return result
    }

    /// Converts `count` values to `type`, through their exact Double value (exactly representable, or
    /// rounded for floats), one loop per pair of types.
    private static func convert<Source: VoxelScalar>(_ source: UnsafePointer<Source>, _ destination: UnsafeMutableRawPointer,
                                                     _ type: PixelType, _ count: Int) {
        switch type {
        case .uint8: convert(source, destination, count) { UInt8($0.doubleValue) }
        case .int8: convert(source, destination, count) { Int8($0.doubleValue) }
        case .uint16: convert(source, destination, count) { UInt16($0.doubleValue) }
        case .int16: convert(source, destination, count) { Int16($0.doubleValue) }
        case .uint32: convert(source, destination, count) { UInt32($0.doubleValue) }
        case .int32: convert(source, destination, count) { Int32($0.doubleValue) }
        case .uint64: convert(source, destination, count) { UInt64($0.doubleValue) }
        case .int64: convert(source, destination, count) { Int64($0.doubleValue) }
        case .float32: convert(source, destination, count) { Float($0.doubleValue) }
        case .float64: convert(source, destination, count) { $0.doubleValue }
        }
    }

    @inline(__always)
    private static func convert<Source, Destination>(_ source: UnsafePointer<Source>, _ destination: UnsafeMutableRawPointer,
                                                     _ count: Int, _ value: (Source) -> Destination) {
        let target = destination.assumingMemoryBound(to: Destination.self)
        for index in 0..<count { target[index] = value(source[index]) }
    }
}

extension VoxelMath {
    /// `elementBytes` × every extent — the bytes of a voxel buffer — or nil when the product overflows
    /// `Int` (a damaged header can announce any size; check before allocating).
    static func checkedByteCount(elementBytes: Int, extents: [Int]) -> Int? {
        var bytes = elementBytes
        for extent in extents {
            let (product, overflow) = bytes.multipliedReportingOverflow(by: extent)
            guard !overflow else { return nil }
            bytes = product
        }
        return bytes
    }

    /// This machine's physical memory in bytes, or nil when the system does not say.
    static var physicalMemory: Int? {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), pageSize = sysconf(Int32(_SC_PAGESIZE))
        guard pages > 0, pageSize > 0 else { return nil }
        let (memory, overflow) = pages.multipliedReportingOverflow(by: pageSize)
        return overflow ? nil : memory
    }
}
