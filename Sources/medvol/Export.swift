import ArgumentParser
import MedVol

/// `medvol export`: every slice of a volume (or of every stack of an archive) as an 8-bit picture.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write every slice as an 8-bit PNG (or JPEG) picture, windowed for viewing.",
        discussion: """
            Without --axis, each stored slice is written as DICOM viewers show it (rows from the top). --axis \
            axial, coronal or sagittal gives that plane: axial with the patient's right on the left and \
            anterior at the top (the stored slices when the volume is stored axially), coronal with the \
            patient's right on the left and superior at the top, sagittal with anterior on the left and \
            superior at the top. Reformats take the voxel grid's rows, columns or slices nearest to the \
            plane; where the two spacings in a picture differ, the coarser axis is resampled by linear \
            interpolation to square pixels so that the physical aspect ratio is kept.

            Window: the file's first (or --window-index N), --window CENTER,WIDTH or --preset NAME, else the \
            volume's own range; VOI LUT per PS3.3 C.11.2.1.2 (LINEAR, LINEAR_EXACT, SIGMOID as VOI LUT \
            Function says; a VOI LUT Sequence where the file has one). MONOCHROME1 is inverted; RGB and \
            palette colour are written in colour.

            Names (--name, without extension; / makes folders): {InstanceNumber} (the image's Instance \
            Number for stored DICOM slices, else the picture's number from 1), {Slice} (from 1, zero-padded), \
            {Volume} (4D, from 1), {Axis}, {PatientID}, {StudyDate}, {SeriesNumber}, {SeriesDescription}, \
            {Modality}, {SeriesUID}, {Index} (the stack's number in `medvol series`). Default: \
            {InstanceNumber} for one volume, {PatientID}/{StudyDate}/{SeriesNumber}/{InstanceNumber} for \
            input holding several stacks (all exported unless --series picks one). Pictures whose names \
            would collide get _{Slice} (then _2, _3, …).
            """)

    @Argument(help: "A volume file, or DICOM file(s), folder(s) or DICOMDIR; then the output folder.")
    var paths: [String] = []

    @OptionGroup var selection: StackSelection

    @OptionGroup var windowing: WindowOptions

    @Option(help: "png (lossless) or jpg.")
    var format: String = "png"

    @Option(help: "JPEG quality, 1–100.")
    var quality: Int = 90

    @Option(help: "axial, coronal or sagittal (default: the stored slices).")
    var axis: String?

    @Option(help: "4D: only volume N (from 1); default every volume.")
    var volume: Int?

    @Option(help: "File name pattern (see above).")
    var name: String?

    @Flag(help: "Replace existing pictures.")
    var overwrite = false

    @Flag(help: "No progress or summary on stderr.")
    var quiet = false

    func validate() throws {
        guard paths.count >= 2 else { throw ValidationError("give an INPUT and an OUTDIR") }
        guard RasterImageFormat(name: format) != nil else { throw ValidationError("--format is png or jpg, not '\(format)'") }
        if let axis, ViewPlane(rawValue: axis.lowercased()) == nil {
            throw ValidationError("--axis is axial, coronal or sagittal, not '\(axis)'")
        }
        guard (1...100).contains(quality) else { throw ValidationError("--quality is 1 to 100") }
        if let volume, volume < 1 { throw ValidationError("--volume counts from 1") }
        if let name, name.isEmpty || name.hasPrefix("/") { throw ValidationError("--name is a relative file name pattern") }
    }

    @OptionGroup var reading: ReadingOptions

    func run() throws {
        let started = ProgressDisplay.now()
        let outputFolder = paths.last!
        let inputs = Array(paths.dropLast())
        let progress = ProgressDisplay(quiet: quiet)
        defer { progress.finish() }
        var usedPaths = Set<String>()

        switch InputKind(inputs) {
        case .volumeFile(let path):
            let loaded = try Volume(contentsOf: path)
            let written = try export(loaded, stack: nil, pattern: name ?? "{InstanceNumber}", into: outputFolder,
                                     usedPaths: &usedPaths, progress: progress)
            summary(written, started: started)
        case .dicom(let dicomPaths):
            let scan = try DICOMScan(paths: dicomPaths, control: progress.control)
            if selection.series != nil || scan.stacks.count <= 1 {
                let stack = try chooseStack(scan, selector: selection.series, inputDescription: describeInputs(dicomPaths),
                                            hint: "choose one with --series")
                report(stack.warnings.map { "#\(stack.index): \($0.description)" })
                let loaded = try stack.load(options: DICOMLoadOptions(control: progress.control, codecIsolation: reading.codecIsolation))
                let written = try export(loaded, stack: stack, pattern: name ?? "{InstanceNumber}", into: outputFolder,
                                         usedPaths: &usedPaths, progress: progress)
                summary(written, started: started)
                return
            }
            var failures = 0
            var total = 0
            for stack in scan.stacks {
                do {
                    report(stack.warnings.map { "#\(stack.index): \($0.description)" })
                    let loaded = try stack.load(options: DICOMLoadOptions(control: progress.control, codecIsolation: reading.codecIsolation))
                    let written = try export(loaded, stack: stack, pattern: name ?? "{PatientID}/{StudyDate}/{SeriesNumber}/{InstanceNumber}",
                                             into: outputFolder, usedPaths: &usedPaths, progress: progress)
                    total += written.count
                    if !quiet { progress.finish(); Terminal.lines(["medvol: #\(stack.index): \(written.description)"]) }
                } catch let error as MedVolError {
                    failures += 1
                    progress.finish()
                    Terminal.error(stackFailureLine(error, label: "#\(stack.index)", output: outputFolder))
                }
            }
            progress.finish()
            var line = "exported \(scan.stacks.count - failures) of \(scan.stacks.count) stacks, \(total) pictures, into \(outputFolder)"
            if !scan.skipped.isEmpty { line += "; \(scan.skipped.count) files skipped: " + StackListing.skippedSummary(scan.skipped) }
            Terminal.summary(line, since: started, quiet: quiet)
            if failures > 0 { throw ExitCode(1) }
        }
    }

    /// What one volume's export wrote.
    private struct Written: CustomStringConvertible {
        var count: Int
        var folder: String
        var rendering: String
        var window: String
        var format: RasterImageFormat
        var description: String {
            "wrote \(count) \(format == .png ? "PNG" : "JPEG") picture\(count == 1 ? "" : "s") into \(folder): \(rendering), \(window)"
        }
    }

    private func export(_ volume: Volume, stack: DICOMStack?, pattern: String, into folder: String,
                        usedPaths: inout Set<String>, progress: ProgressDisplay) throws -> Written {
        let layout = axis.flatMap { ViewPlane(rawValue: $0.lowercased()) }
            .map { PlaneLayout(plane: $0, geometry: volume.geometry) } ?? .stored(volume.geometry)
        let mapping = try DisplayMapping.make(for: volume, choice: windowing.choice)
        let renderer = SliceRenderer(volume: volume, layout: layout, mapping: mapping)
        let timePoints = volume.geometry.timePoints
        if let chosen = self.volume, chosen > timePoints {
            throw MedVolError(.invalidArgument, reason: "--volume \(chosen): the volume has \(timePoints) time point\(timePoints == 1 ? "" : "s")")
        }
        let times = self.volume.map { [$0 - 1] } ?? Array(0..<timePoints)
        let instanceNumbers = layout.isStored ? (stack?.instanceNumbers ?? []) : []
        let outputFormat = RasterImageFormat(name: format)!
        let naming = PictureNaming(pattern: pattern, stack: stack, volume: volume, plane: layout.plane,
                                   sliceCount: renderer.sliceCount, instanceNumbers: instanceNumbers)
        var items = naming.items(times: times, folder: folder, fileExtension: outputFormat.fileExtension)
        // Names are made unique within the export (and across the stacks of one run).
        for index in items.indices {
            let path = items[index].path
            let stem = path.dropLast(outputFormat.fileExtension.count + 1)
            items[index].path = OutputNaming.claimUnique(in: &usedPaths) { counter in
                counter.map { "\(stem)_\($0).\(outputFormat.fileExtension)" } ?? path
            }
        }
        try SliceExport.write(items, renderer: renderer, format: outputFormat, quality: quality, overwrite: overwrite,
                              control: progress.control)
        let folders = Set(items.map { FileSystemPath.parent(of: $0.path) })
        return Written(count: items.count, folder: folders.count == 1 ? folders.first! : folder,
                       rendering: describeRendering(renderer), window: mapping.summary + (mapping.inverted ? ", MONOCHROME1 inverted" : ""),
                       format: outputFormat)
    }

    private func report(_ warnings: [String]) { Terminal.warnings(warnings, quiet: quiet) }

    private func summary(_ written: Written, started: Double) {
        Terminal.summary(written.description, since: started, quiet: quiet)
    }
}

