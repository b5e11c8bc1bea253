import ArgumentParser
import MedVol

/// `medvol series`: every stack found in the input, from headers only.
struct Series: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the stacks (one volume each) found in DICOM input, from headers only.",
        discussion: "A stack is what one volume is made of: a series, or the part of one split off by orientation, size, pixel type or image type (a localizer inside a series).")

    @Argument(help: "DICOM file(s), folder(s) or DICOMDIR.")
    var inputs: [String] = []

    @Flag(help: "Print {\"stacks\": [...], \"skipped\": [...]} as JSON.")
    var json = false

    @Flag(help: "No progress on stderr.")
    var quiet = false

    func validate() throws {
        guard !inputs.isEmpty else { throw ValidationError("give at least one INPUT") }
    }

    func run() throws {
        let progress = ProgressDisplay(quiet: quiet)
        let scan = try DICOMScan(paths: inputs, control: progress.control)
        progress.finish()
        if json {
            print(StackJSON.listing(scan).prettyText)
            return
        }
        guard !scan.stacks.isEmpty else { throw noImagesError(scan, inputDescription: describeInputs(inputs)) }
        let header = ["#", "Series", "Modality", "Images", "Size", "Plane", "Description"]
        let rows = scan.stacks.map { stack in
            [String(stack.index), stack.seriesNumber.map(String.init) ?? "-", stack.modality ?? "-", String(stack.imageCount),
             stack.size.map { $0.map(String.init).joined(separator: "×") } ?? "-", stack.plane, stack.seriesDescription ?? ""]
        }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max()! }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { $1.padding(to: widths[$0]) }.joined(separator: "  ")
        }
        print(line(header))
        for (stack, row) in zip(scan.stacks, rows) {
            print(line(row))
            let indent = String(repeating: " ", count: widths[0] + 2)
            print("\(indent)\(stack.seriesInstanceUID) · \(stack.storedPixels)")
            if stack.formation.contains("split") { print("\(indent)formed: \(stack.formation)") }
            if let problem = stack.problem { print("\(indent)cannot be loaded: \(problem)") }
            for warning in stack.warnings { print("\(indent)warning: \(warning)") }
        }
        if !scan.skipped.isEmpty {
            print("\(scan.skipped.count) of \(scan.examinedFileCount) files skipped: \(StackListing.skippedSummary(scan.skipped))")
        }
    }
}

extension String {
    func padding(to width: Int) -> String { self + String(repeating: " ", count: max(0, width - count)) }
}

/// The JSON shapes of `series --json` and the stack part of `info --json`.
enum StackJSON {
    static func listing(_ scan: DICOMScan) -> JSONValue {
        var object = JSONObject()
        object["stacks"] = .array(scan.stacks.map(stack))
        object["skipped"] = .array(scan.skipped.map { .object(["path": .string($0.path), "reason": .string($0.reason)]) })
        object["examinedFiles"] = .integer(scan.examinedFileCount)
        return .object(object)
    }

    static func stack(_ stack: DICOMStack) -> JSONValue {
        var object = JSONObject()
        object["index"] = .integer(stack.index)
        object["seriesNumber"] = stack.seriesNumber.map { .integer($0) } ?? .null
        object["seriesInstanceUID"] = .string(stack.seriesInstanceUID)
        object["modality"] = stack.modality.map { .string($0) } ?? .null
        object["description"] = stack.seriesDescription.map { .string($0) } ?? .null
        object["imageCount"] = .integer(stack.imageCount)
        object["fileCount"] = .integer(stack.fileCount)
        object["size"] = stack.size.map { .array($0.map { .integer($0) }) } ?? .null
        if let geometry = stack.geometry {
            object["spacing"] = .array([geometry.spacing.x, geometry.spacing.y, geometry.spacing.z].map { .number($0) })
            object["orientation"] = .string(geometry.orientationCode)
        }
        object["plane"] = .string(stack.plane)
        object["storedPixels"] = .string(stack.storedPixels)
        object["studyInstanceUID"] = stack.studyInstanceUID.map { .string($0) } ?? .null
        object["patientID"] = stack.patientID.map { .string($0) } ?? .null
        object["studyDate"] = stack.studyDate.map { .string($0) } ?? .null
        object["formation"] = .string(stack.formation)
        object["warnings"] = .array(stack.warnings.map { .string($0) })
        object["problem"] = stack.problem.map { .string($0) } ?? .null
        return .object(object)
    }
}
