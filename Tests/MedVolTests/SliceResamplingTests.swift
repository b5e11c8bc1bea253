import Testing
@testable import MedVol

/// Tilted and unevenly spaced series of 3 × 4 pixels (column spacing 0.25 mm, row spacing 0.5 mm), slice k
/// holding 10·k + 3·row + column.
private func slices(count: Int, distances: [Double]? = nil, rowShiftPerSlice: Double = 0,
                    columnShiftPerSlice: Double = 0) -> [SliceSpec] {
    (0..<count).map { k in
        var slice = SliceSpec()
        let z = distances?[k] ?? Double(k) * 2
        slice.position = [-10 + Double(k) * columnShiftPerSlice * 0.25, -20 + Double(k) * rowShiftPerSlice * 0.5, 5 + z]
        slice.instance = k + 1
        slice.sop = "1.2.826.0.1.1.\(k + 1)"
        slice.rows = 4
        slice.columns = 3
        slice.values = (0..<12).map { 10 * k + $0 }
        return slice
    }
}

@Suite("Slice resampling")
struct SliceResamplingTests {
    @Test("a tilt of one row per slice moves each slice back by whole rows, edges take the lowest value")
    func wholeRowTilt() throws {
        try withScan(slices(count: 3, rowShiftPerSlice: 1)) { scan in
            let stack = try #require(scan.stacks.first)
            let plain = try stack.load()
            let corrected = try stack.load(options: DICOMLoadOptions(sliceResampling: .correctTilt))
            #expect(corrected.geometry == plain.geometry && corrected.pixelType == plain.pixelType)
            for k in 0..<3 { for j in 0..<4 { for i in 0..<3 {
                // Slice k starts k rows further along the column direction: output row j is stored row j − k.
                let expected = j >= k ? plain.value(i, j - k, k) : 0
                #expect(corrected.value(i, j, k) == expected, "voxel \(i), \(j), \(k)")
            } } }
            let reports = corrected.metadata.warnings.compactMap { warning -> Double? in
                if case let .stack(.tiltCorrected(shift, _)) = warning { return shift }
                return nil
            }
            #expect(reports.count == 1 && abs(reports[0] - 1.0) < 1e-9)
            #expect(!corrected.metadata.warnings.contains { if case .stack(.gantryTilt) = $0 { true } else { false } })
            #expect(plain.metadata.warnings.contains { if case .stack(.gantryTilt) = $0 { true } else { false } })
            let info = try stack.volumeInfo(options: DICOMLoadOptions(sliceResampling: .correctTilt))
            #expect(info.geometry == corrected.geometry && info.metadata.warnings == corrected.metadata.warnings)
        }
    }

    @Test("a tilt of half a row per slice interpolates between neighbouring rows, rounding to nearest")
    func halfRowTilt() throws {
        try withScan(slices(count: 2, rowShiftPerSlice: 0.5)) { scan in
            let stack = try #require(scan.stacks.first)
            let corrected = try stack.load(options: DICOMLoadOptions(sliceResampling: [.correctTilt, .equidistant]))
            #expect(corrected.pixelType == .int16)
            for j in 0..<4 { for i in 0..<3 {
                #expect(corrected.value(i, j, 0) == Double(3 * j + i))
                // Stored row j − 0.5 of slice 1: (10 + 3(j − 1) + i + 10 + 3j + i) / 2, away from zero.
                let expected = j == 0 ? 0 : (Double(10 + 3 * j + i) - 1.5).rounded()
                #expect(corrected.value(i, j, 1) == expected, "voxel \(i), \(j), 1")
            } }
        }
    }

    @Test("a shift along both in-plane axes interpolates bilinearly")
    func diagonalTilt() throws {
        try withScan(slices(count: 2, rowShiftPerSlice: 0.5, columnShiftPerSlice: 0.5)) { scan in
            let stack = try #require(scan.stacks.first)
            let corrected = try stack.load(options: DICOMLoadOptions(sliceResampling: .correctTilt))
            for j in 0..<4 { for i in 0..<3 {
                #expect(corrected.value(i, j, 0) == Double(3 * j + i))
                // Stored point (i − 0.5, j − 0.5) of slice 1: the mean of four pixels, 10 + 3j + i − 2.
                let expected = i == 0 || j == 0 ? 0 : Double(10 + 3 * j + i - 2)
                #expect(corrected.value(i, j, 1) == expected, "voxel \(i), \(j), 1")
            } }
        }
        try withScan(slices(count: 2, columnShiftPerSlice: 1)) { scan in
            let corrected = try #require(scan.stacks.first).load(options: DICOMLoadOptions(sliceResampling: .correctTilt))
            for j in 0..<4 { for i in 0..<3 {
                #expect(corrected.value(i, j, 1) == (i == 0 ? 0 : Double(10 + 3 * j + i - 1)), "voxel \(i), \(j), 1")
            } }
        }
    }

    @Test("a missing slice is interpolated; geometry, report and the write path agree")
    func regridMissingSlice() throws {
        try withScan(slices(count: 4, distances: [0, 2, 6, 8])) { scan in
            let stack = try #require(scan.stacks.first)
            let options = DICOMLoadOptions(sliceResampling: .equidistant)
            let volume = try stack.load(options: options)
            #expect(volume.geometry.size == [3, 4, 5])
            #expect(abs(volume.geometry.spacing.z - 2) < 1e-9 && volume.geometry.origin == SIMD3(-10, -20, 5))
            // Stored slices hold 0, 10, 20, 30 (+ pixel) at 0, 2, 6, 8 mm: the missing one at 4 mm is the mean of its neighbours.
            for (k, base) in [0, 10, 15, 20, 30].enumerated() {
                #expect(volume.value(2, 3, k) == Double(base + 11))
            }
            #expect(volume.metadata.warnings.contains(.stack(.regridded(sourceSlices: 4, slices: 5, spacing: 2))))
            #expect(!volume.metadata.warnings.contains { if case .stack(.meanSliceSpacing) = $0 { true } else { false } })
            #expect(StackWarning.regridded(sourceSlices: 4, slices: 5, spacing: 2).description
                == "slices resampled to equal spacing: 5 slices 2 mm apart from the 4 stored, linear interpolation between the two nearest")

            let folder = TemporaryFolder()
            let result = try stack.write(to: folder.file("eq.nii"), loadOptions: options)
            #expect(!result.streamed && result.info.geometry == volume.geometry)
            let reread = try Volume(contentsOf: folder.file("eq.nii"))
            #expect(reread.value(1, 2, 2) == volume.value(1, 2, 2) && reread.value(1, 2, 2) == 22)
        }
    }

    @Test("options a stack does not need change nothing, and a too small gap is refused naming the file")
    func notNeededAndRefused() throws {
        try withScan(slices(count: 3)) { scan in
            let stack = try #require(scan.stacks.first)
            let plain = try stack.load()
            let options = try stack.load(options: DICOMLoadOptions(sliceResampling: [.correctTilt, .equidistant]))
            #expect(options.geometry == plain.geometry && options.metadata.warnings == plain.metadata.warnings)
            #expect(try options.voxels(as: Int16.self).elementsEqual(plain.voxels(as: Int16.self)))
        }
        try withScan(slices(count: 4, distances: [0, 0.05, 10, 20])) { scan in
            let stack = try #require(scan.stacks.first)
            let error = try #require(throws: MedVolError.self) {
                try stack.load(options: DICOMLoadOptions(sliceResampling: .equidistant))
            }
            #expect(error.path?.hasSuffix(".dcm") == true && error.reason.contains("equidistant"))
        }
    }
}
