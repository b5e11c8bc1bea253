/// The diffusion weighting of one volume: its b-value and gradient direction.
public struct DiffusionEncoding: Hashable, Sendable {
    /// b-value in s/mm².
    public var bValue: Double
    /// Unit gradient direction in the patient's LPS coordinates (zero for b = 0 or an isotropic image).
    public var gradient: SIMD3<Double>

    /// An encoding of `bValue` along `gradient` (LPS).
    public init(bValue: Double, gradient: SIMD3<Double>) {
        self.bValue = bValue
        self.gradient = gradient
    }
}

/// The acquisition parameters of a stack as a BIDS sidecar (`NAME.json` beside `NAME.nii`), under the
/// names and in the units dcm2niix writes them (seconds for times, as BIDS says). Every field is optional:
/// a value the headers do not give is left out, never guessed. Identifying fields (patient name, ID,
/// birth date, …) are not among them.
///
/// Sources: standard elements of the first image, Siemens CSA image and series headers (slice times,
/// phase-encoding polarity, bandwidth per pixel in the phase direction, the protocol's ASCCONV part), and
/// GE private elements (effective echo spacing, ASSET factors, multiband factor), and Philips private
/// elements (the private scale slope, water–fat shift) with the Philips-only rescale fields.
public struct BIDSSidecar: Sendable, Equatable {
    /// Modality (0008,0060).
    public var modality: String?
    /// Magnetic Field Strength (0018,0087), in tesla.
    public var magneticFieldStrength: Double?
    /// Imaging Frequency (0018,0084), MHz.
    public var imagingFrequency: Double?
    /// "Siemens", "GE", "Philips", … (dcm2niix's short vendor names), else Manufacturer as stored.
    public var manufacturer: String?
    /// Manufacturer's Model Name (0008,1090).
    public var manufacturersModelName: String?
    /// Institution Name (0008,0080).
    public var institutionName: String?
    /// Institutional Department Name (0008,1040).
    public var institutionalDepartmentName: String?
    /// Institution Address (0008,0081).
    public var institutionAddress: String?
    /// Device Serial Number (0018,1000).
    public var deviceSerialNumber: String?
    /// Station Name (0008,1010).
    public var stationName: String?
    /// Body Part Examined (0018,0015).
    public var bodyPartExamined: String?
    /// Patient Position (0018,5100), e.g. "HFS".
    public var patientPosition: String?
    /// Performed Procedure Step Description (0040,0254).
    public var procedureStepDescription: String?
    /// Software Versions, several values joined by backslashes.
    public var softwareVersions: String?
    /// MR Acquisition Type (0018,0023): "2D" or "3D".
    public var mrAcquisitionType: String?
    /// Study Description (0008,1030).
    public var studyDescription: String?
    /// Series Description (0008,103E).
    public var seriesDescription: String?
    /// Protocol Name (0018,1030).
    public var protocolName: String?
    /// Scanning Sequence (0018,0020), values joined by backslashes.
    public var scanningSequence: String?
    /// Sequence Variant (0018,0021), values joined by backslashes.
    public var sequenceVariant: String?
    /// Scan Options (0018,0022), values joined by backslashes.
    public var scanOptions: String?
    /// Sequence Name (0018,0024).
    public var sequenceName: String?
    /// GE: Internal Pulse Sequence Name (0019,109E).
    public var internalPulseSequenceName: String?
    /// Image Type (0008,0008), every value as stored.
    public var imageType: [String]?
    /// From ImageType: false for "ND", true for "DIS2D"/"DIS3D".
    public var nonlinearGradientCorrection: Bool?
    /// Series Number (0020,0011).
    public var seriesNumber: Int?
    /// Acquisition Time (0008,0032) as "HH:MM:SS.ffffff".
    public var acquisitionTime: String?
    /// Acquisition Number (0020,0012).
    public var acquisitionNumber: Int?
    /// Image Comments (0020,4000).
    public var imageComments: String?
    /// Slice Thickness (0018,0050), mm.
    public var sliceThickness: Double?
    /// Spacing Between Slices (0018,0088), mm.
    public var spacingBetweenSlices: Double?
    /// SAR (0018,1316), W/kg.
    public var sar: Double?
    /// Siemens: CSA ImaRelTablePosition, mm.
    public var tablePosition: [Double]?
    /// Echo Time (0018,0081), seconds.
    public var echoTime: Double?
    /// Echo Numbers (0018,0086), written when greater than 1.
    public var echoNumber: Int?
    /// Repetition Time (0018,0080), seconds.
    public var repetitionTime: Double?
    /// Inversion Time (0018,0082), seconds.
    public var inversionTime: Double?
    /// Flip Angle (0018,1314), degrees.
    public var flipAngle: Double?
    /// GE: "Flipped" or "Unflipped", from Rectilinear Phase Encode Reordering (0018,9034) LINEAR or
    /// REVERSE_LINEAR.
    public var phaseEncodingPolarityGE: String?
    /// Siemens: the protocol's phase partial Fourier as a fraction (1 for none).
    public var partialFourier: Double?
    /// Siemens: the protocol's base resolution (sKSpace.lBaseResolution).
    public var baseResolution: Int?
    /// Siemens: the three gradient offsets and five shim currents of the protocol.
    public var shimSetting: [Double]?
    /// Siemens: the protocol's delay time in TR, seconds.
    public var delayTime: Double?
    /// Siemens: the protocol's transmitter reference amplitude, V.
    public var txRefAmp: Double?
    /// Siemens: the protocol's phase resolution (a fraction).
    public var phaseResolution: Double?
    /// Siemens: the protocol's first coil ID.
    public var receiveCoilName: String?
    /// Siemens: coil string (0051,100F); GE: Receive Coil Name (0018,1250).
    public var coilString: String?
    /// Siemens: the protocol's sequence file name.
    public var pulseSequenceDetails: String?
    /// Siemens: reference lines for parallel imaging (sPat.lRefLinesPE).
    public var refLinesPE: Int?
    /// Siemens: the protocol's coil combination (ucCoilCombineMode 1 "Sum of Squares", 2 "Adaptive Combine").
    public var coilCombinationMethod: String?
    /// Siemens: the protocol's parallel-imaging mode (sPat.ucPATMode 1 "SENSE", 2 "GRAPPA").
    public var matrixCoilMode: String?
    /// Siemens: the protocol's baseline (software) string.
    public var consistencyInfo: String?
    /// GE: image dimension X (0027,1060).
    public var numberOfPointsPerArm: Int?
    /// GE: image dimension Y (0027,1061).
    public var numberOfArms: Int?
    /// GE: Number of Excitations (0027,1062).
    public var numberOfExcitations: Double?
    /// Slices excited at once: Siemens from Image Comments ("MB2"), GE from (0043,10B6); written when above 1.
    public var multibandAccelerationFactor: Int?
    /// Percent Phase Field of View (0018,0094).
    public var percentPhaseFOV: Double?
    /// Percent Sampling (0018,0093).
    public var percentSampling: Double?
    /// Siemens: Number of Phase Encoding Steps (0018,0089).
    public var phaseEncodingSteps: Int?
    /// Phase-encoding lines of the Acquisition Matrix (0018,1310).
    public var acquisitionMatrixPE: Int?
    /// Reconstructed lines along the phase-encoding direction: the written image's rows (COL) or columns (ROW).
    public var reconMatrixPE: Int?
    /// Siemens: CSA BandwidthPerPixelPhaseEncode, Hz/pixel.
    public var bandwidthPerPixelPhaseEncode: Double?
    /// In-plane acceleration: Siemens sPat.lAccelFactPE, GE 1 / the first ASSET R factor (0043,1083); written above 1.
    public var parallelReductionFactorInPlane: Double?
    /// GE: 1 / the second ASSET R factor (0043,1083); written above 1.
    public var parallelReductionOutOfPlane: Double?
    /// Seconds between phase-encoding lines of the reconstructed image: Siemens 1 / (bandwidth per pixel
    /// phase encode × ReconMatrixPE); GE the total readout time over ReconMatrixPE − 1.
    public var effectiveEchoSpacing: Double?
    /// Siemens: the effective echo spacing times the in-plane acceleration, seconds.
    public var derivedVendorReportedEchoSpacing: Double?
    /// FSL's total readout time, seconds.
    public var totalReadoutTime: Double?
    /// Pixel Bandwidth (0018,0095), Hz/pixel.
    public var pixelBandwidth: Double?
    /// Siemens: CSA RealDwellTime, seconds.
    public var dwellTime: Double?
    /// "i", "j", "k" with "-" for reversed polarity, in the axes of the written image (medvol's NIfTI:
    /// i along the DICOM row direction, j along the column direction, k along the slices).
    public var phaseEncodingDirection: String?
    /// Seconds from the start of each volume, one per slice in the written image's slice order.
    public var sliceTiming: [Double]?
    /// Image Orientation (Patient) (0020,0037) of the first image.
    public var imageOrientationPatientDICOM: [Double]?
    /// Siemens: orientation text (0051,100E), e.g. "Tra>Cor(-6.2)".
    public var imageOrientationText: String?
    /// In-plane Phase Encoding Direction (0018,1312): "ROW" or "COL", as stored.
    public var inPlanePhaseEncodingDirectionDICOM: String?
    /// Philips: Echo Train Length (0018,0091).
    public var echoTrainLength: Int?
    /// Philips: Water Fat Shift (2001,xx22 of "Philips Imaging DD 001"), pixels.
    public var waterFatShift: Double?
    /// Philips: Rescale Slope (0028,1053) of the first image.
    public var philipsRescaleSlope: Double?
    /// Philips: Rescale Intercept (0028,1052) of the first image.
    public var philipsRescaleIntercept: Double?
    /// Philips: Scale Slope (2005,xx0E of "Philips MR Imaging DD 001") of the first image.
    public var philipsScaleSlope: Double?
    /// Philips: 1 when the written values are Philips' precise ones (`--scaling philips-precise`), 0 when
    /// they are the DICOM Modality LUT's; left out when stored values are written or there is no private scale.
    public var usePhilipsFloatNotDisplayScaling: Int?

