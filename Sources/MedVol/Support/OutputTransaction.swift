#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes one or more output files (or folders) so that they appear all at once or not at all.
///
/// Everything is first written into a hidden staging folder `.medvol-partial-*` beside the first output
/// (same file system, so the final renames are atomic); `commit()` moves the pieces into place, `abort()` —
/// or dropping the transaction without committing — removes the staging folder, and the folders the
/// transaction created for its outputs when they stayed empty.
///
/// - Existing outputs are refused unless `overwrite` is set, twice: before any work, and again when each
///   output is put in place, which then creates the final name exclusively (`renameat2(RENAME_NOREPLACE)`,
///   or `link` for a file where the file system lacks it). Of two runs racing for one output, exactly one
///   wins; the other fails with "already exists" and leaves nothing.
/// - Outputs that are files (`filesOnly`) are refused where a folder stands, overwrite or not: a file
///   format never means "replace this folder".
/// - The staging folder holds a `.lock` file locked (`flock`) for the transaction's life. A staging folder
///   whose lock can be taken belongs to a process that has ended (even by SIGKILL); every new transaction
///   removes such stale folders beside its output. SIGTERM, SIGINT and SIGHUP remove the staging folders
///   of the running process at once when ``TerminationCleanup/install()`` was called.
final class OutputTransaction {
    /// Final paths, in the order they are renamed into place (data files before the headers that name them).
    let finalPaths: [String]
    private let overwrite: Bool
    private let stagingDirectory: String
    /// Folders created for the outputs, deepest last; removed again on abort when empty.
    private var createdFolders: [String] = []
    private var lockDescriptor: Int32 = -1
    private var finished = false

    static let stagingPrefix = ".medvol-partial-"
    static let lockName = ".lock"

    init(outputs: [String], overwrite: Bool, filesOnly: Bool = false) throws {
        precondition(!outputs.isEmpty)
        let kinds = outputs.map { FileSystem.kind(of: $0) }
        // Folders first, then existing outputs: that order of errors, whatever the order of the outputs.
        if filesOnly, let index = kinds.firstIndex(of: .directory) {
            throw MedVolError(.invalidArgument, path: outputs[index], reason: "is a folder; give a file name")
        }
        if !overwrite, let index = kinds.firstIndex(where: { $0 != .missing }) {
            throw Self.existsError(outputs[index])
        }
        finalPaths = outputs
        self.overwrite = overwrite
        let parent = FileSystem.parentDirectory(of: outputs[0])
        var created: [String] = []
        do {
            try FileSystem.createDirectory(parent, created: &created)
            Self.removeStaleStaging(in: parent)
            stagingDirectory = try FileSystem.makeTemporaryDirectory(in: parent, prefix: Self.stagingPrefix)
        } catch {
            Self.removeEmpty(created)
            throw error
        }
        createdFolders = created
        StagingRegistry.shared.add(stagingDirectory)
        do {
            lockDescriptor = try Self.lock(stagingDirectory)
            for path in outputs.dropFirst() {
                try FileSystem.createDirectory(FileSystem.parentDirectory(of: path), created: &createdFolders)
            }
        } catch {
            abort()
            throw error
        }
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

    /// Moves every staged output into place. Without `overwrite`, an output that appeared meanwhile
    /// (another run) is not replaced: the outputs already placed by this commit are taken back and the
    /// commit fails with "already exists".
    func commit() throws {
        try StagingRegistry.shared.whileHeld {
            var placed: [String] = []
            do {
                for path in finalPaths {
                    let staged = stagingPath(for: path)
                    guard FileSystem.exists(staged) else {
                        throw MedVolError(.io, path: path, reason: "was not written")
                    }
                    if overwrite {
                        // A folder output (a DICOM series) replaces a folder; a file never replaces a folder.
                        if FileSystem.kind(of: path) == .directory {
                            guard FileSystem.kind(of: staged) == .directory else {
                                throw MedVolError(.outputExists, path: path, reason: "is a folder; a file cannot replace it")
                            }
                            FileSystem.remove(path)
                        }
                        try FileSystem.rename(staged, to: path)
                    } else {
                        try FileSystem.renameExclusively(staged, to: path)
                    }
                    placed.append(path)
                }
            } catch {
                if !overwrite { for path in placed { FileSystem.remove(path) } }
                finishWithoutCommit()
                throw error
            }
            finished = true
            releaseStaging()
        }
    }

    func abort() {
        StagingRegistry.shared.whileHeld { finishWithoutCommit() }
    }

    private func finishWithoutCommit() {
        guard !finished else { return }
        finished = true
        releaseStaging()
        Self.removeEmpty(createdFolders)
    }

    private func releaseStaging() {
        FileSystem.remove(stagingDirectory)
        StagingRegistry.shared.remove(stagingDirectory)
        if lockDescriptor >= 0 { close(lockDescriptor); lockDescriptor = -1 }
    }

    deinit { abort() }

    /// The error `error` with a path inside the staging folder replaced by the output it stands for:
    /// "OUT.nii.gz: write failed: No space left on device", not the hidden temporary name.
    func namingFinalPath(_ error: Error) -> Error {
        guard var failure = error as? MedVolError, let path = failure.path,
              path == stagingDirectory || path.hasPrefix(stagingDirectory + "/") else { return error }
        let rest = path.dropFirst(stagingDirectory.count + 1)
        if let index = rest.split(separator: "/").first.flatMap({ Int($0) }), finalPaths.indices.contains(index) {
            failure.path = finalPaths[index]
        } else {
            failure.path = finalPaths[0]
        }
        return failure
    }

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
            throw transaction.namingFinalPath(error)
        }
    }

    static func existsError(_ path: String) -> MedVolError {
        MedVolError(.outputExists, path: path, reason: "already exists (use --overwrite to replace it)")
    }

    /// Removes the folders in `folders` (deepest last) that are empty.
    private static func removeEmpty(_ folders: [String]) {
        for folder in folders.reversed() { rmdir(folder) }
    }

    /// Creates and locks `FOLDER/.lock`; the lock lasts as long as the descriptor stays open.
    private static func lock(_ folder: String) throws -> Int32 {
        let path = "\(folder)/\(lockName)"
        let descriptor = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw MedVolError.io(folder, "create a temporary folder", errno: errno) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            close(descriptor)
            throw MedVolError.io(folder, "lock a temporary folder", errno: code)
        }
        return descriptor
    }

    /// Seconds a staging folder without a lock file is given before it counts as stale (the moment
    /// between creating the folder and its lock, or a folder left by an older medvol).
    static let unlockedStagingGrace: Double = 60

    /// Removes the staging folders in `folder` left by processes that have ended: those whose lock
    /// file can be locked, and those without a lock file older than ``unlockedStagingGrace``.
    static func removeStaleStaging(in folder: String) {
        guard let names = try? FileSystem.listDirectory(folder) else { return }
        for name in names where name.hasPrefix(stagingPrefix) {
            let path = "\(folder)/\(name)"
            guard FileSystem.kind(of: path) == .directory, !StagingRegistry.shared.contains(path) else { continue }
            let descriptor = open("\(path)/\(lockName)", O_RDONLY | O_CLOEXEC)
            if descriptor >= 0 {
                defer { close(descriptor) }
                guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else { continue }  // its owner is running
                FileSystem.remove(path)
            } else {
                var status = stat()
                guard stat(path, &status) == 0 else { continue }
                var now = timespec()
                clock_gettime(CLOCK_REALTIME, &now)
                if Double(now.tv_sec - status.st_mtim.tv_sec) > unlockedStagingGrace { FileSystem.remove(path) }
            }
        }
    }
}

