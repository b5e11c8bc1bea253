import Foundation
import Testing
@testable import MedVol

@Suite("DICOM Part 10 file writer")
struct DICOMWritingFileTests {
    /// The files a test writes; removed when the test ends.
    private let files = TemporaryFolder()

    static let sopClass = "1.2.840.10008.5.1.4.1.1.7"
    static let sopInstance = "1.2.3.4.5"

    /// A small data set: text of odd and even length, a UID, numbers, a sequence.
    static func sample() throws -> DICOMDataSet {
        DICOMDataSet(elements: [
            try .uid(.sopClassUID, sopClass),
            try .uid(.sopInstanceUID, sopInstance),
            .text(.patientName, .PN, "Doe^J"),
            .text(.patientID, .LO, "ID42"),
            try .numbers(.rows, .US, [2]),
            try .numbers(.columns, .US, [3]),
            try .decimalString(.pixelSpacing, [0.5, 0.7]),
            .sequence(DICOMTag(0x0008, 0x1140), [
                DICOMDataSet(elements: [try .uid(DICOMTag(0x0008, 0x1150), "1.2"), .text(.studyDescription, .LO, "abc")]),
            ]),
            .binary(.pixelData, .OB, [1, 2, 3, 4, 5]),
        ])
    }

    /// Little-endian reads from a byte array.
    static func u16(_ bytes: [UInt8], _ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
    static func u32(_ bytes: [UInt8], _ at: Int) -> Int { u16(bytes, at) | u16(bytes, at + 2) << 16 }

    /// Offset of the first occurrence of `needle`.
    static func find(_ needle: [UInt8], in bytes: [UInt8]) -> Int? {
        guard needle.count <= bytes.count else { return nil }
        return (0...(bytes.count - needle.count)).first { Array(bytes[$0..<$0 + needle.count]) == needle }
    }

    @Test("preamble, DICM, meta group with the right group length, then the data set")
    func layout() throws {
        let bytes = try DICOMFileWriter.data(dataSet: try Self.sample())
        #expect(bytes[0..<128].allSatisfy { $0 == 0 })
        #expect(Array(bytes[128..<132]) == Array("DICM".utf8))
        // (0002,0000) UL 4 <length>
        #expect(Array(bytes[132..<140]) == [0x02, 0x00, 0x00, 0x00, 0x55, 0x4C, 0x04, 0x00])
        let groupLength = Self.u32(bytes, 140)
        let dataSetStart = 144 + groupLength
        #expect(Self.u16(bytes, dataSetStart) == 0x0008)                       // first element after the group
        // Every element between 144 and the data set is group 0002.
        var offset = 144
        var metaTags: [Int] = []
        while offset < dataSetStart {
            #expect(Self.u16(bytes, offset) == 0x0002)
            metaTags.append(Self.u16(bytes, offset + 2))
            let vr = String(decoding: bytes[offset + 4..<offset + 6], as: UTF8.self)
            if vr == "OB" {
                offset += 12 + Self.u32(bytes, offset + 8)
            } else {
                offset += 8 + Self.u16(bytes, offset + 6)
            }
        }
        #expect(offset == dataSetStart)
        #expect(metaTags == [0x0001, 0x0002, 0x0003, 0x0010, 0x0012, 0x0013])

        let file = try DICOMFile.read(path: try write(bytes))
        let meta = file.fileMetaInformation
        #expect(meta.string(.mediaStorageSOPClassUID) == Self.sopClass)
        #expect(meta.string(.mediaStorageSOPInstanceUID) == Self.sopInstance)
        #expect(meta.string(.transferSyntaxUID) == TransferSyntax.explicitVRLittleEndian.uid)
        #expect(meta.string(.implementationClassUID) == DICOMUID.implementationClass)
        #expect(meta.string(.implementationVersionName) == DICOMUID.implementationVersionName)
        #expect(meta[DICOMTag(0x0002, 0x0001)]?.bytes == [0x00, 0x01])
        #expect(meta.int(.fileMetaInformationGroupLength) == groupLength)
    }

    @Test("values are padded to even length with the VR's padding byte")
    func padding() throws {
        let bytes = try DICOMFileWriter.data(dataSet: try Self.sample())
        // PN "Doe^J" (5) → "Doe^J " (6): tag, "PN", length 6.
        let name = try #require(Self.find([0x10, 0x00, 0x10, 0x00, 0x50, 0x4E], in: bytes))
        #expect(Self.u16(bytes, name + 6) == 6)
        #expect(Array(bytes[name + 8..<name + 14]) == Array("Doe^J ".utf8))
        // LO "ID42" (4) stays 4.
        let id = try #require(Self.find([0x10, 0x00, 0x20, 0x00, 0x4C, 0x4F], in: bytes))
        #expect(Self.u16(bytes, id + 6) == 4)
        // UI "1.2.3.4.5" (9) → NUL-padded to 10.
        let uid = try #require(Self.find([0x08, 0x00, 0x18, 0x00, 0x55, 0x49], in: bytes))
        #expect(Self.u16(bytes, uid + 6) == 10)
        #expect(Array(bytes[uid + 8..<uid + 18]) == Array("1.2.3.4.5".utf8) + [0])
        // DS "0.5\0.7" (7) → space-padded to 8.
        let spacing = try #require(Self.find([0x28, 0x00, 0x30, 0x00, 0x44, 0x53], in: bytes))
        #expect(Array(bytes[spacing + 8..<spacing + 16]) == Array("0.5\\0.7 ".utf8))
        // OB of 5 bytes: reserved bytes, 32-bit length 6, NUL-padded; pixel data come last.
        let pixels = try #require(Self.find([0xE0, 0x7F, 0x10, 0x00, 0x4F, 0x42], in: bytes))
        #expect(Array(bytes[pixels + 6..<pixels + 12]) == [0, 0, 6, 0, 0, 0])
        #expect(Array(bytes[(pixels + 12)...]) == [1, 2, 3, 4, 5, 0])
        #expect(bytes.count % 2 == 0)
    }

    @Test("a sequence is written with defined lengths and reads back")
    func sequence() throws {
        let bytes = try DICOMFileWriter.data(dataSet: try Self.sample())
        let start = try #require(Self.find([0x08, 0x00, 0x40, 0x11, 0x53, 0x51, 0x00, 0x00], in: bytes))
        let sequenceLength = Self.u32(bytes, start + 8)
        // One item: (FFFE,E000), its length, then (0008,1030) LO "abc " and (0008,1150) UI "1.2" + NUL.
        #expect(Array(bytes[start + 12..<start + 16]) == [0xFE, 0xFF, 0x00, 0xE0])
        let itemLength = Self.u32(bytes, start + 16)
        #expect(itemLength == (8 + 4) + (8 + 4))
        #expect(sequenceLength == 8 + itemLength)
        let item: [UInt8] = [0x08, 0x00, 0x30, 0x10, 0x4C, 0x4F, 4, 0] + Array("abc ".utf8)
            + [0x08, 0x00, 0x50, 0x11, 0x55, 0x49, 4, 0] + Array("1.2".utf8) + [0]
        #expect(Array(bytes[start + 20..<start + 44]) == item)

        let file = try DICOMFile.read(path: try write(bytes))
        let read = try #require(file.dataSet.firstItem(DICOMTag(0x0008, 0x1140)))
        #expect(read.string(DICOMTag(0x0008, 0x1150)) == "1.2")
        #expect(read.string(.studyDescription) == "abc")
        #expect(file.dataSet.string(.patientName) == "Doe^J")
        #expect(file.dataSet.doubles(.pixelSpacing) == [0.5, 0.7])
        #expect(file.dataSet.int(.columns) == 3)
    }

    @Test("implicit VR little endian: tag and 32-bit length, no VR")
    func implicitVR() throws {
        let bytes = try DICOMFileWriter.data(dataSet: try Self.sample(), transferSyntax: .implicitVRLittleEndian)
        let name = try #require(Self.find([0x10, 0x00, 0x10, 0x00, 0x06, 0x00, 0x00, 0x00], in: bytes))
        #expect(Array(bytes[name + 8..<name + 14]) == Array("Doe^J ".utf8))
        let file = try DICOMFile.read(path: try write(bytes))
        #expect(file.transferSyntax == .implicitVRLittleEndian)
        #expect(file.dataSet.string(.patientName) == "Doe^J")
        #expect(file.dataSet.firstItem(DICOMTag(0x0008, 0x1140))?.string(DICOMTag(0x0008, 0x1150)) == "1.2")
        #expect(file.dataSet.int(.rows) == 2)
    }

    @Test("deflated explicit VR little endian reads back")
    func deflated() throws {
        let bytes = try DICOMFileWriter.data(dataSet: try Self.sample(), transferSyntax: .deflatedExplicitVRLittleEndian)
        let file = try DICOMFile.read(path: try write(bytes))
        #expect(file.transferSyntax == .deflatedExplicitVRLittleEndian)
        #expect(file.dataSet.string(.patientID) == "ID42")
        #expect(file.dataSet.firstItem(DICOMTag(0x0008, 0x1140))?.string(DICOMTag(0x0008, 0x1150)) == "1.2")
    }

    @Test("binary values of a big-endian data set are written little endian")
    func bigEndianValues() throws {
        let dataSet = DICOMDataSet(elements: [
            try .uid(.sopClassUID, Self.sopClass), try .uid(.sopInstanceUID, Self.sopInstance),
            .binary(.rows, .US, [0x01, 0x02]),
            .binary(DICOMTag(0x0018, 0x9087), .FD, [0x40, 0x09, 0x21, 0xFB, 0x54, 0x44, 0x2D, 0x18]),
        ], isLittleEndian: false)
        let bytes = try DICOMFileWriter.data(dataSet: dataSet)
        let rows = try #require(Self.find([0x28, 0x00, 0x10, 0x00, 0x55, 0x53], in: bytes))
        #expect(Array(bytes[rows + 8..<rows + 10]) == [0x02, 0x01])
        let file = try DICOMFile.read(path: try write(bytes))
        #expect(file.dataSet.int(.rows) == 0x0102)
        #expect(file.dataSet.double(DICOMTag(0x0018, 0x9087)) == Double.pi)
    }

    @Test("deferred pixel data are copied from the source file: re-writing a file gives the same bytes")
    func copyFromSource() throws {
        var elements = try Self.sample().elements.filter { $0.tag != .pixelData }
        let pixels = (0..<6000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        elements.append(.binary(.pixelData, .OW, pixels))
        let original = try DICOMFileWriter.data(dataSet: DICOMDataSet(elements: elements))
        let source = try DICOMFile.read(path: try write(original))
        guard case .deferred = source.pixelDataElement?.value else {
            Issue.record("the parser should leave the pixel data in the file")
            return
        }
        let copy = try DICOMFileWriter.data(meta: source.fileMetaInformation, dataSet: source.dataSet,
                                            transferSyntax: source.transferSyntax, source: source)
        #expect(copy == original)
        // Without the source, the pixel data cannot be written.
        #expect(throws: MedVolError.self) { try DICOMFileWriter.data(dataSet: source.dataSet) }
    }

    @Test("a big-endian source file is re-encoded little endian, pixel data included", .enabled(if: which("dcmconv") != nil))
    func bigEndianSource() throws {
        let folder = TemporaryFolder()
        var elements = try Self.sample().elements.filter { $0.tag != .pixelData }
        let words: [UInt16] = (0..<6).map { UInt16($0) * 0x0101 + 0x1234 }
        elements.append(.binary(.pixelData, .OW, words.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }))
        elements.append(try .numbers(.bitsAllocated, .US, [16]))
        let littlePath = folder.file("little.dcm"), bigPath = folder.file("big.dcm")
        try DICOMFileWriter.write(dataSet: DICOMDataSet(elements: elements), to: littlePath)
        let converted = try run(which("dcmconv")!, ["+tb", "-q", littlePath, bigPath])
        #expect(converted.status == 0, "\(converted.error)")

        let big = try DICOMFile.read(path: bigPath)
        #expect(big.transferSyntax == .explicitVRBigEndian)
        let back = folder.file("back.dcm")
        try DICOMFileWriter.write(meta: big.fileMetaInformation, dataSet: big.dataSet, source: big, to: back)
        let file = try DICOMFile.read(path: back)
        #expect(file.transferSyntax == .explicitVRLittleEndian)
        #expect(file.dataSet.int(.rows) == 2 && file.dataSet.int(.bitsAllocated) == 16)
        #expect(file.dataSet.string(.patientName) == "Doe^J")
        let stored = try pixelBytes(file).withUnsafeBytes { Array($0.bindMemory(to: UInt16.self)) }
        #expect(stored == words)
    }

    @Test("encapsulated (RLE) pixel data are copied unchanged in their own transfer syntax", .enabled(if: which("gdcmconv") != nil))
    func encapsulatedCopy() throws {
        let folder = TemporaryFolder()
        let volume = Phantom.ct(size: [32, 24, 1])
        let report = try DICOMSeriesWriter.write(volume, toDirectory: folder.file("series"))
        let rlePath = folder.file("rle.dcm")
        let converted = try run(which("gdcmconv")!, ["--rle", report.paths[0], rlePath])
        #expect(converted.status == 0, "\(converted.error)")

        let rle = try DICOMFile.read(path: rlePath)
        #expect(rle.transferSyntax == .rleLossless)
        guard case .encapsulatedPixelData? = rle.pixelDataElement?.value else {
            Issue.record("gdcmconv should have written encapsulated pixel data")
            return
        }
        var dataSet = rle.dataSet
        dataSet.set(.text(.patientName, .PN, "Copied^Pixels"))
        let copyPath = folder.file("copy.dcm")
        try DICOMFileWriter.write(meta: rle.fileMetaInformation, dataSet: dataSet, transferSyntax: rle.transferSyntax,
                                  source: rle, to: copyPath)
        // Everything from the pixel data element on is the same bytes.
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: rlePath)))
        let copy = [UInt8](try Data(contentsOf: URL(fileURLWithPath: copyPath)))
        let marker: [UInt8] = [0xE0, 0x7F, 0x10, 0x00, 0x4F, 0x42, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]
        let a = try #require(Self.find(marker, in: original)), b = try #require(Self.find(marker, in: copy))
        #expect(Array(original[a...]) == Array(copy[b...]))
        let reread = try DICOMFile.read(path: copyPath)
        #expect(reread.transferSyntax == .rleLossless)
        #expect(reread.dataSet.string(.patientName) == "Copied^Pixels")
        // And it still decodes to the phantom's voxels.
        let raw = folder.file("raw.dcm")
        #expect(try run(which("gdcmconv")!, ["--raw", copyPath, raw]).status == 0)
        let decoded = try pixelBytes(try DICOMFile.read(path: raw))
        #expect(decoded == volume.withUnsafeBytes { Array($0) })
        // A native syntax cannot take encapsulated pixel data.
        #expect(throws: MedVolError.self) { try DICOMFileWriter.data(dataSet: dataSet, source: rle) }
    }

    @Test("writing a file refuses an existing one unless overwrite is set")
    func overwrite() throws {
        let folder = TemporaryFolder()
        let path = folder.file("a.dcm")
        try DICOMFileWriter.write(dataSet: try Self.sample(), to: path)
        let error = #expect(throws: MedVolError.self) { try DICOMFileWriter.write(dataSet: try Self.sample(), to: path) }
        #expect(error?.code == .outputExists)
        try DICOMFileWriter.write(dataSet: try Self.sample(), transferSyntax: .implicitVRLittleEndian, to: path, overwrite: true)
        #expect(try DICOMFile.read(path: path).transferSyntax == .implicitVRLittleEndian)
        #expect(folder.contents() == ["a.dcm"])
    }

    @Test("what cannot be written is refused with a reason")
    func refusals() throws {
        // No SOP class.
        #expect(throws: MedVolError.self) {
            try DICOMFileWriter.data(dataSet: DICOMDataSet(elements: [.text(.patientName, .PN, "x")]))
        }
        // The retired big-endian syntax.
        #expect(throws: MedVolError.self) {
            try DICOMFileWriter.data(dataSet: try Self.sample(), transferSyntax: .explicitVRBigEndian)
        }
        // Native pixel data under a compressed syntax.
        #expect(throws: MedVolError.self) {
            try DICOMFileWriter.data(dataSet: try Self.sample(), transferSyntax: .jpegBaseline)
        }
        // A short-length VR cannot hold more than 65535 bytes in explicit VR.
        let long = DICOMDataSet(elements: [try .uid(.sopClassUID, Self.sopClass), try .uid(.sopInstanceUID, Self.sopInstance),
                                           .text(.patientID, .LO, String(repeating: "x", count: 70_000))])
        #expect(throws: MedVolError.self) { try DICOMFileWriter.data(dataSet: long) }
        #expect(throws: MedVolError.self) { try DICOMElement.uid(.sopInstanceUID, "1.02.3") }
        #expect(throws: MedVolError.self) { try DICOMElement.numbers(.rows, .US, [70_000]) }
        #expect(throws: MedVolError.self) { try DICOMElement.numbers(.rows, .US, [1.5]) }
        #expect(throws: MedVolError.self) { try DICOMElement.decimalString(.sliceThickness, [.nan]) }
        #expect(throws: MedVolError.self) { try DICOMElement.integerString(.instanceNumber, [1 << 40]) }
    }

    private func write(_ bytes: [UInt8]) throws -> String {
        try files.write("\(UInt64.random(in: 0...UInt64.max)).dcm", bytes)
    }
}

