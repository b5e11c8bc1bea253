private import _MedVolBridge

/// Decodes the frames of one file into memory: monochrome frames as stored samples unpacked to whole
/// bytes (1-bit samples to one byte each) in native byte order; colour frames (RGB, YBR, palette) as
/// interleaved RGB of 8 or 16 bits.
struct FrameDecoder {
    let header: DICOMFile
    let format: StoredPixelFormat
    let palette: PaletteColorTables?
    private let source: PixelByteSource
    private let pixelData: DICOMElement
    /// Fragment byte ranges per frame (encapsulated data only).
    private var fragments: [[Range<Int>]]?

    init(header: DICOMFile, format: StoredPixelFormat, palette: PaletteColorTables?, fragments: [[Range<Int>]]? = nil) throws {
        self.header = header
        self.format = format
        self.palette = palette
        guard let element = header.pixelDataElement else {
            throw MedVolError.corrupt(header.path, "no Pixel Data")
        }
        pixelData = element
        if let inflated = header.inflatedDataSet {
            source = .memory(inflated, path: header.path)
        } else {
            source = .file(try ReadableFile(path: header.path))
        }
        self.fragments = fragments
    }

    /// The fragments of every frame of an encapsulated file (read from the item headers).
    static func frameFragments(header: DICOMFile, frameCount: Int) throws -> [[Range<Int>]]? {
        guard case .encapsulatedPixelData(let offset) = header.pixelDataElement?.value else { return nil }
        let source: PixelByteSource = try header.inflatedDataSet.map { .memory($0, path: header.path) }
            ?? .file(ReadableFile(path: header.path))
        return try EncapsulatedPixelData.frameFragments(source: source, start: offset, frameCount: frameCount)
    }

    /// Bytes of one decoded stored sample (colour: of one component).
    var decodedSampleBytes: Int {
        if format.isPalette { return palette?.bits == 16 ? 2 : 1 }
        return max(1, format.bitsAllocated / 8)
    }

    /// Components of a decoded pixel.
    var decodedComponents: Int { format.producesColor ? 3 : 1 }

    var decodedBytesPerFrame: Int { format.pixelsPerFrame * decodedComponents * decodedSampleBytes }

    /// Decodes frame `number` into `output` (exactly `decodedBytesPerFrame` bytes).
    mutating func decode(frame number: Int, into output: UnsafeMutableRawBufferPointer) throws {
        precondition(output.count == decodedBytesPerFrame)
        switch header.transferSyntax.pixelEncoding {
        case .native:
            try decodeNative(frame: number, into: output)
        case .rle:
            let bytes = try encapsulatedFrame(number)
            try withStoredLayout(output) { stored in
                try RLEDecoder.decode(bytes, pixels: format.pixelsPerFrame, samplesPerPixel: format.samplesPerPixel,
                                      bytesPerSample: max(1, format.bitsAllocated / 8), into: stored, path: header.path)
                return (photometric: format.photometric, planar: false)
            }
        case .gdcmCodec:
            let bytes = try encapsulatedFrame(number)
            try withStoredLayout(output) { stored in try decodeWithGDCM(bytes, into: stored) }
        case .unsupported:
            throw MedVolError.unsupported(header.path, "pixel data in \(header.transferSyntax.name) (\(header.transferSyntax.uid)) cannot be decoded")
        }
    }

    // MARK: Native pixel data

    private func decodeNative(frame number: Int, into output: UnsafeMutableRawBufferPointer) throws {
        guard case .deferred(let offset, _) = pixelData.value else {
            throw MedVolError.corrupt(header.path, "native transfer syntax but encapsulated pixel data")
        }
        if format.bitsAllocated == 1 {
            let firstBit = number * format.samplesPerFrame
            let firstByte = firstBit / 8
            let byteCount = (firstBit % 8 + format.samplesPerFrame + 7) / 8
            let packed = try source.read(count: byteCount, at: offset + firstByte)
            ColorConversion.unpackBits(packed, firstBit: firstBit % 8, count: format.samplesPerFrame, into: output)
            return
        }
        let frameBytes = format.nativeBytesPerFrame
        let at = offset + number * frameBytes
        try withStoredLayout(output) { stored in
            try source.read(into: stored, at: at)
            if !header.dataSet.isLittleEndian {
                if format.bitsAllocated > 8 {
                    VoxelMath.swapBytes(stored, width: format.bitsAllocated / 8)
                } else if pixelData.vr == .OW {
                    VoxelMath.swapBytes(stored, width: 2)  // 8-bit samples in big-endian words
                }
            }
            return (photometric: format.photometric, planar: format.planarConfiguration == 1)
        }
    }

    // MARK: Encapsulated pixel data

    private mutating func encapsulatedFrame(_ number: Int) throws -> [UInt8] {
        if fragments == nil {
            fragments = try Self.frameFragments(header: header, frameCount: max(1, header.dataSet.int(.numberOfFrames) ?? 1))
        }
        guard let fragments, number < fragments.count else {
            throw MedVolError.corrupt(header.path, "frame \(number + 1) is missing from the encapsulated pixel data")
        }
        return try EncapsulatedPixelData.frameBytes(source: source, fragments: fragments[number])
    }

