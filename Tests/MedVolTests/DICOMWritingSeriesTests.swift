import Foundation
import Testing
@testable import MedVol

@Suite("DICOM series writer")
struct DICOMWritingSeriesTests {
    @Test("an oblique CT phantom is written slice by slice with exact geometry tags and voxels")
    func obliqueCT() throws {
        let folder = TemporaryFolder()
        let volume = obliquePhantom()
        let report = try DICOMSeriesWriter.write(volume, toDirectory: folder.file("ct"),
                                                 options: .init(fileNaming: .shuffled(seed: 7)))
        #expect(report.paths.count == 7)
        #expect(report.sopClassUID == DICOMSeriesWriter.ctImageStorage)
        #expect(report.bitsAllocated == 16 && report.bitsStored == 16 && report.isSigned)
        #expect(report.maximumAbsoluteError == 0)
        #expect(!report.slicesReversed)
        #expect(report.warnings.isEmpty)
        #expect(folder.contents(of: folder.file("ct")).count == 7)
        #expect(folder.contents(of: folder.file("ct")).allSatisfy { !$0.hasPrefix("IM") })

        let files = try readSeries(report)
        let c0 = volume.direction.column(0), c1 = volume.direction.column(1), c2 = volume.direction.column(2)
        var instances = Set<String>()
        for (index, file) in files.enumerated() {
            let data = file.dataSet
            #expect(file.transferSyntax == .explicitVRLittleEndian)
            #expect(file.fileMetaInformation.string(.mediaStorageSOPClassUID) == DICOMSeriesWriter.ctImageStorage)
            #expect(file.fileMetaInformation.string(.implementationClassUID) == DICOMUID.implementationClass)
            #expect(data.string(.sopClassUID) == DICOMSeriesWriter.ctImageStorage)
            #expect(data.string(.modality) == "CT")
            #expect(data.string(.studyInstanceUID) == report.studyInstanceUID)
            #expect(data.string(.seriesInstanceUID) == report.seriesInstanceUID)
            #expect(data.string(.frameOfReferenceUID) == report.frameOfReferenceUID)
            #expect(data.string(.seriesDescription) == "medvol phantom")
            #expect(data.int(.instanceNumber) == index + 1)
            instances.insert(try #require(data.string(.sopInstanceUID)))
            #expect(file.fileMetaInformation.string(.mediaStorageSOPInstanceUID) == data.string(.sopInstanceUID))

            let expected = volume.origin + c2 * (Double(index) * 2.5)
            let position = data.doubles(.imagePositionPatient)
            #expect(position.count == 3)
            #expect(zip(position, [expected.x, expected.y, expected.z]).allSatisfy { abs($0 - $1) < 1e-10 })
            let orientation = data.doubles(.imageOrientationPatient)
            #expect(zip(orientation, [c0.x, c0.y, c0.z, c1.x, c1.y, c1.z]).allSatisfy { abs($0 - $1) < 1e-12 })
            #expect(data.doubles(.pixelSpacing) == [0.65, 0.8])
            #expect(data.double(.sliceThickness) == 2.5)
            #expect(data.double(.spacingBetweenSlices) == 2.5)
            #expect(data.int(.rows) == 20 && data.int(.columns) == 24)
            #expect(data.double(.rescaleSlope) == 1 && data.double(.rescaleIntercept) == 0)
            #expect(data.string(.rescaleType) == "HU")
            #expect(data.int(.bitsAllocated) == 16 && data.int(.bitsStored) == 16 && data.int(.highBit) == 15)
            #expect(data.int(.pixelRepresentation) == 1)
            #expect(data.string(.photometricInterpretation) == "MONOCHROME2")
            #expect(data.double(.windowCenter) == 40 && data.double(.windowWidth) == 400)

            let sliceBytes = volume.withUnsafeBytes { Array($0[index * 24 * 20 * 2..<(index + 1) * 24 * 20 * 2]) }
            #expect(try pixelBytes(file) == sliceBytes)
        }
        #expect(instances.count == 7)
    }

    @Test("a left-handed direction is written with the slices in reverse and reported")
    func leftHanded() throws {
        let folder = TemporaryFolder()
        var volume = obliquePhantom()
        let d = volume.direction
        volume.direction = DirectionMatrix(columns: d.column(0), d.column(1), -d.column(2))
        #expect(volume.direction.determinant < 0)

        let report = try DICOMSeriesWriter.write(volume, toDirectory: folder.file("left"))
        #expect(report.slicesReversed)
        #expect(report.warnings.contains { $0.contains("left-handed") })
        let files = try readSeries(report)
        let normal = cross(d.column(0), d.column(1))
        var previous = -Double.infinity
        for (index, file) in files.enumerated() {
            let k = 6 - index
            let expected = volume.transformIndexToPhysicalPoint(0, 0, k)
            let position = file.dataSet.doubles(.imagePositionPatient)
            #expect(zip(position, [expected.x, expected.y, expected.z]).allSatisfy { abs($0 - $1) < 1e-10 })
            // Instance order is reading order: positions increase along row × column.
            let along = dot(SIMD3(position[0], position[1], position[2]), normal)
            #expect(along > previous)
            previous = along
            let sliceBytes = volume.withUnsafeBytes { Array($0[k * 24 * 20 * 2..<(k + 1) * 24 * 20 * 2]) }
            #expect(try pixelBytes(file) == sliceBytes)
        }
    }

    @Test("CT stored unsigned with intercept −1024 in 12 bits")
    func unsignedWithIntercept() throws {
        let folder = TemporaryFolder()
        let values: [Int16] = [-1024, -1000, 0, 40, 300, 3071, 1200, -850, 5, 6, 7, 8]
        let volume = makeVolume(values, size: [3, 2, 2], modality: "CT")
        let report = try DICOMSeriesWriter.write(volume, toDirectory: folder.file("u"),
                                                 options: .init(rescaleIntercept: -1024, bitsStored: 12))
        #expect(report.bitsAllocated == 16 && report.bitsStored == 12 && !report.isSigned)
        for (k, file) in try readSeries(report).enumerated() {
            #expect(file.dataSet.int(.pixelRepresentation) == 0)
            #expect(file.dataSet.int(.highBit) == 11)
            #expect(file.dataSet.double(.rescaleIntercept) == -1024)
            let stored = try pixelBytes(file).withUnsafeBytes { Array($0.bindMemory(to: UInt16.self)) }
            #expect(stored == values[k * 6..<(k + 1) * 6].map { UInt16($0 + 1024) })
        }

        // Values that do not fit the requested bits are refused, not clipped.
        #expect(throws: MedVolError.self) {
            try DICOMSeriesWriter.write(volume, toDirectory: folder.file("u11"), options: .init(rescaleIntercept: -1024, bitsStored: 11))
        }
        #expect(!FileManager.default.fileExists(atPath: folder.file("u11")))
    }

