// Typed descriptions of a stack: its plane, how it was formed, what is irregular about it, and whether it
// makes a volume. Each has a `description` with the text the CLI prints, so the text and the value are
// made in one place.

/// The anatomical plane of a stack's images, from the slice normal.
public enum ImagePlane: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Normal along the patient's superior–inferior axis.
    case axial
    /// Normal along the anterior–posterior axis.
    case coronal
    /// Normal along the left–right axis.
    case sagittal
    /// The normal is more than about 10° away from every patient axis.
    case oblique
    /// The images carry no orientation.
    case unknown

    /// The plane whose normal is nearest `normal` (LPS); `.oblique` when `normal` is more than about 10°
    /// off every axis, `.unknown` for a zero vector.
    public init(normal: SIMD3<Double>) {
        let magnitudes = [abs(normal.x), abs(normal.y), abs(normal.z)]
        let largest = magnitudes.max() ?? 0
        let norm = (normal * normal).sum().squareRoot()
        guard norm > 0 else { self = .unknown; return }
        if largest / norm < 0.985 { self = .oblique; return }
        switch magnitudes.firstIndex(of: largest)! {
        case 0: self = .sagittal
        case 1: self = .coronal
        default: self = .axial
        }
    }

    /// The plane's name: "axial", "coronal", "sagittal", "oblique" or "unknown".
    public var description: String { rawValue }
}

/// What can set the images of one series apart into several stacks.
public enum SplitCriterion: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Image Orientation (Patient), rounded to 1e-3.
    case orientation
    /// Rows × Columns.
    case size = "rows × columns"
    /// Stored sample type, samples per pixel and photometric family.
    case pixelType = "pixel type"
    /// Image Type (0008,0008).
    case imageType = "image type"

    /// The criterion's name as `series` prints it, e.g. "rows × columns".
    public var description: String { rawValue }
}

/// How a stack was formed from its series.
public enum StackFormation: Sendable, Hashable, CustomStringConvertible {
    /// Every image of the series (`seriesNumber` nil when the series has none).
    case wholeSeries(imageCount: Int, seriesNumber: Int?)
    /// Part of a series, split off from the rest because the `criteria` differ; `values` describes this
    /// stack's value of each criterion, in the same order (e.g. "axial orientation [1,0,0,0,1,0]", "512×512").
    case split(criteria: [SplitCriterion], values: [String], imageCount: Int, seriesImageCount: Int, seriesNumber: Int?)

    /// Whether the stack is only part of its series.
    public var isSplit: Bool {
        if case .split = self { return true }
        return false
    }

    /// E.g. "all 120 images of series 3", or "20 of 140 images of series 2, split by orientation: …".
    public var description: String {
        func series(_ number: Int?) -> String { number.map { "series \($0)" } ?? "series without number" }
        switch self {
        case let .wholeSeries(count, number):
            return "all \(count) images of \(series(number))"
        case let .split(criteria, values, count, seriesCount, number):
            return "\(count) of \(seriesCount) images of \(series(number)), split by \(criteria.map(\.rawValue).joined(separator: ", ")): \(values.joined(separator: "; "))"
        }
    }
}

/// Two neighbouring slices whose gap is not the stack's usual one.
public struct SliceGap: Sendable, Hashable {
    /// 0-based index of the first of the two slices (in volume order).
    public var slice: Int
    /// Distances of the two slices along the slice normal (mm).
    public var from: Double, to: Double
    /// The gap between them (mm).
    public var gap: Double { to - from }

    /// The gap from slice `slice` at `from` mm to the next at `to` mm (distances along the normal).
    public init(slice: Int, from: Double, to: Double) {
        self.slice = slice
        self.from = from
        self.to = to
    }
}

