import Foundation
import GRDB
import Testing
@testable import RecoveryCore

@Suite struct StorageTests {
    func freshDatabase(_ dir: TemporaryDirectory) throws -> AppDatabase {
        let database = try AppDatabase(path: dir.file("test.sqlite"))
        try database.migrate()
        return database
    }

    @Test func migrationsApplyInOrderOnceAndAreRecorded() throws {
        let dir = TemporaryDirectory()
        let database = try AppDatabase(path: dir.file("test.sqlite"))
        #expect(try database.schemaVersion() == 0)
        #expect(try database.pendingMigrations() == Migration.all.map(\.identifier))
        #expect(try database.migrate() == Migration.all.map(\.identifier))
        #expect(try database.schemaVersion() == Migration.latestVersion)
        #expect(try database.migrate() == [])
        #expect(Migration.all.map(\.number) == Array(1...Migration.all.count))
    }

    /// Every table the migrations make is STRICT, so a value of the wrong type is refused, never stored.
    @Test func everyTableIsStrict() throws {
        let dir = TemporaryDirectory()
        let database = try freshDatabase(dir)
        let loose = try database.pool.read { db in
            try String.fetchAll(db, sql: """
                SELECT name FROM pragma_table_list
                WHERE schema = 'main' AND type = 'table' AND strict = 0
                  AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'grdb_%'
                """)
        }
        let tables = try database.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM pragma_table_list WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite_%'")!
        }
        #expect(tables > 50)
        #expect(loose == [])
    }

    @Test func rowIDsAreVersion7UUIDsInTheOrderTheyWereMade() throws {
        let start = Date(timeIntervalSince1970: 1_795_000_000.123)
        let ids = (0..<2_000).map { RowID.make(at: start.addingTimeInterval(Double($0) * 0.002)) }
        #expect(Set(ids).count == ids.count)
        for id in ids {
            let uuid = try #require(UUID(uuidString: id))
            #expect(uuid.uuidString.lowercased() == id)
            #expect(uuid.uuid.6 >> 4 == 7)          // version 7
            #expect(uuid.uuid.8 >> 6 == 0b10)       // RFC 9562 variant
        }
        let inOrder = ids == ids.sorted()
        #expect(inOrder)
        // The first 48 bits are the milliseconds since 1970.
        #expect(ids[0].hasPrefix(String(1_795_000_000_123, radix: 16).leftPadded(to: 12).prefix(8) + "-"))
    }

    @Test func timestampsAreWrittenAsFoundationWritesThem() {
        let style = Date.ISO8601FormatStyle().year().month().day().dateSeparator(.dash)
            .time(includingFractionalSeconds: true).timeSeparator(.colon).timeZone(separator: .omitted)
        var generator = SystemRandomNumberGenerator()
        // Whole milliseconds (a stored timestamp's own precision), 1970 to 2200, and the edges.
        let samples = [0, 1, 86_399_999, 86_400_000, 951_782_400_000, 1_795_000_000_123, 7_258_118_399_999]
            + (0..<2_000).map { _ in Int.random(in: 0...7_258_118_399_999, using: &generator) }
        for milliseconds in samples {
            // A tenth of a millisecond in: Foundation truncates to the
            // millisecond, Timestamp rounds (so that x.123, held as x.12299..., prints as .123).
            let date = Date(timeIntervalSince1970: (Double(milliseconds) + 0.1) / 1000)
            #expect(Timestamp.string(date) == date.formatted(style), "\(milliseconds)")
            let text = Timestamp.string(date)
            #expect(Timestamp.string(Timestamp.parse(text)!) == text, "a stored timestamp reads back as itself")
        }
        #expect(Timestamp.string(Date(timeIntervalSince1970: 1_795_000_000.123)) == "2026-11-18T11:06:40.123Z")
        // Dates outside 1970-9999 (only ever a client's odd date) are written by Foundation, not refused or crashed on.
        for odd in [Date(timeIntervalSince1970: -86_400.25), Date(timeIntervalSince1970: -62_000_000_000), Date(timeIntervalSince1970: 253_402_300_800)] {
            #expect(Timestamp.string(odd) == odd.formatted(style))
        }
    }

    @Test func durabilityAndIntegrityPragmasHold() throws {
        let dir = TemporaryDirectory()
        let database = try freshDatabase(dir)
        #expect(try database.writerSynchronousLevel() == 2)
        let (journal, foreignKeys) = try database.pool.read { db in
            (try String.fetchOne(db, sql: "PRAGMA journal_mode"), try Int.fetchOne(db, sql: "PRAGMA foreign_keys"))
        }
        #expect(journal == "wal")
        #expect(foreignKeys == 1)
        #expect(throws: (any Error).self) {
            try database.pool.write { db in
                try db.execute(sql: "INSERT INTO staff (id, facility_id, role, email_enc, email_bidx, first_name_enc, last_name_enc, password_hash) VALUES ('s', 'no-such-facility', 'admin', x'00', x'00', x'00', x'00', '$argon2id$x')")
            }
        }
    }

    @Test func theWriterLeavesCheckpointsToTheirOwnConnection() async throws {
        let dir = TemporaryDirectory()
        let database = try freshDatabase(dir)
        let autocheckpoint = try await database.pool.barrierWriteWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA wal_autocheckpoint") }
        #expect(autocheckpoint == 0)
        for round in 0..<40 {
            try await database.pool.write { db in
                try db.execute(sql: "INSERT INTO settings (scope, key, value) VALUES ('box', ?, '\"x\"')", arguments: ["k\(round)"])
            }
        }
        let walSize = { (try? FileManager.default.attributesOfItem(atPath: dir.file("test.sqlite-wal"))[.size] as? Int) ?? 0 }
        #expect(walSize() > 0)
        let result = try await database.checkpoint()
        #expect(result.walFrames > 0 && result.checkpointed == result.walFrames)
        // Committed rows are in the database file and still read back.
        let count = try await database.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM settings WHERE key GLOB 'k*'") }
        #expect(count == 40)
        try database.close()
    }

    /// While readers keep using the WAL, a PASSIVE checkpoint copies it but
    /// SQLite cannot start it over, so it only grows; past the threshold a
    /// RESTART waits for the readers and the next write starts afresh.
    @Test func aLongWALIsStartedOverAfterACheckpoint() async throws {
        let dir = TemporaryDirectory()
        let database = try freshDatabase(dir)
        func write(_ round: Int) async throws {
            try await database.pool.write { db in
                try db.execute(sql: "INSERT INTO settings (scope, key, value) VALUES ('box', ?, ?)",
                               arguments: ["w\(round)", "\"" + String(repeating: "x", count: 3_000) + "\""])
            }
        }
        for round in 0..<60 { try await write(round) }
        // A reader in the middle of a transaction, reading through the WAL,
        // until it is let go (on a GRDB reader thread, not the test's).
        let (started, signal) = AsyncStream<Void>.makeStream()
        let release = DispatchSemaphore(value: 0)
        let reading = Task {
            try await database.pool.read { db in
                _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM settings")
                signal.finish()
                release.wait()
            }
        }
        for await _ in started {}
        let long = try await database.checkpoint(restartAfterFrames: 1_000_000)
        #expect(long.walFrames >= 60 && long.checkpointed == long.walFrames)
        try await write(1_000)
        #expect(try await database.checkpoint(restartAfterFrames: 1_000_000).walFrames > long.walFrames)
        // The RESTART checkpoint waits for the reader, let go a moment later, to finish.
        let releasing = Task {
            try await Task.sleep(for: .milliseconds(200))
            release.signal()
        }
        _ = try await database.checkpoint(restartAfterFrames: 10)
        try await releasing.value
        try await reading.value
        try await write(1_001)
        #expect(try await database.checkpoint(restartAfterFrames: 1_000_000).walFrames < 10)
        #expect(try await database.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM settings WHERE key GLOB 'w*'") } == 62)
        try database.close()
    }

    /// The per-facility count of live patients follows every insert, soft
    /// delete, restore, move and hard delete, and matches counting the rows.
    @Test func facilityPatientCountsFollowEveryChange() throws {
        let dir = TemporaryDirectory()
        let database = try freshDatabase(dir)
        func counts(_ db: Database) throws -> (kept: [String: Int], counted: [String: Int]) {
            let kept = try Dictionary(uniqueKeysWithValues: Row.fetchAll(db, sql: "SELECT facility_id, live FROM facility_patient_counts")
                .map { ($0[0] as String, $0[1] as Int) }.filter { $0.1 != 0 })
            let counted = try Dictionary(uniqueKeysWithValues: Row.fetchAll(db, sql: """
                SELECT facility_id, count(*) FROM patients WHERE deleted_at IS NULL GROUP BY facility_id
                """).map { ($0[0] as String, $0[1] as Int) })
            return (kept, counted)
        }
        try database.pool.write { db in
            for facility in ["fa", "fb"] { try db.execute(sql: "INSERT INTO facilities (id, name) VALUES (?, ?)", arguments: [facility, facility]) }
            for index in 0..<12 {
                try db.execute(sql: """
                    INSERT INTO patients (id, facility_id, patient_number, first_name_enc, first_name_bidx, last_name_enc, last_name_bidx, date_of_birth_enc)
                    VALUES (?, ?, ?, x'00', x'00', x'00', x'00', x'00')
                    """, arguments: ["p\(index)", index < 8 ? "fa" : "fb", "P-\(index)"])
            }
            #expect(try counts(db).kept == ["fa": 8, "fb": 4])
            try db.execute(sql: "UPDATE patients SET deleted_at = '2026-11-25T00:00:00.000Z' WHERE id IN ('p0', 'p1', 'p9')")
            try db.execute(sql: "UPDATE patients SET deleted_at = '2026-11-26T00:00:00.000Z' WHERE id = 'p0'")   // already deleted
            try db.execute(sql: "UPDATE patients SET deleted_at = NULL WHERE id = 'p1'")
            try db.execute(sql: "UPDATE patients SET facility_id = 'fb' WHERE id = 'p2'")
            try db.execute(sql: "UPDATE patients SET facility_id = 'fa', patient_number = 'P-9b' WHERE id = 'p9'")      // deleted, moved
            try db.execute(sql: "DELETE FROM patients WHERE id IN ('p3', 'p0')")
            let (kept, counted) = try counts(db)
            #expect(kept == counted)
            #expect(kept == ["fa": 5, "fb": 4])
        }
    }

    struct PieceBroke: Error {}

    /// Pieces share transactions; one that throws after writing leaves no
    /// row behind, its caller gets its error, and every other piece commits.
    @Test func aFailingPieceOfAGroupCommitLeavesNothingAndTheOthersCommit() async throws {
        let dir = TemporaryDirectory()
        let database = try freshDatabase(dir)
        let commits = GroupCommit(database: database)
        let outcomes = await withTaskGroup(of: (Int, Bool).self) { group in
            for piece in 0..<60 {
                group.addTask {
                    do {
                        try await commits.write { db in
                            try db.execute(sql: "INSERT INTO settings (scope, key, value) VALUES ('box', ?, '\"x\"')", arguments: ["g\(piece)"])
                            if piece % 7 == 3 { throw PieceBroke() }
                        }
                        return (piece, true)
                    } catch {
                        return (piece, !(error is PieceBroke))
                    }
                }
            }
            var outcomes: [Int: Bool] = [:]
            for await (piece, stored) in group { outcomes[piece] = stored }
            return outcomes
        }
        let keys = try await database.pool.read { db in try Set(String.fetchAll(db, sql: "SELECT key FROM settings WHERE key GLOB 'g*'")) }
        for piece in 0..<60 {
            #expect(outcomes[piece] == (piece % 7 != 3))
            #expect(keys.contains("g\(piece)") == (piece % 7 != 3))
        }
        try database.close()
    }

    @Test func aSchemaNewerThanTheBinaryIsRefused() throws {
        let dir = TemporaryDirectory()
        let database = try freshDatabase(dir)
        try database.pool.write { db in try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('9999_from_the_future')") }
        #expect(throws: StorageError.schemaNewerThanBinary(applied: ["9999_from_the_future"])) { try database.refuseNewerSchema() }
        #expect(throws: StorageError.self) { try database.migrate() }
    }

    @Test func everySQLFileInMigrationsIsCompiledIn() throws {
        let folder = SettingsTests.repositoryRoot.appendingPathComponent("Migrations").path
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".sql") }.sorted()
        #expect(files == Migration.all.map { $0.identifier + ".sql" })
    }

    /// Every `_enc` column is a BLOB with a frozen field id, every `_bidx`
    /// column has an index key, and nothing else claims to.
    @Test func encryptedAndIndexedColumnsMatchTheFrozenTables() throws {
        let dir = TemporaryDirectory()
        let database = try freshDatabase(dir)
        let columns = try database.pool.read { db -> [(table: String, column: String, type: String)] in
            let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
            return try tables.flatMap { table in
                try Row.fetchAll(db, sql: "SELECT name, type FROM pragma_table_info(?)", arguments: [table]).map {
                    (table, $0["name"] as String, $0["type"] as String)
                }
            }
        }
        let encrypted = columns.filter { $0.column.hasSuffix("_enc") }
        #expect(encrypted.allSatisfy { $0.type == "BLOB" })
        #expect(Set(encrypted.map { "\($0.table).\($0.column)" }) == Set(PHIField.allCases.map { "\($0.table).\($0.column)" }))
        let indexed = columns.filter { $0.column.hasSuffix("_bidx") }
        #expect(Set(indexed.map { "\($0.table).\($0.column)" }) == Set(BlindIndexField.allCases.map { "\($0.table).\($0.column)" }))
    }

    @Test func theSeedViewsExistAndRun() throws {
        let dir = TemporaryDirectory()
        let database = try freshDatabase(dir)
        try database.pool.read { db in
            for view in ["patient_dashboard_summary", "staff_workload", "facility_weekly_metrics"] {
                #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master WHERE type = 'view' AND name = ?", arguments: [view]) == 1)
                _ = try Row.fetchAll(db, sql: "SELECT * FROM \(view)")
            }
        }
    }

    @Test func theAuditLogIsAppendOnly() throws {
        let dir = TemporaryDirectory()
        let database = try freshDatabase(dir)
        try database.pool.write { db in
            try db.execute(sql: "INSERT INTO audit_logs (id, actor_kind, action, outcome, prev_hash, entry_hash) VALUES ('a1', 'system', 'test.event', 'success', zeroblob(32), randomblob(32))")
        }
        #expect(throws: (any Error).self) { try database.pool.write { db in try db.execute(sql: "UPDATE audit_logs SET action = 'x'") } }
        #expect(throws: (any Error).self) { try database.pool.write { db in try db.execute(sql: "DELETE FROM audit_logs") } }
        #expect(try database.pool.read { db in try String.fetchOne(db, sql: "SELECT action FROM audit_logs") } == "test.event")
    }

    @Test func timestampsAreRFC3339UTCWithMilliseconds() {
        let text = Timestamp.string(Date(timeIntervalSince1970: 1_764_086_695.125))
        #expect(text == "2025-11-25T16:04:55.125Z")
        #expect(Timestamp.parse(text).map { abs($0.timeIntervalSince1970 - 1_764_086_695.125) < 0.001 } == true)
    }
}

private extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