    /// A sidecar that knows nothing.
    public init() {}

    /// The sidecar as a JSON object, in dcm2niix's field order, known fields only, with
    /// `"ConversionSoftware": "medvol"`.
    public var json: JSONValue {
        var object = JSONObject()
        func put(_ key: String, _ value: String?) { if let value { object[key] = .string(value) } }
        func put(_ key: String, _ value: Double?) { if let value, value.isFinite { object[key] = BIDSSidecar.number(value) } }
        func put(_ key: String, _ value: Int?) { if let value { object[key] = .integer(value) } }
        func put(_ key: String, _ value: [Double]?) {
            if let value, value.allSatisfy(\.isFinite) { object[key] = .array(value.map(BIDSSidecar.number)) }
        }
        put("Modality", modality)
        put("MagneticFieldStrength", magneticFieldStrength)
        put("ImagingFrequency", imagingFrequency)
        put("Manufacturer", manufacturer)
        put("InternalPulseSequenceName", internalPulseSequenceName)
        put("ManufacturersModelName", manufacturersModelName)
        put("InstitutionName", institutionName)
        put("InstitutionalDepartmentName", institutionalDepartmentName)
        put("InstitutionAddress", institutionAddress)
        put("DeviceSerialNumber", deviceSerialNumber)
        put("StationName", stationName)
        put("BodyPartExamined", bodyPartExamined)
        put("PatientPosition", patientPosition)
        put("ProcedureStepDescription", procedureStepDescription)
        put("SoftwareVersions", softwareVersions)
        put("MRAcquisitionType", mrAcquisitionType)
        put("StudyDescription", studyDescription)
        put("SeriesDescription", seriesDescription)
        put("ProtocolName", protocolName)
        put("ScanningSequence", scanningSequence)
        put("SequenceVariant", sequenceVariant)
        put("ScanOptions", scanOptions)
        put("SequenceName", sequenceName)
        if let imageType { object["ImageType"] = .array(imageType.map { .string($0) }) }
        if let nonlinearGradientCorrection { object["NonlinearGradientCorrection"] = .bool(nonlinearGradientCorrection) }
        put("SeriesNumber", seriesNumber)
        put("AcquisitionTime", acquisitionTime)
        put("AcquisitionNumber", acquisitionNumber)
        put("ImageComments", imageComments)
        put("SliceThickness", sliceThickness)
        put("SpacingBetweenSlices", spacingBetweenSlices)
        put("SAR", sar)
        put("TablePosition", tablePosition)
        put("EchoNumber", echoNumber)
        put("EchoTime", echoTime)
        put("RepetitionTime", repetitionTime)
        put("InversionTime", inversionTime)
        put("FlipAngle", flipAngle)
        put("EchoTrainLength", echoTrainLength)
        put("WaterFatShift", waterFatShift)
        put("PhaseEncodingPolarityGE", phaseEncodingPolarityGE)
        put("PartialFourier", partialFourier)
        put("BaseResolution", baseResolution)
        put("ShimSetting", shimSetting)
        put("DelayTime", delayTime)
        put("TxRefAmp", txRefAmp)
        put("PhaseResolution", phaseResolution)
        put("ReceiveCoilName", receiveCoilName)
        put("CoilString", coilString)
        put("PulseSequenceDetails", pulseSequenceDetails)
        put("RefLinesPE", refLinesPE)
        put("CoilCombinationMethod", coilCombinationMethod)
        put("ConsistencyInfo", consistencyInfo)
        put("MatrixCoilMode", matrixCoilMode)
        put("NumberOfPointsPerArm", numberOfPointsPerArm)
        put("NumberOfArms", numberOfArms)
        put("NumberOfExcitations", numberOfExcitations)
        put("MultibandAccelerationFactor", multibandAccelerationFactor)
        put("PercentPhaseFOV", percentPhaseFOV)
        put("PercentSampling", percentSampling)
        put("PhaseEncodingSteps", phaseEncodingSteps)
        put("AcquisitionMatrixPE", acquisitionMatrixPE)
        put("ReconMatrixPE", reconMatrixPE)
        put("BandwidthPerPixelPhaseEncode", bandwidthPerPixelPhaseEncode)
        put("ParallelReductionFactorInPlane", parallelReductionFactorInPlane)
        put("ParallelReductionOutOfPlane", parallelReductionOutOfPlane)
        put("EffectiveEchoSpacing", effectiveEchoSpacing)
        put("DerivedVendorReportedEchoSpacing", derivedVendorReportedEchoSpacing)
        put("TotalReadoutTime", totalReadoutTime)
        put("PixelBandwidth", pixelBandwidth)
        put("DwellTime", dwellTime)
        put("PhaseEncodingDirection", phaseEncodingDirection)
        put("SliceTiming", sliceTiming)
        put("ImageOrientationPatientDICOM", imageOrientationPatientDICOM)
        put("ImageOrientationText", imageOrientationText)
        put("InPlanePhaseEncodingDirectionDICOM", inPlanePhaseEncodingDirectionDICOM)
        put("PhilipsRescaleSlope", philipsRescaleSlope)
        put("PhilipsRescaleIntercept", philipsRescaleIntercept)
        put("PhilipsScaleSlope", philipsScaleSlope)
        put("UsePhilipsFloatNotDisplayScaling", usePhilipsFloatNotDisplayScaling)
        object["ConversionSoftware"] = .string("medvol")
        return .object(object)
    }

