/// Writes DICOM Part 10 files (PS3.10 §7): a 128-byte preamble, "DICM", the file meta information
/// group (0002) in explicit VR little endian with its group length, then the data set.
///
/// The data set is written little endian in the requested transfer syntax: explicit VR (the default),
/// implicit VR, deflated explicit VR, or — for data sets whose pixel data are still encapsulated in a
/// source file — the source's compressed syntax, with the fragments copied unchanged. Values are padded
/// to even length (spaces for text, NUL for UI and OB); sequences and items are written with defined
/// lengths; binary values of a big-endian data set are re-encoded little endian. Group lengths other
/// than the meta group's are dropped (they are retired, and stale once values are re-encoded).
///
/// ```swift
/// let file = try DICOMFile.read(path: "in.dcm")
/// var dataSet = file.dataSet
/// dataSet.set(.text(.patientName, .PN, "Anonymous"))
/// try DICOMFileWriter.write(meta: file.fileMetaInformation, dataSet: dataSet,
///                           transferSyntax: file.transferSyntax, source: file, to: "out.dcm")
/// ```
public enum DICOMFileWriter {
    /// The file meta information group for `dataSet`: File Meta Information Version, Media Storage SOP
    /// Class and Instance UIDs (from the data set's SOP Class and Instance UIDs, else from `meta`),
    /// Transfer Syntax UID, medvol's Implementation Class UID and Version Name, the source/sending/
    /// receiving AE titles and private information kept from `meta`, and the group length.
    /// Throws when neither the data set nor `meta` names the SOP class and instance.
    public static func fileMetaInformation(for dataSet: DICOMDataSet, transferSyntax: TransferSyntax,
                                           keeping meta: DICOMDataSet = DICOMDataSet()) throws -> DICOMDataSet {
        guard let sopClass = dataSet.string(.sopClassUID) ?? meta.string(.mediaStorageSOPClassUID) else {
            throw MedVolError(.invalidArgument, reason: "the data set has no SOP Class UID (0008,0016)")
        }
        guard let sopInstance = dataSet.string(.sopInstanceUID) ?? meta.string(.mediaStorageSOPInstanceUID) else {
            throw MedVolError(.invalidArgument, reason: "the data set has no SOP Instance UID (0008,0018)")
        }
        var elements: [DICOMElement] = [
            .binary(DICOMTag(0x0002, 0x0001), .OB, [0x00, 0x01]),
            try .uid(.mediaStorageSOPClassUID, sopClass),
            try .uid(.mediaStorageSOPInstanceUID, sopInstance),
            try .uid(.transferSyntaxUID, transferSyntax.uid),
            try .uid(.implementationClassUID, DICOMUID.implementationClass),
            .text(.implementationVersionName, .SH, DICOMUID.implementationVersionName),
        ]
        // Kept from the source: Source, Sending and Receiving AE Titles, Private Information.
        let kept: Set<UInt16> = [0x0016, 0x0017, 0x0018, 0x0100, 0x0102]
        elements += meta.elements.filter { $0.tag.group == 0x0002 && kept.contains($0.tag.element) }
        var group = DICOMDataSet(elements: elements)
        var body = MemorySink()
        try DICOMEncoder(explicitVR: true, source: nil).encode(group, into: &body, isMetaGroup: true)
        group.set(try .numbers(.fileMetaInformationGroupLength, .UL, [Double(body.bytes.count)]))
        return group
    }

    /// The bytes of a Part 10 file holding `dataSet`. `meta` contributes only what
    /// ``fileMetaInformation(for:transferSyntax:keeping:)`` keeps. `source` is the file the data set was
    /// read from, needed when values were left in it (pixel data, encapsulated pixel data).
    public static func data(meta: DICOMDataSet = DICOMDataSet(), dataSet: DICOMDataSet,
                            transferSyntax: TransferSyntax = .explicitVRLittleEndian,
                            source: DICOMFile? = nil) throws -> [UInt8] {
        var sink = MemorySink()
        try write(meta: meta, dataSet: dataSet, transferSyntax: transferSyntax, source: source, into: &sink)
        return sink.bytes
    }

