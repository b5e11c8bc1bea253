import Foundation
import Testing
@testable import MedVol

@Suite("PS3.15 basic-profile anonymization")
struct AnonymizationTests {
    // MARK: The table

    @Test("Table E.1-1 is read completely, without duplicate tags")
    func tableParses() {
        let rowLines = BasicProfile.tableText.split(separator: "\n").filter { $0.trimmingPrefix(while: { $0 == " " }).first == "(" }
        #expect(BasicProfile.rules.count == rowLines.count)
        #expect(BasicProfile.rules.count > 600)
        let keys = BasicProfile.rules.map { "\($0.tag.rawValue)/\($0.mask)" }
        #expect(Set(keys).count == keys.count)
        // Tag order, as in the standard's table.
        #expect(BasicProfile.rules.map(\.tag) == BasicProfile.rules.map(\.tag).sorted())
    }

    @Test("known rows have their basic-profile codes")
    func knownRows() {
        #expect(BasicProfile.action(for: .patientName) == .zeroLength)
        #expect(BasicProfile.action(for: .patientID) == .zeroLengthOrDummy)
        #expect(BasicProfile.action(for: .sopInstanceUID) == .replaceUID)
        #expect(BasicProfile.action(for: DICOMTag(0x0008, 0x0080)) == .removeOrZeroLengthOrDummy)   // Institution Name
        #expect(BasicProfile.action(for: DICOMTag(0x0008, 0x1140)) == .removeOrZeroLengthOrReplaceUIDs)
        #expect(BasicProfile.action(for: DICOMTag(0x0008, 0x0022)) == .removeOrZeroLength)          // Acquisition Date
        #expect(BasicProfile.action(for: DICOMTag(0x0008, 0x0021)) == .removeOrDummy)               // Series Date
        #expect(BasicProfile.action(for: DICOMTag(0x0020, 0x4000)) == .remove)                      // Image Comments
        #expect(BasicProfile.rule(for: DICOMTag(0x0010, 0x1040))?.name == "Patient's Address")
        // Repeating groups.
        #expect(BasicProfile.action(for: DICOMTag(0x5012, 0x3000)) == .remove)
        #expect(BasicProfile.action(for: DICOMTag(0x6002, 0x3000)) == .remove)
        #expect(BasicProfile.action(for: DICOMTag(0x6002, 0x0010)) == nil)                          // Overlay Rows: kept
        // Geometry and pixels are not in the table.
        #expect(BasicProfile.action(for: .imagePositionPatient) == nil)
        #expect(BasicProfile.action(for: .pixelData) == nil)
    }

    @Test("combined codes resolve to the choice that keeps every IOD valid")
    func appliedActions() {
        #expect(DeidentificationAction.removeOrZeroLength.applied == .zeroLength)
        #expect(DeidentificationAction.removeOrDummy.applied == .dummy)
        #expect(DeidentificationAction.zeroLengthOrDummy.applied == .dummy)
        #expect(DeidentificationAction.removeOrZeroLengthOrDummy.applied == .dummy)
        #expect(DeidentificationAction.removeOrZeroLengthOrReplaceUIDs.applied == .replaceUID)
        for simple in [DeidentificationAction.dummy, .zeroLength, .remove, .keep, .replaceUID] {
            #expect(simple.applied == simple)
        }
    }

    // MARK: Data sets

    static let ctClass = "1.2.840.10008.5.1.4.1.1.2"

