/// How a volume's voxel values become stored DICOM pixels: the stored integer type, and per image the
/// rescale slope and intercept (as written, so `stored × slope + intercept` uses exactly what a reader
/// reads).
///
/// - Integer volumes (and float volumes whose values are all integers): slope 1, the optional
///   intercept; stored in the volume's own width and signedness when the values fit, else the next
///   that holds them (never narrower, so the type survives a round trip). Exact.
/// - Other float volumes: per image, slope 2⁻ᵉ with the smallest e that makes every value of the image
///   an integer, stored as int16 when every image fits, else int32. Exact.
/// - Otherwise: per image, the range of values mapped onto the stored signed integers (16 bits unless
///   32 are asked for); the largest absolute error is measured and reported.
struct PixelStoragePlan: Sendable {
    /// The rescale of one image, both numbers exactly as their decimal strings read back.
    struct Rescale: Sendable, Hashable {
        var slope: Double
        var intercept: Double
        var isIdentity: Bool { slope == 1 && intercept == 0 }
    }

    enum Method: Sendable, Hashable { case integer, powerOfTwo, lossy, rgb }

    var bitsAllocated: Int
    var bitsStored: Int
    var isSigned: Bool
    var samplesPerPixel: Int
    var method: Method
    /// One per image, in image order (k fastest, then t).
    var rescales: [Rescale]

    var storedType: PixelType { PixelType.integer(bytes: bitsAllocated / 8, signed: isSigned)! }

    /// Whether the stored bytes of every image are the volume's own bytes (no conversion).
    func isDirectCopy(of volume: Volume) -> Bool {
        storedType == volume.pixelType && rescales.allSatisfy { $0.slope == 1 && $0.intercept == 0 }
    }

    // MARK: Choosing

    /// The plan for `volume`. `minimumBits` is 16 for CT and MR (their IODs allow nothing smaller).
    static func make(for volume: Volume, intercept requestedIntercept: Double?, bitsStored requestedBitsStored: Int?,
                     lossyBits: Int, minimumBits: Int) throws -> PixelStoragePlan {
        let images = volume.size[2] * volume.geometry.timePoints
        if let bits = requestedBitsStored, !(1...32).contains(bits) {
            throw MedVolError(.invalidArgument, reason: "bits stored must be between 1 and 32, not \(bits)")
        }
        if volume.components == 3 {
            guard volume.pixelType == .uint8 else {
                throw MedVolError.unsupported(nil, "RGB volumes are written as 8-bit RGB; this one holds \(volume.pixelType) components")
            }
            return PixelStoragePlan(bitsAllocated: 8, bitsStored: 8, isSigned: false, samplesPerPixel: 3,
                                    method: .rgb, rescales: Array(repeating: Rescale(slope: 1, intercept: 0), count: images))
        }
        guard volume.components == 1 else {
            throw MedVolError.unsupported(nil, "volumes of \(volume.components) components per voxel cannot be written as DICOM images (1 or 3 can)")
        }
        if volume.pixelType.isInteger {
            // The volume's own type holds its values as they are: no need to look at them.
            let type = volume.pixelType
            if (requestedIntercept ?? 0) == 0, requestedBitsStored == nil, type.byteSize <= 4, type.byteSize * 8 >= minimumBits {
                return PixelStoragePlan(bitsAllocated: type.byteSize * 8, bitsStored: type.byteSize * 8, isSigned: type.isSigned,
                                        samplesPerPixel: 1, method: .integer,
                                        rescales: Array(repeating: Rescale(slope: 1, intercept: 0), count: images))
            }
            guard let range = volume.valueRange() else {
                throw MedVolError(.invalidArgument, reason: "the volume holds no voxels")
            }
            if let plan = try integerPlan(range: range, volumeType: volume.pixelType, images: images,
                                          intercept: requestedIntercept, bitsStored: requestedBitsStored,
                                          minimumBits: minimumBits) {
                return plan
            }
            let shifted = "\(format(range.lowerBound - (requestedIntercept ?? 0)))…\(format(range.upperBound - (requestedIntercept ?? 0)))"
            throw MedVolError(.invalidArgument, reason: "stored values \(shifted) do not fit \(requestedBitsStored.map { "\($0) bits" } ?? "32-bit integers")")
        }

        let statistics = imageStatistics(of: volume)
        if statistics.contains(where: { $0.hasNonFinite }) {
            throw MedVolError(.invalidArgument, reason: "the volume holds NaN or infinite values, which DICOM pixels cannot hold")
        }
        let low = statistics.map(\.low).min()!, high = statistics.map(\.high).max()!
        if statistics.allSatisfy({ $0.fractionBits == 0 }),
           let plan = try integerPlan(range: low...high, volumeType: nil, images: images, intercept: requestedIntercept,
                                      bitsStored: requestedBitsStored, minimumBits: minimumBits) {
            return plan
        }
        if let plan = powerOfTwoPlan(statistics, bitsStored: requestedBitsStored, minimumBits: minimumBits) {
            return plan
        }
        return lossyPlan(statistics, bits: lossyBits, bitsStored: requestedBitsStored)
    }

