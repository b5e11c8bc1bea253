import Testing
@testable import MedVol

/// A United Imaging mosaic ("grid") file: `count` slices of `tileRows × tileColumns` int16 pixels tiled
/// `⌈√count⌉` across, valued `1000·slice + 10·row + column`, oblique, with the slice count in
/// (0065,xx50) of "Image Private Header" (sent as UN when `unknownVR`, or in implicit VR).
func unitedImagingMosaicFile(count: Int, tileRows: Int, tileColumns: Int, unknownVR: Bool = false, implicitVR: Bool = false,
                             manufacturer: String = "UIH", position: String = "-100\\-50.5\\20",
                             instance: Int = 1, acquisition: Int = 1) -> [UInt8] {
    let across = Int(Double(count).squareRoot().rounded(.up))
    let down = (count + across - 1) / across
    let rows = tileRows * down, columns = tileColumns * across
    var pixels = [Int16](repeating: 0, count: rows * columns)
    for slice in 0..<count {
        for r in 0..<tileRows {
            for c in 0..<tileColumns {
                pixels[((slice / across) * tileRows + r) * columns + (slice % across) * tileColumns + c] = Int16(1000 * slice + 10 * r + c)
            }
        }
    }
    let pixelBytes = pixels.flatMap { value in withUnsafeBytes(of: value.littleEndian) { Array($0) } }
    return DICOMBytes.part10(transferSyntax: implicitVR ? "1.2.840.10008.1.2" : "1.2.840.10008.1.2.1") { data in
        data.text(0x0008, 0x0008, "CS", "ORIGINAL\\PRIMARY\\M\\MOSAIC")
        data.text(0x0008, 0x0018, "UI", "1.2.3.4.5.\(instance)", pad: 0)
        data.text(0x0008, 0x0060, "CS", "MR")
        data.text(0x0008, 0x0070, "LO", manufacturer)
        data.text(0x0018, 0x0050, "DS", "3")
        data.text(0x0018, 0x0080, "DS", "2000")
        data.text(0x0018, 0x0088, "DS", "3.5")
        data.text(0x0020, 0x000E, "UI", "1.2.3.4", pad: 0)
        data.text(0x0020, 0x0012, "IS", "\(acquisition)")
        data.text(0x0020, 0x0013, "IS", "\(instance)")
        data.text(0x0020, 0x0032, "DS", position)
        data.text(0x0020, 0x0037, "DS", "0.8660254\\0.5\\0\\-0.5\\0.8660254\\0")
        data.us(0x0028, 0x0002, 1)
        data.text(0x0028, 0x0004, "CS", "MONOCHROME2")
        data.us(0x0028, 0x0010, UInt16(rows))
        data.us(0x0028, 0x0011, UInt16(columns))
        data.text(0x0028, 0x0030, "DS", "2\\1.5")
        data.us(0x0028, 0x0100, 16)
        data.us(0x0028, 0x0101, 16)
        data.us(0x0028, 0x0102, 15)
        data.us(0x0028, 0x0103, 1)
        data.text(0x0065, 0x0010, "LO", "Image Private Header")
        let countText = Array("\(count)".utf8) + ("\(count)".utf8.count % 2 == 1 ? [0x20] : [])
        data.element(0x0065, 0x1050, unknownVR ? "UN" : "DS", countText)
        data.element(0x7FE0, 0x0010, "OW", pixelBytes)
    }
}

@Suite("Mosaics: Siemens and United Imaging layouts")
struct MosaicLayoutTests {
    private func monochrome(rows: Int, columns: Int) -> StoredPixelFormat {
        StoredPixelFormat(rows: rows, columns: columns, samplesPerPixel: 1, bitsAllocated: 16, bitsStored: 16, isSigned: true, photometric: "MONOCHROME2")
    }

    @Test("UIH tiles ⌈√N⌉ across and ⌈N/across⌉ down; Siemens a square grid", arguments: [
        (5, 3, 2), (9, 3, 3), (10, 4, 3), (2, 2, 1), (17, 5, 4),
    ])
    func unitedImagingGrid(count: Int, across: Int, down: Int) throws {
        let file = unitedImagingMosaicFile(count: count, tileRows: 4, tileColumns: 6)
        let folder = TemporaryFolder()
        let header = try DICOMFile.read(path: try folder.write("uih.dcm", file), extent: .headerOnly)
        let format = try StoredPixelFormat(header.dataSet, path: "uih.dcm")
        let layout = try #require(try MosaicLayout(header.dataSet, format: format, path: "uih.dcm"))
        #expect(layout.vendor == .unitedImaging && layout.sliceCount == count)
        #expect(layout.tilesAcross == across && layout.tilesDown == down)
        #expect(layout.tileRows == 4 && layout.tileColumns == 6)
        #expect(!layout.positionIsMosaicCorner)

        let siemens = try MosaicLayout(vendor: .siemens, sliceCount: 5, across: 3, down: 3, format: monochrome(rows: 12, columns: 18), path: "s")
        #expect(siemens.tileRows == 4 && siemens.tileColumns == 6 && siemens.positionIsMosaicCorner)
    }

