#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import MedVol

/// `--max-memory` and `--allow-outside-references`, for every command that reads an input.
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

    /// Where compressed frames are decoded, from the environment: `MEDVOL_CODEC_ISOLATION=0` decodes in
    /// process (faster to debug, unsafe on damaged data); `MEDVOL_CODEC_TIMEOUT=SECONDS` changes the time
    /// a frame may take in a worker process (default: 30 s, plus 1 s per 4 MiB of decoded frame).
    var codecIsolation: CodecIsolation {
        func environmentValue(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }
        if environmentValue("MEDVOL_CODEC_ISOLATION") == "0" { return .inProcess }
        let timeout = environmentValue("MEDVOL_CODEC_TIMEOUT").flatMap(Double.init).flatMap { $0 > 0 ? $0 : nil }
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
