#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The text of an errno value ("No such file or directory").
func systemErrorMessage(_ code: Int32) -> String {
    guard let text = strerror(code) else { return "error \(code)" }
    return String(cString: text)
}

/// A file opened for reading at explicit offsets (pread), closed when released.
/// Reads never move a shared file position, so one file can serve several threads.
final class ReadableFile: @unchecked Sendable {
    let path: String
    let descriptor: Int32
    /// Size in bytes when opened.
    let size: Int

    init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT { throw MedVolError.notFound(path) }
            throw MedVolError.io(path, "open", errno: code)
        }
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            let code = errno
            close(fd)
            throw MedVolError.io(path, "stat", errno: code)
        }
        if (status.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw MedVolError(.invalidArgument, path: path, reason: "is a folder, not a file")
        }
        descriptor = fd
        size = Int(status.st_size)
    }

    deinit { close(descriptor) }

    /// Reads exactly `buffer.count` bytes at `offset`; a file that ends first is reported as truncated.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws {
        var done = 0
        while done < buffer.count {
            let got = pread(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if got < 0 {
                if errno == EINTR { continue }
                throw MedVolError.io(path, "read", errno: errno)
            }
            if got == 0 {
                throw MedVolError.corrupt(path, "file ends at byte \(offset + done), \(buffer.count - done) bytes short of what its header announces")
            }
            done += got
        }
    }

    /// Reads up to `count` bytes at `offset` (fewer at the end of the file).
    func read(count: Int, at offset: Int) throws -> [UInt8] {
        let available = max(0, min(count, size - offset))
        guard available > 0 else { return [] }
        return try [UInt8](unsafeUninitializedCapacity: available) { buffer, initialized in
            try read(into: UnsafeMutableRawBufferPointer(buffer), at: offset)
            initialized = available
        }
    }

    /// The whole file.
    func readAll() throws -> [UInt8] { try read(count: size, at: 0) }
}

/// A file being written from start to end with few large writes.
final class WritableFile {
    let path: String
    private let descriptor: Int32
    private var isClosed = false

    /// Creates (or truncates) `path`.
    init(creating path: String) throws {
        self.path = path
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw MedVolError.io(path, "create", errno: errno) }
        descriptor = fd
    }

    /// Opens an existing file for writing in place (nothing is truncated).
    init(updating path: String) throws {
        self.path = path
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw MedVolError.io(path, "open", errno: errno) }
        descriptor = fd
    }

    deinit { if !isClosed { _ = systemClose(descriptor) } }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            // Linux writes at most about 2 GiB per call.
            let chunk = min(bytes.count - done, 1 << 30)
            let wrote = systemWrite(descriptor, bytes.baseAddress! + done, chunk)
            if wrote < 0 {
                if errno == EINTR { continue }
                throw MedVolError.io(path, "write", errno: errno)
            }
            done += wrote
        }
    }

    /// Writes `bytes` at `offset` (pwrite) without moving the position of sequential writes; used to
    /// fill in a header once the data after it has been written.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws {
        var done = 0
        while done < bytes.count {
            let wrote = pwrite(descriptor, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            if wrote < 0 {
                if errno == EINTR { continue }
                throw MedVolError.io(path, "write", errno: errno)
            }
            done += wrote
        }
    }

    func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    func write(_ text: String) throws {
        try write(Array(text.utf8))
    }

    func close() throws {
        guard !isClosed else { return }
        isClosed = true
        if systemClose(descriptor) != 0 { throw MedVolError.io(path, "close", errno: errno) }
    }
}

/// Small file-system helpers with errors that name the path.
enum FileSystem {
    enum Kind { case missing, file, directory, other }

    static func kind(of path: String) -> Kind {
        var status = stat()
        guard stat(path, &status) == 0 else { return .missing }
        switch status.st_mode & S_IFMT {
        case S_IFREG: return .file
        case S_IFDIR: return .directory
        default: return .other
        }
    }

    static func exists(_ path: String) -> Bool { kind(of: path) != .missing }

    /// Creates `path` and any missing parents.
    static func createDirectory(_ path: String) throws {
        var created: [String] = []
        try createDirectory(path, created: &created)
    }

    /// Creates `path` and any missing parents, appending the folders it made to `created` (parents first).
    static func createDirectory(_ path: String, created: inout [String]) throws {
        if kind(of: path) == .directory { return }
        let parent = parentDirectory(of: path)
        if !parent.isEmpty, parent != path { try createDirectory(parent, created: &created) }
        if mkdir(path, 0o755) == 0 {
            created.append(path)
        } else if errno != EEXIST {
            throw MedVolError.io(path, "create folder", errno: errno)
        }
    }

