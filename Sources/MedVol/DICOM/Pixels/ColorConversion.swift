/// Colour and bit-depth conversions that make every colour frame interleaved RGB and every 1-bit frame
/// one byte per pixel.
enum ColorConversion {
    /// Planar (RRR…GGG…BBB…) to interleaved (RGBRGB…), for samples of `bytesPerSample` bytes.
    static func interleave(_ planar: UnsafeRawBufferPointer, pixels: Int, bytesPerSample: Int,
                           into output: UnsafeMutableRawBufferPointer) {
        let source = planar.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let target = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
        for plane in 0..<3 {
            for pixel in 0..<pixels {
                for byte in 0..<bytesPerSample {
                    target[(pixel * 3 + plane) * bytesPerSample + byte] = source[(plane * pixels + pixel) * bytesPerSample + byte]
                }
            }
        }
    }

    /// YBR_FULL_422 as stored natively (Y1 Y2 Cb Cr for each pair of pixels) to full YBR (Y Cb Cr per pixel).
    static func upsample422(_ packed: UnsafeRawBufferPointer, rows: Int, columns: Int,
                            into output: UnsafeMutableRawBufferPointer) {
        let source = packed.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let target = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var from = 0
        for row in 0..<rows {
            var column = 0
            while column < columns {
                let y1 = source[from], y2 = source[from + 1], cb = source[from + 2], cr = source[from + 3]
                from += 4
                let first = (row * columns + column) * 3
                target[first] = y1; target[first + 1] = cb; target[first + 2] = cr
                if column + 1 < columns {
                    target[first + 3] = y2; target[first + 4] = cb; target[first + 5] = cr
                }
                column += 2
            }
        }
    }

    /// Full-range YCbCr (YBR_FULL, PS3.3 C.7.6.3.1.2) to RGB, 8-bit, in place. The arithmetic is
    /// pydicom's (`convert_color_space`): float coefficients, +0.5, floor, clamp to 0…255.
    static func ybrFullToRGB(_ pixels: UnsafeMutableRawBufferPointer) {
        let values = pixels.bindMemory(to: UInt8.self)
        var index = 0
        while index + 2 < values.count {
            let y = Float(values[index]), cb = Float(values[index + 1]) - 128, cr = Float(values[index + 2]) - 128
            let r = y + 1.402 * cr
            let g = y - (0.114 * 1.772 / 0.587) * cb - (0.299 * 1.402 / 0.587) * cr
            let b = y + 1.772 * cb
            values[index] = clampByte(r)
            values[index + 1] = clampByte(g)
            values[index + 2] = clampByte(b)
            index += 3
        }
    }

    /// Partial-range YCbCr (YBR_PARTIAL_422/420) to RGB, 8-bit, in place (ITU-R BT.601).
    static func ybrPartialToRGB(_ pixels: UnsafeMutableRawBufferPointer) {
        let values = pixels.bindMemory(to: UInt8.self)
        var index = 0
        while index + 2 < values.count {
            let y = (Float(values[index]) - 16) * (255.0 / 219.0)
            let cb = (Float(values[index + 1]) - 128) * (255.0 / 224.0)
            let cr = (Float(values[index + 2]) - 128) * (255.0 / 224.0)
            values[index] = clampByte(y + 1.402 * cr)
            values[index + 1] = clampByte(y - 0.344136 * cb - 0.714136 * cr)
            values[index + 2] = clampByte(y + 1.772 * cb)
            index += 3
        }
    }

    @inline(__always) private static func clampByte(_ value: Float) -> UInt8 {
        UInt8(Swift.max(0, Swift.min(255, (value + 0.5).rounded(.down))))
    }

    /// Unpacks `count` 1-bit samples starting at bit `firstBit` of `packed` (least significant bit first,
    /// PS3.5 §8.1.1) to one byte (0 or 1) each.
    static func unpackBits(_ packed: [UInt8], firstBit: Int, count: Int, into output: UnsafeMutableRawBufferPointer) {
        let target = output.bindMemory(to: UInt8.self)
        for index in 0..<count {
            let bit = firstBit + index
            target[index] = (packed[bit >> 3] >> UInt8(bit & 7)) & 1
        }
    }
}

/// The red, green and blue palette lookup tables of a PALETTE COLOR image (PS3.3 C.7.6.3.1.5–6),
/// including segmented palettes (C.7.9.2).
struct PaletteColorTables: Hashable, Sendable {
    var firstMapped: Int
    /// Entry values; 8-bit palettes hold 0…255, 16-bit ones 0…65535.
    var red: [UInt16]
    var green: [UInt16]
    var blue: [UInt16]
    var bits: Int