    /// A whole number as an integer ("3", not "3.0"), else the number; never "-0".
    static func number(_ value: Double) -> JSONValue {
        if value == 0 { return .integer(0) }
        if value.rounded() == value, abs(value) < 1e15 { return .integer(Int(value)) }
        return .number(value)
    }
}

// MARK: - Reading the sidecar from a stack

/// The protocol part ("### ASCCONV BEGIN … ### ASCCONV END") of a Siemens MrPhoenixProtocol: `key = value`.
struct SiemensProtocol {
    private(set) var values: [String: String] = [:]

    init?(_ text: String) {
        guard let begin = text.firstRange(of: "### ASCCONV BEGIN") else { return nil }
        for line in text[begin.upperBound...].split(separator: "\n") {
            if line.hasPrefix("### ASCCONV END") { break }
            guard let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(" \t")
            var value = line[line.index(after: equals)...].trimmingCharacters(" \t\r")
            if let hash = value.firstRange(of: "\t#") { value = value[..<hash.lowerBound].trimmingCharacters(" \t") }
            while value.hasPrefix("\"") && value.hasSuffix("\"") && value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            values[key] = value
        }
    }

    func string(_ key: String) -> String? { values[key].flatMap { $0.isEmpty ? nil : $0 } }

    /// A decimal or 0x-hexadecimal number.
    func number(_ key: String) -> Double? {
        guard let text = values[key] else { return nil }
        if text.hasPrefix("0x") { return Int(text.dropFirst(2), radix: 16).map(Double.init) }
        return Double(text)
    }
}

