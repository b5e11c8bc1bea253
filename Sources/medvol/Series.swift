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

    @Flag(name: .customLong("open-files"), help: "For a DICOMDIR: read every image file's header (stacks split as for folders) instead of listing the directory records.")
    var openFiles = false

    @Flag(help: "No progress on stderr.")
    var quiet = false

    @Option(name: .customLong("index"), help: "List the stacks recorded in an archive index (made by `medvol index`) instead of reading INPUT.")
    var indexPath: String?

    func validate() throws {
        if indexPath != nil {
            guard inputs.isEmpty else { throw ValidationError("give either INPUT or --index, not both") }
        } else {
            guard !inputs.isEmpty else { throw ValidationError("give at least one INPUT") }
        }
    }

    @OptionGroup var reading: ReadingOptions

    func run() throws {
        if let indexPath {
            let index = try ArchiveIndex(path: indexPath)
            let stacks = try index.stacks(), skipped = try index.skippedFiles(), files = try index.fileCount()
            if json {
                print(StackJSON.listing(stacks: stacks, skipped: skipped, examinedFiles: files).prettyText)
                return
            }
            guard !stacks.isEmpty else {
                throw MedVolError(.noImages, path: indexPath, reason: "the index holds no stacks (\(skipped.count) of \(files) files skipped)")
            }
            printTable(stacks, skipped: skipped, examinedFiles: files)
            return
        }
        if inputs.count == 1, !openFiles, DICOMDirectory.isDirectory(inputs[0]) {
            try listDirectoryRecords(inputs[0])
            return
        }
        let progress = ProgressDisplay(quiet: quiet)
        let scan = try DICOMScan(paths: inputs, control: progress.control)
        progress.finish()
        if json {
            print(StackJSON.listing(scan).prettyText)
            return
        }
        guard !scan.stacks.isEmpty else { throw noImagesError(scan, inputDescription: describeInputs(inputs)) }
        printTable(scan.stacks, skipped: scan.skipped, examinedFiles: scan.examinedFileCount)
    }

    /// The stacks as `series` prints them: one row each, then their UID, pixels, formation, problem and warnings.
    func printTable(_ stacks: [any ListedStack], skipped: [SkippedFile], examinedFiles: Int) {
        let header = ["#", "Series", "Modality", "Images", "Size", "Plane", "Description"]
        let rows = stacks.map { stack in
            [String(stack.listedIndex), stack.seriesNumber.map(String.init) ?? "-", shown(stack.modality ?? "-"), String(stack.imageCount),
             stack.size.map { $0.map(String.init).joined(separator: "×") } ?? "-", stack.plane.rawValue, shown(stack.seriesDescription ?? "")]
        }
        let lines = tableLines(header: header, rows: rows)
        print(lines[0])
        let indent = String(repeating: " ", count: ([header] + rows).map { $0[0].count }.max()! + 2)
        for (stack, line) in zip(stacks, lines.dropFirst()) {
            print(line)
            print("\(indent)\(shown(stack.seriesInstanceUID)) · \(shown(stack.storedPixels))")
            if stack.listedIsSplit { print("\(indent)formed: \(shown(stack.listedFormation))") }
            if let problem = stack.listedProblem { print("\(indent)cannot be loaded: \(shown(problem))") }
            for warning in stack.listedWarnings { print("\(indent)warning: \(shown(warning))") }
        }
        if !skipped.isEmpty {
            print(shown("\(skipped.count) of \(examinedFiles) files skipped: \(StackListing.skippedSummary(skipped))"))
        }
    }
}