    /// Removes a file or a whole folder tree; missing paths are fine.
    static func remove(_ path: String) {
        switch kind(of: path) {
        case .missing: return
        case .directory:
            for entry in (try? listDirectory(path)) ?? [] { remove(path + "/" + entry) }
            rmdir(path)
        default:
            unlink(path)
        }
    }

    static func rename(_ from: String, to: String) throws {
        if systemRename(from, to) != 0 { throw MedVolError.io(to, "rename", errno: errno) }
    }

    /// Moves `from` to `to` unless something exists at `to` (then "already exists"), atomically:
    /// `renameat2(RENAME_NOREPLACE)`, or where the file system lacks it `link` then `unlink` for a file
    /// (a folder then gets a check followed by a rename).
    static func renameExclusively(_ from: String, to: String) throws {
        if let renameNoReplace = renameat2Function {
            if renameNoReplace(AT_FDCWD, from, AT_FDCWD, to, 1 /* RENAME_NOREPLACE */) == 0 { return }
            let code = errno
            if code == EEXIST || code == ENOTEMPTY { throw OutputTransaction.existsError(to) }
            if code != EINVAL && code != ENOSYS { throw MedVolError.io(to, "rename", errno: code) }
        }
        if kind(of: from) == .file {
            if link(from, to) == 0 { unlink(from); return }
            let code = errno
            if code == EEXIST { throw OutputTransaction.existsError(to) }
            if code != EPERM && code != ENOTSUP { throw MedVolError.io(to, "rename", errno: code) }
        }
        if exists(to) { throw OutputTransaction.existsError(to) }
        try rename(from, to: to)
    }

    private typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
    /// glibc's renameat2 (2.28 and later), which the Swift Glibc module does not import.
    private static let renameat2Function: RenameAt2? = {
        guard let symbol = dlsym(nil, "renameat2") else { return nil }
        return unsafeBitCast(symbol, to: RenameAt2.self)
    }()

    private static let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!

    /// Names in a folder (without "." and ".."), sorted for reproducible order.
    static func listDirectory(_ path: String) throws -> [String] {
        guard let directory = opendir(path) else { throw MedVolError.io(path, "open folder", errno: errno) }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            // The name is read where it lies: the last entry of readdir's buffer may be shorter than a
            // whole `dirent`, so copying `d_name` (256 bytes) out of it reads past the buffer (found by
            // AddressSanitizer).
            let name = String(cString: (UnsafeRawPointer(entry) + Self.nameOffset).assumingMemoryBound(to: CChar.self))
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Every regular file under `path` (recursively; symbolic links to files are followed, to folders not,
    /// so that a link cannot make the walk go round), sorted. A symbolic link loop is an error naming the link.
    static func regularFiles(under path: String) throws -> [String] {
        try regularFilesWithState(under: path).map(\.path)
    }

    static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let parent = String(path[..<slash])
        return parent.isEmpty ? "/" : parent
    }

    /// `path` made absolute against the current folder ("./" prefixes dropped); `path` itself when it
    /// is absolute already or the current folder cannot be had.
    static func absolutePath(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        guard let cwd = getcwd(nil, 0) else { return path }
        defer { free(cwd) }
        let directory = String(cString: cwd)
        var relative = Substring(path)
        while relative.hasPrefix("./") { relative = relative.dropFirst(2) }
        return directory + "/" + relative
    }

    /// Creates a new, empty folder `FOLDER/PREFIXxxxxxx` (mkdtemp) and returns its path.
    static func makeTemporaryDirectory(in folder: String, prefix: String) throws -> String {
        var template = Array("\(folder)/\(prefix)XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw MedVolError.io(folder, "create a temporary folder", errno: errno)
        }
        return String(cString: made)
    }

    static func lastComponent(of path: String) -> String {
        let trimmed = trimmingTrailingSlashes(path)
        guard let slash = trimmed.lastIndex(of: "/") else { return trimmed }
        return String(trimmed[trimmed.index(after: slash)...])
    }

    /// The path without trailing slashes ("/" stays "/").
    static func trimmingTrailingSlashes(_ path: String) -> String {
        var trimmed = path
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        return trimmed
    }
}

// The C functions under names that do not collide with the methods above.
@inline(__always) private func systemClose(_ fd: Int32) -> Int32 { close(fd) }
@inline(__always) private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int { write(fd, buffer, count) }
@inline(__always) private func systemRename(_ from: String, _ to: String) -> Int32 { rename(from, to) }

extension FileSystem {
    /// `path` itself if it exists, else the file whose path matches it ignoring case (DICOMDIR file IDs
    /// are upper case; file systems and copies do not always keep them so).
    static func caseInsensitiveMatch(_ path: String) -> String? {
        if kind(of: path) == .file { return path }
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/").map(String.init) where !component.isEmpty {
            if component == "." { continue }
            let candidate = current.isEmpty ? "/" + component : current + "/" + component
            if exists(candidate) { current = candidate; continue }
            let folder = current.isEmpty ? "/" : current
            guard let match = (try? listDirectory(folder))?.first(where: { $0.lowercased() == component.lowercased() }) else {
                return nil
            }
            current = current.isEmpty ? "/" + match : current + "/" + match
        }
        return kind(of: current) == .file ? current : nil
    }
}