extension Substring {
    fileprivate func trimmingCharacters(_ set: String) -> String {
        var slice = self
        while let first = slice.first, set.contains(first) { slice.removeFirst() }
        while let last = slice.last, set.contains(last) { slice.removeLast() }
        return String(slice)
    }
}

extension String {
    fileprivate func trimmingCharacters(_ set: String) -> String { Substring(self).trimmingCharacters(set) }
}

extension DICOMStack {
    /// The first frame of each volume, in t order.
    private var volumeFirstFrames: [DICOMFrame] {
        guard let size = geometry?.size, !slots.isEmpty else { return [frames[0]] }
        let perVolume = max(1, size[2])
        let volumes = max(1, slots.count / perVolume)
        return (0..<volumes).map { frames[slots[$0 * perVolume]] }
    }

    /// The headers of the first image of each volume, in t order.
    private var volumeHeaders: [DICOMDataSet] { volumeFirstFrames.map { files[$0.fileIndex].dataSet } }

    /// The Siemens CSA image header of a data set.
    static func siemensImageCSA(_ dataSet: DICOMDataSet) -> SiemensCSAHeader? {
        dataSet.privateElement(group: 0x0029, element: 0x10, creator: "SIEMENS CSA HEADER")?.rawBytes.flatMap(SiemensCSAHeader.init)
    }

    /// The Siemens protocol (ASCCONV part of MrPhoenixProtocol in the CSA series header).
    static func siemensProtocol(_ dataSet: DICOMDataSet) -> SiemensProtocol? {
        guard let csa = dataSet.privateElement(group: 0x0029, element: 0x20, creator: "SIEMENS CSA HEADER")?.rawBytes
            .flatMap(SiemensCSAHeader.init), let text = csa.values["MrPhoenixProtocol"]?.first else { return nil }
        return SiemensProtocol(text)
    }

    /// A GE private number: element `element` of `creator`'s block in `group`, value `index`.
    private static func gePrivate(_ dataSet: DICOMDataSet, _ group: UInt16, _ element: UInt8, _ creator: String,
                                  index: Int = 0) -> Double? {
        guard let tag = dataSet.privateElement(group: group, element: element, creator: creator)?.tag else { return nil }
        let values = dataSet.doubles(tag)
        return index < values.count ? values[index] : nil
    }

    /// A Philips private number: the first value of element `element` of `creator`'s block in `group`,
    /// from the first of `places` that has it.
    static func philipsPrivate(_ places: [DICOMDataSet], _ group: UInt16, _ element: UInt8, _ creator: String) -> Double? {
        for place in places {
            if let tag = place.privateElement(group: group, element: element, creator: creator)?.tag,
               let value = place.doubles(tag).first, value.isFinite { return value }
        }
        return nil
    }

    /// Philips diffusion where the standard elements are absent: the b-value from Diffusion B-Factor
    /// (2001,xx03 of "Philips Imaging DD 001"), the gradient from Diffusion Direction RL, AP, FH
    /// (2005,xxB0/B1/B2 of "Philips MR Imaging DD 001", or of "DD 004"), taken as the LPS x, y, z
    /// components unchanged, as dcm2niix does (it stores them where it stores the standard (0018,9089)).
    /// Diffusion Direction (2001,xx04) "I" marks an isotropic (trace) image: its gradient is zero whatever
    /// the direction elements say, its b-value kept. Each standard element wins over its private one.
    static func philipsDiffusionEncoding(_ dataSet: DICOMDataSet) -> DiffusionEncoding? {
        let standard = standardDiffusionEncoding(dataSet)
        guard let b = standard?.bValue ?? philipsPrivate([dataSet], 0x2001, 0x03, "Philips Imaging DD 001") else { return nil }
        if b == 0 { return DiffusionEncoding(bValue: 0, gradient: .zero) }
        let place = dataSet.firstItem(DICOMTag(0x0018, 0x9076)) ?? dataSet
        if let standard, place.doubles(DICOMTag(0x0018, 0x9089)).count >= 3 { return DiffusionEncoding(bValue: b, gradient: standard.gradient) }
        let label = dataSet.privateElement(group: 0x2001, element: 0x04, creator: "Philips Imaging DD 001")
            .flatMap { dataSet.string($0.tag) }?.uppercased()
        if label == "I" { return DiffusionEncoding(bValue: b, gradient: .zero) }
        var components: [Double] = []
        for creator in ["Philips MR Imaging DD 001", "Philips MR Imaging DD 004"] {
            components = [0xB0, 0xB1, 0xB2].compactMap { philipsPrivate([dataSet], 0x2005, UInt8($0), creator) }
            if components.count == 3 { break }
        }
        var gradient = SIMD3<Double>.zero
        if components.count == 3 {
            let g = SIMD3(components[0], components[1], components[2])
            if length(g) > 1e-6, length(g).isFinite { gradient = g / length(g) }
        }
        return DiffusionEncoding(bValue: b, gradient: gradient)
    }

