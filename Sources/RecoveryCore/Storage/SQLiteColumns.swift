import Foundation
import GRDB
import GRDBSQLite

/// The current row of a stepping statement, read straight from SQLite:
/// text is decoded once into a String, blobs are lent as bytes without a
/// copy. For the hottest reads (a page of patients decrypts 250 fields):
/// GRDB's `Row` copies every column into a value first and decodes it
/// through generic code, which cost more than the decryption itself.
///
/// Valid only inside `forEachRow`'s body, for the row it was given.
public struct SQLiteColumns {
    let statement: SQLiteStatement

    public func text(_ index: Int32) -> String {
        optionalText(index) ?? ""
    }

    public func optionalText(_ index: Int32) -> String? {
        guard let bytes = sqlite3_column_text(statement, index) else { return nil }
        return String(decoding: UnsafeBufferPointer(start: bytes, count: Int(sqlite3_column_bytes(statement, index))), as: UTF8.self)
    }

    public func bool(_ index: Int32) -> Bool {
        sqlite3_column_int64(statement, index) != 0
    }

    /// The blob's bytes, or nil for NULL; do not keep them past the call.
    public func blob(_ index: Int32) -> UnsafeRawBufferPointer? {
        guard sqlite3_column_type(statement, index) != SQLITE_NULL else { return nil }
        let count = Int(sqlite3_column_bytes(statement, index))
        guard count > 0, let base = sqlite3_column_blob(statement, index) else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: base, count: count)
    }
}

extension Statement {
    /// Runs the statement with `arguments` and calls `body` with each row.
    public func forEachRow(arguments: StatementArguments, _ body: (SQLiteColumns) throws -> Void) throws {
        let cursor = try Row.fetchCursor(self, arguments: arguments)
        let columns = SQLiteColumns(statement: sqliteStatement)
        while try cursor.next() != nil {
            try body(columns)
        }
    }
}
