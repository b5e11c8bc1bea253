/// A DICOM attribute tag (group, element), printed as `(0010,0010)`.
public struct DICOMTag: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// `group << 16 | element`.
    public let rawValue: UInt32

    /// The tag with the given group and element numbers.
    public init(_ group: UInt16, _ element: UInt16) {
        rawValue = UInt32(group) << 16 | UInt32(element)
    }

    /// The tag packed as `group << 16 | element`, e.g. `0x0010_0020` for (0010,0020).
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// The group number, the upper 16 bits.
    public var group: UInt16 { UInt16(rawValue >> 16) }
    /// The element number, the lower 16 bits.
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

    /// Orders tags by group, then element: the order of elements in a data set.
    public static func < (lhs: DICOMTag, rhs: DICOMTag) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The tag as `(gggg,eeee)` in upper-case hexadecimal, e.g. `(7FE0,0010)`.
    public var description: String { "(\(hex4(group)),\(hex4(element)))" }
}

func hex4(_ value: UInt16) -> String {
    let digits = String(value, radix: 16, uppercase: true)
    return String(repeating: "0", count: 4 - digits.count) + digits
}

extension DICOMTag {
    // File meta information
    /// (0002,0000) File Meta Information Group Length.
    public static let fileMetaInformationGroupLength = DICOMTag(0x0002, 0x0000)
    /// (0002,0002) Media Storage SOP Class UID.
    public static let mediaStorageSOPClassUID = DICOMTag(0x0002, 0x0002)
    /// (0002,0003) Media Storage SOP Instance UID.
    public static let mediaStorageSOPInstanceUID = DICOMTag(0x0002, 0x0003)
    /// (0002,0010) Transfer Syntax UID.
    public static let transferSyntaxUID = DICOMTag(0x0002, 0x0010)
    /// (0002,0012) Implementation Class UID.
    public static let implementationClassUID = DICOMTag(0x0002, 0x0012)
    /// (0002,0013) Implementation Version Name.
    public static let implementationVersionName = DICOMTag(0x0002, 0x0013)

    // DICOMDIR
    /// (0004,1220) Directory Record Sequence.
    public static let directoryRecordSequence = DICOMTag(0x0004, 0x1220)
    /// (0004,1400) Offset of the Next Directory Record.
    public static let offsetOfTheNextDirectoryRecord = DICOMTag(0x0004, 0x1400)
    /// (0004,1420) Offset of Referenced Lower-Level Directory Entity.
    public static let offsetOfReferencedLowerLevelDirectoryEntity = DICOMTag(0x0004, 0x1420)
    /// (0004,1430) Directory Record Type.
    public static let directoryRecordType = DICOMTag(0x0004, 0x1430)
    /// (0004,1500) Referenced File ID.
    public static let referencedFileID = DICOMTag(0x0004, 0x1500)
    /// (0004,1510) Referenced SOP Class UID in File.
    public static let referencedSOPClassUIDInFile = DICOMTag(0x0004, 0x1510)
    /// (0004,1511) Referenced SOP Instance UID in File.
    public static let referencedSOPInstanceUIDInFile = DICOMTag(0x0004, 0x1511)
    /// (0004,1512) Referenced Transfer Syntax UID in File.
    public static let referencedTransferSyntaxUIDInFile = DICOMTag(0x0004, 0x1512)

