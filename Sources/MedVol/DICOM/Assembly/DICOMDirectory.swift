/// A DICOMDIR file-set directory (PS3.3 F.3): its directory records and the files they reference.
public struct DICOMDirectory: Sendable {
    /// One directory record (PATIENT, STUDY, SERIES, IMAGE, …) with its keys.
    public struct Record: Sendable {
        /// The Directory Record Type, upper-cased: "PATIENT", "STUDY", "SERIES", "IMAGE", … ("UNKNOWN"
        /// when absent).
        public let type: String
        /// The record's data set (its keys: PatientID, StudyDate, SeriesNumber, …).
        public let keys: DICOMDataSet
        /// Path of the referenced file (the DICOMDIR's folder joined with the Referenced File ID; relative
        /// when the DICOMDIR's path is), for records that reference one.
        public let referencedFile: String?
        /// The records below this one (a PATIENT's studies, a STUDY's series, a SERIES' images).
        public let children: [Record]
    }

    /// The path the DICOMDIR was read from.
    public let path: String
    /// The top-level records (usually PATIENT), with their children.
    public let roots: [Record]

    /// Reads a DICOMDIR.
    public init(path: String) throws {
        let file = try DICOMFile.read(path: path)
        try self.init(file: file)
    }

    init(file: DICOMFile) throws {
        path = file.path
        guard let items = file.dataSet.sequence(.directoryRecordSequence) else {
            throw MedVolError(.unrecognizedFormat, path: file.path, reason: "not a DICOMDIR (no Directory Record Sequence)")
        }
        roots = Self.records(items, folder: FileSystem.parentDirectory(of: file.path))
    }

    /// Builds the record tree. Records are listed depth first (each record followed by its
    /// descendants), which is how writers order them; the hierarchy PATIENT > STUDY > SERIES > leaf
    /// records (IMAGE, …) tells where each record belongs.
    private static func records(_ items: [DICOMDataSet], folder: String) -> [Record] {
        func level(_ item: DICOMDataSet) -> Int {
            ["PATIENT": 0, "STUDY": 1, "SERIES": 2][(item.string(.directoryRecordType) ?? "").uppercased()] ?? 3
        }
        var next = 0
        func parse(atLevel minimum: Int) -> [Record] {
            var result: [Record] = []
            while next < items.count {
                let item = items[next]
                let itemLevel = level(item)
                if itemLevel < minimum { break }
                next += 1
                let components = item.strings(.referencedFileID).filter { !$0.isEmpty }
                let file = components.isEmpty ? nil : folder + "/" + components.joined(separator: "/")
                let children = itemLevel < 3 ? parse(atLevel: itemLevel + 1) : []
                result.append(Record(type: (item.string(.directoryRecordType) ?? "UNKNOWN").uppercased(),
                                     keys: item, referencedFile: file, children: children))
            }
            return result
        }
        var roots: [Record] = []
        while next < items.count { roots += parse(atLevel: 0) }
        return roots
    }

    /// Every referenced file, in record order.
    public var referencedFiles: [String] {
        var files: [String] = []
        func walk(_ record: Record) {
            if let file = record.referencedFile { files.append(file) }
            record.children.forEach(walk)
        }
        roots.forEach(walk)
        return files
    }

    /// When `path` is a DICOMDIR: the files it references (those present) and the missing ones as
    /// skipped. Nil when `path` is not a DICOMDIR.
    static func referencedFilesIfDirectory(_ path: String) throws -> (files: [String], missing: [SkippedFile])? {
        guard let file = directoryFile(path) else { return nil }
        let (present, missing) = locate(try DICOMDirectory(file: file).referencedFiles)
        // Only regular files, inside the DICOMDIR's folder (unless allowed), are opened.
        let folder = FileSystem.parentDirectory(of: path)
        for reference in present + missing {
            guard let problem = FileSystem.referenceProblem(FileSystem.caseInsensitiveMatch(reference) ?? reference, within: folder),
                  problem != .missing else { continue }
            let reason = switch problem {
            case .outside: "references \(reference), outside the folder \(folder) (allow it with --allow-outside-references)"
            case .notRegular(let kind): "references \(reference), which is not a regular file (\(kind))"
            default: "references \(reference), a symbolic link loop"
            }
            throw MedVolError.corrupt(path, reason)
        }
        return (present, missing.map { SkippedFile(path: $0, reason: "referenced by \(path) but missing") })
    }

