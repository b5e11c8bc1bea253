import Foundation
import Testing
@testable import MedVol

/// The real scanner data beside the repository (`../shared/data`), when present.
let sharedDataFolder: String? = {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let folder = root.deletingLastPathComponent().appendingPathComponent("shared/data").path
    return FileManager.default.fileExists(atPath: folder) ? folder : nil
}()

// MARK: - Files whose elements arrive with VR UN

/// One element of the test image: its tag, its real VR and its value bytes in little-endian order.
private struct TestElement {
    var group: UInt16
    var element: UInt16
    var vr: String
    var littleEndianValue: [UInt8]
    /// Width of one binary value (2 for US/SS, 4 for UL), 1 for text: how to byte-swap for big endian.
    var width: Int

    static func text(_ group: UInt16, _ element: UInt16, _ vr: String, _ value: String) -> TestElement {
        var bytes = Array(value.utf8)
        if bytes.count % 2 == 1 { bytes.append(vr == "UI" ? 0 : 0x20) }
        return TestElement(group: group, element: element, vr: vr, littleEndianValue: bytes, width: 1)
    }

    static func binary<T: FixedWidthInteger>(_ group: UInt16, _ element: UInt16, _ vr: String, _ values: [T]) -> TestElement {
        var bytes: [UInt8] = []
        for value in values { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
        return TestElement(group: group, element: element, vr: vr, littleEndianValue: bytes, width: MemoryLayout<T>.size)
    }

    func value(littleEndian: Bool) -> [UInt8] {
        guard !littleEndian, width > 1 else { return littleEndianValue }
        return stride(from: 0, to: littleEndianValue.count, by: width).flatMap { littleEndianValue[$0..<$0 + width].reversed() }
    }
}

/// The elements of a small oblique, rescaled 16-bit image: every VR the header scan reads (DS, IS, US,
/// UL, SS, CS, UI, LO), with values no default could produce.
private let scanElements: [TestElement] = [
    .text(0x0008, 0x0008, "CS", "ORIGINAL\\PRIMARY\\AXIAL"),
    .text(0x0008, 0x0016, "UI", "1.2.840.10008.5.1.4.1.1.2"),
    .text(0x0008, 0x0018, "UI", "1.2.826.0.1.3680043.2.1125.77.3"),
    .text(0x0008, 0x0060, "CS", "CT"),
    .text(0x0008, 0x0070, "LO", "ACME"),
    .text(0x0008, 0x103E, "LO", "UN header values"),
    .text(0x0018, 0x0050, "DS", "1.25"),
    .text(0x0018, 0x0088, "DS", "2.5"),
    .text(0x0018, 0x1120, "DS", "-3.5"),
    .binary(0x0018, 0x9219, "SS", [Int16(-1234)]),                 // Tag Angle Second Axis
    .text(0x0020, 0x000E, "UI", "1.2.826.0.1.3680043.2.1125.77"),
    .text(0x0020, 0x0011, "IS", "7"),
    .text(0x0020, 0x0012, "IS", "3"),
    .text(0x0020, 0x0013, "IS", "42"),
    .text(0x0020, 0x0032, "DS", "-120.5\\33.25\\-8.75"),
    .text(0x0020, 0x0037, "DS", "0.8660254\\0.5\\0\\-0.5\\0.8660254\\0"),
    .binary(0x0020, 0x9228, "UL", [UInt32(70_000)]),                // Concatenation Frame Offset Number
    .binary(0x0028, 0x0002, "US", [UInt16(1)]),
    .text(0x0028, 0x0004, "CS", "MONOCHROME2"),
    .binary(0x0028, 0x0010, "US", [UInt16(3)]),
    .binary(0x0028, 0x0011, "US", [UInt16(4)]),
    .text(0x0028, 0x0030, "DS", "0.625\\0.75"),
    .binary(0x0028, 0x0100, "US", [UInt16(16)]),
    .binary(0x0028, 0x0101, "US", [UInt16(12)]),
    .binary(0x0028, 0x0102, "US", [UInt16(11)]),
    .binary(0x0028, 0x0103, "US", [UInt16(0)]),
    .text(0x0028, 0x1050, "DS", "40"),
    .text(0x0028, 0x1051, "DS", "400"),
    .text(0x0028, 0x1052, "DS", "-1024"),
    .text(0x0028, 0x1053, "DS", "0.5"),
]

/// Stored values of the 4×3 test image.
private let storedPixels: [UInt16] = [0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 4095]

/// A part-10 file of `scanElements`, each written with VR UN when `unknownVRs`, in explicit VR little or
/// big endian.
private func scanTestFile(unknownVRs: Bool, littleEndian: Bool) -> [UInt8] {
    let syntax = littleEndian ? "1.2.840.10008.1.2.1" : "1.2.840.10008.1.2.2"
    return DICOMBytes.part10(transferSyntax: syntax) { data in
        for element in scanElements {
            data.element(element.group, element.element, unknownVRs ? "UN" : element.vr, element.value(littleEndian: littleEndian))
        }
        let pixels = TestElement.binary(0x7FE0, 0x0010, "OW", storedPixels)
        data.element(0x7FE0, 0x0010, "OW", pixels.value(littleEndian: littleEndian))
    }
}

/// Everything the header scan derives from a frame, as comparable text.
private func scanSummary(_ frame: DICOMFrame) -> [String] {
    [
        "position \(String(describing: frame.position))",
        "row \(String(describing: frame.rowDirection)) column \(String(describing: frame.columnDirection))",
        "spacing \(frame.spacingX) \(frame.spacingY) \(frame.hasPixelSpacing)",
        "thickness \(String(describing: frame.sliceThickness)) between \(String(describing: frame.spacingBetweenSlices)) tilt \(String(describing: frame.gantryTilt))",
        "format \(frame.format)",
        "mapping \(frame.mapping)",
        "series \(frame.seriesInstanceUID) \(String(describing: frame.seriesNumber)) sop \(String(describing: frame.sopInstanceUID))",
        "numbers \(String(describing: frame.instanceNumber)) \(String(describing: frame.acquisitionNumber)) type \(frame.imageTypeKey)",
    ]
}

@Suite("One header decoder: values that arrive with VR UN")
struct UnknownVRTests {
    @Test("UN for every VR the scan reads gives the same values, frames and voxels as the real VRs",
          arguments: [true, false])
    func unknownVRsReadAsTheDictionarySays(littleEndian: Bool) throws {
        let folder = TemporaryFolder()
        let real = try folder.write("real/image.dcm", scanTestFile(unknownVRs: false, littleEndian: littleEndian))
        let unknown = try folder.write("unknown/image.dcm", scanTestFile(unknownVRs: true, littleEndian: littleEndian))
        let realFile = try DICOMFile.read(path: real, extent: .headerOnly)
        let unknownFile = try DICOMFile.read(path: unknown, extent: .headerOnly)
        #expect(unknownFile.dataSet[.imagePositionPatient]?.vr == .UN)

        // Every element decodes to the same value, by every accessor.
        for element in scanElements {
            let tag = DICOMTag(element.group, element.element)
            #expect(unknownFile.dataSet.doubles(tag) == realFile.dataSet.doubles(tag), "doubles of \(tag)")
            #expect(unknownFile.dataSet.strings(tag) == realFile.dataSet.strings(tag), "strings of \(tag)")
            #expect(String(describing: unknownFile.dataSet.typedValue(tag)) == String(describing: realFile.dataSet.typedValue(tag)),
                    "typed value of \(tag)")
        }
        #expect(unknownFile.dataSet.doubles(.imagePositionPatient) == [-120.5, 33.25, -8.75])
        #expect(unknownFile.dataSet.int(.rows) == 3 && unknownFile.dataSet.int(.columns) == 4)
        #expect(unknownFile.dataSet.int(DICOMTag(0x0018, 0x9219)) == -1234)
        #expect(unknownFile.dataSet.int(DICOMTag(0x0020, 0x9228)) == 70_000)