    // Identification
    /// (0008,0005) Specific Character Set.
    public static let specificCharacterSet = DICOMTag(0x0008, 0x0005)
    /// (0008,0008) Image Type.
    public static let imageType = DICOMTag(0x0008, 0x0008)
    /// (0008,0016) SOP Class UID.
    public static let sopClassUID = DICOMTag(0x0008, 0x0016)
    /// (0008,0018) SOP Instance UID.
    public static let sopInstanceUID = DICOMTag(0x0008, 0x0018)
    /// (0008,0020) Study Date.
    public static let studyDate = DICOMTag(0x0008, 0x0020)
    /// (0008,0021) Series Date.
    public static let seriesDate = DICOMTag(0x0008, 0x0021)
    /// (0008,0022) Acquisition Date.
    public static let acquisitionDate = DICOMTag(0x0008, 0x0022)
    /// (0008,0023) Content Date.
    public static let contentDate = DICOMTag(0x0008, 0x0023)
    /// (0008,0030) Study Time.
    public static let studyTime = DICOMTag(0x0008, 0x0030)
    /// (0008,0031) Series Time.
    public static let seriesTime = DICOMTag(0x0008, 0x0031)
    /// (0008,0032) Acquisition Time.
    public static let acquisitionTime = DICOMTag(0x0008, 0x0032)
    /// (0008,0033) Content Time.
    public static let contentTime = DICOMTag(0x0008, 0x0033)
    /// (0008,002A) Acquisition DateTime.
    public static let acquisitionDateTime = DICOMTag(0x0008, 0x002A)
    /// (0008,0060) Modality.
    public static let modality = DICOMTag(0x0008, 0x0060)
    /// (0008,0070) Manufacturer.
    public static let manufacturer = DICOMTag(0x0008, 0x0070)
    /// (0008,1030) Study Description.
    public static let studyDescription = DICOMTag(0x0008, 0x1030)
    /// (0008,103E) Series Description.
    public static let seriesDescription = DICOMTag(0x0008, 0x103E)
    /// (0008,1090) Manufacturer's Model Name.
    public static let manufacturerModelName = DICOMTag(0x0008, 0x1090)
    /// (0010,0010) Patient's Name.
    public static let patientName = DICOMTag(0x0010, 0x0010)
    /// (0010,0020) Patient ID.
    public static let patientID = DICOMTag(0x0010, 0x0020)

    // Acquisition
    /// (0018,0020) Scanning Sequence.
    public static let scanningSequence = DICOMTag(0x0018, 0x0020)
    /// (0018,0050) Slice Thickness.
    public static let sliceThickness = DICOMTag(0x0018, 0x0050)
    /// (0018,0080) Repetition Time.
    public static let repetitionTime = DICOMTag(0x0018, 0x0080)
    /// (0018,0081) Echo Time.
    public static let echoTime = DICOMTag(0x0018, 0x0081)
    /// (0018,0086) Echo Number(s).
    public static let echoNumbers = DICOMTag(0x0018, 0x0086)
    /// (0018,0088) Spacing Between Slices.
    public static let spacingBetweenSlices = DICOMTag(0x0018, 0x0088)
    /// (0018,1060) Trigger Time.
    public static let triggerTime = DICOMTag(0x0018, 0x1060)
    /// (0018,1120) Gantry/Detector Tilt.
    public static let gantryDetectorTilt = DICOMTag(0x0018, 0x1120)
    /// (0018,1164) Imager Pixel Spacing.
    public static let imagerPixelSpacing = DICOMTag(0x0018, 0x1164)
    /// (0018,9087) Diffusion b-value.
    public static let diffusionBValue = DICOMTag(0x0018, 0x9087)

    // Relationship and geometry
    /// (0020,000D) Study Instance UID.
    public static let studyInstanceUID = DICOMTag(0x0020, 0x000D)
    /// (0020,000E) Series Instance UID.
    public static let seriesInstanceUID = DICOMTag(0x0020, 0x000E)
    /// (0020,0010) Study ID.
    public static let studyID = DICOMTag(0x0020, 0x0010)
    /// (0020,0011) Series Number.
    public static let seriesNumber = DICOMTag(0x0020, 0x0011)
    /// (0020,0012) Acquisition Number.
    public static let acquisitionNumber = DICOMTag(0x0020, 0x0012)
    /// (0020,0013) Instance Number.
    public static let instanceNumber = DICOMTag(0x0020, 0x0013)
    /// (0020,0032) Image Position (Patient).
    public static let imagePositionPatient = DICOMTag(0x0020, 0x0032)
    /// (0020,0037) Image Orientation (Patient).
    public static let imageOrientationPatient = DICOMTag(0x0020, 0x0037)
    /// (0020,0052) Frame of Reference UID.
    public static let frameOfReferenceUID = DICOMTag(0x0020, 0x0052)
    /// (0020,0100) Temporal Position Identifier.
    public static let temporalPositionIdentifier = DICOMTag(0x0020, 0x0100)
    /// (0020,0105) Number of Temporal Positions.
    public static let numberOfTemporalPositions = DICOMTag(0x0020, 0x0105)
    /// (0020,1041) Slice Location.
    public static let sliceLocation = DICOMTag(0x0020, 0x1041)
    /// (0020,9111) Frame Content Sequence.
    public static let frameContentSequence = DICOMTag(0x0020, 0x9111)
    /// (0020,9113) Plane Position Sequence.
    public static let planePositionSequence = DICOMTag(0x0020, 0x9113)
    /// (0020,9116) Plane Orientation Sequence.
    public static let planeOrientationSequence = DICOMTag(0x0020, 0x9116)
    /// (0020,9128) Temporal Position Index.
    public static let temporalPositionIndex = DICOMTag(0x0020, 0x9128)
    /// (0020,9056) Stack ID.
    public static let stackID = DICOMTag(0x0020, 0x9056)
    /// (0020,9057) In-Stack Position Number.
    public static let inStackPositionNumber = DICOMTag(0x0020, 0x9057)
    /// (0020,9157) Dimension Index Values.
    public static let dimensionIndexValues = DICOMTag(0x0020, 0x9157)

