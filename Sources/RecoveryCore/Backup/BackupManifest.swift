import Foundation

/// What a backup archive holds, written as its first message (JSON): enough to
/// tell which appliance and moment it is from and to check a restored copy.
public struct BackupManifest: Codable, Sendable, Equatable {
    public static let currentFormat = 1

    /// One file of the archive, in archive order: a path relative to the data directory.
    public struct File: Codable, Sendable, Equatable {
        public var path: String
        public var bytes: Int64
    }

    public var format: Int
    /// The box's id (`ApplianceIdentity`); nil for a box that never had one.
    public var applianceID: String?
    public var createdAt: String
    public var schemaVersion: Int
    public var recoveryVersion: String
    /// Rows in the main tables at the snapshot (facilities, staff, patients, audit entries, documents).
    public var counts: [String: Int]
    public var files: [File]

    enum CodingKeys: String, CodingKey {
        case format, files, counts
        case applianceID = "appliance_id"
        case createdAt = "created_at"
        case schemaVersion = "schema_version"
        case recoveryVersion = "recovery_version"
    }

    /// The tables counted into `counts`.
    static let countedTables = ["facilities", "staff", "patients", "audit_logs", "documents"]

    public var documentCount: Int { files.filter { $0.path.hasPrefix(BackupArchive.documentsDirectory + "/") }.count }
}