/// File names of exported pictures from a pattern of fields.
struct PictureNaming {
    let pattern: String
    let stack: DICOMStack?
    let volume: Volume
    let plane: ViewPlane
    let sliceCount: Int
    /// Instance numbers in volume order (empty when the pictures are not the stored DICOM slices).
    let instanceNumbers: [Int?]

    func items(times: [Int], folder: String, fileExtension: String) -> [SliceExport.Item] {
        var items = make(times: times, folder: folder, fileExtension: fileExtension, sliceSuffix: false)
        if Set(items.map(\.path)).count != items.count && pattern.contains("{InstanceNumber}") {
            // Images sharing an Instance Number (the slices of a mosaic): add the slice number.
            items = make(times: times, folder: folder, fileExtension: fileExtension, sliceSuffix: true)
        }
        return items
    }

    private func make(times: [Int], folder: String, fileExtension: String, sliceSuffix: Bool) -> [SliceExport.Item] {
        let digits = String(sliceCount).count
        let volumeDigits = String(volume.geometry.timePoints).count
        // A volume loaded from a stack carries the stack's identification in its metadata.
        let metadata = volume.metadata
        var fixed: [String: String] = [
            "PatientID": metadata.patientID ?? "",
            "StudyDate": metadata.studyDate ?? "",
            "SeriesNumber": metadata.seriesNumber.map(String.init) ?? "",
            "SeriesDescription": metadata.seriesDescription ?? "",
            "Modality": metadata.modality ?? "",
            "SeriesUID": metadata.seriesInstanceUID ?? "",
            "Index": stack.map { String($0.index) } ?? "1",
            "Axis": plane.rawValue,
        ]
        var items: [SliceExport.Item] = []
        var running = 0
        for t in times {
            for slice in 0..<sliceCount {
                running += 1
                let volumeIndex = slice + sliceCount * t
                let instance = volumeIndex < instanceNumbers.count ? instanceNumbers[volumeIndex] : nil
                fixed["Slice"] = padded(slice + 1, digits)
                fixed["Volume"] = padded(t + 1, volumeDigits)
                fixed["InstanceNumber"] = instance.map(String.init) ?? String(running)
                if sliceSuffix { fixed["InstanceNumber"]! += "_" + fixed["Slice"]! }
                // Fields are filled in per folder level of the pattern: a value never adds a level.
                let segments = pattern.split(separator: "/", omittingEmptySubsequences: false)
                    .map { Self.clean(OutputNaming.substitute(fixed, into: String($0))) }
                let relative = segments.isEmpty ? String(running) : segments.joined(separator: "/")
                items.append(SliceExport.Item(slice: slice, timePoint: t, path: "\(folder)/\(relative).\(fileExtension)"))
            }
        }
        return items
    }

    private func padded(_ value: Int, _ digits: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }

    /// A safe path segment: letters, digits, "-", "." and "_" kept, anything else "_"; never empty,
    /// never "." or "..", never longer than ``OutputNaming/longestName`` bytes (``OutputNaming/shortened(_:)``).
    static func clean(_ segment: String) -> String {
        var text = OutputNaming.safeCharacters(segment)
        while text.hasPrefix(".") { text.removeFirst() }
        return text.isEmpty ? "unknown" : OutputNaming.shortened(text)
    }
}

enum FileSystemPath {
    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
