private import _CSQLite

#if canImport(Glibc)
import Glibc
#endif

/// A value bound to, or read from, an SQL statement.
public enum SQLiteValue: Sendable, Hashable {
    /// SQL NULL.
    case null
    /// A 64-bit integer.
    case integer(Int64)
    /// A double.
    case real(Double)
    /// UTF-8 text.
    case text(String)

    /// The integer, or nil for NULL and other types.
    public var integer: Int64? { if case .integer(let value) = self { return value } else { return nil } }
    /// The number (an integer is converted), or nil.
    public var real: Double? {
        switch self {
        case .real(let value): return value
        case .integer(let value): return Double(value)
        default: return nil
        }
    }
    /// The text, or nil.
    public var text: String? { if case .text(let value) = self { return value } else { return nil } }
}

/// One row of a query's result, by column position.
public struct SQLiteRow: Sendable {
    /// The row's values, in the query's column order.
    public let values: [SQLiteValue]
    /// The value in column `column` (0-based).
    public subscript(_ column: Int) -> SQLiteValue { values[column] }
}

/// A connection to an SQLite database (the system's libsqlite3): prepared statements with bound values,
/// transactions, write-ahead logging and a busy timeout, so that several processes can write one file.
/// Not shared between threads: each thread or process opens its own.
public final class SQLiteDatabase {
    /// The database file.
    public let path: String
    private var handle: OpaquePointer?
    private var statements: [String: OpaquePointer] = [:]

    /// Opens (creating if `create`) the database at `path`, in WAL mode, waiting up to `busyTimeout`
    /// milliseconds for another process's lock before a statement fails.
    public init(path: String, create: Bool = true, readOnly: Bool = false, busyTimeout: Int32 = 60_000) throws {
        self.path = path
        let flags = readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0))
        var opened: OpaquePointer?
        let status = sqlite3_open_v2(path, &opened, flags | SQLITE_OPEN_NOMUTEX, nil)
        handle = opened
        guard status == SQLITE_OK else {
            let reason = opened.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open the database"
            sqlite3_close_v2(opened)
            handle = nil
            throw MedVolError(status == SQLITE_CANTOPEN ? .notFound : .io, path: path, reason: "SQLite: \(reason)")
        }
        sqlite3_busy_timeout(opened, busyTimeout)
        if !readOnly {
            // WAL: readers never block the writer; NORMAL sync is durable at each checkpoint and safe in WAL.
            _ = try query("PRAGMA journal_mode=WAL")
            try execute("PRAGMA synchronous=NORMAL")
        }
        try execute("PRAGMA foreign_keys=ON")
    }

    deinit {
        for statement in statements.values { sqlite3_finalize(statement) }
        sqlite3_close_v2(handle)
    }

    /// Runs one or more statements that take no values and return no rows (DDL, PRAGMA).
    public func execute(_ sql: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        let status = sqlite3_exec(handle, sql, nil, nil, &message)
        if status != SQLITE_OK {
            let reason = message.map { String(cString: $0) } ?? errorMessage
            sqlite3_free(message)
            throw error(reason)
        }
    }

    /// Runs `sql` with `values` bound to its `?` parameters; returns every row.
    @discardableResult
    public func query(_ sql: String, _ values: [SQLiteValue] = []) throws -> [SQLiteRow] {
        var rows: [SQLiteRow] = []
        try forEachRow(sql, values) { rows.append($0) }
        return rows
    }

    /// Runs `sql` with `values` bound, calling `body` with each row as it is read.
    public func forEachRow(_ sql: String, _ values: [SQLiteValue] = [], _ body: (SQLiteRow) throws -> Void) throws {
        let statement = try prepared(sql)
        defer { sqlite3_reset(statement); sqlite3_clear_bindings(statement) }
        for (position, value) in values.enumerated() {
            let index = Int32(position + 1)
            let status: Int32
            switch value {
            case .null: status = sqlite3_bind_null(statement, index)
            case .integer(let number): status = sqlite3_bind_int64(statement, index, number)
            case .real(let number): status = sqlite3_bind_double(statement, index, number)
            case .text(let text): status = sqlite3_bind_text(statement, index, text, -1, medvol_sqlite_transient())
            }
            guard status == SQLITE_OK else { throw error(errorMessage) }
        }
        let columns = sqlite3_column_count(statement)
        while true {
            let status = sqlite3_step(statement)
            if status == SQLITE_DONE { return }
            guard status == SQLITE_ROW else { throw error(errorMessage) }
            var row: [SQLiteValue] = []
            row.reserveCapacity(Int(columns))
            for column in 0..<columns {
                switch sqlite3_column_type(statement, column) {
                case SQLITE_INTEGER: row.append(.integer(sqlite3_column_int64(statement, column)))
                case SQLITE_FLOAT: row.append(.real(sqlite3_column_double(statement, column)))
                case SQLITE_NULL: row.append(.null)
                default:
                    let text = sqlite3_column_text(statement, column).map { String(cString: $0) } ?? ""
                    row.append(.text(text))
                }
            }
            try body(SQLiteRow(values: row))
        }
    }

    /// Runs `body` in one transaction (`BEGIN IMMEDIATE`: the write lock is taken at once, so a busy
    /// database waits at the start rather than failing midway), committed if it returns, rolled back if
    /// it throws.
    @discardableResult
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// The row id of the last row inserted on this connection.
    public var lastInsertedRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    private func prepared(_ sql: String) throws -> OpaquePointer {
        if let statement = statements[sql] { return statement }
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw error(errorMessage)
        }
        statements[sql] = statement
        return statement
    }

    private var errorMessage: String { handle.map { String(cString: sqlite3_errmsg($0)) } ?? "no database" }

    private func error(_ reason: String) -> MedVolError { MedVolError(.io, path: path, reason: "SQLite: \(reason)") }
}
