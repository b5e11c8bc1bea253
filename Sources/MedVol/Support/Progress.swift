/// How far a long piece of work has come: `completed` of `total` units (files, slices, stacks) of `stage`.
public struct WorkProgress: Sendable, Hashable {
    /// What is being done, e.g. "exporting", "anonymizing".
    public var stage: String
    /// Units done so far.
    public var completed: Int
    /// Units in the stage.
    public var total: Int

    /// Progress of `completed` of `total` units of `stage`.
    public init(stage: String, completed: Int, total: Int) {
        self.stage = stage
        self.completed = completed
        self.total = total
    }
}

/// Progress reporting and cancellation for long reads and writes. Both are optional.
public struct WorkControl: Sendable {
    /// Called from any thread, possibly from several at once: when a stage starts, then about every 1%
    /// of its units (for some stages after every unit).
    public var progress: (@Sendable (WorkProgress) -> Void)?
    /// Checked between units of work; when set, the work stops with a `.cancelled` error.
    public var cancellation: CancellationFlag?

    /// A control with an optional progress handler and cancellation flag.
    ///
    /// - Parameters:
    ///   - progress: Called with progress reports, from any thread.
    ///   - cancellation: A flag that stops the work with a `.cancelled` error once set.
    public init(progress: (@Sendable (WorkProgress) -> Void)? = nil, cancellation: CancellationFlag? = nil) {
        self.progress = progress
        self.cancellation = cancellation
    }

    /// No progress reporting and no cancellation.
    public static let none = WorkControl()

    /// Ends the progress sequence of ``reportingProgress(bufferingNewest:)``; called when an async call
    /// that was given this control returns or throws.
    var finishReports: (@Sendable () -> Void)?

    /// A control whose progress reports arrive in `reports`, for one async call (`DICOMScan.init(paths:control:)`,
    /// `DICOMStack.load(options:)`, `DICOMStack.write(to:format:options:loadOptions:)`…): the sequence
    /// ends when that call returns or throws. When the consumer falls behind, the newest
    /// `bufferingNewest` reports are kept.
    ///
    /// ```swift
    /// let (control, reports) = WorkControl.reportingProgress()
    /// async let volume = stack.load(options: DICOMLoadOptions(control: control))
    /// for await report in reports { print(report.stage, report.completed, "of", report.total) }
    /// let loaded = try await volume
    /// ```
    public static func reportingProgress(bufferingNewest: Int = 64,
                                         cancellation: CancellationFlag? = nil) -> (control: WorkControl, reports: AsyncStream<WorkProgress>) {
        let (reports, continuation) = AsyncStream.makeStream(of: WorkProgress.self, bufferingPolicy: .bufferingNewest(bufferingNewest))
        var control = WorkControl(progress: { continuation.yield($0) }, cancellation: cancellation)
        control.finishReports = { continuation.finish() }
        return (control, reports)
    }

    func checkCancellation() throws {
        if cancellation?.isCancelled == true { throw MedVolError.cancelled }
    }

    func report(_ stage: String, _ completed: Int, of total: Int) {
        progress?(WorkProgress(stage: stage, completed: completed, total: total))
    }
}

/// Counts finished units of work and reports progress now and then.
final class ProgressCounter: Sendable {
    private let stage: String
    private let total: Int
    private let control: WorkControl
    private let done = AtomicCounter()

    init(stage: String, total: Int, control: WorkControl) {
        self.stage = stage
        self.total = total
        self.control = control
        control.report(stage, 0, of: total)
    }

    func advance() {
        let completed = done.increment()
        let step = max(1, total / 100)
        if completed % step == 0 || completed == total { control.report(stage, completed, of: total) }
    }
}
