/// A display window (VOI LUT linear function): centre and width, as DICOM's Window Center / Width.
public struct DisplayWindow: Hashable, Sendable, Codable {
    public var center: Double
    public var width: Double
    public var explanation: String?

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
    public var modality: String?
    public var patientID: String?
    public var studyInstanceUID: String?
    public var studyDate: String?
    public var seriesInstanceUID: String?
    public var seriesNumber: Int?
    public var seriesDescription: String?
    /// Photometric interpretation of the source pixels (e.g. "MONOCHROME1", "RGB").
    public var photometricInterpretation: String?
    /// Windows stored with the images, first one first.
    public var windows: [DisplayWindow] = []
    /// Pixel Padding Value, reported as stored (it is never applied to the voxels).
    public var pixelPaddingValue: Double?
    /// How stored values became voxel values (e.g. "slope 1 intercept -1024", "stored values").
    public var valueTransform: String?
    /// Things a careful user should know: uneven spacing, missing slices, tilt, duplicates, …
    public var warnings: [String] = []
    /// The DICOM header of the first image (without pixel data), for element access.
    public var dicomHeader: DICOMDataSet?

    public init() {}
}