@Suite("DICOM UIDs and number strings")
struct DICOMWritingValueTests {
    @Test("generated UIDs are 2.25 UUID UIDs, valid and distinct")
    func uids() {
        let uids = (0..<2000).map { _ in DICOMUID.generate() }
        #expect(Set(uids).count == 2000)
        for uid in uids {
            #expect(uid.hasPrefix("2.25."))
            #expect(uid.count <= 44)
            #expect(DICOMUID.isValid(uid))
            let digits = uid.dropFirst(5)
            #expect(digits.first != "0")
            let value = UInt128(digits)!
            // Version 4 and the RFC 4122 variant.
            #expect((value >> 76) & 0xF == 4)
            #expect((value >> 62) & 0x3 == 2)
        }
        var seeded = SplitMix64(seed: 1), again = SplitMix64(seed: 1)
        #expect(DICOMUID.generate(using: &seeded) == DICOMUID.generate(using: &again))
        #expect(DICOMUID.isValid(DICOMUID.implementationClass))
    }

    @Test("UID validity")
    func validity() {
        #expect(DICOMUID.isValid("1.2.840.10008.1.2.1"))
        #expect(DICOMUID.isValid("0.0"))
        #expect(!DICOMUID.isValid(""))
        #expect(!DICOMUID.isValid("1.02"))
        #expect(!DICOMUID.isValid("1..2"))
        #expect(!DICOMUID.isValid("1.2."))
        #expect(!DICOMUID.isValid("1.2.a"))
        #expect(!DICOMUID.isValid("1." + String(repeating: "2", count: 63)))
        #expect(DICOMUID.isValid("1." + String(repeating: "2", count: 62)))
    }

