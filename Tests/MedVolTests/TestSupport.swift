import Foundation
@testable import MedVol

/// A fresh temporary folder, removed when the value is released.
final class TemporaryFolder: Sendable {
    let path: String

    init() {
        var template = Array("\(NSTemporaryDirectory())medvol-test-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        path = String(cString: made!)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// The path of `name` inside the folder.
    func file(_ name: String) -> String { "\(path)/\(name)" }

    /// Names in the folder (or in `folder`), sorted.
    func contents(of folder: String? = nil) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder ?? path)) ?? []).sorted()
    }

    /// Writes `bytes` to `name` (creating sub-folders) and returns its path.
    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let file = self.file(name)
        try FileSystem.createDirectory(FileSystem.parentDirectory(of: file))
        let writer = try WritableFile(creating: file)
        try writer.write(bytes)
        try writer.close()
        return file
    }
}
