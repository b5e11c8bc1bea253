/// A display window (VOI LUT linear function): centre and width, as DICOM's Window Center / Width.
public struct DisplayWindow: Hashable, Sendable, Codable {
    /// Window Center, in the volume's values (HU for CT).
    public var center: Double
    /// Window Width, in the volume's values.
    public var width: Double
    /// Window Center & Width Explanation ("BRAIN", "BONE", …), if given.
    public var explanation: String?

    /// A window of `center` and `width`, with an optional explanation.
    public init(center: Double, width: Double, explanation: String? = nil) {
        self.center = center
        self.width = width
        self.explanation = explanation
    }
}

/// What is known about a volume besides its voxels and geometry: where it came from, how the values were
/// made, and what was noticed while assembling it. Every field is optional: a NumPy file has none.
public struct VolumeMetadata: Sendable {
    /// The file or folder the volume was read from.
    public var source: String?
    /// Modality ("CT", "MR", …).
    public var modality: String?
    /// Patient ID.
    public var patientID: String?
    /// Study Instance UID.
    public var studyInstanceUID: String?
    /// Study Date as DICOM writes it (`YYYYMMDD`).
    public var studyDate: String?
    /// Series Instance UID.
    public var seriesInstanceUID: String?
    /// Series Number.
    public var seriesNumber: Int?
    /// Series Description.
    public var seriesDescription: String?
    /// Photometric interpretation of the source pixels (e.g. "MONOCHROME1", "RGB").
    public var photometricInterpretation: PhotometricInterpretation?
    /// Windows stored with the images, first one first.
    public var windows: [DisplayWindow] = []
    /// Pixel Padding Value, reported as stored (it is never applied to the voxels).
    public var pixelPaddingValue: Double?
    /// How stored values became voxel values (e.g. "slope 1 intercept -1024", "stored values").
    public var valueTransform: String?
    /// The unit of the voxel values when the source names one (RT Dose: Dose Units, "GY").
    public var valueUnits: String?
    /// The value scaling applied ("dicom", "philips-precise") when the source offers more than one.
    public var valueScaling: String?
    /// The scalings the source offers besides ``valueScaling`` (`--scaling` gives them).
    public var otherValueScalings: [String] = []
    /// Things a careful user should know: uneven spacing, missing slices, tilt, duplicates, …
    public var warnings: [VolumeWarning] = []
    /// The diffusion encoding of each volume (t order), gradients in LPS, when the source gives one.
    public var diffusion: [DiffusionEncoding]?
    /// The DICOM header of the first image (without pixel data), for element access.
    public var dicomHeader: DICOMDataSet?

    /// Metadata that knows nothing: every field nil or empty.
    public init() {}
}
