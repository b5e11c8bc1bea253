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
