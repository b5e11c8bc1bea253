import Testing
import Foundation
import MedVol

/// The typed stack descriptions: each value gives exactly the text the CLI prints (so `series` and the
/// warnings on stderr read as before), and callers can switch on the cases.
@Suite("Typed results")
struct TypedResultsTests {
    @Test("ImagePlane from the slice normal: each axis, oblique beyond about 10°, unknown for zero")
    func planes() {
        #expect(ImagePlane(normal: SIMD3(0, 0, 1)) == .axial)
        #expect(ImagePlane(normal: SIMD3(0, 0, -1)) == .axial)
        #expect(ImagePlane(normal: SIMD3(0, 1, 0)) == .coronal)
        #expect(ImagePlane(normal: SIMD3(-1, 0, 0)) == .sagittal)
        // 9° off the z axis is still axial, 11° is oblique (cos 10° ≈ 0.985).
        let nine = 9 * Double.pi / 180, eleven = 11 * Double.pi / 180
        #expect(ImagePlane(normal: SIMD3(sin(nine), 0, cos(nine))) == .axial)
        #expect(ImagePlane(normal: SIMD3(sin(eleven), 0, cos(eleven))) == .oblique)
        #expect(ImagePlane(normal: SIMD3(0, 0, 0)) == .unknown)
        #expect(ImagePlane.allCases.map(\.description) == ["axial", "coronal", "sagittal", "oblique", "unknown"])
    }

    @Test("PhotometricInterpretation: every defined term, padding and case ignored, others kept")
    func photometric() {
        let terms = ["MONOCHROME1", "MONOCHROME2", "PALETTE COLOR", "RGB", "YBR_FULL", "YBR_FULL_422",
                     "YBR_PARTIAL_420", "YBR_ICT", "YBR_RCT"]
        for term in terms {
            let value = PhotometricInterpretation(term)
            if case .other = value { Issue.record("\(term) read as other") }
            #expect(value.definedTerm == term)
        }
        #expect(PhotometricInterpretation("monochrome2 ") == .monochrome2)
        #expect(PhotometricInterpretation("RGB\0") == .rgb)
        #expect(PhotometricInterpretation("HSV") == .other("HSV"))
        #expect(PhotometricInterpretation("MONOCHROME1").isMonochrome && !PhotometricInterpretation("RGB").isMonochrome)
    }

    @Test("StackFormation descriptions")
    func formation() {
        #expect(StackFormation.wholeSeries(imageCount: 120, seriesNumber: 3).description == "all 120 images of series 3")
        #expect(StackFormation.wholeSeries(imageCount: 1, seriesNumber: nil).description == "all 1 images of series without number")
        let split = StackFormation.split(criteria: [.orientation, .size], values: ["coronal orientation [1,0,0,0,0,-1]", "256×256"],
                                         imageCount: 3, seriesImageCount: 23, seriesNumber: 2)
        #expect(split.isSplit && !StackFormation.wholeSeries(imageCount: 1, seriesNumber: 1).isSplit)
        #expect(split.description == "3 of 23 images of series 2, split by orientation, rows × columns: coronal orientation [1,0,0,0,0,-1]; 256×256")
    }

    @Test("StackWarning descriptions: the text the CLI prints, values formatted to the micrometre")
    func warnings() {
        let gap = SliceGap(slice: 2, from: 9, to: 13)
        #expect(gap.gap == 4)
        #expect(StackWarning.missingSlices(count: 1, at: gap, typicalGap: 2).description
            == "missing slice: 1 slice missing between slices 2 and 3 (at 9 and 13 mm along the normal): gap 4 mm where the others are 2 mm")
        #expect(StackWarning.missingSlices(count: 2, at: SliceGap(slice: 0, from: 0, to: 6), typicalGap: 2).description
            == "missing slices: 2 slices missing between slices 0 and 1 (at 0 and 6 mm along the normal): gap 6 mm where the others are 2 mm")
        let uneven = (0..<7).map { SliceGap(slice: $0, from: Double($0) * 2, to: Double($0) * 2 + 2.5) }
        #expect(StackWarning.unevenSpacing(typicalGap: 2, gaps: Array(uneven.prefix(1))).description
            == "uneven slice spacing: typical gap 2 mm, but 2.5 mm between slices 0 and 1 (at 0 and 2.5 mm along the normal)")
        #expect(StackWarning.unevenSpacing(typicalGap: 2, gaps: uneven).description.hasSuffix("; and 2 more"))
        #expect(StackWarning.meanSliceSpacing(2.0004).description
            == "slice spacing 2 mm is the mean over the stack; voxels are stacked, not resampled")
        #expect(StackWarning.gantryTilt(sideways: 2.1436, along: 8, degrees: 15.0003, declared: 15).description
            == "gantry tilt: slice positions shift 2.144 mm sideways over 8 mm along the normal (15°, Gantry/Detector Tilt 15°); the geometry follows the slice normal and voxels are not resampled")
        #expect(StackWarning.pixelSpacingDiffers(row: 0.5, column: 0.75).description
            == "pixel spacing differs between images; the first image's 0.5\\0.75 mm is used")
        #expect(StackWarning.noPixelSpacing.description == "no Pixel Spacing: in-plane spacing 1 mm assumed")
        #expect(StackWarning.noPosition(someHavePositions: true).description.hasPrefix("some images lack position"))
        #expect(StackWarning.duplicateInstance(sopInstanceUID: "1.2.3", path: "/b.dcm", kept: "/a.dcm").description
            == "duplicate SOP Instance 1.2.3 in /b.dcm (also in /a.dcm): read once")
        #expect(StackWarning.pixelDataLength(path: "/a.dcm", detail: "odd length", moreFiles: 0).description == "/a.dcm: odd length")
        #expect(StackWarning.pixelDataLength(path: "/a.dcm", detail: "odd length", moreFiles: 2).description
            == "/a.dcm: odd length (and in 2 more files of this stack)")
    }

    @Test("StackState: geometry for a volume and for undecodable pixels, the error otherwise")
    func state() {
        let geometry = ImageGeometry(size: [2, 2, 2], spacing: SIMD3(1, 1, 1))
        let error = MedVolError(.corruptFile, path: "/x.dcm", reason: "pixel data truncated")
        #expect(StackState.volume(geometry).geometry?.size == [2, 2, 2] && StackState.volume(geometry).error == nil)
        #expect(StackState.undecodablePixels(geometry: geometry, error: error).geometry?.size == [2, 2, 2])
        #expect(StackState.undecodablePixels(geometry: geometry, error: error).error?.path == "/x.dcm")
        #expect(StackState.noVolume(error).geometry == nil && StackState.noVolume(error).error?.code == .corruptFile)
    }
}