/// What `series` lists of a stack, from a scan (``DICOMStack``) or from an archive index (``IndexedStack``).
protocol ListedStack {
    var listedIndex: Int { get }
    var seriesInstanceUID: String { get }
    var seriesNumber: Int? { get }
    var modality: String? { get }
    var seriesDescription: String? { get }
    var studyInstanceUID: String? { get }
    var studyDate: String? { get }
    var patientID: String? { get }
    var imageCount: Int { get }
    var fileCount: Int { get }
    var size: [Int]? { get }
    var listedSpacing: [Double]? { get }
    var listedOrientation: String? { get }
    var plane: ImagePlane { get }
    var storedPixels: String { get }
    /// The formation's description, and whether the stack is part of a series only.
    var listedFormation: String { get }
    var listedIsSplit: Bool { get }
    /// The warnings' descriptions.
    var listedWarnings: [String] { get }
    /// ``StackState/problemDescription``, and the state's name in `--json`.
    var listedProblem: String? { get }
    var listedState: String { get }
    /// What dcm2niix's `%p`, `%t` and `%e` name fields take: Protocol Name, Study Time, Echo Number.
    var protocolName: String? { get }
    var studyTime: String? { get }
    var echoNumber: Int? { get }
}

extension DICOMStack: ListedStack {
    var listedIndex: Int { index }
    var listedSpacing: [Double]? { geometry.map { [$0.spacing.x, $0.spacing.y, $0.spacing.z] } }
    var listedOrientation: String? { geometry?.orientationCode }
    var listedFormation: String { formation.description }
    var listedIsSplit: Bool { formation.isSplit }
    var listedWarnings: [String] { warnings.map(\.description) }
    var listedProblem: String? { state.problemDescription }
    var listedState: String { StackListing.stateName(state) }
    var protocolName: String? { firstHeader.string(DICOMTag(0x0018, 0x1030)) }
    var studyTime: String? { firstHeader.string(.studyTime) }
    var echoNumber: Int? { firstHeader.int(.echoNumbers) }
}

extension IndexedStack: ListedStack {
    var listedIndex: Int { position }
    var listedSpacing: [Double]? { spacing }
    var listedOrientation: String? { orientation }
    var listedFormation: String { formation }
    var listedIsSplit: Bool { isSplit }
    var listedWarnings: [String] { warnings }
    var listedProblem: String? { problem }
    /// A stack with a problem but a size has headers that make a volume and pixel data that cannot be
    /// decoded (``StackState/undecodablePixels(geometry:error:)``).
    var listedState: String { problem == nil ? "volume" : (size == nil ? "noVolume" : "undecodablePixels") }
}

extension Series {
    /// Lists a DICOMDIR's series from its records, without opening the image files.
    private func listDirectoryRecords(_ path: String) throws {
        let directory = try DICOMDirectory(path: path)
        let series = directory.series
        let missing = series.flatMap(\.missingFiles)
        if json {
            var object = JSONObject()
            object["source"] = .string("DICOMDIR records (image files not opened)")
            // A record lists a series; the stacks inside it (a localizer, magnitude and phase) show only
            // once the files' headers are read.
            object["entries"] = .string("series (not split into stacks; --open-files reads the image headers and lists real stacks)")
            object["stacks"] = .array(series.enumerated().map { index, entry in StackJSON.directorySeries(entry, index: index + 1) })
            object["skipped"] = .array(missing.map { .object(["path": .string($0), "reason": .string("referenced by \(path) but missing")]) })
            print(JSONValue.object(object).prettyText)
            return
        }
        let header = ["#", "Series", "Modality", "Images", "Rows×Cols", "Patient", "Study date", "Description"]
        let rows = series.enumerated().map { index, entry in
            [String(index + 1), entry.seriesNumber.map(String.init) ?? "-", shown(entry.modality ?? "-"), String(entry.imageCount),
             entry.rows.flatMap { r in entry.columns.map { "\(r)×\($0)" } } ?? "-", shown(entry.patientID ?? "-"), shown(entry.studyDate ?? "-"),
             shown(entry.seriesDescription ?? "")]
        }
        tableLines(header: header, rows: rows).forEach { print($0) }
        print("listed from the DICOMDIR's records (\(series.reduce(0) { $0 + $1.imageCount }) images, no image file opened): one row per series, not split into stacks; --open-files reads the headers and lists the real stacks")
        if !missing.isEmpty { print("\(missing.count) referenced files are missing, e.g. \(shown(missing[0]))") }
    }

