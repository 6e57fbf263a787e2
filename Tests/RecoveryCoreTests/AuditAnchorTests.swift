import Foundation
import GRDB
import Testing
@testable import RecoveryCore

/// The audit chain's head kept outside the database (`audit.head`), tried
/// against someone who opens the SQLite file directly, drops the append-only
/// triggers and removes entries.
@Suite struct AuditAnchorTests {
    /// An initialised appliance whose trail holds `count` read entries (seq
    /// 1...count, about three patients), its head file up to date.
    func appliance(entries count: Int) async throws -> (TemporaryDirectory, Settings, Appliance) {
        let dir = TemporaryDirectory()
        let settings = testSettings(dir)
        _ = try await ApplianceSetup.initialise(settings: settings, request: ApplianceSetupTests.request, passwordCost: .minimum)
        let (appliance, _) = try Appliance.open(settings: settings, passwordCost: .minimum)
        try await read(count, appliance)
        return (dir, settings, appliance)
    }

    func read(_ count: Int, _ appliance: Appliance) async throws {
        for index in 0..<count {
            try await appliance.auditWriter.record(AuditEvent(action: "patient.read", outcome: .success, actorKind: .staff,
                                                              actorID: "staff-1", patientID: "patient-\(index % 3)"))
        }
        appliance.auditAnchor.flush()
    }

    /// Runs `sql` on the database file through a connection of its own, as
    /// the sqlite3 shell would (foreign keys off), after dropping the triggers
    /// that refuse changes to the trail.
    func tamper(_ settings: Settings, _ sql: String) throws {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = false
        let queue = try DatabaseQueue(path: settings.databasePath, configuration: configuration)
        try queue.write { db in
            try db.execute(sql: """
                DROP TRIGGER IF EXISTS audit_logs_no_delete; DROP TRIGGER IF EXISTS audit_logs_no_update;
                DROP TRIGGER IF EXISTS audit_log_patients_no_delete; DROP TRIGGER IF EXISTS audit_log_patients_no_update;
                """)
            try db.execute(sql: sql)
        }
        try queue.close()
    }

    func headFile(_ settings: Settings) -> String { settings.dataDirectory + "/" + AuditAnchor.fileName }

    func storedHead(_ settings: Settings) -> AuditAnchor.Stored {
        AuditAnchor.stored(dataDirectory: settings.dataDirectory, masterKey: try! MasterKey.load(from: settings.resolvedKeyFile))
    }

    @Test func theHeadFileFollowsEachCommitAndIsPrivate() async throws {
        let (dir, settings, appliance) = try await appliance(entries: 4)
        defer { withExtendedLifetime(dir) {} }
        guard case .head(let head) = storedHead(settings) else { Issue.record("no head file"); return }
        #expect(head.seq == 4)
        let last = try await appliance.database.pool.read { db in try Data.fetchOne(db, sql: "SELECT entry_hash FROM audit_logs WHERE seq = 4") }
        #expect(head.hash == last)
        var info = stat()
        #expect(stat(headFile(settings), &info) == 0 && info.st_mode & 0o777 == 0o600)
        #expect(try ApplianceSetup.verifyAudit(settings: settings) == .intact(entries: 4))
    }

