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
        /// False when a mapped value does not fit the output type. The destination then holds truncated
        /// values, and the caller decodes the frame again into a wider type.
        var fits: Bool
    }

    /// Converts `count` unpacked stored samples (type `format.storedSampleType`, native byte order) at
    /// `source` into `destination`, in one pass: keep the stored bits, measure, map, write.
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

    /// Chooses how stored bits are kept once per frame, so that each loop below is specialised for it
    /// (no per-sample branch, and the compiler can vectorise it).
    private func convert<In: FixedWidthInteger>(_ source: UnsafeMutablePointer<In>, _ destination: UnsafeMutableRawPointer,
                                                 _ count: Int) -> Outcome {
        let bitsStored = format.bitsStored
        if bitsStored >= In.bitWidth { return convert(source, destination, count, AllBits<In>()) }
        let shift = In(truncatingIfNeeded: In.bitWidth - bitsStored)
        if format.isSigned { return convert(source, destination, count, SignExtendedBits(shift: shift)) }
        return convert(source, destination, count, MaskedBits(mask: In.max >> shift))
    }

    private func convert<Bits: StoredBits>(_ source: UnsafeMutablePointer<Bits.Sample>, _ destination: UnsafeMutableRawPointer,
                                           _ count: Int, _ bits: Bits) -> Outcome {
        typealias In = Bits.Sample
        guard count > 0 else { return Outcome(range: nil, fits: true) }
        let stored: (low: In, high: In)
        switch output {
        case .uint8: stored = write(source, destination.assumingMemoryBound(to: UInt8.self), count, bits)
        case .int8: stored = write(source, destination.assumingMemoryBound(to: Int8.self), count, bits)
        case .uint16: stored = write(source, destination.assumingMemoryBound(to: UInt16.self), count, bits)
        case .int16: stored = write(source, destination.assumingMemoryBound(to: Int16.self), count, bits)
        case .uint32: stored = write(source, destination.assumingMemoryBound(to: UInt32.self), count, bits)
        case .int32: stored = write(source, destination.assumingMemoryBound(to: Int32.self), count, bits)
        case .uint64: stored = write(source, destination.assumingMemoryBound(to: UInt64.self), count, bits)
        case .int64: stored = write(source, destination.assumingMemoryBound(to: Int64.self), count, bits)
        case .float32: stored = writeFloat(source, destination.assumingMemoryBound(to: Float.self), count, bits)
        case .float64: stored = writeFloat(source, destination.assumingMemoryBound(to: Double.self), count, bits)
        }
        let range: ClosedRange<Double>
        switch mapping {
        case .linear:
            range = mapping.mappedRange(of: Double(stored.low)...Double(stored.high))
        case .lookupTable(let table):
            range = lookupRange(table, Int(stored.low), Int(stored.high))
        }
        return Outcome(range: range, fits: !output.isInteger || output.holds(range))
    }

    /// Maps every sample into `destination`; returns the range of the stored values.
    private func write<Bits: StoredBits, Out: FixedWidthInteger>(_ source: UnsafeMutablePointer<Bits.Sample>,
                                                                  _ destination: UnsafeMutablePointer<Out>,
                                                                  _ count: Int, _ bits: Bits) -> (low: Bits.Sample, high: Bits.Sample) {
        typealias In = Bits.Sample
        var low = In.max, high = In.min
        switch mapping {
        case .linear(let slopeValue, let interceptValue):
            let slope = Int64(slopeValue), intercept = Int64(interceptValue)
            if slope == 1 && intercept == 0 && In.self == Out.self && UnsafeRawPointer(source) == UnsafeRawPointer(destination) {
                for index in 0..<count {
                    let value = bits.apply(source[index])
                    low = Swift.min(low, value)
                    high = Swift.max(high, value)
                    source[index] = value
                }
            } else if In.bitWidth <= 16 && Swift.abs(slope) <= 32767 && Swift.abs(intercept) <= 1 << 30 {
                // 16-bit samples: 32-bit arithmetic cannot overflow and vectorises twice as wide.
                let slope32 = Int32(slope), intercept32 = Int32(intercept)
                for index in 0..<count {
                    let value = bits.apply(source[index])
                    low = Swift.min(low, value)
                    high = Swift.max(high, value)
                    destination[index] = Out(truncatingIfNeeded: Int32(truncatingIfNeeded: value) &* slope32 &+ intercept32)
                }
            } else {
                for index in 0..<count {
                    let value = bits.apply(source[index])
                    low = Swift.min(low, value)
                    high = Swift.max(high, value)
                    destination[index] = Out(truncatingIfNeeded: Int64(value) &* slope &+ intercept)
                }
            }
        case .lookupTable(let table):
            let last = table.values.count - 1
            table.values.withUnsafeBufferPointer { values in
                for index in 0..<count {
                    let value = bits.apply(source[index])
                    low = Swift.min(low, value)
                    high = Swift.max(high, value)
                    destination[index] = Out(truncatingIfNeeded: values[Swift.max(0, Swift.min(last, Int(value) - table.firstMapped))])
                }
            }
        }
        return (low, high)
    }

    /// Maps every sample to a float, computed in double precision and rounded once; returns the range of
    /// the stored values.
    private func writeFloat<Bits: StoredBits, Out: BinaryFloatingPoint>(_ source: UnsafeMutablePointer<Bits.Sample>,
                                                                         _ destination: UnsafeMutablePointer<Out>,
                                                                         _ count: Int, _ bits: Bits) -> (low: Bits.Sample, high: Bits.Sample) {
        typealias In = Bits.Sample
        var low = In.max, high = In.min
        switch mapping {
        case .linear(let slope, let intercept):
            for index in 0..<count {
                let value = bits.apply(source[index])
                low = Swift.min(low, value)
                high = Swift.max(high, value)
                destination[index] = Out(Double(value) * slope + intercept)
            }
        case .lookupTable(let table):
            let last = table.values.count - 1
            for index in 0..<count {
                let value = bits.apply(source[index])
                low = Swift.min(low, value)
                high = Swift.max(high, value)
                destination[index] = Out(Double(table.values[Swift.max(0, Swift.min(last, Int(value) - table.firstMapped))]))
            }
        }
        return (low, high)
    }

    private func lookupRange(_ table: ModalityLookupTable, _ low: Int, _ high: Int) -> ClosedRange<Double> {
        let first = Swift.max(0, Swift.min(table.values.count - 1, low - table.firstMapped))
        let last = Swift.max(0, Swift.min(table.values.count - 1, high - table.firstMapped))
        let used = table.values[first...last]
        return Double(used.min()!)...Double(used.max()!)
    }
}

/// How a stored sample keeps only its Bits Stored (PS3.5 §8.1.1): as is, with the bits above cleared,
/// or sign-extended from the highest stored bit. One type per case, so loops are specialised for it.
protocol StoredBits {
    associatedtype Sample: FixedWidthInteger
    func apply(_ value: Sample) -> Sample
}

/// Bits Stored = Bits Allocated: nothing to do.
struct AllBits<Sample: FixedWidthInteger>: StoredBits {
    @inline(__always) func apply(_ value: Sample) -> Sample { value }
}

/// Unsigned samples: clear the bits above Bits Stored.
struct MaskedBits<Sample: FixedWidthInteger>: StoredBits {
    let mask: Sample
    @inline(__always) func apply(_ value: Sample) -> Sample { value & mask }
}

/// Signed samples: sign-extend from the highest stored bit (an arithmetic shift right).
struct SignExtendedBits<Sample: FixedWidthInteger>: StoredBits {
    let shift: Sample
    @inline(__always) func apply(_ value: Sample) -> Sample { (value << shift) >> shift }
}
