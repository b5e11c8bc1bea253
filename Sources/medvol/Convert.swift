import ArgumentParser
import MedVol

#if canImport(Glibc)
import Glibc
#endif

/// `medvol convert`: one volume to one file, or every stack of an archive into a folder.
struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert DICOM, MetaImage, NumPy, NIfTI or NRRD input to another format.",
        discussion: """
            The output format follows OUTPUT's extension (.mhd, .mha, .nii, .nii.gz, .hdr, .nrrd, .nhdr, .npy, .npz) \
            or --format (dicom writes a series into the folder OUTPUT). When INPUT holds several stacks, \
            --series picks one; with an OUTPUT folder and --format, every stack is converted and named by \
            --name (fields: {SeriesNumber} {SeriesDescription} {PatientID} {StudyDate} {Modality} {SeriesUID} {Index}, \
            and dcm2niix's -f fields %p protocol, %s series number, %d description, %t study date and time, %i patient ID, %e echo).
            """)

    @Argument(help: "Input file(s), folder(s) or DICOMDIR, then the output file or folder.")
    var paths: [String] = []

    @OptionGroup var selection: StackSelection

    @Option(help: "Output format: dicom, mhd, mha, nii, nii.gz, hdr, nrrd, nhdr, npy or npz.")
    var format: String?

    @Option(help: "File name pattern when converting every stack into a folder.")
    var name: String = "{SeriesNumber}_{SeriesDescription}"

    @Flag(help: "Compress: .zraw for .mhd, gzip for NIfTI/NRRD, deflate for .npz.")
    var compress = false

    @Option(help: ArgumentHelp("Deflate level of .nii.gz outputs: 1 (fastest) to 12 (smallest).",
                               discussion: "Default: chosen for each volume, the fastest level whose file is no larger than dcm2niix's default (zlib level 6) makes, from samples of the volume (4 on a typical CT, 7 on a typical MR)."))
    var level: Int?

    @Option(help: "Value scaling where a vendor stores a second one: dicom (Modality LUT, as SimpleITK and pydicom) or philips-precise (Philips' private scale, as dcm2niix).")
    var scaling: DICOMScaling = .dicom

    @Flag(name: .customLong("stored-values"), help: "Keep DICOM stored values (no rescale slope/intercept or modality LUT).")
    var storedValues = false

    @Option(help: ArgumentHelp("Gantry tilt of a DICOM series: keep (the stored slices; the geometry follows the slice normal) or correct (shift each slice in-plane onto the normal through the first slice, linear interpolation).",
                               valueName: "keep|correct"))
    var tilt: String = "keep"

    @Flag(help: "Resample a DICOM series with uneven slice spacing to equidistant slices (linear interpolation), like dcm2niix's _Eq file.")
    var regrid = false

    @Flag(help: "Replace existing outputs.")
    var overwrite = false

    @Flag(help: "With NIfTI outputs of DICOM: also write dcm2niix's BIDS sidecar NAME.json, and NAME.bval/NAME.bvec for diffusion series.")
    var bids = false

    @Flag(help: "No progress, warnings or summary on stderr.")
    var quiet = false

    @Option(name: .customLong("index"), help: "Convert the stacks recorded in this archive index (made by `medvol index`) into the folder OUTPUT, without scanning the archive.")
    var indexPath: String?

    @Option(help: ArgumentHelp("With --index: convert only shard K of N (1 ≤ K ≤ N): the stacks whose key's FNV-1a 64 hash modulo N is K - 1.", valueName: "K/N"))
    var shard: ShardSelection?

    @Flag(help: "With --index: skip stacks whose output exists and whose files are unchanged since it was written; convert the rest (failed, missing or changed).")
    var resume = false

    func validate() throws {
        if indexPath != nil {
            guard paths.count == 1 else { throw ValidationError("with --index give only the OUTPUT folder") }
            guard format != nil else { throw ValidationError("with --index give the output format with --format") }
        } else {
            guard paths.count >= 2 else { throw ValidationError("give an INPUT and an OUTPUT") }
            if shard != nil || resume { throw ValidationError("--shard and --resume work with --index") }
        }
        if let format, VolumeFileFormat(name: format) == nil {
            throw ValidationError("unknown --format '\(format)' (dicom, mhd, mha, nii, nii.gz, hdr, nrrd, nhdr, npy, npz)")
        }
        if !["keep", "correct"].contains(tilt) {
            throw ValidationError("--tilt takes keep or correct, not '\(tilt)'")
        }
        if let level, !(1...12).contains(level) {
            throw ValidationError("--level \(level) is not a deflate level (1 to 12)")
        }
    }

    /// What OUTPUT is: one file (or one DICOM series folder), or a folder for every stack.
    private enum Target {
        case single(path: String, format: VolumeFileFormat)
        case everyStack(folder: String, format: VolumeFileFormat)
    }

    @OptionGroup var reading: ReadingOptions

    func run() throws {
        if let indexPath {
            try convertFromIndex(indexPath, into: paths[0], format: VolumeFileFormat(name: format!)!)
            return
        }
        let inputs = Array(paths.dropLast())
        let output = paths.last!
        let requested = format.flatMap(VolumeFileFormat.init(name:))
        let fromName = VolumeFileFormat(path: output)
        if let requested, let fromName, requested != fromName {
            throw ValidationError("--format \(format!) does not match OUTPUT '\(output)'")
        }
        let writeOptions = VolumeWriteOptions(overwrite: overwrite, compress: compress, compressionLevel: level, bidsSidecar: bids)
        if bids {
            guard let target = fromName ?? requested, [.nifti, .niftiCompressed, .niftiPair].contains(target) else {
                throw ValidationError("--bids writes sidecars beside NIfTI outputs: give OUTPUT.nii, .nii.gz or .hdr, or --format nii/nii.gz")
            }
        }
        let progress = ProgressDisplay(quiet: quiet)
        defer { progress.finish() }
        let started = ProgressDisplay.now()

        switch InputKind(inputs) {
        case .volumeFile(let path):
            guard let target = fromName ?? requested else { throw formatUnknown(output) }
            if bids { throw ValidationError("--bids needs DICOM input (the sidecar comes from the DICOM headers)") }
            if tilt == "correct" || regrid {
                throw ValidationError("--tilt correct and --regrid resample DICOM series (they work from the slice positions); \(path) is a volume file")
            }
            // Slice runs straight from file to file when both formats allow (else read, then written).
            let result = try Volume.convert(contentsOf: path, to: output, format: target, options: writeOptions)
            report(result.info.metadata.warnings.map(\.description) + result.warnings)
            summary("wrote \(result.paths.last ?? output) (\(describe(result.info)))", started: started)

        case .dicom(let dicomPaths):
            PhaseTimer.mark("start")
            let scan = try DICOMScan(paths: dicomPaths, control: progress.control)
            PhaseTimer.mark("scan")
            let target: Target
            if let fromName {
                target = .single(path: output, format: fromName)
            } else if let requested {
                // --series picks one stack whatever the format (OUTPUT gets the format's extension);
                // otherwise every stack goes into the folder OUTPUT — except a lone stack as DICOM,
                // which is written as the series folder OUTPUT itself.
                target = selection.series != nil || (requested == .dicom && scan.stacks.count == 1)
                    ? .single(path: output, format: requested)
                    : .everyStack(folder: output, format: requested)
            } else {
                throw formatUnknown(output)
            }
            switch target {
            case .single(let path, let outputFormat):
                let stack = try chooseStack(scan, selector: selection.series, inputDescription: describeInputs(dicomPaths),
                                            hint: "choose one with --series, or convert all into a folder with --format")
                report(shownWarnings(stack).map { "#\(stack.index): \($0.description)" })
                let (written, info) = try convert(stack, to: path, format: outputFormat, options: writeOptions, progress: progress)
                PhaseTimer.mark("convert")
                progress.finish()
                summary("wrote \(outputFormat == .dicom ? path : written.last ?? path) (\(describe(info)))", started: started)
            case .everyStack(let folder, let outputFormat):
                try convertEveryStack(scan, into: folder, format: outputFormat, options: writeOptions, progress: progress,
                                      started: started, inputDescription: describeInputs(dicomPaths))
            }
        }
    }

    /// Converts every stack into `folder`, each named by `--name` (clashes get _2, _3, …); one failure does
    /// not stop the others. Prints a summary — each output with its volume, each failure with its reason,
    /// each skipped file with its reason — and exits with status 1 if any stack failed.
    private func convertEveryStack(_ scan: DICOMScan, into outputFolder: String, format requested: VolumeFileFormat, options: VolumeWriteOptions,
                                   progress: ProgressDisplay, started: Double, inputDescription: String) throws {
        guard !scan.stacks.isEmpty else { throw noImagesError(scan, inputDescription: inputDescription) }
        var folder = outputFolder
        while folder.count > 1 && folder.hasSuffix("/") { folder.removeLast() }
        // The extension is medvol's to choose here: --compress with NIfTI means .nii.gz.
        let format = requested == .nifti && options.compress ? VolumeFileFormat.niftiCompressed : requested
        var usedNames = Set<String>()
        var lines: [String] = []
        var convertedCount = 0, failedCount = 0
        let stackProgress = progress.control
        for (position, stack) in scan.stacks.enumerated() {
            stackProgress.progress?(WorkProgress(stage: "converting stacks", completed: position, total: scan.stacks.count))
            let wanted = OutputNaming.name(for: stack, pattern: name)
            let base = OutputNaming.claimUnique(in: &usedNames) { counter in counter.map { "\(wanted)_\($0)" } ?? wanted }
            let path = format == .dicom ? "\(folder)/\(base)" : "\(folder)/\(base).\(format.fileExtension)"
            let label = "#\(stack.index) (\(base))"
            do {
                report(shownWarnings(stack).map { "\(label): \($0.description)" })
                let (_, info) = try convert(stack, to: path, format: format, options: options, progress: progress, label: label)
                convertedCount += 1
                lines.append("  #\(stack.index) → \(path) (\(describe(info)))")
            } catch {
                failedCount += 1
                progress.finish()
                Terminal.error(stackFailureLine(error, label: label, output: path))
                lines.append("  #\(stack.index) \(base) FAILED: \(error)")
            }
        }
        progress.finish()
        if !quiet {
            let maximumListed = 20
            for skipped in scan.skipped.prefix(maximumListed) {
                lines.append("  skipped \(skipped.path): \(skipped.reason)")
            }
            if scan.skipped.count > maximumListed {
                lines.append("  … and \(scan.skipped.count - maximumListed) more files skipped (\(StackListing.skippedSummary(Array(scan.skipped.dropFirst(maximumListed)))))")
            }
            var head = "converted \(convertedCount) of \(scan.stacks.count) stacks into \(folder)"
            if failedCount > 0 { head += ", \(failedCount) failed" }
            if !scan.skipped.isEmpty { head += ", \(scan.skipped.count) file\(scan.skipped.count == 1 ? "" : "s") skipped" }
            summary(head, started: started)
            Terminal.lines(lines)
        }
        if failedCount > 0 { throw ExitCode.someStacksFailed(anyConverted: convertedCount > 0) }
    }

    /// Converts one stack through the library's one write path; what the writer reports (precision
    /// lost, slices reversed, storage class limits) is shown as warnings, prefixed by `label`.
    func convert(_ stack: DICOMStack, to path: String, format: VolumeFileFormat, options: VolumeWriteOptions,
                         progress: ProgressDisplay, label: String? = nil) throws -> (paths: [String], info: VolumeInfo) {
        var resampling: SliceResampling = .none
        if tilt == "correct" { resampling.insert(.correctTilt) }
        if regrid { resampling.insert(.equidistant) }
        let loadOptions = DICOMLoadOptions(storedValues: storedValues, scaling: scaling, control: progress.control,
                                           codecIsolation: reading.codecIsolation, sliceResampling: resampling)
        let result = try stack.write(to: path, format: format, options: options, loadOptions: loadOptions)
        // What the resampling did (the stack's own warnings were shown before).
        let done = result.info.metadata.warnings.filter { warning in
            switch warning {
            case .stack(.tiltCorrected), .stack(.regridded): return true
            default: return false
            }
        }
        report((done.map(\.description) + result.warnings).map { (label.map { "\($0): " } ?? "") + $0 })
        return (result.paths, result.info)
    }

    /// The stack's warnings without those the requested resampling makes untrue ("voxels are not
    /// resampled"): what it did is reported after the write.
    private func shownWarnings(_ stack: DICOMStack) -> [StackWarning] {
        stack.warnings.filter { warning in
            switch warning {
            case .gantryTilt: return tilt != "correct"
            case .meanSliceSpacing: return !regrid
            default: return true
            }
        }
    }

    private func formatUnknown(_ output: String) -> ValidationError {
        ValidationError("cannot tell the output format from '\(output)': end it with .mhd, .mha, .nii, .nii.gz, .hdr, .nrrd, .nhdr, .npy or .npz, or give --format")
    }

    func report(_ warnings: [String]) { Terminal.warnings(warnings, quiet: quiet) }

    func summary(_ text: String, started: Double) { Terminal.summary(text, since: started, quiet: quiet) }
}

