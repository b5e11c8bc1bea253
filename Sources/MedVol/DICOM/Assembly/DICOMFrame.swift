/// How stored sample values become voxel values (the Modality LUT stage, PS3.3 C.11.1).
enum ValueMapping: Hashable, Sendable {
    /// value = stored × slope + intercept
    case linear(slope: Double, intercept: Double)
    /// value = table[clamp(stored − firstMapped)]
    case lookupTable(ModalityLookupTable)

    static let identity = ValueMapping.linear(slope: 1, intercept: 0)

    var isIdentity: Bool { self == .identity }

    /// Whether every stored integer maps to an integer.
    var isIntegral: Bool {
        switch self {
        case .linear(let slope, let intercept):
            return slope.rounded() == slope && intercept.rounded() == intercept && abs(slope) < 1e9 && abs(intercept) < 1e12
        case .lookupTable: return true
        }
    }

    /// The values that stored values in `stored` can map to.
    func mappedRange(of stored: ClosedRange<Double>) -> ClosedRange<Double> {
        switch self {
        case .linear(let slope, let intercept):
            let a = stored.lowerBound * slope + intercept, b = stored.upperBound * slope + intercept
            return min(a, b)...max(a, b)
        case .lookupTable(let table):
            return table.outputRange
        }
    }

    var summary: String {
        switch self {
        case .linear(let slope, let intercept): return "value = stored × \(formatNumber(slope)) + \(formatNumber(intercept))"
        case .lookupTable(let table): return "Modality LUT Sequence (\(table.values.count) entries from \(table.firstMapped))"
        }
    }
}

/// A Modality LUT: output = values[clamp(stored − firstMapped, 0, count − 1)].
struct ModalityLookupTable: Hashable, Sendable {
    var firstMapped: Int
    var values: [Int32]

    var outputRange: ClosedRange<Double> {
        Double(values.min() ?? 0)...Double(values.max() ?? 0)
    }
}

func formatNumber(_ value: Double) -> String {
    value.rounded() == value && abs(value) < 1e15 ? String(Int(value)) : String(value)
}

/// One 2D image as assembly sees it: where its pixels are, where it is in the patient, how its values
/// map, and what identifies and orders it. A single-frame file gives one; a multi-frame file one per
/// frame; a mosaic (Siemens, United Imaging) one per tile.
struct DICOMFrame: Sendable {
    /// Index of the source file in the scan's file table.
    var fileIndex: Int
    /// 0-based frame within the file.
    var frameNumber: Int
    /// For mosaics: the tile of the frame that holds this slice.
    var tile: MosaicTile?

    // Identity and grouping
    var sopInstanceUID: String?
    var seriesInstanceUID: String
    var seriesNumber: Int?
    /// ImageType values from the third on (e.g. "M\ND\NORM", "LOCALIZER"), or the frame type.
    var imageTypeKey: String

    // Geometry
    var position: SIMD3<Double>?
    var rowDirection: SIMD3<Double>?      // direction of increasing column index (i)
    var columnDirection: SIMD3<Double>?   // direction of increasing row index (j)
    /// In-plane spacing: x (between columns) and y (between rows), in mm.
    var spacingX: Double
    var spacingY: Double
    var hasPixelSpacing: Bool
    var sliceThickness: Double?
    var spacingBetweenSlices: Double?
    var gantryTilt: Double?

    // Pixels and values
    var format: StoredPixelFormat
    var mapping: ValueMapping
    /// Philips' precise value mapping (its private Scale Slope/Intercept on top of the rescale), when the
    /// file carries one: what `--scaling philips-precise` applies instead of ``mapping``.
    var philipsPreciseMapping: ValueMapping?
    /// The palette of a PALETTE COLOR image.
    var palette: PaletteColorTables?

    // Ordering of images at one position
    var instanceNumber: Int?
    var acquisitionNumber: Int?
    var temporalPositionIdentifier: Int?
    var temporalPositionIndex: Int?
    var echoNumber: Int?
    var echoTime: Double?
    var triggerTime: Double?
    /// Acquisition (or frame acquisition) time as seconds since midnight, when given.
    var acquisitionTime: Double?
    /// Repetition Time in milliseconds, when positive.
    var repetitionTime: Double?

    /// The slice normal, row × column direction.
    var normal: SIMD3<Double>? {
        guard let row = rowDirection, let column = columnDirection else { return nil }
        let n = cross(row, column)
        let norm = length(n)
        return norm > 1e-6 ? n / norm : nil
    }