    /// Slope 1 and the intercept; the first stored type that holds `range − intercept`.
    private static func integerPlan(range: ClosedRange<Double>, volumeType: PixelType?, images: Int,
                                    intercept: Double?, bitsStored: Int?, minimumBits: Int) throws -> PixelStoragePlan? {
        let intercept = intercept ?? 0
        guard intercept.rounded() == intercept, intercept.isFinite else {
            throw MedVolError(.invalidArgument, reason: "the rescale intercept of integer values must be a whole number, not \(intercept)")
        }
        let storedLow = range.lowerBound - intercept, storedHigh = range.upperBound - intercept
        var candidates: [PixelType]
        if let volumeType {
            // The volume's own width first (its signedness first), then wider ones.
            let width = min(volumeType.byteSize, 4)
            candidates = [1, 2, 4].filter { $0 >= width }.flatMap { bytes in
                [PixelType.integer(bytes: bytes, signed: volumeType.isSigned)!,
                 PixelType.integer(bytes: bytes, signed: !volumeType.isSigned)!]
            }
        } else {
            candidates = PixelType.integerPreference
        }
        candidates = candidates.filter { $0.byteSize * 8 >= max(minimumBits, bitsStored ?? 0) }
        for type in candidates {
            let stored = bitsStored ?? type.byteSize * 8
            let limits = type.isSigned
                ? -pow2(stored - 1)...(pow2(stored - 1) - 1)
                : 0...(pow2(stored) - 1)
            if limits.contains(storedLow) && limits.contains(storedHigh) {
                return PixelStoragePlan(bitsAllocated: type.byteSize * 8, bitsStored: stored, isSigned: type.isSigned,
                                        samplesPerPixel: 1, method: .integer,
                                        rescales: Array(repeating: Rescale(slope: 1, intercept: intercept), count: images))
            }
        }
        return nil
    }

    /// Per image slope 2⁻ᵉ (e ≥ 1, so that every image has a fractional slope and readers that take the
    /// pixel type from the first file choose a floating-point type), stored as int16 or int32.
    private static func powerOfTwoPlan(_ statistics: [ImageStatistics], bitsStored: Int?, minimumBits: Int) -> PixelStoragePlan? {
        guard statistics.allSatisfy({ $0.fractionBits <= 20 }) else { return nil }
        let rescales = statistics.map { Rescale(slope: 1 / pow2(max(1, $0.fractionBits)), intercept: 0) }
        // The slope must read back exactly from its decimal string.
        guard rescales.allSatisfy({ exactDecimal($0.slope) }) else { return nil }
        for bits in [16, 32] where bits >= minimumBits && bits >= (bitsStored ?? 0) {
            let stored = bitsStored ?? bits
            let limit = pow2(stored - 1)
            let fits = zip(statistics, rescales).allSatisfy { image, rescale in
                image.low / rescale.slope >= -limit && image.high / rescale.slope <= limit - 1
            }
            if fits {
                return PixelStoragePlan(bitsAllocated: bits, bitsStored: stored, isSigned: true, samplesPerPixel: 1,
                                        method: .powerOfTwo, rescales: rescales)
            }
        }
        return nil
    }

    /// Per image, [low, high] mapped onto the signed `bits`-bit integers.
    private static func lossyPlan(_ statistics: [ImageStatistics], bits: Int, bitsStored: Int?) -> PixelStoragePlan {
        let stored = min(bitsStored ?? bits, bits)
        let levels = pow2(stored) - 1
        let half = pow2(stored - 1)
        let rescales = statistics.map { image -> Rescale in
            let span = image.high - image.low
            // A constant image: stored 0, any fractional slope.
            guard span > 0 else { return Rescale(slope: 0.5, intercept: decimalValue(image.low)) }
            var slope = decimalValue(span / levels * (1 + 1e-12))
            var widen = 1.0
            while slope.rounded() == slope {
                widen += 1e-6
                slope = decimalValue(span / levels * widen)
            }
            return Rescale(slope: slope, intercept: decimalValue(image.low + half * slope))
        }
        return PixelStoragePlan(bitsAllocated: bits, bitsStored: stored, isSigned: true, samplesPerPixel: 1,
                                method: .lossy, rescales: rescales)
    }

    // MARK: Scanning float images

    struct ImageStatistics: Sendable {
        var low = Double.infinity
        var high = -Double.infinity
        /// Binary digits after the point that the image's values need (0 when all are integers).
        var fractionBits = 0
        var hasNonFinite = false
    }

