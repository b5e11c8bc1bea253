import Foundation
import Synchronization
@testable import MedVol
import Testing

@Suite("Damaged files never crash", .timeLimit(.minutes(5)))
struct FormatsDamageTests {
    /// Flips bytes of valid files (mostly in the header, where parsers decide what to allocate and
    /// where to read) and truncates them at random places: every read must either succeed or throw a
    /// MedVolError naming a file — never trap or crash.
    @Test("random damage to every format", arguments: ["mha", "mhd", "nii", "nii.gz", "nrrd", "nhdr", "npy", "npz"])
    func randomDamage(extensionName: String) throws {
        let folder = TemporaryFolder()
        let name = "d." + extensionName
        let original = FormatFixtures.volume(.int16, geometry: ImageGeometry(size: [5, 4, 3], spacing: SIMD3(0.5, 0.6, 2)))
        let written = try original.write(to: folder.file(name), options: .init(compress: extensionName == "npz")).paths
        let target = written.last!  // the header (or only file)
        let pristine = try ReadableFile(path: target).readAll()
        var random = SplitMix64(seed: UInt64(extensionName.utf8.reduce(0) { $0 &* 31 &+ Int($1) }))
        var outcomes = (read: 0, refused: 0)
        for round in 0..<150 {
            var bytes = pristine
            if round % 5 == 4 {
                bytes = Array(bytes.prefix(Int(random.next() % UInt64(bytes.count))))
            } else {
                let headerLength = min(bytes.count, 400)
                for _ in 0..<(1 + Int(random.next() % 4)) {
                    let position = Int(random.next() % UInt64(headerLength))
                    bytes[position] = UInt8(truncatingIfNeeded: random.next())
                }
            }
            writeFile(target, bytes)
            do {
                _ = try Volume(contentsOf: folder.file(name))
                outcomes.read += 1
            } catch let error as MedVolError {
                #expect(error.path != nil, "\(error)")
                outcomes.refused += 1
            }
        }
        #expect(outcomes.read + outcomes.refused == 150)
        #expect(outcomes.refused > 0)
    }

    /// ITK 5.2 aborts the process (vnl_matrix) on an infinite sform entry and loops forever (its SVD) on
    /// a NaN one: such headers are refused before ITK sees them.
    @Test("NIfTI headers with non-finite geometry are refused, not passed to ITK",
          arguments: [(280, "srow_x", Float.nan), (308, "srow_y", .infinity), (324, "srow_z", -.infinity),
                      (260, "quatern_c", .nan), (272, "qoffset_y", .infinity), (80, "pixdim[1]", .nan)])
    func nonFiniteNIfTIGeometry(offset: Int, field: String, value: Float) throws {
        let folder = TemporaryFolder()
        let path = folder.file("n.nii")
        try FormatFixtures.volume(.int16).write(to: path)
        let file = try WritableFile(updating: path)
        try withUnsafeBytes(of: value.bitPattern.littleEndian) { try file.write($0, at: offset) }
        try file.close()
        #expect(medVolError { _ = try Volume(contentsOf: path) }?.description == "\(path): damaged NIfTI header: \(field) is not a usable number")
    }

    /// The MetaIO library loops for as long as NDims says: a damaged count hung it.
    @Test("MetaImage headers with impossible counts are refused, not passed to ITK", .timeLimit(.minutes(1)),
          arguments: [("NDims = 3", "NDims = 99999999999", "NDims = 99999999999"), ("NDims = 3", "NDims = 1e308", "NDims = 1e308"),
                      ("NDims = 3", "NDims = 0", "NDims = 0"), ("DimSize = 7 5 4", "DimSize = 7 5", "DimSize = 7 5"),
                      ("DimSize = 7 5 4", "DimSize = 7 -5 4\nElementNumberOfChannels = 1", "DimSize = 7 -5 4"),
                      ("ElementType", "ElementNumberOfChannels = 1000000000\nElementType", "ElementNumberOfChannels = 1000000000")])
    func impossibleMetaImageCounts(original: String, damaged: String, reported: String) throws {
        let folder = TemporaryFolder()
        let path = folder.file("m.mha")
        try FormatFixtures.volume(.int16).write(to: path)
        var bytes = try ReadableFile(path: path).readAll()
        let headerEnd = try #require(bytes.firstRange(of: Array("ElementDataFile = LOCAL\n".utf8))).upperBound
        let header = String(decoding: bytes[..<headerEnd], as: UTF8.self).replacingOccurrences(of: original, with: damaged)
        bytes = Array(header.utf8) + bytes[headerEnd...]
        writeFile(path, bytes)
        #expect(medVolError { _ = try Volume(contentsOf: path) }?.description == "\(path): damaged MetaImage header: \(reported)")
    }

    /// ITK's libraries keep some state per process (Teem's error messages crashed when two NRRD reads
    /// failed at once); reading and writing every format from many threads at once must be safe.
    @Test("concurrent reads and writes, good and damaged files")
    func concurrency() throws {
        let folder = TemporaryFolder()
        let extensions = ["mha", "mhd", "nii", "nii.gz", "nrrd", "nhdr", "npy", "npz"]
        let volume = FormatFixtures.volume(.int16)
        // Names by index: .mhd and .nhdr would otherwise share a .raw.
        for (index, name) in extensions.enumerated() {
            try volume.write(to: folder.file("good\(index)." + name))
            try volume.write(to: folder.file("bad\(index)." + name))
            let header = folder.file("bad\(index)." + name)
            var bytes = try ReadableFile(path: header).readAll()
            if name.hasPrefix("n") && name != "nii" && name != "nii.gz" {
                // A field Teem rejects after parsing the others: the failure goes through its error stack.
                bytes = Array(String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "space origin: (", with: "space origin: [").utf8)
            } else {
                for index in stride(from: 16, to: min(bytes.count, 300), by: 7) { bytes[index] ^= 0x5A }  // past the magic numbers
            }
            writeFile(header, bytes)
        }
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 800) { iteration in
            let index = iteration / 4 % extensions.count, name = "\(index)." + extensions[index]
            do {
                switch iteration % 4 {
                case 0:
                    let read = try Volume(contentsOf: folder.file("good" + name))
                    if FormatFixtures.bytes(of: read) != FormatFixtures.bytes(of: volume) { failures.withLock { $0.append("good\(name) differs") } }
                case 1:
                    try volume.write(to: folder.file("w\(iteration)_" + name))
                default:  // mostly failing reads: failures went through Teem's global error state
                    _ = try? Volume(contentsOf: folder.file("bad" + name))
                }
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        #expect(failures.withLock { $0 } == [])
    }
}
