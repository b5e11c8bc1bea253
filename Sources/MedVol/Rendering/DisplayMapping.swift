/// A named window (centre/width in Hounsfield units) for CT.
public struct WindowPreset: Sendable, Hashable {
    /// The preset's name, lower case ("brain", "lung", …).
    public let name: String
    /// Window centre, in HU.
    public let center: Double
    /// Window width, in HU.
    public let width: Double

    /// brain 40/80, subdural 75/215, stroke 40/40, lung −600/1500, mediastinum 50/350, abdomen 40/400,
    /// liver 60/150, bone 400/1800.
    public static let all: [WindowPreset] = [
        WindowPreset(name: "brain", center: 40, width: 80),
        WindowPreset(name: "subdural", center: 75, width: 215),
        WindowPreset(name: "stroke", center: 40, width: 40),
        WindowPreset(name: "lung", center: -600, width: 1500),
        WindowPreset(name: "mediastinum", center: 50, width: 350),
        WindowPreset(name: "abdomen", center: 40, width: 400),
        WindowPreset(name: "liver", center: 60, width: 150),
        WindowPreset(name: "bone", center: 400, width: 1800),
    ]

    /// The preset called `name` (case-insensitive), if there is one.
    public static func named(_ name: String) -> WindowPreset? {
        all.first { $0.name == name.lowercased() }
    }
}

/// Which window to show a volume with.
public enum WindowChoice: Sendable, Hashable {
    /// The file's window (or VOI LUT) number `index`, counted from 1 — windows first, in the order of
    /// Window Center/Width, then the items of VOI LUT Sequence. With `index` nil: the first, or the
    /// volume's own range when the file has none.
    case fromFile(index: Int?)
    /// A window given by the user (centre, width), linear (PS3.3 C.11.2.1.2.1).
    case explicit(center: Double, width: Double)
    /// A named preset.
    case preset(WindowPreset)
    /// The volume's own range of values, smallest black, largest white.
    case valueRange
}

/// How a volume's voxel values become 8-bit pixels: the VOI transform, MONOCHROME1 inversion, and
/// what to do with colour.
public struct DisplayMapping: Sendable {
    /// The VOI transform for grey volumes, and for colour ones when a window was asked for (applied
    /// to each channel); nil for colour volumes shown as they are.
    public var transform: VOITransform?
    /// MONOCHROME1: the lowest values are white.
    public var inverted: Bool
    /// For colour volumes without a window: the factor that brings a channel value to 0…255
    /// (1 for uint8, 255/65535 for uint16).
    public var colourScale: Double
    /// Where the transform came from: "window 40/400 (abdomen preset)", "window 763/1639 from the
    /// file (Algo1)", "value range -1024…3071".
    public var summary: String

    /// A mapping from its parts.
    ///
    /// - Parameters:
    ///   - transform: The VOI transform; nil shows a colour volume as it is.
    ///   - inverted: Whether the lowest values are white (MONOCHROME1).
    ///   - colourScale: For colour volumes without a window, the factor that brings a channel value to
    ///     0…255.
    ///   - summary: Where the transform came from, for captions and messages.
    public init(transform: VOITransform?, inverted: Bool = false, colourScale: Double = 1, summary: String) {
        self.transform = transform
        self.inverted = inverted
        self.colourScale = colourScale
        self.summary = summary
    }

