/// A file a scan passed over, and why.
public struct SkippedFile: Sendable, Hashable {
    /// The file's path.
    public let path: String
    /// Why it was skipped: the error reading it gave, or e.g. "not a regular file".
    public let reason: String
}

/// The result of scanning DICOM input: the stacks found (each one volume) and the files skipped.
///
/// Scanning reads headers only — never pixel data — so listing an archive is cheap. Load a stack with
/// `DICOMStack.load(options:)`.
///
/// ```swift
/// let scan = try DICOMScan(paths: ["/data/CT"])
/// for stack in scan.stacks { print(stack.index, stack.seriesDescription ?? "", stack.size ?? []) }
/// let volume = try scan.stacks[0].load()
/// ```
public struct DICOMScan: Sendable {
    /// Stacks in a stable order: by series number, series UID, then size within a series.
    public let stacks: [DICOMStack]
    /// Files that were not DICOM images, with the reason.
    public let skipped: [SkippedFile]
    /// How many files were examined.
    public let examinedFileCount: Int

    /// Scans files, folders (recursively) and DICOMDIR files.
    public init(paths: [String], control: WorkControl = .none) throws {
        var candidates: [String] = []
        var skipped: [SkippedFile] = []
        for path in paths {
            switch FileSystem.kind(of: path) {
            case .missing:
                throw MedVolError.notFound(path)
            case .directory:
                candidates += try FileSystem.regularFiles(under: path)
            case .file:
                if let referenced = try DICOMDirectory.referencedFilesIfDirectory(path) {
                    candidates += referenced.files
                    skipped += referenced.missing
                } else {
                    candidates.append(path)
                }
            case .other:
                skipped.append(SkippedFile(path: path, reason: "not a regular file"))
            }
        }
        // The same file named twice (a folder and a file inside it) is scanned once.
        var seen = Set<String>()
        candidates = candidates.filter { seen.insert($0).inserted }
        try self.init(files: candidates, alreadySkipped: skipped, control: control)
    }

    private init(files: [String], alreadySkipped: [SkippedFile], control: WorkControl) throws {
        let results = try Self.readHeaders(of: files, control: control)
        self.init(files: files, outcomes: results, alreadySkipped: alreadySkipped)
    }

    /// Reads the headers of `files` in parallel (never their pixel data): one outcome per file, in order.
    static func readHeaders(of files: [String], control: WorkControl = .none) throws -> [ScanOutcome] {
        let total = files.count
        let progress = ProgressCounter(stage: "scanning", total: total, control: control)
        return try Parallel.map(total) { index in
            try control.checkCancellation()
            defer { progress.advance() }
            return Self.scanFile(files[index], fileIndex: index)
        }
    }

    /// Stacks formed from headers already read (`outcomes[i]` is `files[i]`'s, read by ``readHeaders(of:control:)``
    /// in any order): the same stacks a scan of `files` gives.
    init(files: [String], outcomes unnumbered: [ScanOutcome], alreadySkipped: [SkippedFile] = []) {
        let total = files.count
        // Each frame names its file by position in `files`.
        let results = unnumbered.enumerated().map { index, outcome -> ScanOutcome in
            guard case .image(let header, var frames, let problem, let warning) = outcome else { return outcome }
            for frame in frames.indices { frames[frame].fileIndex = index }
            return .image(header, frames, pixelProblem: problem, pixelWarning: warning)
        }
        var headers: [DICOMFile?] = Array(repeating: nil, count: total)
        var pixelProblems: [Int: String] = [:]
        var pixelWarnings: [Int: String] = [:]
        var frames: [DICOMFrame] = []
        var skipped = alreadySkipped
        for (index, outcome) in results.enumerated() {
            switch outcome {
            case .image(let header, let fileFrames, let pixelProblem, let pixelWarning):
                headers[index] = header
                pixelProblems[index] = pixelProblem
                pixelWarnings[index] = pixelWarning
                frames += fileFrames
            case .skipped(let reason):
                skipped.append(SkippedFile(path: files[index], reason: reason))
            }
        }
        let table = FileTable(headers: headers, pixelProblems: pixelProblems, pixelWarnings: pixelWarnings)
        self.stacks = StackGrouping.stacks(from: frames, files: table)
        self.skipped = skipped
        self.examinedFileCount = total
    }

    enum ScanOutcome: Sendable {
        /// An image file, why it cannot be read when its headers show it, and what is odd about its pixel
        /// data when they can still be read safely.
        case image(DICOMFile, [DICOMFrame], pixelProblem: String?, pixelWarning: String? = nil)
        case skipped(String)
    }