    // Image pixel
    /// (0028,0002) Samples per Pixel.
    public static let samplesPerPixel = DICOMTag(0x0028, 0x0002)
    /// (0028,0004) Photometric Interpretation.
    public static let photometricInterpretation = DICOMTag(0x0028, 0x0004)
    /// (0028,0006) Planar Configuration.
    public static let planarConfiguration = DICOMTag(0x0028, 0x0006)
    /// (0028,0008) Number of Frames.
    public static let numberOfFrames = DICOMTag(0x0028, 0x0008)
    /// (0028,0010) Rows.
    public static let rows = DICOMTag(0x0028, 0x0010)
    /// (0028,0011) Columns.
    public static let columns = DICOMTag(0x0028, 0x0011)
    /// (0028,0030) Pixel Spacing.
    public static let pixelSpacing = DICOMTag(0x0028, 0x0030)
    /// (0028,0100) Bits Allocated.
    public static let bitsAllocated = DICOMTag(0x0028, 0x0100)
    /// (0028,0101) Bits Stored.
    public static let bitsStored = DICOMTag(0x0028, 0x0101)
    /// (0028,0102) High Bit.
    public static let highBit = DICOMTag(0x0028, 0x0102)
    /// (0028,0103) Pixel Representation.
    public static let pixelRepresentation = DICOMTag(0x0028, 0x0103)
    /// (0028,0120) Pixel Padding Value.
    public static let pixelPaddingValue = DICOMTag(0x0028, 0x0120)
    /// (0028,1050) Window Center.
    public static let windowCenter = DICOMTag(0x0028, 0x1050)
    /// (0028,1051) Window Width.
    public static let windowWidth = DICOMTag(0x0028, 0x1051)
    /// (0028,1052) Rescale Intercept.
    public static let rescaleIntercept = DICOMTag(0x0028, 0x1052)
    /// (0028,1053) Rescale Slope.
    public static let rescaleSlope = DICOMTag(0x0028, 0x1053)
    /// (3004,0002) Dose Units: GY (gray) or RELATIVE.
    public static let doseUnits = DICOMTag(0x3004, 0x0002)
    /// (3004,000C) Grid Frame Offset Vector: where each frame of an RT Dose grid lies along the normal.
    public static let gridFrameOffsetVector = DICOMTag(0x3004, 0x000C)
    /// (3004,000E) Dose Grid Scaling: stored value × scaling = dose in Dose Units.
    public static let doseGridScaling = DICOMTag(0x3004, 0x000E)
    /// (0028,1054) Rescale Type.
    public static let rescaleType = DICOMTag(0x0028, 0x1054)
    /// (0028,1055) Window Center & Width Explanation.
    public static let windowCenterWidthExplanation = DICOMTag(0x0028, 0x1055)
    /// (0028,1056) VOI LUT Function.
    public static let voiLUTFunction = DICOMTag(0x0028, 0x1056)
    /// (0028,1101) Red Palette Color Lookup Table Descriptor.
    public static let redPaletteColorLookupTableDescriptor = DICOMTag(0x0028, 0x1101)
    /// (0028,1102) Green Palette Color Lookup Table Descriptor.
    public static let greenPaletteColorLookupTableDescriptor = DICOMTag(0x0028, 0x1102)
    /// (0028,1103) Blue Palette Color Lookup Table Descriptor.
    public static let bluePaletteColorLookupTableDescriptor = DICOMTag(0x0028, 0x1103)
    /// (0028,1201) Red Palette Color Lookup Table Data.
    public static let redPaletteColorLookupTableData = DICOMTag(0x0028, 0x1201)
    /// (0028,1202) Green Palette Color Lookup Table Data.
    public static let greenPaletteColorLookupTableData = DICOMTag(0x0028, 0x1202)
    /// (0028,1203) Blue Palette Color Lookup Table Data.
    public static let bluePaletteColorLookupTableData = DICOMTag(0x0028, 0x1203)
    /// (0028,1221) Segmented Red Palette Color Lookup Table Data.
    public static let segmentedRedPaletteColorLookupTableData = DICOMTag(0x0028, 0x1221)
    /// (0028,1222) Segmented Green Palette Color Lookup Table Data.
    public static let segmentedGreenPaletteColorLookupTableData = DICOMTag(0x0028, 0x1222)
    /// (0028,1223) Segmented Blue Palette Color Lookup Table Data.
    public static let segmentedBluePaletteColorLookupTableData = DICOMTag(0x0028, 0x1223)
    /// (0028,3000) Modality LUT Sequence.
    public static let modalityLUTSequence = DICOMTag(0x0028, 0x3000)
    /// (0028,3002) LUT Descriptor.
    public static let lutDescriptor = DICOMTag(0x0028, 0x3002)
    /// (0028,3003) LUT Explanation.
    public static let lutExplanation = DICOMTag(0x0028, 0x3003)
    /// (0028,3004) Modality LUT Type.
    public static let modalityLUTType = DICOMTag(0x0028, 0x3004)
    /// (0028,3006) LUT Data.
    public static let lutData = DICOMTag(0x0028, 0x3006)
    /// (0028,3010) VOI LUT Sequence.
    public static let voiLUTSequence = DICOMTag(0x0028, 0x3010)
    /// (0028,9110) Pixel Measures Sequence.
    public static let pixelMeasuresSequence = DICOMTag(0x0028, 0x9110)
    /// (0028,9132) Frame VOI LUT Sequence.
    public static let frameVOILUTSequence = DICOMTag(0x0028, 0x9132)
    /// (0028,9145) Pixel Value Transformation Sequence.
    public static let pixelValueTransformationSequence = DICOMTag(0x0028, 0x9145)