        // The scan's frames and the loaded volumes are the same.
        let realFrames = try FrameExtraction.frames(of: realFile, fileIndex: 0)
        let unknownFrames = try FrameExtraction.frames(of: unknownFile, fileIndex: 0)
        #expect(unknownFrames.map(scanSummary) == realFrames.map(scanSummary))
        #expect(unknownFrames[0].mapping == .linear(slope: 0.5, intercept: -1024))

        let realVolume = try DICOMScan(paths: [real]).stacks[0].load()
        let unknownVolume = try DICOMScan(paths: [unknown]).stacks[0].load()
        #expect(unknownVolume.geometry == realVolume.geometry)
        #expect(unknownVolume.geometry.origin == [-120.5, 33.25, -8.75])
        #expect(unknownVolume.geometry.spacing.x == 0.75 && unknownVolume.geometry.spacing.y == 0.625)
        #expect(unknownVolume.pixelType == realVolume.pixelType)
        #expect(try unknownVolume.voxels(as: Float.self).elementsEqual(try realVolume.voxels(as: Float.self)))
        #expect(try unknownVolume.voxels(as: Float.self).last == 4095 * 0.5 - 1024)

        // The dump shows the dictionary's VR's value.
        let dump = DICOMDump(file: unknownFile)
        let position = try #require(dump.entries.first { $0.element.tag == .imagePositionPatient })
        #expect(position.vr == .DS && dump.valueText(position).contains("-120.5"))
    }

