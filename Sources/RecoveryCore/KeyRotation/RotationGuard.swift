import Foundation
import GRDB

/// Triggers that refuse any value written under a key version older than the
/// current one, installed when a rotation's final sweep begins and kept
/// after it (replaced by the next rotation's). A server that has not yet
/// reloaded its keys (it checks every second), or cannot read the new key
/// file, can then never write a row the sweep would miss, so no row outlives
/// the key it was written under: the write fails, is not acknowledged, and
/// succeeds under the new version on a retry. Made from the registry, plus
/// the documents' key version and the federation signing key's seal; the
/// append-only audit column, which keeps its old key, is not guarded.
enum RotationGuard {
    static let prefix = "key_rotation_guard_"

    static func install(refusingBelow version: UInt32, in db: Database) throws {
        try remove(in: db)
        let bytes = String(format: "X'%08x'", version)
        let message = "RAISE(ABORT, 'written under a retired master key version; try again')"
        for field in RotationStep.rotatedFields {
            let name = "\(prefix)\(field.rawValue)"
            let old = "substr(NEW.\(field.column), 2, 4) < \(bytes)"
            try db.execute(sql: """
                CREATE TRIGGER \(name)_insert BEFORE INSERT ON \(field.table) WHEN \(old)
                BEGIN SELECT \(message); END;
                CREATE TRIGGER \(name)_update BEFORE UPDATE OF \(field.column) ON \(field.table) WHEN \(old)
                BEGIN SELECT \(message); END;
                """)
        }
        try db.execute(sql: """
            CREATE TRIGGER \(prefix)documents_insert BEFORE INSERT ON documents WHEN NEW.key_version < \(version)
            BEGIN SELECT \(message); END;
            CREATE TRIGGER \(prefix)documents_update BEFORE UPDATE OF key_version ON documents WHEN NEW.key_version < \(version)
            BEGIN SELECT \(message); END;
            """)
        // A seal from before key versions (another length) counts as old too.
        let oldSeal = "NOT coalesce(\(signingKeySealed(atLeast: version, of: "NEW.secret_key_sealed")), 0)"
        try db.execute(sql: """
            CREATE TRIGGER \(prefix)federation_identity_insert BEFORE INSERT ON federation_identity WHEN \(oldSeal)
            BEGIN SELECT \(message); END;
            CREATE TRIGGER \(prefix)federation_identity_update BEFORE UPDATE OF secret_key_sealed ON federation_identity WHEN \(oldSeal)
            BEGIN SELECT \(message); END;
            """)
    }

    /// SQL that is true when `value` is a signing-key seal (`SigningKeySeal`)
    /// under `version` or a later one.
    static func signingKeySealed(atLeast version: UInt32, of value: String) -> String {
        "(length(\(value)) = \(SigningKeySeal.sealedLength) AND substr(\(value), 1, 1) = X'01' "
            + "AND substr(\(value), 2, 4) >= \(String(format: "X'%08x'", version)))"
    }

    static func remove(in db: Database) throws {
        let names = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger' AND substr(name, 1, ?) = ?",
                                        arguments: [prefix.count, prefix])
        for name in names { try db.execute(sql: "DROP TRIGGER \(name)") }
    }
}