    static func sample(instance: String, series: String = "1.2.3.10", referenced: String? = nil) throws -> DICOMDataSet {
        var elements: [DICOMElement] = [
            try .uid(.sopClassUID, ctClass),
            try .uid(.sopInstanceUID, instance),
            try .uid(.studyInstanceUID, "1.2.3.1"),
            try .uid(.seriesInstanceUID, series),
            try .uid(.frameOfReferenceUID, "1.2.3.99"),
            .text(.patientName, .PN, "Doe^Jane"),
            .text(.patientID, .LO, "MRN123"),
            .text(DICOMTag(0x0010, 0x0030), .DA, "19800202"),
            .text(.studyDate, .DA, "20240101"),
            .text(.acquisitionTime, .TM, "101010.5"),
            .text(DICOMTag(0x0008, 0x0080), .LO, "General Hospital"),
            .text(DICOMTag(0x0008, 0x0081), .ST, "1 Main Street"),
            .text(DICOMTag(0x0020, 0x4000), .LT, "free text about Jane"),
            .text(DICOMTag(0x0010, 0x1010), .AS, "044Y"),
            .text(.modality, .CS, "CT"),
            try .decimalString(.imagePositionPatient, [1.5, -2, 30]),
            .text(DICOMTag(0x0019, 0x0010), .LO, "SECRET CREATOR"),
            .text(DICOMTag(0x0019, 0x1001), .LO, "secret value"),
            .sequence(DICOMTag(0x0008, 0x1115), [DICOMDataSet(elements: [      // Referenced Series (not in the table)
                try .uid(.seriesInstanceUID, series),
                .text(DICOMTag(0x0008, 0x1050), .PN, "Dr^Nested"),
                .text(.studyDate, .DA, "20240101"),
            ])]),
            .binary(.pixelData, .OW, [1, 2, 3, 4]),
        ]
        if let referenced {
            elements.append(.sequence(DICOMTag(0x0008, 0x1140), [DICOMDataSet(elements: [
                try .uid(DICOMTag(0x0008, 0x1150), ctClass), try .uid(DICOMTag(0x0008, 0x1155), referenced),
            ])]))
        }
        return DICOMDataSet(elements: elements)
    }

    @Test("each attribute gets its action, recursively; private elements go")
    func actions() throws {
        let anonymizer = DICOMAnonymizer()
        let result = try anonymizer.anonymize(try Self.sample(instance: "1.2.3.100"))
        #expect(result.string(.patientName) == nil && result.contains(.patientName))           // Z
        #expect(result.string(.patientID) == "ANON0001")                                          // Z/D → pseudonym
        #expect(result.contains(DICOMTag(0x0010, 0x0030)) && result.string(DICOMTag(0x0010, 0x0030)) == nil)  // birth date emptied
        #expect(result.string(.studyDate) == "19000101")                                          // Z on a date: the dummy
        #expect(result.string(.acquisitionTime) == "000000")                                      // X/Z → Z: the dummy time
        #expect(result.string(DICOMTag(0x0008, 0x0080)) == "ANONYMIZED")                          // X/Z/D → D
        #expect(!result.contains(DICOMTag(0x0008, 0x0081)))                                       // X
        #expect(!result.contains(DICOMTag(0x0020, 0x4000)))
        #expect(!result.contains(DICOMTag(0x0010, 0x1010)))
        #expect(!result.elements.contains { $0.tag.group & 1 == 1 })                              // private
        #expect(result.string(.modality) == "CT")                                                 // kept
        #expect(result.doubles(.imagePositionPatient) == [1.5, -2, 30])
        #expect(result[.pixelData]?.bytes == [1, 2, 3, 4])
        #expect(result.string(.sopClassUID) == Self.ctClass)
        #expect(result.string(DICOMTag(0x0012, 0x0062)) == "YES")
        #expect(result.string(DICOMTag(0x0012, 0x0063))?.contains("PS3.15") == true)
        #expect(result.firstItem(DICOMTag(0x0012, 0x0064))?.string(DICOMTag(0x0008, 0x0100)) == "113100")
        let nested = try #require(result.firstItem(DICOMTag(0x0008, 0x1115)))
        #expect(!nested.contains(DICOMTag(0x0008, 0x1050)))
        #expect(nested.string(.studyDate) == "19000101")
        #expect(nested.string(.seriesInstanceUID) == result.string(.seriesInstanceUID))
    }

