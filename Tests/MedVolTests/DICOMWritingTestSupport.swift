import Foundation
@testable import MedVol

/// A rotation by `angle` (radians) about the unit vector `axis`, as a direction matrix (Rodrigues).
func rotation(axis: SIMD3<Double>, angle: Double) -> DirectionMatrix {
    let n = axis / (axis * axis).sum().squareRoot()
    let c = cos(angle), s = sin(angle), t = 1 - c
    return DirectionMatrix(rowMajor: [
        t * n.x * n.x + c, t * n.x * n.y - s * n.z, t * n.x * n.z + s * n.y,
        t * n.x * n.y + s * n.z, t * n.y * n.y + c, t * n.y * n.z - s * n.x,
        t * n.x * n.z - s * n.y, t * n.y * n.z + s * n.x, t * n.z * n.z + c,
    ])
}

/// A small oblique CT phantom: rotated about an oblique axis, off-centre, anisotropic spacing.
func obliquePhantom(size: [Int] = [24, 20, 7]) -> Volume {
    Phantom.ct(size: size, spacing: [0.8, 0.65, 2.5], origin: [-40.25, 12.5, 101.75],
               direction: rotation(axis: [1, 2, 3], angle: 0.4))
}

/// A volume of the given values, geometry and metadata.
func makeVolume<T: VoxelScalar>(_ values: [T], size: [Int], components: Int = 1, spacing: SIMD3<Double> = [1, 1, 1],
                                origin: SIMD3<Double> = .zero, direction: DirectionMatrix = .identity,
                                modality: String? = nil, timeSpacing: Double? = nil) -> Volume {
    var metadata = VolumeMetadata()
    metadata.modality = modality
    return Volume(voxels: values, components: components,
                  geometry: ImageGeometry(size: size, spacing: spacing, origin: origin, direction: direction,
                                          timeSpacing: timeSpacing),
                  metadata: metadata)
}

/// Parses every file of a written series, in instance-number order.
func readSeries(_ report: DICOMSeriesWriteReport) throws -> [DICOMFile] {
    try report.paths.map { try DICOMFile.read(path: $0) }
}

/// The pixel bytes of a parsed file (its pixel data are left in the file by the parser).
func pixelBytes(_ file: DICOMFile) throws -> [UInt8] {
    guard case .deferred(let offset, let length)? = file.pixelDataElement?.value else { return [] }
    guard let handle = FileHandle(forReadingAtPath: file.path) else { return [] }
    defer { try? handle.close() }
    try handle.seek(toOffset: UInt64(offset))
    return [UInt8](try handle.read(upToCount: length) ?? Data())
}

/// The Python the independent-reader tests run: `$MEDVOL_PYTHON`, else the checkout's `.venv` (made by
/// `make venv`; `make test` sets MEDVOL_PYTHON to it).
func oraclePython() -> String? {
    if let configured = ProcessInfo.processInfo.environment["MEDVOL_PYTHON"], !configured.isEmpty {
        return FileManager.default.isExecutableFile(atPath: configured) ? configured : nil
    }
    let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    let venv = "\(packageRoot)/.venv/bin/python"
    return FileManager.default.isExecutableFile(atPath: venv) ? venv : nil
}

/// Runs a program and returns its exit status, standard output and standard error.
@discardableResult
func run(_ program: String, _ arguments: [String]) throws -> (status: Int32, output: String, error: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: program)
    process.arguments = arguments
    // Standard error goes to a file, so that a child filling it cannot block while its output is read.
    let errors = TemporaryFolder()
    let errorPath = errors.file("stderr")
    _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
    let output = Pipe()
    process.standardOutput = output
    process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))
    try process.run()
    let outputData = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let errorText = withExtendedLifetime(errors) { (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "" }
    return (process.terminationStatus, String(decoding: outputData, as: UTF8.self), errorText)
}

/// Full path of a program on PATH, if there is one.
func which(_ program: String) -> String? {
    for folder in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
        let candidate = "\(folder)/\(program)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
}
