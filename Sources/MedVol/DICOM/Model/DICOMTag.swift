/// A DICOM attribute tag (group, element), printed as `(0010,0010)`.
public struct DICOMTag: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// `group << 16 | element`.
    public let rawValue: UInt32

    public init(_ group: UInt16, _ element: UInt16) {
        rawValue = UInt32(group) << 16 | UInt32(element)
    }

    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public var group: UInt16 { UInt16(rawValue >> 16) }
    public var element: UInt16 { UInt16(rawValue & 0xFFFF) }

    /// Odd groups (other than 1, 3, 5, 7 and FFFF) are private.
    public var isPrivate: Bool { group & 1 == 1 && group > 8 && group != 0xFFFF }
    /// A private creator element, (gggg,0010)–(gggg,00FF) of an odd group.
    public var isPrivateCreator: Bool { isPrivate && element >= 0x10 && element <= 0xFF }
    /// The private creator element that reserves this private element's block.
    public var privateCreatorTag: DICOMTag? {
        guard isPrivate, element > 0xFF else { return nil }
        return DICOMTag(group, element >> 8)
    }

    public static func < (lhs: DICOMTag, rhs: DICOMTag) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { "(\(hex4(group)),\(hex4(element)))" }
}

func hex4(_ value: UInt16) -> String {
    let digits = String(value, radix: 16, uppercase: true)
    return String(repeating: "0", count: 4 - digits.count) + digits
}

extension DICOMTag {
    // File meta information
    public static let fileMetaInformationGroupLength = DICOMTag(0x0002, 0x0000)
    public static let mediaStorageSOPClassUID = DICOMTag(0x0002, 0x0002)
    public static let mediaStorageSOPInstanceUID = DICOMTag(0x0002, 0x0003)
    public static let transferSyntaxUID = DICOMTag(0x0002, 0x0010)
    public static let implementationClassUID = DICOMTag(0x0002, 0x0012)
    public static let implementationVersionName = DICOMTag(0x0002, 0x0013)

    // DICOMDIR
    public static let directoryRecordSequence = DICOMTag(0x0004, 0x1220)
    public static let offsetOfTheNextDirectoryRecord = DICOMTag(0x0004, 0x1400)
    public static let offsetOfReferencedLowerLevelDirectoryEntity = DICOMTag(0x0004, 0x1420)
    public static let directoryRecordType = DICOMTag(0x0004, 0x1430)
    public static let referencedFileID = DICOMTag(0x0004, 0x1500)
    public static let referencedSOPClassUIDInFile = DICOMTag(0x0004, 0x1510)
    public static let referencedSOPInstanceUIDInFile = DICOMTag(0x0004, 0x1511)
    public static let referencedTransferSyntaxUIDInFile = DICOMTag(0x0004, 0x1512)

    // Identification
    public static let specificCharacterSet = DICOMTag(0x0008, 0x0005)
    public static let imageType = DICOMTag(0x0008, 0x0008)
    public static let sopClassUID = DICOMTag(0x0008, 0x0016)
    public static let sopInstanceUID = DICOMTag(0x0008, 0x0018)
    public static let studyDate = DICOMTag(0x0008, 0x0020)
    public static let seriesDate = DICOMTag(0x0008, 0x0021)
    public static let acquisitionDate = DICOMTag(0x0008, 0x0022)
    public static let contentDate = DICOMTag(0x0008, 0x0023)
    public static let studyTime = DICOMTag(0x0008, 0x0030)
    public static let seriesTime = DICOMTag(0x0008, 0x0031)
    public static let acquisitionTime = DICOMTag(0x0008, 0x0032)
    public static let contentTime = DICOMTag(0x0008, 0x0033)
    public static let acquisitionDateTime = DICOMTag(0x0008, 0x002A)
    public static let modality = DICOMTag(0x0008, 0x0060)
    public static let manufacturer = DICOMTag(0x0008, 0x0070)
    public static let studyDescription = DICOMTag(0x0008, 0x1030)
    public static let seriesDescription = DICOMTag(0x0008, 0x103E)
    public static let manufacturerModelName = DICOMTag(0x0008, 0x1090)
    public static let patientName = DICOMTag(0x0010, 0x0010)
    public static let patientID = DICOMTag(0x0010, 0x0020)

    // Acquisition
    public static let scanningSequence = DICOMTag(0x0018, 0x0020)
    public static let sliceThickness = DICOMTag(0x0018, 0x0050)
    public static let repetitionTime = DICOMTag(0x0018, 0x0080)
    public static let echoTime = DICOMTag(0x0018, 0x0081)
    public static let echoNumbers = DICOMTag(0x0018, 0x0086)
    public static let spacingBetweenSlices = DICOMTag(0x0018, 0x0088)
    public static let triggerTime = DICOMTag(0x0018, 0x1060)
    public static let gantryDetectorTilt = DICOMTag(0x0018, 0x1120)
    public static let imagerPixelSpacing = DICOMTag(0x0018, 0x1164)
    public static let diffusionBValue = DICOMTag(0x0018, 0x9087)

