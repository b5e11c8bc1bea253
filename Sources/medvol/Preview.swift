import ArgumentParser
import MedVol

/// `medvol preview`: one PNG with the three planes through the volume's centre.
struct Preview: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write one picture of a volume: axial, coronal and sagittal slices through its centre, with a caption.",
        discussion: """
            The three panels share one scale (millimetres per pixel, square pixels: coarse axes are resampled \
            by linear interpolation), with the patient directions at their edges: axial with the patient's \
            right on the left and anterior at the top, coronal with the right on the left and superior at the \
            top, sagittal with anterior on the left and superior at the top. The caption gives size, spacing, \
            voxel type, orientation and window. The window is the file's first (or --window-index), --window \
            or --preset, else the volume's range; MONOCHROME1 is inverted; colour stays colour. A 4D volume \
            is shown by its first volume. OUT ends in .png (or .jpg for JPEG).
            """)

    @Argument(help: "A volume file, or DICOM file(s), folder(s) or DICOMDIR; then the picture to write.")
    var paths: [String] = []

    @OptionGroup var selection: StackSelection

    @OptionGroup var windowing: WindowOptions

    @Flag(help: "Replace an existing picture.")
    var overwrite = false

    @Flag(help: "No progress or summary on stderr.")
    var quiet = false

    func validate() throws {
        guard paths.count >= 2 else { throw ValidationError("give an INPUT and the picture to write (OUT.png)") }
        guard format != nil else { throw ValidationError("the picture's name ends in .png (or .jpg): '\(paths.last!)'") }
    }

    private var format: RasterImageFormat? {
        let name = paths.last!.lowercased()
        if name.hasSuffix(".png") { return .png }
        if name.hasSuffix(".jpg") || name.hasSuffix(".jpeg") { return .jpeg }
        return nil
    }

    @OptionGroup var reading: ReadingOptions

    func run() throws {
        let started = ProgressDisplay.now()
        let output = paths.last!
        let progress = ProgressDisplay(quiet: quiet)
        defer { progress.finish() }
        let volume: Volume
        switch InputKind(Array(paths.dropLast())) {
        case .volumeFile(let path):
            volume = try Volume(contentsOf: path)
        case .dicom(let dicomPaths):
            let scan = try DICOMScan(paths: dicomPaths, control: progress.control)
            let stack = try chooseStack(scan, selector: selection.series, inputDescription: describeInputs(dicomPaths),
                                        hint: "choose one with --series")
            volume = try stack.load(options: DICOMLoadOptions(control: progress.control, codecIsolation: reading.codecIsolation))
        }
        progress.finish()
        let mapping = try DisplayMapping.make(for: volume, choice: windowing.choice)
        let preview = VolumePreview()
        let picture = preview.render(volume, mapping: mapping)
        try picture.write(to: output, format: format!, overwrite: overwrite)
        Terminal.summary("wrote \(output) (\(picture.width)×\(picture.height): \(preview.caption(volume, mapping: mapping)))",
                         since: started, quiet: quiet)
    }
}