    /// Range and needed fraction bits of every image of a float volume, in parallel.
    static func imageStatistics(of volume: Volume) -> [ImageStatistics] {
        let perImage = volume.size[0] * volume.size[1]
        let images = volume.size[2] * volume.geometry.timePoints
        return volume.withUnsafeBytes { raw in
            let base = SendableRawPointer(UnsafeMutableRawPointer(mutating: raw.baseAddress!))
            let type = volume.pixelType
            // The body does not throw.
            return try! Parallel.map(images) { image -> ImageStatistics in
                switch type {
                case .float32:
                    let values = UnsafeBufferPointer(start: base.base.assumingMemoryBound(to: Float.self) + image * perImage, count: perImage)
                    return statistics(values)
                default:
                    let values = UnsafeBufferPointer(start: base.base.assumingMemoryBound(to: Double.self) + image * perImage, count: perImage)
                    return statistics(values)
                }
            }
        }
    }

    private static func statistics<T: BinaryFloatingPoint & VoxelScalar>(_ values: UnsafeBufferPointer<T>) -> ImageStatistics {
        var result = ImageStatistics()
        var low = T.infinity, high = -T.infinity
        var fractionBits = 0
        for value in values {
            guard value.isFinite else { result.hasNonFinite = true; continue }
            if value < low { low = value }
            if value > high { high = value }
            if value != 0 {
                let needed = Int(value.significandWidth) - Int(value.exponent)
                if needed > fractionBits { fractionBits = needed }
            }
        }
        result.low = Double(low)
        result.high = Double(high)
        result.fractionBits = fractionBits
        return result
    }

    // MARK: Converting

    /// Writes the stored integers of one image into `destination` and returns the largest absolute
    /// difference between `stored × slope + intercept` and the voxel value.
    static func store(image: Int, of volume: Volume, plan: PixelStoragePlan, into destination: UnsafeMutableRawPointer) -> Double {
        let count = volume.size[0] * volume.size[1] * volume.components
        let rescale = plan.rescales[image]
        return volume.withUnsafeBytes { raw in
            let offset = image * count * volume.pixelType.byteSize
            let source = raw.baseAddress! + offset
            switch volume.pixelType {
            case .uint8: return store(source, UInt8.self, count, plan.storedType, rescale, destination)
            case .int8: return store(source, Int8.self, count, plan.storedType, rescale, destination)
            case .uint16: return store(source, UInt16.self, count, plan.storedType, rescale, destination)
            case .int16: return store(source, Int16.self, count, plan.storedType, rescale, destination)
            case .uint32: return store(source, UInt32.self, count, plan.storedType, rescale, destination)
            case .int32: return store(source, Int32.self, count, plan.storedType, rescale, destination)
            case .uint64: return store(source, UInt64.self, count, plan.storedType, rescale, destination)
            case .int64: return store(source, Int64.self, count, plan.storedType, rescale, destination)
            case .float32: return store(source, Float.self, count, plan.storedType, rescale, destination)
            case .float64: return store(source, Double.self, count, plan.storedType, rescale, destination)
            }
        }
    }

    private static func store<S: VoxelScalar>(_ source: UnsafeRawPointer, _: S.Type, _ count: Int, _ stored: PixelType,
                                              _ rescale: Rescale, _ destination: UnsafeMutableRawPointer) -> Double {
        let values = UnsafeBufferPointer(start: source.assumingMemoryBound(to: S.self), count: count)
        switch stored {
        case .uint8: return quantize(values, into: destination.assumingMemoryBound(to: UInt8.self), rescale)
        case .int8: return quantize(values, into: destination.assumingMemoryBound(to: Int8.self), rescale)
        case .uint16: return quantize(values, into: destination.assumingMemoryBound(to: UInt16.self), rescale)
        case .int16: return quantize(values, into: destination.assumingMemoryBound(to: Int16.self), rescale)
        case .uint32: return quantize(values, into: destination.assumingMemoryBound(to: UInt32.self), rescale)
        default: return quantize(values, into: destination.assumingMemoryBound(to: Int32.self), rescale)
        }
    }

    private static func quantize<S: VoxelScalar, D: FixedWidthInteger>(_ values: UnsafeBufferPointer<S>, into output: UnsafeMutablePointer<D>,
                                                                       _ rescale: Rescale) -> Double {
        let slope = rescale.slope, intercept = rescale.intercept
        let low = Double(D.min), high = Double(D.max)
        var worst = 0.0
        for index in values.indices {
            let value = values[index].doubleValue
            let stored = min(max(((value - intercept) / slope).rounded(), low), high)
            let integer = D(stored)
            output[index] = integer.littleEndian
            let error = abs(stored * slope + intercept - value)
            if error > worst { worst = error }
        }
        return worst
    }

    // MARK: Numbers

    /// 2^n as a Double.
    static func pow2(_ n: Int) -> Double { Double(sign: .plus, exponent: n, significand: 1) }

    /// The number a decimal string of `value` reads back as.
    static func decimalValue(_ value: Double) -> Double {
        DICOMElement.decimalString(value).flatMap(Double.init) ?? value
    }

    static func exactDecimal(_ value: Double) -> Bool { decimalValue(value) == value }

    private static func format(_ value: Double) -> String { DICOMElement.decimalString(value) ?? "\(value)" }
}
