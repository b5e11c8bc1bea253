import Testing
@testable import MedVol

/// Header values no voxel may be computed with (issue 12, item 7): the rescale and Bits Stored checks of
/// `FrameExtraction.valueProblem`, RLE segments of the wrong decoded length, and the one escaping of
/// control characters every text output uses. The CLI side is in Tests/conformance/test_hostile_values.py.
@Suite("Value checks")
struct ValueChecksTests {
    static func monochrome(_ more: [DICOMElement]) -> DICOMDataSet {
        DICOMDataSet(elements: [
            DICOMElement.text(.photometricInterpretation, .CS, "MONOCHROME2"),
            DICOMElement.binary(.bitsAllocated, .US, [16, 0]),
            DICOMElement.binary(.bitsStored, .US, [12, 0]),
        ] + more)
    }

    @Test("an unusable Rescale Slope or Intercept is the file's problem, a usable one is not",
          arguments: [
              ("0", "Rescale Slope (0028,1053) is 0: every voxel would be the intercept"),
              ("-0.0", "Rescale Slope (0028,1053) is 0: every voxel would be the intercept"),
              ("NaN", "Rescale Slope (0028,1053) is \"NaN\", not a finite number"),
              ("inf", "Rescale Slope (0028,1053) is \"inf\", not a finite number"),
              ("two", "Rescale Slope (0028,1053) is \"two\", not a number"),
              ("1\u{1B}[31m", "Rescale Slope (0028,1053) is \"1\\x1B[31m\", not a number"),
              ("2.5", nil), ("-1", nil), ("", nil),
          ] as [(String, String?)])
    func slope(text: String, problem: String?) {
        let dataSet = Self.monochrome([DICOMElement.text(.rescaleSlope, .DS, text), DICOMElement.text(.rescaleIntercept, .DS, "-1024")])
        #expect(FrameExtraction.valueProblem(dataSet) == problem)
    }

    @Test("the checks look into the shared and per-frame functional groups")
    func functionalGroups() {
        func transform(_ slope: String) -> DICOMDataSet {
            DICOMDataSet(elements: [DICOMElement.sequence(.pixelValueTransformationSequence, [
                DICOMDataSet(elements: [DICOMElement.text(.rescaleSlope, .DS, slope), DICOMElement.text(.rescaleIntercept, .DS, "0")]),
            ])])
        }
        let good = Self.monochrome([DICOMElement.sequence(.perFrameFunctionalGroupsSequence, [transform("1"), transform("2")])])
        #expect(FrameExtraction.valueProblem(good) == nil)
        let bad = Self.monochrome([DICOMElement.sequence(.perFrameFunctionalGroupsSequence, [transform("1"), transform("NaN")])])
        #expect(FrameExtraction.valueProblem(bad) == "Rescale Slope (0028,1053) is \"NaN\", not a finite number")
        let shared = Self.monochrome([DICOMElement.sequence(.sharedFunctionalGroupsSequence, [transform("0")])])
        #expect(FrameExtraction.valueProblem(shared) == "Rescale Slope (0028,1053) is 0: every voxel would be the intercept")
    }

    @Test("colour images and Modality LUTs ignore the rescale, so its values are not checked")
    func ignoredRescale() {
        let colour = DICOMDataSet(elements: [
            DICOMElement.binary(.samplesPerPixel, .US, [3, 0]), DICOMElement.text(.rescaleSlope, .DS, "0"),
        ])
        #expect(FrameExtraction.valueProblem(colour) == nil)
        let lut = Self.monochrome([DICOMElement.sequence(.modalityLUTSequence, [DICOMDataSet()]), DICOMElement.text(.rescaleSlope, .DS, "0")])
        #expect(FrameExtraction.valueProblem(lut) == nil)
    }

    @Test("Bits Stored outside 1…Bits Allocated", arguments: [(17, false), (0, false), (16, true), (1, true)])
    func bitsStored(stored: UInt8, usable: Bool) {
        let dataSet = DICOMDataSet(elements: [
            DICOMElement.binary(.bitsAllocated, .US, [16, 0]), DICOMElement.binary(.bitsStored, .US, [stored, 0]),
        ])
        #expect((FrameExtraction.valueProblem(dataSet) == nil) == usable)
        if !usable {
            #expect(FrameExtraction.valueProblem(dataSet) == "Bits Stored (0028,0101) is \(stored), outside 1…16 (Bits Allocated)")
        }
    }

    /// One 8-bit segment after the 64-byte header.
    static func rleFrame(_ segment: [UInt8]) -> [UInt8] {
        var header = [UInt32](repeating: 0, count: 16)
        header[0] = 1
        header[1] = 64
        return header.flatMap(DICOMBytes.le32) + segment
    }

    @Test("RLE segments must decode to exactly the frame's bytes; a trailing padding byte is allowed",
          arguments: [
              ([0x03, 1, 2, 3, 4], nil),                       // a literal run of 4
              ([0x03, 1, 2, 3, 4, 0x00], nil),                 // and the padding byte
              ([0xFD, 9], nil),                                // a repeat run of 4
              ([0x03, 1, 2, 3, 4, 0x80, 0x80], nil),           // and no-operation bytes
              ([0x03, 1, 2, 3, 4, 0x00, 7], "RLE segment 1 decodes to 5 bytes, 4 expected"),
              ([0xFC, 9], "RLE segment 1 decodes to 5 bytes, 4 expected"),
              ([0x01, 1, 2, 0xFD, 3], "RLE segment 1 decodes to 6 bytes, 4 expected"),
              ([0x02, 1, 2, 3], "RLE segment 1 holds 3 of 4 bytes"),
          ] as [([UInt8], String?)])
    func rleSegmentLength(segment: [UInt8], problem: String?) {
        let output = UnsafeMutableRawBufferPointer.allocate(byteCount: 4, alignment: 1)
        defer { output.deallocate() }
        do {
            try RLEDecoder.decode(Self.rleFrame(segment), pixels: 4, samplesPerPixel: 1, bytesPerSample: 1, into: output, path: "f")
            #expect(problem == nil)
        } catch let error as MedVolError {
            #expect(error.reason == problem)
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test("control characters become visible escapes; other text is kept")
    func escaping() {
        #expect(TextEscaping.escapingControlCharacters("CT \u{1B}[31mred\u{07}\r\n\t\u{0}\u{7F}\u{9B}2J é 中") ==
                "CT \\x1B[31mred\\x07\\r\\n\\t\\x00\\x7F\\x9B2J é 中")
        #expect(TextEscaping.escapingControlCharacters("plain") == "plain")
    }
}
