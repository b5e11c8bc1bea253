#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import MedVol

/// `--max-memory`, `--allow-outside-references` and the codec options, for every command that reads an input.
struct ReadingOptions: ParsableArguments {
    @Option(name: .customLong("max-memory"),
            help: ArgumentHelp("The most memory one buffer sized by an input's headers may take (a volume's voxels, an inflated DICOM data set): bytes, or with K, M, G, T (powers of 1024). Default 2G.",
                               valueName: "size"),
            transform: { text in
                guard let bytes = ReadingLimits.parseSize(text) else {
                    throw ValidationError("--max-memory takes a size such as 512M or 4G, not \"\(text)\"")
                }
                return bytes
            })
    var maxMemory: Int?

    @Flag(name: .customLong("allow-outside-references"),
          help: "Read data files (MetaImage ElementDataFile, NRRD data file) and DICOMDIR references that lie outside the input's folder.")
    var allowOutsideReferences = false

    /// Where JPEG-family frames are decoded.
    enum CodecPlace: String, ExpressibleByArgument, CaseIterable {
        case workers
        case inProcess = "in-process"
    }

    @Option(name: .customLong("codec-isolation"),
            help: ArgumentHelp("Where JPEG, JPEG-LS and JPEG 2000 frames are decoded: workers (separate processes, the default: a damaged stream cannot crash or hang medvol) or in-process (faster to debug, unsafe on damaged data).",
                               valueName: "workers|in-process"))
    var codecPlace: CodecPlace?

    @Option(name: .customLong("codec-timeout"),
            help: ArgumentHelp("Seconds one frame may take in a worker before it is stopped (default: 30, plus 1 per 4 MiB of decoded frame).",
                               valueName: "seconds"),
            transform: { text in
                guard let seconds = Double(text), seconds > 0, seconds.isFinite else {
                    throw ValidationError("--codec-timeout takes a number of seconds above 0, not \"\(text)\"")
                }
                return seconds
            })
    var codecTimeout: Double?

    /// Where compressed frames are decoded: `--codec-isolation` and `--codec-timeout`, else the
    /// environment (`MEDVOL_CODEC_ISOLATION=0` decodes in process, `MEDVOL_CODEC_TIMEOUT=SECONDS`), else
    /// workers with the default time limit.
    var codecIsolation: CodecIsolation {
        func environmentValue(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }
        let place = codecPlace ?? (environmentValue("MEDVOL_CODEC_ISOLATION") == "0" ? .inProcess : .workers)
        if place == .inProcess { return .inProcess }
        let timeout = codecTimeout ?? environmentValue("MEDVOL_CODEC_TIMEOUT").flatMap(Double.init).flatMap { $0 > 0 ? $0 : nil }
        return .isolated(timeout: timeout)
    }

    /// Sets the library's limits for this run.
    func apply() {
        ReadingLimits.maximumMemory = maxMemory ?? ReadingLimits.defaultMaximumMemory
        ReadingLimits.allowsOutsideReferences = allowOutsideReferences
    }
}

/// A command that reads inputs, with the limits set by ``ReadingOptions``.
protocol ReadsInputs {
    var reading: ReadingOptions { get }
}

extension Convert: ReadsInputs {}
extension Info: ReadsInputs {}
extension Series: ReadsInputs {}
extension Dump: ReadsInputs {}
extension Export: ReadsInputs {}
extension Preview: ReadsInputs {}
extension Anonymize: ReadsInputs {}
