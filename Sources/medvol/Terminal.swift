import MedVol

#if canImport(Glibc)
import Glibc
#endif

/// Every line medvol prints on stdout goes through here: control characters from files (a Series
/// Description holding ESC [ 31m, a bell, a carriage return) come out escaped, as `dump` shows them.
/// Lines made of several lines keep their line breaks; the values put into them are escaped whole with
/// ``shown(_:)``. Shadows `Swift.print` for the whole CLI.
func print(_ text: String, terminator: String = "\n") {
    Swift.print(TextEscaping.escapingControlCharacters(text, keepingLineBreaks: true), terminator: terminator)
}

/// A value from a file as it is put into a line of output: control characters escaped, line breaks too.
func shown(_ value: String) -> String { TextEscaping.escapingControlCharacters(value) }

/// Writing to stderr, and a progress line for long work when stderr is a terminal. Errors, warnings and
/// summaries are escaped (``TextEscaping``); only the progress line writes control characters.
enum Terminal {
    /// medvol's own stderr: a copy of descriptor 2 made at start-up (``claimStandardError()``), so that
    /// nothing a library does to descriptor 2 (or C's `stderr`) during a call can take medvol's lines.
    nonisolated(unsafe) private static var standardError: Int32 = 2

    /// Takes the copy of descriptor 2 that medvol writes to; call once, first thing.
    static func claimStandardError() {
        let copy = fcntl(2, F_DUPFD_CLOEXEC, 3)
        if copy >= 0 { standardError = copy }
    }

    static func write(_ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let wrote = bytes.withUnsafeMutableBytes { Glibc.write(standardError, $0.baseAddress! + offset, $0.count - offset) }
            if wrote <= 0 { break }
            offset += wrote
        }
    }

    /// The error line, escaped whole, so that no value in a reason can start a line of its own — unless
    /// `listsStacks`: the errors that list stacks on further lines (built by `chooseStack` from
    /// ``shown(_:)`` values) keep those line breaks.
    static func error(_ message: String, listsStacks: Bool = false) {
        write("medvol: error: \(TextEscaping.escapingControlCharacters(message, keepingLineBreaks: listsStacks))\n")
    }
    static func warning(_ message: String) { write("medvol: warning: \(shown(message))\n") }
    /// Lines of a report, each escaped whole.
    static func lines(_ lines: [String]) {
        guard !lines.isEmpty else { return }
        write(lines.map(shown).joined(separator: "\n") + "\n")
    }

    /// Each warning on its own `medvol: warning:` line, unless `quiet`.
    static func warnings(_ messages: [String], quiet: Bool) {
        guard !quiet else { return }
        for message in messages { warning(message) }
    }

    /// The closing line of a command, "medvol: TEXT in 1.23 s", unless `quiet`.
    static func summary(_ text: String, since started: Double, quiet: Bool) {
        guard !quiet else { return }
        write("medvol: \(shown(text)) in \(String(format2: ProgressDisplay.now() - started)) s\n")
    }

    static var stderrIsTerminal: Bool { isatty(standardError) == 1 }
}

/// Shows a progress bar with count and rate on stderr for work that lasts more than a second, when
/// stderr is a terminal and --quiet is not given. Safe to call from any thread.
final class ProgressDisplay: @unchecked Sendable {
    private let enabled: Bool
    private var lock = pthread_mutex_t()
    private var start: Double
    private var lastDraw = 0.0
    private var shown = false
    private var stage = ""
    private var stageStart = 0.0

    /// Seconds of work before the bar appears (MEDVOL_PROGRESS_AFTER overrides it, e.g. 0 in tests).
    private let delay: Double = getenv("MEDVOL_PROGRESS_AFTER").flatMap { Double(String(cString: $0)) } ?? 1.0

    init(quiet: Bool) {
        enabled = !quiet && Terminal.stderrIsTerminal
        start = Self.now()
        pthread_mutex_init(&lock, nil)
    }

    deinit { pthread_mutex_destroy(&lock) }

    /// A WorkControl that reports here.
    var control: WorkControl {
        guard enabled else { return WorkControl() }
        return WorkControl(progress: { [self] progress in self.update(progress) })
    }

    private func update(_ progress: WorkProgress) {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        let now = Self.now()
        if progress.stage != stage {
            stage = progress.stage
            stageStart = now
        }
        guard now - start >= delay, now - lastDraw > 0.1 || progress.completed == progress.total else { return }
        lastDraw = now
        shown = true
        let fraction = progress.total > 0 ? Double(progress.completed) / Double(progress.total) : 0
        let width = 30
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "=", count: filled) + (filled < width ? ">" : "") + String(repeating: " ", count: max(0, width - filled - 1))
        let elapsed = max(1e-3, now - stageStart)
        let rate = Double(progress.completed) / elapsed
        Terminal.write("\r\u{1B}[K\(progress.stage) [\(bar)] \(progress.completed)/\(progress.total) \(Int(rate))/s")
    }

    /// Clears the progress line.
    func finish() {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        if shown { Terminal.write("\r\u{1B}[K") }
        shown = false
    }

    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}

/// Phase timings on stderr when the environment sets MEDVOL_TIMINGS=1 (for profiling; off by default).
enum PhaseTimer {
    static let enabled = getenv("MEDVOL_TIMINGS").map { String(cString: $0) == "1" } ?? false
    nonisolated(unsafe) private static var last = ProgressDisplay.now()

    static func mark(_ phase: String) {
        guard enabled else { return }
        let now = ProgressDisplay.now()
        Terminal.write("medvol: timing: \(phase) \(Int((now - last) * 1000)) ms\n")
        last = now
    }
}
