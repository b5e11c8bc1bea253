import Testing
@testable import MedVol

/// The data dictionary generated from GDCM 3.0's (scripts/generate-dictionary.py): Swift data, so that none
/// of these needs the ITK/GDCM bridge.
@Suite("DICOM dictionary tables")
struct DICOMDictionaryTests {
    let dictionary = DICOMDictionary.shared

    @Test("public entries: tag, VRs, VM, keyword, name, retired")
    func publicEntries() throws {
        let name = try #require(dictionary.entry(for: DICOMTag(0x0010, 0x0010)))
        #expect(name.keyword == "PatientName")
        #expect(name.name == "Patient's Name")
        #expect(name.vrs == [.PN])
        #expect(name.multiplicity == "1")
        #expect(!name.isRetired)

        #expect(dictionary.entry(for: DICOMTag(0x0028, 0x0010))?.vrs == [.US])
        #expect(dictionary.entry(for: DICOMTag(0x0028, 0x0010))?.keyword == "Rows")

        let smallest = try #require(dictionary.entry(for: DICOMTag(0x0028, 0x0106)))
        #expect(smallest.keyword == "SmallestImagePixelValue")
        #expect(smallest.vrs == [.US, .SS])
        #expect(smallest.vr == .US)

        let position = try #require(dictionary.entry(for: DICOMTag(0x0020, 0x0032)))
        #expect(position.multiplicity == "3")
        #expect(position.vrs == [.DS])

        let retired = try #require(dictionary.entry(for: DICOMTag(0x0008, 0x0010)))
        #expect(retired.keyword == "RecognitionCode")
        #expect(retired.isRetired)
        #expect(retired.vrs == [.SH])
    }

    @Test("repeating groups: a 60xx overlay element in any even group")
    func overlay() throws {
        let rows = try #require(dictionary.entry(for: DICOMTag(0x6004, 0x0010)))
        #expect(rows.keyword == "OverlayRows")
        #expect(rows.vrs == [.US])
        let data = try #require(dictionary.entry(for: DICOMTag(0x601E, 0x3000)))
        #expect(data.keyword == "OverlayData")
        #expect(data.vrs == [.OB, .OW])
        #expect(dictionary.entry(for: DICOMTag(0x6001, 0x3000)) == nil)  // odd group: private
    }

    @Test("keyword lookup")
    func keywords() {
        #expect(dictionary.tag(forKeyword: "PatientName") == DICOMTag(0x0010, 0x0010))
        #expect(dictionary.tag(forKeyword: "SmallestImagePixelValue") == DICOMTag(0x0028, 0x0106))
        #expect(dictionary.tag(forKeyword: "RecognitionCode") == DICOMTag(0x0008, 0x0010))
        #expect(dictionary.tag(forKeyword: "NoSuchKeyword") == nil)
        #expect(dictionary.allEntries.count > 13_000)
        #expect(dictionary.allEntries.first?.tag == DICOMTag(0x0000, 0x0000))
    }

    @Test("private entries by creator; any block byte; creator compared as GDCM does")
    func privateEntries() throws {
        let csa = try #require(dictionary.privateEntry(for: DICOMTag(0x0029, 0x1010), creator: "SIEMENS CSA HEADER"))
        #expect(csa.vrs == [.OB])
        #expect(csa.name == "CSA Image Header Info")
        #expect(csa.tag == DICOMTag(0x0029, 0x1010))
        #expect(dictionary.privateEntry(for: DICOMTag(0x0029, 0x1210), creator: "SIEMENS CSA HEADER")?.tag == DICOMTag(0x0029, 0x1210))
        #expect(dictionary.privateEntry(for: DICOMTag(0x0029, 0x1010), creator: "SIEMENS CSA HEADER ")?.vrs == [.OB])
        #expect(dictionary.privateEntry(for: DICOMTag(0x0029, 0x1010), creator: "siemens csa header") == nil)
        #expect(dictionary.privateEntry(for: DICOMTag(0x0029, 0x1010), creator: "NO SUCH CREATOR") == nil)
        // medvol's own supplement to GDCM's table.
        #expect(dictionary.privateEntry(for: DICOMTag(0x0065, 0x1050), creator: "Image Private Header")?.vrs == [.DS])
    }

    @Test("UID names")
    func uidNames() {
        #expect(uidName("1.2.840.10008.1.2.4.50")
                == "JPEG Baseline (Process 1): Default Transfer Syntax for Lossy JPEG 8 Bit Image Compression")
        #expect(uidName("1.2.840.10008.1.2.1") == "Explicit VR Little Endian")
        #expect(uidName("1.2.840.10008.1.2.4.50 ") == nil)
        #expect(uidName("1.2.3.4.5.6.7") == nil)
    }
}
