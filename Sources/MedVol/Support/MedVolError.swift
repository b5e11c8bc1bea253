/// The one error type of MedVol: what failed, for which file, and why.
///
/// Printed, it reads `PATH: REASON` (or just `REASON` when no file is involved), which is what the
/// command-line tool shows after `medvol: error: `.
public struct MedVolError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is, for code that wants to react to it.
    ///
    /// A closed set: codes are compared with `==` or matched in a `switch` against the static members
    /// (`case .notFound:`); there is no way to make a code of one's own. Printed, a code is its name
    /// ("notFound", "corruptFile", …), which is what the command-line tool shows.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: String, Hashable, Sendable {
            case notFound, unrecognizedFormat, corruptFile, unsupported, io, inconsistentSeries
            case ambiguousInput, noImages, outputExists, invalidArgument, cancelled
        }

        private let wrapped: Wrapped

        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// The code's name, e.g. "notFound".
        public var description: String { wrapped.rawValue }

        /// The path does not exist.
        public static let notFound = Code(.notFound)
        /// The file is not in the format expected (not DICOM, not NumPy, …).
        public static let unrecognizedFormat = Code(.unrecognizedFormat)
        /// The file is damaged: truncated, impossible lengths, undecodable pixel data.
        public static let corruptFile = Code(.corruptFile)
        /// The file is valid but uses something medvol does not support.
        public static let unsupported = Code(.unsupported)
        /// Reading or writing failed at the operating-system level.
        public static let io = Code(.io)
        /// The images do not make one consistent volume (counts per position differ, …).
        public static let inconsistentSeries = Code(.inconsistentSeries)
        /// The input holds several stacks and none was chosen.
        public static let ambiguousInput = Code(.ambiguousInput)
        /// No image was found in the input.
        public static let noImages = Code(.noImages)
        /// The output exists and overwriting was not allowed.
        public static let outputExists = Code(.outputExists)
        /// A caller passed something unusable.
        public static let invalidArgument = Code(.invalidArgument)
        /// The work was cancelled.
        public static let cancelled = Code(.cancelled)
    }

    /// What kind of failure this is.
    public var code: Code
    /// The file or folder concerned, when there is one.
    public var path: String?
    /// Why it failed, in words for a person.
    public var reason: String
    /// The error underneath, if one caused this.
    public var underlying: (any Error & Sendable)?

    /// An error of kind `code`.
    ///
    /// - Parameters:
    ///   - code: What kind of failure this is.
    ///   - path: The file or folder concerned, if any.
    ///   - reason: Why it failed, in words for a person.
    ///   - underlying: The error underneath, if one caused this.
    public init(_ code: Code, path: String? = nil, reason: String, underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.path = path
        self.reason = reason
        self.underlying = underlying
    }

    /// `PATH: REASON`, or `REASON` when no file is involved.
    public var description: String {
        // A path is shown escaped: a file name cannot move the cursor or forge a line of output.
        if let path { return "\(TextEscaping.escapingControlCharacters(path)): \(reason)" }
        return reason
    }

    /// The same error, naming `path` if it named no file yet.
    func at(_ path: String) -> MedVolError {
        var copy = self
        if copy.path == nil { copy.path = path }
        return copy
    }
}

extension MedVolError {
    static func notFound(_ path: String) -> MedVolError {
        MedVolError(.notFound, path: path, reason: "no such file or folder")
    }

    static func corrupt(_ path: String?, _ reason: String) -> MedVolError {
        MedVolError(.corruptFile, path: path, reason: reason)
    }

    static func unsupported(_ path: String?, _ reason: String) -> MedVolError {
        MedVolError(.unsupported, path: path, reason: reason)
    }

    static func io(_ path: String?, _ operation: String, errno code: Int32) -> MedVolError {
        MedVolError(.io, path: path, reason: "\(operation) failed: \(systemErrorMessage(code))")
    }

    static let cancelled = MedVolError(.cancelled, reason: "cancelled")
}

/// The text of a fixed-size C character array (a tuple imported from C, such as a bridge status's
/// message), up to its first NUL.
func fixedCString<Characters>(_ characters: Characters) -> String {
    withUnsafeBytes(of: characters) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
}