    /// An enhanced-style file whose Per-frame Functional Groups Sequence arrives as UN: of undefined
    /// length (implicit VR little-endian items, PS3.5 §6.2.2) or of defined length.
    private func enhancedFileWithUnknownSequence(definedLength: Bool, littleEndian: Bool) -> [UInt8] {
        let syntax = littleEndian ? "1.2.840.10008.1.2.1" : "1.2.840.10008.1.2.2"
        return DICOMBytes.part10(transferSyntax: syntax) { data in
            data.text(0x0008, 0x0018, "UI", "1.2.3.4.9", pad: 0)
            data.text(0x0020, 0x000E, "UI", "1.2.3.4", pad: 0)
            data.us(0x0028, 0x0002, 1)
            data.text(0x0028, 0x0004, "CS", "MONOCHROME2")
            data.text(0x0028, 0x0008, "IS", "2")
            data.us(0x0028, 0x0010, 1)
            data.us(0x0028, 0x0011, 2)
            data.us(0x0028, 0x0100, 16)
            data.us(0x0028, 0x0101, 16)
            data.us(0x0028, 0x0102, 15)
            data.us(0x0028, 0x0103, 0)
            // Items in implicit VR little endian, whatever the file's syntax.
            var items = DICOMBytes()
            items.explicitVR = false
            items.sequence(0x5200, 0x9230, items: (0..<2).map { number in { item in
                item.sequence(0x0020, 0x9113, items: [{ $0.text(0x0020, 0x0032, "DS", "1.5\\-2\\\(10 + 3 * number)") }])
                item.sequence(0x0020, 0x9116, items: [{ $0.text(0x0020, 0x0037, "DS", "1\\0\\0\\0\\1\\0") }])
                item.sequence(0x0028, 0x9110, items: [{ $0.text(0x0028, 0x0030, "DS", "0.5\\0.25") }])
            } })
            // Replace the implicit sequence's header (tag + length) by an explicit UN header.
            let value = Array(items.bytes.dropFirst(8))
            let content = definedLength ? Array(value.dropLast(8)) : value   // a defined length has no delimiter
            data.element(0x5200, 0x9230, "UN", content, length: definedLength ? UInt32(content.count) : 0xFFFF_FFFF)
            let pixels = TestElement.binary(0x7FE0, 0x0010, "OW", [UInt16(1), 2, 3, 4])
            data.element(0x7FE0, 0x0010, "OW", pixels.value(littleEndian: littleEndian))
        }
    }