    @Test(arguments: [1, 3, 6])
    func removingTheNewestEntriesIsFound(removed: Int) async throws {
        let (dir, settings, appliance) = try await appliance(entries: 6)
        defer { withExtendedLifetime(dir) {} }
        try appliance.database.close()
        try tamper(settings, "DELETE FROM audit_log_patients WHERE audit_seq > \(6 - removed); DELETE FROM audit_logs WHERE seq > \(6 - removed)")

        let expected = removed == 6
            ? "is missing: the trail is empty, but audit.head records entries up to 6 (every entry was removed)"
            : "is missing: the trail ends at entry \(6 - removed), but audit.head records entries up to 6 (the newest entries were removed)"
        #expect(try ApplianceSetup.verifyAudit(settings: settings) == .broken(seq: 6, reason: expected))
        // Nor does the server start on it (nor write over the evidence).
        #expect(throws: ApplianceError.auditTrailCutBack(path: headFile(settings), seq: 6, tableSeq: Int64(6 - removed))) {
            try Appliance.open(settings: settings, passwordCost: .minimum)
        }
        guard case .head(let head) = storedHead(settings) else { Issue.record("head file gone"); return }
        #expect(head.seq == 6)
    }

    /// Entries removed while the server runs, which then writes on: numbers
    /// are never reused, so the chain shows a gap; and the head file stays at
    /// the removed entry. Resetting SQLite's high-water mark as well does not help.
    @Test(arguments: [false, true])
    func removingTheNewestEntriesAndWritingOnIsFound(resetSequence: Bool) async throws {
        let (dir, settings, appliance) = try await appliance(entries: 6)
        defer { withExtendedLifetime(dir) {} }
        try tamper(settings, "DELETE FROM audit_log_patients WHERE audit_seq > 4; DELETE FROM audit_logs WHERE seq > 4"
                   + (resetSequence ? "; UPDATE sqlite_sequence SET seq = 4 WHERE name = 'audit_logs'" : ""))
        try await read(2, appliance)

        #expect(appliance.auditAnchor.halted == "the audit trail no longer holds entry 6 that audit.head names")
        let seqs = try await appliance.database.pool.read { db in try Int64.fetchAll(db, sql: "SELECT seq FROM audit_logs ORDER BY seq") }
        if resetSequence {
            #expect(seqs == [1, 2, 3, 4, 5, 6])
            #expect(try ApplianceSetup.verifyAudit(settings: settings)
                    == .broken(seq: 6, reason: "is not the entry audit.head records (the trail was cut back and written on, or replaced)"))
        } else {
            #expect(seqs == [1, 2, 3, 4, 7, 8])
            #expect(try ApplianceSetup.verifyAudit(settings: settings) == .broken(seq: 7, reason: "follows entry 4: entries 5 to 6 were removed"))
        }
    }

    /// The file is rewritten after the commit, so after a crash it may name
    /// an older entry than the table's newest: that is accepted when the
    /// newer entries chain from it, and the next start catches the file up.
    @Test func aHeadFileBehindTheTableByChainedEntriesIsAccepted() async throws {
        let (dir, settings, appliance) = try await appliance(entries: 5)
        defer { withExtendedLifetime(dir) {} }
        let behind = try Data(contentsOf: URL(fileURLWithPath: headFile(settings)))
        try await read(3, appliance)
        try appliance.database.close()
        try behind.write(to: URL(fileURLWithPath: headFile(settings)))
        guard case .head(let lagging) = storedHead(settings) else { Issue.record("no head file"); return }
        #expect(lagging.seq == 5)

        #expect(try ApplianceSetup.verifyAudit(settings: settings) == .intact(entries: 8))
        let (reopened, _) = try Appliance.open(settings: settings, passwordCost: .minimum)
        defer { try? reopened.database.close() }
        #expect(reopened.auditHeadCreatedAt == nil)
        guard case .head(let caughtUp) = storedHead(settings) else { Issue.record("no head file"); return }
        #expect(caughtUp.seq == 8)
    }

    @Test func anAlteredOrForeignHeadFileIsRefused() async throws {
        let (dir, settings, appliance) = try await appliance(entries: 5)
        defer { withExtendedLifetime(dir) {} }
        let path = headFile(settings)
        let original = try String(contentsOfFile: path, encoding: .utf8)
        let parts = original.split(separator: " ")
        // An older seq with the seal left as it was (to hide removed entries).
        let edits = [
            parts[0...1].joined(separator: " ") + " 3 " + parts[3...].joined(separator: " "),
            original.replacingOccurrences(of: String(parts[4].prefix(6)), with: "000000"),
            "",
        ]
        for edited in edits {
            try edited.write(toFile: path, atomically: true, encoding: .utf8)
            #expect(try ApplianceSetup.verifyAudit(settings: settings)
                    == .headFile(reason: "\(path) is damaged, altered or not sealed with this box's master key"))
            #expect(throws: ApplianceError.auditHeadInvalid(path: path)) { try Appliance.open(settings: settings, passwordCost: .minimum) }
        }
        // Sealed with another box's key.
        let hash = try await appliance.database.pool.read { db in try Data.fetchOne(db, sql: "SELECT entry_hash FROM audit_logs WHERE seq = 5") }
        try AuditAnchor(path: path, masterKey: MasterKey.generate(), head: .empty).save(.init(seq: 5, hash: try #require(hash)))
        #expect(try ApplianceSetup.verifyAudit(settings: settings)
                == .headFile(reason: "\(path) is damaged, altered or not sealed with this box's master key"))
        try original.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try ApplianceSetup.verifyAudit(settings: settings) == .intact(entries: 5))
    }

    /// A database from before the head file (or a file removed): verify says
    /// so; the server writes the file at start and records that in the trail.
    @Test func aMissingHeadFileIsReportedThenWrittenAtStart() async throws {
        let (dir, settings, appliance) = try await appliance(entries: 4)
        defer { withExtendedLifetime(dir) {} }
        try appliance.database.close()
        try FileManager.default.removeItem(atPath: headFile(settings))

        guard case .headFile(let reason) = try ApplianceSetup.verifyAudit(settings: settings) else { Issue.record("not reported"); return }
        #expect(reason.hasPrefix("there is no \(headFile(settings)), so removal of the newest entries cannot be detected"))

        let (reopened, _) = try Appliance.open(settings: settings, passwordCost: .minimum)
        #expect(reopened.auditHeadCreatedAt == 4)
        let recorded = try await reopened.database.pool.read { db in
            try Row.fetchOne(db, sql: "SELECT seq, actor_kind, details FROM audit_logs WHERE action = 'audit.head_created'")
        }
        let row = try #require(recorded)
        #expect(row["seq"] as Int64 == 5)
        #expect(row["actor_kind"] as String == "system")
        #expect(row["details"] as String == #"{"from_seq":"4"}"#)
        try reopened.database.close()
        #expect(try ApplianceSetup.verifyAudit(settings: settings) == .intact(entries: 5))
        guard case .head(let head) = storedHead(settings) else { Issue.record("no head file"); return }
        #expect(head.seq == 5)
    }

    /// An empty trail needs no head file (a new box before its first start).
    @Test func anEmptyTrailWithoutAHeadFileIsIntact() async throws {
        let (dir, settings, appliance) = try await appliance(entries: 0)
        defer { withExtendedLifetime(dir) {} }
        try appliance.database.close()
        try FileManager.default.removeItem(atPath: headFile(settings))
        #expect(try ApplianceSetup.verifyAudit(settings: settings) == .intact(entries: 0))
    }

    /// 0006 rebuilds audit_logs with AUTOINCREMENT: every entry keeps its
    /// number, hash and index rows, the table stays append-only, and a
    /// removed number is not given out again.
    @Test func theRebuildKeepsEveryEntryAndNumbersAreNeverReusedAfterIt() throws {
        let dir = TemporaryDirectory()
        let database = try AppDatabase(path: dir.file("test.sqlite"))
        try database.migrator.migrate(database.pool, upTo: "0005_patient_list_cards")
        let log = AuditLog(masterKey: fixedKey, cipher: FieldCipher(masterKey: fixedKey))
        for index in 0..<5 {
            try database.pool.write { db in
                try log.append(AuditEvent(action: "patient.read", outcome: .success, actorKind: .staff, actorID: "staff-1",
                                          patientID: "patient-\(index)", patientIDs: index == 2 ? ["patient-7", "patient-8"] : nil), in: db)
            }
        }
        let before = try database.pool.read { db in try Row.fetchAll(db, sql: "SELECT * FROM audit_logs ORDER BY seq") }

        #expect(try database.migrate().first == "0006_audit_seq_never_reused")
        // The columns the entries had (later migrations add some).
        let columns = Array(before[0].columnNames).joined(separator: ", ")
        let (after, highWater, indexed, verified) = try database.pool.read { db in
            (try Row.fetchAll(db, sql: "SELECT \(columns) FROM audit_logs ORDER BY seq"),
             try Int.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'audit_logs'"),
             try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_log_patients"),
             try log.verify(in: db))
        }
        #expect(after == before)
        #expect(highWater == 5)
        #expect(indexed == 5)
        #expect(verified == .intact(entries: 5))
        #expect(throws: (any Error).self) { try database.pool.write { db in try db.execute(sql: "DELETE FROM audit_logs WHERE seq = 5") } }
        #expect(throws: (any Error).self) { try database.pool.write { db in try db.execute(sql: "UPDATE audit_logs SET action = 'x' WHERE seq = 5") } }

        try database.pool.write { db in
            try db.execute(sql: "DROP TRIGGER audit_logs_no_delete; DROP TRIGGER audit_log_patients_no_delete")
            try db.execute(sql: "DELETE FROM audit_log_patients WHERE audit_seq = 5; DELETE FROM audit_logs WHERE seq = 5")
            try log.append(AuditEvent(action: "patient.read", outcome: .success, actorKind: .staff, actorID: "staff-1"), in: db)
        }
        #expect(try database.pool.read { db in try Int64.fetchAll(db, sql: "SELECT seq FROM audit_logs ORDER BY seq") } == [1, 2, 3, 4, 6])
    }

    /// `audit_log_patients` (filled by trigger) is what access history reads:
    /// it must index every entry's patient and nothing else.
    @Test func theIndexOfEntriesByPatientMustMatchTheEntries() async throws {
        let (dir, settings, appliance) = try await appliance(entries: 6)
        defer { withExtendedLifetime(dir) {} }
        try appliance.database.close()
        let missing = "its patient is missing from the index of entries by patient (access history would not show it)"
        let extra = "the index of entries by patient names a patient this entry does not (access history would show a read that was not)"

        try tamper(settings, "DELETE FROM audit_log_patients WHERE audit_seq = 3")
        #expect(try ApplianceSetup.verifyAudit(settings: settings) == .broken(seq: 3, reason: missing))
        try tamper(settings, "INSERT INTO audit_log_patients (patient_id, audit_seq) VALUES ('patient-2', 3)")
        #expect(try ApplianceSetup.verifyAudit(settings: settings) == .intact(entries: 6))

        try tamper(settings, "INSERT INTO audit_log_patients (patient_id, audit_seq) VALUES ('patient-9', 2)")
        #expect(try ApplianceSetup.verifyAudit(settings: settings) == .broken(seq: 2, reason: extra))
        try tamper(settings, "DELETE FROM audit_log_patients WHERE patient_id = 'patient-9'")
        try tamper(settings, "INSERT INTO audit_log_patients (patient_id, audit_seq) VALUES ('patient-0', 99)")
        #expect(try ApplianceSetup.verifyAudit(settings: settings) == .broken(seq: 99, reason: extra))
    }
}