    /// Writes a Part 10 file to `path`, atomically (written beside it under a temporary name, then
    /// renamed): an existing `path` is refused unless `overwrite` is set. See
    /// ``data(meta:dataSet:transferSyntax:source:)``.
    public static func write(meta: DICOMDataSet = DICOMDataSet(), dataSet: DICOMDataSet,
                             transferSyntax: TransferSyntax = .explicitVRLittleEndian,
                             source: DICOMFile? = nil, to path: String, overwrite: Bool = false) throws {
        try OutputTransaction.write(outputs: [path], overwrite: overwrite) { transaction in
            try writeFile(meta: meta, dataSet: dataSet, transferSyntax: transferSyntax, source: source,
                          at: transaction.stagingPath(for: path))
        }
    }

    /// Writes the file at `path` directly (inside an ``OutputTransaction``'s staging area).
    static func writeFile(meta: DICOMDataSet, dataSet: DICOMDataSet, transferSyntax: TransferSyntax,
                          source: DICOMFile?, at path: String) throws {
        do {
            let file = try WritableFile(creating: path)
            var sink = FileSink(file: file)
            try write(meta: meta, dataSet: dataSet, transferSyntax: transferSyntax, source: source, into: &sink)
            try sink.flush()
            try file.close()
        } catch let error as MedVolError {
            throw error.at(path)
        }
    }

    /// Preamble, prefix and meta group, then the data set.
    static func write<S: DICOMByteSink>(meta: DICOMDataSet, dataSet: DICOMDataSet, transferSyntax: TransferSyntax,
                                        source: DICOMFile?, into sink: inout S) throws {
        try checkPixelEncoding(of: dataSet, for: transferSyntax)
        try sink.append(preambleAndMeta(meta: meta, dataSet: dataSet, transferSyntax: transferSyntax))
        let encoder = DICOMEncoder(explicitVR: transferSyntax.isExplicitVR, source: try source.map(DICOMValueSource.init))
        if transferSyntax.isDeflated {
            var plain = MemorySink()
            try encoder.encode(dataSet, into: &plain)
            try sink.append(try plain.bytes.withUnsafeBytes { try Zlib.deflate($0, wrapper: .raw) })
        } else {
            try encoder.encode(dataSet, into: &sink)
        }
    }

    /// The 128 zero bytes, "DICM" and the encoded meta group.
    static func preambleAndMeta(meta: DICOMDataSet, dataSet: DICOMDataSet, transferSyntax: TransferSyntax) throws -> [UInt8] {
        var sink = MemorySink()
        try sink.append([UInt8](repeating: 0, count: 128) + Array("DICM".utf8))
        let group = try fileMetaInformation(for: dataSet, transferSyntax: transferSyntax, keeping: meta)
        try DICOMEncoder(explicitVR: true, source: nil).encode(group, into: &sink, isMetaGroup: true)
        return sink.bytes
    }

    /// Native pixel data go with native syntaxes, encapsulated pixel data with their own syntax; the
    /// retired big-endian syntax is not written.
    private static func checkPixelEncoding(of dataSet: DICOMDataSet, for syntax: TransferSyntax) throws {
        guard syntax.isLittleEndian else {
            throw MedVolError.unsupported(nil, "medvol does not write the retired \(syntax.name) transfer syntax")
        }
        guard let pixelData = dataSet[.pixelData] else { return }
        if case .encapsulatedPixelData = pixelData.value {
            guard syntax.isEncapsulated else {
                throw MedVolError(.invalidArgument, reason: "the pixel data are compressed: they can only be copied into a file of their own transfer syntax, not \(syntax.name)")
            }
        } else if syntax.isEncapsulated {
            throw MedVolError(.invalidArgument, reason: "medvol does not compress pixel data: \(syntax.name) needs encapsulated pixel data from a source file")
        }
    }
}