    @Test("a grid that does not tile the image is an error naming the counts")
    func untileable() throws {
        #expect(throws: MedVolError.self) {
            try MosaicLayout(vendor: .unitedImaging, sliceCount: 5, across: 3, down: 2, format: monochrome(rows: 9, columns: 18), path: "x")
        }
        #expect(throws: MedVolError.self) {
            try MosaicLayout(vendor: .unitedImaging, sliceCount: 7, across: 3, down: 2, format: monochrome(rows: 8, columns: 18), path: "x")
        }
    }

    @Test("UIH frames: tile corners, first slice at Image Position (no mosaic-corner shift), slices along row × column")
    func unitedImagingFrames() throws {
        let folder = TemporaryFolder()
        let path = try folder.write("uih.dcm", unitedImagingMosaicFile(count: 5, tileRows: 4, tileColumns: 6))
        let header = try DICOMFile.read(path: path, extent: .headerOnly)
        let frames = try FrameExtraction.frames(of: header, fileIndex: 0)
        #expect(frames.count == 5)
        #expect(frames.map { $0.tile!.firstRow } == [0, 0, 0, 4, 4])
        #expect(frames.map { $0.tile!.firstColumn } == [0, 6, 12, 0, 6])
        let row = SIMD3(0.8660254, 0.5, 0.0), column = SIMD3(-0.5, 0.8660254, 0.0)
        let normal = cross(row, column) / length(cross(row, column))
        for (index, frame) in frames.enumerated() {
            let expected = SIMD3(-100, -50.5, 20) + normal * (3.5 * Double(index))
            #expect(length(frame.position! - expected) < 1e-9, "slice \(index)")
        }
        #expect(frames.allSatisfy { $0.width == 6 && $0.height == 4 })
    }

    @Test("a UIH mosaic loads voxel-exact with the true geometry, whichever VR its slice count arrives with",
          arguments: [(false, false), (true, false), (false, true)])
    func unitedImagingVolume(unknownVR: Bool, implicitVR: Bool) throws {
        let folder = TemporaryFolder()
        let path = try folder.write("uih.dcm", unitedImagingMosaicFile(count: 5, tileRows: 4, tileColumns: 6,
                                                                        unknownVR: unknownVR, implicitVR: implicitVR))
        let volume = try DICOMScan(paths: [path]).stacks[0].load()
        #expect(volume.geometry.size == [6, 4, 5])
        #expect(volume.geometry.spacing == SIMD3(1.5, 2, 3.5))
        #expect(length(volume.geometry.origin - SIMD3(-100, -50.5, 20)) < 1e-9)
        var expected: [Int16] = []
        for k in 0..<5 { for r in 0..<4 { for c in 0..<6 { expected.append(Int16(1000 * k + 10 * r + c)) } } }
        #expect(try Array(volume.voxels(as: Int16.self)) == expected)
    }

    @Test("several UIH mosaics of one series (fMRI) make a 4D volume ordered by acquisition")
    func unitedImagingTimeSeries() throws {
        let folder = TemporaryFolder()
        for t in [3, 1, 2] {
            _ = try folder.write("run/\(t).dcm", unitedImagingMosaicFile(count: 5, tileRows: 4, tileColumns: 6, instance: t, acquisition: t))
        }
        let stack = try #require(DICOMScan(paths: [folder.file("run")]).stacks.first)
        #expect(stack.state.error == nil)
        #expect(stack.size == [6, 4, 5, 3])
        #expect(stack.geometry?.timeSpacing == 2)
    }

    @Test("a non-UIH image with the same private element is no mosaic")
    func otherManufacturer() throws {
        let folder = TemporaryFolder()
        let path = try folder.write("x.dcm", unitedImagingMosaicFile(count: 4, tileRows: 4, tileColumns: 6, manufacturer: "ACME"))
        let header = try DICOMFile.read(path: path, extent: .headerOnly)
        // ImageType says MOSAIC but no Siemens count: an error, not a silent single image.
        #expect(throws: MedVolError.self) { try FrameExtraction.frames(of: header, fileIndex: 0) }
    }
}
