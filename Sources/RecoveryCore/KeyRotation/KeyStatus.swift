import Foundation
import GRDB

/// What `recovery-server keys status` shows: each master-key version, its
/// state and whether its key file is present, and the latest rotation.
public struct KeyStatus: Sendable {
    public struct Version: Sendable {
        public var version: UInt32
        public var state: String
        public var createdAt: String
        public var retiredAt: String?
        public var keyFile: String
        public var keyFilePresent: Bool
    }

    public var versions: [Version]
    public var rotation: KeyRotationState?
    /// What the server running on the data directory reported, if one did.
    public var server: ServerKeyRing?

    /// Reads the data directory without changing anything (no migration).
    public static func read(settings: Settings) throws -> KeyStatus {
        guard FileManager.default.fileExists(atPath: settings.databasePath) else {
            throw ApplianceError.notInitialised(dataDirectory: settings.dataDirectory)
        }
        let database = try AppDatabase(settings: settings)
        defer { try? database.pool.close() }
        let base = settings.resolvedKeyFile
        return try database.pool.read { db in
            guard try db.tableExists("master_key_versions") else {
                return KeyStatus(versions: [Version(version: 1, state: "current", createdAt: "", retiredAt: nil, keyFile: base,
                                                    keyFilePresent: FileManager.default.fileExists(atPath: base))],
                                 rotation: nil)
            }
            let versions = try Row.fetchAll(db, sql: "SELECT version, state, created_at, retired_at FROM master_key_versions ORDER BY version")
                .map { row -> Version in
                    let version: UInt32 = row["version"]
                    let file = KeyRing.keyFile(base, version: version)
                    return Version(version: version, state: row["state"], createdAt: row["created_at"], retiredAt: row["retired_at"],
                                   keyFile: file, keyFilePresent: FileManager.default.fileExists(atPath: file))
                }
            return KeyStatus(versions: versions, rotation: try KeyRotationState.current(in: db), server: try ServerKeyRing.read(in: db))
        }
    }
}
