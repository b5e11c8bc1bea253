@testable import MedVol
import Testing

@Suite("DICOM inspection: typed values, names, dump text and JSON")
struct InspectionTests {
    /// A small file: meta group, text, numbers, a sequence with a nested sequence, private blocks.
    private func sampleFile(_ folder: TemporaryFolder, syntax: String = "1.2.840.10008.1.2.1") throws -> DICOMFile {
        let bytes = DICOMBytes.part10(transferSyntax: syntax) { data in
            data.text(0x0008, 0x0005, "CS", "ISO_IR 192")
            data.text(0x0008, 0x0008, "CS", "ORIGINAL\\PRIMARY\\\\M")
            data.text(0x0008, 0x0016, "UI", "1.2.840.10008.5.1.4.1.1.2", pad: 0)
            data.text(0x0008, 0x0050, "SH", "")
            data.sequence(0x0008, 0x1140, items: [
                { item in
                    item.text(0x0008, 0x1150, "UI", "1.2.840.10008.5.1.4.1.1.2", pad: 0)
                    item.sequence(0x0040, 0xA170, items: [{ code in code.text(0x0008, 0x0104, "LO", "Localizer") }])
                },
                { item in item.text(0x0008, 0x1155, "UI", "1.2.3", pad: 0) },
            ])
            data.text(0x0010, 0x0010, "PN", "Doe^John=ドウ^ジョン")
            data.text(0x0018, 0x0050, "DS", "1.50")
            data.us(0x0018, 0x1310, 0, 64, 64, 0)
            data.text(0x0019, 0x0010, "LO", "SIEMENS MR HEADER")
            data.us(0x0019, 0x100A, 35)
            data.text(0x0019, 0x0011, "LO", "ACME 1.1")
            data.text(0x0019, 0x1101, "LO", "acme")
            data.element(0x0019, 0x1102, "OB", [1, 2, 3, 4])
            data.text(0x0020, 0x4000, "LT", String(repeating: "abcdefghij", count: 10))
            data.element(0x0028, 0x0009, "AT", [0x18, 0x00, 0x63, 0x10])
            data.us(0x0028, 0x0010, 2)
            data.us(0x0028, 0x0011, 2)
            data.us(0x0028, 0x0100, 16)
            data.element(0x7FE0, 0x0010, "OW", [1, 0, 2, 0, 3, 0, 4, 0])
        }
        return try DICOMFile.read(path: try folder.write("sample.dcm", bytes))
    }

    @Test func personNames() {
        let name = DICOMPersonName("Yamada^Tarou^^Dr^Jr=山田^太郎=やまだ^たろう")
        #expect(name.familyName == "Yamada" && name.givenName == "Tarou" && name.middleName == "")
        #expect(name.namePrefix == "Dr" && name.nameSuffix == "Jr")
        #expect(name.ideographic == "山田^太郎" && name.phonetic == "やまだ^たろう")
        #expect(name.groups.map(\.key) == ["Alphabetic", "Ideographic", "Phonetic"])
        #expect(name.readable == "Dr Tarou Yamada Jr")
        #expect(DICOMPersonName("Doe^John").description == "Doe^John")
        #expect(DICOMPersonName("Doe^John==").groups.count == 1)
    }