/// Something irregular about a stack that does not stop it from making a volume.
public enum StackWarning: Sendable, Hashable, CustomStringConvertible {
    /// `count` slices are missing between two slices whose gap is a multiple of the usual gap.
    case missingSlices(count: Int, at: SliceGap, typicalGap: Double)
    /// Gaps that are neither the usual gap nor a multiple of it.
    case unevenSpacing(typicalGap: Double, gaps: [SliceGap])
    /// The slice spacing used is the mean over the stack (after a missing-slice or spacing warning).
    case meanSliceSpacing(Double)
    /// Slice positions shift in-plane: `sideways` mm over `along` mm along the normal, an angle of `degrees`;
    /// `declared` is Gantry/Detector Tilt (0018,1120) when present.
    case gantryTilt(sideways: Double, along: Double, degrees: Double, declared: Double?)
    /// Pixel Spacing differs between images; the first image's (row, column) spacing is used.
    case pixelSpacingDiffers(row: Double, column: Double)
    /// No Pixel Spacing: 1 mm in-plane is assumed.
    case noPixelSpacing
    /// Images lack Image Position/Orientation (all of them, or `someHavePositions` only some): origin 0,
    /// identity direction, images stacked by Instance Number.
    case noPosition(someHavePositions: Bool)
    /// The same SOP Instance is in two files; the first (`kept`) is read.
    case duplicateInstance(sopInstanceUID: String, path: String, kept: String)
    /// A file's native pixel data are longer than its frames need, or of odd length (`detail` says which);
    /// `moreFiles` other files of the stack have the same.
    case pixelDataLength(path: String, detail: String, moreFiles: Int)
    /// The tilt was corrected (``SliceResampling/correctTilt``): each slice was shifted in-plane onto the
    /// line through the first slice along the normal, by up to `maximumShift` mm (the tilt is `degrees`).
    case tiltCorrected(maximumShift: Double, degrees: Double)
    /// The slices were resampled to equal spacing (``SliceResampling/equidistant``): `slices` slices
    /// `spacing` mm apart from the `sourceSlices` stored, interpolated linearly between the two nearest.
    case regridded(sourceSlices: Int, slices: Int, spacing: Double)

    /// The warning as `series` and `convert` print it, with its positions and values.
    public var description: String {
        switch self {
        case let .missingSlices(count, gap, typical):
            let s = count == 1 ? "" : "s"
            return "missing slice\(s): \(count) slice\(s) missing \(Self.between(gap)): gap \(formatMillimetres(gap.gap)) mm where the others are \(formatMillimetres(typical)) mm"
        case let .unevenSpacing(typical, gaps):
            let shown = gaps.prefix(5).map { "\(formatMillimetres($0.gap)) mm \(Self.between($0))" }.joined(separator: "; ")
            return "uneven slice spacing: typical gap \(formatMillimetres(typical)) mm, but \(shown)\(gaps.count > 5 ? "; and \(gaps.count - 5) more" : "")"
        case let .meanSliceSpacing(spacing):
            return "slice spacing \(formatMillimetres(spacing)) mm is the mean over the stack; voxels are stacked, not resampled"
        case let .gantryTilt(sideways, along, degrees, declared):
            let declaredText = declared.map { ", Gantry/Detector Tilt \(formatNumber($0))°" } ?? ""
            return "gantry tilt: slice positions shift \(formatMillimetres(sideways)) mm sideways over \(formatMillimetres(along)) mm along the normal (\(formatNumber((degrees * 100).rounded() / 100))°\(declaredText)); the geometry follows the slice normal and voxels are not resampled"
        case let .pixelSpacingDiffers(row, column):
            return "pixel spacing differs between images; the first image's \(formatNumber(row))\\\(formatNumber(column)) mm is used"
        case .noPixelSpacing:
            return "no Pixel Spacing: in-plane spacing 1 mm assumed"
        case let .noPosition(some):
            return some
                ? "some images lack position or orientation: origin 0, identity direction; images stacked by instance number"
                : "images carry no position or orientation: origin 0, identity direction; images stacked by instance number"
        case let .duplicateInstance(uid, path, kept):
            return "duplicate SOP Instance \(uid) in \(path) (also in \(kept)): read once"
        case let .pixelDataLength(path, detail, more):
            return "\(path): \(detail)\(more > 0 ? " (and in \(more) more file\(more == 1 ? "" : "s") of this stack)" : "")"
        case let .tiltCorrected(shift, degrees):
            return "gantry tilt corrected: slices shifted in-plane by up to \(formatMillimetres(shift)) mm onto the slice normal through the first slice (\(formatNumber((degrees * 100).rounded() / 100))°), linear interpolation, edges filled with the lowest value"
        case let .regridded(source, slices, spacing):
            return "slices resampled to equal spacing: \(slices) slices \(formatMillimetres(spacing)) mm apart from the \(source) stored, linear interpolation between the two nearest"
        }
    }

