import ArgumentParser
import MedVol

/// The window options of `export` and `preview`.
struct WindowOptions: ParsableArguments {
    @Option(parsing: .unconditional,
            help: ArgumentHelp("Window CENTER,WIDTH, e.g. 40,400 or -600,1500 (linear VOI function, PS3.3 C.11.2.1.2).", valueName: "center,width"))
    var window: String?

    @Option(help: ArgumentHelp("A CT window: \(WindowPreset.all.map { "\($0.name) \(formatDecimal($0.center))/\(formatDecimal($0.width))" }.joined(separator: ", ")).", valueName: "name"))
    var preset: String?

    @Option(name: .customLong("window-index"),
            help: ArgumentHelp("Use the file's window number N (from 1: the Window Center/Width pairs, then the VOI LUT Sequence items) instead of its first.", valueName: "n"))
    var windowIndex: Int?

    func validate() throws {
        let given = [window != nil, preset != nil, windowIndex != nil].filter { $0 }.count
        guard given <= 1 else { throw ValidationError("give at most one of --window, --preset and --window-index") }
        if let window, parsedWindow(window) == nil {
            throw ValidationError("--window takes CENTER,WIDTH with WIDTH at least 1, e.g. 40,400 or -600,1500 (not '\(window)')")
        }
        if let preset, WindowPreset.named(preset) == nil {
            throw ValidationError("unknown --preset '\(preset)' (\(WindowPreset.all.map(\.name).joined(separator: ", ")))")
        }
        if let windowIndex, windowIndex < 1 { throw ValidationError("--window-index counts from 1") }
    }

    /// The choice these options make: the file's window (or the volume's range) when none is given.
    var choice: WindowChoice {
        if let window, let (center, width) = parsedWindow(window) { return .explicit(center: center, width: width) }
        if let preset, let named = WindowPreset.named(preset) { return .preset(named) }
        return .fromFile(index: windowIndex)
    }

    private func parsedWindow(_ text: String) -> (Double, Double)? {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { Double(String($0).trimmingCharacters()) }
        guard parts.count == 2, let center = parts[0], let width = parts[1], center.isFinite, width.isFinite, width >= 1 else { return nil }
        return (center, width)
    }
}

/// "512×512 pictures, 0.7 mm pixels" and how they were made from the voxels.
func describeRendering(_ renderer: SliceRenderer) -> String {
    let layout = renderer.layout
    let spacing = renderer.volume.spacing
    var text = layout.isStored ? "stored slices (\(layout.plane.rawValue))" : "\(layout.plane.rawValue) reformat"
    text += ", \(renderer.width)×\(renderer.height) pixels"
    let across = spacing[layout.across.axis], down = spacing[layout.down.axis]
    let resampled = renderer.width != renderer.volume.size[layout.across.axis] || renderer.height != renderer.volume.size[layout.down.axis]
    if resampled {
        text += " (resampled by linear interpolation from \(formatDecimal(across))×\(formatDecimal(down)) mm to \(formatDecimal(renderer.pixelSize)) mm square pixels)"
    }
    return text
}
