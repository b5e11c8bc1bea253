import ArgumentParser
import MedVol

/// `medvol anonymize`: PS3.15 basic-profile de-identification of a DICOM file or folder tree.
struct Anonymize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "De-identify DICOM files (PS3.15 Basic Application Level Confidentiality Profile).",
        discussion: """
            OUTPUT is a file for a file. For a folder it is a new tree named from the new identifiers only, \
            PSEUDONYM/study-N/series-S/IIII.dcm (N the study's place among the patient's studies, S the Series \
            Number, IIII the Instance Number; "-K" added where one repeats), the same tree on every run; \
            --keep-names mirrors the input's relative paths instead, except that every file or folder name \
            holding an original identifier (a name part, ID, accession number, date or UID of any input file) \
            becomes redacted-N. \
            Names, IDs, addresses, institution, station, operator and physician fields and free-text comments \
            are removed or replaced; dates become 19000101 and times 000000; private elements are removed; \
            every UID is replaced by a new 2.25 UID, the same old UID always giving the same new one, so \
            series, studies and references stay consistent; Patient IDs become ANON0001, ANON0002, … \
            Pixels and geometry are unchanged (pixel data copied byte for byte). Files that are not DICOM, \
            and DICOMDIR files, are skipped and reported (paths holding an identifier shown as [redacted]). \
            Any other element whose value still holds an original identifier becomes a dummy. Files whose \
            pixels may show burned-in text (Burned In Annotation YES, or modality US, SC, XA, …) are written \
            with a note in De-identification Method and a warning: medvol does not look at the pixels. No mapping of old to new identifiers is written \
            unless --mapping is given. INPUT is never modified; nothing is written if any file fails.
            """)

    @Argument(help: "DICOM file or folder to de-identify.")
    var input: String

    @Argument(help: "Output file (for a file) or folder (for a folder).")
    var output: String

    @Option(help: "Also write old → new UIDs and Patient IDs as JSON to this file (it re-identifies the data: keep it apart).")
    var mapping: String?

    @Flag(help: "Keep the input's file and folder names (except those holding an original identifier) instead of naming the output from the new identifiers.")
    var keepNames = false

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
                                                     mappingPath: mapping, naming: keepNames ? .keepInputNames : .fromNewIdentifiers,
                                                     control: progress.control)
        progress.finish()
        Terminal.warnings(report.skipped.map { "\($0.path): skipped: \($0.reason)" }, quiet: quiet)
        Terminal.warnings(Self.burnedInWarnings(report.files), quiet: quiet)
        var line = "anonymized \(report.files.count) file\(report.files.count == 1 ? "" : "s") into \(output)"
        if !report.skipped.isEmpty { line += ", \(report.skipped.count) skipped" }
        line += "; \(report.replacedUIDCount) UIDs replaced"
        if let mapping { line += "; mapping in \(mapping)" }
        Terminal.summary(line, since: started, quiet: quiet)
    }

    /// One warning per reason for files whose pixels may show identifying text, naming the first output
    /// (never an input path: it may hold an identifier) and how many there are.
    static func burnedInWarnings(_ files: [DICOMAnonymizationReport.File]) -> [String] {
        var byReason: [(reason: String, files: [String])] = []
        for file in files {
            guard let reason = file.burnedInAnnotation else { continue }
            if let index = byReason.firstIndex(where: { $0.reason == reason }) {
                byReason[index].files.append(file.output)
            } else {
                byReason.append((reason, [file.output]))
            }
        }
        return byReason.map { group in
            let others = group.files.count - 1
            let more = others == 0 ? "" : " and \(others) other file\(others == 1 ? "" : "s")"
            return "\(group.files[0])\(more): pixels not checked for burned-in text (\(group.reason)); review them before sharing"
        }
    }
}
