/// Options for loading a stack's voxels.
public struct DICOMLoadOptions: Sendable {
    /// Keep stored values (no Rescale Slope/Intercept, no Modality LUT).
    public var storedValues: Bool
    /// Which value scaling to apply where a vendor offers another than DICOM's (see ``DICOMScaling``).
    public var scaling: DICOMScaling = .dicom
    /// Progress and cancellation.
    public var control: WorkControl
    /// Where compressed frames are decoded: in worker processes (the default), or in this process.
    public var codecIsolation: CodecIsolation = .standard
    /// Which resamplings of the slices to make where the stack needs them (gantry tilt correction,
    /// equidistant slices); none by default (see ``SliceResampling``).
    public var sliceResampling: SliceResampling = .none

    /// Options that apply the modality transform (unless `storedValues`) and report to `control`.
    ///
    /// - Parameters:
    ///   - storedValues: Keep stored values instead of applying Rescale Slope/Intercept or the Modality LUT.
    ///   - scaling: Which value scaling to apply where a vendor offers another than DICOM's.
    ///   - control: Progress reporting and cancellation.
    ///   - codecIsolation: Where compressed frames are decoded (see ``CodecIsolation``).
    ///   - sliceResampling: Which resamplings of the slices to make where the stack needs them.
    public init(storedValues: Bool = false, scaling: DICOMScaling = .dicom, control: WorkControl = .none,
                codecIsolation: CodecIsolation = .standard, sliceResampling: SliceResampling = .none) {
        self.sliceResampling = sliceResampling
        self.storedValues = storedValues
        self.scaling = scaling
        self.control = control
        self.codecIsolation = codecIsolation
    }
}

/// How stored values become voxel values when a vendor stores a second scale.
public enum DICOMScaling: String, Sendable, CaseIterable {
    /// The DICOM Modality LUT stage (Rescale Slope/Intercept or the LUT): what SimpleITK and pydicom give.
    case dicom
    /// Philips' private Scale Slope (2005,xx0E) on top of the rescale, giving the scanner's floating-point
    /// quantity: (stored × RS + RI) / (RS × SS) — what dcm2niix applies by default. Images without the
    /// private scale keep the DICOM scaling.
    case philipsPrecise = "philips-precise"
}

/// The images that make one volume: a series, or part of one (a localizer inside a series, the
/// magnitude or phase images, …). Known from headers alone; `load(options:)` decodes the pixels.
public struct DICOMStack: Sendable {
    /// 1-based position in the scan's list (what `medvol series` shows and `--series` takes).
    public let index: Int
    /// Series Instance UID shared by the stack's images.
    public let seriesInstanceUID: String
    /// Series Number of the first image.
    public let seriesNumber: Int?
    /// Modality of the first image ("CT", "MR", …).
    public let modality: String?
    /// Series Description of the first image.
    public let seriesDescription: String?
    /// Study Instance UID of the first image.
    public let studyInstanceUID: String?
    /// Study Date of the first image, as stored (`YYYYMMDD`).
    public let studyDate: String?
    /// Patient ID of the first image.
    public let patientID: String?
    /// Images (frames, mosaic tiles) in the stack.
    public let imageCount: Int
    /// Files the images come from.
    public let fileCount: Int
    /// How the stack was formed: the whole series, or the part split off and why.
    public let formation: StackFormation
    /// Irregularities found: missing slices, uneven spacing, tilt, duplicates, …
    public private(set) var warnings: [StackWarning]
    /// Whether the stack makes a volume: its geometry, or why it cannot be loaded (its images make no
    /// volume, or the pixel data of one of its files cannot be decoded — the error names that file).
    public let state: StackState
    /// The volume's geometry (``StackState/geometry``: nil when the images make no volume, set even when
    /// pixel data cannot be decoded, as the headers tell the geometry).
    public var geometry: ImageGeometry? { state.geometry }

    private(set) var frames: [DICOMFrame]
    let files: FileTable
    let slots: [Int]

    init(index: Int, frames: [DICOMFrame], files: FileTable, formation: StackFormation) {
        self.index = index
        self.frames = frames
        self.files = files
        self.formation = formation
        let header = files[frames[0].fileIndex].dataSet
        seriesInstanceUID = frames[0].seriesInstanceUID
        seriesNumber = frames[0].seriesNumber
        modality = header.string(.modality)
        seriesDescription = header.string(.seriesDescription)
        studyInstanceUID = header.string(.studyInstanceUID)
        studyDate = header.string(.studyDate)
        patientID = header.string(.patientID)
        imageCount = frames.count
        fileCount = Set(frames.map(\.fileIndex)).count
        let path = files[frames[0].fileIndex].path
        do {
            let layout = try StackLayout.make(frames, path: path)
            slots = layout.slots
            warnings = layout.warnings
            if let pixelError = Self.pixelDataError(frames: frames, files: files) {
                state = .undecodablePixels(geometry: layout.geometry, error: pixelError)
            } else {
                state = .volume(layout.geometry)
            }
        } catch {
            slots = []
            warnings = []
            let reason = (error as? MedVolError)?.reason ?? "\(error)"
            state = .noVolume(MedVolError(.inconsistentSeries, path: path, reason: reason))
        }
        if let warning = Self.pixelDataWarning(frames: frames, files: files) { warnings.append(warning) }
    }

