/// Writes one or more output files (or folders) so that they appear all at once or not at all.
///
/// Everything is first written into a hidden staging folder beside the first output (same file system,
/// so the final renames are atomic); `commit()` moves the pieces into place, `abort()` — or dropping the
/// transaction without committing — removes the staging folder. Existing outputs are refused unless
/// `overwrite` is set: no output is ever left half-written, and none is replaced by surprise.
/// Outputs that are files (`filesOnly`) are refused where a folder stands, overwrite or not: a file
/// format never means "replace this folder".
final class OutputTransaction {
    /// Final paths, in the order they are renamed into place (data files before the headers that name them).
    let finalPaths: [String]
    private let stagingDirectory: String
    private var finished = false

    init(outputs: [String], overwrite: Bool, filesOnly: Bool = false) throws {
        precondition(!outputs.isEmpty)
        let kinds = outputs.map { FileSystem.kind(of: $0) }
        // Folders first, then existing outputs: that order of errors, whatever the order of the outputs.
        if filesOnly, let index = kinds.firstIndex(of: .directory) {
            throw MedVolError(.invalidArgument, path: outputs[index], reason: "is a folder; give a file name")
        }
        if !overwrite, let index = kinds.firstIndex(where: { $0 != .missing }) {
            throw MedVolError(.outputExists, path: outputs[index], reason: "already exists (use --overwrite to replace it)")
        }
        finalPaths = outputs
        let parent = FileSystem.parentDirectory(of: outputs[0])
        try FileSystem.createDirectory(parent)
        stagingDirectory = try FileSystem.makeTemporaryDirectory(in: parent, prefix: ".medvol-partial-")
        for path in outputs.dropFirst() { try FileSystem.createDirectory(FileSystem.parentDirectory(of: path)) }
    }

    /// Where to write the output that will end up at `finalPath`.
    func stagingPath(for finalPath: String) -> String {
        guard let index = finalPaths.firstIndex(of: finalPath) else {
            preconditionFailure("\(finalPath) is not an output of this transaction")
        }
        // Keep the file name (ITK derives a .raw name from the .mhd name), one sub-folder per output
        // so that two outputs with the same name in different folders cannot collide.
        return "\(stagingDirectory)/\(index)/\(FileSystem.lastComponent(of: finalPath))"
    }

    /// Creates the staging sub-folders; call before writing.
    func prepare() throws {
        for index in finalPaths.indices { try FileSystem.createDirectory("\(stagingDirectory)/\(index)") }
    }

    /// Moves every staged output into place.
    func commit() throws {
        defer { finished = true; FileSystem.remove(stagingDirectory) }
        for path in finalPaths {
            let staged = stagingPath(for: path)
            guard FileSystem.exists(staged) else {
                throw MedVolError(.io, path: path, reason: "was not written")
            }
            // A folder output (a DICOM series) replaces a folder; a file never replaces a folder.
            if FileSystem.kind(of: path) == .directory {
                guard FileSystem.kind(of: staged) == .directory else {
                    throw MedVolError(.outputExists, path: path, reason: "is a folder; a file cannot replace it")
                }
                FileSystem.remove(path)
            }
            try FileSystem.rename(staged, to: path)
        }
    }

    func abort() {
        guard !finished else { return }
        finished = true
        FileSystem.remove(stagingDirectory)
    }

    deinit { abort() }

    /// Runs `body` to write the staged files, then commits; on any error nothing is left behind.
    static func write(outputs: [String], overwrite: Bool, filesOnly: Bool = false,
                      _ body: (OutputTransaction) throws -> Void) throws {
        let transaction = try OutputTransaction(outputs: outputs, overwrite: overwrite, filesOnly: filesOnly)
        do {
            try transaction.prepare()
            try body(transaction)
            try transaction.commit()
        } catch {
            transaction.abort()
            throw error
        }
    }
}
