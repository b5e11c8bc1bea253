import Foundation
import SystemPackage
import Testing
import MedVol

/// Every path parameter also takes a `FilePath`: each overload gives what the `String` call gives, and a
/// path that is not valid UTF-8 is refused with an error naming it, never altered.
@Suite("FilePath overloads")
struct FilePathAPITests {
    @Test("write a series, scan it, read a file, convert and read back, anonymize, write a picture — all by FilePath")
    func roundTrip() throws {
        let folder = TemporaryFolder()
        let root = FilePath(folder.path)
        let phantom = Phantom.ct(size: [24, 20, 6])
        let report = try DICOMSeriesWriter.write(phantom, toDirectory: root.appending("series"))
        #expect(report.paths.count == 6)

        let scan = try DICOMScan(paths: [root.appending("series")])
        let stack = try #require(scan.stacks.first)
        #expect(stack.size == [24, 20, 6] && stack.plane == .axial)
        let first = try #require(stack.filePaths.first)
        let byFilePath = try DICOMFile.read(path: FilePath(first), extent: .headerOnly)
        let byString = try DICOMFile.read(path: first, extent: .headerOnly)
        #expect(byFilePath.dataSet.string(.sopInstanceUID) == byString.dataSet.string(.sopInstanceUID))

        let written = try stack.write(to: root.appending("ct.nii"))
        #expect(written.filePaths == [root.appending("ct.nii")])
        let read = try Volume(contentsOf: root.appending("ct.nii"))
        #expect(read.size == [24, 20, 6])
        #expect(read.value(3, 4, 5) == phantom.value(3, 4, 5) && read.value(12, 10, 2) == phantom.value(12, 10, 2))

        let anonymized = try DICOMAnonymizer().anonymize(input: root.appending("series"), output: root.appending("anon"))
        #expect(anonymized.files.count == 6)
        let anonymizedScan = try DICOMScan(paths: [root.appending("anon")])
        #expect(anonymizedScan.stacks.first?.imageCount == 6)
        #expect(anonymizedScan.stacks.first?.seriesInstanceUID != stack.seriesInstanceUID)

        try DICOMAnonymizer().anonymizeFile(at: FilePath(first), to: root.appending("one-anon.dcm"))
        let one = try DICOMFile.read(path: root.appending("one-anon.dcm"), extent: .headerOnly)
        #expect(one.dataSet.string(.sopInstanceUID) != byString.dataSet.string(.sopInstanceUID))
        let dump = try DICOMDump(path: FilePath(first), grep: "Rows")
        #expect(dump.entries.map(\.element.tag) == [DICOMTag(0x0028, 0x0010)])

        try RasterImage(width: 4, height: 3, fill: 200).write(to: root.appending("grey.png"))
        let png = try Data(contentsOf: URL(fileURLWithPath: folder.file("grey.png")))
        #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    }

    @Test("a path that is not valid UTF-8 is refused, naming the path")
    func invalidUTF8() throws {
        let bad = FilePath(platformString: [0x2F, 0x74, 0x6D, 0x70, 0x2F, CChar(bitPattern: 0xFF), 0])
        do {
            _ = try Volume(contentsOf: bad)
            Issue.record("read a path that is not UTF-8")
        } catch let error as MedVolError {
            #expect(error.code == .invalidArgument)
            #expect(error.reason == "the path is not valid UTF-8")
        }
        #expect(throws: MedVolError.self) { try DICOMSeriesWriter.write(Phantom.ct(size: [4, 4, 2]), toDirectory: bad) }
        #expect(throws: MedVolError.self) { _ = try DICOMFile.read(path: bad) }
    }
}