/// "512×512×500 int16 LPS"
func describe(_ volume: Volume) -> String { describe(VolumeInfo(volume)) }

func describe(_ info: VolumeInfo) -> String {
    let components = info.components > 1 ? "×\(info.components)" : ""
    return "\(info.geometry.size.map(String.init).joined(separator: "×")) \(info.pixelType.rawValue)\(components) \(info.geometry.orientationCode)"
}

extension String {
    /// A number with two decimals.
    init(format2 value: Double) {
        let hundredths = Int((value * 100).rounded())
        let fraction = hundredths % 100
        self = "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}

/// Output names from patterns of fields such as `{SeriesNumber}`, shared by `convert` and `export`.
enum OutputNaming {
    /// A stack's file name: `pattern` filled in, reduced to safe characters, never empty.
    static func name(for stack: any ListedStack, pattern: String) -> String {
        var fields: [String: String] = [
            "SeriesNumber": stack.seriesNumber.map(String.init) ?? "",
            "SeriesDescription": stack.seriesDescription ?? "",
            "PatientID": stack.patientID ?? "",
            "StudyDate": stack.studyDate ?? "",
            "Modality": stack.modality ?? "",
            "SeriesUID": stack.seriesInstanceUID,
            "Index": String(stack.listedIndex),
        ]
        fields.merge(dcm2niixFields(for: stack)) { current, _ in current }
        let cleaned = safeCharacters(substitute(fields, into: pattern))
        var collapsed = ""
        for character in cleaned where !(character == "_" && collapsed.last == "_") { collapsed.append(character) }
        while collapsed.hasPrefix("_") || collapsed.hasPrefix(".") { collapsed.removeFirst() }
        while collapsed.hasSuffix("_") { collapsed.removeLast() }
        return collapsed.isEmpty ? "stack\(stack.listedIndex)" : shortened(collapsed)
    }

    /// dcm2niix's `-f` fields by their `%` spelling: `%p` protocol, `%s` series number, `%d` description,
    /// `%t` study date and time (YYYYMMDDHHMMSS), `%i` patient ID, `%e` echo number.
    static func dcm2niixFields(for stack: any ListedStack) -> [String: String] {
        let time = String((stack.studyTime ?? "").prefix { $0 != "." }.filter(\.isNumber))
        return [
            "%p": stack.protocolName ?? "",
            "%s": stack.seriesNumber.map(String.init) ?? "",
            "%d": stack.seriesDescription ?? "",
            "%t": (stack.studyDate ?? "") + time,
            "%i": stack.patientID ?? "",
            "%e": stack.echoNumber.map(String.init) ?? "",
        ]
    }

    /// `pattern` with every `{Field}` of `fields` replaced by its value, in one pass from left to right:
    /// a value is inserted literally, once — a value that itself holds `{SeriesUID}` is never expanded
    /// again — so the same fields always give the same name. `{…}` that names no field stays as written.
    static func substitute(_ fields: [String: String], into pattern: String) -> String {
        var result = ""
        var rest = Substring(pattern)
        while let open = rest.firstIndex(where: { $0 == "{" || $0 == "%" }) {
            result += rest[..<open]
            let afterOpen = rest.index(after: open)
            if rest[open] == "%" {
                // dcm2niix's `%x` fields (when `fields` has them); any other `%` stays as written.
                if afterOpen < rest.endIndex, let value = fields["%" + String(rest[afterOpen])] {
                    result += value
                    rest = rest[rest.index(after: afterOpen)...]
                } else {
                    result += "%"
                    rest = rest[afterOpen...]
                }
                continue
            }
            guard let close = rest[afterOpen...].firstIndex(of: "}") else { break }
            let key = String(rest[afterOpen..<close])
            if let value = fields[key] {
                result += value
                rest = rest[rest.index(after: close)...]
            } else {
                result += "{"
                rest = rest[afterOpen...]
            }
        }
        return result + rest
    }

    /// The most UTF-8 bytes one file or folder name made from a pattern may take (file systems allow
    /// 255; the rest is left for the extension, a "_2" that makes it unique and the staging names).
    static let longestName = 200

    /// `name` if it fits in ``longestName`` bytes; else its start followed by "-" and 12 hex digits of
    /// a digest of the whole name, so that two long names that share their start stay apart.
    static func shortened(_ name: String) -> String {
        guard name.utf8.count > longestName else { return name }
        var digest: UInt64 = 0xcbf2_9ce4_8422_2325            // FNV-1a, 64 bits
        for byte in name.utf8 { digest = (digest ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let hex = String(digest, radix: 16)
        let suffix = "-" + String((String(repeating: "0", count: 16 - hex.count) + hex).prefix(12))
        var kept = ""
        var bytes = 0
        for character in name {
            let size = character.utf8.count
            guard bytes + size + suffix.utf8.count <= longestName else { break }
            kept.append(character)
            bytes += size
        }
        return kept + suffix
    }

    /// Letters, digits, "-", "." and "_" kept; anything else becomes "_".
    static func safeCharacters(_ text: String) -> String {
        String(text.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." || $0 == "_" ? $0 : "_" })
    }

    /// The first of `make(nil)`, `make(2)`, `make(3)`, … that is not in `used`; it is added to `used`.
    static func claimUnique(in used: inout Set<String>, _ make: (Int?) -> String) -> String {
        var name = make(nil)
        var counter = 2
        while used.contains(name) {
            name = make(counter)
            counter += 1
        }
        used.insert(name)
        return name
    }
}

extension DICOMScaling: ExpressibleByArgument {}