    /// Reads the palette of `dataSet`, whose entries have `bits` bits (``StoredPixelFormat/paletteBits``).
    init(_ dataSet: DICOMDataSet, bits: Int, path: String) throws {
        let descriptor = dataSet.doubles(.redPaletteColorLookupTableDescriptor)
        guard descriptor.count >= 3 else { throw MedVolError.corrupt(path, "PALETTE COLOR image without a palette descriptor") }
        guard var entries = FrameExtraction.wholeNumber(descriptor[0]), let firstMapped = FrameExtraction.wholeNumber(descriptor[1]),
              (0...65536).contains(entries), (-32768...65535).contains(firstMapped) else {
            throw MedVolError.corrupt(path, "impossible palette descriptor \(descriptor.prefix(3).map { formatNumber($0) }.joined(separator: "\\"))")
        }
        if entries == 0 { entries = 65536 }
        func table(_ data: DICOMTag, _ segmented: DICOMTag) throws -> [UInt16] {
            if let bytes = dataSet[data]?.rawBytes {
                if bits == 8 && bytes.count == entries { return bytes.map { UInt16($0) } }
                var words = dataSet.words(data)
                // 8-bit entries stored one per 16-bit word (old writers): in the low byte, or in the high
                // byte (then every non-zero word exceeds 255) — decided for the whole table.
                if bits == 8 && words.contains(where: { $0 > 255 }) { words = words.map { $0 >> 8 } }
                guard words.count >= entries else {
                    throw MedVolError.corrupt(path, "palette \(data) holds \(words.count) entries, its descriptor says \(entries)")
                }
                return Array(words.prefix(entries))
            }
            if dataSet[segmented] != nil {
                return try Self.expandSegmented(dataSet.words(segmented), entries: entries, path: path)
            }
            throw MedVolError.corrupt(path, "PALETTE COLOR image without palette data \(data)")
        }
        self.firstMapped = firstMapped
        self.bits = bits
        red = try table(.redPaletteColorLookupTableData, .segmentedRedPaletteColorLookupTableData)
        green = try table(.greenPaletteColorLookupTableData, .segmentedGreenPaletteColorLookupTableData)
        blue = try table(.bluePaletteColorLookupTableData, .segmentedBluePaletteColorLookupTableData)
    }

    /// Expands a segmented palette: discrete (0), linear (1) and indirect (2) segments.
    static func expandSegmented(_ words: [UInt16], entries: Int, path: String) throws -> [UInt16] {
        var output: [UInt16] = []
        var at = 0
        // Indirect segments can point at indirect segments, each repeating up to 65535 segments: count
        // the segments visited so that a damaged table cannot keep medvol busy for ever.
        var visits = 0
        let visitLimit = 4 * max(entries, words.count) + 16
        func expand(from start: Int, to end: Int, depth: Int) throws {
            guard depth < 4 else { throw MedVolError.corrupt(path, "segmented palette nests indirect segments too deeply") }
            var position = start
            while position + 1 < end && output.count < entries {
                visits += 1
                guard visits <= visitLimit else {
                    throw MedVolError.corrupt(path, "segmented palette: its segments do not expand to \(entries) entries")
                }
                let type = words[position], length = Int(words[position + 1])
                position += 2
                switch type {
                case 0:
                    guard position + length <= end else { throw MedVolError.corrupt(path, "segmented palette: discrete segment overruns") }
                    output += words[position..<position + length]
                    position += length
                case 1:
                    guard position < end, let previous = output.last else {
                        throw MedVolError.corrupt(path, "segmented palette: linear segment without a start value")
                    }
                    let target = words[position]
                    position += 1
                    output += linearSegment(from: previous, to: target, count: length)
                case 2:
                    guard position + 1 < end else { throw MedVolError.corrupt(path, "segmented palette: indirect segment overruns") }
                    let offset = Int(words[position]) | Int(words[position + 1]) << 16
                    position += 2
                    var copied = 0, from = offset
                    while copied < length && from + 1 < words.count && output.count < entries {
                        let segmentLength = Int(words[from + 1])
                        let size = words[from] == 0 ? 2 + segmentLength : words[from] == 1 ? 3 : 4
                        try expand(from: from, to: min(words.count, from + size), depth: depth + 1)
                        from += size
                        copied += 1
                    }
                default:
                    throw MedVolError.corrupt(path, "segmented palette: unknown segment type \(type)")
                }
            }
        }
        try expand(from: at, to: words.count, depth: 0)
        at = output.count
        guard at >= entries else { throw MedVolError.corrupt(path, "segmented palette expands to \(at) of \(entries) entries") }
        return Array(output.prefix(entries))
    }

    /// The entries of a linear segment after `start`, ending at `end`: numpy's
    /// `around(linspace(start + step, end, count))`, which pydicom uses — the same floating-point steps,
    /// and halves rounded to even.
    static func linearSegment(from start: UInt16, to end: UInt16, count: Int) -> [UInt16] {
        guard count > 0 else { return [] }
        if start == end { return Array(repeating: end, count: count) }
        let first = Double(start) + (Double(end) - Double(start)) / Double(count)
        guard count > 1 else { return [UInt16(first.rounded(.toNearestOrEven))] }
        let step = (Double(end) - first) / Double(count - 1)
        var values = (0..<count - 1).map { UInt16((Double($0) * step + first).rounded(.toNearestOrEven)) }
        values.append(end)
        return values
    }

    /// Maps palette indices (unsigned 8- or 16-bit samples) to interleaved RGB of 8 or 16 bits.
    func apply(indices: UnsafeRawBufferPointer, indexBytes: Int, pixels: Int, into output: UnsafeMutableRawBufferPointer) {
        let last = red.count - 1
        func entry(_ pixel: Int) -> Int {
            let index = indexBytes == 1 ? Int(indices.load(fromByteOffset: pixel, as: UInt8.self))
                : Int(indices.loadUnaligned(fromByteOffset: pixel * 2, as: UInt16.self))
            return Swift.max(0, Swift.min(last, index - firstMapped))
        }
        if bits == 8 {
            let target = output.bindMemory(to: UInt8.self)
            for pixel in 0..<pixels {
                let e = entry(pixel)
                target[pixel * 3] = UInt8(truncatingIfNeeded: red[e])
                target[pixel * 3 + 1] = UInt8(truncatingIfNeeded: green[e])
                target[pixel * 3 + 2] = UInt8(truncatingIfNeeded: blue[e])
            }
        } else {
            let target = output.bindMemory(to: UInt16.self)
            for pixel in 0..<pixels {
                let e = entry(pixel)
                target[pixel * 3] = red[e]
                target[pixel * 3 + 1] = green[e]
                target[pixel * 3 + 2] = blue[e]
            }
        }
    }
}