    /// The first file of the stack (in file order) whose pixel data the scan found undecodable, with the
    /// reason, and how many more there are.
    private static func pixelDataError(frames: [DICOMFrame], files: FileTable) -> MedVolError? {
        guard !files.pixelProblems.isEmpty else { return nil }
        let bad = Set(frames.map(\.fileIndex)).filter { files.pixelProblems[$0] != nil }.sorted()
        guard let first = bad.first, let reason = files.pixelProblems[first] else { return nil }
        let more = bad.count > 1 ? " (and \(bad.count - 1) more file\(bad.count == 2 ? "" : "s") of this stack that cannot be read)" : ""
        return MedVolError(.corruptFile, path: files[first].path, reason: reason + more)
    }

    /// The first file of the stack whose native pixel data are longer than its frames (or of odd length),
    /// naming it, and how many more there are.
    private static func pixelDataWarning(frames: [DICOMFrame], files: FileTable) -> StackWarning? {
        guard !files.pixelWarnings.isEmpty else { return nil }
        let odd = Set(frames.map(\.fileIndex)).filter { files.pixelWarnings[$0] != nil }.sorted()
        guard let first = odd.first, let text = files.pixelWarnings[first] else { return nil }
        return .pixelDataLength(path: files[first].path, detail: text, moreFiles: odd.count - 1)
    }

    mutating func addWarnings(_ more: [StackWarning]) { warnings += more }

    /// `[nx, ny, nz]` or `[nx, ny, nz, nt]`, when the stack makes a volume.
    public var size: [Int]? { geometry?.size }

    /// The images' plane; `.unknown` when they carry no orientation.
    public var plane: ImagePlane {
        guard let normal = frames[0].normal else { return .unknown }
        return ImagePlane(normal: normal)
    }

    /// Photometric Interpretation of the first image.
    public var photometricInterpretation: PhotometricInterpretation {
        PhotometricInterpretation(frames[0].format.photometric)
    }

    /// How pixels are stored, e.g. "uint16 (12 bits stored) MONOCHROME2, RLE Lossless".
    public var storedPixels: String {
        let file = files[frames[0].fileIndex]
        return "\(frames[0].format.summary), \(file.transferSyntax.name)"
    }

    /// Every file that contributes images, in volume order.
    public var filePaths: [String] {
        var seen = Set<Int>()
        return (slots.isEmpty ? Array(frames.indices) : slots).compactMap { slot in
            let index = frames[slot].fileIndex
            return seen.insert(index).inserted ? files[index].path : nil
        }
    }

    /// The header of the first image (in volume order).
    public var firstHeader: DICOMDataSet { files[frames[slots.first ?? 0].fileIndex].dataSet }

    /// Decodes every image into one volume.
    public func load(options: DICOMLoadOptions = DICOMLoadOptions()) throws -> Volume {
        let stack = scaled(options.scaling)
        if let plan = try stack.resamplingPlan(options.sliceResampling) { return try stack.loadResampled(plan, options: options) }
        return try StackLoader(stack: stack, geometry: stack.loadableGeometry(), options: options).load()
    }

    /// The stack with `scaling`'s value mappings in force (the same stack for ``DICOMScaling/dicom``).
    func scaled(_ scaling: DICOMScaling) -> DICOMStack {
        guard scaling == .philipsPrecise, frames.contains(where: { $0.philipsPreciseMapping != nil }) else { return self }
        var copy = self
        copy.frames = frames.map { frame in
            var frame = frame
            frame.mapping = frame.philipsPreciseMapping ?? frame.mapping
            return frame
        }
        copy.appliedScaling = .philipsPrecise
        return copy
    }

    /// The scaling whose mappings the frames carry.
    private(set) var appliedScaling: DICOMScaling = .dicom

    /// The scalings this stack's files offer besides the one applied.
    var otherScalings: [DICOMScaling] {
        let hasPhilips = frames.contains { $0.philipsPreciseMapping != nil }
        switch appliedScaling {
        case .dicom: return hasPhilips ? [.philipsPrecise] : []
        case .philipsPrecise: return [.dicom]
        }
    }

