import ArgumentParser
import MedVol

/// `medvol info`: size, spacing, origin, direction, voxel type and what is known about a volume.
struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Describe one volume: geometry, voxel type, origin of the values, warnings.",
        discussion: "For DICOM, headers only unless the voxel type depends on the values present (then the pixels are read).")

    @Argument(help: "A volume file, or DICOM file(s), folder(s) or DICOMDIR.")
    var inputs: [String] = []

    @OptionGroup var selection: StackSelection

    @Flag(help: "Print one JSON object (the same as a .npy file's .json sidecar).")
    var json = false

    @Flag(name: .customLong("stored-values"), help: "Describe the volume with DICOM stored values.")
    var storedValues = false

    @Option(help: "Value scaling where a vendor stores a second one: dicom or philips-precise.")
    var scaling: DICOMScaling = .dicom

    @Option(help: ArgumentHelp("Describe a tilted DICOM series as --tilt correct would write it: keep or correct.", valueName: "keep|correct"))
    var tilt: String = "keep"

    @Flag(help: "Describe an unevenly spaced DICOM series as --regrid would write it (equidistant slices).")
    var regrid = false

    @Flag(help: "No progress on stderr.")
    var quiet = false

    func validate() throws {
        guard !inputs.isEmpty else { throw ValidationError("give an INPUT") }
        if !["keep", "correct"].contains(tilt) { throw ValidationError("--tilt takes keep or correct, not '\(tilt)'") }
    }

    @OptionGroup var reading: ReadingOptions

    func run() throws {
        let progress = ProgressDisplay(quiet: quiet)
        defer { progress.finish() }
        var info: VolumeInfo
        var stack: DICOMStack?
        switch InputKind(inputs) {
        case .volumeFile(let path):
            info = VolumeInfo(try Volume(contentsOf: path))
        case .dicom(let paths):
            let scan = try DICOMScan(paths: paths, control: progress.control)
            let chosen = try chooseStack(scan, selector: selection.series, inputDescription: describeInputs(paths),
                                         hint: "choose one with --series")
            var resampling: SliceResampling = .none
            if tilt == "correct" { resampling.insert(.correctTilt) }
            if regrid { resampling.insert(.equidistant) }
            info = try chosen.volumeInfo(options: DICOMLoadOptions(storedValues: storedValues, scaling: scaling, control: progress.control,
                                                                        codecIsolation: reading.codecIsolation, sliceResampling: resampling))
            stack = chosen
        }
        progress.finish()
        if json {
            var object = info.infoJSON.objectValue ?? JSONObject()
            if let stack {
                object["stack"] = StackJSON.stack(stack)
            }
            print(JSONValue.object(object).prettyText)
            return
        }
        print(text(info, stack: stack))
    }

    private func text(_ info: VolumeInfo, stack: DICOMStack?) -> String {
        let geometry = info.geometry
        func numbers(_ values: [Double]) -> String { values.map { formatDecimal($0) }.joined(separator: ", ") }
        var lines: [(String, String)] = []
        if let source = info.metadata.source { lines.append(("source", source)) }
        if let stack {
            lines.append(("stack", "#\(stack.index): \(stack.formation.description)"))
            lines.append(("series", [stack.seriesNumber.map { "\($0)" }, stack.seriesDescription.map { "\"\($0)\"" }, stack.modality, stack.seriesInstanceUID]
                .compactMap { $0 }.joined(separator: " ")))
            lines.append(("stored", stack.storedPixels))
        }
        lines.append(("size", geometry.size.map(String.init).joined(separator: " × ")))
        lines.append(("spacing", numbers([geometry.spacing.x, geometry.spacing.y, geometry.spacing.z]) + " mm"
                      + (geometry.timeSpacing.map { ", \(formatDecimal($0)) s between volumes" } ?? "")))
        lines.append(("origin", numbers([geometry.origin.x, geometry.origin.y, geometry.origin.z]) + " mm (LPS)"))
        let d = geometry.direction
        lines.append(("direction", (0..<3).map { row in numbers((0..<3).map { d[row, $0] }) }.joined(separator: " / ")
                      + " (\(geometry.orientationCode))"))
        lines.append(("voxels", "\(info.pixelType.rawValue)" + (info.components > 1 ? " × \(info.components) components" : "")
                      + (info.metadata.valueTransform.map { ", \($0)" } ?? "")
                      + (info.metadata.valueUnits.map { ", in \($0)" } ?? "")))
        if let scaling = info.metadata.valueScaling {
            lines.append(("scaling", scaling + (info.metadata.otherValueScalings.isEmpty ? ""
                : " (also available: " + info.metadata.otherValueScalings.map { "--scaling \($0)" }.joined(separator: ", ") + ")")))
        }
        if let window = info.metadata.windows.first { lines.append(("window", "\(formatDecimal(window.center)) / \(formatDecimal(window.width))")) }
        if let padding = info.metadata.pixelPaddingValue { lines.append(("padding", formatDecimal(padding) + " (Pixel Padding Value, not applied)")) }
        for warning in info.metadata.warnings { lines.append(("warning", warning.description)) }
        let width = lines.map(\.0.count).max() ?? 0
        // Each value escaped whole (a Series Description holding a line break stays on its line).
        return lines.map { $0.0.padding(to: width) + "  " + shown($0.1) }.joined(separator: "\n")
    }
}

/// A number as a person reads it: at most 6 decimals, no trailing zeros.
func formatDecimal(_ value: Double) -> String {
    let scaled = (value * 1_000_000).rounded() / 1_000_000
    if scaled == scaled.rounded(), abs(scaled) < 1e15 { return String(Int(scaled)) }
    var text = String(scaled)
    if text.contains("e") { return text }
    while text.hasSuffix("0") { text.removeLast() }
    return text
}
