#if canImport(Glibc)
import Glibc
#endif

/// A stack as the archive index records it: what `medvol series` lists, the files it is made of and a
/// digest of their state, under a key that stays the same when other series are added or removed.
public struct IndexedStack: Sendable, Hashable {
    /// `SeriesInstanceUID/ORDINAL`: the series and the stack's place among that series' stacks (1-based),
    /// as `medvol series` orders them. ``shardHash`` is computed from it.
    public let key: String
    /// 1-based position in the archive's listing (the index `medvol series` shows).
    public let position: Int
    /// Series Instance UID shared by the stack's images.
    public let seriesInstanceUID: String
    /// The stack's place among the stacks of its series (1-based).
    public let ordinalInSeries: Int
    /// Series Number of the first image.
    public let seriesNumber: Int?
    /// Modality of the first image.
    public let modality: String?
    /// Series Description of the first image.
    public let seriesDescription: String?
    /// Study Instance UID of the first image.
    public let studyInstanceUID: String?
    /// Study Date of the first image, as stored.
    public let studyDate: String?
    /// Patient ID of the first image.
    public let patientID: String?
    /// Images (frames, mosaic tiles) in the stack.
    public let imageCount: Int
    /// Files the images come from.
    public let fileCount: Int
    /// `[nx, ny, nz]` or `[nx, ny, nz, nt]` when the stack makes a volume.
    public let size: [Int]?
    /// Voxel spacing (x, y, z) in mm when the stack makes a volume.
    public let spacing: [Double]?
    /// Orientation code ("LPS") when the stack makes a volume.
    public let orientation: String?
    /// "axial", "coronal", "sagittal", "oblique" or "unknown".
    public let plane: ImagePlane
    /// How pixels are stored, as ``DICOMStack/storedPixels``.
    public let storedPixels: String
    /// How the stack was formed: the description of ``DICOMStack/formation``.
    public let formation: String
    /// Irregularities found: the descriptions of ``DICOMStack/warnings``.
    public let warnings: [String]
    /// Why the stack cannot become a volume (nil when it can), as `medvol series` shows it.
    public let problem: String?
    /// ``ArchiveIndex/sourceDigest(of:)`` of the stack's files when indexed.
    public let sourceDigest: String
    /// Whether the stack is only part of its series (``StackFormation/isSplit``).
    public let isSplit: Bool
    /// Protocol Name (0018,1030) of the first image, for dcm2niix's `%p` name field.
    public let protocolName: String?
    /// Study Time of the first image, as stored, for dcm2niix's `%t`.
    public let studyTime: String?
    /// Echo Number of the first image, for dcm2niix's `%e`.
    public let echoNumber: Int?

    /// FNV-1a 64 of the key's UTF-8 bytes (see ``ArchiveIndex/stableHash(_:)``).
    public var shardHash: UInt64 { ArchiveIndex.stableHash(key) }

    /// Whether the stack belongs to shard `shard` (1-based) of `count`: `shardHash % count == shard - 1`.
    public func isInShard(_ shard: Int, of count: Int) -> Bool { shardHash % UInt64(count) == UInt64(shard - 1) }
}

/// The outcome of converting one stack, as recorded in the index's `results` table.
public struct StackConversionRecord: Sendable, Hashable {
    /// Whether the stack was written.
    public enum Status: String, Sendable {
        /// The output was written.
        case converted
        /// The conversion failed; ``StackConversionRecord/error`` says why.
        case failed
    }
    /// The stack's key (``IndexedStack/key``).
    public let key: String
    /// Converted or failed.
    public let status: Status
    /// The output file or folder (the first path written).
    public let output: String
    /// The output format's extension ("nii.gz").
    public let format: String
    /// The stack's source digest when converted; a later run with another digest converts it again.
    public let sourceDigest: String
    /// The stack's and the writer's warnings.
    public let warnings: [String]
    /// The error line of a failure.
    public let error: String?

    /// A record of one conversion attempt.
    public init(key: String, status: Status, output: String, format: String, sourceDigest: String, warnings: [String], error: String?) {
        self.key = key
        self.status = status
        self.output = output
        self.format = format
        self.sourceDigest = sourceDigest
        self.warnings = warnings
        self.error = error
    }
}