/// The staging folders of this process's transactions in progress, and the lock that keeps a commit
/// whole: termination cleanup takes it, so a commit either finishes or has not begun when the process ends.
final class StagingRegistry: @unchecked Sendable {
    static let shared = StagingRegistry()
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var folders = Set<String>()

    private init() {
        mutex = .allocate(capacity: 1)
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        pthread_mutexattr_settype(&attributes, Int32(PTHREAD_MUTEX_RECURSIVE))
        pthread_mutex_init(mutex, &attributes)
        pthread_mutexattr_destroy(&attributes)
    }

    func whileHeld<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    func add(_ folder: String) { whileHeld { _ = folders.insert(folder) } }
    func remove(_ folder: String) { whileHeld { _ = folders.remove(folder) } }
    func contains(_ folder: String) -> Bool { whileHeld { folders.contains(folder) } }

    /// Takes the lock for good and removes every staging folder; the process is about to end.
    func removeAllForTermination() {
        pthread_mutex_lock(mutex)
        for folder in folders { FileSystem.remove(folder) }
        folders.removeAll()
    }
}

/// Removal of unfinished outputs when the process is asked to end (SIGTERM, SIGINT, SIGHUP).
///
/// The signal handler only writes the signal's number into a pipe; a watching thread then removes the
/// staging folders of every transaction in progress (waiting for a commit under way to finish), restores
/// the signal's default action and raises it again, so the process ends as the signal intends (exit
/// status 128 + number). SIGKILL cannot be caught: its staging folders are removed by the next
/// transaction in the same folder (see `OutputTransaction`).
public enum TerminationCleanup {
    /// The signals handled.
    public static let signals: [Int32] = [SIGTERM, SIGINT, SIGHUP]
    nonisolated(unsafe) fileprivate static var pipeWriteEnd: Int32 = -1
    nonisolated(unsafe) fileprivate static var pipeReadEnd: Int32 = -1
    nonisolated(unsafe) private static var installed = false

    /// Installs the handlers once (call it early, from the main thread).
    public static func install() {
        guard !installed else { return }
        installed = true
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { return }
        _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
        pipeReadEnd = ends[0]
        pipeWriteEnd = ends[1]
        _ = StagingRegistry.shared
        var thread = pthread_t()
        guard pthread_create(&thread, nil, { _ in
            TerminationCleanup.watch()
            return nil
        }, nil) == 0 else { return }
        pthread_detach(thread)
        for number in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                var byte = UInt8(truncatingIfNeeded: number)
                _ = write(TerminationCleanup.pipeWriteEnd, &byte, 1)
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(number, &action, nil)
        }
    }

    private static func watch() {
        var byte: UInt8 = 0
        while true {
            let got = read(pipeReadEnd, &byte, 1)
            if got == 1 { break }
            if got < 0 && errno == EINTR { continue }
            return
        }
        StagingRegistry.shared.removeAllForTermination()
        let number = Int32(byte)
        signal(number, SIG_DFL)
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        sigaddset(&unblocked, number)
        pthread_sigmask(SIG_UNBLOCK, &unblocked, nil)
        raise(number)
        // The default action ends the process; should it not, end it with the status a signal would give.
        _exit(128 + number)
    }
}
