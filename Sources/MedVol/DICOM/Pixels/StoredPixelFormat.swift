/// How the pixel samples of an image are stored (Image Pixel module, PS3.3 C.7.6.3).
struct StoredPixelFormat: Hashable, Sendable {
    var rows: Int
    var columns: Int
    var samplesPerPixel: Int
    var bitsAllocated: Int
    var bitsStored: Int
    /// Pixel Representation 1: two's complement.
    var isSigned: Bool
    var photometric: String
    /// 0: R1G1B1R2G2B2…, 1: RRR…GGG…BBB…
    var planarConfiguration: Int
    /// Bits per palette entry (PALETTE COLOR only): 8 or 16.
    var paletteBits = 8

    /// Reads the Image Pixel attributes; throws when they are missing or impossible.
    init(_ dataSet: DICOMDataSet, path: String) throws {
        guard let rows = dataSet.int(.rows), let columns = dataSet.int(.columns), rows > 0, columns > 0 else {
            throw MedVolError.corrupt(path, "Rows and Columns are missing or zero")
        }
        guard rows <= 65535, columns <= 65535 else {
            throw MedVolError.corrupt(path, "impossible image size \(columns)×\(rows)")
        }
        let bitsAllocated = dataSet.int(.bitsAllocated) ?? 0
        guard [1, 8, 16, 32].contains(bitsAllocated) else {
            throw MedVolError.unsupported(path, "Bits Allocated \(bitsAllocated) (1, 8, 16 or 32 are supported)")
        }
        let samples = dataSet.int(.samplesPerPixel) ?? 1
        guard samples == 1 || samples == 3 else {
            throw MedVolError.unsupported(path, "Samples per Pixel \(samples) (1 or 3 are supported)")
        }
        var bitsStored = dataSet.int(.bitsStored) ?? bitsAllocated
        if bitsStored < 1 || bitsStored > bitsAllocated { bitsStored = bitsAllocated }
        self.rows = rows
        self.columns = columns
        self.samplesPerPixel = samples
        self.bitsAllocated = bitsAllocated
        self.bitsStored = bitsStored
        self.isSigned = dataSet.int(.pixelRepresentation) == 1
        self.photometric = (dataSet.string(.photometricInterpretation) ?? (samples == 3 ? "RGB" : "MONOCHROME2")).uppercased()
        self.planarConfiguration = samples > 1 ? (dataSet.int(.planarConfiguration) ?? 0) : 0
        if samples == 3 && bitsAllocated == 1 {
            throw MedVolError.unsupported(path, "1-bit samples with 3 samples per pixel")
        }
        if photometric == "PALETTE COLOR" {
            guard samples == 1, bitsAllocated == 8 || bitsAllocated == 16 else {
                throw MedVolError.unsupported(path, "PALETTE COLOR with \(samples) samples of \(bitsAllocated) bits (one 8- or 16-bit index per pixel is supported)")
            }
            let descriptor = dataSet.doubles(.redPaletteColorLookupTableDescriptor)
            paletteBits = descriptor.count >= 3 && descriptor[2] > 8 ? 16 : 8
        }
    }

    init(rows: Int, columns: Int, samplesPerPixel: Int, bitsAllocated: Int, bitsStored: Int, isSigned: Bool,
         photometric: String, planarConfiguration: Int = 0) {
        self.rows = rows
        self.columns = columns
        self.samplesPerPixel = samplesPerPixel
        self.bitsAllocated = bitsAllocated
        self.bitsStored = bitsStored
        self.isSigned = isSigned
        self.photometric = photometric
        self.planarConfiguration = planarConfiguration
    }

    /// The same format with `bits` value bits per sample (see ``FrameDecoder/DecodedFrame/valueBits``).
    func withValueBits(_ bits: Int) -> StoredPixelFormat {
        guard bits != bitsStored, bits >= 1, bits <= bitsAllocated else { return self }
        var format = self
        format.bitsStored = bits
        return format
    }

    var pixelsPerFrame: Int { rows * columns }
    var samplesPerFrame: Int { rows * columns * samplesPerPixel }

    /// Bytes of one frame as stored natively (1-bit frames are packed and may share bytes).
    var bytesPerFrame: Int {
        bitsAllocated == 1 ? (samplesPerFrame + 7) / 8 : samplesPerFrame * (bitsAllocated / 8)
    }

    /// Bytes of one frame as stored natively, counting YBR_FULL_422's horizontal subsampling
    /// (two luminance samples share one Cb and one Cr).
    var nativeBytesPerFrame: Int {
        photometric == "YBR_FULL_422" && samplesPerPixel == 3 ? rows * columns * 2 * (bitsAllocated / 8) : bytesPerFrame
    }

    var isMonochrome: Bool { photometric.hasPrefix("MONOCHROME") }
    var isPalette: Bool { photometric == "PALETTE COLOR" }
    /// Whether the frame becomes an RGB voxel (3 components).
    var producesColor: Bool { samplesPerPixel == 3 || isPalette }

    /// The integer type of one stored sample once unpacked (1-bit samples become uint8).
    var storedSampleType: PixelType {
        bitsAllocated == 1 ? .uint8 : PixelType.integer(bytes: bitsAllocated / 8, signed: isSigned)!
    }

    /// Range of the values Bits Stored and Pixel Representation allow.
    var storedValueRange: ClosedRange<Double> {
        if bitsAllocated == 1 { return 0...1 }
        if isSigned { return -Double(1 << (bitsStored - 1))...Double((1 << (bitsStored - 1)) - 1) }
        return 0...Double((UInt64(1) << bitsStored) - 1)
    }

    /// "int16 (12 bits stored)" — for messages.
    var summary: String {
        let type = storedSampleType.rawValue
        let bits = bitsStored < bitsAllocated && bitsAllocated > 1 ? " (\(bitsStored) bits stored)" : ""
        return samplesPerPixel == 3 ? "\(type)×3 \(photometric)\(bits)" : "\(type)\(bits) \(photometric)"
    }
}