    enum Vendor { case siemens, ge, philips, other }

    static func vendor(_ dataSet: DICOMDataSet) -> Vendor {
        let name = (dataSet.string(.manufacturer) ?? "").uppercased()
        if name.hasPrefix("SIEMENS") { return .siemens }
        if name.hasPrefix("GE ") || name == "GE" || name.hasPrefix("GE MEDICAL") { return .ge }
        if name.hasPrefix("PHILIPS") { return .philips }
        return .other
    }

    /// The diffusion encoding of each volume, in t order, when the images carry one: the standard
    /// Diffusion b-value (0018,9087) and Gradient Orientation (0018,9089), in enhanced files from each
    /// frame's MR Diffusion Sequence; Siemens CSA B_value and
    /// DiffusionGradientDirection; GE (0043,1039) (first value modulo 10⁹) and (0019,10BB/BC/BD), which
    /// GE gives in the image's axes (row, column, −normal); Philips (2001,xx03) and (2005,xxB0/B1/B2) where the
    /// standard elements are absent (see `philipsDiffusionEncoding`). nil when no volume has a b-value.
    public var diffusion: [DiffusionEncoding]? {
        let encodings = volumeFirstFrames.map { frame -> DiffusionEncoding? in
            let dataSet = files[frame.fileIndex].dataSet
            if let perFrame = dataSet.sequence(.perFrameFunctionalGroupsSequence) {
                // Enhanced MR: the frame's MR Diffusion Sequence (0018,9117), else the shared one.
                let shared = dataSet.firstItem(.sharedFunctionalGroupsSequence)
                let mrDiffusion = DICOMTag(0x0018, 0x9117)
                let item = (frame.frameNumber < perFrame.count ? perFrame[frame.frameNumber].firstItem(mrDiffusion) : nil)
                    ?? shared?.firstItem(mrDiffusion)
                return item.flatMap(Self.standardDiffusionEncoding)
            }
            return Self.diffusionEncoding(dataSet)
        }
        guard encodings.contains(where: { $0 != nil }), encodings.allSatisfy({ $0 != nil }) else { return nil }
        return encodings.map { $0! }
    }

    static func diffusionEncoding(_ dataSet: DICOMDataSet) -> DiffusionEncoding? {
        func unit(_ v: [Double]) -> SIMD3<Double> {
            guard v.count >= 3 else { return .zero }
            let g = SIMD3(v[0], v[1], v[2])
            let n = length(g)
            return n > 1e-6 && n.isFinite ? g / n : .zero
        }
        let vendor = vendor(dataSet)
        if vendor == .ge, let raw = gePrivate(dataSet, 0x0043, 0x39, "GEMS_PARM_01"), raw.isFinite {
            let b = raw.truncatingRemainder(dividingBy: 1e9)
            let components = [0xBB, 0xBC, 0xBD].compactMap { gePrivate(dataSet, 0x0019, UInt8($0), "GEMS_ACQU_01") }
            let (row, column) = FrameExtraction.directions(from: dataSet.doubles(.imageOrientationPatient))
            var gradient = SIMD3<Double>.zero
            if components.count == 3, let row, let column {
                let normal = cross(row, column) / length(cross(row, column))
                gradient = unit([0, 1, 2].map { (row * components[0] + column * components[1] - normal * components[2])[$0] })
            }
            return DiffusionEncoding(bValue: b, gradient: b == 0 ? .zero : gradient)
        }
        if vendor == .siemens, let csa = siemensImageCSA(dataSet), let b = csa.numbers("B_value").first {
            return DiffusionEncoding(bValue: b, gradient: b == 0 ? .zero : unit(csa.numbers("DiffusionGradientDirection")))
        }
        if vendor == .philips { return philipsDiffusionEncoding(dataSet) }
        return standardDiffusionEncoding(dataSet)
    }

    /// Diffusion b-value (0018,9087) and Diffusion Gradient Orientation (0018,9089) of a data set or of an
    /// MR Diffusion Sequence item (where the orientation sits in a Diffusion Gradient Direction Sequence,
    /// (0018,9076)). The standard gives the orientation in the patient's LPS coordinates.
    static func standardDiffusionEncoding(_ dataSet: DICOMDataSet) -> DiffusionEncoding? {
        guard let b = dataSet.double(DICOMTag(0x0018, 0x9087)), b.isFinite else { return nil }
        let place = dataSet.firstItem(DICOMTag(0x0018, 0x9076)) ?? dataSet
        let v = place.doubles(DICOMTag(0x0018, 0x9089))
        var gradient = SIMD3<Double>.zero
        if v.count >= 3, b != 0 {
            let g = SIMD3(v[0], v[1], v[2])
            if length(g) > 1e-6, length(g).isFinite { gradient = g / length(g) }
        }
        return DiffusionEncoding(bValue: b, gradient: gradient)
    }