    @Test func base64() {
        let cases = ["": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=", "foobar": "Zm9vYmFy"]
        for (plain, encoded) in cases { #expect(Base64.encode(ArraySlice(plain.utf8)) == encoded) }
        let slice = Array("xxfoobar".utf8)[2...]
        #expect(Base64.encode(slice) == "Zm9vYmFy")
    }

    @Test func typedValuesByVR() throws {
        let file = try sampleFile(TemporaryFolder())
        let data = file.dataSet
        guard case .strings(let types)? = data.typedValue(.imageType) else { Issue.record("CS"); return }
        #expect(types == ["ORIGINAL", "PRIMARY", "", "M"])
        guard case .decimals(let thickness)? = data.typedValue(DICOMTag(0x0018, 0x0050)) else { Issue.record("DS"); return }
        #expect(thickness == [1.5])
        guard case .integers(let matrix)? = data.typedValue(DICOMTag(0x0018, 0x1310)) else { Issue.record("US"); return }
        #expect(matrix == [0, 64, 64, 0])
        guard case .tags(let tags)? = data.typedValue(DICOMTag(0x0028, 0x0009)) else { Issue.record("AT"); return }
        #expect(tags == [DICOMTag(0x0018, 0x1063)])
        guard case .personNames(let names)? = data.typedValue(.patientName) else { Issue.record("PN"); return }
        #expect(names.first?.familyName == "Doe")
        guard case .empty? = data.typedValue(DICOMTag(0x0008, 0x0050)) else { Issue.record("empty"); return }
        guard case .leftInFile(_, let length)? = data.typedValue(.pixelData) else { Issue.record("pixels"); return }
        #expect(length == 8)
    }

    @Test("implicit VR: private elements GDCM knows for their creator get the dictionary's VR")
    func implicitPrivateVR() throws {
        let file = try sampleFile(TemporaryFolder(), syntax: "1.2.840.10008.1.2")
        let data = file.dataSet
        let known = try #require(data[DICOMTag(0x0019, 0x100A)])
        #expect(known.vr == .UN && data.effectiveVR(of: known) == .US)
        guard case .integers([35])? = data.typedValue(DICOMTag(0x0019, 0x100A)) else { Issue.record("US from UN"); return }
        let unknown = try #require(data[DICOMTag(0x0019, 0x1101)])
        #expect(data.effectiveVR(of: unknown) == .UN)
    }

    @Test func elementNames() throws {
        let data = try sampleFile(TemporaryFolder()).dataSet
        #expect(data.elementName(.patientName).name == "Patient's Name")
        #expect(data.elementName(.patientName).keyword == "PatientName")
        #expect(data.elementName(DICOMTag(0x0019, 0x0010)).name == "Private Creator")
        let known = data.elementName(DICOMTag(0x0019, 0x100A))
        #expect(known.name == "[NumberOfImagesInMosaic]" && known.privateCreator == "SIEMENS MR HEADER" && known.isKnown)
        #expect(data.elementName(DICOMTag(0x0019, 0x1101)).name == "Private tag (ACME 1.1)")
        #expect(data.elementName(DICOMTag(0x0019, 0x1201)).name == "Private tag (no creator)")
        #expect(known.matches("mosaic") && known.matches("SIEMENS") && !known.matches("patient"))
    }

    @Test("the text listing, pinned")
    func dumpText() throws {
        let file = try sampleFile(TemporaryFolder())
        let lines = DICOMDump(file: file).text.split(separator: "\n").map(String.init)
        #expect(Array(lines.dropFirst()) == [
            "# File Meta Information",
            "(0002,0000) File Meta Information Group Length      UL  42",
            "(0002,0001) File Meta Information Version           OB  00\\01",
            "(0002,0010) Transfer Syntax UID                     UI  [1.2.840.10008.1.2.1] Explicit VR Little Endian",
            "# Data Set: Explicit VR Little Endian",
            "(0008,0005) Specific Character Set                  CS  [ISO_IR 192]",
            "(0008,0008) Image Type                              CS  [ORIGINAL\\PRIMARY\\\\M]",
            "(0008,0016) SOP Class UID                           UI  [1.2.840.10008.5.1.4.1.1.2] CT Image Storage",
            "(0008,0050) Accession Number                        SH  (no value)",
            "(0008,1140) Referenced Image Sequence               SQ  2 items",
            "  > item 1 of 2",
            "    (0008,1150) Referenced SOP Class UID            UI  [1.2.840.10008.5.1.4.1.1.2] CT Image Storage",
            "    (0040,A170) Purpose of Reference Code Sequence  SQ  1 item",
            "      > item 1 of 1",
            "        (0008,0104) Code Meaning                    LO  [Localizer]",
            "  > item 2 of 2",
            "    (0008,1155) Referenced SOP Instance UID         UI  [1.2.3]",
            "(0010,0010) Patient's Name                          PN  [Doe^John=ドウ^ジョン]",
            "(0018,0050) Slice Thickness                         DS  1.50",
            "(0018,1310) Acquisition Matrix                      US  0\\64\\64\\0",
            "(0019,0010) Private Creator                         LO  [SIEMENS MR HEADER]",
            "(0019,0011) Private Creator                         LO  [ACME 1.1]",
            "(0019,100A) [NumberOfImagesInMosaic]                US  35",
            "(0019,1101) Private tag (ACME 1.1)                  LO  [acme]",
            "(0019,1102) Private tag (ACME 1.1)                  OB  01\\02\\03\\04",
            "(0020,4000) Image Comments                          LT  [abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijab…] (100 characters)",
            "(0028,0009) Frame Increment Pointer                 AT  (0018,1063)",
            "(0028,0010) Rows                                    US  2",
            "(0028,0011) Columns                                 US  2",
            "(0028,0100) Bits Allocated                          US  16",
            "(7FE0,0010) Pixel Data                              OW  8 bytes of pixel data, 1 frame of 2×2, 16 bits allocated (not shown)",
        ])
    }

