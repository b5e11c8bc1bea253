/// Turns one frame's stored samples into voxel values: keeps only the Bits Stored (sign-extending signed
/// data), applies the value mapping, measures the range and writes the output type — in place when the
/// output is no wider than the stored sample.
struct SampleConverter {
    let format: StoredPixelFormat
    let mapping: ValueMapping
    let output: PixelType

    /// What converting a frame found.
    struct Outcome {
        /// Range of the mapped values (nil for an empty frame).
        var range: ClosedRange<Double>?
        /// False when a mapped value does not fit the output type (nothing was written then).
        var fits: Bool
    }

    /// Converts `count` unpacked stored samples (type `format.storedSampleType`, native byte order) at
    /// `source` into `destination`. `source` is modified (masked) when Bits Stored < Bits Allocated.
    /// `source` and `destination` may be the same memory only when the output is not wider than the input.
    func convert(source: UnsafeMutableRawPointer, destination: UnsafeMutableRawPointer, count: Int) -> Outcome {
        switch format.storedSampleType {
        case .uint8: return convert(source.assumingMemoryBound(to: UInt8.self), destination, count)
        case .int8: return convert(source.assumingMemoryBound(to: Int8.self), destination, count)
        case .uint16: return convert(source.assumingMemoryBound(to: UInt16.self), destination, count)
        case .int16: return convert(source.assumingMemoryBound(to: Int16.self), destination, count)
        case .uint32: return convert(source.assumingMemoryBound(to: UInt32.self), destination, count)
        case .int32: return convert(source.assumingMemoryBound(to: Int32.self), destination, count)
        default: preconditionFailure("stored samples are 8, 16 or 32-bit integers")
        }
    }

    private func convert<In: FixedWidthInteger>(_ source: UnsafeMutablePointer<In>, _ destination: UnsafeMutableRawPointer,
                                                 _ count: Int) -> Outcome {
        guard count > 0 else { return Outcome(range: nil, fits: true) }
        normalizeStoredBits(source, count)
        // Range of the stored values, then of the mapped values.
        var low = source[0], high = source[0]
        for index in 0..<count {
            let value = source[index]
            low = Swift.min(low, value)
            high = Swift.max(high, value)
        }
        let storedRange = Double(low)...Double(high)
        let range: ClosedRange<Double>
        switch mapping {
        case .linear:
            range = mapping.mappedRange(of: storedRange)
        case .lookupTable(let table):
            range = lookupRange(table, Int(low), Int(high))
        }
        if output.isInteger && !output.holds(range) { return Outcome(range: range, fits: false) }

        switch output {
        case .uint8: write(source, destination.assumingMemoryBound(to: UInt8.self), count)
        case .int8: write(source, destination.assumingMemoryBound(to: Int8.self), count)
        case .uint16: write(source, destination.assumingMemoryBound(to: UInt16.self), count)
        case .int16: write(source, destination.assumingMemoryBound(to: Int16.self), count)
        case .uint32: write(source, destination.assumingMemoryBound(to: UInt32.self), count)
        case .int32: write(source, destination.assumingMemoryBound(to: Int32.self), count)
        case .uint64: write(source, destination.assumingMemoryBound(to: UInt64.self), count)
        case .int64: write(source, destination.assumingMemoryBound(to: Int64.self), count)
        case .float32: writeFloat(source, destination.assumingMemoryBound(to: Float.self), count)
        case .float64: writeFloat(source, destination.assumingMemoryBound(to: Double.self), count)
        }
        return Outcome(range: range, fits: true)
    }

    /// Clears the bits above Bits Stored and sign-extends signed values (PS3.5 §8.1.1).
    private func normalizeStoredBits<In: FixedWidthInteger>(_ source: UnsafeMutablePointer<In>, _ count: Int) {
        let bitsStored = format.bitsStored
        guard bitsStored < In.bitWidth else { return }
        // Stored bits are the low `bitsStored` bits when High Bit = Bits Stored − 1 (always, in practice).
        let shift = In.bitWidth - bitsStored
        if format.isSigned {
            for index in 0..<count { source[index] = (source[index] << shift) >> shift }  // arithmetic shift
        } else {
            let mask = In.max >> shift
            for index in 0..<count { source[index] &= mask }
        }
    }

    private func lookupRange(_ table: ModalityLookupTable, _ low: Int, _ high: Int) -> ClosedRange<Double> {
        let first = Swift.max(0, Swift.min(table.values.count - 1, low - table.firstMapped))
        let last = Swift.max(0, Swift.min(table.values.count - 1, high - table.firstMapped))
        let used = table.values[first...last]
        return Double(used.min()!)...Double(used.max()!)
    }

    private func write<In: FixedWidthInteger, Out: FixedWidthInteger>(_ source: UnsafeMutablePointer<In>,
                                                                       _ destination: UnsafeMutablePointer<Out>, _ count: Int) {
        switch mapping {
        case .linear(let slopeValue, let interceptValue):
            let slope = Int64(slopeValue), intercept = Int64(interceptValue)
            if slope == 1 && intercept == 0 {
                if In.self == Out.self && UnsafeRawPointer(source) == UnsafeRawPointer(destination) { return }
                for index in 0..<count { destination[index] = Out(truncatingIfNeeded: source[index]) }
            } else if slope == 1 {
                for index in 0..<count { destination[index] = Out(truncatingIfNeeded: Int64(source[index]) &+ intercept) }
            } else {
                for index in 0..<count {
                    destination[index] = Out(truncatingIfNeeded: Int64(source[index]) &* slope &+ intercept)
                }
            }
        case .lookupTable(let table):
            let last = table.values.count - 1
            table.values.withUnsafeBufferPointer { values in
                for index in 0..<count {
                    let entry = Swift.max(0, Swift.min(last, Int(source[index]) - table.firstMapped))
                    destination[index] = Out(truncatingIfNeeded: values[entry])
                }
            }
        }
    }

    private func writeFloat<In: FixedWidthInteger, Out: BinaryFloatingPoint>(_ source: UnsafeMutablePointer<In>,
                                                                             _ destination: UnsafeMutablePointer<Out>, _ count: Int) {
        switch mapping {
        case .linear(let slope, let intercept):
            // Computed in double precision, then rounded once to the output type.
            for index in 0..<count { destination[index] = Out(Double(source[index]) * slope + intercept) }
        case .lookupTable(let table):
            let last = table.values.count - 1
            for index in 0..<count {
                destination[index] = Out(Double(table.values[Swift.max(0, Swift.min(last, Int(source[index]) - table.firstMapped))]))
            }
        }
    }
}
