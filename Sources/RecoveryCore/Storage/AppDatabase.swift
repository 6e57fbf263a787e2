import Foundation
import CSQLiteTuning
import GRDB
import Metrics

/// The appliance's one SQLite database: a GRDB `DatabasePool` (WAL, one
/// writer, concurrent readers), foreign keys on, a busy timeout, and the
/// configured synchronous level applied on the writer and verified.
///
/// Durability: with WAL, `synchronous=FULL` makes every commit survive a
/// power cut, which clinical records need; NORMAL could lose the last
/// commits. GRDB sets NORMAL on a pool's writer when it opens, so the level
/// is set afterwards and read back.
///
/// Request paths must use the `async` forms (`try await read { ... }`,
/// `isHealthy()`, `currentSchemaVersion()`): a synchronous GRDB call on
/// Swift's small cooperative thread pool can starve the async reads that
/// would free a reader, and the server stalls. The synchronous methods here
/// are for start-up and the command-line tools only.
public final class AppDatabase: Sendable {
    public let pool: DatabasePool
    public let path: String
    /// A connection used only to copy the WAL into the database file.
    private let checkpointer: DatabaseQueue
    /// How long a read waited for one of the pool's reader connections
    /// (`maximumReaderCount`): the reader side's counterpart of
    /// `recovery_group_commit_wait_seconds`.
    private let readerWaits = Metrics.Timer(label: "recovery_reader_pool_wait_seconds")

    /// SQLite's process-wide settings, applied once before the first connection.
    private static let sqliteTuned: Int32 = recovery_sqlite_tune()