    @Test("grep keeps matches and the sequences around them")
    func dumpGrep() throws {
        let file = try sampleFile(TemporaryFolder())
        let dump = DICOMDump(file: file, grep: "MEANING")
        #expect(dump.metaEntries.isEmpty)
        #expect(dump.entries.map(\.element.tag) == [DICOMTag(0x0008, 0x1140)])
        #expect(dump.entries[0].items.map(\.index) == [0])
        #expect(dump.entries[0].items[0].entries.map(\.element.tag) == [DICOMTag(0x0040, 0xA170)])
        #expect(DICOMDump(file: file, grep: "nothing like this").isEmpty)
    }

    @Test("the JSON model, pinned")
    func dumpJSON() throws {
        let file = try sampleFile(TemporaryFolder())
        let json = DICOMDump(file: file).json
        let object = try #require(json.objectValue)
        #expect(object["00080008"]?.compactText == #"{"vr":"CS","Value":["ORIGINAL","PRIMARY",null,"M"]}"#)
        #expect(object["00080050"]?.compactText == #"{"vr":"SH"}"#)
        #expect(object["00100010"]?.compactText == #"{"vr":"PN","Value":[{"Alphabetic":"Doe^John","Ideographic":"ドウ^ジョン"}]}"#)
        #expect(object["00180050"]?.compactText == #"{"vr":"DS","Value":[1.5]}"#)
        #expect(object["00181310"]?.compactText == #"{"vr":"US","Value":[0,64,64,0]}"#)
        #expect(object["00191102"]?.compactText == #"{"vr":"OB","InlineBinary":"AQIDBA=="}"#)
        #expect(object["00280009"]?.compactText == #"{"vr":"AT","Value":["00181063"]}"#)
        #expect(object["00081140"]?.compactText == #"{"vr":"SQ","Value":[{"00081150":{"vr":"UI","Value":["1.2.840.10008.5.1.4.1.1.2"]},"0040A170":{"vr":"SQ","Value":[{"00080104":{"vr":"LO","Value":["Localizer"]}}]}},{"00081155":{"vr":"UI","Value":["1.2.3"]}}]}"#)
        let uri = try #require(object["7FE00010"]?["BulkDataURI"]?.stringValue)
        #expect(uri.hasPrefix("file:///") && uri.hasSuffix("&length=8"))
    }

    @Test func valueFormatter() {
        let formatter = DICOMValueFormatter(valueWidth: 10, maximumNumbers: 4, maximumHexBytes: 4)
        #expect(formatter.text(.strings(["a\nb\tc"]), vr: .LT) == "[a\\nb\\tc]")
        #expect(formatter.text(.strings(["0123456789AB"]), vr: .LO) == "[0123456789…] (12 characters)")
        #expect(formatter.text(.integers([1, 2, 3, 4, 5, 6]), vr: .US) == "1\\2\\… (6 values)")
        #expect(formatter.text(.decimals([55.80400085449219]), vr: .FL) == "55.804")
        #expect(formatter.text(.decimals([3, -0.25]), vr: .FD) == "3\\-0.25")
        #expect(formatter.text(.bytes([0x34, 0x12, 0x78, 0x56]), vr: .OW) == "1234\\5678")
        #expect(formatter.text(.bytes([0x34, 0x12, 0x78, 0x56]), vr: .OW, isLittleEndian: false) == "3412\\7856")
        #expect(formatter.text(.bytes(ArraySlice(repeating: 0, count: 5)), vr: .OB) == "5 bytes")
        #expect(formatter.text(.empty, vr: .SH) == "(no value)")
    }
}