    @Test("uint8 stays 8-bit Secondary Capture; integer volumes keep their width")
    func storedTypes() throws {
        let folder = TemporaryFolder()
        let bytes = makeVolume((0..<24).map { UInt8($0 * 10) }, size: [4, 3, 2])
        let report = try DICOMSeriesWriter.write(bytes, toDirectory: folder.file("u8"))
        #expect(report.sopClassUID == DICOMSeriesWriter.secondaryCaptureImageStorage)
        #expect(report.bitsAllocated == 8 && !report.isSigned)
        #expect(report.warnings.contains { $0.contains("Secondary Capture") })
        let first = try #require(try readSeries(report).first)
        #expect(first.dataSet.string(.modality) == "OT")
        #expect(first.dataSet.string(.conversionType) == "WSD")
        #expect(first.dataSet[.rescaleSlope] == nil)
        #expect(try pixelBytes(first) == (0..<12).map { UInt8($0 * 10) })

        // MR uint8 is widened to 16 bits (the MR IOD allows no less).
        var mr = bytes
        mr.metadata.modality = "MR"
        let mrReport = try DICOMSeriesWriter.write(mr, toDirectory: folder.file("mr"))
        #expect(mrReport.sopClassUID == DICOMSeriesWriter.mrImageStorage)
        #expect(mrReport.bitsAllocated == 16 && !mrReport.isSigned)

        // int32 values beyond 16 bits are stored in 32.
        let wide = makeVolume([Int32(-70000), 5, 100_000, 0], size: [2, 2, 1])
        let wideReport = try DICOMSeriesWriter.write(wide, toDirectory: folder.file("i32"))
        #expect(wideReport.bitsAllocated == 32 && wideReport.isSigned)
        let stored = try pixelBytes(try readSeries(wideReport)[0]).withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) }
        #expect(stored == [-70000, 5, 100_000, 0])
    }

    @Test("float values that are multiples of a power of two are stored exactly")
    func floatExact() throws {
        let folder = TemporaryFolder()
        let values: [Float] = (0..<24).map { Float($0) * 0.25 - 3 } + (0..<24).map { Float($0) * 0.125 + 1000 }
        let volume = makeVolume(values, size: [4, 6, 2], modality: "CT")
        let report = try DICOMSeriesWriter.write(volume, toDirectory: folder.file("f"))
        #expect(report.maximumAbsoluteError == 0)
        #expect(report.warnings.isEmpty)
        let files = try readSeries(report)
        #expect(files.map { $0.dataSet.double(.rescaleSlope) } == [0.25, 0.125])
        for (k, file) in files.enumerated() {
            let slope = try #require(file.dataSet.double(.rescaleSlope))
            let intercept = try #require(file.dataSet.double(.rescaleIntercept))
            let stored = try pixelBytes(file).withUnsafeBytes { Array($0.bindMemory(to: Int16.self)) }
            #expect(stored.map { Float(Double($0) * slope + intercept) } == Array(values[k * 24..<(k + 1) * 24]))
        }

        // Integral float values: slope 1, stored as integers.
        let integral = makeVolume([Float(-1000), 0, 40, 1500], size: [2, 2, 1], modality: "CT")
        let integralReport = try DICOMSeriesWriter.write(integral, toDirectory: folder.file("fi"))
        #expect(integralReport.maximumAbsoluteError == 0 && integralReport.bitsAllocated == 16)
        #expect(try readSeries(integralReport)[0].dataSet.double(.rescaleSlope) == 1)
    }

    @Test("float values that cannot be stored exactly are quantised per image and the error is reported")
    func floatLossy() throws {
        let folder = TemporaryFolder()
        let values: [Float] = (0..<60).map { Float(sin(Double($0) * 0.7)) * (1 + Float($0 / 20)) }
            + [Float](repeating: 0.1, count: 20)
        let volume = makeVolume(values, size: [5, 4, 4])
        let report = try DICOMSeriesWriter.write(volume, toDirectory: folder.file("lossy"))
        #expect(report.maximumAbsoluteError > 0)
        #expect(report.maximumAbsoluteError < 3.0 / 65535)
        let warning = try #require(report.warnings.first)
        #expect(warning.contains("largest absolute error"))
        #expect(report.bitsAllocated == 16 && report.isSigned)

        var measured = 0.0
        var slopes = Set<Double>()
        for (k, file) in try readSeries(report).enumerated() {
            let slope = try #require(file.dataSet.double(.rescaleSlope))
            let intercept = try #require(file.dataSet.double(.rescaleIntercept))
            #expect(slope != slope.rounded())
            slopes.insert(slope)
            let stored = try pixelBytes(file).withUnsafeBytes { Array($0.bindMemory(to: Int16.self)) }
            for (index, value) in stored.enumerated() {
                measured = max(measured, abs(Double(value) * slope + intercept - Double(values[k * 20 + index])))
            }
        }
        #expect(slopes.count == 4)
        #expect(measured == report.maximumAbsoluteError)

        // With 32 bits the error is far smaller.
        let fine = try DICOMSeriesWriter.write(volume, toDirectory: folder.file("lossy32"), options: .init(lossyBits: 32))
        #expect(fine.bitsAllocated == 32)
        #expect(fine.maximumAbsoluteError < report.maximumAbsoluteError / 1000)
    }

    @Test("NaN cannot be written, and nothing is left behind")
    func nanRefused() throws {
        let folder = TemporaryFolder()
        let volume = makeVolume([Float(1), .nan, 2, 3], size: [2, 2, 1])
        #expect(throws: MedVolError.self) { try DICOMSeriesWriter.write(volume, toDirectory: folder.file("nan")) }
        #expect(folder.contents().isEmpty)
    }

    @Test("a 4D volume becomes one series with temporal positions")
    func fourD() throws {
        let folder = TemporaryFolder()
        let values = (0..<(4 * 3 * 2 * 3)).map { UInt16($0 * 7) }
        let volume = makeVolume(values, size: [4, 3, 2, 3], spacing: [1, 1, 3], origin: [5, 6, 7], modality: "MR",
                                timeSpacing: 2.5)
        let report = try DICOMSeriesWriter.write(volume, toDirectory: folder.file("4d"))
        #expect(report.paths.count == 6)
        for (index, file) in try readSeries(report).enumerated() {
            let t = index / 2, k = index % 2
            #expect(file.dataSet.int(.instanceNumber) == index + 1)
            #expect(file.dataSet.int(.temporalPositionIdentifier) == t + 1)
            #expect(file.dataSet.int(.numberOfTemporalPositions) == 3)
            #expect(file.dataSet.double(.repetitionTime) == 2500)
            #expect(file.dataSet.doubles(.imagePositionPatient) == [5, 6, 7 + 3 * Double(k)])
            let stored = try pixelBytes(file).withUnsafeBytes { Array($0.bindMemory(to: UInt16.self)) }
            let start = (t * 2 + k) * 12
            #expect(stored == Array(values[start..<start + 12]))
        }
    }

    @Test("RGB uint8 is written as RGB, planar configuration 0")
    func rgb() throws {
        let folder = TemporaryFolder()
        let values: [UInt8] = (0..<54).map { (index: Int) -> UInt8 in UInt8(truncatingIfNeeded: index * 37) }
        let volume = makeVolume(values, size: [3, 3, 2], components: 3)
        let report = try DICOMSeriesWriter.write(volume, toDirectory: folder.file("rgb"))
        for (k, file) in try readSeries(report).enumerated() {
            #expect(file.dataSet.string(.photometricInterpretation) == "RGB")
            #expect(file.dataSet.int(.samplesPerPixel) == 3)
            #expect(file.dataSet.int(.planarConfiguration) == 0)
            #expect(file.dataSet.int(.bitsAllocated) == 8)
            // 27 bytes: padded to 28 with a zero.
            let expected: [UInt8] = Array(values[k * 27..<(k + 1) * 27]) + [0]
            #expect(try pixelBytes(file) == expected)
        }
    }

    @Test("an existing folder is refused unless overwrite is set; then it is replaced whole")
    func overwrite() throws {
        let folder = TemporaryFolder()
        let target = folder.file("series")
        let first = makeVolume([Int16](repeating: 1, count: 12), size: [2, 2, 3])
        try DICOMSeriesWriter.write(first, toDirectory: target)
        #expect(folder.contents(of: target).count == 3)

        let second = makeVolume([Int16](repeating: 2, count: 4), size: [2, 2, 1])
        let error = #expect(throws: MedVolError.self) { try DICOMSeriesWriter.write(second, toDirectory: target) }
        #expect(error?.code == .outputExists)
        #expect(folder.contents(of: target).count == 3)

        try DICOMSeriesWriter.write(second, toDirectory: target + "/", options: .init(overwrite: true))
        #expect(folder.contents(of: target) == ["IM00001.dcm"])
        #expect(folder.contents() == ["series"])
    }

    @Test("a write that fails half-way leaves no output and no staging folder")
    func noPartialOutput() throws {
        let folder = TemporaryFolder()
        let flag = CancellationFlag()
        let control = WorkControl(progress: { progress in if progress.completed >= 3 { flag.cancel() } },
                                  cancellation: flag)
        let volume = Phantom.ct(size: [16, 16, 40])
        let error = #expect(throws: MedVolError.self) {
            try DICOMSeriesWriter.write(volume, toDirectory: folder.file("out"), control: control)
        }
        #expect(error?.code == .cancelled)
        #expect(folder.contents().isEmpty)
    }

    @Test("implicit VR little endian series read back the same")
    func implicitVR() throws {
        let folder = TemporaryFolder()
        let volume = obliquePhantom(size: [8, 6, 3])
        let report = try DICOMSeriesWriter.write(volume, toDirectory: folder.file("implicit"),
                                                 options: .init(transferSyntax: .implicitVRLittleEndian, seriesDescription: "Ünïcode",
                                                                patientName: "Müller^Jörg", patientID: "P-1"))
        for (k, file) in try readSeries(report).enumerated() {
            #expect(file.transferSyntax == .implicitVRLittleEndian)
            #expect(file.dataSet.string(.specificCharacterSet) == "ISO_IR 192")
            #expect(file.dataSet.string(.patientName) == "Müller^Jörg")
            #expect(file.dataSet.string(.seriesDescription) == "Ünïcode")
            #expect(file.dataSet.string(.patientID) == "P-1")
            let sliceBytes = volume.withUnsafeBytes { Array($0[k * 96..<(k + 1) * 96]) }
            #expect(try pixelBytes(file) == sliceBytes)
        }
    }

    @Test("file names: instance numbers, or shuffled names that depend only on the seed")
    func fileNames() {
        #expect(DICOMSeriesWriter.fileNames(3, .instanceNumber) == ["IM00001.dcm", "IM00002.dcm", "IM00003.dcm"])
        #expect(DICOMSeriesWriter.fileNames(100_000, .instanceNumber).last == "IM100000.dcm")
        let shuffled = DICOMSeriesWriter.fileNames(500, .shuffled(seed: 42))
        #expect(shuffled == DICOMSeriesWriter.fileNames(500, .shuffled(seed: 42)))
        #expect(shuffled != DICOMSeriesWriter.fileNames(500, .shuffled(seed: 43)))
        #expect(Set(shuffled).count == 500)
        #expect(shuffled != shuffled.sorted())
    }
}