    /// Output size of this frame (a mosaic tile is smaller than its frame).
    var width: Int { tile?.columns ?? format.columns }
    var height: Int { tile?.rows ?? format.rows }
}

/// Where one slice lies inside a mosaic frame.
struct MosaicTile: Hashable, Sendable {
    var index: Int
    var rows: Int
    var columns: Int
    /// Top-left pixel of the tile in the mosaic.
    var firstRow: Int
    var firstColumn: Int
}

// MARK: - Reading frames from a header

enum FrameExtraction {
    /// The frames of one file whose header has been read.
    static func frames(of file: DICOMFile, fileIndex: Int) throws -> [DICOMFrame] {
        let dataSet = file.dataSet
        let path = file.path
        let format = try StoredPixelFormat(dataSet, path: path)
        let frameCount = try checkedFrameCount(max(1, dataSet.int(.numberOfFrames) ?? 1), file: file, format: format)
        var base = try baseFrame(dataSet, format: format, fileIndex: fileIndex, path: path)
        if format.samplesPerPixel == 1 { base.philipsPreciseMapping = philipsPreciseMapping([dataSet], dicom: base.mapping) }

        if let perFrame = dataSet.sequence(.perFrameFunctionalGroupsSequence) {
            return try enhancedFrames(dataSet, base: base, perFrame: perFrame, frameCount: frameCount, path: path)
        }
        if frameCount == 1 {
            if let mosaic = try MosaicLayout(dataSet, format: format, path: path) {
                return mosaic.frames(from: base)
            }
            return [base]
        }
        // An RT Dose grid (or any multi-frame file with a Grid Frame Offset Vector): frames along the
        // normal at the offsets.
        if dataSet.contains(.gridFrameOffsetVector), let offsets = try gridFrameOffsets(dataSet, base: base, frameCount: frameCount, path: path) {
            return (0..<frameCount).map { number in
                var frame = base
                frame.frameNumber = number
                frame.sopInstanceUID = base.sopInstanceUID.map { "\($0)#\(number + 1)" }
                frame.position = base.position! + base.normal! * offsets[number]
                return frame
            }
        }
        // A plain multi-frame file: frames stacked along the normal when the file gives a position,
        // an orientation and a slice spacing; otherwise frames without geometry.
        return (0..<frameCount).map { number in
            var frame = base
            frame.frameNumber = number
            frame.sopInstanceUID = base.sopInstanceUID.map { "\($0)#\(number + 1)" }
            if let position = base.position, let normal = base.normal {
                let step = base.spacingBetweenSlices ?? base.sliceThickness
                if let step, step > 0 {
                    frame.position = position + normal * (Double(number) * step)
                } else {
                    frame.position = nil
                }
            }
            if frame.position == nil { frame.instanceNumber = number + 1 }
            return frame
        }
    }

    /// The distance of each frame from Image Position (Patient) along the normal, from the Grid Frame
    /// Offset Vector (PS3.3 C.8.8.3.2): relative offsets when the first is 0, else absolute coordinates
    /// along the normal's axis (then the first frame is at Image Position, and each further one at its
    /// offset's difference from the first, divided by the normal's component along that axis). nil when
    /// the file gives no position or orientation; an error when the vector does not fit the frames.
    static func gridFrameOffsets(_ dataSet: DICOMDataSet, base: DICOMFrame, frameCount: Int, path: String) throws -> [Double]? {
        guard base.position != nil, let normal = base.normal else { return nil }
        let values = dataSet.doubles(.gridFrameOffsetVector)
        guard values.count == frameCount, values.allSatisfy(\.isFinite) else {
            throw MedVolError.corrupt(path, "Grid Frame Offset Vector has \(values.count) usable values for \(frameCount) frames")
        }
        if values[0] == 0 { return values }
        // Absolute: coordinates along the patient axis closest to the normal (z for axial grids).
        let axis = [abs(normal.x), abs(normal.y), abs(normal.z)].enumerated().max { $0.element < $1.element }!.offset
        guard abs(normal[axis]) > 1e-6 else { return nil }
        return values.map { ($0 - values[0]) / normal[axis] }
    }