    // Relationship and geometry
    public static let studyInstanceUID = DICOMTag(0x0020, 0x000D)
    public static let seriesInstanceUID = DICOMTag(0x0020, 0x000E)
    public static let studyID = DICOMTag(0x0020, 0x0010)
    public static let seriesNumber = DICOMTag(0x0020, 0x0011)
    public static let acquisitionNumber = DICOMTag(0x0020, 0x0012)
    public static let instanceNumber = DICOMTag(0x0020, 0x0013)
    public static let imagePositionPatient = DICOMTag(0x0020, 0x0032)
    public static let imageOrientationPatient = DICOMTag(0x0020, 0x0037)
    public static let frameOfReferenceUID = DICOMTag(0x0020, 0x0052)
    public static let temporalPositionIdentifier = DICOMTag(0x0020, 0x0100)
    public static let numberOfTemporalPositions = DICOMTag(0x0020, 0x0105)
    public static let sliceLocation = DICOMTag(0x0020, 0x1041)
    public static let frameContentSequence = DICOMTag(0x0020, 0x9111)
    public static let planePositionSequence = DICOMTag(0x0020, 0x9113)
    public static let planeOrientationSequence = DICOMTag(0x0020, 0x9116)
    public static let temporalPositionIndex = DICOMTag(0x0020, 0x9128)
    public static let stackID = DICOMTag(0x0020, 0x9056)
    public static let inStackPositionNumber = DICOMTag(0x0020, 0x9057)
    public static let dimensionIndexValues = DICOMTag(0x0020, 0x9157)

    // Image pixel
    public static let samplesPerPixel = DICOMTag(0x0028, 0x0002)
    public static let photometricInterpretation = DICOMTag(0x0028, 0x0004)
    public static let planarConfiguration = DICOMTag(0x0028, 0x0006)
    public static let numberOfFrames = DICOMTag(0x0028, 0x0008)
    public static let rows = DICOMTag(0x0028, 0x0010)
    public static let columns = DICOMTag(0x0028, 0x0011)
    public static let pixelSpacing = DICOMTag(0x0028, 0x0030)
    public static let bitsAllocated = DICOMTag(0x0028, 0x0100)
    public static let bitsStored = DICOMTag(0x0028, 0x0101)
    public static let highBit = DICOMTag(0x0028, 0x0102)
    public static let pixelRepresentation = DICOMTag(0x0028, 0x0103)
    public static let pixelPaddingValue = DICOMTag(0x0028, 0x0120)
    public static let windowCenter = DICOMTag(0x0028, 0x1050)
    public static let windowWidth = DICOMTag(0x0028, 0x1051)
    public static let rescaleIntercept = DICOMTag(0x0028, 0x1052)
    public static let rescaleSlope = DICOMTag(0x0028, 0x1053)
    public static let rescaleType = DICOMTag(0x0028, 0x1054)
    public static let windowCenterWidthExplanation = DICOMTag(0x0028, 0x1055)
    public static let voiLUTFunction = DICOMTag(0x0028, 0x1056)
    public static let redPaletteColorLookupTableDescriptor = DICOMTag(0x0028, 0x1101)
    public static let greenPaletteColorLookupTableDescriptor = DICOMTag(0x0028, 0x1102)
    public static let bluePaletteColorLookupTableDescriptor = DICOMTag(0x0028, 0x1103)
    public static let redPaletteColorLookupTableData = DICOMTag(0x0028, 0x1201)
    public static let greenPaletteColorLookupTableData = DICOMTag(0x0028, 0x1202)
    public static let bluePaletteColorLookupTableData = DICOMTag(0x0028, 0x1203)
    public static let segmentedRedPaletteColorLookupTableData = DICOMTag(0x0028, 0x1221)
    public static let segmentedGreenPaletteColorLookupTableData = DICOMTag(0x0028, 0x1222)
    public static let segmentedBluePaletteColorLookupTableData = DICOMTag(0x0028, 0x1223)
    public static let modalityLUTSequence = DICOMTag(0x0028, 0x3000)
    public static let lutDescriptor = DICOMTag(0x0028, 0x3002)
    public static let lutExplanation = DICOMTag(0x0028, 0x3003)
    public static let modalityLUTType = DICOMTag(0x0028, 0x3004)
    public static let lutData = DICOMTag(0x0028, 0x3006)
    public static let voiLUTSequence = DICOMTag(0x0028, 0x3010)
    public static let pixelMeasuresSequence = DICOMTag(0x0028, 0x9110)
    public static let frameVOILUTSequence = DICOMTag(0x0028, 0x9132)
    public static let pixelValueTransformationSequence = DICOMTag(0x0028, 0x9145)

    // Enhanced multi-frame
    public static let sharedFunctionalGroupsSequence = DICOMTag(0x5200, 0x9229)
    public static let perFrameFunctionalGroupsSequence = DICOMTag(0x5200, 0x9230)
    public static let mrImageFrameTypeSequence = DICOMTag(0x0018, 0x9226)
    public static let ctImageFrameTypeSequence = DICOMTag(0x0018, 0x9329)
    public static let frameType = DICOMTag(0x0008, 0x9007)
    public static let mrEchoSequence = DICOMTag(0x0018, 0x9114)
    public static let effectiveEchoTime = DICOMTag(0x0018, 0x9082)
    public static let mrDiffusionSequence = DICOMTag(0x0018, 0x9117)
    public static let cardiacSynchronizationSequence = DICOMTag(0x0018, 0x9118)
    public static let nominalCardiacTriggerDelayTime = DICOMTag(0x0020, 0x9153)
    public static let frameAcquisitionNumber = DICOMTag(0x0020, 0x9156)
    public static let frameReferenceDateTime = DICOMTag(0x0018, 0x9151)
    public static let frameAcquisitionDateTime = DICOMTag(0x0018, 0x9074)

    // Pixel data and the item delimiters
    public static let pixelData = DICOMTag(0x7FE0, 0x0010)
    public static let floatPixelData = DICOMTag(0x7FE0, 0x0008)
    public static let doubleFloatPixelData = DICOMTag(0x7FE0, 0x0009)
    public static let item = DICOMTag(0xFFFE, 0xE000)
    public static let itemDelimitationItem = DICOMTag(0xFFFE, 0xE00D)
    public static let sequenceDelimitationItem = DICOMTag(0xFFFE, 0xE0DD)
}