    @Test("a functional groups sequence sent as UN, of undefined or defined length, gives the frames' geometry",
          arguments: [(false, true), (true, true), (false, false), (true, false)])
    func unknownSequences(definedLength: Bool, littleEndian: Bool) throws {
        let folder = TemporaryFolder()
        let path = try folder.write("enhanced.dcm", enhancedFileWithUnknownSequence(definedLength: definedLength, littleEndian: littleEndian))
        let file = try DICOMFile.read(path: path, extent: .headerOnly)
        #expect(file.dataSet.sequence(.perFrameFunctionalGroupsSequence)?.count == 2)
        let frames = try FrameExtraction.frames(of: file, fileIndex: 0)
        #expect(frames.map(\.position) == [SIMD3(1.5, -2, 10), SIMD3(1.5, -2, 13)])
        #expect(frames.allSatisfy { $0.spacingX == 0.25 && $0.spacingY == 0.5 && $0.rowDirection == SIMD3(1, 0, 0) })
        let volume = try DICOMScan(paths: [path]).stacks[0].load()
        #expect(volume.geometry.origin == [1.5, -2, 10])
        #expect(volume.geometry.spacing == [0.25, 0.5, 3])
        #expect(try volume.voxels(as: UInt16.self).elementsEqual([1, 2, 3, 4]))
    }
}

// MARK: - Scan and full parse agree on every file

/// Compares what the header scan derives from a file with what the full parse's typed values (the
/// decoder behind `dump` and DICOM JSON) say, counting the values compared.
private struct ScanAgreement {
    var comparedValues = 0
    var comparedFiles = 0
    var mismatches: [String] = []