    /// The attributes every frame of the file shares (top-level data set).
    private static func baseFrame(_ dataSet: DICOMDataSet, format: StoredPixelFormat, fileIndex: Int,
                                  path: String) throws -> DICOMFrame {
        let orientation = dataSet.doubles(.imageOrientationPatient)
        let (row, column) = directions(from: orientation)
        let position = point(dataSet.doubles(.imagePositionPatient))
        let spacing = dataSet.doubles(.pixelSpacing).count >= 2 ? dataSet.doubles(.pixelSpacing) : dataSet.doubles(.imagerPixelSpacing)
        let hasSpacing = spacing.count >= 2 && spacing[0] > 0 && spacing[1] > 0
        return DICOMFrame(
            fileIndex: fileIndex, frameNumber: 0, tile: nil,
            sopInstanceUID: dataSet.string(.sopInstanceUID),
            seriesInstanceUID: dataSet.string(.seriesInstanceUID) ?? "",
            seriesNumber: dataSet.int(.seriesNumber),
            imageTypeKey: imageTypeKey(dataSet.strings(.imageType)),
            position: row != nil ? position : nil,
            rowDirection: position != nil ? row : nil,
            columnDirection: position != nil ? column : nil,
            spacingX: hasSpacing ? spacing[1] : 1, spacingY: hasSpacing ? spacing[0] : 1,
            hasPixelSpacing: hasSpacing,
            sliceThickness: positive(dataSet.double(.sliceThickness)),
            spacingBetweenSlices: positive(dataSet.double(.spacingBetweenSlices)),
            gantryTilt: dataSet.double(.gantryDetectorTilt),
            format: format,
            mapping: try valueMapping(dataSet, format: format, path: path),
            philipsPreciseMapping: nil,
            palette: format.isPalette ? try PaletteColorTables(dataSet, bits: format.paletteBits, path: path) : nil,
            instanceNumber: dataSet.int(.instanceNumber),
            acquisitionNumber: dataSet.int(.acquisitionNumber),
            temporalPositionIdentifier: dataSet.int(.temporalPositionIdentifier),
            temporalPositionIndex: nil,
            echoNumber: dataSet.int(.echoNumbers),
            echoTime: dataSet.double(.echoTime),
            triggerTime: dataSet.double(.triggerTime),
            acquisitionTime: dataSet.string(.acquisitionTime).flatMap(secondsSinceMidnight),
            repetitionTime: positive(dataSet.double(.repetitionTime)))
    }

    /// Frames of an enhanced multi-frame file, from the per-frame and shared functional groups.
    private static func enhancedFrames(_ dataSet: DICOMDataSet, base: DICOMFrame, perFrame: [DICOMDataSet],
                                       frameCount: Int, path: String) throws -> [DICOMFrame] {
        guard perFrame.count >= frameCount else {
            throw MedVolError.corrupt(path, "Per-frame Functional Groups Sequence has \(perFrame.count) items for \(frameCount) frames")
        }
        let shared = dataSet.firstItem(.sharedFunctionalGroupsSequence) ?? DICOMDataSet()
        /// The first item of `sequence` found in the frame's groups, else in the shared groups.
        func group(_ sequence: DICOMTag, _ frame: DICOMDataSet) -> DICOMDataSet? {
            frame.firstItem(sequence) ?? shared.firstItem(sequence)
        }
        return try (0..<frameCount).map { number in
            let groups = perFrame[number]
            var frame = base
            frame.frameNumber = number
            frame.sopInstanceUID = base.sopInstanceUID.map { "\($0)#\(number + 1)" }
            frame.instanceNumber = number + 1

            if let orientation = group(.planeOrientationSequence, groups) {
                let (row, column) = directions(from: orientation.doubles(.imageOrientationPatient))
                frame.rowDirection = row
                frame.columnDirection = column
            }
            frame.position = group(.planePositionSequence, groups).flatMap { point($0.doubles(.imagePositionPatient)) }
            if frame.rowDirection == nil { frame.position = nil }
            if frame.position == nil { frame.rowDirection = nil; frame.columnDirection = nil }

            if let measures = group(.pixelMeasuresSequence, groups) {
                let spacing = measures.doubles(.pixelSpacing)
                if spacing.count >= 2, spacing[0] > 0, spacing[1] > 0 {
                    frame.spacingX = spacing[1]
                    frame.spacingY = spacing[0]
                    frame.hasPixelSpacing = true
                }
                frame.sliceThickness = positive(measures.double(.sliceThickness)) ?? frame.sliceThickness
                frame.spacingBetweenSlices = positive(measures.double(.spacingBetweenSlices)) ?? frame.spacingBetweenSlices
            }
            if let transform = group(.pixelValueTransformationSequence, groups) {
                frame.mapping = try valueMapping(transform, format: frame.format, path: path, fallback: base.mapping)
            }
            // Philips keeps its private scale in the frame's groups (in a private sequence) or at the top.
            let privateItems = groups.elements.compactMap { $0.items?.first }
            frame.philipsPreciseMapping = philipsPreciseMapping([groups] + privateItems + [dataSet], dicom: frame.mapping)
            if let content = groups.firstItem(.frameContentSequence) {
                frame.temporalPositionIndex = content.int(.temporalPositionIndex)
                frame.acquisitionNumber = content.int(.frameAcquisitionNumber) ?? frame.acquisitionNumber
                if let time = content.string(.frameAcquisitionDateTime) ?? content.string(.frameReferenceDateTime) {
                    frame.acquisitionTime = dateTimeSeconds(time) ?? frame.acquisitionTime
                }
            }
            if let echo = group(.mrEchoSequence, groups), let time = echo.double(.effectiveEchoTime) {
                frame.echoTime = time
            }
            if let cardiac = group(.cardiacSynchronizationSequence, groups),
               let delay = cardiac.double(.nominalCardiacTriggerDelayTime) {
                frame.triggerTime = delay
            }
            let frameType = (group(.mrImageFrameTypeSequence, groups) ?? group(.ctImageFrameTypeSequence, groups))?
                .strings(.frameType)
            if let frameType, !frameType.isEmpty { frame.imageTypeKey = imageTypeKey(frameType) }
            return frame
        }
    }

