#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
private import _MedVolBridge

/// Decodes the frames of one file into memory: monochrome frames as stored samples unpacked to whole
/// bytes (1-bit samples to one byte each) in native byte order; colour frames (RGB, YBR, palette) as
/// interleaved RGB of 8, 16 or 32 bits. JPEG-LS frames are decoded by CharLS, JPEG 2000 and HTJ2K frames
/// by OpenJPEG (both called directly by the bridge), JPEG frames by GDCM — in worker processes
/// (``CodecIsolation``).
struct FrameDecoder {
    let header: DICOMFile
    let format: StoredPixelFormat
    let palette: PaletteColorTables?
    private let source: PixelByteSource
    private let pixelData: DICOMElement
    /// Fragment byte ranges per frame (encapsulated data only).
    private var fragments: [[Range<Int>]]?
    /// Threads one frame's decoder may use (OpenJPEG): more than one only when the frames are fewer than
    /// the cores, or a frame is large.
    var decoderThreads = 1
    /// Where the codec libraries decode (``DICOMLoadOptions/codecIsolation``).
    var codecIsolation = CodecIsolation.standard

    init(header: DICOMFile, format: StoredPixelFormat, palette: PaletteColorTables?, fragments: [[Range<Int>]]? = nil) throws {
        self.header = header
        self.format = format
        self.palette = palette
        guard let element = header.pixelDataElement else {
            throw MedVolError.corrupt(header.path, "no Pixel Data")
        }
        pixelData = element
        source = try PixelByteSource(header)
        self.fragments = fragments
    }

    /// The fragments of every frame of an encapsulated file (read from the item headers).
    static func frameFragments(header: DICOMFile, frameCount: Int) throws -> [[Range<Int>]]? {
        guard case .encapsulatedPixelData(let offset) = header.pixelDataElement?.value else { return nil }
        return try EncapsulatedPixelData.frameFragments(source: PixelByteSource(header), start: offset, frameCount: frameCount)
    }

    /// Bytes of one decoded stored sample (colour: of one component).
    var decodedSampleBytes: Int {
        if format.isPalette { return palette?.bits == 16 ? 2 : 1 }
        return max(1, format.bitsAllocated / 8)
    }

    /// Components of a decoded pixel.
    var decodedComponents: Int { format.producesColor ? 3 : 1 }

    var decodedBytesPerFrame: Int { format.pixelsPerFrame * decodedComponents * decodedSampleBytes }

    /// What decoding a frame found out about its samples.
    struct DecodedFrame {
        /// The bits of each stored sample that hold its value: Bits Stored, except for JPEG 2000 and
        /// JPEG-LS, whose samples have the stream's own precision (pydicom's rule: their values are
        /// never masked to Bits Stored, and signed values are sign-extended from the stream's precision).
        var valueBits: Int
    }

    /// Decodes frame `number` into `output` (exactly `decodedBytesPerFrame` bytes).
    @discardableResult
    mutating func decode(frame number: Int, into output: UnsafeMutableRawBufferPointer) throws -> DecodedFrame {
        precondition(output.count == decodedBytesPerFrame)
        var valueBits = format.bitsStored
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
        case .codec:
            let bytes = try encapsulatedFrame(number)
            try withStoredLayout(output) { stored in
                let (layout, bits) = try decodeWithCodec(bytes, into: stored)
                if let bits { valueBits = bits }
                return layout
            }
        case .unsupported:
            throw MedVolError.unsupported(header.path, "pixel data in \(header.transferSyntax.name) (\(header.transferSyntax.uid)) cannot be decoded")
        }
        return DecodedFrame(valueBits: valueBits)
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

