import Foundation
import GRDB

/// Sub-keys of retired master-key versions that must outlive their master
/// key, kept in `retained_subkeys` sealed under the current key (PHIField
/// `retainedSubkeysKey`, so each rotation re-encrypts them): the audit
/// chain's and head file's keys (old entries still verify), the old key of
/// the append-only audit column, and the keys of blind indexes over secrets
/// that are never stored and so cannot be rebuilt (`BlindIndexField.isRebuildable`).
/// None of them decrypts patient data.
public struct RetainedSubkeys: Sendable {
    struct Name: Hashable, Sendable {
        var version: UInt32
        var purpose: KeyPurpose
        var id: UInt64

        /// The row id the sealed key is bound to.
        var rowID: String { "\(version):\(purpose.rawValue):\(id)" }
    }

    private var keys: [Name: [UInt8]] = [:]

    public init() {}

    public func key(version: UInt32, purpose: KeyPurpose, id: UInt64) -> [UInt8]? {
        keys[Name(version: version, purpose: purpose, id: id)]
    }

    /// The versions holding `purpose`/`id`, newest first.
    public func versions(purpose: KeyPurpose, id: UInt64) -> [UInt32] {
        keys.keys.filter { $0.purpose == purpose && $0.id == id }.map(\.version).sorted(by: >)
    }

    public var count: Int { keys.count }

    /// The sub-keys of a version to keep when its master key is retired.
    static func toKeep(from master: MasterKey, version: UInt32) -> [(Name, [UInt8])] {
        var names = [Name(version: version, purpose: .auditChain, id: 1), Name(version: version, purpose: .auditHead, id: 1),
                     Name(version: version, purpose: .fieldEncryption, id: PHIField.auditLogsIpAddress.rawValue)]
        names += BlindIndexField.allCases.filter { !$0.isRebuildable }.map { Name(version: version, purpose: .blindIndex, id: $0.rawValue) }
        return names.map { ($0, master.derive($0.purpose, id: $0.id)) }
    }

    /// Seals the sub-keys of `version` under the ring's current key (idempotent).
    static func store(from master: MasterKey, version: UInt32, cipher: FieldCipher, in db: Database) throws {
        for (name, key) in toKeep(from: master, version: version) {
            try db.execute(sql: """
                INSERT INTO retained_subkeys (id, version, purpose, subkey_id, key_enc) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (id) DO NOTHING
                """, arguments: [name.rowID, Int64(version), name.purpose.rawValue, Int64(bitPattern: name.id),
                                 cipher.seal(Data(key), field: .retainedSubkeysKey, rowID: name.rowID)])
        }
    }

    static func load(cipher: FieldCipher, in db: Database) throws -> RetainedSubkeys {
        var out = RetainedSubkeys()
        guard try db.tableExists("retained_subkeys") else { return out }
        for row in try Row.fetchAll(db, sql: "SELECT id, version, purpose, subkey_id, key_enc FROM retained_subkeys") {
            guard let purpose = KeyPurpose(rawValue: row["purpose"]) else { continue }
            let name = Name(version: row["version"], purpose: purpose, id: UInt64(bitPattern: row["subkey_id"]))
            out.keys[name] = Array(try cipher.open(row["key_enc"], field: .retainedSubkeysKey, rowID: row["id"]))
        }
        return out
    }
}