    mutating func check(_ path: String) {
        guard let header = try? DICOMFile.read(path: path, extent: .headerOnly).compacted(),
              let full = try? DICOMFile.read(path: path, extent: .everything),
              header.pixelDataElement != nil, !header.isDirectory,
              let frames = try? FrameExtraction.frames(of: header, fileIndex: 0) else { return }
        comparedFiles += 1
        let top = full.dataSet
        let perFrame = top.sequence(.perFrameFunctionalGroupsSequence)
        let shared = top.firstItem(.sharedFunctionalGroupsSequence)
        let isMosaic = frames.contains { $0.tile != nil }

        // Image Pixel module and identity, the same for every frame.
        let format = frames[0].format
        expect(Double(format.rows), top.typedValue(.rows), path, "Rows")
        expect(Double(format.columns), top.typedValue(.columns), path, "Columns")
        expect(Double(format.bitsAllocated), top.typedValue(.bitsAllocated), path, "BitsAllocated")
        if let stored = numbers(top.typedValue(.bitsStored))?.first, stored >= 1, Int(stored) <= format.bitsAllocated {
            expect(Double(format.bitsStored), top.typedValue(.bitsStored), path, "BitsStored")
        }
        expect(Double(format.samplesPerPixel), top.typedValue(.samplesPerPixel) ?? .integers([1]), path, "SamplesPerPixel")
        expect(format.isSigned ? 1 : 0, top.typedValue(.pixelRepresentation) ?? .integers([0]), path, "PixelRepresentation")
        if let photometric = strings(top.typedValue(.photometricInterpretation))?.first {
            expectEqual(format.photometric, photometric.uppercased(), path, "PhotometricInterpretation")
        }
        if let uid = strings(top.typedValue(.seriesInstanceUID))?.first {
            expectEqual(frames[0].seriesInstanceUID, uid, path, "SeriesInstanceUID")
        }
        if let number = top.typedValue(.seriesNumber), frames[0].seriesNumber != nil || numbers(number)?.first.map({ $0.rounded() == $0 }) == true {
            expect(frames[0].seriesNumber.map(Double.init), number, path, "SeriesNumber")
        }
        if let type = strings(top.typedValue(.imageType)), perFrame == nil {
            expectEqual(frames[0].imageTypeKey, FrameExtraction.imageTypeKey(type), path, "ImageType")
        }
        if perFrame == nil, top.firstItem(.modalityLUTSequence) == nil, format.samplesPerPixel == 1, !format.isPalette,
           let slope = numbers(top.typedValue(.rescaleSlope))?.first, slope != 0, slope.isFinite,
           let intercept = numbers(top.typedValue(.rescaleIntercept))?.first ?? Optional(0) {
            for frame in frames {
                expectEqual("\(frame.mapping)", "\(ValueMapping.linear(slope: slope, intercept: intercept))", path, "Rescale")
            }
        }

        // RT Dose: Dose Grid Scaling as the mapping; every frame at Image Position + normal × its offset.
        if perFrame == nil, frames.count > 1, let offsets = numbers(top.typedValue(.gridFrameOffsetVector)), offsets.count == frames.count,
           let position = numbers(top.typedValue(.imagePositionPatient)), position.count == 3, let normal = frames[0].normal {
            if top.typedValue(.rescaleSlope) == nil, let scaling = numbers(top.typedValue(.doseGridScaling))?.first, scaling > 0 {
                expectEqual("\(frames[0].mapping)", "\(ValueMapping.linear(slope: scaling, intercept: 0))", path, "DoseGridScaling")
            }
            for frame in frames {
                let distance = offsets[0] == 0 ? offsets[frame.frameNumber] : nil
                if let distance {
                    let expected = SIMD3(position[0], position[1], position[2]) + normal * distance
                    expect([expected.x, expected.y, expected.z], frame.position.map { [$0.x, $0.y, $0.z] }, path,
                           "GridFrameOffsetVector position of frame \(frame.frameNumber)")
                }
            }
        }
        // Philips' private scale: the precise mapping from Scale Slope and the rescale.
        if let element = top.privateElement(group: 0x2005, element: 0x0E, creator: FrameExtraction.philipsCreator),
           perFrame == nil, let scale = numbers(top.typedValue(element.tag))?.first, scale != 0,
           case .linear(let slope, let intercept) = frames[0].mapping {
            expectEqual("\(frames[0].philipsPreciseMapping.map { "\($0)" } ?? "none")",
                        "\(ValueMapping.linear(slope: 1 / scale, intercept: intercept / (slope * scale)))", path, "Philips Scale Slope")
        }

        // A United Imaging mosaic: the slice count and the first slice's position (its Image Position).
        if isMosaic, MosaicLayout.isUnitedImaging(top),
           let count = top.privateElement(group: 0x0065, element: 0x50, creator: "Image Private Header") {
            expect(Double(frames.count), top.typedValue(count.tag), path, "UIH MRNumberOfSliceInVolume")
            if let position = numbers(top.typedValue(.imagePositionPatient)), position.count == 3 {
                expect(position, frames[0].position.map { [$0.x, $0.y, $0.z] }, path, "ImagePositionPatient of a UIH mosaic")
            }
        }

        // Geometry, frame by frame.
        for frame in frames where !isMosaic {
            let groups = perFrame.map { $0[frame.frameNumber] }
            func value(_ sequence: DICOMTag, _ tag: DICOMTag) -> DICOMTypedValue? {
                guard let groups else { return top.typedValue(tag) }
                return (groups.firstItem(sequence) ?? shared?.firstItem(sequence))?.typedValue(tag)
            }
            let position = numbers(value(.planePositionSequence, .imagePositionPatient))
            let orientation = numbers(value(.planeOrientationSequence, .imageOrientationPatient))
            let spacing = numbers(value(.pixelMeasuresSequence, .pixelSpacing))
            if let position, position.count == 3, frame.frameNumber == 0 || groups != nil, frame.position != nil {
                expect(position, frame.position.map { [$0.x, $0.y, $0.z] }, path, "ImagePositionPatient of frame \(frame.frameNumber)")
            }
            if let orientation, orientation.count == 6, let row = frame.rowDirection, let column = frame.columnDirection {
                let expected = FrameExtraction.directions(from: orientation)
                expect([expected.0?.x, expected.0?.y, expected.0?.z, expected.1?.x, expected.1?.y, expected.1?.z].compactMap { $0 },
                       [row.x, row.y, row.z, column.x, column.y, column.z], path, "ImageOrientationPatient of frame \(frame.frameNumber)")
            }
            if let spacing, spacing.count >= 2, spacing[0] > 0, spacing[1] > 0 {
                expect([spacing[1], spacing[0]], [frame.spacingX, frame.spacingY], path, "PixelSpacing of frame \(frame.frameNumber)")
            }
            if groups == nil {
                if let thickness = numbers(top.typedValue(.sliceThickness))?.first, thickness > 0 {
                    expect([thickness], frame.sliceThickness.map { [$0] }, path, "SliceThickness")
                }
                if let instance = top.typedValue(.instanceNumber), frames.count == 1 {
                    expect(frame.instanceNumber.map(Double.init), instance, path, "InstanceNumber")
                }
                if let time = numbers(top.typedValue(.echoTime))?.first {
                    expect([time], frame.echoTime.map { [$0] }, path, "EchoTime")
                }
                if let time = numbers(top.typedValue(.repetitionTime))?.first, time > 0 {
                    expect([time], frame.repetitionTime.map { [$0] }, path, "RepetitionTime")
                }
                if let tilt = numbers(top.typedValue(.gantryDetectorTilt))?.first {
                    expect([tilt], frame.gantryTilt.map { [$0] }, path, "GantryDetectorTilt")
                }
            }
        }
    }

