import Dispatch

/// Async versions of the long calls. Each runs its synchronous counterpart on a Dispatch worker thread —
/// never on Swift concurrency's cooperative pool, which the parallel decoding would otherwise block —
/// and stops it when the calling Task is cancelled: the work checks a flag between slices (or files),
/// so it stops within one slice's time, leaves no output behind (every output is written under a
/// temporary name and renamed only when complete) and throws `CancellationError`.
enum AsyncWork {
    /// Runs `body` off the cooperative pool with a control whose cancellation follows both `control`'s
    /// flag and the current Task's cancellation; ends `control`'s progress sequence when done.
    static func run<T: Sendable>(_ control: WorkControl, _ body: @escaping @Sendable (WorkControl) throws -> T) async throws -> T {
        let flag = CancellationFlag(following: control.cancellation)
        var inner = control
        inner.cancellation = flag
        inner.finishReports = nil
        let finish = control.finishReports
        let work = inner
        defer { finish?() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                DispatchQueue.global().async {
                    do {
                        try work.checkCancellation()
                        continuation.resume(returning: try body(work))
                    } catch let error as MedVolError where error.code == .cancelled {
                        continuation.resume(throwing: CancellationError())
                    } catch {
                        continuation.resume(throwing: error)
                    }
                }
            }
        } onCancel: {
            flag.cancel()
        }
    }
}

extension DICOMScan {
    /// Scans files and folders for DICOM images, as ``init(paths:control:)`` does, off the cooperative
    /// pool; Task cancellation stops it with `CancellationError`.
    public init(paths: [String], control: WorkControl = .none) async throws {
        self = try await AsyncWork.run(control) { try DICOMScan(paths: paths, control: $0) }
    }
}

extension DICOMStack {
    /// Decodes the stack's pixels into a volume, as ``load(options:)`` does, off the cooperative pool;
    /// Task cancellation stops it with `CancellationError`.
    public func load(options: DICOMLoadOptions = DICOMLoadOptions()) async throws -> Volume {
        try await AsyncWork.run(options.control) { control in
            var options = options
            options.control = control
            return try self.load(options: options)
        }
    }

    /// Writes the stack's volume, as ``write(to:format:options:loadOptions:)`` does, off the cooperative
    /// pool; Task cancellation stops it with `CancellationError` and leaves no output.
    @discardableResult
    public func write(to path: String, format: VolumeFileFormat? = nil, options: VolumeWriteOptions = VolumeWriteOptions(),
                      loadOptions: DICOMLoadOptions = DICOMLoadOptions()) async throws -> WriteResult {
        try await AsyncWork.run(loadOptions.control) { control in
            var loadOptions = loadOptions
            loadOptions.control = control
            return try self.write(to: path, format: format, options: options, loadOptions: loadOptions)
        }
    }
}

extension Volume {
    /// Reads a volume file, as ``init(contentsOf:format:)`` does, off the cooperative pool.
    public init(contentsOf path: String, format: VolumeFileFormat? = nil) async throws {
        self = try await AsyncWork.run(.none) { _ in try Volume(contentsOf: path, format: format) }
    }

    /// Writes the volume, as ``write(to:format:options:)`` does, off the cooperative pool.
    @discardableResult
    public func write(to path: String, format: VolumeFileFormat? = nil, options: VolumeWriteOptions = .init()) async throws -> WriteResult {
        try await AsyncWork.run(.none) { _ in try self.write(to: path, format: format, options: options) }
    }

    /// Converts a volume file, as ``convert(contentsOf:sourceFormat:to:format:options:)`` does, off the
    /// cooperative pool.
    @discardableResult
    public static func convert(contentsOf source: String, sourceFormat: VolumeFileFormat? = nil, to path: String,
                               format: VolumeFileFormat? = nil, options: VolumeWriteOptions = .init()) async throws -> WriteResult {
        try await AsyncWork.run(.none) { _ in
            try Volume.convert(contentsOf: source, sourceFormat: sourceFormat, to: path, format: format, options: options)
        }
    }
}
