import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a ``Volume`` as a DICOM series: one file per slice (and per time point of a 4D volume), with
/// new Study, Series, Frame of Reference and SOP Instance UIDs, in a folder that appears all at once.
///
/// **Geometry.** Slice k lies at `ImagePositionPatient = origin + direction · (0, 0, k·sz)`;
/// `ImageOrientationPatient` holds direction columns 0 and 1; `PixelSpacing` is `[sy, sx]` (row
/// spacing first); `SliceThickness` and `SpacingBetweenSlices` are sz. DICOM readers stack slices along
/// row × column, so a left-handed direction (k opposite to row × column) cannot come back as it was:
/// its slices are numbered in reverse, and the series reads back with k reversed, the origin at the
/// former last slice and a right-handed direction — the same voxels at the same physical points. The
/// report says so (``DICOMSeriesWriteReport/slicesReversed``).
///
/// **4D.** One series; the images at each position carry Temporal Position Identifier 1…nt and
/// Number of Temporal Positions, and Repetition Time is `timeSpacing × 1000` ms.
///
/// **Values.** See ``DICOMSeriesWriteOptions`` and the report: integer volumes round-trip exactly,
/// float volumes where a slope and intercept allow, otherwise with the largest error reported.
///
/// **SOP class.** CT Image Storage for CT, MR Image Storage for MR, Secondary Capture otherwise. SC
/// images carry the image plane attributes too: SimpleITK 2.x (ITK ≥ 5.3) reads them, but GDCM 3.0 and
/// ITK 5.2 ignore them for SC, which the report warns about.
public enum DICOMSeriesWriter {
    /// CT Image Storage SOP Class UID.
    public static let ctImageStorage = "1.2.840.10008.5.1.4.1.1.2"
    /// MR Image Storage SOP Class UID.
    public static let mrImageStorage = "1.2.840.10008.5.1.4.1.1.4"
    /// Secondary Capture Image Storage SOP Class UID.
    public static let secondaryCaptureImageStorage = "1.2.840.10008.5.1.4.1.1.7"

    /// Writes `volume` into the folder `directory` (created with its parents; an existing folder is
    /// refused unless `options.overwrite`). Files are written in parallel into a staging folder that is
    /// renamed into place at the end: on failure or cancellation nothing is left behind.
    @discardableResult
    public static func write(_ volume: Volume, toDirectory directory: String,
                             options: DICOMSeriesWriteOptions = DICOMSeriesWriteOptions(),
                             control: WorkControl = .none) throws -> DICOMSeriesWriteReport {
        let directory = FileSystem.trimmingTrailingSlashes(directory)
        guard options.transferSyntax == .explicitVRLittleEndian || options.transferSyntax == .implicitVRLittleEndian else {
            throw MedVolError.unsupported(directory, "a series is written in explicit or implicit VR little endian, not \(options.transferSyntax.name)")
        }
        guard options.lossyBits == 16 || options.lossyBits == 32 else {
            throw MedVolError(.invalidArgument, path: directory, reason: "lossy storage uses 16 or 32 bits, not \(options.lossyBits)")
        }
        let nx = volume.size[0], ny = volume.size[1], nz = volume.size[2], nt = volume.geometry.timePoints
        guard nx <= 0xFFFF, ny <= 0xFFFF else {
            throw MedVolError.unsupported(directory, "DICOM images have at most 65535 rows and columns; the volume is \(nx) × \(ny)")
        }

        let sop = try storage(for: volume, options.storageClass)
        let plan: PixelStoragePlan
        do {
            plan = try PixelStoragePlan.make(for: volume, intercept: options.rescaleIntercept, bitsStored: options.bitsStored,
                                             lossyBits: options.lossyBits, minimumBits: sop.minimumBits)
        } catch let error as MedVolError {
            throw error.at(directory)
        }
        let layout = SliceLayout(volume.geometry)
        var warnings = layout.warnings + sop.warnings
        if plan.bitsAllocated > 16 && sop.minimumBits == 16 {
            warnings.append("the \(sop.name) IOD allows 16-bit pixels only; these are \(plan.bitsAllocated)-bit, which some viewers refuse")
        }

        let study = DICOMUID.generate(), series = DICOMUID.generate(), frameOfReference = DICOMUID.generate()
        let base = try baseDataSet(volume, options: options, sop: sop, plan: plan, layout: layout,
                                   study: study, series: series, frameOfReference: frameOfReference)
        let imageCount = nz * nt
        let names = fileNames(imageCount, options.fileNaming)
        let finalPaths = names.map { "\(directory)/\($0)" }
        let directCopy = plan.isDirectCopy(of: volume)

        var imageErrors: [Double] = []
        try OutputTransaction.write(outputs: [directory], overwrite: options.overwrite) { transaction in
            let staging = transaction.stagingPath(for: directory)
            try FileSystem.createDirectory(staging)
            let done = Atomic(0)
            imageErrors = try Parallel.map(imageCount) { instance in
                try control.checkCancellation()
                // Instances run through the positions in reading order, then through time.
                let t = instance / nz, readingIndex = instance % nz
                let k = layout.reversed ? nz - 1 - readingIndex : readingIndex
                let error = try writeImage(volume, k: k, t: t, instance: instance, base: base, plan: plan,
                                           directCopy: directCopy, layout: layout, transferSyntax: options.transferSyntax,
                                           path: "\(staging)/\(names[instance])")
                control.report("Writing DICOM", done.wrappingAdd(1, ordering: .relaxed).newValue, of: imageCount)
                return error
            }
        }
        let worst = imageErrors.max() ?? 0
        if plan.method == .lossy {
            warnings.insert("the \(volume.pixelType) values cannot be stored exactly as integers with a slope and intercept: "
                            + "they were stored as \(plan.bitsStored)-bit integers with a slope and intercept per image; "
                            + "the largest absolute error is \(PixelStoragePlan.decimalValue(worst))", at: 0)
        }
        return DICOMSeriesWriteReport(directory: directory, paths: finalPaths, studyInstanceUID: study,
                                      seriesInstanceUID: series, frameOfReferenceUID: frameOfReference,
                                      sopClassUID: sop.uid, bitsAllocated: plan.bitsAllocated, bitsStored: plan.bitsStored,
                                      isSigned: plan.isSigned, maximumAbsoluteError: worst,
                                      slicesReversed: layout.reversed, warnings: warnings)
    }