    /// The stack's acquisition parameters as dcm2niix writes them in its BIDS sidecar (see
    /// ``BIDSSidecar``), with the phase-encoding direction and slice timing in the axes of the volume
    /// medvol writes.
    public var bidsSidecar: BIDSSidecar {
        let header = firstHeader
        var s = BIDSSidecar()
        // Where a value is looked for: the data set, then (enhanced files) the items of the shared
        // functional groups, then those of the first frame's.
        var places = [header]
        for groups in [header.firstItem(.sharedFunctionalGroupsSequence), header.sequence(.perFrameFunctionalGroupsSequence)?.first] {
            if let groups { places += groups.elements.compactMap { $0.items?.first } }
        }
        func place(_ tag: DICOMTag) -> DICOMDataSet { places.first { $0[tag] != nil } ?? header }
        func text(_ group: UInt16, _ element: UInt16) -> String? {
            let tag = DICOMTag(group, element)
            return place(tag).string(tag)
        }
        func joined(_ group: UInt16, _ element: UInt16) -> String? {
            let tag = DICOMTag(group, element)
            let values = place(tag).strings(tag).filter { !$0.isEmpty }
            return values.isEmpty ? nil : values.joined(separator: "\\")
        }
        func number(_ group: UInt16, _ element: UInt16) -> Double? {
            let tag = DICOMTag(group, element)
            return place(tag).double(tag).flatMap { $0.isFinite ? $0 : nil }
        }
        func seconds(_ group: UInt16, _ element: UInt16) -> Double? { number(group, element).map { $0 / 1000 } }
        let vendor = Self.vendor(header)
        s.modality = modality
        s.magneticFieldStrength = number(0x0018, 0x0087)
        s.imagingFrequency = number(0x0018, 0x0084)
        switch vendor {
        case .siemens: s.manufacturer = "Siemens"
        case .ge: s.manufacturer = "GE"
        case .philips: s.manufacturer = "Philips"
        case .other: s.manufacturer = text(0x0008, 0x0070)
        }
        s.manufacturersModelName = text(0x0008, 0x1090)
        s.institutionName = text(0x0008, 0x0080)
        s.institutionalDepartmentName = text(0x0008, 0x1040)
        s.institutionAddress = header.text(DICOMTag(0x0008, 0x0081))
        s.deviceSerialNumber = text(0x0018, 0x1000)
        s.stationName = text(0x0008, 0x1010)
        s.bodyPartExamined = text(0x0018, 0x0015)
        s.patientPosition = text(0x0018, 0x5100)
        s.procedureStepDescription = text(0x0040, 0x0254)
        s.softwareVersions = joined(0x0018, 0x1020)
        s.mrAcquisitionType = text(0x0018, 0x0023)
        s.studyDescription = text(0x0008, 0x1030)
        s.seriesDescription = text(0x0008, 0x103E)
        s.protocolName = text(0x0018, 0x1030)
        s.scanningSequence = joined(0x0018, 0x0020)
        s.sequenceVariant = joined(0x0018, 0x0021)
        s.scanOptions = joined(0x0018, 0x0022)
        s.sequenceName = text(0x0018, 0x0024)
        let imageType = header.strings(.imageType).filter { !$0.isEmpty }
        if !imageType.isEmpty { s.imageType = imageType }
        let upperType = imageType.map { $0.uppercased() }
        if upperType.contains("DIS2D") || upperType.contains("DIS3D") {
            s.nonlinearGradientCorrection = true
        } else if upperType.contains("ND") {
            s.nonlinearGradientCorrection = false
        }
        s.seriesNumber = seriesNumber
        if let time = text(0x0008, 0x0032) { s.acquisitionTime = Self.formattedTime(time) }
        s.acquisitionNumber = header.int(.acquisitionNumber)
        s.imageComments = header.text(DICOMTag(0x0020, 0x4000))
        s.sliceThickness = number(0x0018, 0x0050)
        s.spacingBetweenSlices = number(0x0018, 0x0088)
        s.sar = number(0x0018, 0x1316)
        s.echoTime = seconds(0x0018, 0x0081) ?? seconds(0x0018, 0x9082)   // Effective Echo Time (enhanced)
        if let echo = header.int(.echoNumbers), echo > 1 { s.echoNumber = echo }
        s.repetitionTime = seconds(0x0018, 0x0080)
        s.inversionTime = seconds(0x0018, 0x0082)
        s.flipAngle = number(0x0018, 0x1314)
        s.percentPhaseFOV = number(0x0018, 0x0094)
        s.percentSampling = number(0x0018, 0x0093)
        s.pixelBandwidth = number(0x0018, 0x0095)
        let orientation = place(.imageOrientationPatient).doubles(.imageOrientationPatient)
        if orientation.count == 6 { s.imageOrientationPatientDICOM = orientation }
        let phaseAxis = text(0x0018, 0x1312)?.uppercased()
        if let phaseAxis, phaseAxis == "ROW" || phaseAxis == "COL" { s.inPlanePhaseEncodingDirectionDICOM = phaseAxis }

        // Acquisition Matrix: frequency rows, frequency columns, phase rows, phase columns.
        let matrix = header.ints(DICOMTag(0x0018, 0x1310))
        if matrix.count == 4, let phaseAxis {
            let lines = phaseAxis == "COL" ? matrix[3] : matrix[2]
            if lines > 0 { s.acquisitionMatrixPE = lines }
        }
        // The reconstructed matrix along the phase direction: the written image's rows (COL) or columns (ROW).
        if let phaseAxis, let size = geometry?.size {
            s.reconMatrixPE = phaseAxis == "COL" ? size[1] : size[0]
        }
        var phasePositive: Bool?

        switch vendor {
        case .siemens:
            s.phaseEncodingSteps = header.int(DICOMTag(0x0018, 0x0089))
            if let csa = Self.siemensImageCSA(header) {
                if let positive = csa.numbers("PhaseEncodingDirectionPositive").first { phasePositive = positive == 1 }
                s.bandwidthPerPixelPhaseEncode = csa.numbers("BandwidthPerPixelPhaseEncode").first
                if let dwell = csa.numbers("RealDwellTime").first, dwell > 0 { s.dwellTime = dwell * 1e-9 }
                let table = csa.numbers("ImaRelTablePosition")
                if table.count == 3 { s.tablePosition = table }
            }
            s.coilString = header.privateElement(group: 0x0051, element: 0x0F, creator: "SIEMENS MR HEADER")
                .flatMap { header.string($0.tag) }
            s.imageOrientationText = header.privateElement(group: 0x0051, element: 0x0E, creator: "SIEMENS MR HEADER")
                .flatMap { header.string($0.tag) }
            if let comments = s.imageComments, let range = comments.firstRange(of: "MB") {
                let digits = comments[range.upperBound...].prefix { $0.isNumber }
                if let factor = Int(digits), factor > 1 { s.multibandAccelerationFactor = factor }
            }
            s.sliceTiming = siemensSliceTiming(repetitionTime: s.repetitionTime,
                                               multiband: (s.multibandAccelerationFactor ?? 1) > 1)
            if let protocolData = Self.siemensProtocol(header) {
                let partial: [Int: Double] = [1: 0.5, 2: 0.625, 4: 0.75, 8: 0.875, 16: 1]
                s.partialFourier = protocolData.number("sKSpace.ucPhasePartialFourier").flatMap { partial[Int($0)] }
                s.baseResolution = protocolData.number("sKSpace.lBaseResolution").map { Int($0) }
                s.phaseResolution = protocolData.number("sKSpace.dPhaseResolution")
                var shim: [Double] = []
                for axis in ["X", "Y", "Z"] {
                    if let v = protocolData.number("sGRADSPEC.asGPAData[0].lOffset\(axis)") ?? protocolData.number("sGRADSPEC.lOffset\(axis)") { shim.append(v) }
                }
                for index in 0..<5 { if let v = protocolData.number("sGRADSPEC.alShimCurrent[\(index)]") { shim.append(v) } }
                if shim.count == 8 { s.shimSetting = shim }
                s.delayTime = protocolData.number("lDelayTimeInTR").map { $0 / 1e6 }
                s.txRefAmp = protocolData.number("sTXSPEC.asNucleusInfo[0].flReferenceAmplitude")
                s.receiveCoilName = protocolData.string("asCoilSelectMeas[0].asList[0].sCoilElementID.tCoilID")
                s.pulseSequenceDetails = protocolData.string("tSequenceFileName")
                s.refLinesPE = protocolData.number("sPat.lRefLinesPE").map { Int($0) }
                s.consistencyInfo = protocolData.string("sProtConsistencyInfo.tBaselineString")
                switch protocolData.number("ucCoilCombineMode") {
                case 1?: s.coilCombinationMethod = "Sum of Squares"
                case 2?: s.coilCombinationMethod = "Adaptive Combine"
                default: break
                }
                switch protocolData.number("sPat.ucPATMode") {
                case 1?: s.matrixCoilMode = "SENSE"
                case 2?: s.matrixCoilMode = "GRAPPA"
                default: break
                }
                if let factor = protocolData.number("sPat.lAccelFactPE"), factor > 1 { s.parallelReductionFactorInPlane = factor }
            }
            // Echo spacing from the bandwidth per pixel in the phase direction (Siemens' definition).
            if let bandwidth = s.bandwidthPerPixelPhaseEncode, bandwidth > 0, let recon = s.reconMatrixPE, recon > 1 {
                let spacing = 1 / (bandwidth * Double(recon))
                s.effectiveEchoSpacing = spacing
                s.derivedVendorReportedEchoSpacing = spacing * (s.parallelReductionFactorInPlane ?? 1)
                s.totalReadoutTime = spacing * Double(recon - 1)
            }
        case .ge:
            s.internalPulseSequenceName = header.privateElement(group: 0x0019, element: 0x9E, creator: "GEMS_ACQU_01")
                .flatMap { header.string($0.tag) }
            s.coilString = text(0x0018, 0x1250)
            s.numberOfPointsPerArm = Self.gePrivate(header, 0x0027, 0x60, "GEMS_IMAG_01").map { Int($0) }
            s.numberOfArms = Self.gePrivate(header, 0x0027, 0x61, "GEMS_IMAG_01").map { Int($0) }
            s.numberOfExcitations = Self.gePrivate(header, 0x0027, 0x62, "GEMS_IMAG_01")
            if let tag = header.privateElement(group: 0x0043, element: 0xB6, creator: "GEMS_PARM_01")?.tag,
               let factor = header.strings(tag).first.flatMap({ Int($0) }), factor > 1 {
                s.multibandAccelerationFactor = factor
            }
            // ASSET R factors: in-plane and out-of-plane, as fractions.
            if let inPlane = Self.gePrivate(header, 0x0043, 0x83, "GEMS_PARM_01"), inPlane > 0, inPlane < 1 {
                s.parallelReductionFactorInPlane = 1 / inPlane
            }
            if let outOfPlane = Self.gePrivate(header, 0x0043, 0x83, "GEMS_PARM_01", index: 1), outOfPlane > 0, outOfPlane < 1 {
                s.parallelReductionOutOfPlane = 1 / outOfPlane
            }
            // Echo spacing (0043,102C) in µs over the lines acquired: the phase lines (0018,1310) divided by
            // the ASSET factor, rounded up to a multiple of 4 with partial Fourier (PFF among the Scan
            // Options), else of 2 — FSL's total readout time, spread over the reconstructed lines as the
            // effective echo spacing (dcm2niix's definitions).
            if let microseconds = Self.gePrivate(header, 0x0043, 0x2C, "GEMS_PARM_01"), microseconds > 0,
               let lines = s.acquisitionMatrixPE, let recon = s.reconMatrixPE, recon > 1 {
                let round: Double = header.strings(DICOMTag(0x0018, 0x0022)).contains("PFF") ? 4 : 2
                let acquired = (Double(lines) / (s.parallelReductionFactorInPlane ?? 1) / round).rounded(.up) * round
                let readout = microseconds * 1e-6 * (acquired - 1)
                s.totalReadoutTime = readout
                s.effectiveEchoSpacing = readout / Double(recon - 1)
            }
            // Rectilinear Phase Encode Reordering: LINEAR is GE's "Flipped" polarity, REVERSE_LINEAR
            // "Unflipped". In DICOM row order (medvol's j axis) Flipped runs against j for COL phase
            // encoding (dcm2niix, whose rows are reversed, writes "j" for it).
            switch text(0x0018, 0x9034)?.uppercased() {
            case "LINEAR"?:
                s.phaseEncodingPolarityGE = "Flipped"
                if phaseAxis == "COL" { phasePositive = false }
            case "REVERSE_LINEAR"?:
                s.phaseEncodingPolarityGE = "Unflipped"
                if phaseAxis == "COL" { phasePositive = true }
            default:
                break
            }
        case .philips:
            s.echoTrainLength = header.int(DICOMTag(0x0018, 0x0091)) ?? number(0x0018, 0x0091).map { Int($0) }
            s.waterFatShift = Self.philipsPrivate(places, 0x2001, 0x22, "Philips Imaging DD 001")
            s.philipsRescaleSlope = number(0x0028, 0x1053)
            s.philipsRescaleIntercept = number(0x0028, 0x1052)
            s.philipsScaleSlope = Self.philipsPrivate(places, 0x2005, 0x0E, FrameExtraction.philipsCreator)
            if s.philipsScaleSlope != nil { s.usePhilipsFloatNotDisplayScaling = appliedScaling == .philipsPrecise ? 1 : 0 }
            if let factor = number(0x0018, 0x9069), factor > 1 { s.parallelReductionFactorInPlane = factor }
            if let factor = number(0x0018, 0x9155), factor > 1 { s.parallelReductionOutOfPlane = factor }
        case .other:
            // Enhanced MR: Parallel Reduction Factor In-plane (0018,9069) and Out-of-plane (0018,9155).
            if let factor = number(0x0018, 0x9069), factor > 1 { s.parallelReductionFactorInPlane = factor }
            if let factor = number(0x0018, 0x9155), factor > 1 { s.parallelReductionOutOfPlane = factor }
        }
        if let phaseAxis, let phasePositive {
            // medvol writes voxels in DICOM order: i along rows (ROW), j down the columns (COL).
            s.phaseEncodingDirection = (phaseAxis == "ROW" ? "i" : "j") + (phasePositive ? "" : "-")
        }
        return s
    }