    /// The file at `path` when it is a DICOMDIR, recognised by its content whatever its name: a Media
    /// Storage Directory (1.2.840.10008.1.3.10) or a data set with a Directory Record Sequence, in any
    /// transfer syntax. A DICOMDIR has no pixel data, so the header-only read holds all its records.
    private static func directoryFile(_ path: String) -> DICOMFile? {
        guard let file = try? DICOMFile.read(path: path, extent: .headerOnly), file.isDirectory,
              file.pixelDataElement == nil else { return nil }
        return file
    }

    /// Referenced files split into those present (as found, ignoring case) and those missing, in order.
    private static func locate(_ references: [String]) -> (present: [String], missing: [String]) {
        var present: [String] = [], missing: [String] = []
        for reference in references {
            if let found = FileSystem.caseInsensitiveMatch(reference) { present.append(found) } else { missing.append(reference) }
        }
        return (present, missing)
    }
}

/// One series as a DICOMDIR's records describe it: known without opening any image file.
public struct DirectorySeries: Sendable {
    /// Patient ID of the PATIENT record above the series.
    public let patientID: String?
    /// Patient's Name of the PATIENT record, as stored (components joined by `^`).
    public let patientName: String?
    /// Study Instance UID of the STUDY record above the series.
    public let studyInstanceUID: String?
    /// Study Date of the STUDY record, as stored (`YYYYMMDD`).
    public let studyDate: String?
    /// Study Description of the STUDY record.
    public let studyDescription: String?
    /// Series Instance UID of the SERIES record.
    public let seriesInstanceUID: String?
    /// Series Number of the SERIES record.
    public let seriesNumber: Int?
    /// Modality of the SERIES record ("CT", "MR", …).
    public let modality: String?
    /// Series Description of the SERIES record.
    public let seriesDescription: String?
    /// Files the series' image records reference that exist (ignoring case, as DICOMDIR file IDs are
    /// upper case and copies do not always keep them so).
    public let files: [String]
    /// Referenced files that are missing.
    public let missingFiles: [String]
    /// Rows and columns, when every image record gives the same ones.
    public let rows: Int?
    /// See ``rows``.
    public let columns: Int?

    /// Image records in the series.
    public var imageCount: Int { files.count + missingFiles.count }
}

extension DICOMDirectory {
    /// Every series, from the PATIENT › STUDY › SERIES › IMAGE records alone: an archive listed without
    /// opening its image files. (Stacks inside a series — a localizer, magnitude and phase — show only
    /// once the files' headers are read; see ``DICOMScan``.)
    public var series: [DirectorySeries] {
        var result: [DirectorySeries] = []
        func visit(_ record: Record, patient: DICOMDataSet?, study: DICOMDataSet?) {
            switch record.type {
            case "PATIENT":
                record.children.forEach { visit($0, patient: record.keys, study: nil) }
            case "STUDY":
                record.children.forEach { visit($0, patient: patient, study: record.keys) }
            case "SERIES":
                var references: [String] = []
                var sizes = Set<[Int]>()
                func collect(_ leaf: Record) {
                    if let file = leaf.referencedFile {
                        references.append(file)
                        sizes.insert([leaf.keys.int(.rows) ?? -1, leaf.keys.int(.columns) ?? -1])
                    }
                    leaf.children.forEach(collect)
                }
                record.children.forEach(collect)
                let (files, missing) = Self.locate(references)
                let size = sizes.count == 1 ? sizes.first! : nil
                let keys = record.keys
                result.append(DirectorySeries(
                    patientID: patient?.string(.patientID), patientName: patient?.string(.patientName),
                    studyInstanceUID: study?.string(.studyInstanceUID), studyDate: study?.string(.studyDate),
                    studyDescription: study?.string(.studyDescription),
                    seriesInstanceUID: keys.string(.seriesInstanceUID), seriesNumber: keys.int(.seriesNumber),
                    modality: keys.string(.modality), seriesDescription: keys.string(.seriesDescription),
                    files: files, missingFiles: missing,
                    rows: size.flatMap { $0[0] > 0 ? $0[0] : nil }, columns: size.flatMap { $0[1] > 0 ? $0[1] : nil }))
            default:
                record.children.forEach { visit($0, patient: patient, study: study) }
            }
        }
        roots.forEach { visit($0, patient: nil, study: nil) }
        return result
    }

    /// Whether `path` is a DICOMDIR (a Media Storage Directory, whatever the file's name).
    public static func isDirectory(_ path: String) -> Bool {
        directoryFile(path) != nil
    }
}
