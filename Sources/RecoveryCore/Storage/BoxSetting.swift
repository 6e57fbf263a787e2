import Foundation
import GRDB

/// Box-wide values kept in the `settings` table (scope `box`), such as the
/// master-key check. Facility settings use the facility id as scope.
enum BoxSetting {
    static let scope = "box"

    static func get(_ key: String, in db: Database) throws -> String? {
        let json = try String.fetchOne(db, sql: "SELECT value FROM settings WHERE scope = ? AND key = ?", arguments: [scope, key])
        return json.flatMap { try? JSONDecoder().decode(String.self, from: Data($0.utf8)) }
    }

    static func set(_ key: String, to value: String, in db: Database) throws {
        let json = String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
        try db.execute(sql: """
            INSERT INTO settings (scope, key, value) VALUES (?, ?, ?)
            ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value
            """, arguments: [scope, key, json])
    }
}