    /// Decodes a JPEG-LS (CharLS), JPEG 2000 or HTJ2K (OpenJPEG) or JPEG (GDCM) frame, in a worker process
    /// (see ``CodecIsolation``). Returns the colour space and layout of the decoded samples, and for JPEG 2000
    /// and JPEG-LS the precision of the stream.
    private func decodeWithCodec(_ encoded: [UInt8], into stored: UnsafeMutableRawBufferPointer) throws
        -> (layout: (photometric: String, planar: Bool), valueBits: Int?) {
        let syntax = header.transferSyntax
        let family = CodecFamily(syntax)
        var photometric = format.photometric
        if family == .jpeg || family == .jpegLS {
            guard let stream = JPEGCodestreamHeader(encoded) else {
                throw MedVolError.corrupt(header.path, "\(syntax.name) frame does not start with a readable JPEG header")
            }
            guard stream.rows == format.rows || stream.rows == 0, stream.columns == format.columns else {
                throw MedVolError.corrupt(header.path, "\(syntax.name) stream is \(stream.columns)×\(stream.rows), the header says \(format.columns)×\(format.rows)")
            }
            if family == .jpegLS && !JPEGCodestreamHeader.endsWithEOI(encoded) {
                throw MedVolError.corrupt(header.path, "\(syntax.name) stream is truncated (it does not end with an EOI marker)")
            }
            if format.samplesPerPixel == 3 {
                photometric = stream.photometric(declared: format.photometric, baseline: syntax == .jpegBaseline)
            }
        }
        var result = mv_frame_decoding()
        let status: mv_status = format.photometric.withCString { declared in
            var description = mv_frame_description(
                rows: UInt32(format.rows), columns: UInt32(format.columns), samples_per_pixel: UInt32(format.samplesPerPixel),
                bits_allocated: UInt32(format.bitsAllocated), bits_stored: UInt32(format.bitsStored),
                pixel_representation: format.isSigned ? 1 : 0, planar_configuration: UInt32(format.planarConfiguration),
                photometric: declared, decoder_threads: UInt32(max(1, decoderThreads)))
            return syntax.uid.withCString { uid in
                encoded.withUnsafeBytes { input in
                    if codecIsolation.isIsolated {
                        return mv_codec_decode_frame_isolated(uid, &description, input.baseAddress, UInt64(input.count),
                                                              stored.baseAddress, UInt64(stored.count),
                                                              codecIsolation.timeout(decodedBytes: stored.count), &result)
                    }
                    return mv_codec_decode_frame(uid, &description, input.baseAddress, UInt64(input.count),
                                                 stored.baseAddress, UInt64(stored.count), &result)
                }
            }
        }
        guard status.ok == 1 else {
            throw MedVolError.corrupt(header.path, "\(syntax.name) pixel data could not be decoded: \(fixedCString(status.message))")
        }
        switch family {
        case .jpeg:
            // IJG writes interleaved scan lines whatever GDCM reports, and GDCM 3.0.21 leaves YCbCr as it is.
            return ((photometric, false), nil)
        case .jpegLS:
            return ((photometric, format.samplesPerPixel == 3 && result.planar_configuration == 1), streamBits(result))
        case .jpeg2000:
            // OpenJPEG undoes the reversible and irreversible colour transforms itself, and the bridge
            // interleaves the components whatever Planar Configuration says (PS3.5 8.2.4: it is irrelevant
            // for J2K).
            if photometric == "YBR_RCT" || photometric == "YBR_ICT" { photometric = "RGB" }
            return ((photometric, false), streamBits(result))
        }
    }

    /// The stream's precision, when the decoder reported a usable one.
    private func streamBits(_ result: mv_frame_decoding) -> Int? {
        let bits = Int(result.stream_bits)
        return bits >= 1 && bits <= format.bitsAllocated ? bits : nil
    }

    // MARK: Colour