extension FileSystem {
    /// What is wrong with a file that an input names (a detached data file, a DICOMDIR reference).
    enum ReferenceProblem: Equatable {
        case missing
        /// A symbolic link that leads back to itself.
        case linkLoop
        /// Not a regular file: "a FIFO", "a folder", "a character device", …
        case notRegular(String)
        /// Resolves (through `..` or symbolic links) outside the folder it must stay in.
        case outside

        /// The reason in an error about `file`, named by an input in `folder`: "its data file X is a FIFO…".
        func reason(subject: String, file: String, folder: String) -> String {
            switch self {
            case .missing: "\(subject) \(file) is missing"
            case .linkLoop: "\(subject) \(file) is a symbolic link loop"
            case .notRegular(let kind): "\(subject) \(file) is not a regular file (\(kind))"
            case .outside: "\(subject) \(file) is outside the folder \(folder) (allow it with --allow-outside-references)"
            }
        }
    }

    /// nil when `path` is a regular file (after symbolic links) that lies inside `folder` (or outside
    /// references are allowed, ``ReadingLimits/allowsOutsideReferences``); else what is wrong with it.
    /// Checked before a file is opened: opening a FIFO for reading blocks until a writer comes.
    static func referenceProblem(_ path: String, within folder: String) -> ReferenceProblem? {
        var status = stat()
        guard stat(path, &status) == 0 else { return errno == ELOOP ? .linkLoop : .missing }
        switch status.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFIFO: return .notRegular("a FIFO")
        case S_IFDIR: return .notRegular("a folder")
        case S_IFCHR: return .notRegular("a character device")
        case S_IFBLK: return .notRegular("a block device")
        case S_IFSOCK: return .notRegular("a socket")
        default: return .notRegular("not a file")
        }
        if ReadingLimits.allowsOutsideReferences { return nil }
        guard let resolved = resolvedPath(path), let root = resolvedPath(folder) else { return .missing }
        return resolved.hasPrefix(root == "/" ? "/" : root + "/") ? nil : .outside
    }

    /// `path` with every symbolic link, `.` and `..` resolved (realpath), or nil.
    static func resolvedPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}

extension FileSystem {
    /// `regularFiles(under:)` with each file's size and modification time, from the walk's own `lstat`
    /// (a `stat` for symbolic links to files), in the same order (`sorted`), or in the walk's order.
    static func regularFilesWithState(under path: String, sorted: Bool = true) throws -> [(path: String, state: FileState)] {
        var result: [(path: String, state: FileState)] = []
        var level = [path]
        // Folder by folder, the folders of one depth in parallel (the lstat calls are most of the time).
        while !level.isEmpty {
            let folders = level
            let listed = try Parallel.map(folders.count) { index in try filesAndFolders(in: folders[index]) }
            level = []
            for (files, folders) in listed {
                result += files
                level += folders
            }
        }
        // Unsorted, the order is still the same on every walk of the same tree: folder by folder, depth
        // by depth, each folder's names sorted.
        if sorted { result.sort { $0.path < $1.path } }
        return result
    }

    /// The regular files (with their state) and the folders directly in `folder`.
    private static func filesAndFolders(in folder: String) throws -> (files: [(path: String, state: FileState)], folders: [String]) {
        var files: [(path: String, state: FileState)] = [], folders: [String] = []
        for name in try listDirectory(folder) {
            let child = folder.hasSuffix("/") ? folder + name : folder + "/" + name
            var status = stat()
            guard lstat(child, &status) == 0 else { continue }
            switch status.st_mode & S_IFMT {
            case S_IFDIR: folders.append(child)
            case S_IFREG: files.append((child, FileState(status)))
            case S_IFLNK:
                var target = stat()
                if stat(child, &target) != 0 {
                    if errno == ELOOP { throw MedVolError.corrupt(child, "symbolic link loop") }
                    continue
                }
                if target.st_mode & S_IFMT == S_IFREG { files.append((child, FileState(target))) }
            default: break
            }
        }
        return (files, folders)
    }

    /// A file's size and modification time (nanoseconds since 1970), following links.
    struct FileState: Sendable, Hashable {
        var size: Int64
        var modifiedNanoseconds: Int64

        init(_ status: stat) {
            size = Int64(status.st_size)
            modifiedNanoseconds = Int64(status.st_mtim.tv_sec) * 1_000_000_000 + Int64(status.st_mtim.tv_nsec)
        }
    }

    /// The state of the file at `path`, or nil if it is missing.
    static func state(of path: String) -> FileState? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return FileState(status)
    }
}
