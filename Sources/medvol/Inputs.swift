import ArgumentParser
import MedVol

/// Options shared by commands that pick one stack of a DICOM input.
struct StackSelection: ParsableArguments {
    @Option(name: .customLong("series"), help: "The stack to use when the input holds several: its index in `medvol series`, or its SeriesInstanceUID.")
    var series: String?
}

/// What an input path names: a volume file of a non-DICOM format, or DICOM (files, folders, DICOMDIR).
enum InputKind {
    case volumeFile(String)
    case dicom([String])

    init(_ paths: [String]) {
        if paths.count == 1, let format = VolumeFileFormat(path: paths[0]), format != .dicom {
            self = .volumeFile(paths[0])
        } else {
            self = .dicom(paths)
        }
    }
}

/// The one stack of a scan that a command works on: the chosen one, or the only one; otherwise an
/// error that lists the stacks.
func chooseStack(_ scan: DICOMScan, selector: String?, inputDescription: String, hint: String) throws -> DICOMStack {
    if let selector {
        let matches = scan.stacks.filter { $0.seriesInstanceUID == selector }
        if Int(selector) == nil, matches.count > 1 {
            let listing = matches.map { "  " + StackListing.oneLine($0) }.joined(separator: "\n")
            throw MedVolError(.ambiguousInput, path: inputDescription,
                              reason: "series \(selector) splits into \(matches.count) stacks; choose one with --series INDEX (#INDEX below, as `medvol series` lists them):\n\(listing)")
        }
        do {
            return try scan.stack(matching: selector)
        } catch var error as MedVolError {
            if error.path == nil { error.path = inputDescription }
            throw error
        }
    }
    if scan.stacks.count == 1 { return scan.stacks[0] }
    if scan.stacks.isEmpty { throw noImagesError(scan, inputDescription: inputDescription) }
    let listing = scan.stacks.map { "  " + StackListing.oneLine($0) }.joined(separator: "\n")
    throw MedVolError(.ambiguousInput, path: inputDescription,
                      reason: "holds \(scan.stacks.count) stacks; \(hint):\n\(listing)")
}

/// "no DICOM images", with the reasons files were skipped.
func noImagesError(_ scan: DICOMScan, inputDescription: String) -> MedVolError {
    if scan.skipped.count == 1 {
        return MedVolError(.noImages, path: scan.skipped[0].path, reason: scan.skipped[0].reason)
    }
    var reason = "no DICOM images found"
    if !scan.skipped.isEmpty {
        reason += " (\(scan.skipped.count) files skipped: " + StackListing.skippedSummary(scan.skipped) + ")"
    } else if scan.examinedFileCount == 0 {
        reason += " (no files)"
    }
    return MedVolError(.noImages, path: inputDescription, reason: reason)
}

func describeInputs(_ paths: [String]) -> String { paths.joined(separator: " ") }

/// `PATH: LABEL: REASON` for a stack that failed while the others go on: the file the error names, else
/// the output that was not written.
func stackFailureLine(_ error: any Error, label: String, output: String) -> String {
    guard let error = error as? MedVolError else { return "\(output): \(label): \(error)" }
    return "\(error.path ?? output): \(label): \(error.reason)"
}

/// Formats for the stack listings of `series` and the errors that list stacks.
enum StackListing {
    /// The state's name in `series --json`: "volume", "undecodablePixels" or "noVolume".
    static func stateName(_ state: StackState) -> String {
        switch state {
        case .volume: return "volume"
        case .undecodablePixels: return "undecodablePixels"
        case .noVolume: return "noVolume"
        }
    }

    static func oneLine(_ stack: DICOMStack) -> String {
        let number = stack.seriesNumber.map(String.init) ?? "-"
        let size = stack.size.map { $0.map(String.init).joined(separator: "×") } ?? "(\(stack.state.problemDescription ?? "no volume"))"
        let description = stack.seriesDescription.map { " \"\(shown($0))\"" } ?? ""
        return "#\(stack.index) series \(number)\(description) \(shown(stack.modality ?? "")) \(stack.imageCount) images \(shown(size)) \(stack.plane.rawValue) — \(shown(stack.seriesInstanceUID))"
    }

    /// "10 not a DICOM file (…), 2 not an image: …": reasons grouped, most common first.
    static func skippedSummary(_ skipped: [SkippedFile]) -> String {
        let groups = Dictionary(grouping: skipped) { reasonKind($0.reason) }
        return groups.sorted { $0.value.count > $1.value.count }
            .map { "\($0.value.count) \($0.key)" }.joined(separator: ", ")
    }

    /// The reason without file-specific numbers, for grouping.
    private static func reasonKind(_ reason: String) -> String {
        if let colon = reason.firstIndex(of: ":"), reason.hasPrefix("not an image") { return String(reason[..<colon]) }
        return reason.split(separator: "(").first.map { String($0).trimmingCharacters() } ?? reason
    }
}

extension String {
    func trimmingCharacters() -> String {
        var text = Substring(self)
        while text.first == " " { text.removeFirst() }
        while text.last == " " { text.removeLast() }
        return String(text)
    }
}
