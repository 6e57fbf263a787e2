import Foundation
import GRDB

/// A value derived one-way from the master key and stored in the database at
/// `init`, so `serve` can tell a wrong key file (another box's, an old copy)
/// from the right one before it touches any data.
enum KeyCheck {
    static let settingKey = "master_key_check"

    static func value(for key: MasterKey) -> String {
        key.derive(.keyCheck, id: 0, length: 16).map { String(format: "%02x", $0) }.joined()
    }

    static func store(_ key: MasterKey, in db: Database) throws {
        try BoxSetting.set(settingKey, to: value(for: key), in: db)
    }

    /// True when the stored check matches `key` (or none is stored yet).
    static func matches(_ key: MasterKey, in db: Database) throws -> Bool {
        guard let stored = try BoxSetting.get(settingKey, in: db) else { return true }
        return ConstantTime.equals(Array(stored.utf8), Array(value(for: key).utf8))
    }
}
