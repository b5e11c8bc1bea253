/// PNG files (ISO/IEC 15948) for ``RasterImage``: 8-bit greyscale (colour type 0) or truecolour (colour
/// type 2), non-interlaced, with IHDR, one IDAT (zlib, each row filtered with the PNG filter that
/// makes it smallest by the usual sum-of-absolute-differences rule), an optional tEXt and IEND; every
/// chunk with its CRC-32.
public enum PNGEncoder {
    /// The bytes of a PNG file holding `image`; `text` pairs become tEXt chunks (Latin-1 keywords of
    /// 1–79 characters, e.g. ("Software", "medvol")).
    public static func encode(_ image: RasterImage, text: [(keyword: String, value: String)] = []) throws -> [UInt8] {
        var file: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

        var header: [UInt8] = []
        header += bigEndian(UInt32(image.width))
        header += bigEndian(UInt32(image.height))
        header += [8, image.channels == 3 ? 2 : 0, 0, 0, 0]   // bit depth, colour type, deflate, filter set 0, no interlace
        appendChunk("IHDR", header, to: &file)

        for (keyword, value) in text {
            let key = Array(keyword.unicodeScalars.compactMap { $0.value < 256 && $0.value >= 32 ? UInt8($0.value) : nil }.prefix(79))
            guard !key.isEmpty else { continue }
            let body = value.unicodeScalars.map { $0.value < 256 ? UInt8($0.value) : UInt8(ascii: "?") }
            appendChunk("tEXt", key + [0] + body, to: &file)
        }

        let filtered = filterRows(image)
        let compressed = try filtered.withUnsafeBytes { try Zlib.deflate($0, wrapper: .zlib, level: 6) }
        appendChunk("IDAT", compressed, to: &file)
        appendChunk("IEND", [], to: &file)
        return file
    }

    /// Each row preceded by its filter type byte.
    static func filterRows(_ image: RasterImage) -> [UInt8] {
        let stride = image.width * image.channels
        let bpp = image.channels
        var output = [UInt8]()
        output.reserveCapacity((stride + 1) * image.height)
        var candidate = [UInt8](repeating: 0, count: stride)
        var best = [UInt8](repeating: 0, count: stride)
        image.pixels.withUnsafeBufferPointer { pixels in
            for row in 0..<image.height {
                let current = row * stride
                let previous = (row - 1) * stride
                var bestType: UInt8 = 0
                var bestCost = Int.max
                for type: UInt8 in 0...4 {
                    var cost = 0
                    for index in 0..<stride {
                        let x = pixels[current + index]
                        let a = index >= bpp ? pixels[current + index - bpp] : 0
                        let b = row > 0 ? pixels[previous + index] : 0
                        let c = row > 0 && index >= bpp ? pixels[previous + index - bpp] : 0
                        let predictor: UInt8
                        switch type {
                        case 0: predictor = 0
                        case 1: predictor = a
                        case 2: predictor = b
                        case 3: predictor = UInt8((Int(a) + Int(b)) / 2)
                        default: predictor = paeth(a, b, c)
                        }
                        let value = x &- predictor
                        candidate[index] = value
                        cost += value < 128 ? Int(value) : 256 - Int(value)
                    }
                    if cost < bestCost {
                        bestCost = cost
                        bestType = type
                        swap(&best, &candidate)
                    }
                }
                output.append(bestType)
                output.append(contentsOf: best)
            }
        }
        return output
    }

    @inline(__always)
    static func paeth(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> UInt8 {
        let p = Int(a) + Int(b) - Int(c)
        let pa = abs(p - Int(a)), pb = abs(p - Int(b)), pc = abs(p - Int(c))
        if pa <= pb && pa <= pc { return a }
        return pb <= pc ? b : c
    }

    private static func appendChunk(_ type: String, _ data: [UInt8], to file: inout [UInt8]) {
        let typeBytes = Array(type.utf8)
        file += bigEndian(UInt32(data.count))
        file += typeBytes
        file += data
        let typeCRC = typeBytes.withUnsafeBytes { Zlib.crc32($0) }
        file += bigEndian(data.withUnsafeBytes { Zlib.crc32($0, continuing: typeCRC) })
    }

    private static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }
}