    public init(path: String, busyTimeoutMilliseconds: Int = 5_000, synchronous: Settings.Synchronous = .full) throws {
        _ = Self.sqliteTuned
        var configuration = GRDB.Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(TimeInterval(busyTimeoutMilliseconds) / 1_000)
        configuration.maximumReaderCount = 8
        configuration.label = "recovery"
        // A larger page cache than SQLite's 2 MiB default: a sync batch dirties
        // many pages (random UUID keys), and a writer whose cache fills spills
        // pages to the WAL mid-transaction and reads them back.
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA cache_size = \(db.configuration.readonly ? -16_384 : -65_536)")
            // The writer never checkpoints on commit (that once stalled
            // requests for seconds behind a long copy); `checkpoint()` does it
            // on a connection of its own.
            // When the WAL restarts after a full checkpoint, its file is cut
            // back to 64 MiB, so a burst does not leave a huge file behind.
            if !db.configuration.readonly {
                try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
                try db.execute(sql: "PRAGMA journal_size_limit = 67108864")
            }
        }
        self.path = path
        self.pool = try DatabasePool(path: path, configuration: configuration)
        var checkpointing = GRDB.Configuration()
        checkpointing.busyMode = .timeout(TimeInterval(busyTimeoutMilliseconds) / 1_000)
        checkpointing.label = "recovery.checkpoint"
        self.checkpointer = try DatabaseQueue(path: path, configuration: checkpointing)
        let expected = synchronous == .full ? 2 : 3
        let actual = try pool.barrierWriteWithoutTransaction { db -> Int in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous.rawValue.uppercased())")
            return try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1
        }
        guard actual == expected else {
            throw StorageError.durabilityNotApplied(expected: synchronous.rawValue, actual: actual)
        }
    }

    /// A read transaction on one of the pool's reader connections, timing
    /// how long it waited for the connection (all readers busy) in
    /// `recovery_reader_pool_wait_seconds`. The server's reads go through here.
    public func read<T: Sendable>(_ work: @Sendable (Database) throws -> T) async throws -> T {
        let asked = ContinuousClock.now
        let waits = readerWaits
        return try await pool.read { db in
            waits.record(duration: ContinuousClock.now - asked)
            return try work(db)
        }
    }

    public convenience init(settings: Settings) throws {
        try self.init(path: settings.databasePath,
                      busyTimeoutMilliseconds: settings.databaseBusyTimeoutMilliseconds,
                      synchronous: settings.databaseSynchronous)
    }

    var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for migration in Migration.all {
            migrator.registerMigration(migration.identifier) { db in
                try db.execute(sql: migration.sql)
            }
        }
        return migrator
    }

    /// Applies pending migrations in order, each in its own transaction, and
    /// returns the identifiers it applied. Refuses a schema newer than known.
    @discardableResult
    public func migrate() throws -> [String] {
        try refuseNewerSchema()
        let before = try pool.read { db in try self.migrator.appliedIdentifiers(db) }
        try migrator.migrate(pool)
        return Migration.all.map(\.identifier).filter { !before.contains($0) }
    }

    /// Throws when the database holds migrations this binary does not know.
    public func refuseNewerSchema() throws {
        let unknown = try pool.read { db -> [String] in
            let known = Set(Migration.all.map(\.identifier))
            return try self.migrator.appliedIdentifiers(db).filter { !known.contains($0) }.sorted()
        }
        if !unknown.isEmpty { throw StorageError.schemaNewerThanBinary(applied: unknown) }
    }

    /// Identifiers of known migrations not yet applied.
    public func pendingMigrations() throws -> [String] {
        let applied = try pool.read { db in try self.migrator.appliedIdentifiers(db) }
        return Migration.all.map(\.identifier).filter { !applied.contains($0) }
    }

    /// The number of the newest applied migration (0 for an empty database).
    public func schemaVersion() throws -> Int {
        try pool.read { db -> Int in
            let applied = try self.migrator.appliedIdentifiers(db)
            return applied.compactMap { Int($0.prefix(while: \.isNumber)) }.max() ?? 0
        }
    }

    /// `schemaVersion()` for request paths.
    public func currentSchemaVersion() async throws -> Int {
        let migrator = self.migrator
        return try await read { db -> Int in
            try migrator.appliedIdentifiers(db).compactMap { Int($0.prefix(while: \.isNumber)) }.max() ?? 0
        }
    }

    /// `pendingMigrations()` for request paths.
    public func pendingMigrationsNow() async throws -> [String] {
        let migrator = self.migrator
        let applied = try await read { db in try migrator.appliedIdentifiers(db) }
        return Migration.all.map(\.identifier).filter { !applied.contains($0) }
    }

    /// The synchronous level on the writer connection (2 = FULL, 3 = EXTRA).
    public func writerSynchronousLevel() throws -> Int {
        try pool.barrierWriteWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
    }

    /// True when the database answers a trivial query.
    public func isHealthy() async -> Bool {
        (try? await read { db in try Int.fetchOne(db, sql: "SELECT 1") }) == 1
    }

    /// Copies committed pages from the WAL into the database file (PASSIVE:
    /// it waits for no one, and the writer goes on appending meanwhile), so
    /// the WAL stays short. The server runs it every second; answers the
    /// frames in the WAL and how many of them are now in the database.
    ///
    /// Under a steady stream of writes a PASSIVE checkpoint never finds the
    /// WAL fully copied at the moment a writer starts, so SQLite never
    /// starts the WAL over and the file grows without end (1.6 GB after
    /// 20 s of sync pushes). Once the WAL holds `restartAfterFrames` frames
    /// (64 MiB at 4 KiB pages), a RESTART checkpoint follows: it holds new
    /// writes back for the moment it takes to copy what the PASSIVE one
    /// left and for readers still in the WAL to finish, so the next write
    /// starts the WAL from the beginning (and
    /// `journal_size_limit` cuts the file back). If a reader keeps it
    /// waiting past the busy timeout, it is tried again next time.
    @discardableResult
    public func checkpoint(restartAfterFrames: Int = 16_384) async throws -> (walFrames: Int, checkpointed: Int) {
        let passive = try await checkpointer.writeWithoutTransaction { db in try db.checkpoint(.passive) }
        if passive.walFrameCount >= restartAfterFrames {
            do {
                // On the writer's own queue, between two transactions: from
                // the checkpoint connection it waited for a gap in the
                // writes that never came while the app was pushing.
                let restarted = try await pool.writeWithoutTransaction { db in try db.checkpoint(.restart) }
                return (walFrames: restarted.walFrameCount, checkpointed: restarted.checkpointedFrameCount)
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
                // A reader held on past the busy timeout: next time.
            }
        }
        return (walFrames: passive.walFrameCount, checkpointed: passive.checkpointedFrameCount)
    }

    /// Checkpoints the WAL and closes every connection. Call once, at shutdown.
    public func close() throws {
        try checkpointer.close()
        _ = try pool.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
        try pool.close()
    }
}