    private static func between(_ gap: SliceGap) -> String {
        "between slices \(gap.slice) and \(gap.slice + 1) (at \(formatMillimetres(gap.from)) and \(formatMillimetres(gap.to)) mm along the normal)"
    }
}

/// Whether a stack makes a volume.
public enum StackState: Sendable {
    /// The images make a volume with this geometry.
    case volume(ImageGeometry)
    /// The headers make a volume with this geometry, but the pixel data of a file cannot be decoded
    /// (`error` names the first such file).
    case undecodablePixels(geometry: ImageGeometry, error: MedVolError)
    /// The images make no volume (e.g. positions hold different numbers of images); `error` says why.
    case noVolume(MedVolError)

    /// The geometry, when the headers give one (also for undecodable pixels).
    public var geometry: ImageGeometry? {
        switch self {
        case .volume(let geometry), .undecodablePixels(let geometry, _): return geometry
        case .noVolume: return nil
        }
    }

    /// Why the stack cannot be loaded, as `medvol series` shows it: the reason its images make no volume,
    /// or the undecodable file's path and reason; nil when it loads.
    public var problemDescription: String? {
        switch self {
        case .volume: return nil
        case .noVolume(let error): return error.reason
        case .undecodablePixels(_, let error): return error.description
        }
    }

    /// Why the stack cannot be loaded; nil when it can.
    public var error: MedVolError? {
        switch self {
        case .volume: return nil
        case .undecodablePixels(_, let error), .noVolume(let error): return error
        }
    }
}

/// Photometric Interpretation (0028,0004): how a pixel's samples are to be read.
public enum PhotometricInterpretation: Sendable, Hashable, CustomStringConvertible {
    /// Grey, lowest value displayed white.
    case monochrome1
    /// Grey, lowest value displayed black.
    case monochrome2
    /// Indices into the palette colour lookup tables.
    case paletteColor
    /// Red, green, blue samples.
    case rgb
    /// Luminance and full-resolution chrominance (JPEG's colour space).
    case ybrFull
    /// YBR_FULL with chrominance halved horizontally.
    case ybrFull422
    /// YBR with chrominance halved in both directions, partial range (MPEG-2).
    case ybrPartial420
    /// Irreversible colour transform of JPEG 2000.
    case ybrICT
    /// Reversible colour transform of JPEG 2000.
    case ybrRCT
    /// Any other defined term, as stored (upper case).
    case other(String)

    /// The interpretation the DICOM defined term `text` names (case and padding ignored).
    public init(_ text: String) {
        let term = text.uppercased().trimmingPadding()
        switch term {
        case "MONOCHROME1": self = .monochrome1
        case "MONOCHROME2": self = .monochrome2
        case "PALETTE COLOR": self = .paletteColor
        case "RGB": self = .rgb
        case "YBR_FULL": self = .ybrFull
        case "YBR_FULL_422": self = .ybrFull422
        case "YBR_PARTIAL_420": self = .ybrPartial420
        case "YBR_ICT": self = .ybrICT
        case "YBR_RCT": self = .ybrRCT
        default: self = .other(term)
        }
    }

    /// The DICOM defined term, e.g. "MONOCHROME2".
    public var definedTerm: String {
        switch self {
        case .monochrome1: return "MONOCHROME1"
        case .monochrome2: return "MONOCHROME2"
        case .paletteColor: return "PALETTE COLOR"
        case .rgb: return "RGB"
        case .ybrFull: return "YBR_FULL"
        case .ybrFull422: return "YBR_FULL_422"
        case .ybrPartial420: return "YBR_PARTIAL_420"
        case .ybrICT: return "YBR_ICT"
        case .ybrRCT: return "YBR_RCT"
        case .other(let term): return term
        }
    }

    /// Whether the samples are grey values.
    public var isMonochrome: Bool { self == .monochrome1 || self == .monochrome2 }

    /// The defined term (``definedTerm``).
    public var description: String { definedTerm }
}

private extension String {
    /// Without leading and trailing spaces and NULs (DICOM's padding).
    func trimmingPadding() -> String {
        var text = Substring(self)
        while text.first == " " || text.first == "\0" { text.removeFirst() }
        while text.last == " " || text.last == "\0" { text.removeLast() }
        return String(text)
    }
}
