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

    /// At `init`: the check of version 1, in the box settings and in the key ring's table.
    static func store(_ key: MasterKey, in db: Database) throws {
        try BoxSetting.set(settingKey, to: value(for: key), in: db)
        if try db.tableExists("master_key_versions") {
            try db.execute(sql: "INSERT OR IGNORE INTO master_key_versions (version, key_check, state) VALUES (1, ?, 'current')",
                           arguments: [value(for: key)])
        }
    }

    /// Compares `key` with the check stored for key `version` (version 1 of
    /// a database from before key versions: the box setting).
    static func compare(_ key: MasterKey, version: UInt32, in db: Database) throws -> Outcome {
        guard try db.tableExists("master_key_versions"),
              let stored = try String.fetchOne(db, sql: "SELECT key_check FROM master_key_versions WHERE version = ?", arguments: [Int64(version)])
        else { return version == 1 ? try compare(key, in: db) : .missing }
        return ConstantTime.equals(Array(stored.utf8), Array(value(for: key).utf8)) ? .matches : .differs
    }

    /// Only a database whose `init` never finished lacks the check; nothing
    /// may start on it, since any key would then be taken as the right one.
    enum Outcome { case matches, differs, missing }

    static func compare(_ key: MasterKey, in db: Database) throws -> Outcome {
        guard let stored = try BoxSetting.get(settingKey, in: db) else { return .missing }
        return ConstantTime.equals(Array(stored.utf8), Array(value(for: key).utf8)) ? .matches : .differs
    }

    /// Throws unless the database holds a check and it matches `key`.
    static func require(_ key: MasterKey, settings: Settings, in db: Database) throws {
        switch try compare(key, in: db) {
        case .matches: return
        case .differs: throw ApplianceError.wrongMasterKey(keyFile: settings.resolvedKeyFile)
        case .missing: throw ApplianceError.keyCheckMissing(dataDirectory: settings.dataDirectory)
        }
    }
}
