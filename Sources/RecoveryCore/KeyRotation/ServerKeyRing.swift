import Foundation
import GRDB

/// What the running server reports about the master-key versions it holds
/// (`server_key_ring`, one row): written by its key reload
/// (`Appliance.reloadKeysAndReport`), read by `keys rotate`, which waits
/// until the server holds the new version before it encrypts anything under
/// it and again before it retires the old one. The heartbeat tells a
/// running server (fresh) from a stopped one (stale, or no row).
public struct ServerKeyRing: Codable, Equatable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "server_key_ring"
    /// A running server renews its heartbeat at least this often (seconds).
    public static let heartbeatInterval: TimeInterval = 5
    /// A heartbeat older than this (seconds) means no server is running.
    public static let freshFor: TimeInterval = 15

    var id: Int64 = 1
    public var processID: Int64
    public var currentVersion: UInt32
    public var retiringVersion: UInt32?
    /// Why the server's last key reload failed (which key file; never a key), nil when it worked.
    public var reloadFailure: String?
    public var reloadFailedAt: String?
    public var startedAt: String
    public var heartbeatAt: String

    enum CodingKeys: String, CodingKey {
        case id
        case processID = "process_id", currentVersion = "current_version", retiringVersion = "retiring_version"
        case reloadFailure = "reload_failure", reloadFailedAt = "reload_failed_at", startedAt = "started_at", heartbeatAt = "heartbeat_at"
    }

    public init(processID: Int64, currentVersion: UInt32, retiringVersion: UInt32?, reloadFailure: String?, reloadFailedAt: String?,
                startedAt: String, heartbeatAt: String) {
        self.processID = processID
        self.currentVersion = currentVersion
        self.retiringVersion = retiringVersion
        self.reloadFailure = reloadFailure
        self.reloadFailedAt = reloadFailedAt
        self.startedAt = startedAt
        self.heartbeatAt = heartbeatAt
    }

    /// The report, or nil when no server has written one (or it stopped cleanly).
    public static func read(in db: Database) throws -> ServerKeyRing? {
        guard try db.tableExists(databaseTableName) else { return nil }
        return try fetchOne(db, key: 1)
    }

    /// Whether the server that wrote it is still running: its heartbeat is fresh.
    public func isRunning(at now: Date = Date()) -> Bool {
        guard let beat = Timestamp.parse(heartbeatAt) else { return false }
        return now.timeIntervalSince(beat) < Self.freshFor
    }

    /// Seconds since the heartbeat, for messages.
    public func heartbeatAge(at now: Date = Date()) -> Int {
        Timestamp.parse(heartbeatAt).map { max(0, Int(now.timeIntervalSince($0))) } ?? -1
    }

    /// Removes the report: the server is stopping.
    static func withdraw(in db: Database) throws {
        _ = try deleteAll(db)
    }
}