    static let decimalCases: [(Double, String)] = [
        (0.7, "0.7"), (-1024, "-1024"), (0, "0"), (-0.0, "0"), (1e-5, "1e-5"), (2.5, "2.5"), (0.25, "0.25"),
        (1.0 / 3, "0.33333333333333"), (-123.456789012345678, "-123.45678901235"), (1e20, "1e20"),
        (6.103515625e-05, "6.103515625e-5"), (123456789012345680, "1.23456789012e17"), (-2.5e-300, "-2.5e-300"),
        (0.1 + 0.2, "0.3"),
    ]

    @Test("decimal strings: at most 16 characters, as precise as fits", arguments: decimalCases)
    func decimalStrings(_ value: Double, _ expected: String) {
        let text = DICOMElement.decimalString(value)
        #expect(text == expected)
        if let text {
            #expect(text.count <= 16)
            let back = Double(text)!
            #expect(abs(back - value) <= abs(value) * 1e-10)
        }
    }

    @Test("decimal strings keep the most digits that fit, for many values")
    func decimalStringPrecision() {
        var generator = SplitMix64(seed: 5)
        for _ in 0..<5000 {
            let magnitude = Double(Int(generator.next() % 40)) - 20
            let value = (Double(generator.next() % 1_000_000_007) / 1_000_000_007 - 0.5) * pow(10, magnitude)
            let text = DICOMElement.decimalString(value)!
            #expect(text.count <= 16)
            // 16 characters hold at least 10 significant digits whatever the exponent.
            #expect(abs(Double(text)! - value) <= abs(value) * 5e-10, "\(value) → \(text)")
        }
        #expect(DICOMElement.decimalString(.infinity) == nil)
        #expect(DICOMElement.decimalString(.nan) == nil)
    }
}