    // MARK: Attribute helpers

    /// ImageType from its third value on: what distinguishes magnitude from phase, or a localizer.
    static func imageTypeKey(_ values: [String]) -> String {
        values.dropFirst(2).map { $0.uppercased() }.filter { !$0.isEmpty && $0 != "MOSAIC" }.joined(separator: "\\")
    }

    static func directions(from orientation: [Double]) -> (SIMD3<Double>?, SIMD3<Double>?) {
        guard orientation.count >= 6, orientation.allSatisfy({ $0.isFinite }) else { return (nil, nil) }
        var row = SIMD3(orientation[0], orientation[1], orientation[2])
        var column = SIMD3(orientation[3], orientation[4], orientation[5])
        let rowLength = length(row), columnLength = length(column)
        guard rowLength > 1e-3, columnLength > 1e-3 else { return (nil, nil) }
        row /= rowLength
        column /= columnLength
        guard length(cross(row, column)) > 1e-3 else { return (nil, nil) }
        return (row, column)
    }

    static func point(_ values: [Double]) -> SIMD3<Double>? {
        guard values.count >= 3, values[0].isFinite, values[1].isFinite, values[2].isFinite else { return nil }
        return SIMD3(values[0], values[1], values[2])
    }

    /// Number of Frames, refused when the pixel data cannot hold that many frames: native frames need
    /// their bytes, encapsulated ones at least an 8-byte item each. A damaged count must not make medvol
    /// plan (and allocate for) billions of frames.
    static func checkedFrameCount(_ count: Int, file: DICOMFile, format: StoredPixelFormat) throws -> Int {
        guard count > 1, let element = file.pixelDataElement else { return count }
        let capacity: Int
        func native(_ length: Int) -> Int {
            format.bitsAllocated == 1 ? length * 8 / max(1, format.samplesPerFrame) : length / max(1, format.nativeBytesPerFrame)
        }
        switch element.value {
        case .deferred(_, let length): capacity = native(length)
        case .bytes(let bytes): capacity = native(bytes.count)
        case .encapsulatedPixelData(let offset): capacity = max(0, ((file.inflatedDataSet?.count ?? file.fileSize) - offset) / 8 - 1)
        case .sequence: return count
        }
        guard count <= max(1, capacity) else {
            throw MedVolError.corrupt(file.path, "Number of Frames is \(count), but the pixel data can hold at most \(max(1, capacity)) frames of \(format.columns)×\(format.rows) \(format.summary)")
        }
        return count
    }

    /// `value` as an integer when it is finite and not absurdly large (nil for NaN, infinities and
    /// values no DICOM count or index can take), so that damaged numbers cannot trap a conversion.
    static func wholeNumber(_ value: Double) -> Int? {
        value.isFinite && abs(value) < 1e15 ? Int(value.rounded(.towardZero)) : nil
    }

    static func positive(_ value: Double?) -> Double? {
        guard let value, value.isFinite, value > 0 else { return nil }
        return value
    }

