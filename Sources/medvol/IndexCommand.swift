import ArgumentParser
import MedVol

/// `medvol index`: one header-only pass over an archive into an SQLite index (docs/archive-index.md).
struct IndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Index a DICOM archive into an SQLite database: every file and every stack, from headers only.",
        discussion: """
            Run again on the same archive, only files whose size or modification time changed are read again \
            (with the other files of their series), and vanished files are removed. `convert --index` and \
            `series --index` then work from the index without scanning the archive.
            """)

    @Argument(help: "The archive folder (searched recursively).")
    var archive: String

    @Option(name: .shortAndLong, help: "The index database to create or update (SQLite).")
    var output: String

    @Flag(help: "Print what the run did as JSON on stdout.")
    var json = false

    @Flag(help: "No progress or summary on stderr.")
    var quiet = false

    func run() throws {
        let progress = ProgressDisplay(quiet: quiet)
        let started = ProgressDisplay.now()
        let (_, update) = try ArchiveIndex.update(indexPath: output, archive: archive, control: progress.control)
        progress.finish()
        if json {
            var object = JSONObject()
            object["files"] = .integer(update.fileCount)
            object["headersRead"] = .integer(update.headersRead)
            object["newFiles"] = .integer(update.newFiles)
            object["changedFiles"] = .integer(update.changedFiles)
            object["removedFiles"] = .integer(update.removedFiles)
            object["stacks"] = .integer(update.stackCount)
            object["stacksRebuilt"] = .integer(update.stacksRebuilt)
            object["skippedFiles"] = .integer(update.skippedCount)
            print(JSONValue.object(object).prettyText)
        }
        Terminal.summary("indexed \(update.fileCount) files into \(output): \(update.headersRead) headers read "
                         + "(\(update.newFiles) new, \(update.changedFiles) changed, \(update.removedFiles) removed), "
                         + "\(update.stackCount) stacks (\(update.stacksRebuilt) formed again), \(update.skippedCount) files skipped",
                         since: started, quiet: quiet)
    }
}

extension IndexCommand: NamesItsInput { var inputPaths: [String] { [archive] } }

extension ExitCode {
    /// Exit status 3: some stacks were converted (in this run or an earlier one), some failed.
    static let someStacksConverted = ExitCode(3)

    /// The status of a multi-stack conversion in which some stacks failed: 3 when others were converted,
    /// 1 when none was.
    static func someStacksFailed(anyConverted: Bool) -> ExitCode { anyConverted ? someStacksConverted : ExitCode(1) }
}
