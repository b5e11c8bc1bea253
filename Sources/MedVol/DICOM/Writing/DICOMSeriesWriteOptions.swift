/// How ``DICOMSeriesWriter`` writes a volume.
public struct DICOMSeriesWriteOptions: Sendable {
    /// How the files in the output folder are named.
    public enum FileNaming: Sendable, Hashable {
        /// "IM00001.dcm", "IM00002.dcm", … by instance number.
        case instanceNumber
        /// Random-looking names ("9f03c2a1d4e5b687.dcm"), the same for the same seed: for tests and
        /// benchmarks that must not depend on the order of file names.
        case shuffled(seed: UInt64)
    }

    /// Which SOP class (IOD) the images are.
    public enum StorageClass: Sendable, Hashable {
        /// CT Image Storage for modality "CT", MR Image Storage for "MR", otherwise (and for RGB)
        /// Secondary Capture Image Storage.
        case automatic
        /// CT Image Storage (modality written as "CT").
        case ct
        /// MR Image Storage (modality written as "MR").
        case mr
        /// Secondary Capture Image Storage, with the volume's modality (or "OT"). Note that GDCM 3.0 and
        /// ITK 5.2 ignore the position, orientation and spacing of SC images; SimpleITK 2.x reads them.
        case secondaryCapture
    }

    /// Replace an existing output folder (otherwise it is refused).
    public var overwrite: Bool
    /// Explicit VR little endian (default) or implicit VR little endian.
    public var transferSyntax: TransferSyntax
    /// How the files are named (default: by instance number, "IM00001.dcm", …).
    public var fileNaming: FileNaming
    /// Which SOP class the images are (default: chosen from the volume's modality).
    public var storageClass: StorageClass
    /// Series Description; default: the volume's metadata.
    public var seriesDescription: String?
    /// Series Number; default: the volume's metadata, else 1.
    public var seriesNumber: Int?
    /// Patient's Name; default: the volume's DICOM header, else empty.
    public var patientName: String?
    /// Patient ID; default: the volume's metadata, else empty.
    public var patientID: String?
    /// Study Date ("YYYYMMDD"); default: the volume's metadata, else today.
    public var studyDate: String?
    /// For integer values: store `value − rescaleIntercept` (e.g. −1024 stores CT values from −1024
    /// HU as unsigned numbers from 0). Must be a whole number.
    public var rescaleIntercept: Double?
    /// Bits Stored (e.g. 12): the stored values must fit; Bits Allocated is the next of 8, 16, 32.
    public var bitsStored: Int?
    /// Bits of the stored integers when a float volume cannot be stored exactly: 16 (shown by every
    /// viewer) or 32 (an error about 65,000 times smaller).
    public var lossyBits: Int

    /// Options with the given values; each parameter sets the property of the same name. The defaults
    /// write explicit VR little endian files named by instance number, in the SOP class the modality
    /// suggests, with descriptions and identifiers taken from the volume's metadata.
    public init(overwrite: Bool = false, transferSyntax: TransferSyntax = .explicitVRLittleEndian,
                fileNaming: FileNaming = .instanceNumber, storageClass: StorageClass = .automatic,
                seriesDescription: String? = nil, seriesNumber: Int? = nil, patientName: String? = nil,
                patientID: String? = nil, studyDate: String? = nil, rescaleIntercept: Double? = nil,
                bitsStored: Int? = nil, lossyBits: Int = 16) {
        self.overwrite = overwrite
        self.transferSyntax = transferSyntax
        self.fileNaming = fileNaming
        self.storageClass = storageClass
        self.seriesDescription = seriesDescription
        self.seriesNumber = seriesNumber
        self.patientName = patientName
        self.patientID = patientID
        self.studyDate = studyDate
        self.rescaleIntercept = rescaleIntercept
        self.bitsStored = bitsStored
        self.lossyBits = lossyBits
    }
}

/// What ``DICOMSeriesWriter`` wrote.
public struct DICOMSeriesWriteReport: Sendable {
    /// The output folder.
    public var directory: String
    /// Every file written, in instance-number order.
    public var paths: [String]
    /// The new Study Instance UID.
    public var studyInstanceUID: String
    /// The new Series Instance UID.
    public var seriesInstanceUID: String
    /// The new Frame of Reference UID.
    public var frameOfReferenceUID: String
    /// The SOP Class UID of the images (see ``DICOMSeriesWriter/ctImageStorage`` and its siblings).
    public var sopClassUID: String
    /// Bits Allocated: 8, 16 or 32.
    public var bitsAllocated: Int
    /// Bits Stored, at most ``bitsAllocated``.
    public var bitsStored: Int
    /// Pixel Representation 1 (two's complement) rather than 0.
    public var isSigned: Bool
    /// Largest |stored × slope + intercept − voxel value| over the volume (0 when stored exactly).
    public var maximumAbsoluteError: Double
    /// True when the direction was left-handed and the slices were written in reverse order (see
    /// ``DICOMSeriesWriter``): the series reads back with k reversed and a right-handed direction.
    public var slicesReversed: Bool
    /// What a careful user should know: precision lost, slices reversed, SOP class limitations.
    public var warnings: [String]
}
