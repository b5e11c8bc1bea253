import ArgumentParser
import MedVol

/// `medvol phantom`: a synthetic CT series written by medvol itself, for demos, tests and benchmarks.
struct PhantomCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "phantom",
        abstract: "Write a synthetic CT (or MR) series: body, lungs, aorta, spine, ribs — deterministic.")

    @Argument(help: "Output folder (one DICOM file per slice).")
    var output: String

    @Option(help: "Size nx,ny,nz.")
    var size: String = "256,256,64"

    @Option(help: "Spacing sx,sy,sz in mm.")
    var spacing: String = "0.7,0.7,1.25"

    @Option(help: "CT or MR.")
    var modality: String = "CT"

    @Flag(name: .customLong("unsigned-intercept"), help: "Store CT unsigned, 12 bits, with Rescale Intercept -1024 (as many scanners do).")
    var unsignedIntercept = false

    @Flag(name: .customLong("shuffle-names"), help: "Random-looking file names, so that nothing can rely on their order.")
    var shuffleNames = false

    @Flag(help: "Replace an existing output folder.")
    var overwrite = false

    @Flag(help: "No summary on stderr.")
    var quiet = false

    func validate() throws {
        guard parse(size, count: 3)?.allSatisfy({ $0 >= 1 && $0 == $0.rounded() && $0 <= 8192 }) == true else {
            throw ValidationError("--size takes three positive integers, e.g. 512,512,300")
        }
        guard parse(spacing, count: 3)?.allSatisfy({ $0 > 0 }) == true else {
            throw ValidationError("--spacing takes three positive numbers, e.g. 0.7,0.7,1.25")
        }
        guard ["CT", "MR"].contains(modality.uppercased()) else { throw ValidationError("--modality is CT or MR") }
    }

    func run() throws {
        let started = ProgressDisplay.now()
        let dimensions = parse(size, count: 3)!.map { Int($0) }
        let step = parse(spacing, count: 3)!
        let volume = modality.uppercased() == "MR"
            ? Phantom.mr(size: dimensions, spacing: SIMD3(step[0], step[1], step[2]))
            : Phantom.ct(size: dimensions, spacing: SIMD3(step[0], step[1], step[2]))
        var options = DICOMSeriesWriteOptions(overwrite: overwrite)
        if shuffleNames { options.fileNaming = .shuffled(seed: 1) }
        if unsignedIntercept && modality.uppercased() == "CT" {
            options.rescaleIntercept = -1024
            options.bitsStored = 12
        }
        let progress = ProgressDisplay(quiet: quiet)
        let report = try DICOMSeriesWriter.write(volume, toDirectory: output, options: options, control: progress.control)
        progress.finish()
        Terminal.warnings(report.warnings, quiet: quiet)
        Terminal.summary("wrote \(report.paths.count) files into \(output) (\(describe(volume)))", since: started, quiet: quiet)
    }

    private func parse(_ text: String, count: Int) -> [Double]? {
        let values = text.split(separator: ",").compactMap { Double(String($0).trimmingCharacters()) }
        return values.count == count ? values : nil
    }
}