    private func numbers(_ value: DICOMTypedValue?) -> [Double]? {
        switch value {
        case .integers(let values): values.map(Double.init)
        case .unsignedIntegers(let values): values.map(Double.init)
        case .decimals(let values): values
        default: nil
        }
    }

    private func strings(_ value: DICOMTypedValue?) -> [String]? {
        if case .strings(let values) = value { return values }
        return nil
    }

    private mutating func expect(_ scanned: Double?, _ full: DICOMTypedValue?, _ path: String, _ what: String) {
        expect(numbers(full), scanned.map { [$0] }, path, what)
    }

    private mutating func expect(_ full: [Double]?, _ scanned: [Double]?, _ path: String, _ what: String) {
        comparedValues += max(1, full?.count ?? 1)
        guard let full, let scanned, full.count == scanned.count,
              zip(full, scanned).allSatisfy({ abs($0 - $1) <= 1e-9 * max(1, abs($0)) }) else {
            mismatches.append("\(path): \(what): scan \(String(describing: scanned)), full parse \(String(describing: full))")
            return
        }
    }

    private mutating func expectEqual(_ scanned: String, _ full: String, _ path: String, _ what: String) {
        comparedValues += 1
        if scanned != full { mismatches.append("\(path): \(what): scan \(scanned), full parse \(full)") }
    }
}

/// Runs a command-line tool found on PATH; false when it is missing or fails.
private func runTool(_ arguments: [String]) -> Bool {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return false }
    process.waitUntilExit()
    return process.terminationStatus == 0
}