    /// Slice times (seconds) of a Siemens mosaic from the CSA MosaicRefAcqTimes, in the written slice
    /// order: the first volume's, except for multiband series, whose second volume's times are used when
    /// there is one, as dcm2niix does (the first volume of the CMRR multiband sequence can store times off
    /// by a day). nil unless every time lies within [0, TR].
    func siemensSliceTiming(repetitionTime: Double?, multiband: Bool) -> [Double]? {
        let headers = volumeHeaders
        guard let nz = geometry?.size[2], nz > 1, frames[0].tile != nil,
              let csa = Self.siemensImageCSA(multiband && headers.count > 1 ? headers[1] : headers[0]) else { return nil }
        let times = csa.numbers("MosaicRefAcqTimes").map { $0 / 1000 }
        guard times.count == nz, times.allSatisfy({ $0 >= 0 && $0 <= (repetitionTime ?? .infinity) }) else { return nil }
        return sliceOrder().map { times[$0] }
    }

    /// For each slice of the written volume (k = 0, 1, …), the index of the slice in acquisition
    /// storage order (the mosaic tile).
    func sliceOrder() -> [Int] {
        guard let nz = geometry?.size[2] else { return [] }
        return (0..<nz).map { frames[slots[$0]].tile?.index ?? $0 }
    }

    /// "HHMMSS.ffffff" → "HH:MM:SS.ffffff" (six fraction digits).
    static func formattedTime(_ text: String) -> String? {
        let digits = Array(text.filter { $0 != ":" })
        guard digits.count >= 6, digits[0..<6].allSatisfy(\.isNumber) else { return nil }
        var fraction = digits.count > 7 && digits[6] == "." ? String(digits[7...]) : ""
        fraction = String((fraction + "000000").prefix(6))
        return "\(String(digits[0..<2])):\(String(digits[2..<4])):\(String(digits[4..<6])).\(fraction)"
    }
}
