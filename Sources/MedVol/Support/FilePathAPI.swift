public import SystemPackage

// The library's path parameters as `FilePath` (swift-system). Each call here is the `String` call of the
// same name; a path that is not valid UTF-8 is refused rather than altered.

extension FilePath {
    /// The path as the `String` the rest of MedVol works with; throws when it is not valid UTF-8.
    func validatedString() throws -> String {
        guard let text = String(validating: self) else {
            throw MedVolError(.invalidArgument, path: description, reason: "the path is not valid UTF-8")
        }
        return text
    }
}

extension DICOMScan {
    /// Scans files and folders for DICOM images (see `init(paths:control:)`).
    public init(paths: [FilePath], control: WorkControl = .none) throws {
        try self.init(paths: paths.map { try $0.validatedString() }, control: control)
    }

    /// Scans files and folders for DICOM images off the cooperative pool; Task cancellation stops it.
    public init(paths: [FilePath], control: WorkControl = .none) async throws {
        let strings = try paths.map { try $0.validatedString() }
        try await self.init(paths: strings, control: control)
    }
}

extension DICOMStack {
    /// Writes the stack's volume (see ``write(to:format:options:loadOptions:)``).
    @discardableResult
    public func write(to path: FilePath, format: VolumeFileFormat? = nil, options: VolumeWriteOptions = VolumeWriteOptions(),
                      loadOptions: DICOMLoadOptions = DICOMLoadOptions()) throws -> WriteResult {
        try write(to: path.validatedString(), format: format, options: options, loadOptions: loadOptions)
    }

    /// Writes the stack's volume off the cooperative pool; Task cancellation stops it and leaves no output.
    @discardableResult
    public func write(to path: FilePath, format: VolumeFileFormat? = nil, options: VolumeWriteOptions = VolumeWriteOptions(),
                      loadOptions: DICOMLoadOptions = DICOMLoadOptions()) async throws -> WriteResult {
        let text = try path.validatedString()
        return try await write(to: text, format: format, options: options, loadOptions: loadOptions)
    }
}

extension Volume {
    /// Reads a volume file (see ``init(contentsOf:format:)``).
    public init(contentsOf path: FilePath, format: VolumeFileFormat? = nil) throws {
        try self.init(contentsOf: path.validatedString(), format: format)
    }

    /// Reads a volume file off the cooperative pool.
    public init(contentsOf path: FilePath, format: VolumeFileFormat? = nil) async throws {
        let text = try path.validatedString()
        try await self.init(contentsOf: text, format: format)
    }

    /// Writes the volume (see ``write(to:format:options:)``).
    @discardableResult
    public func write(to path: FilePath, format: VolumeFileFormat? = nil, options: VolumeWriteOptions = .init()) throws -> WriteResult {
        try write(to: path.validatedString(), format: format, options: options)
    }

    /// Writes the volume off the cooperative pool.
    @discardableResult
    public func write(to path: FilePath, format: VolumeFileFormat? = nil, options: VolumeWriteOptions = .init()) async throws -> WriteResult {
        let text = try path.validatedString()
        return try await write(to: text, format: format, options: options)
    }
}

extension WriteResult {
    /// ``paths`` as `FilePath` values.
    public var filePaths: [FilePath] { paths.map { FilePath($0) } }
}

extension DICOMFile {
    /// Reads the DICOM file at `path` (see ``read(path:extent:)``).
    public static func read(path: FilePath, extent: ReadExtent = .everything) throws -> DICOMFile {
        try read(path: path.validatedString(), extent: extent)
    }
}

extension DICOMAnonymizer {
    /// De-identifies the file or folder `input` into `output` (see ``anonymize(input:output:overwrite:mappingPath:naming:control:)``).
    @discardableResult
    public func anonymize(input: FilePath, output: FilePath, overwrite: Bool = false, mappingPath: FilePath? = nil,
                          naming: DICOMAnonymizationReport.OutputNaming = .fromNewIdentifiers,
                          control: WorkControl = .none) throws -> DICOMAnonymizationReport {
        try anonymize(input: input.validatedString(), output: output.validatedString(), overwrite: overwrite,
                      mappingPath: mappingPath?.validatedString(), naming: naming, control: control)
    }
}

extension DICOMAnonymizer {
    /// De-identifies the DICOM file at `input` into a new file at `output` (the `String` call of the same name).
    public func anonymizeFile(at input: FilePath, to output: FilePath, overwrite: Bool = false) throws {
        try anonymizeFile(at: input.validatedString(), to: output.validatedString(), overwrite: overwrite)
    }
}

extension DICOMDump {
    /// Reads the DICOM file at `path` and lists it (the `String` initialiser of the same name).
    public init(path: FilePath, grep: String? = nil) throws {
        try self.init(path: path.validatedString(), grep: grep)
    }
}

extension DICOMDirectory {
    /// Reads the DICOMDIR at `path` (the `String` initialiser of the same name).
    public init(path: FilePath) throws {
        try self.init(path: path.validatedString())
    }
}

extension DICOMSeriesWriter {
    /// Writes `volume` as a DICOM series into the folder `directory` (see ``write(_:toDirectory:options:control:)``).
    @discardableResult
    public static func write(_ volume: Volume, toDirectory directory: FilePath,
                             options: DICOMSeriesWriteOptions = DICOMSeriesWriteOptions(),
                             control: WorkControl = .none) throws -> DICOMSeriesWriteReport {
        try write(volume, toDirectory: directory.validatedString(), options: options, control: control)
    }
}

extension RasterImage {
    /// Writes the picture to `path` atomically (see ``write(to:format:quality:overwrite:)``).
    public func write(to path: FilePath, format: RasterImageFormat = .png, quality: Int = 90, overwrite: Bool = false) throws {
        try write(to: path.validatedString(), format: format, quality: quality, overwrite: overwrite)
    }
}