    // MARK: SOP class

    struct Storage: Sendable {
        var uid: String
        var name: String
        var modality: String
        var minimumBits: Int
        var warnings: [String] = []
    }

    static func storage(for volume: Volume, _ requested: DICOMSeriesWriteOptions.StorageClass) throws -> Storage {
        let modality = volume.metadata.modality?.uppercased()
        var choice = requested
        if choice == .automatic {
            choice = volume.components != 1 ? .secondaryCapture : modality == "CT" ? .ct : modality == "MR" ? .mr : .secondaryCapture
        }
        if (choice == .ct || choice == .mr) && volume.components != 1 {
            throw MedVolError.unsupported(nil, "CT and MR images are greyscale; write an RGB volume as Secondary Capture")
        }
        switch choice {
        case .ct: return Storage(uid: ctImageStorage, name: "CT Image", modality: "CT", minimumBits: 16)
        case .mr: return Storage(uid: mrImageStorage, name: "MR Image", modality: "MR", minimumBits: 16)
        default:
            let written = modality.flatMap { $0.isEmpty ? nil : $0 } ?? "OT"
            return Storage(uid: secondaryCaptureImageStorage, name: "Secondary Capture Image", modality: written, minimumBits: 1,
                           warnings: ["written as Secondary Capture images (modality \(written)): SimpleITK 2.x and medvol read their position, orientation and spacing, but GDCM 3.0 and ITK 5.2 ignore them for Secondary Capture (origin 0, spacing 1); write CT or MR images (storage class .ct or .mr) for those readers"])
        }
    }

    // MARK: Geometry

    /// Where each slice goes, and whether the slices must be numbered in reverse.
    struct SliceLayout: Sendable {
        let origin: SIMD3<Double>
        let sliceStep: SIMD3<Double>
        let normal: SIMD3<Double>
        let reversed: Bool
        var warnings: [String] = []