    // Enhanced multi-frame
    /// (5200,9229) Shared Functional Groups Sequence.
    public static let sharedFunctionalGroupsSequence = DICOMTag(0x5200, 0x9229)
    /// (5200,9230) Per-Frame Functional Groups Sequence.
    public static let perFrameFunctionalGroupsSequence = DICOMTag(0x5200, 0x9230)
    /// (0018,9226) MR Image Frame Type Sequence.
    public static let mrImageFrameTypeSequence = DICOMTag(0x0018, 0x9226)
    /// (0018,9329) CT Image Frame Type Sequence.
    public static let ctImageFrameTypeSequence = DICOMTag(0x0018, 0x9329)
    /// (0008,9007) Frame Type.
    public static let frameType = DICOMTag(0x0008, 0x9007)
    /// (0018,9114) MR Echo Sequence.
    public static let mrEchoSequence = DICOMTag(0x0018, 0x9114)
    /// (0018,9082) Effective Echo Time.
    public static let effectiveEchoTime = DICOMTag(0x0018, 0x9082)
    /// (0018,9117) MR Diffusion Sequence.
    public static let mrDiffusionSequence = DICOMTag(0x0018, 0x9117)
    /// (0018,9118) Cardiac Synchronization Sequence.
    public static let cardiacSynchronizationSequence = DICOMTag(0x0018, 0x9118)
    /// (0020,9153) Nominal Cardiac Trigger Delay Time.
    public static let nominalCardiacTriggerDelayTime = DICOMTag(0x0020, 0x9153)
    /// (0020,9156) Frame Acquisition Number.
    public static let frameAcquisitionNumber = DICOMTag(0x0020, 0x9156)
    /// (0018,9151) Frame Reference DateTime.
    public static let frameReferenceDateTime = DICOMTag(0x0018, 0x9151)
    /// (0018,9074) Frame Acquisition DateTime.
    public static let frameAcquisitionDateTime = DICOMTag(0x0018, 0x9074)

    // Pixel data and the item delimiters
    /// (7FE0,0010) Pixel Data.
    public static let pixelData = DICOMTag(0x7FE0, 0x0010)
    /// (7FE0,0008) Float Pixel Data.
    public static let floatPixelData = DICOMTag(0x7FE0, 0x0008)
    /// (7FE0,0009) Double Float Pixel Data.
    public static let doubleFloatPixelData = DICOMTag(0x7FE0, 0x0009)
    /// (FFFE,E000) Item.
    public static let item = DICOMTag(0xFFFE, 0xE000)
    /// (FFFE,E00D) Item Delimitation Item.
    public static let itemDelimitationItem = DICOMTag(0xFFFE, 0xE00D)
    /// (FFFE,E0DD) Sequence Delimitation Item.
    public static let sequenceDelimitationItem = DICOMTag(0xFFFE, 0xE0DD)
}