/// What one `index` run did.
public struct ArchiveIndexUpdate: Sendable, Hashable {
    /// Files found under the archive.
    public let fileCount: Int
    /// Files whose headers were read in this run (new or changed files, and the other files of the
    /// series they belong to); 0 when nothing changed.
    public let headersRead: Int
    /// Files new since the last run.
    public let newFiles: Int
    /// Files whose size or modification time changed.
    public let changedFiles: Int
    /// Files gone from the archive.
    public let removedFiles: Int
    /// Stacks in the index after the run.
    public let stackCount: Int
    /// Stacks formed again (those of the series whose files changed).
    public let stacksRebuilt: Int
    /// Files that are not DICOM images.
    public let skippedCount: Int
}

/// An SQLite index of a DICOM archive (docs/archive-index.md): every file with its size, modification
/// time, SOP Instance UID, transfer syntax and skip reason; every stack a scan of the archive finds, with
/// its files; the result of converting each stack. Made by one parallel header-only pass; updating it
/// re-reads only files whose size or modification time changed (and the other files of their series).
public final class ArchiveIndex {
    /// The schema this version writes; an index of another version is refused.
    public static let schemaVersion = 1
    /// The index's database connection (for queries of one's own; the schema is in docs/archive-index.md).
    public let database: SQLiteDatabase
    /// The archive folder the index describes (an absolute path).
    public let archive: String

    /// Opens an existing index.
    public init(path: String) throws {
        guard FileSystem.kind(of: path) == .file else { throw MedVolError.notFound(path) }
        database = try SQLiteDatabase(path: path, create: false)
        // A database without the `meta` table (or not a database) is not an index either.
        let meta = (try? database.query("SELECT key, value FROM meta")) ?? []
        let value = { (key: String) in meta.first { $0[0].text == key }?[1].text }
        guard let version = value("schema_version"), version == String(Self.schemaVersion), let root = value("archive") else {
            throw MedVolError(.unrecognizedFormat, path: path, reason: "not a medvol archive index of schema \(Self.schemaVersion)")
        }
        archive = root
    }

    private init(database: SQLiteDatabase, archive: String) {
        self.database = database
        self.archive = archive
    }

