import ArgumentParser
import MedVol

#if canImport(Glibc)
import Glibc
#endif

/// The `medvol` command: converts and inspects medical volumes.
struct MedVolCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "medvol",
        abstract: "Assemble 3D/4D medical volumes from DICOM and convert between DICOM, MetaImage, NumPy, NIfTI and NRRD.",
        discussion: """
            Geometry is kept exactly: LPS millimetres, ITK's direction convention, slices sorted along the \
            slice normal. Exit status: 0 success, 1 failure, 2 bad usage, 3 some stacks converted and some failed.
            """,
        version: "0.1.0",
        subcommands: [Convert.self, Info.self, Series.self, IndexCommand.self, Dump.self, Export.self, Preview.self, Anonymize.self, PhantomCommand.self]
    )
}

/// Runs the command with medvol's error discipline: `medvol: error: PATH: REASON` on stderr, exit 1 for
/// failures, exit 2 for bad usage, never a stack trace.
@main
enum Main {
    static func main() {
        Terminal.claimStandardError()
        // SIGTERM, SIGINT and SIGHUP remove the unfinished outputs of this run before it ends.
        TerminationCleanup.install()
        var command: ParsableCommand?
        do {
            command = try MedVolCommand.parseAsRoot()
            (command as? ReadsInputs)?.reading.apply()
            try command?.run()
        } catch var error as MedVolError {
            // Every error names a path: one that names no file is about the command's input.
            if error.path == nil, let inputs = (command as? NamesItsInput)?.inputPaths, !inputs.isEmpty {
                error.path = describeInputs(inputs)
            }
            Terminal.error(error.description, listsStacks: error.code == .ambiguousInput)
            exit(1)
        } catch let exit as ExitCode {
            Glibc.exit(exit.rawValue)
        } catch {
            let code = MedVolCommand.exitCode(for: error)
            if code == .success {
                print(MedVolCommand.fullMessage(for: error))
                exit(0)
            }
            // Bad usage: the parser's message as a medvol error, then its usage lines.
            Terminal.error(MedVolCommand.message(for: error))
            let details = MedVolCommand.fullMessage(for: error).split(separator: "\n", omittingEmptySubsequences: false).dropFirst()
            Terminal.lines(details.map(String.init))
            exit(2)
        }
    }
}

/// A command whose failures that name no file are reported against its input (`medvol: error: PATH: …`).
protocol NamesItsInput {
    /// The input path(s) the command works on.
    var inputPaths: [String] { get }
}

extension Convert: NamesItsInput { var inputPaths: [String] { indexPath.map { [$0] } ?? Array(paths.dropLast()) } }
extension Export: NamesItsInput { var inputPaths: [String] { Array(paths.dropLast()) } }
extension Preview: NamesItsInput { var inputPaths: [String] { Array(paths.dropLast()) } }
extension Info: NamesItsInput { var inputPaths: [String] { inputs } }
extension Series: NamesItsInput { var inputPaths: [String] { inputs } }
extension Dump: NamesItsInput { var inputPaths: [String] { [file] } }
extension Anonymize: NamesItsInput { var inputPaths: [String] { [input] } }
extension PhantomCommand: NamesItsInput { var inputPaths: [String] { [output] } }