        init(_ geometry: ImageGeometry) {
            let row = geometry.direction.column(0), column = geometry.direction.column(1), slice = geometry.direction.column(2)
            origin = geometry.origin
            sliceStep = slice * geometry.spacing.z
            let crossed = cross(row, column)
            normal = crossed / max(length(crossed), .leastNormalMagnitude)
            reversed = dot(normal, slice) < 0
            let orthonormal = abs(length(row) - 1) < 1e-6 && abs(length(column) - 1) < 1e-6 && abs(length(slice) - 1) < 1e-6
                && abs(dot(row, column)) < 1e-6
            if !orthonormal {
                warnings.append("the direction matrix is not orthonormal: DICOM image orientation assumes unit, perpendicular rows and columns")
            } else if abs(abs(dot(normal, slice)) - 1) > 1e-6 {
                warnings.append("the slice axis is not perpendicular to the rows and columns (a sheared or tilted grid): readers that stack slices along row × column, such as SimpleITK, will not reproduce this geometry")
            }
            if reversed {
                warnings.append("the direction is left-handed (slice axis opposite to row × column): the slices were numbered in reverse, so the series reads back with k reversed, the origin at the former last slice and a right-handed direction — the same voxels at the same physical positions")
            }
        }

        func position(_ k: Int) -> SIMD3<Double> { origin + sliceStep * Double(k) }
    }

    // MARK: Data sets

    private static func baseDataSet(_ volume: Volume, options: DICOMSeriesWriteOptions, sop: Storage, plan: PixelStoragePlan,
                                    layout: SliceLayout, study: String, series: String,
                                    frameOfReference: String) throws -> DICOMDataSet {
        let metadata = volume.metadata
        let header = metadata.dicomHeader
        let patientName = options.patientName ?? header?.text(.patientName) ?? ""
        let patientID = options.patientID ?? metadata.patientID ?? header?.text(.patientID) ?? ""
        let description = options.seriesDescription ?? metadata.seriesDescription ?? ""
        let now = LocalDateTime.now()
        let studyDate = options.studyDate ?? metadata.studyDate ?? now.date
        guard studyDate.count == 8, studyDate.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw MedVolError(.invalidArgument, reason: "the study date must be written YYYYMMDD, not \"\(studyDate)\"")
        }
        let texts = [patientName, patientID, description]
        let characterSet: String? = texts.allSatisfy { $0.utf8.allSatisfy { $0 < 0x80 } } ? nil : "ISO_IR 192"
        func text(_ tag: DICOMTag, _ vr: DICOMVR, _ value: String) -> DICOMElement {
            .text(tag, vr, value, specificCharacterSet: characterSet)
        }