@Suite("One header decoder: the scan and the full parse agree")
struct ScanAgreementTests {
    /// Every DICOM file the Swift tests make (each way medvol writes DICOM, and hand-made files with
    /// UN, big-endian and functional-group encodings), and every file of `../shared/data`.
    @Test("on every fixture and every file of ../shared/data, each value the scan reads equals the full parse's")
    func scanAgreesWithFullParse() throws {
        let folder = TemporaryFolder()
        var paths: [String] = []
        for littleEndian in [true, false] {
            for unknown in [true, false] {
                paths.append(try folder.write("made/scan-\(littleEndian)-\(unknown).dcm", scanTestFile(unknownVRs: unknown, littleEndian: littleEndian)))
            }
        }
        for (index, syntax) in [TransferSyntax.explicitVRLittleEndian, .implicitVRLittleEndian].enumerated() {
            let written = try DICOMSeriesWriter.write(obliquePhantom(size: [12, 10, 4]), toDirectory: folder.file("written/\(index)"),
                                                      options: .init(transferSyntax: syntax, rescaleIntercept: -1024))
            paths += written.paths
        }
        // The same files re-encoded by DCMTK (big endian, deflated) and GDCM (RLE, JPEG-LS, JPEG 2000).
        let source = paths[paths.count - 1]
        for (name, command) in [("big.dcm", ["dcmconv", "+tb"]), ("deflated.dcm", ["dcmconv", "+td"]),
                                ("rle.dcm", ["gdcmconv", "--rle"]), ("jpegls.dcm", ["gdcmconv", "--jpegls"]),
                                ("j2k.dcm", ["gdcmconv", "--j2k"])] {
            let output = folder.file("recoded-\(name)")
            #expect(runTool(command + [source, output]), "\(command.joined(separator: " ")) failed (DCMTK and GDCM's tools are test dependencies)")
            paths.append(output)
        }
        // United Imaging mosaics, the slice count sent as DS, as UN, and in implicit VR.
        for (name, unknown, implicit) in [("ds", false, false), ("un", true, false), ("implicit", false, true)] {
            paths.append(try folder.write("made/uih-\(name).dcm", unitedImagingMosaicFile(count: 5, tileRows: 4, tileColumns: 6,
                                                                                       unknownVR: unknown, implicitVR: implicit)))
        }
        // RT Dose grids (offsets and scaling as DS and as UN) and Philips' private scale in two blocks.
        for unknown in [false, true] { paths.append(try folder.write("made/dose-\(unknown).dcm", rtDoseFile(unknownVR: unknown))) }
        for block: UInt16 in [0x10, 0x13] { paths.append(try folder.write("made/philips-\(block).dcm", philipsScaledFile(block: block))) }
        paths += try DICOMSeriesWriter.write(Phantom.mr(size: [8, 8, 3]), toDirectory: folder.file("written/mr"),
                                             options: .init(storageClass: .mr)).paths
        if let sharedDataFolder {
            let enumerator = FileManager.default.enumerator(atPath: sharedDataFolder)
            while let name = enumerator?.nextObject() as? String {
                let path = "\(sharedDataFolder)/\(name)"
                var isFolder: ObjCBool = false
                if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue,
                   !name.hasSuffix(".nii"), !name.hasSuffix(".json"), !name.hasSuffix(".gz"), !name.hasSuffix(".md") {
                    paths.append(path)
                }
            }
        }
        var agreement = ScanAgreement()
        for path in paths { agreement.check(path) }
        print("scan-vs-full-parse agreement: \(agreement.comparedValues) values compared in \(agreement.comparedFiles) files")
        #expect(agreement.mismatches.isEmpty, "\(agreement.mismatches.prefix(20).joined(separator: "\n"))")
        #expect(agreement.comparedFiles >= (sharedDataFolder == nil ? 20 : 200))
        #expect(agreement.comparedValues > agreement.comparedFiles * 15)
    }
}