    /// The mapping for `volume` under `choice`. Throws when `choice` names a window the file does
    /// not have, or a window is unusable (width below 1).
    public static func make(for volume: Volume, choice: WindowChoice) throws -> DisplayMapping {
        let inverted = volume.metadata.photometricInterpretation == .monochrome1
        let isColour = volume.components >= 3
        var colourScale = 1.0
        if isColour {
            switch volume.pixelType {
            case .uint8: colourScale = 1
            case .uint16: colourScale = 255 / 65535
            default: colourScale = 255 / max(1, volume.valueRange()?.upperBound ?? 255)
            }
        }
        switch choice {
        case .explicit(let center, let width):
            try checkWidth(width)
            return DisplayMapping(transform: .window(center: center, width: width, function: .linear), inverted: inverted,
                                  colourScale: colourScale, summary: "window \(shortNumber(center))/\(shortNumber(width))")
        case .preset(let preset):
            return DisplayMapping(transform: .window(center: preset.center, width: preset.width, function: .linear),
                                  inverted: inverted, colourScale: colourScale,
                                  summary: "window \(shortNumber(preset.center))/\(shortNumber(preset.width)) (\(preset.name))")
        case .valueRange:
            return rangeMapping(volume, inverted: inverted, colourScale: colourScale, isColour: isColour)
        case .fromFile(let index):
            let stored = fileTransforms(volume)
            if isColour && index == nil {
                return DisplayMapping(transform: nil, colourScale: colourScale, summary: "colour as stored")
            }
            guard !stored.isEmpty else {
                if let index {
                    throw MedVolError(.invalidArgument, reason: "the volume has no window or VOI LUT (asked for window \(index))")
                }
                return rangeMapping(volume, inverted: inverted, colourScale: colourScale, isColour: isColour)
            }
            let position = index ?? 1
            guard position >= 1 && position <= stored.count else {
                throw MedVolError(.invalidArgument, reason: "the file holds \(stored.count) window\(stored.count == 1 ? "" : "s") (\(stored.map(\.summary).joined(separator: "; "))); --window-index is 1…\(stored.count)")
            }
            let chosen = stored[position - 1]
            return DisplayMapping(transform: chosen.transform, inverted: inverted, colourScale: colourScale, summary: chosen.summary + " from the file")
        }
    }

    private static func rangeMapping(_ volume: Volume, inverted: Bool, colourScale: Double, isColour: Bool) -> DisplayMapping {
        if isColour { return DisplayMapping(transform: nil, colourScale: colourScale, summary: "colour as stored") }
        let range = volume.valueRange() ?? 0...0
        return DisplayMapping(transform: .range(range), inverted: inverted, colourScale: colourScale,
                              summary: "value range \(shortNumber(range.lowerBound))…\(shortNumber(range.upperBound))")
    }

    private static func checkWidth(_ width: Double) throws {
        guard width >= 1, width.isFinite else {
            throw MedVolError(.invalidArgument, reason: "a window width is at least 1 (PS3.3 C.11.2.1.2), not \(shortNumber(width))")
        }
    }

    /// The windows and VOI LUTs the volume's DICOM header holds (the first image's), in order:
    /// Window Center/Width pairs with the VOI LUT Function, then VOI LUT Sequence items. Enhanced
    /// multi-frame files keep theirs in the Frame VOI LUT Sequence of the shared (else the first
    /// per-frame) functional groups.
    static func fileTransforms(_ volume: Volume) -> [(transform: VOITransform, summary: String)] {
        var found: [(transform: VOITransform, summary: String)] = []
        let header = volume.metadata.dicomHeader
        var source = header
        if let header, !header.contains(.windowCenter) && !header.contains(.voiLUTSequence) {
            let groups = [header.firstItem(.sharedFunctionalGroupsSequence), header.firstItem(.perFrameFunctionalGroupsSequence)]
            if let frameVOI = groups.compactMap({ $0?.firstItem(.frameVOILUTSequence) }).first { source = frameVOI }
        }
        let function = source?.string(.voiLUTFunction).flatMap { VOIFunction(rawValue: $0.uppercased()) } ?? .linear
        var windows: [DisplayWindow] = volume.metadata.windows
        if let source, source.contains(.windowCenter) { windows = DisplayWindow.windows(in: source) }
        for window in windows where window.width > 0 && window.center.isFinite && window.width.isFinite {
            // LINEAR needs a width of at least 1; narrower stored windows are shown as LINEAR_EXACT.
            let usable = function == .linear && window.width < 1 ? VOIFunction.linearExact : function
            let transform = VOITransform.window(center: window.center, width: window.width, function: usable)
            let explanation = window.explanation.flatMap { $0.isEmpty ? nil : " (\($0))" } ?? ""
            found.append((transform, transform.summary + explanation))
        }
        let signed = header?.int(.pixelRepresentation) == 1
        for item in source?.sequence(.voiLUTSequence) ?? [] {
            if let table = VOILookupTable(item: item, signedInput: signed) {
                let transform = VOITransform.lookupTable(table)
                found.append((transform, transform.summary))
            }
        }
        return found
    }
}