        let direction = volume.direction
        let row = direction.column(0), column = direction.column(1)
        let spacing = volume.spacing
        var elements: [DICOMElement] = [
            // Value 3 is required for CT (AXIAL or LOCALIZER) and MR.
            text(.imageType, .CS, sop.uid == ctImageStorage ? "DERIVED\\SECONDARY\\AXIAL"
                                  : sop.uid == mrImageStorage ? "DERIVED\\SECONDARY\\OTHER" : "DERIVED\\SECONDARY"),
            try .uid(.sopClassUID, sop.uid),
            text(.studyDate, .DA, studyDate), text(.seriesDate, .DA, now.date), text(.contentDate, .DA, now.date),
            text(.studyTime, .TM, studyDate == now.date ? now.clock : ""), text(.seriesTime, .TM, now.clock),
            text(.contentTime, .TM, now.clock),
            text(.accessionNumber, .SH, ""),
            text(.modality, .CS, sop.modality),
            text(.manufacturer, .LO, "medvol"),
            text(.referringPhysicianName, .PN, ""),
            text(.seriesDescription, .LO, description),
            text(.patientName, .PN, patientName),
            text(.patientID, .LO, patientID),
            text(.patientBirthDate, .DA, header?.text(.patientBirthDate) ?? ""),
            text(.patientSex, .CS, header?.text(.patientSex) ?? ""),
            try .decimalString(.sliceThickness, [spacing.z]),
            try .decimalString(.spacingBetweenSlices, [spacing.z]),
            try .uid(.studyInstanceUID, study),
            try .uid(.seriesInstanceUID, series),
            text(.studyID, .SH, ""),
            try .integerString(.seriesNumber, [options.seriesNumber ?? metadata.seriesNumber ?? 1]),
            try .decimalString(.imageOrientationPatient, [row.x, row.y, row.z, column.x, column.y, column.z]),
            try .uid(.frameOfReferenceUID, frameOfReference),
            text(.positionReferenceIndicator, .LO, ""),
            text(.laterality, .CS, header?.text(.laterality) ?? ""),
            try .numbers(.samplesPerPixel, .US, [Double(plan.samplesPerPixel)]),
            text(.photometricInterpretation, .CS, plan.samplesPerPixel == 3 ? "RGB" : "MONOCHROME2"),
            try .numbers(.rows, .US, [Double(volume.size[1])]),
            try .numbers(.columns, .US, [Double(volume.size[0])]),
            try .decimalString(.pixelSpacing, [spacing.y, spacing.x]),
            try .numbers(.bitsAllocated, .US, [Double(plan.bitsAllocated)]),
            try .numbers(.bitsStored, .US, [Double(plan.bitsStored)]),
            try .numbers(.highBit, .US, [Double(plan.bitsStored - 1)]),
            try .numbers(.pixelRepresentation, .US, [plan.isSigned ? 1 : 0]),
        ]
        if let characterSet { elements.append(.text(.specificCharacterSet, .CS, characterSet)) }
        if plan.samplesPerPixel == 3 { elements.append(try .numbers(.planarConfiguration, .US, [0])) }
        if sop.uid != secondaryCaptureImageStorage {
            elements.append(text(.patientPosition, .CS, header?.text(.patientPosition) ?? ""))
        }
        switch sop.uid {
        case ctImageStorage:
            elements.append(text(.kvp, .DS, header?.text(.kvp) ?? ""))
        case mrImageStorage:
            elements += [
                text(.scanningSequence, .CS, header?.text(.scanningSequence) ?? "RM"),
                text(.sequenceVariant, .CS, header?.text(.sequenceVariant) ?? "NONE"),
                text(.scanOptions, .CS, header?.text(.scanOptions) ?? ""),
                text(.mrAcquisitionType, .CS, header?.text(.mrAcquisitionType) ?? ""),
                text(.echoTime, .DS, header?.text(.echoTime) ?? ""),
                text(.echoTrainLength, .IS, header?.text(.echoTrainLength) ?? ""),
            ]
            if !volume.geometry.isFourDimensional {
                elements.append(text(.repetitionTime, .DS, header?.text(.repetitionTime) ?? ""))
            }
        default:
            elements += [text(.conversionType, .CS, "WSD"), text(.patientOrientation, .CS, "")]
        }
        if let timeSpacing = volume.timeSpacing {
            elements.append(try .decimalString(.repetitionTime, [timeSpacing * 1000]))
            elements.append(try .integerString(.numberOfTemporalPositions, [volume.geometry.timePoints]))
        }
        // Rescale: always for CT (type 1 there), otherwise where it is not the identity.
        if sop.uid == ctImageStorage || plan.rescales.contains(where: { !$0.isIdentity }) {
            elements.append(text(.rescaleType, .LO, sop.uid == ctImageStorage ? "HU" : "US"))
        }
        if plan.samplesPerPixel == 1, !metadata.windows.isEmpty {
            elements.append(try .decimalString(.windowCenter, metadata.windows.map(\.center)))
            elements.append(try .decimalString(.windowWidth, metadata.windows.map(\.width)))
            if metadata.windows.contains(where: { $0.explanation != nil }) {
                elements.append(text(.windowCenterWidthExplanation, .LO,
                                     metadata.windows.map { $0.explanation ?? "" }.joined(separator: "\\")))
            }
        }
        return DICOMDataSet(elements: elements)
    }

    /// Builds and writes one image file; returns its largest value error. `directCopy`: the plan stores
    /// the volume's own bytes (``PixelStoragePlan/isDirectCopy(of:)``).
    private static func writeImage(_ volume: Volume, k: Int, t: Int, instance: Int, base: DICOMDataSet,
                                   plan: PixelStoragePlan, directCopy: Bool, layout: SliceLayout,
                                   transferSyntax: TransferSyntax, path: String) throws -> Double {
        var dataSet = base
        let position = layout.position(k)
        let image = k + volume.size[2] * t
        let rescale = plan.rescales[image]
        dataSet.set(try .uid(.sopInstanceUID, DICOMUID.generate()))
        dataSet.set(try .integerString(.instanceNumber, [instance + 1]))
        dataSet.set(try .integerString(.acquisitionNumber, [t + 1]))
        dataSet.set(try .decimalString(.imagePositionPatient, [position.x, position.y, position.z]))
        dataSet.set(try .decimalString(.sliceLocation, [dot(position, layout.normal)]))
        if base.contains(.rescaleType) {
            dataSet.set(try .decimalString(.rescaleIntercept, [rescale.intercept]))
            dataSet.set(try .decimalString(.rescaleSlope, [rescale.slope]))
        }
        if volume.geometry.isFourDimensional {
            dataSet.set(try .integerString(.temporalPositionIdentifier, [t + 1]))
        }

        // Header, then the pixel data element written straight from the volume or a converted buffer.
        var header = MemorySink()
        try DICOMFileWriter.write(meta: DICOMDataSet(), dataSet: dataSet, transferSyntax: transferSyntax,
                                  source: nil, into: &header)
        let encoder = DICOMEncoder(explicitVR: transferSyntax.isExplicitVR, source: nil)
        let samples = volume.size[0] * volume.size[1] * plan.samplesPerPixel
        let byteCount = samples * plan.bitsAllocated / 8
        let padding = byteCount % 2
        try encoder.appendHeader(.pixelData, plan.bitsAllocated == 8 ? .OB : .OW, length: byteCount + padding, into: &header)

        let file = try WritableFile(creating: path)
        try file.write(header.bytes)
        var error = 0.0
        if directCopy {
            try volume.withUnsafeBytes { raw in
                try file.write(UnsafeRawBufferPointer(rebasing: raw[image * byteCount..<(image + 1) * byteCount]))
            }
        } else {
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: byteCount, alignment: 8)
            defer { buffer.deallocate() }
            error = PixelStoragePlan.store(image: image, of: volume, plan: plan, into: buffer.baseAddress!)
            try file.write(UnsafeRawBufferPointer(buffer))
        }
        if padding == 1 { try file.write([0]) }
        try file.close()
        return error
    }

    // MARK: File names

    static func fileNames(_ count: Int, _ naming: DICOMSeriesWriteOptions.FileNaming) -> [String] {
        switch naming {
        case .instanceNumber:
            return (1...max(count, 1)).prefix(count).map { number in
                let digits = String(number)
                return "IM" + String(repeating: "0", count: max(0, 5 - digits.count)) + digits + ".dcm"
            }
        case .shuffled(let seed):
            var generator = SplitMix64(seed: seed)
            var seen = Set<String>()
            var names: [String] = []
            while names.count < count {
                let hex = String(generator.next(), radix: 16)
                let name = String(repeating: "0", count: 16 - hex.count) + hex + ".dcm"
                if seen.insert(name).inserted { names.append(name) }
            }
            return names
        }
    }
}