    /// Runs `decode` on a buffer laid out as the stored frame and turns the result into the decoded
    /// layout: interleaved RGB for colour (from planar, YBR or palette indices), untouched for monochrome.
    /// Colour samples stored as many bytes as they decode to are decoded straight into `output`.
    private func withStoredLayout(_ output: UnsafeMutableRawBufferPointer,
                                  _ decode: (UnsafeMutableRawBufferPointer) throws -> (photometric: String, planar: Bool)) throws {
        if !format.producesColor {
            _ = try decode(output)
            return
        }
        let isNative = header.transferSyntax.pixelEncoding == .native
        let storedBytes = format.isPalette
            ? format.pixelsPerFrame * (format.bitsAllocated / 8)
            : (isNative ? format.nativeBytesPerFrame : format.samplesPerFrame * (format.bitsAllocated / 8))
        let sampleBytes = format.bitsAllocated / 8
        let photometric: String
        if !format.isPalette && storedBytes == output.count && !(isNative && format.planarConfiguration == 1) {
            // Interleaved samples (or, rarely, planar ones only the decoder knows of: JPEG-LS) of the decoded size.
            let planar: Bool
            (photometric, planar) = try decode(output)
            if planar {
                let stored = UnsafeMutableRawBufferPointer.allocate(byteCount: storedBytes, alignment: 16)
                defer { stored.deallocate() }
                stored.copyMemory(from: UnsafeRawBufferPointer(output))
                ColorConversion.interleave(UnsafeRawBufferPointer(stored), pixels: format.pixelsPerFrame, bytesPerSample: sampleBytes, into: output)
            }
        } else {
            let stored = UnsafeMutableRawBufferPointer.allocate(byteCount: storedBytes, alignment: 16)
            defer { stored.deallocate() }
            let planar: Bool
            (photometric, planar) = try decode(stored)

            if format.isPalette, let palette {
                palette.apply(indices: UnsafeRawBufferPointer(stored), indexBytes: format.bitsAllocated / 8,
                              pixels: format.pixelsPerFrame, into: output)
                return
            }
            if photometric == "YBR_FULL_422" && storedBytes == format.nativeBytesPerFrame && storedBytes < output.count {
                // Natively stored 4:2:2: two luminance samples share one Cb and one Cr.
                ColorConversion.upsample422(UnsafeRawBufferPointer(stored), rows: format.rows, columns: format.columns, into: output)
            } else if planar {
                ColorConversion.interleave(UnsafeRawBufferPointer(stored), pixels: format.pixelsPerFrame, bytesPerSample: sampleBytes, into: output)
            } else {
                output.copyMemory(from: UnsafeRawBufferPointer(stored))
            }
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

/// The codec libraries' decoders, by how their output must be read.
enum CodecFamily {
    case jpeg, jpegLS, jpeg2000

    init(_ syntax: TransferSyntax) {
        switch syntax {
        case .jpegLSLossless, .jpegLSNearLossless: self = .jpegLS
        case .jpeg2000Lossless, .jpeg2000, .htj2kLossless, .htj2kLosslessRPCL, .htj2k: self = .jpeg2000
        default: self = .jpeg
        }
    }
}

/// Where the codec libraries' decoders (GDCM for JPEG, CharLS for JPEG-LS, OpenJPEG for JPEG 2000 and
/// HTJ2K) run. GDCM 3.0.21 aborts (failed assertions) on damaged JPEG streams, OpenJPEG 2.5.0 crashes on
/// damaged JPEG 2000 streams and CharLS 2 loops on truncated JPEG-LS ones; in a worker process (see
/// `Bridging/Implementation/gdcm_codec_worker.cpp`), that costs one frame. On a platform without worker
/// processes the bridge decodes in process whatever is chosen.
public enum CodecIsolation: Hashable, Sendable {
    /// Each frame is decoded in a worker process, which is killed when it takes longer than `timeout`
    /// seconds (nil: 30 s, plus 1 s per 4 MiB of decoded frame). The default.
    case isolated(timeout: Double?)
    /// Frames are decoded in this process: faster to debug, but damaged data can crash or hang it.
    case inProcess

    /// Worker processes with the default time limit.
    public static let standard = CodecIsolation.isolated(timeout: nil)

    /// Whether frames are decoded in worker processes.
    var isIsolated: Bool {
        if case .isolated = self { return true }
        return false
    }

    /// The seconds a frame of `decodedBytes` may take in a worker.
    func timeout(decodedBytes: Int) -> Double {
        if case .isolated(let timeout?) = self, timeout > 0 { return timeout }
        return 30 + Double(decodedBytes) / Double(4 << 20)
    }
}