/// An RT Dose grid (multi-frame, Grid Frame Offset Vector, Dose Grid Scaling), its numbers as UN when
/// `unknownVR`, for the scan-vs-full-parse agreement.
func rtDoseFile(unknownVR: Bool) -> [UInt8] {
    let frames = 3, rows = 2, columns = 3
    let pixels = (0..<(frames * rows * columns)).flatMap { value in withUnsafeBytes(of: UInt16(value * 100).littleEndian) { Array($0) } }
    func text(_ value: String) -> [UInt8] { Array(value.utf8) + (value.utf8.count % 2 == 1 ? [0x20] : []) }
    return DICOMBytes.part10(transferSyntax: "1.2.840.10008.1.2.1") { data in
        data.text(0x0008, 0x0016, "UI", "1.2.840.10008.5.1.4.1.1.481.2", pad: 0)
        data.text(0x0008, 0x0018, "UI", "1.2.3.4.9.1", pad: 0)
        data.text(0x0008, 0x0060, "CS", "RTDOSE")
        data.text(0x0020, 0x000E, "UI", "1.2.3.9", pad: 0)
        data.text(0x0020, 0x0032, "DS", "-10\\20.5\\-30")
        data.text(0x0020, 0x0037, "DS", "1\\0\\0\\0\\1\\0")
        data.us(0x0028, 0x0002, 1)
        data.text(0x0028, 0x0004, "CS", "MONOCHROME2")
        data.text(0x0028, 0x0008, "IS", "\(frames)")
        data.us(0x0028, 0x0010, UInt16(rows))
        data.us(0x0028, 0x0011, UInt16(columns))
        data.text(0x0028, 0x0030, "DS", "2.5\\2")
        data.us(0x0028, 0x0100, 16)
        data.us(0x0028, 0x0101, 16)
        data.us(0x0028, 0x0102, 15)
        data.us(0x0028, 0x0103, 0)
        data.text(0x3004, 0x0002, "CS", "GY")
        data.element(0x3004, 0x000C, unknownVR ? "UN" : "DS", text("0\\3\\6"))
        data.element(0x3004, 0x000E, unknownVR ? "UN" : "DS", text("0.0001"))
        data.element(0x7FE0, 0x0010, "OW", pixels)
    }
}

/// A Philips MR image with its private scale (2005,xx0E/xx0D in a block reserved at `block`).
func philipsScaledFile(block: UInt16) -> [UInt8] {
    let pixels = (0..<6).flatMap { value in withUnsafeBytes(of: UInt16(value * 7).littleEndian) { Array($0) } }
    return DICOMBytes.part10(transferSyntax: "1.2.840.10008.1.2.1") { data in
        data.text(0x0008, 0x0018, "UI", "1.2.3.4.8.1", pad: 0)
        data.text(0x0008, 0x0060, "CS", "MR")
        data.text(0x0008, 0x0070, "LO", "Philips")
        data.text(0x0020, 0x000E, "UI", "1.2.3.8", pad: 0)
        data.text(0x0020, 0x0032, "DS", "0\\0\\0")
        data.text(0x0020, 0x0037, "DS", "1\\0\\0\\0\\1\\0")
        data.us(0x0028, 0x0002, 1)
        data.text(0x0028, 0x0004, "CS", "MONOCHROME2")
        data.us(0x0028, 0x0010, 2)
        data.us(0x0028, 0x0011, 3)
        data.text(0x0028, 0x0030, "DS", "1\\1")
        data.us(0x0028, 0x0100, 16)
        data.us(0x0028, 0x0101, 12)
        data.us(0x0028, 0x0102, 11)
        data.us(0x0028, 0x0103, 0)
        data.text(0x0028, 0x1052, "DS", "-5")
        data.text(0x0028, 0x1053, "DS", "2.5")
        data.text(0x2005, block, "LO", "Philips MR Imaging DD 001")
        data.element(0x2005, block << 8 | 0x0D, "FL", withUnsafeBytes(of: Float(1.5).bitPattern.littleEndian) { Array($0) })
        data.element(0x2005, block << 8 | 0x0E, "FL", withUnsafeBytes(of: Float(0.125).bitPattern.littleEndian) { Array($0) })
        data.element(0x7FE0, 0x0010, "OW", pixels)
    }
}
