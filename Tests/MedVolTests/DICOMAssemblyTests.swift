import Testing
@testable import MedVol

/// One synthetic slice file: every attribute assembly looks at can be set.
struct SliceSpec {
    var position: [Double] = [0, 0, 0]
    var orientation: [Double] = [1, 0, 0, 0, 1, 0]
    var instance = 1
    var series = "1.2.826.0.1.1"
    var seriesNumber = 1
    var sop = "1.2.826.0.1.1.1"
    var imageType = "ORIGINAL\\PRIMARY\\AXIAL"
    var rows: UInt16 = 2
    var columns: UInt16 = 3
    var bitsAllocated: UInt16 = 16
    var bitsStored: UInt16 = 16
    var signed = true
    var slope: String?
    var intercept: String?
    var acquisition: Int?
    var positionsAbsent = false
    /// Stored values, row by row.
    var values: [Int] = [0, 1, 2, 3, 4, 5]

    func bytes() -> [UInt8] {
        DICOMBytes.part10(transferSyntax: "1.2.840.10008.1.2.1") { data in
            data.text(0x0008, 0x0008, "CS", imageType)
            data.text(0x0008, 0x0018, "UI", sop, pad: 0)
            data.text(0x0008, 0x0060, "CS", "CT")
            data.text(0x0020, 0x000E, "UI", series, pad: 0)
            data.text(0x0020, 0x0011, "IS", String(seriesNumber))
            if let acquisition { data.text(0x0020, 0x0012, "IS", String(acquisition)) }
            data.text(0x0020, 0x0013, "IS", String(instance))
            if !positionsAbsent {
                data.text(0x0020, 0x0032, "DS", position.map { formatNumber($0) }.joined(separator: "\\"))
                data.text(0x0020, 0x0037, "DS", orientation.map { formatNumber($0) }.joined(separator: "\\"))
            }
            data.us(0x0028, 0x0002, 1)
            data.text(0x0028, 0x0004, "CS", "MONOCHROME2")
            data.us(0x0028, 0x0010, rows)
            data.us(0x0028, 0x0011, columns)
            data.text(0x0028, 0x0030, "DS", "0.5\\0.25")
            data.us(0x0028, 0x0100, bitsAllocated)
            data.us(0x0028, 0x0101, bitsStored)
            data.us(0x0028, 0x0102, bitsStored - 1)
            data.us(0x0028, 0x0103, signed ? 1 : 0)
            if let intercept { data.text(0x0028, 0x1052, "DS", intercept) }
            if let slope { data.text(0x0028, 0x1053, "DS", slope) }
            var pixels: [UInt8] = []
            for value in values {
                let raw = UInt32(bitPattern: Int32(value))
                pixels += bitsAllocated == 8 ? [UInt8(raw & 0xFF)] : [UInt8(raw & 0xFF), UInt8(raw >> 8 & 0xFF)]
            }
            if pixels.count % 2 == 1 { pixels.append(0) }
            data.element(0x7FE0, 0x0010, bitsAllocated == 8 ? "OB" : "OW", pixels)
        }
    }
}

/// Writes slices into a temporary folder, scans it, and runs `body` while the files exist.
func withScan<R>(_ slices: [SliceSpec], names: [String]? = nil, _ body: (DICOMScan) throws -> R) throws -> R {
    let folder = TemporaryFolder()
    for (index, slice) in slices.enumerated() {
        _ = try folder.write(names?[index] ?? "slice\(index).dcm", slice.bytes())
    }
    return try withExtendedLifetime(folder) { try body(DICOMScan(paths: [folder.path])) }
}