@Suite("Phantom")
struct PhantomTests {
    @Test("the CT phantom is deterministic, anatomical and changes along k")
    func ct() throws {
        let volume = Phantom.ct(size: [64, 64, 20])
        #expect(volume.pixelType == .int16)
        #expect(volume.metadata.modality == "CT")
        #expect(volume.metadata.seriesDescription == "medvol phantom")
        #expect(volume.metadata.windows == [DisplayWindow(center: 40, width: 400, explanation: "abdomen")])
        let again = Phantom.ct(size: [64, 64, 20])
        #expect(volume.withUnsafeBytes { Array($0) } == again.withUnsafeBytes { Array($0) })
        // Centred on (0, 0, 0).
        let centre = volume.transformIndexToPhysicalPoint(SIMD3(31.5, 31.5, 9.5))
        #expect(abs(centre.x) < 1e-12 && abs(centre.y) < 1e-12 && abs(centre.z) < 1e-12)

        #expect(volume.value(0, 0, 0) == -1000)                 // air in the corner
        #expect(volume.value(32, 43, 10) == 700)                // cancellous bone of the vertebra
        #expect(abs(volume.value(32, 20, 10) - 40) <= 8)       // soft tissue in front, with texture
        #expect(abs(volume.value(19, 30, 19) + 850) <= 16)     // a lung in the last slice
        #expect(abs(volume.value(19, 30, 0) - 40) <= 8)        // no lung in the first
        let range = try #require(volume.valueRange())
        #expect(range.lowerBound == -1000 && range.upperBound == 1200)
        // Slices differ from each other, so slice order matters.
        let slices = (0..<20).map { k in volume.withUnsafeBytes { Array($0[k * 8192..<(k + 1) * 8192]) } }
        #expect(Set(slices.map { $0.hashValue }).count == 20)
    }

    @Test("the MR phantom is uint16")
    func mr() {
        let volume = Phantom.mr(size: [32, 32, 4])
        #expect(volume.pixelType == .uint16)
        #expect(volume.metadata.modality == "MR")
        #expect(volume.value(0, 0, 0) == 0)
    }
}
