import Foundation
import Testing
@testable import MedVol

@Suite("Archive index: SQLite wrapper, stable hash")
struct ArchiveIndexTests {
    private func scratch() throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("medvol-index-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder.path
    }

    @Test("FNV-1a 64 gives the published test vectors")
    func fnv1a() {
        #expect(ArchiveIndex.stableHash("") == 0xcbf2_9ce4_8422_2325)
        #expect(ArchiveIndex.stableHash("a") == 0xaf63_dc4c_8601_ec8c)
        #expect(ArchiveIndex.stableHash("foobar") == 0x8594_4171_f739_67e8)
        #expect(ArchiveIndex.hex16(0xaf) == "00000000000000af")
    }

    @Test("values round-trip; a transaction that throws leaves nothing; the database is in WAL mode")
    func database() throws {
        let path = try scratch() + "/test.sqlite"
        let database = try SQLiteDatabase(path: path)
        try database.execute("CREATE TABLE t (i INTEGER, r REAL, s TEXT, n TEXT)")
        try database.query("INSERT INTO t VALUES (?, ?, ?, ?)", [.integer(-7), .real(0.1), .text("é\u{1B}x"), .null])
        let rows = try database.query("SELECT i, r, s, n FROM t")
        #expect(rows.map(\.values) == [[.integer(-7), .real(0.1), .text("é\u{1B}x"), .null]])
        struct Stop: Error {}
        #expect(throws: Stop.self) {
            try database.transaction {
                try database.query("INSERT INTO t VALUES (1, 1, 'x', NULL)")
                throw Stop()
            }
        }
        #expect(try database.query("SELECT count(*) FROM t")[0][0] == .integer(1))
        #expect(try database.query("PRAGMA journal_mode")[0][0] == .text("wal"))
        #expect(throws: MedVolError.self) { try database.query("SELECT * FROM missing") }
    }

    @Test("opening a file that is not an index fails naming it")
    func notAnIndex() throws {
        let path = try scratch() + "/other.sqlite"
        try SQLiteDatabase(path: path).execute("CREATE TABLE x (y)")
        do {
            _ = try ArchiveIndex(path: path)
            Issue.record("opened")
        } catch let error as MedVolError {
            #expect(error.path == path && error.code == .unrecognizedFormat)
        }
    }
}