    /// Reads one file's header and its frames; any failure becomes a reason to skip the file.
    static func scanFile(_ path: String, fileIndex: Int) -> ScanOutcome {
        do {
            let file = try ReadableFile(path: path)
            let header = try DICOMFile.read(file: file, extent: .headerOnly, pixelDataMayBeShort: true).compacted()
            if header.isDirectory { return .skipped("DICOMDIR (a file-set directory; give its path to read through it)") }
            guard let pixelData = header.pixelDataElement else {
                return .skipped("not an image: \(sopClassName(header.sopClassUID)) has no Pixel Data")
            }
            let frames = try FrameExtraction.frames(of: header, fileIndex: fileIndex)
            if let problem = FrameExtraction.valueProblem(header.dataSet) {
                return .image(header, frames, pixelProblem: problem)
            }
            let frameCount = Set(frames.map(\.frameNumber)).count
            // Short pixel data (the file cut inside them, or fewer bytes than the frames need) fail the
            // file's stack: leaving the file out would silently drop its slices.
            if case .deferred(let offset, let length) = pixelData.value, header.inflatedDataSet == nil, offset + length > file.size {
                return .image(header, frames, pixelProblem: "pixel data truncated: \(max(0, file.size - offset)) of \(length) bytes present")
            }
            let pixelWarning: String?
            do {
                pixelWarning = try checkPixelDataLength(pixelData, header: header, format: frames[0].format, frameCount: frameCount)
            } catch let error as MedVolError {
                return .image(header, frames, pixelProblem: error.reason)
            }
            // Encapsulated frames: item headers and codestream headers only (a few KiB per frame).
            let pixelProblem = try EncapsulatedPixelData.problem(header: header, opened: file, format: frames[0].format, frameCount: frameCount)
            return .image(header, frames, pixelProblem: pixelProblem.map { "pixel data cannot be decoded: \($0)" },
                          pixelWarning: pixelWarning)
        } catch let error as MedVolError {
            return .skipped(error.reason)
        } catch {
            return .skipped("\(error)")
        }
    }

    /// Native pixel data must hold every frame (that they lie inside the file, the parser has checked).
    /// Longer ones (beyond the one padding byte that makes an odd size even), or of odd length, can be
    /// read safely — the frames are at the start — and give the warning returned.
    private static func checkPixelDataLength(_ element: DICOMElement, header: DICOMFile, format: StoredPixelFormat,
                                             frameCount: Int) throws -> String? {
        guard case .deferred(_, let length) = element.value else { return nil }
        let expected = format.bitsAllocated == 1
            ? (format.samplesPerFrame * frameCount + 7) / 8
            : format.nativeBytesPerFrame * frameCount
        if length < expected {
            throw MedVolError.corrupt(header.path, "pixel data hold \(length) bytes, \(expected) needed for \(frameCount) frame(s) of \(format.columns)×\(format.rows) \(format.summary)")
        }
        let padded = expected + expected % 2
        guard length != padded else { return nil }
        let extra = length - expected
        return "pixel data hold \(length) bytes, \(expected) needed for \(frameCount) frame(s) of \(format.columns)×\(format.rows) \(format.summary)"
            + (length % 2 == 1 ? " (an odd length)" : "") + "; the last \(extra) byte\(extra == 1 ? "" : "s") are ignored"
    }

    /// The stack chosen by `selector`: its index as listed (1-based), or a SeriesInstanceUID that names
    /// exactly one stack. Throws, listing the stacks, when nothing or several match.
    public func stack(matching selector: String) throws -> DICOMStack {
        if let index = Int(selector) {
            guard let stack = stacks.first(where: { $0.index == index }) else {
                throw MedVolError(.invalidArgument, reason: "no stack \(index); stacks are numbered 1…\(stacks.count)")
            }
            return stack
        }
        let matches = stacks.filter { $0.seriesInstanceUID == selector }
        if matches.count == 1 { return matches[0] }
        if matches.isEmpty {
            throw MedVolError(.invalidArgument, reason: "no stack has SeriesInstanceUID \(selector)")
        }
        throw MedVolError(.ambiguousInput, reason: "series \(selector) gives \(matches.count) stacks (\(matches.map { "#\($0.index)" }.joined(separator: ", "))); choose one by index")
    }
}

/// The headers of the scanned files, shared by the stacks (index = the frames' `fileIndex`).
final class FileTable: Sendable {
    let headers: [DICOMFile?]
    /// Why a file's pixel data cannot be decoded (by file index), when its headers already show it.
    let pixelProblems: [Int: String]
    /// What is wrong but harmless about a file's pixel data (by file index): more bytes than its frames need.
    let pixelWarnings: [Int: String]
    init(headers: [DICOMFile?], pixelProblems: [Int: String] = [:], pixelWarnings: [Int: String] = [:]) {
        self.headers = headers
        self.pixelProblems = pixelProblems
        self.pixelWarnings = pixelWarnings
    }
    subscript(index: Int) -> DICOMFile { headers[index]! }
}

/// The name of a SOP class ("CT Image Storage"), or its UID when GDCM does not know it.
func sopClassName(_ uid: String?) -> String {
    guard let uid else { return "a file without SOP Class UID" }
    return uidName(uid) ?? uid
}

/// GDCM's name for a UID, or medvol's for the transfer syntaxes GDCM 3.0 does not know (HTJ2K).
func uidName(_ uid: String) -> String? {
    DICOMDictionary.shared.uidName(uid) ?? TransferSyntax.knownName(uid)
}