/// The one stack that `slices` make, loaded.
func loadOnlyStack(_ slices: [SliceSpec]) throws -> Volume {
    try withScan(slices) { scan in try #require(scan.stacks.first).load() }
}

/// `count` axial slices 2 mm apart, slice k holding values 10·k + pixel.
func axialSeries(_ count: Int, spacing: Double = 2, configure: (Int, inout SliceSpec) -> Void = { _, _ in }) -> [SliceSpec] {
    (0..<count).map { k in
        var slice = SliceSpec()
        slice.position = [-10, -20, 5 + Double(k) * spacing]
        slice.instance = k + 1
        slice.sop = "1.2.826.0.1.1.\(k + 1)"
        slice.values = (0..<6).map { 10 * k + $0 }
        configure(k, &slice)
        return slice
    }
}

@Suite("DICOM assembly")
struct DICOMAssemblyTests {
    @Test("slices are ordered by position, not by file name or instance number")
    func orderByPosition() throws {
        // Instance numbers run against position; file names are shuffled.
        let slices = axialSeries(5) { k, slice in slice.instance = 5 - k }
        try withScan(slices, names: ["e.dcm", "b.dcm", "d.dcm", "a.dcm", "c.dcm"]) { scan in
            let stack = try #require(scan.stacks.first)
            #expect(scan.stacks.count == 1)
            let volume = try stack.load()
            #expect(volume.size == [3, 2, 5])
            #expect(volume.pixelType == .int16)
            for k in 0..<5 { #expect(volume.value(0, 0, k) == Double(10 * k)) }
            #expect(volume.value(2, 1, 4) == 45)
            #expect(volume.origin == SIMD3(-10, -20, 5))
            #expect(abs(volume.spacing.z - 2) < 1e-9)
            #expect(volume.spacing.x == 0.25 && volume.spacing.y == 0.5)   // PixelSpacing is row\column
            #expect(volume.direction == .identity)
        }
    }

    @Test("several images per position make a 4D volume ordered by acquisition")
    func fourD() throws {
        var slices: [SliceSpec] = []
        for t in 0..<3 {
            slices += axialSeries(4) { k, slice in
                slice.acquisition = 3 - t          // later volumes have smaller acquisition numbers
                slice.sop = "1.2.826.0.1.1.\(t).\(k)"
                slice.values = (0..<6).map { 100 * (3 - t) + 10 * k + $0 }
            }
        }
        let volume = try loadOnlyStack(slices)
        #expect(volume.size == [3, 2, 4, 3])
        #expect(volume.timeSpacing == 1)
        for t in 0..<3 { for k in 0..<4 { #expect(volume.value(0, 0, k, t) == Double(100 * (t + 1) + 10 * k)) } }
    }

    @Test("a 4D series with one image missing is a clear error naming positions and counts")
    func unequalCounts() throws {
        var slices: [SliceSpec] = []
        for t in 0..<2 {
            slices += axialSeries(4) { k, slice in
                slice.acquisition = t + 1
                slice.sop = "1.2.826.0.1.1.\(t).\(k)"
            }
        }
        slices.removeLast()
        try withScan(slices) { scan in
            let stack = try #require(scan.stacks.first)
            guard case .noVolume(let error) = stack.state else { Issue.record("\(stack.state)"); return }
            #expect(stack.geometry == nil)
            #expect(error.code == .inconsistentSeries)
            let problem = error.reason
            #expect(problem.contains("3 positions hold 2"))
            #expect(problem.contains("1 position hold 1 (at 11 mm"))
            #expect(throws: MedVolError.self) { _ = try stack.load() }
        }
    }

    @Test("missing slices and uneven spacing are reported with positions")
    func spacingReports() throws {
        var slices = axialSeries(6)
        slices.remove(at: 3)   // a gap of 4 mm between 4 and 8 (relative)
        try withScan(slices) { scan in
            let warnings = try #require(scan.stacks.first).warnings
            let missing = warnings.compactMap { warning -> (Int, SliceGap, Double)? in
                if case let .missingSlices(count, gap, typical) = warning { return (count, gap, typical) }
                return nil
            }
            #expect(missing.count == 1)
            #expect(missing.first?.0 == 1 && missing.first?.1.slice == 2 && missing.first?.2 == 2)
            #expect(warnings.map(\.description).contains { $0.contains("missing slice: 1 slice missing between slices 2 and 3 (at 9 and 13 mm") })
            #expect(warnings.last.map { if case .meanSliceSpacing = $0 { true } else { false } } == true)
        }
        let uneven = axialSeries(5) { k, slice in if k == 4 { slice.position[2] += 0.5 } }
        try withScan(uneven) { scan2 in
            let unevenWarnings = try #require(scan2.stacks.first).warnings
            guard case let .unevenSpacing(typical, gaps) = try #require(unevenWarnings.first) else { Issue.record("\(unevenWarnings)"); return }
            #expect(typical == 2 && gaps.map(\.slice) == [3] && abs(gaps[0].gap - 2.5) < 1e-9)
            #expect(unevenWarnings[0].description.hasPrefix("uneven slice spacing: typical gap 2 mm, but 2.5 mm between slices 3 and 4"))
        }
    }

    @Test("gantry tilt is detected from positions that shift in-plane")
    func tilt() throws {
        let slices = axialSeries(5) { k, slice in slice.position[1] += Double(k) * 2 * 0.2679 }   // 15° tilt
        try withScan(slices) { scan in
            let warnings = try #require(scan.stacks.first).warnings
            let degrees = warnings.compactMap { warning -> Double? in
                if case let .gantryTilt(_, _, degrees, _) = warning { return degrees }
                return nil
            }
            #expect(degrees.count == 1 && abs(degrees[0] - 15) < 0.01)
            #expect(warnings.map(\.description).contains { $0.hasPrefix("gantry tilt:") && $0.contains("(15°") })
        }
    }

    @Test("a localizer inside a series becomes its own stack")
    func localizer() throws {
        var slices = axialSeries(4)
        var scout = SliceSpec()
        scout.orientation = [1, 0, 0, 0, 0, -1]
        scout.imageType = "ORIGINAL\\PRIMARY\\LOCALIZER"
        scout.sop = "1.2.826.0.1.1.99"
        slices.append(scout)
        try withScan(slices) { scan in
            #expect(scan.stacks.count == 2)
            #expect(scan.stacks[0].imageCount == 4)
            #expect(scan.stacks[1].imageCount == 1)
            #expect(scan.stacks[0].formation.isSplit)
            guard case let .split(criteria, values, count, seriesCount, _) = scan.stacks[1].formation else {
                Issue.record("\(scan.stacks[1].formation)"); return
            }
            #expect(criteria == [.orientation, .imageType] && count == 1 && seriesCount == 5)
            #expect(values.first?.hasPrefix("coronal orientation") == true)
            #expect(scan.stacks[1].formation.description.contains("split by orientation, image type"))
            #expect(scan.stacks[1].plane == .coronal)
            #expect(scan.stacks[0].plane == .axial)
        }
    }

    @Test("the same SOP instance twice is read once, with a warning")
    func duplicates() throws {
        var slices = axialSeries(3)
        slices.append(slices[1])
        try withScan(slices) { scan in
            let stack = try #require(scan.stacks.first)
            #expect(stack.imageCount == 3)
            let duplicated = stack.warnings.compactMap { warning -> String? in
                if case let .duplicateInstance(uid, _, _) = warning { return uid }
                return nil
            }
            #expect(duplicated == ["1.2.826.0.1.1.2"])
            #expect(stack.warnings.map(\.description).contains { $0.contains("duplicate SOP Instance 1.2.826.0.1.1.2") })
        }
    }

    @Test("two series in one folder give two stacks, chosen by index or UID")
    func twoSeries() throws {
        let first = axialSeries(3)
        let second = axialSeries(2) { k, slice in
            slice.series = "1.2.826.0.1.2"
            slice.seriesNumber = 2
            slice.sop = "1.2.826.0.1.2.\(k)"
        }
        try withScan(first + second) { scan in
            #expect(scan.stacks.map(\.imageCount) == [3, 2])
            let second = try scan.stack(matching: "2")
            let first = try scan.stack(matching: "1.2.826.0.1.1")
            #expect(second.seriesInstanceUID == "1.2.826.0.1.2")
            #expect(first.index == 1)
            #expect(throws: MedVolError.self) { _ = try scan.stack(matching: "3") }
        }
    }

    @Test("files that are not DICOM images are skipped with a reason")
    func skipped() throws {
        let folder = TemporaryFolder()
        _ = try folder.write("notes.txt", Array("hello".utf8))
        _ = try folder.write("slice.dcm", axialSeries(1)[0].bytes())
        let report = DICOMBytes.part10(transferSyntax: "1.2.840.10008.1.2.1") { data in
            data.text(0x0008, 0x0016, "UI", "1.2.840.10008.5.1.4.1.1.88.11", pad: 0)
        }
        _ = try folder.write("report.dcm", report)
        let scan = try DICOMScan(paths: [folder.path])
        #expect(scan.stacks.count == 1)
        #expect(scan.skipped.count == 2)
        #expect(scan.skipped.contains { $0.path.hasSuffix("notes.txt") && $0.reason.hasPrefix("not a DICOM file") })
        #expect(scan.skipped.contains { $0.path.hasSuffix("report.dcm") && $0.reason == "not an image: Basic Text SR Storage has no Pixel Data" })
    }

    @Test("truncated pixel data: the file's stack cannot be loaded, and says why (never a slice left out)")
    func truncatedPixelData() throws {
        let folder = TemporaryFolder()
        let slices = axialSeries(3)
        for (index, slice) in slices.enumerated() {
            let bytes = slice.bytes()
            _ = try folder.write("s\(index).dcm", index == 1 ? Array(bytes.dropLast(4)) : bytes)
        }
        let scan = try DICOMScan(paths: [folder.path])
        #expect(scan.skipped.isEmpty)
        let stack = try #require(scan.stacks.first)
        guard case let .undecodablePixels(geometry, error) = stack.state else { Issue.record("\(stack.state)"); return }
        #expect(geometry.size == stack.size && stack.geometry != nil)
        #expect(error.path?.hasSuffix("s1.dcm") == true)
        let problem = error.description
        #expect(problem.contains("s1.dcm: pixel data truncated: "))
        #expect(problem.hasSuffix(" bytes present"))
        #expect(throws: MedVolError.self) { try stack.load() }
    }

    @Test("images without position or orientation: origin 0, identity, by instance number")
    func noGeometry() throws {
        let slices = axialSeries(3) { k, slice in
            slice.positionsAbsent = true
            slice.instance = 3 - k
        }
        try withScan(slices) { scan in
            let stack = try #require(scan.stacks.first)
            let volume = try stack.load()
            #expect(volume.origin == .zero)
            #expect(volume.direction == .identity)
            #expect(volume.value(0, 0, 0) == 20)   // instance 1 is the last slice written
            #expect(stack.warnings.contains(.noPosition(someHavePositions: false)))
            #expect(stack.warnings.map(\.description).contains { $0.contains("no position or orientation") })
        }
    }

    @Test("oblique orientation: direction columns are row, column and their cross product")
    func oblique() throws {
        let row = [0.8660254, 0.5, 0.0], column = [-0.3535534, 0.6123724, 0.7071068]
        let normal = SIMD3(row[1] * column[2] - row[2] * column[1], row[2] * column[0] - row[0] * column[2], row[0] * column[1] - row[1] * column[0])
        let slices = (0..<3).map { k -> SliceSpec in
            var slice = SliceSpec()
            slice.orientation = row + column
            let p = SIMD3(3.0, -4.0, 7.5) + normal * (1.5 * Double(2 - k))   // written in reverse
            slice.position = [p.x, p.y, p.z]
            slice.sop = "1.2.826.0.1.1.\(k)"
            slice.values = (0..<6).map { 10 * k + $0 }
            return slice
        }
        let volume = try loadOnlyStack(slices)
        #expect(abs(volume.spacing.z - 1.5) < 1e-6)
        #expect(volume.value(0, 0, 0) == 20)     // the slice at the lowest position along the normal
        let expectedOrigin = SIMD3(3.0, -4.0, 7.5)
        #expect(abs(volume.origin.x - expectedOrigin.x) < 1e-6 && abs(volume.origin.z - expectedOrigin.z) < 1e-6)
        #expect(abs(volume.direction[0, 0] - 0.8660254) < 1e-6)
        #expect(abs(volume.direction[2, 1] - 0.7071068) < 1e-6)
        #expect(abs(volume.direction.determinant - 1) < 1e-6)
    }
}

@Suite("Voxel values")
struct VoxelValueTests {
    @Test("CT stored unsigned with intercept −1024 becomes int16")
    func unsignedCT() throws {
        let slices = axialSeries(2) { k, slice in
            slice.signed = false
            slice.bitsStored = 12
            slice.intercept = "-1024"
            slice.slope = "1"
            slice.values = [0, 1024, 4095, 24, 2000, 1000 + k]
        }
        let volume = try loadOnlyStack(slices)
        #expect(volume.pixelType == .int16)
        #expect(Array(try volume.voxels(as: Int16.self).prefix(6)) == [-1024, 0, 3071, -1000, 976, -24])
        #expect(volume.metadata.valueTransform == "value = stored × 1 + -1024")
    }

    @Test("values that do not fit the provisional type widen to int32")
    func widening() throws {
        let slices = axialSeries(2) { _, slice in
            slice.signed = false
            slice.intercept = "-1024"
            slice.values = [0, 65535, 1, 2, 3, 4]
        }
        let volume = try loadOnlyStack(slices)
        #expect(volume.pixelType == .int32)
        #expect(volume.value(1, 0, 0) == 64511)
        #expect(volume.value(0, 0, 0) == -1024)
    }

    @Test("small rescaled ranges take the smallest type that holds them")
    func narrowing() throws {
        let slices = axialSeries(2) { _, slice in
            slice.signed = false
            slice.intercept = "-100"
            slice.values = [0, 50, 100, 150, 200, 227]
        }
        let volume = try loadOnlyStack(slices)
        #expect(volume.pixelType == .int8)
        #expect(Array(try volume.voxels(as: Int8.self).prefix(6)) == [-100, -50, 0, 50, 100, 127])
    }

    @Test("non-integer slope gives float32; --stored-values keeps the stored type")
    func floatAndStored() throws {
        let slices = axialSeries(2) { _, slice in
            slice.slope = "0.5"
            slice.intercept = "1"
            slice.values = [0, 1, 2, 3, -4, 5]
        }
        try withScan(slices) { scan in
            let stack = try #require(scan.stacks.first)
            let volume = try stack.load()
            #expect(volume.pixelType == .float32)
            #expect(Array(try volume.voxels(as: Float.self).prefix(6)) == [1, 1.5, 2, 2.5, -1, 3.5])
            let stored = try stack.load(options: DICOMLoadOptions(storedValues: true))
            #expect(stored.pixelType == .int16)
            #expect(Array(try stored.voxels(as: Int16.self).prefix(6)) == [0, 1, 2, 3, -4, 5])
        }
    }

    @Test("slopes that differ between slices are applied per slice")
    func perSliceRescale() throws {
        let slices = axialSeries(2) { k, slice in
            slice.slope = k == 0 ? "1" : "2"
            slice.values = [1, 2, 3, 4, 5, 6]
        }
        let volume = try loadOnlyStack(slices)
        #expect(volume.pixelType == .int16)
        #expect(volume.value(0, 0, 0) == 1 && volume.value(0, 0, 1) == 2)
        #expect(volume.value(2, 1, 1) == 12)
    }

    @Test("12 bits stored: bits above are cleared, signed values sign-extended")
    func twelveBit() throws {
        let slices = axialSeries(2) { _, slice in
            slice.bitsStored = 12
            slice.signed = true
            // 0xF800 has garbage above bit 11 (0xF000) and bit 11 set: −2048; 0x17FF → 2047.
            slice.values = [Int(Int16(bitPattern: 0xF800)), 0x17FF, 0x0001, Int(Int16(bitPattern: 0xFFFF)), 0, 5]
        }
        let volume = try loadOnlyStack(slices)
        #expect(Array(try volume.voxels(as: Int16.self).prefix(6)) == [-2048, 2047, 1, -1, 0, 5])
    }

    @Test("plan: the stored type when it holds every possible value")
    func plan() {
        let format = StoredPixelFormat(rows: 1, columns: 1, samplesPerPixel: 1, bitsAllocated: 16, bitsStored: 12, isSigned: false, photometric: "MONOCHROME2")
        #expect(VoxelTypeRule.plan(format: format, mappings: [.identity], storedValues: false) == .fixed(.uint16))
        #expect(VoxelTypeRule.plan(format: format, mappings: [.linear(slope: 1, intercept: -1024)], storedValues: false) == .measured(provisional: .int16))
        #expect(VoxelTypeRule.plan(format: format, mappings: [.linear(slope: 2.5, intercept: 0)], storedValues: false) == .fixed(.float32))
        let full = StoredPixelFormat(rows: 1, columns: 1, samplesPerPixel: 1, bitsAllocated: 16, bitsStored: 16, isSigned: false, photometric: "MONOCHROME2")
        #expect(VoxelTypeRule.plan(format: full, mappings: [.linear(slope: 1, intercept: -1024)], storedValues: false) == .measured(provisional: .int16))
        #expect(VoxelTypeRule.finalType(stored: .uint16, range: 0...200) == .uint16)
        #expect(VoxelTypeRule.finalType(stored: .uint16, range: -1024...3071) == .int16)
        #expect(VoxelTypeRule.finalType(stored: .uint16, range: -1024...40000) == .int32)
    }
}

@Suite("Geometry and outputs")
struct GeometryAndOutputTests {
    @Test("orientation codes, including a non-finite direction")
    func orientationCodes() {
        #expect(DirectionMatrix.identity.orientationCode == "LPS")
        #expect(DirectionMatrix(rowMajor: [-1, 0, 0, 0, -1, 0, 0, 0, 1]).orientationCode == "RAS")
        #expect(DirectionMatrix(rowMajor: [1, 0, 0, 0, 0, 1, 0, -1, 0]).orientationCode == "LIP")
        #expect(DirectionMatrix(rowMajor: [.nan, 0, 0, 0, 1, 0, 0, 0, 1]).orientationCode == "???")
    }

    @Test("index ↔ point round trip on an oblique grid")
    func indexPointRoundTrip() {
        let geometry = ImageGeometry(size: [10, 12, 14], spacing: SIMD3(0.7, 0.9, 2.5), origin: SIMD3(-10, 20, 30),
                                     direction: DirectionMatrix(columns: SIMD3(0.6, 0.8, 0), SIMD3(-0.8, 0.6, 0), SIMD3(0, 0, 1)))
        let point = geometry.transformIndexToPhysicalPoint(3, 4, 5)
        #expect(abs(point.x - (-10 + 0.6 * 2.1 - 0.8 * 3.6)) < 1e-12)
        let back = geometry.transformPhysicalPointToContinuousIndex(point)
        #expect(abs(back.x - 3) < 1e-12 && abs(back.y - 4) < 1e-12 && abs(back.z - 5) < 1e-12)
    }

    @Test("a file output never replaces a folder, even with overwrite")
    func fileDoesNotReplaceFolder() throws {
        let folder = TemporaryFolder()
        let target = folder.file("out.mhd")
        try FileSystem.createDirectory(target)
        do {
            try OutputTransaction.write(outputs: [target], overwrite: true) { transaction in
                let file = try WritableFile(creating: transaction.stagingPath(for: target))
                try file.write([1, 2, 3])
                try file.close()
            }
            Issue.record("expected an error")
        } catch let error as MedVolError {
            #expect(error.code == .outputExists)
        }
        #expect(FileSystem.kind(of: target) == .directory)
        #expect(folder.contents() == ["out.mhd"])
    }
}

@Suite("Streaming conversion")
struct StreamingConversionTests {
    /// A CT stored unsigned (12 bits) with intercept −1024, whose values settle on int16 (a measured type).
    func unsignedCT(_ count: Int) -> [SliceSpec] {
        axialSeries(count) { k, slice in
            slice.signed = false
            slice.bitsStored = 12
            slice.intercept = "-1024"
            slice.values = [0, 1024, 4095, 24, 2000, 1000 + k]
        }
    }

    /// Converts with `DICOMStack.convert` and reads the result back; it must equal `load()`.
    func check(_ slices: [SliceSpec], format: VolumeFileFormat, expectStreamed: Bool, expectType: PixelType) throws {
        try withScan(slices) { scan in
            let stack = try #require(scan.stacks.first)
            let loaded = try stack.load()
            let folder = TemporaryFolder()
            let path = folder.file("out.\(format.fileExtension)")
            let result = try stack.write(to: path, format: format)
            #expect(result.streamed == expectStreamed)
            #expect(result.info.pixelType == expectType)
            #expect(loaded.pixelType == expectType)
            let back = try Volume(contentsOf: path)
            #expect(back.pixelType == loaded.pixelType)
            #expect(back.geometry.isCongruent(with: loaded.geometry))
            back.withUnsafeBytes { a in loaded.withUnsafeBytes { b in #expect(a.elementsEqual(b)) } }
            #expect(folder.contents() == result.paths.map { FileSystem.lastComponent(of: $0) }.sorted())
        }
    }

    @Test("CT stored unsigned with intercept −1024 streams into .mhd and .npy as int16")
    func streamsInt16() throws {
        let slices = unsignedCT(4)
        try check(slices, format: .metaImage, expectStreamed: true, expectType: .int16)
        try check(slices, format: .numpy, expectStreamed: true, expectType: .int16)
    }

    @Test("values that settle on a narrower or a wider type fall back to load-then-write")
    func fallbacks() throws {
        let narrow = axialSeries(2) { _, slice in
            slice.signed = false
            slice.intercept = "-100"
            slice.values = [0, 50, 100, 150, 200, 227]
        }
        try check(narrow, format: .numpy, expectStreamed: false, expectType: .int8)
        let wide = axialSeries(2) { _, slice in
            slice.signed = false
            slice.intercept = "-1024"
            slice.values = [0, 65535, 1, 2, 3, 4]
        }
        try check(wide, format: .metaImage, expectStreamed: false, expectType: .int32)
    }

    @Test("float32, relabelled types and other formats")
    func otherCases() throws {
        let float = axialSeries(3) { _, slice in
            slice.slope = "0.5"
            slice.values = [0, 1, 2, 3, -4, 5]
        }
        try check(float, format: .numpy, expectStreamed: true, expectType: .float32)
        // Stored uint16 with intercept −1024 whose values all stay ≥ 0 settle on uint16 (same size: relabel).
        let relabel = relabelledCT(2)
        try check(relabel, format: .metaImage, expectStreamed: true, expectType: .uint16)
        // NIfTI streams too (.nii straight into the file, .nii.gz in compressed blocks); NRRD does not.
        try check(axialSeries(3), format: .nifti, expectStreamed: true, expectType: .int16)
        try check(axialSeries(3), format: .niftiCompressed, expectStreamed: true, expectType: .int16)
        try check(axialSeries(3), format: .nrrd, expectStreamed: true, expectType: .int16)
        try check(axialSeries(3), format: .nrrdDetached, expectStreamed: true, expectType: .int16)
        try check(axialSeries(3), format: .metaImageSingleFile, expectStreamed: true, expectType: .int16)
        try check(axialSeries(3), format: .numpyArchive, expectStreamed: true, expectType: .int16)
        try check(relabel, format: .numpyArchive, expectStreamed: true, expectType: .uint16)
    }

    /// Stored uint16 with intercept −1024 whose values all stay ≥ 0: settles on uint16 (same size as int16).
    func relabelledCT(_ count: Int) -> [SliceSpec] {
        axialSeries(count) { _, slice in
            slice.signed = false
            slice.intercept = "-1024"
            slice.values = [1024, 2000, 3000, 4000, 5000, 30000]
        }
    }

    /// Writes the stack of `slices` as `name` streamed (checked) and from its loaded volume, in `folder`;
    /// returns the streamed file's bytes, the loaded write's and the loaded volume.
    func streamedAndLoaded(_ slices: [SliceSpec], _ name: String, options: VolumeWriteOptions,
                           in folder: TemporaryFolder) throws -> (streamed: [UInt8], loaded: [UInt8], volume: Volume) {
        try withScan(slices) { scan in
            let stack = try #require(scan.stacks.first)
            #expect(try stack.write(to: folder.file("streamed-" + name), options: options).streamed)
            let volume = try stack.load()
            try volume.write(to: folder.file("loaded-" + name), options: options)
            return (try ReadableFile(path: folder.file("streamed-" + name)).readAll(),
                    try ReadableFile(path: folder.file("loaded-" + name)).readAll(), volume)
        }
    }

    @Test("a compressed .mha streams: the loaded write's bytes when the headers fix the type; ITK reads the loaded volume")
    func compressedSingleFileStreams() throws {
        for (slices, fixedType) in [(axialSeries(3), true), (unsignedCT(5), false)] {
            let folder = TemporaryFolder()
            let (streamed, loadedBytes, loaded) = try streamedAndLoaded(slices, "v.mha", options: VolumeWriteOptions(compress: true), in: folder)
            #expect((streamed == loadedBytes) == fixedType)
            #expect(String(decoding: streamed.prefix(400), as: UTF8.self).contains("CompressedData = True"))
            for reader in ["ITK", "medvol"] {
                let path = folder.file("streamed-v.mha")
                let back = reader == "ITK" ? try ITKImageFile.read(path: path, format: .metaImageSingleFile) : try Volume(contentsOf: path)
                #expect(back.pixelType == loaded.pixelType, "\(reader)")
                #expect(back.geometry.isCongruent(with: loaded.geometry), "\(reader)")
                back.withUnsafeBytes { a in loaded.withUnsafeBytes { b in #expect(a.elementsEqual(b), "\(reader)") } }
            }
        }
    }

    @Test("an .npz streams, stored or deflated: the same bytes as the loaded volume's write (CRC-32 and headers written last)",
          arguments: [false, true])
    func archiveStreams(compress: Bool) throws {
        for slices in [axialSeries(3), unsignedCT(5), relabelledCT(2)] {
            let folder = TemporaryFolder()
            let (streamed, loaded, _) = try streamedAndLoaded(slices, "v.npz", options: VolumeWriteOptions(compress: compress), in: folder)
            #expect(streamed == loaded)
            // Damage one byte: the reader's checks (the CRC-32 for the voxels) find it.
            var damaged = streamed
            damaged[damaged.count / 3] ^= 0x01
            let path = try folder.write("damaged.npz", damaged)
            #expect(medVolError { _ = try Volume(contentsOf: path) } != nil)
        }
    }

    @Test(".mhd --compress streams its .zraw as one zlib stream: ITK reads the loaded volume, CompressedDataSize is the file's size")
    func compressedMetaImageStreams() throws {
        let measured = unsignedCT(5)
        for slices in [axialSeries(3), measured] {
            try withScan(slices) { scan in
                let stack = try #require(scan.stacks.first)
                let folder = TemporaryFolder()
                let path = folder.file("out.mhd")
                let result = try stack.write(to: path, options: VolumeWriteOptions(compress: true))
                #expect(result.streamed)
                #expect(folder.contents() == ["out.mhd", "out.zraw"])
                let loaded = try stack.load()
                let header = String(decoding: try ReadableFile(path: path).readAll(), as: UTF8.self)
                let zraw = try ReadableFile(path: folder.file("out.zraw"))
                #expect(header.contains("CompressedData = True\nCompressedDataSize = \(zraw.size)\n"))
                #expect(header.contains("ElementDataFile = out.zraw\n"))
                let byITK = try ITKImageFile.read(path: path, format: .metaImage)
                #expect(byITK.pixelType == loaded.pixelType)
                #expect(FormatFixtures.bytes(of: byITK) == FormatFixtures.bytes(of: loaded))
                let back = try Volume(contentsOf: path)
                back.withUnsafeBytes { a in loaded.withUnsafeBytes { b in #expect(a.elementsEqual(b)) } }
            }
        }
    }

    @Test(".mha and .nrrd stream: ITK's header byte for byte when the headers fix the type, one padding comment line when the values chose it",
          arguments: [(VolumeFileFormat.metaImageSingleFile, false), (.nrrd, false), (.nrrd, true)])
    func singleFileHeadersStream(format: VolumeFileFormat, compress: Bool) throws {
        let fixed = axialSeries(3)
        let measuredSigned = unsignedCT(4)
        let measuredUnsigned = axialSeries(2) { _, slice in
            slice.signed = false
            slice.intercept = "-1024"
            slice.values = [1024, 2000, 3000, 4000, 5000, 30000]
        }
        let options = VolumeWriteOptions(compress: compress)
        for (slices, type, padded) in [(fixed, PixelType.int16, false), (measuredSigned, .int16, true), (measuredUnsigned, .uint16, true)] {
            try withScan(slices) { scan in
                let stack = try #require(scan.stacks.first)
                let folder = TemporaryFolder()
                let streamedPath = folder.file("streamed.\(format.fileExtension)")
                let loadedPath = folder.file("loaded.\(format.fileExtension)")
                let result = try stack.write(to: streamedPath, format: format, options: options)
                #expect(result.streamed && result.info.pixelType == type)
                let loaded = try stack.load()
                try loaded.write(to: loadedPath, format: format, options: options)
                let streamedBytes = try ReadableFile(path: streamedPath).readAll()
                let loadedBytes = try ReadableFile(path: loadedPath).readAll()
                let back = try Volume(contentsOf: streamedPath)
                #expect(back.pixelType == type && back.geometry.isCongruent(with: loaded.geometry))
                // The padding keeps the file on the Swift reader (not ITK's fallback).
                if format == .metaImageSingleFile { #expect(try MetaImageReader.open(path: streamedPath) != nil) }
                back.withUnsafeBytes { a in loaded.withUnsafeBytes { b in #expect(a.elementsEqual(b)) } }
                // What ITK reads from the streamed file is the loaded volume.
                let byITK = try ITKImageFile.read(path: streamedPath, format: format)
                #expect(FormatFixtures.bytes(of: byITK) == FormatFixtures.bytes(of: loaded))
                #expect(byITK.geometry.isCongruent(with: loaded.geometry))
                let end = format == .nrrd ? Array("\n\n".utf8) : Array("ElementDataFile = LOCAL\n".utf8)
                func headerText(_ bytes: [UInt8]) -> String {
                    let range = bytes.firstRange(of: end)!
                    return String(decoding: bytes[..<range.upperBound], as: UTF8.self)
                }
                let streamedHeader = headerText(streamedBytes), loadedHeader = headerText(loadedBytes)
                if !padded {
                    if !compress { #expect(streamedBytes == loadedBytes) }
                    #expect(streamedHeader == loadedHeader)
                } else {
                    // One line more than ITK's header: a comment of spaces.
                    var lines = streamedHeader.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
                    let extra = lines.indices.filter { !loadedHeader.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).contains(lines[$0]) }
                    #expect(extra.count == 1)
                    let prefix = format == .nrrd ? "#" : "Comment = "
                    let padLine = lines[extra[0]]
                    #expect(padLine.hasPrefix(prefix) && padLine.dropFirst(prefix.count).allSatisfy { $0 == " " })
                    lines.remove(at: extra[0])
                    #expect(lines.joined(separator: "\n") == loadedHeader)
                    if !compress { #expect(streamedBytes.count - streamedHeader.utf8.count == loaded.byteCount) }
                }
            }
        }
    }

    @Test("an existing output is refused and left untouched; nothing is left behind")
    func refusesExisting() throws {
        try withScan(axialSeries(3)) { scan in
            let folder = TemporaryFolder()
            let path = folder.file("out.npy")
            _ = try folder.write("out.npy", [1, 2, 3])
            #expect(throws: MedVolError.self) { _ = try scan.stacks[0].write(to: path) }
            #expect(folder.contents() == ["out.npy"])
            #expect(try ReadableFile(path: path).readAll() == [1, 2, 3])
        }
    }
}