    /// FNV-1a, 64 bits, of `text`'s UTF-8 bytes (offset basis 0xcbf29ce484222325, prime 0x100000001b3).
    public static func stableHash(_ text: String) -> UInt64 {
        var digest: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { digest = (digest ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return digest
    }

    /// 16 hex digits of ``stableHash(_:)`` over one line `PATH\tSIZE\tMTIME_NS\tSOP_UID\n` per file, in
    /// the stack's volume order: it changes when any file of the stack does (as `index` sees files).
    public static func sourceDigest(of files: [(path: String, size: Int64, modified: Int64, sopInstanceUID: String?)]) -> String {
        var text = ""
        for file in files { text += "\(file.path)\t\(file.size)\t\(file.modified)\t\(file.sopInstanceUID ?? "")\n" }
        return hex16(stableHash(text))
    }

    static func hex16(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    // MARK: Building

    /// Creates or updates the index at `indexPath` for the folder `archive`: lists its files, reads the
    /// headers of those that are new or changed (size or modification time) and of the other files of
    /// their series, forms those series' stacks again, removes vanished files. The stacks are those
    /// ``DICOMScan`` finds in the folder, in its order.
    public static func update(indexPath: String, archive: String, control: WorkControl = .none) throws -> (ArchiveIndex, ArchiveIndexUpdate) {
        guard FileSystem.kind(of: archive) == .directory else {
            throw FileSystem.exists(archive) ? MedVolError(.invalidArgument, path: archive, reason: "not a folder") : MedVolError.notFound(archive)
        }
        let root = FileSystem.trimmingTrailingSlashes(FileSystem.absolutePath(archive))
        let database = try SQLiteDatabase(path: indexPath)
        try database.transaction { try createSchema(database, root: root, indexPath: indexPath) }
        let index = ArchiveIndex(database: database, archive: root)
        let summary = try index.refresh(indexPath: indexPath, control: control)
        return (index, summary)
    }

    private static func createSchema(_ database: SQLiteDatabase, root: String, indexPath: String) throws {
        try database.execute("""
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS files (
                id INTEGER PRIMARY KEY,
                path TEXT NOT NULL UNIQUE,
                size INTEGER NOT NULL,
                mtime_ns INTEGER NOT NULL,
                sop_instance_uid TEXT,
                series_instance_uid TEXT,
                transfer_syntax_uid TEXT,
                skip_reason TEXT
            );
            CREATE INDEX IF NOT EXISTS files_by_series ON files (series_instance_uid);
            CREATE TABLE IF NOT EXISTS stacks (
                key TEXT PRIMARY KEY,
                position INTEGER NOT NULL,
                series_instance_uid TEXT NOT NULL,
                ordinal_in_series INTEGER NOT NULL,
                shard_hash TEXT NOT NULL,
                series_number INTEGER,
                modality TEXT,
                series_description TEXT,
                study_instance_uid TEXT,
                study_date TEXT,
                patient_id TEXT,
                image_count INTEGER NOT NULL,
                file_count INTEGER NOT NULL,
                size TEXT,
                spacing_x REAL, spacing_y REAL, spacing_z REAL,
                orientation TEXT,
                plane TEXT NOT NULL,
                stored_pixels TEXT NOT NULL,
                formation TEXT NOT NULL,
                problem TEXT,
                source_digest TEXT NOT NULL,
                split INTEGER NOT NULL,
                protocol_name TEXT,
                study_time TEXT,
                echo_number INTEGER
            );
            CREATE INDEX IF NOT EXISTS stacks_by_series ON stacks (series_instance_uid);
            CREATE TABLE IF NOT EXISTS stack_files (
                stack_key TEXT NOT NULL REFERENCES stacks (key) ON DELETE CASCADE,
                ordinal INTEGER NOT NULL,
                file_id INTEGER NOT NULL REFERENCES files (id),
                PRIMARY KEY (stack_key, ordinal)
            );
            CREATE INDEX IF NOT EXISTS stack_files_by_file ON stack_files (file_id);
            CREATE TABLE IF NOT EXISTS stack_warnings (
                stack_key TEXT NOT NULL REFERENCES stacks (key) ON DELETE CASCADE,
                ordinal INTEGER NOT NULL,
                warning TEXT NOT NULL,
                PRIMARY KEY (stack_key, ordinal)
            );
            CREATE TABLE IF NOT EXISTS results (
                stack_key TEXT PRIMARY KEY,
                status TEXT NOT NULL CHECK (status IN ('converted', 'failed')),
                output TEXT NOT NULL,
                format TEXT NOT NULL,
                source_digest TEXT NOT NULL,
                warnings TEXT NOT NULL,
                error TEXT,
                finished_at INTEGER NOT NULL
            );
            """)
        let existing = try database.query("SELECT value FROM meta WHERE key = 'archive'").first?[0].text
        if let existing, existing != root {
            throw MedVolError(.invalidArgument, path: indexPath, reason: "indexes the archive \(existing), not \(root)")
        }
        if let version = try database.query("SELECT value FROM meta WHERE key = 'schema_version'").first?[0].text,
           version != String(schemaVersion) {
            throw MedVolError(.unrecognizedFormat, path: indexPath, reason: "an archive index of schema \(version); this medvol writes \(schemaVersion)")
        }
        try database.query("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?), ('archive', ?)",
                           [.text(String(schemaVersion)), .text(root)])
    }

    private struct KnownFile {
        var id: Int64
        var size: Int64
        var modified: Int64
        var seriesUID: String?
    }

    private func refresh(indexPath: String, control: WorkControl) throws -> ArchiveIndexUpdate {
        // The index's own files, when it lies inside the archive, are not part of it.
        let own = Set(["", "-wal", "-shm", "-journal"].map { FileSystem.absolutePath(indexPath) + $0 })
        // One walk gives each file's size and modification time (from the lstat it makes anyway).
        var listing = try FileSystem.regularFilesWithState(under: archive, sorted: false).filter { !own.contains($0.path) }
        // Fast path: the same files with the same sizes and times as when the index was last brought up
        // to date (a digest of the whole listing in the walk's order, kept in `meta`) — nothing to compare
        // row by row, nothing to sort.
        let listingDigest = Self.listingDigest(listing)
        if try database.query("SELECT value FROM meta WHERE key = 'listing_digest'").first?[0].text == listingDigest {
            return ArchiveIndexUpdate(fileCount: listing.count, headersRead: 0, newFiles: 0, changedFiles: 0, removedFiles: 0,
                                      stackCount: Int(try database.query("SELECT count(*) FROM stacks")[0][0].integer ?? 0),
                                      stacksRebuilt: 0, skippedCount: try skippedCount())
        }
        listing.sort { $0.path < $1.path }
        let paths = listing.map(\.path)
        let states: [FileSystem.FileState?] = listing.map(\.state)
        var known: [String: KnownFile] = [:]
        known.reserveCapacity(Int(try database.query("SELECT count(*) FROM files")[0][0].integer ?? 0))
        try database.forEachRow("SELECT path, id, size, mtime_ns, series_instance_uid FROM files") { row in
            known[row[0].text!] = KnownFile(id: row[1].integer!, size: row[2].integer!, modified: row[3].integer!, seriesUID: row[4].text)
        }
        var toRead: [Int] = []                 // positions in `paths`
        var newCount = 0, changedCount = 0, knownPresent = 0
        var affectedSeries = Set<String>()
        for (position, path) in paths.enumerated() {
            guard let state = states[position] else { continue }
            if let file = known[path] {
                knownPresent += 1
                if file.size == state.size && file.modified == state.modifiedNanoseconds { continue }
                changedCount += 1
                if let uid = file.seriesUID { affectedSeries.insert(uid) }
            } else {
                newCount += 1
            }
            toRead.append(position)
        }
        // Files of the index not found (only looked for when some are missing).
        let present = knownPresent == known.count ? Set<String>() : Set(paths)
        let vanished = knownPresent == known.count ? [:] : known.filter { !present.contains($0.key) }
        for file in vanished.values { if let uid = file.seriesUID { affectedSeries.insert(uid) } }
        let stackCountBefore = try database.query("SELECT count(*) FROM stacks").first?[0].integer ?? 0
        if toRead.isEmpty && vanished.isEmpty {
            try setListingDigest(listingDigest)
            return ArchiveIndexUpdate(fileCount: paths.count, headersRead: 0, newFiles: 0, changedFiles: 0, removedFiles: 0,
                                      stackCount: Int(stackCountBefore), stacksRebuilt: 0, skippedCount: try skippedCount())
        }

        // Headers of new and changed files.
        var outcomes: [String: DICOMScan.ScanOutcome] = [:]
        let read = try DICOMScan.readHeaders(of: toRead.map { paths[$0] }, control: control)
        for (position, outcome) in zip(toRead, read) {
            outcomes[paths[position]] = outcome
            if let uid = Self.seriesUID(outcome) { affectedSeries.insert(uid) }
        }
        // The unchanged files of every series touched: their headers too, to form the series again.
        let unchangedMembers = known.filter { vanished[$0.key] == nil && outcomes[$0.key] == nil && $0.value.seriesUID.map(affectedSeries.contains) == true }
            .map(\.key).sorted()
        for (path, outcome) in zip(unchangedMembers, try DICOMScan.readHeaders(of: unchangedMembers, control: control)) {
            outcomes[path] = outcome
        }
        // The affected series' files in the archive's order: the stacks a scan of the whole archive gives them.
        let memberPaths = outcomes.filter { Self.seriesUID($0.value).map(affectedSeries.contains) == true }.map(\.key).sorted()
        let scan = DICOMScan(files: memberPaths, outcomes: memberPaths.map { outcomes[$0]! })

        var stacksRebuilt = 0
        try database.transaction {
            for (path, file) in vanished {
                try database.query("DELETE FROM stack_files WHERE file_id = ?", [.integer(file.id)])
                try database.query("DELETE FROM files WHERE path = ?", [.text(path)])
            }
            for position in toRead {
                let path = paths[position], state = states[position]!, outcome = outcomes[path]!
                var values: [SQLiteValue] = [.text(path), .integer(state.size), .integer(state.modifiedNanoseconds)]
                switch outcome {
                case .image(let header, let frames, _, _):
                    values += [Self.textOrNull(header.dataSet.string(.sopInstanceUID)), Self.textOrNull(frames.first?.seriesInstanceUID),
                               .text(header.transferSyntax.uid), .null]
                case .skipped(let reason):
                    values += [.null, .null, .null, .text(reason)]
                }
                try database.query("""
                    INSERT INTO files (path, size, mtime_ns, sop_instance_uid, series_instance_uid, transfer_syntax_uid, skip_reason)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns,
                        sop_instance_uid = excluded.sop_instance_uid, series_instance_uid = excluded.series_instance_uid,
                        transfer_syntax_uid = excluded.transfer_syntax_uid, skip_reason = excluded.skip_reason
                    """, values)
            }
            for uid in affectedSeries {
                try database.query("DELETE FROM stacks WHERE series_instance_uid = ?", [.text(uid)])
            }
            var fileRows: [String: (id: Int64, size: Int64, modified: Int64, sop: String?)] = [:]
            for path in memberPaths {
                let row = try database.query("SELECT id, size, mtime_ns, sop_instance_uid FROM files WHERE path = ?", [.text(path)])[0]
                fileRows[path] = (row[0].integer!, row[1].integer!, row[2].integer!, row[3].text)
            }
            var ordinals: [String: Int] = [:]
            for stack in scan.stacks {
                let ordinal = (ordinals[stack.seriesInstanceUID] ?? 0) + 1
                ordinals[stack.seriesInstanceUID] = ordinal
                let key = "\(stack.seriesInstanceUID)/\(ordinal)"
                let files = stack.filePaths.map { path in (path: path, row: fileRows[path]!) }
                let digest = Self.sourceDigest(of: files.map { ($0.path, $0.row.size, $0.row.modified, $0.row.sop) })
                try insert(stack, key: key, ordinal: ordinal, digest: digest, fileIDs: files.map(\.row.id))
                stacksRebuilt += 1
            }
            try renumberStacks()
            try setListingDigest(listingDigest)
        }
        let stackCount = try database.query("SELECT count(*) FROM stacks").first?[0].integer ?? 0
        return ArchiveIndexUpdate(fileCount: paths.count, headersRead: toRead.count + unchangedMembers.count, newFiles: newCount,
                                  changedFiles: changedCount, removedFiles: vanished.count, stackCount: Int(stackCount),
                                  stacksRebuilt: stacksRebuilt, skippedCount: try skippedCount())
    }

    /// FNV-1a 64 over `PATH\tSIZE\tMTIME_NS\n` of every file listed, in the walk's order.
    private static func listingDigest(_ listing: [(path: String, state: FileSystem.FileState)]) -> String {
        var digest: UInt64 = 0xcbf2_9ce4_8422_2325
        func add(_ text: String) { for byte in text.utf8 { digest = (digest ^ UInt64(byte)) &* 0x100_0000_01b3 } }
        for (path, state) in listing {
            add(path)
            add("\t\(state.size)\t\(state.modifiedNanoseconds)\n")
        }
        return "\(listing.count):" + hex16(digest)
    }

    private func setListingDigest(_ digest: String) throws {
        try database.query("INSERT OR REPLACE INTO meta (key, value) VALUES ('listing_digest', ?)", [.text(digest)])
    }

    private func skippedCount() throws -> Int {
        Int(try database.query("SELECT count(*) FROM files WHERE skip_reason IS NOT NULL").first?[0].integer ?? 0)
    }

    private static func seriesUID(_ outcome: DICOMScan.ScanOutcome) -> String? {
        if case .image(_, let frames, _, _) = outcome { return frames.first?.seriesInstanceUID }
        return nil
    }

    private static func textOrNull(_ text: String?) -> SQLiteValue { text.map { .text($0) } ?? .null }
    private static func integerOrNull(_ number: Int?) -> SQLiteValue { number.map { .integer(Int64($0)) } ?? .null }

    private func insert(_ stack: DICOMStack, key: String, ordinal: Int, digest: String, fileIDs: [Int64]) throws {
        let spacing = stack.geometry.map { [$0.spacing.x, $0.spacing.y, $0.spacing.z] }
        try database.query("""
            INSERT INTO stacks (key, position, series_instance_uid, ordinal_in_series, shard_hash, series_number, modality,
                series_description, study_instance_uid, study_date, patient_id, image_count, file_count, size,
                spacing_x, spacing_y, spacing_z, orientation, plane, stored_pixels, formation, problem, source_digest,
                split, protocol_name, study_time, echo_number)
            VALUES (?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [
                .text(key), .text(stack.seriesInstanceUID), .integer(Int64(ordinal)), .text(Self.hex16(Self.stableHash(key))),
                Self.integerOrNull(stack.seriesNumber), Self.textOrNull(stack.modality), Self.textOrNull(stack.seriesDescription),
                Self.textOrNull(stack.studyInstanceUID), Self.textOrNull(stack.studyDate), Self.textOrNull(stack.patientID),
                .integer(Int64(stack.imageCount)), .integer(Int64(stack.fileCount)),
                Self.textOrNull(stack.size.map { $0.map(String.init).joined(separator: ",") }),
                spacing.map { .real($0[0]) } ?? .null, spacing.map { .real($0[1]) } ?? .null, spacing.map { .real($0[2]) } ?? .null,
                Self.textOrNull(stack.geometry?.orientationCode), .text(stack.plane.rawValue), .text(stack.storedPixels),
                .text(stack.formation.description), Self.textOrNull(stack.state.problemDescription), .text(digest),
                .integer(stack.formation.isSplit ? 1 : 0), Self.textOrNull(stack.firstHeader.string(DICOMTag(0x0018, 0x1030))),
                Self.textOrNull(stack.firstHeader.string(.studyTime)), Self.integerOrNull(stack.firstHeader.int(.echoNumbers)),
            ])
        for (ordinal, id) in fileIDs.enumerated() {
            try database.query("INSERT INTO stack_files (stack_key, ordinal, file_id) VALUES (?, ?, ?)",
                               [.text(key), .integer(Int64(ordinal + 1)), .integer(id)])
        }
        for (ordinal, warning) in stack.warnings.enumerated() {
            try database.query("INSERT INTO stack_warnings (stack_key, ordinal, warning) VALUES (?, ?, ?)",
                               [.text(key), .integer(Int64(ordinal + 1)), .text(warning.description)])
        }
    }

    /// Positions as a scan of the whole archive numbers its stacks: by series number (none last), series
    /// UID, then the stack's place in its series.
    private func renumberStacks() throws {
        var rows: [(key: String, number: Int64, uid: String, ordinal: Int64)] = []
        try database.forEachRow("SELECT key, series_number, series_instance_uid, ordinal_in_series FROM stacks") { row in
            rows.append((row[0].text!, row[1].integer ?? Int64.max, row[2].text!, row[3].integer!))
        }
        rows.sort { ($0.number, $0.uid, $0.ordinal) < ($1.number, $1.uid, $1.ordinal) }
        for (position, row) in rows.enumerated() {
            try database.query("UPDATE stacks SET position = ? WHERE key = ?", [.integer(Int64(position + 1)), .text(row.key)])
        }
    }

    // MARK: Reading

    /// Every stack, in listing order.
    public func stacks() throws -> [IndexedStack] {
        var warnings: [String: [String]] = [:]
        try database.forEachRow("SELECT stack_key, warning FROM stack_warnings ORDER BY stack_key, ordinal") { row in
            warnings[row[0].text!, default: []].append(row[1].text!)
        }
        var result: [IndexedStack] = []
        try database.forEachRow("""
            SELECT key, position, series_instance_uid, ordinal_in_series, series_number, modality, series_description,
                study_instance_uid, study_date, patient_id, image_count, file_count, size, spacing_x, spacing_y, spacing_z,
                orientation, plane, stored_pixels, formation, problem, source_digest, split, protocol_name, study_time, echo_number
            FROM stacks ORDER BY position
            """) { row in
            let key = row[0].text!
            let spacing = row[13].real.flatMap { x in row[14].real.flatMap { y in row[15].real.map { [x, y, $0] } } }
            result.append(IndexedStack(
                key: key, position: Int(row[1].integer!), seriesInstanceUID: row[2].text!, ordinalInSeries: Int(row[3].integer!),
                seriesNumber: row[4].integer.map(Int.init), modality: row[5].text, seriesDescription: row[6].text,
                studyInstanceUID: row[7].text, studyDate: row[8].text, patientID: row[9].text,
                imageCount: Int(row[10].integer!), fileCount: Int(row[11].integer!),
                size: row[12].text.map { $0.split(separator: ",").compactMap { Int($0) } }, spacing: spacing,
                orientation: row[16].text, plane: ImagePlane(rawValue: row[17].text!) ?? .unknown, storedPixels: row[18].text!,
                formation: row[19].text!, warnings: warnings[key] ?? [], problem: row[20].text, sourceDigest: row[21].text!,
                isSplit: row[22].integer == 1, protocolName: row[23].text, studyTime: row[24].text,
                echoNumber: row[25].integer.map(Int.init)))
        }
        return result
    }

    /// Files that are not DICOM images, in path order, with the reason.
    public func skippedFiles() throws -> [SkippedFile] {
        try database.query("SELECT path, skip_reason FROM files WHERE skip_reason IS NOT NULL ORDER BY path").map {
            SkippedFile(path: $0[0].text!, reason: $0[1].text!)
        }
    }

    /// How many files the index records.
    public func fileCount() throws -> Int { Int(try database.query("SELECT count(*) FROM files").first?[0].integer ?? 0) }

    /// The recorded result of converting the stack `key`, if any.
    public func conversionRecord(for key: String) throws -> StackConversionRecord? {
        guard let row = try database.query("SELECT status, output, format, source_digest, error FROM results WHERE stack_key = ?", [.text(key)]).first,
              let status = StackConversionRecord.Status(rawValue: row[0].text ?? "") else { return nil }
        return StackConversionRecord(key: key, status: status, output: row[1].text!, format: row[2].text!, sourceDigest: row[3].text!,
                                     warnings: [], error: row[4].text)
    }

    /// Records (replacing) a stack's conversion result, in a transaction of its own.
    public func record(_ result: StackConversionRecord) throws {
        var seconds = timespec()
        clock_gettime(CLOCK_REALTIME, &seconds)
        let warnings = JSONValue.array(result.warnings.map { .string($0) }).compactText
        try database.transaction {
            try database.query("""
                INSERT OR REPLACE INTO results (stack_key, status, output, format, source_digest, warnings, error, finished_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, [.text(result.key), .text(result.status.rawValue), .text(result.output), .text(result.format),
                      .text(result.sourceDigest), .text(warnings), Self.textOrNull(result.error), .integer(Int64(seconds.tv_sec))])
        }
    }

    /// The files of a stack, in volume order, with their size and modification time when indexed.
    public func files(of key: String) throws -> [(path: String, size: Int64, modified: Int64, sopInstanceUID: String?)] {
        try database.query("""
            SELECT f.path, f.size, f.mtime_ns, f.sop_instance_uid FROM stack_files s JOIN files f ON f.id = s.file_id
            WHERE s.stack_key = ? ORDER BY s.ordinal
            """, [.text(key)]).map { ($0[0].text!, $0[1].integer!, $0[2].integer!, $0[3].text) }
    }

    /// The digest of a stack's files as they are now on disk (nil when one is missing).
    public func currentSourceDigest(of key: String) throws -> String? {
        var current: [(path: String, size: Int64, modified: Int64, sopInstanceUID: String?)] = []
        for file in try files(of: key) {
            guard let state = FileSystem.state(of: file.path) else { return nil }
            current.append((file.path, state.size, state.modifiedNanoseconds, file.sopInstanceUID))
        }
        return Self.sourceDigest(of: current)
    }

    /// The stack `stack` as a ``DICOMStack``, ready to load or write, from the headers of its series'
    /// files alone (no other file of the archive is opened). Fails naming a file when the series' files
    /// changed since they were indexed: run `medvol index` again.
    public func loadStack(_ stack: IndexedStack) throws -> DICOMStack {
        let rows = try database.query("SELECT path, size, mtime_ns FROM files WHERE series_instance_uid = ? ORDER BY path",
                                      [.text(stack.seriesInstanceUID)])
        for row in rows {
            let path = row[0].text!
            guard let state = FileSystem.state(of: path) else {
                throw MedVolError(.notFound, path: path, reason: "file of stack \(stack.key) missing since indexed; run medvol index again")
            }
            if state.size != row[1].integer! || state.modifiedNanoseconds != row[2].integer! {
                throw MedVolError(.inconsistentSeries, path: path, reason: "changed since indexed (size or modification time); run medvol index again")
            }
        }
        let paths = rows.map { $0[0].text! }
        let scan = DICOMScan(files: paths, outcomes: try DICOMScan.readHeaders(of: paths))
        let members = scan.stacks.filter { $0.seriesInstanceUID == stack.seriesInstanceUID }
        guard stack.ordinalInSeries <= members.count,
              members[stack.ordinalInSeries - 1].filePaths == (try files(of: stack.key)).map(\.path) else {
            throw MedVolError(.inconsistentSeries, path: paths.first ?? archive,
                              reason: "stack \(stack.key) is no longer formed as indexed; run medvol index again")
        }
        return members[stack.ordinalInSeries - 1]
    }
}