    /// The volume this stack makes, described from headers: geometry, voxel type and metadata. The
    /// pixels are read only when the voxel type depends on the values present (the SPEC's voxel-type rule).
    public func volumeInfo(options: DICOMLoadOptions = DICOMLoadOptions()) throws -> VolumeInfo {
        let stack = scaled(options.scaling)
        guard stack.appliedScaling == appliedScaling else { return try stack.volumeInfo(options: options) }
        let geometry = try loadableGeometry()
        let (format, _, plan) = voxelTypePlan(storedValues: options.storedValues)
        switch plan {
        case .fixed(let type):
            var metadata = metadata(storedValues: options.storedValues)
            var geometry = geometry
            if let plan = try resamplingPlan(options.sliceResampling) {
                geometry = plan.outputGeometry
                metadata.warnings = Self.warnings(metadata.warnings, after: plan)
            }
            return VolumeInfo(geometry: geometry, pixelType: type, components: format.producesColor ? 3 : 1,
                              metadata: metadata)
        case .measured:
            return VolumeInfo(try load(options: options))
        }
    }

    /// The geometry of a stack that can become a volume; throws why when it cannot.
    func loadableGeometry() throws -> ImageGeometry {
        switch state {
        case .volume(let geometry): return geometry
        case .undecodablePixels(_, let error), .noVolume(let error): throw error
        }
    }

    /// What the voxel type depends on — the stored format (of the first image in volume order) and the
    /// value mappings in force — and the plan ``VoxelTypeRule`` makes of them.
    func voxelTypePlan(storedValues: Bool) -> (format: StoredPixelFormat, mappings: [ValueMapping], plan: VoxelTypeRule.Plan) {
        let format = frames[slots[0]].format
        let mappings = storedValues ? [ValueMapping.identity] : Array(Set(frames.map(\.mapping)))
        return (format, mappings, VoxelTypeRule.plan(format: format, mappings: mappings, storedValues: storedValues))
    }

    /// Metadata for the volume: identification from the first image, how values were made, the
    /// stack's warnings.
    func metadata(storedValues: Bool) -> VolumeMetadata {
        let header = firstHeader
        var metadata = VolumeMetadata()
        metadata.source = sourceDescription
        metadata.modality = modality
        metadata.patientID = patientID
        metadata.studyInstanceUID = studyInstanceUID
        metadata.studyDate = studyDate
        metadata.seriesInstanceUID = seriesInstanceUID
        metadata.seriesNumber = seriesNumber
        metadata.seriesDescription = seriesDescription
        metadata.photometricInterpretation = photometricInterpretation
        metadata.windows = DisplayWindow.windows(in: header)
        metadata.pixelPaddingValue = header.double(.pixelPaddingValue)
        metadata.valueTransform = valueTransformSummary(storedValues: storedValues)
        if !storedValues && (appliedScaling != .dicom || !otherScalings.isEmpty) {
            metadata.valueScaling = appliedScaling.rawValue
            metadata.otherValueScalings = otherScalings.map(\.rawValue)
        }
        // RT Dose: the unit of the scaled values (the stored integers have none).
        if !storedValues, let units = header.string(.doseUnits), !units.isEmpty { metadata.valueUnits = units }
        metadata.warnings = warnings.map(VolumeWarning.stack)
        metadata.diffusion = diffusion
        metadata.dicomHeader = header
        return metadata
    }

    /// How stored values become voxel values.
    private func valueTransformSummary(storedValues: Bool) -> String {
        let format = frames[0].format
        if format.producesColor { return "colour \(format.photometric) as RGB" }
        if storedValues { return "stored values (modality LUT not applied)" }
        let mappings = Set(frames.map(\.mapping))
        if mappings.count == 1, let mapping = mappings.first {
            return mapping.isIdentity ? "stored values (no rescale)" : mapping.summary
        }
        return "rescale applied per slice (\(mappings.count) different slope/intercept pairs)"
    }

    /// The file, or the folder holding the files.
    private var sourceDescription: String {
        let paths = filePaths
        if paths.count == 1 { return paths[0] }
        let folders = Set(paths.map { FileSystem.parentDirectory(of: $0) })
        return folders.count == 1 ? folders.first! : FileSystem.parentDirectory(of: paths[0])
    }
}

extension DisplayWindow {
    /// The Window Center/Width pairs of a data set (an image header or a Frame VOI LUT item), with
    /// their explanations.
    static func windows(in dataSet: DICOMDataSet) -> [DisplayWindow] {
        let centers = dataSet.doubles(.windowCenter), widths = dataSet.doubles(.windowWidth)
        let explanations = dataSet.strings(.windowCenterWidthExplanation)
        return zip(centers, widths).enumerated().map { index, pair in
            DisplayWindow(center: pair.0, width: pair.1, explanation: index < explanations.count ? explanations[index] : nil)
        }
    }
}
