import Testing
@testable import MedVol

#if canImport(Glibc)
import Glibc
#endif

@Suite("DICOM parser")
struct DICOMParserTests {
    let pixels: [UInt8] = [0x01, 0x00, 0xFF, 0xFF, 0x00, 0x80, 0xFF, 0x7F]   // int16: 1, -1, -32768, 32767

    @Test("explicit VR little endian: values, header-only stop, pixel data location")
    func explicitLittleEndian() throws {
        let folder = TemporaryFolder()
        let bytes = DICOMBytes.part10(transferSyntax: "1.2.840.10008.1.2.1") { $0.image(rows: 2, columns: 2, pixels: pixels) }
        let path = try folder.write("a.dcm", bytes)
        let file = try DICOMFile.read(path: path, extent: .headerOnly)
        #expect(file.transferSyntax == .explicitVRLittleEndian)
        #expect(file.dataSet.int(.rows) == 2)
        #expect(file.dataSet.doubles(.pixelSpacing) == [0.5, 0.25])
        #expect(file.dataSet.string(.modality) == "CT")
        #expect(file.dataSet.string(.sopInstanceUID) == "1.2.3.4.5")   // NUL padding removed
        guard case .deferred(let offset, let length)? = file.pixelDataElement?.value else {
            Issue.record("pixel data not deferred"); return
        }
        #expect(length == 8)
        #expect(offset == bytes.count - 8)
    }

    @Test("implicit VR little endian takes VRs from the dictionary")
    func implicitVR() throws {
        let folder = TemporaryFolder()
        let bytes = DICOMBytes.part10(transferSyntax: "1.2.840.10008.1.2") { $0.image(rows: 2, columns: 2, pixels: pixels) }
        let file = try DICOMFile.read(path: try folder.write("a.dcm", bytes))
        #expect(file.dataSet[.rows]?.vr == .US)
        #expect(file.dataSet[.pixelSpacing]?.vr == .DS)
        #expect(file.dataSet.int(.columns) == 2)
        #expect(file.dataSet.doubles(.imageOrientationPatient) == [1, 0, 0, 0, 1, 0])
    }

    @Test("explicit VR big endian numbers are byte-swapped")
    func bigEndian() throws {
        let folder = TemporaryFolder()
        let bytes = DICOMBytes.part10(transferSyntax: "1.2.840.10008.1.2.2") { $0.image(rows: 3, columns: 513, pixels: [UInt8](repeating: 0, count: 3 * 513 * 2)) }
        let file = try DICOMFile.read(path: try folder.write("a.dcm", bytes))
        #expect(file.dataSet.int(.rows) == 3)
        #expect(file.dataSet.int(.columns) == 513)
    }

    @Test("nested sequences of undefined length, and items' own character set")
    func sequences() throws {
        let folder = TemporaryFolder()
        let bytes = DICOMBytes.part10(transferSyntax: "1.2.840.10008.1.2.1") { data in
            data.text(0x0008, 0x0005, "CS", "ISO_IR 100")
            data.sequence(0x0008, 0x1140, items: [
                { $0.text(0x0008, 0x1150, "UI", "1.2.3", pad: 0) },
                { item in
                    item.text(0x0008, 0x1150, "UI", "4.5.6", pad: 0)
                    item.sequence(0x0040, 0xA730, items: [{ $0.text(0x0010, 0x0010, "PN", "M\u{FC}ller") }])
                },
            ])
        }
        let file = try DICOMFile.read(path: try folder.write("a.dcm", bytes))
        let items = try #require(file.dataSet.sequence(DICOMTag(0x0008, 0x1140)))
        #expect(items.count == 2)
        #expect(items[0].string(DICOMTag(0x0008, 0x1150)) == "1.2.3")
        let inner = try #require(items[1].sequence(DICOMTag(0x0040, 0xA730)))
        // "Müller" written as UTF-8 bytes, read as ISO-IR 100 (Latin-1): each UTF-8 byte is one character.
        #expect(inner[0].string(.patientName) == "M\u{C3}\u{BC}ller")
    }

    @Test("damaged files give errors naming the file, never a crash", arguments: [
        ("empty", [UInt8]()),
        ("random", (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 13) }),
        ("prefix only", [UInt8](repeating: 0, count: 128) + Array("DICM".utf8)),
    ])
    func damaged(name: String, bytes: [UInt8]) throws {
        let folder = TemporaryFolder()
        let path = try folder.write("bad.dcm", bytes)
        do {
            _ = try DICOMFile.read(path: path)
            Issue.record("\(name): expected an error")
        } catch let error as MedVolError {
            #expect(error.path == path)
            #expect(!error.reason.isEmpty)
        }
    }

    @Test("a length that runs past the end is reported with the element")
    func impossibleLength() throws {
        let folder = TemporaryFolder()
        var bytes = DICOMBytes.part10(transferSyntax: "1.2.840.10008.1.2.1") { data in
            data.text(0x0008, 0x0060, "CS", "CT")
            data.element(0x0010, 0x0010, "UT", Array("x".utf8) + [0x20], length: 0x7FFF_0000)
        }
        bytes += [0, 0]
        let path = try folder.write("bad.dcm", bytes)
        let error = #expect(throws: MedVolError.self) { try DICOMFile.read(path: path) }
        #expect(error?.reason.contains("(0010,0010)") == true)
        #expect(error?.code == .corruptFile)
    }

    @Test("every truncation of a valid file either parses or fails cleanly")
    func truncations() throws {
        let folder = TemporaryFolder()
        let bytes = DICOMBytes.part10(transferSyntax: "1.2.840.10008.1.2.1") { data in
            data.sequence(0x0008, 0x1140, items: [{ $0.text(0x0008, 0x1150, "UI", "1.2.3", pad: 0) }])
            data.image(rows: 2, columns: 2, pixels: pixels)
        }
        for length in stride(from: 0, to: bytes.count, by: 3) {
            let path = try folder.write("t\(length).dcm", Array(bytes.prefix(length)))
            do {
                _ = try DICOMFile.read(path: path)
            } catch let error as MedVolError {
                #expect(error.path == path)
            }
        }
    }

    @Test("dictionary: keywords, names, VRs, repeating groups, private creators")
    func dictionary() {
        let dictionary = DICOMDictionary.shared
        #expect(dictionary.tag(forKeyword: "PatientID") == .patientID)
        #expect(dictionary.entry(for: .imagePositionPatient)?.name == "Image Position (Patient)")
        #expect(dictionary.entry(for: .rows)?.vr == .US)
        #expect(dictionary.entry(for: DICOMTag(0x6002, 0x3000))?.keyword == "OverlayData")
        #expect(dictionary.entry(for: DICOMTag(0x0029, 0x0010))?.vr == .LO)
        #expect(dictionary.privateEntry(for: DICOMTag(0x0029, 0x1010), creator: "SIEMENS CSA HEADER")?.name.isEmpty == false)
    }
}
