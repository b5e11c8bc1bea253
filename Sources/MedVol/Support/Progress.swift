/// How far a long piece of work has come: `completed` of `total` units (files, slices, stacks) of `stage`.
public struct WorkProgress: Sendable, Hashable {
    public var stage: String
    public var completed: Int
    public var total: Int

    public init(stage: String, completed: Int, total: Int) {
        self.stage = stage
        self.completed = completed
        self.total = total
    }
}

/// Progress reporting and cancellation for long reads and writes. Both are optional.
public struct WorkControl: Sendable {
    /// Called from any thread, at most every few milliseconds per stage.
    public var progress: (@Sendable (WorkProgress) -> Void)?
    /// Checked between units of work; when set, the work stops with a `.cancelled` error.
    public var cancellation: CancellationFlag?

    public init(progress: (@Sendable (WorkProgress) -> Void)? = nil, cancellation: CancellationFlag? = nil) {
        self.progress = progress
        self.cancellation = cancellation
    }

    public static let none = WorkControl()

    func checkCancellation() throws {
        if cancellation?.isCancelled == true { throw MedVolError.cancelled }
    }

    func report(_ stage: String, _ completed: Int, of total: Int) {
        progress?(WorkProgress(stage: stage, completed: completed, total: total))
    }
}