    /// The header and the rows as lines of columns padded to their widest cell.
    private func tableLines(header: [String], rows: [[String]]) -> [String] {
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max()! }
        return ([header] + rows).map { row in
            row.enumerated().map { $1.padding(to: widths[$0]) }.joined(separator: "  ").trimmingTrailingSpaces()
        }
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var text = self
        while text.hasSuffix(" ") { text.removeLast() }
        return text
    }

    func padding(to width: Int) -> String { self + String(repeating: " ", count: max(0, width - count)) }
}

/// The JSON shapes of `series --json` and the stack part of `info --json`.
enum StackJSON {
    static func listing(_ scan: DICOMScan) -> JSONValue {
        listing(stacks: scan.stacks, skipped: scan.skipped, examinedFiles: scan.examinedFileCount)
    }

    static func listing(stacks: [any ListedStack], skipped: [SkippedFile], examinedFiles: Int) -> JSONValue {
        var object = JSONObject()
        object["stacks"] = .array(stacks.map(stack))
        object["skipped"] = .array(skipped.map { .object(["path": .string($0.path), "reason": .string($0.reason)]) })
        object["examinedFiles"] = .integer(examinedFiles)
        return .object(object)
    }

    /// A DICOMDIR series record in the shape of a stack entry: what the records know, the rest null.
    static func directorySeries(_ series: DirectorySeries, index: Int) -> JSONValue {
        var object = JSONObject()
        object["index"] = .integer(index)
        object["seriesNumber"] = series.seriesNumber.map { .integer($0) } ?? .null
        object["seriesInstanceUID"] = series.seriesInstanceUID.map { .string($0) } ?? .null
        object["modality"] = series.modality.map { .string($0) } ?? .null
        object["description"] = series.seriesDescription.map { .string($0) } ?? .null
        object["imageCount"] = .integer(series.imageCount)
        object["fileCount"] = .integer(series.files.count)
        object["size"] = .null
        object["rows"] = series.rows.map { .integer($0) } ?? .null
        object["columns"] = series.columns.map { .integer($0) } ?? .null
        object["studyInstanceUID"] = series.studyInstanceUID.map { .string($0) } ?? .null
        object["patientID"] = series.patientID.map { .string($0) } ?? .null
        object["studyDate"] = series.studyDate.map { .string($0) } ?? .null
        object["formation"] = .string("series record of the DICOMDIR (image files not opened; --open-files splits stacks)")
        object["warnings"] = .array(series.missingFiles.isEmpty ? [] : [.string("\(series.missingFiles.count) referenced files missing")])
        object["problem"] = .null
        return .object(object)
    }

    static func stack(_ stack: any ListedStack) -> JSONValue {
        var object = JSONObject()
        object["index"] = .integer(stack.listedIndex)
        object["seriesNumber"] = stack.seriesNumber.map { .integer($0) } ?? .null
        object["seriesInstanceUID"] = .string(stack.seriesInstanceUID)
        object["modality"] = stack.modality.map { .string($0) } ?? .null
        object["description"] = stack.seriesDescription.map { .string($0) } ?? .null
        object["imageCount"] = .integer(stack.imageCount)
        object["fileCount"] = .integer(stack.fileCount)
        object["size"] = stack.size.map { .array($0.map { .integer($0) }) } ?? .null
        if let spacing = stack.listedSpacing, let orientation = stack.listedOrientation {
            object["spacing"] = .array(spacing.map { .number($0) })
            object["orientation"] = .string(orientation)
        }
        object["plane"] = .string(stack.plane.rawValue)
        object["storedPixels"] = .string(stack.storedPixels)
        object["studyInstanceUID"] = stack.studyInstanceUID.map { .string($0) } ?? .null
        object["patientID"] = stack.patientID.map { .string($0) } ?? .null
        object["studyDate"] = stack.studyDate.map { .string($0) } ?? .null
        object["formation"] = .string(stack.listedFormation)
        object["warnings"] = .array(stack.listedWarnings.map { .string($0) })
        object["state"] = .string(stack.listedState)
        object["problem"] = stack.listedProblem.map { .string($0) } ?? .null
        return .object(object)
    }
}
