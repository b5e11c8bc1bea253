/// DICOM RLE Lossless (PS3.5 Annex G): a 64-byte header of segment offsets, one PackBits segment per
/// byte plane, most significant byte first, sample by sample. Written here because GDCM 3.0.21 is slow
/// on it and wrong for 16- and 32-bit RGB.
enum RLEDecoder {
    /// Decodes one frame into `output` as interleaved samples of `bytesPerSample` bytes, little endian:
    /// `output.count == pixels × samplesPerPixel × bytesPerSample`.
    static func decode(_ frame: [UInt8], pixels: Int, samplesPerPixel: Int, bytesPerSample: Int,
                       into output: UnsafeMutableRawBufferPointer, path: String) throws {
        guard frame.count >= 64 else { throw MedVolError.corrupt(path, "RLE frame shorter than its 64-byte header") }
        func uint32(_ at: Int) -> Int {
            Int(UInt32(frame[at]) | UInt32(frame[at + 1]) << 8 | UInt32(frame[at + 2]) << 16 | UInt32(frame[at + 3]) << 24)
        }
        let segmentCount = uint32(0)
        let expected = samplesPerPixel * bytesPerSample
        guard segmentCount == expected else {
            throw MedVolError.corrupt(path, "RLE frame has \(segmentCount) segments, \(expected) expected")
        }
        guard output.count == pixels * expected else { throw MedVolError.corrupt(path, "RLE output size mismatch") }
        let offsets = (0..<segmentCount).map { uint32(4 + 4 * $0) }
        let stride = expected
        try frame.withUnsafeBufferPointer { input in
            for segment in 0..<segmentCount {
                let start = offsets[segment]
                let end = segment + 1 < segmentCount ? offsets[segment + 1] : frame.count
                guard start >= 64, start <= end, end <= frame.count else {
                    throw MedVolError.corrupt(path, "RLE segment \(segment + 1) has impossible offsets")
                }
                // Segment order: sample 0 MSB … LSB, sample 1 MSB … LSB, …; output is little endian.
                let sample = segment / bytesPerSample
                let byteInSample = bytesPerSample - 1 - segment % bytesPerSample
                let base = output.baseAddress!.assumingMemoryBound(to: UInt8.self) + sample * bytesPerSample + byteInSample
                var produced = 0, producedBeyond = 0
                var at = start
                while produced < pixels && at < end {
                    let control = Int(Int8(bitPattern: input[at]))
                    at += 1
                    if control >= 0 {
                        let run = control + 1
                        guard at + run <= end else {
                            throw MedVolError.corrupt(path, "RLE segment \(segment + 1) ends inside a literal run")
                        }
                        let count = min(run, pixels - produced)
                        producedBeyond += run - count
                        for index in 0..<count { base[(produced + index) * stride] = input[at + index] }
                        produced += count
                        at += run
                    } else if control != -128 {
                        guard at < end else { throw MedVolError.corrupt(path, "RLE segment \(segment + 1) ends inside a repeat run") }
                        let value = input[at]
                        at += 1
                        let count = min(1 - control, pixels - produced)
                        producedBeyond += 1 - control - count
                        for index in 0..<count { base[(produced + index) * stride] = value }
                        produced += count
                    }
                }
                guard produced == pixels else {
                    throw MedVolError.corrupt(path, "RLE segment \(segment + 1) holds \(produced) of \(pixels) bytes")
                }
                // A segment that decodes to more bytes than the frame's pixels is as damaged as a short one:
                // the runs left after the last pixel (a run cut by the last pixel included) must add none. A
                // trailing byte that starts no complete run is the padding to an even length (PS3.5 G.3.1).
                var excess = producedBeyond
                while at < end {
                    let control = Int(Int8(bitPattern: input[at]))
                    at += 1
                    if control >= 0 {
                        guard at + control + 1 <= end else { break }
                        excess += control + 1
                        at += control + 1
                    } else if control != -128 {
                        guard at < end else { break }
                        excess += 1 - control
                        at += 1
                    }
                }
                guard excess == 0 else {
                    throw MedVolError.corrupt(path, "RLE segment \(segment + 1) decodes to \(pixels + excess) bytes, \(pixels) expected")
                }
            }
        }
    }
}
