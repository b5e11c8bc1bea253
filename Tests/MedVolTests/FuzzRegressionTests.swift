import Foundation
import Testing
@testable import MedVol

/// The fuzzers' findings (docs/fuzzing.md): every input libFuzzer saved under
/// `Tests/fuzz-regressions/<target>/` — a crash, a sanitizer report, a timeout or a runaway allocation
/// once — is run through its target again; a crash here ends the test run, so a finding fails CI.
/// (The memory limit stays the test process's default, 2 GiB: ``FuzzTarget/limitMemoryForFuzzing()`` is
/// process-wide, and the other tests run beside these.)
@Suite("Fuzz regressions")
struct FuzzRegressionTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fuzz-regressions").path

    static func inputs(of target: FuzzTarget) -> [String] {
        let folder = root + "/" + target.rawValue
        return ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
            .filter { !$0.hasPrefix(".") && $0 != "README.md" }.sorted().map { folder + "/" + $0 }
    }

    @Test("every folder of saved inputs names a fuzz target")
    func foldersNameTargets() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.root)
            .filter { !$0.hasPrefix(".") && $0 != "README.md" }
        for name in names { #expect(FuzzTarget(rawValue: name) != nil, "Tests/fuzz-regressions/\(name) is no target") }
    }

    @Test("saved inputs run through their target without a crash, each in under 10 s", arguments: FuzzTarget.allCases)
    func replay(_ target: FuzzTarget) throws {
        let scratch = try FuzzTarget.makeScratchFolder()
        defer { FuzzTarget.removeScratchFolder(scratch) }
        for path in Self.inputs(of: target) {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            let clock = ContinuousClock()
            let started = clock.now
            _ = bytes.withUnsafeBytes { target.run($0, scratch: scratch) }
            #expect(clock.now - started < .seconds(10), "\(path)")
        }
    }

    /// The seeds are read, not refused: a target that refused its own seeds would fuzz only error paths.
    @Test("each target reads the library-made seeds without an error")
    func seedsAreRead() throws {
        let folder = TemporaryFolder()
        try FuzzTarget.writeSeeds(root: folder.path)
        let scratch = try FuzzTarget.makeScratchFolder()
        defer { FuzzTarget.removeScratchFolder(scratch) }
        var seen: [FuzzTarget: Int] = [:]
        for target in FuzzTarget.allCases {
            for name in folder.contents(of: folder.file(target.rawValue)) {
                let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: folder.file(target.rawValue + "/" + name))))
                let error = bytes.withUnsafeBytes { target.run($0, scratch: scratch) }
                #expect(error == nil, "\(target.rawValue)/\(name): \(String(describing: error))")
                seen[target, default: 0] += 1
            }
        }
        #expect(seen[.dicom] == 4 && seen[.dicomPixels] == 4)
        #expect(seen[.nifti] == 4 && seen[.metaimage] == 2 && seen[.nrrd] == 4 && seen[.numpy] == 4)
    }

    @Test("the RLE and encapsulated targets decode an RLE frame they are given")
    func rleTarget() throws {
        // Layout: 1 sample of 1 byte, 2 columns × 1 row; one segment: a literal run of 2 bytes.
        var frame = [UInt8](repeating: 0, count: 64)
        frame[0] = 1
        frame[4] = 64
        frame += [1, 7, 9]
        let scratch = try FuzzTarget.makeScratchFolder()
        defer { FuzzTarget.removeScratchFolder(scratch) }
        #expect(([0, 1, 0] + frame).withUnsafeBytes { FuzzTarget.rle.run($0, scratch: scratch) } == nil)
        // Two literal bytes for a 3-pixel frame: refused as short.
        let short = ([0, 2, 0] + frame).withUnsafeBytes { FuzzTarget.rle.run($0, scratch: scratch) }
        #expect((short as? MedVolError)?.reason == "RLE segment 1 holds 2 of 3 bytes")
    }
}
