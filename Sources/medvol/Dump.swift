import ArgumentParser
import MedVol

/// `medvol dump`: every element of one DICOM file, as text or as the DICOM JSON model.
struct Dump: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List every element of a DICOM file, like pydicom's print(ds) or gdcmdump.",
        discussion: """
            File meta information first, then the data set in tag order: (gggg,eeee) name VR value, items of \
            sequences indented under "> item n of m". Text values are shown in brackets, UIDs with their name; \
            long values are abbreviated with their full length; binary values over 16 bytes and pixel data are \
            summarised, never printed. Private elements are named from GDCM's dictionary for their creator \
            ("[CSA Image Header Info]"), else "Private tag (CREATOR)".

            --json prints the DICOM JSON model (PS3.18 Annex F) of the file meta information and the data set: \
            numbers as numbers, person names as {"Alphabetic": …}, binary values as InlineBinary (base64), \
            pixel data and values over 4 MiB as a BulkDataURI file:///PATH?offset=N&length=M (left out for \
            deflated files).
            """)

    @Argument(help: "A DICOM file.")
    var file: String

    @Flag(help: "Print the DICOM JSON model (PS3.18 Annex F).")
    var json = false

    @Option(help: ArgumentHelp("Keep only elements whose keyword or name (or private creator) contains TEXT, ignoring case; the sequences around matching elements are kept.", valueName: "text"))
    var grep: String?

    @OptionGroup var reading: ReadingOptions

    func run() throws {
        let dump = try DICOMDump(path: file, grep: grep)
        if let grep, dump.isEmpty {
            Terminal.warning("no element of \(file) matches \"\(grep)\"")
        }
        if json {
            print(dump.json.prettyText)
        } else {
            print(dump.text, terminator: "")
        }
    }
}
