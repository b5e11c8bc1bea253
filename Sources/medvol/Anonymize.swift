import ArgumentParser
import MedVol

/// `medvol anonymize`: PS3.15 basic-profile de-identification of a DICOM file or folder tree.
struct Anonymize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "De-identify DICOM files (PS3.15 Basic Application Level Confidentiality Profile).",
        discussion: """
            OUTPUT mirrors INPUT: a file for a file, the same folder tree (one file per input file) for a folder. \
            Names, IDs, addresses, institution, station, operator and physician fields and free-text comments \
            are removed or replaced; dates become 19000101 and times 000000; private elements are removed; \
            every UID is replaced by a new 2.25 UID, the same old UID always giving the same new one, so \
            series, studies and references stay consistent; Patient IDs become ANON0001, ANON0002, … \
            Pixels and geometry are unchanged (pixel data copied byte for byte). Files that are not DICOM, \
            and DICOMDIR files, are skipped and reported. No mapping of old to new identifiers is written \
            unless --mapping is given. INPUT is never modified; nothing is written if any file fails.
            """)

    @Argument(help: "DICOM file or folder to de-identify.")
    var input: String

    @Argument(help: "Output file (for a file) or folder (for a folder).")
    var output: String

    @Option(help: "Also write old → new UIDs and Patient IDs as JSON to this file (it re-identifies the data: keep it apart).")
    var mapping: String?

    @Flag(help: "Replace an existing OUTPUT (and mapping file).")
    var overwrite = false

    @Flag(help: "No progress or summary on stderr.")
    var quiet = false

    @OptionGroup var reading: ReadingOptions

    func run() throws {
        let progress = ProgressDisplay(quiet: quiet)
        defer { progress.finish() }
        let started = ProgressDisplay.now()
        let report = try DICOMAnonymizer().anonymize(input: input, output: output, overwrite: overwrite,
                                                     mappingPath: mapping, control: progress.control)
        progress.finish()
        Terminal.warnings(report.skipped.map { "\($0.path): skipped: \($0.reason)" }, quiet: quiet)
        var line = "anonymized \(report.files.count) file\(report.files.count == 1 ? "" : "s") into \(output)"
        if !report.skipped.isEmpty { line += ", \(report.skipped.count) skipped" }
        line += "; \(report.replacedUIDCount) UIDs replaced"
        if let mapping { line += "; mapping in \(mapping)" }
        Terminal.summary(line, since: started, quiet: quiet)
    }
}