    private func decodeWithGDCM(_ encoded: [UInt8], into stored: UnsafeMutableRawBufferPointer) throws -> (photometric: String, planar: Bool) {
        var result = mv_frame_decoding()
        let status: mv_status = format.photometric.withCString { photometric in
            var description = mv_frame_description(
                rows: UInt32(format.rows), columns: UInt32(format.columns), samples_per_pixel: UInt32(format.samplesPerPixel),
                bits_allocated: UInt32(format.bitsAllocated), bits_stored: UInt32(format.bitsStored),
                pixel_representation: format.isSigned ? 1 : 0, planar_configuration: UInt32(format.planarConfiguration),
                photometric: photometric)
            return header.transferSyntax.uid.withCString { syntax in
                encoded.withUnsafeBytes { input in
                    mv_codec_decode_frame(syntax, &description, input.baseAddress, UInt64(input.count),
                                          stored.baseAddress, UInt64(stored.count), &result)
                }
            }
        }
        guard status.ok == 1 else {
            throw MedVolError.corrupt(header.path, "\(header.transferSyntax.name) pixel data could not be decoded: \(bridgeMessage(status))")
        }
        // A JPEG 2000 stream may declare itself unsigned while Pixel Representation says signed; GDCM then
        // hands out the unsigned values. Reinterpret them as the two's complement the header promises.
        if format.isSigned && result.stream_signed == 0 && format.samplesPerPixel == 1 {
            reinterpretAsSigned(stored, bits: Int(result.stream_bits > 0 ? result.stream_bits : Int32(format.bitsStored)))
        }
        let photometric = withUnsafeBytes(of: result.photometric) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return (photometric: photometric.isEmpty ? format.photometric : photometric.uppercased(),
                planar: format.samplesPerPixel == 3 && result.planar_configuration == 1)
    }

    /// Sign-extends unsigned samples of `bits` bits to the signed interpretation (16- or 8-bit storage).
    private func reinterpretAsSigned(_ stored: UnsafeMutableRawBufferPointer, bits: Int) {
        let signBit = 1 << (bits - 1), full = 1 << bits
        if format.bitsAllocated == 16 {
            let values = stored.bindMemory(to: UInt16.self)
            for index in values.indices {
                let value = Int(values[index]) & (full - 1)
                values[index] = UInt16(truncatingIfNeeded: value >= signBit ? value - full : value)
            }
        } else if format.bitsAllocated == 8 {
            let values = stored.bindMemory(to: UInt8.self)
            for index in values.indices {
                let value = Int(values[index]) & (full - 1)
                values[index] = UInt8(truncatingIfNeeded: value >= signBit ? value - full : value)
            }
        }
    }

    // MARK: Colour

    /// Runs `decode` on a buffer laid out as the stored frame and turns the result into the decoded
    /// layout: interleaved RGB for colour (from planar, YBR or palette indices), untouched for monochrome.
    private func withStoredLayout(_ output: UnsafeMutableRawBufferPointer,
                                  _ decode: (UnsafeMutableRawBufferPointer) throws -> (photometric: String, planar: Bool)) throws {
        if !format.producesColor {
            _ = try decode(output)
            return
        }
        let storedBytes = format.isPalette
            ? format.pixelsPerFrame * (format.bitsAllocated / 8)
            : (header.transferSyntax.pixelEncoding == .native ? format.nativeBytesPerFrame : format.samplesPerFrame * (format.bitsAllocated / 8))
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: max(storedBytes, output.count), alignment: 16)
        defer { scratch.deallocate() }
        let stored = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<storedBytes])
        let (photometric, planar) = try decode(stored)

        if format.isPalette, let palette {
            palette.apply(indices: UnsafeRawBufferPointer(stored), indexBytes: format.bitsAllocated / 8,
                          pixels: format.pixelsPerFrame, into: output)
            return
        }
        let sampleBytes = format.bitsAllocated / 8
        if photometric == "YBR_FULL_422" && storedBytes == format.nativeBytesPerFrame && storedBytes < output.count {
            // Natively stored 4:2:2: two luminance samples share one Cb and one Cr.
            ColorConversion.upsample422(UnsafeRawBufferPointer(stored), rows: format.rows, columns: format.columns, into: output)
        } else if planar {
            ColorConversion.interleave(UnsafeRawBufferPointer(stored), pixels: format.pixelsPerFrame, bytesPerSample: sampleBytes, into: output)
        } else {
            output.copyMemory(from: UnsafeRawBufferPointer(stored))
        }
        if photometric.hasPrefix("YBR") && photometric != "YBR_RCT" && photometric != "YBR_ICT" {
            guard sampleBytes == 1 else {
                throw MedVolError.unsupported(header.path, "\(photometric) with \(format.bitsAllocated)-bit samples")
            }
            if photometric.hasPrefix("YBR_PARTIAL") {
                ColorConversion.ybrPartialToRGB(output)
            } else {
                ColorConversion.ybrFullToRGB(output)
            }
        }
    }
}

/// The message of a failed bridge call.
fileprivate func bridgeMessage(_ status: mv_status) -> String {
    withUnsafeBytes(of: status.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
}