    /// Philips' private scale: Scale Slope (2005,xx0E) and Scale Intercept (2005,xx0D) in the block of
    /// "Philips MR Imaging DD 001", looked for in `places` in order (a frame's groups, then the file).
    static let philipsCreator = "Philips MR Imaging DD 001"

    /// The precise mapping dcm2niix applies by default: FP = (SV × RS + RI) / (RS × SS), that is
    /// SV / SS + RI / (RS × SS), from the DICOM rescale `dicom` (RS, RI) and the private scale slope SS
    /// (the private intercept is what dcm2niix also ignores: FP = DV / (RS × SS)). nil without a usable
    /// private scale slope, or when the DICOM mapping is a lookup table.
    static func philipsPreciseMapping(_ places: [DICOMDataSet], dicom: ValueMapping) -> ValueMapping? {
        guard case .linear(let rescaleSlope, let rescaleIntercept) = dicom else { return nil }
        for place in places {
            guard let element = place.privateElement(group: 0x2005, element: 0x0E, creator: philipsCreator),
                  let scale = place.double(element.tag) else { continue }
            guard scale.isFinite, scale != 0, rescaleSlope != 0 else { return nil }
            return .linear(slope: 1 / scale, intercept: rescaleIntercept / (rescaleSlope * scale))
        }
        return nil
    }

    /// The Modality LUT stage of a data set (or functional group item): a Modality LUT Sequence where
    /// present, else Rescale Slope/Intercept, else `fallback`. Colour images are never rescaled.
    static func valueMapping(_ dataSet: DICOMDataSet, format: StoredPixelFormat, path: String,
                             fallback: ValueMapping = .identity) throws -> ValueMapping {
        guard format.samplesPerPixel == 1, !format.isPalette else { return .identity }
        if let lut = dataSet.firstItem(.modalityLUTSequence) {
            return .lookupTable(try lookupTable(lut, format: format, path: path))
        }
        let slope = rescaleNumber(dataSet, .rescaleSlope).value, intercept = rescaleNumber(dataSet, .rescaleIntercept).value
        if slope == nil && intercept == nil {
            // RT Dose: stored × Dose Grid Scaling = dose in Dose Units.
            if let scaling = dataSet.double(.doseGridScaling), scaling.isFinite, scaling > 0 {
                return .linear(slope: scaling, intercept: 0)
            }
            return fallback
        }
        // A slope or intercept that is present but unusable makes the file's problem (`valueProblem`), so
        // the identity taken here for it is never applied to voxels.
        return .linear(slope: slope ?? 1, intercept: intercept ?? 0)
    }

    /// Rescale Slope or Rescale Intercept as read: absent (or empty), a usable number, or a value that no
    /// voxel may be computed with — a slope of 0, NaN, an infinity or text that is not a number.
    enum RescaleNumber: Equatable {
        case absent
        case number(Double)
        case unusable(reason: String)

        var value: Double? {
            if case .number(let value) = self { return value }
            return nil
        }
    }

    static func rescaleNumber(_ dataSet: DICOMDataSet, _ tag: DICOMTag) -> RescaleNumber {
        guard let text = dataSet.text(tag) else {
            // Binary VRs (a private file may use FD) have no text; an empty value is absent.
            guard let element = dataSet[tag], let bytes = element.rawBytes, !bytes.isEmpty else { return .absent }
            return check(dataSet.double(tag), shown: dataSet.double(tag).map { "\($0)" } ?? "unreadable", tag)
        }
        let name = tag == .rescaleSlope ? "Rescale Slope (0028,1053)" : "Rescale Intercept (0028,1052)"
        let values = dataSet.doubles(tag)
        guard let first = values.first, values.count == dataSet.strings(tag).count else {
            return .unusable(reason: "\(name) is \(quotedForMessage(text)), not a number")
        }
        return check(first, shown: quotedForMessage(text), tag)
    }

    private static func check(_ value: Double?, shown: String, _ tag: DICOMTag) -> RescaleNumber {
        let name = tag == .rescaleSlope ? "Rescale Slope (0028,1053)" : "Rescale Intercept (0028,1052)"
        guard let value else { return .unusable(reason: "\(name) is \(shown), not a number") }
        guard value.isFinite else { return .unusable(reason: "\(name) is \(shown), not a finite number") }
        if tag == .rescaleSlope && value == 0 {
            return .unusable(reason: "\(name) is 0: every voxel would be the intercept")
        }
        return .number(value)
    }