    @Test("the same old UID gives the same new UID; classes and well-known UIDs are kept")
    func consistentUIDs() throws {
        let anonymizer = DICOMAnonymizer()
        let first = try anonymizer.anonymize(try Self.sample(instance: "1.2.3.100"))
        let second = try anonymizer.anonymize(try Self.sample(instance: "1.2.3.101", referenced: "1.2.3.100"))
        for tag in [DICOMTag.studyInstanceUID, .seriesInstanceUID, .frameOfReferenceUID] {
            let value = try #require(first.string(tag))
            #expect(value.hasPrefix("2.25.") && DICOMUID.isValid(value))
            #expect(value == second.string(tag))
        }
        #expect(first.string(.sopInstanceUID) != second.string(.sopInstanceUID))
        let reference = try #require(second.firstItem(DICOMTag(0x0008, 0x1140)))
        #expect(reference.string(DICOMTag(0x0008, 0x1155)) == first.string(.sopInstanceUID))
        #expect(reference.string(DICOMTag(0x0008, 0x1150)) == Self.ctClass)
        #expect(anonymizer.replacementUID(for: "1.2.3.1") == first.string(.studyInstanceUID))
        #expect(anonymizer.uidMapping.count == 5)                                                 // study, series, frame, 2 instances
        #expect(anonymizer.patientIDMapping.map(\.original) == ["MRN123"])
        // A fresh anonymizer makes different UIDs.
        let other = try DICOMAnonymizer().anonymize(try Self.sample(instance: "1.2.3.100"))
        #expect(other.string(.studyInstanceUID) != first.string(.studyInstanceUID))
    }

    @Test("overrides replace the table's action")
    func overrides() throws {
        var options = DICOMAnonymizer.Options()
        options.overrides[DICOMTag(0x0008, 0x0080)] = .keep
        options.overrides[.modality] = .remove
        let result = try DICOMAnonymizer(options: options).anonymize(try Self.sample(instance: "1.2.3.100"))
        #expect(result.string(DICOMTag(0x0008, 0x0080)) == "General Hospital")
        #expect(!result.contains(.modality))
    }

    // MARK: Files

    @Test("with keepInputNames a folder is mirrored, pixel bytes copied, meta group follows the new SOP Instance UID")
    func folder() throws {
        let folder = TemporaryFolder()
        let series = try DICOMSeriesWriter.write(obliquePhantom(size: [6, 5, 3]), toDirectory: folder.file("in/series"))
        _ = try folder.write("in/readme.txt", Array("hello".utf8))
        let anonymizer = DICOMAnonymizer()
        let report = try anonymizer.anonymize(input: folder.file("in"), output: folder.file("out"), mappingPath: folder.file("map.json"),
                                              naming: .keepInputNames)
        #expect(report.files.count == 3 && report.skipped.map { FileSystem.lastComponent(of: $0.path) } == ["readme.txt"])
        #expect(folder.contents(of: folder.file("out")) == ["series"])
        for path in series.paths {
            let output = folder.file("out/series/" + FileSystem.lastComponent(of: path))
            let original = try DICOMFile.read(path: path), anonymized = try DICOMFile.read(path: output)
            #expect(try pixelBytes(original) == pixelBytes(anonymized))
            #expect(anonymized.fileMetaInformation.string(.mediaStorageSOPInstanceUID) == anonymized.dataSet.string(.sopInstanceUID))
            #expect(anonymized.dataSet.string(.seriesInstanceUID) == anonymizer.replacementUID(for: series.seriesInstanceUID))
            #expect(anonymized.transferSyntax == original.transferSyntax)
        }
        let mapping = try String(contentsOfFile: folder.file("map.json"), encoding: .utf8)
        #expect(mapping.contains(series.seriesInstanceUID))
        // The volume is unchanged.
        let before = try Volume(contentsOf: folder.file("in/series"), format: .dicom)
        let after = try Volume(contentsOf: folder.file("out/series"), format: .dicom)
        #expect(before.size == after.size && before.origin == after.origin && before.spacing == after.spacing)
        #expect(before.withUnsafeBytes { Array($0) } == after.withUnsafeBytes { Array($0) })
        // An existing output is refused.
        #expect(throws: MedVolError.self) { try anonymizer.anonymize(input: folder.file("in"), output: folder.file("out")) }
        // So is an output inside the input.
        #expect(throws: MedVolError.self) { try anonymizer.anonymize(input: folder.file("in"), output: folder.file("in/anon")) }
        #expect(!FileSystem.exists(folder.file("in/anon")))
    }
}