/// A small seeded generator (SplitMix64) for reproducible names.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Today's date and the time, local, as DICOM DA and TM strings.
struct LocalDateTime {
    var date: String
    var clock: String

    static func now() -> LocalDateTime {
        var seconds = time(nil)
        var parts = tm()
        localtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return LocalDateTime(date: "\(parts.tm_year + 1900)\(two(parts.tm_mon + 1))\(two(parts.tm_mday))",
                             clock: "\(two(parts.tm_hour))\(two(parts.tm_min))\(two(parts.tm_sec))")
    }
}

// Attributes the writer needs beyond DICOMTag's well-known set.
extension DICOMTag {
    static let accessionNumber = DICOMTag(0x0008, 0x0050)
    static let conversionType = DICOMTag(0x0008, 0x0064)
    static let referringPhysicianName = DICOMTag(0x0008, 0x0090)
    static let patientBirthDate = DICOMTag(0x0010, 0x0030)
    static let patientSex = DICOMTag(0x0010, 0x0040)
    static let sequenceVariant = DICOMTag(0x0018, 0x0021)
    static let scanOptions = DICOMTag(0x0018, 0x0022)
    static let mrAcquisitionType = DICOMTag(0x0018, 0x0023)
    static let kvp = DICOMTag(0x0018, 0x0060)
    static let echoTrainLength = DICOMTag(0x0018, 0x0091)
    static let patientPosition = DICOMTag(0x0018, 0x5100)
    static let patientOrientation = DICOMTag(0x0020, 0x0020)
    static let laterality = DICOMTag(0x0020, 0x0060)
    static let positionReferenceIndicator = DICOMTag(0x0020, 0x1040)
}