    /// Why the values of a file cannot be trusted to make voxels, when they cannot: Bits Stored outside
    /// 1…Bits Allocated, or an unusable Rescale Slope or Intercept (at the top level, in the shared or in
    /// any frame's functional groups). nil when the file's values are usable. Such a file fails its stack
    /// (naming the file) instead of being read with a guess.
    static func valueProblem(_ dataSet: DICOMDataSet) -> String? {
        if let stored = dataSet.int(.bitsStored), let allocated = dataSet.int(.bitsAllocated),
           stored < 1 || stored > allocated {
            return "Bits Stored (0028,0101) is \(stored), outside 1…\(allocated) (Bits Allocated)"
        }
        // Colour and palette images are never rescaled, and a Modality LUT replaces the rescale.
        let samples = dataSet.int(.samplesPerPixel) ?? 1
        guard samples == 1, dataSet.string(.photometricInterpretation)?.uppercased() != "PALETTE COLOR" else { return nil }
        var places = dataSet.firstItem(.modalityLUTSequence) == nil ? [dataSet] : []
        for sequence in [DICOMTag.sharedFunctionalGroupsSequence, .perFrameFunctionalGroupsSequence] {
            for groups in dataSet.sequence(sequence) ?? [] {
                if let transform = groups.firstItem(.pixelValueTransformationSequence) { places.append(transform) }
            }
        }
        for place in places {
            for tag in [DICOMTag.rescaleSlope, .rescaleIntercept] {
                if case .unusable(let reason) = rescaleNumber(place, tag) { return reason }
            }
        }
        return nil
    }

    /// A Modality LUT from its descriptor (entries, first mapped value, bits) and data.
    static func lookupTable(_ item: DICOMDataSet, format: StoredPixelFormat, path: String) throws -> ModalityLookupTable {
        let descriptor = item.doubles(.lutDescriptor).map(wholeNumber)
        guard descriptor.count >= 3, var entries = descriptor[0], var firstMapped = descriptor[1], let bits = descriptor[2],
              (0...65536).contains(entries), (-32768...65535).contains(firstMapped) else {
            throw MedVolError.corrupt(path, "Modality LUT Descriptor is incomplete or impossible")
        }
        if entries == 0 { entries = 65536 }
        // The first mapped value is US or SS as Pixel Representation says.
        if format.isSigned && firstMapped > 32767 { firstMapped -= 65536 }
        guard let element = item[.lutData], let bytes = element.rawBytes else {
            throw MedVolError.corrupt(path, "Modality LUT Sequence has no LUT Data")
        }
        var values: [Int32]
        if bits <= 8 && bytes.count >= entries && bytes.count < entries * 2 {
            values = bytes.prefix(entries).map { Int32($0) }
        } else {
            let words = item.words(.lutData)
            values = words.prefix(entries).map { Int32($0) }
            if bits <= 8, words.count * 2 >= entries, values.count < entries {
                values = bytes.prefix(entries).map { Int32($0) }
            }
        }
        guard values.count == entries else {
            throw MedVolError.corrupt(path, "Modality LUT Data holds \(values.count) entries, its descriptor says \(entries)")
        }
        return ModalityLookupTable(firstMapped: firstMapped, values: values)
    }

    /// "HHMMSS.FFFFFF" → seconds.
    static func secondsSinceMidnight(_ text: String) -> Double? {
        let digits = text.filter { $0 != ":" }
        guard digits.count >= 2 else { return nil }
        let chars = Array(digits)
        func number(_ range: Range<Int>) -> Double? {
            guard range.upperBound <= chars.count else { return 0 }
            return Double(String(chars[range]))
        }
        guard let hours = number(0..<2), let minutes = number(2..<4) else { return nil }
        let seconds = chars.count > 4 ? Double(String(chars[4...])) ?? 0 : 0
        return hours * 3600 + minutes * 60 + seconds
    }

    /// "YYYYMMDDHHMMSS.FFFFFF" → seconds from the day's start (days count as 86400 s from year 0 is
    /// overkill: only ordering within a series matters).
    static func dateTimeSeconds(_ text: String) -> Double? {
        let chars = Array(text)
        guard chars.count >= 8, let day = Double(String(chars[0..<8])) else { return nil }
        let time = chars.count > 8 ? secondsSinceMidnight(String(chars[8...].prefix { $0 != "+" && $0 != "-" })) ?? 0 : 0
        return day * 86400 + time
    }
}
