import Foundation
import GRDB
import Synchronization
import Testing
@testable import RecoveryCore

/// Encrypted backups: written from a live appliance, verified, restored into
/// a new directory, and refused when damaged, cut off, or opened with another key.
@Suite struct BackupTests {
    struct Box {
        let dir: TemporaryDirectory
        let settings: Settings
        let appliance: Appliance
        let patientID: String
    }

    /// An initialised appliance with one patient, some read audit entries and two document files.
    func box() async throws -> Box {
        let dir = TemporaryDirectory()
        let settings = testSettings(dir)
        guard case .created(let created) = try await ApplianceSetup.initialise(settings: settings, request: ApplianceSetupTests.request,
                                                                              passwordCost: .minimum) else { throw CancellationError() }
        let (appliance, _) = try Appliance.open(settings: settings, passwordCost: .minimum)
        let patientID = try await appliance.database.pool.write { db in
            try appliance.patientStore.insert(.init(facilityID: created.facilityID, firstName: "Marisol", lastName: "Quennell",
                                                    dateOfBirth: "1979-03-03", levelOfCare: "iop", status: "active"), in: db).id
        }
        for _ in 0..<3 {
            try await appliance.auditWriter.record(AuditEvent(action: "patient.read", outcome: .success, actorKind: .staff,
                                                              actorID: "staff-1", patientID: patientID))
        }
        appliance.auditAnchor.flush()
        let documents = settings.dataDirectory + "/documents/ab"
        try FileManager.default.createDirectory(atPath: documents, withIntermediateDirectories: true)
        try Data(repeating: 7, count: 3 * BackupArchive.pieceBytes / 2).write(to: URL(fileURLWithPath: documents + "/abcdef0123456789"))
        try Data("sealed bytes".utf8).write(to: URL(fileURLWithPath: settings.dataDirectory + "/documents/fedcba9876543210"))
        return Box(dir: dir, settings: settings, appliance: appliance, patientID: patientID)
    }

    /// Runs blocking file and database work on a thread of its own, off the
    /// cooperative pool that the tests running alongside need.
    func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
        }
    }

    func backup(_ box: Box, name: String = "first.backup") async throws -> ApplianceBackup.Written {
        let (pool, key, directory, file) = (box.appliance.database.pool, box.appliance.masterKey, box.settings.dataDirectory, box.dir.file(name))
        return try await blocking {
            try ApplianceBackup.create(from: pool, masterKey: key, dataDirectory: directory, to: file)
        }
    }

    func verify(_ file: String, _ key: MasterKey) async throws -> ApplianceBackup.Verified {
        try await blocking { try ApplianceBackup.verify(file: file, masterKey: key) }
    }

    func restore(_ file: String, _ settings: Settings) async throws -> ApplianceBackup.Verified {
        try await blocking { try ApplianceBackup.restore(file: file, settings: settings) }
    }

    @Test func aBackupRestoresIntoANewDirectoryThatServes() async throws {
        let box = try await box()
        let written = try await backup(box)
        #expect(written.manifest.counts["patients"] == 1)
        #expect(written.manifest.documentCount == 2)
        #expect(written.manifest.schemaVersion == Migration.latestVersion)
        #expect(written.manifest.applianceID != nil)
        var info = stat()
        #expect(stat(written.file, &info) == 0 && info.st_mode & 0o777 == 0o600)
        #expect(Int64(info.st_size) == written.bytes)

        // The new directory holds only the key, as the operator copies it in.
        var restoreSettings = Settings()
        restoreSettings.dataDirectory = box.dir.file("restored")
        try FileManager.default.createDirectory(atPath: restoreSettings.dataDirectory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        try FileManager.default.copyItem(atPath: box.settings.resolvedKeyFile, toPath: restoreSettings.resolvedKeyFile)
        let restored = try await restore(written.file, restoreSettings)
        #expect(restored.manifest == written.manifest)
        #expect(restored.auditEntries == 3)

        let (copy, applied) = try Appliance.open(settings: restoreSettings, passwordCost: .minimum)
        #expect(applied.isEmpty)
        let name = try await copy.database.pool.read { db -> String in
            let blob = try Data.fetchOne(db, sql: "SELECT first_name_enc FROM patients WHERE id = ?", arguments: [box.patientID])!
            return try copy.cipher.openString(blob, field: .patientsFirstName, rowID: box.patientID)
        }
        #expect(name == "Marisol")
        #expect(FileManager.default.contents(atPath: restoreSettings.dataDirectory + "/documents/ab/abcdef0123456789")
                == Data(repeating: 7, count: 3 * BackupArchive.pieceBytes / 2))
        #expect(try ApplianceSetup.verifyAudit(settings: restoreSettings) == .intact(entries: restored.auditEntries))
        try copy.database.close()
    }

    @Test func theFileHoldsNeitherTheKeyNorPlainText() async throws {
        let box = try await box()
        let written = try await backup(box)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: written.file))
        let key = try Data(contentsOf: URL(fileURLWithPath: box.settings.resolvedKeyFile))
        #expect(bytes.range(of: key) == nil)
        #expect(!bytes.contains(text: "SQLite format 3"))
        #expect(!bytes.contains(text: "patients"))
        #expect(!bytes.contains(text: "sealed bytes"))
        #expect(try await verify(written.file, box.appliance.masterKey).manifest == written.manifest)
    }

    @Test func anAlteredCutOffOrForeignBackupIsRefused() async throws {
        let box = try await box()
        let written = try await backup(box)
        let original = try Data(contentsOf: URL(fileURLWithPath: written.file))

        var altered = original
        altered[original.count / 2] ^= 0x01
        try altered.write(to: URL(fileURLWithPath: box.dir.file("altered.backup")))
        await #expect(throws: BackupError.damaged(path: box.dir.file("altered.backup"), reason: "a part fails authentication")) {
            try await verify(box.dir.file("altered.backup"), box.appliance.masterKey)
        }

        try original.prefix(original.count - 40).write(to: URL(fileURLWithPath: box.dir.file("cut.backup")))
        await #expect(throws: BackupError.self) {
            try await verify(box.dir.file("cut.backup"), box.appliance.masterKey)
        }

        await #expect(throws: BackupError.wrongKey(path: written.file)) {
            try await verify(written.file, MasterKey.generate())
        }

        try Data("not a backup at all, just text".utf8).write(to: URL(fileURLWithPath: box.dir.file("text.backup")))
        await #expect(throws: BackupError.notABackup(path: box.dir.file("text.backup"))) {
            try await verify(box.dir.file("text.backup"), box.appliance.masterKey)
        }
    }

    @Test func noFileIsOverwrittenAndNoAppliancesDirectoryIsRestoredOver() async throws {
        let box = try await box()
        let written = try await backup(box)
        await #expect(throws: BackupError.destinationExists(path: written.file)) { try await backup(box) }
        // Restoring over the live appliance is refused, naming what is there.
        await #expect(throws: BackupError.self) { try await restore(written.file, box.settings) }
        #expect(FileManager.default.fileExists(atPath: box.settings.databasePath))

        var elsewhere = Settings()
        elsewhere.dataDirectory = box.dir.file("no-key")
        await #expect(throws: BackupError.keyFileMissing(path: elsewhere.resolvedKeyFile)) {
            try await restore(written.file, elsewhere)
        }

        // Another key: nothing is left behind but that key.
        var foreign = Settings()
        foreign.dataDirectory = box.dir.file("foreign")
        try FileManager.default.createDirectory(atPath: foreign.dataDirectory, withIntermediateDirectories: false)
        _ = try MasterKey.create(at: foreign.resolvedKeyFile)
        await #expect(throws: BackupError.wrongKey(path: written.file)) { try await restore(written.file, foreign) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: foreign.dataDirectory) == ["master.key"])
    }

    @Test func aBackupNeedsNoWriteLock() async throws {
        let box = try await box()
        // A write transaction stays open on the writer for the whole backup:
        // the backup reads its own snapshot and finishes, without the
        // uncommitted change; the writer then commits.
        // (A thread of its own, not a task: it blocks while it holds the writer.)
        let opened = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
        let pool = box.appliance.database.pool
        let patientID = box.patientID
        let committed = Mutex(false)
        Thread {
            let done: Bool = (try? pool.write { db -> Bool in
                try db.execute(sql: "UPDATE patients SET status = 'discharged' WHERE id = ?", arguments: [patientID])
                opened.signal()
                release.wait()
                return true
            }) ?? false
            committed.withLock { $0 = done }
            finished.signal()
        }.start()
        try await blocking { opened.wait() }
        let written = try await backup(box, name: "during.backup")
        release.signal()
        try await blocking { finished.wait() }
        #expect(committed.withLock { $0 })
        #expect(written.manifest.counts["patients"] == 1)

        var copy = Settings()
        copy.dataDirectory = box.dir.file("copy")
        try FileManager.default.createDirectory(atPath: copy.dataDirectory, withIntermediateDirectories: false)
        try FileManager.default.copyItem(atPath: box.settings.resolvedKeyFile, toPath: copy.resolvedKeyFile)
        _ = try await restore(written.file, copy)
        let queue = try DatabaseQueue(path: copy.databasePath)
        let status = try await queue.read { db in try String.fetchOne(db, sql: "SELECT status FROM patients") }
        #expect(status == "active")
        try queue.close()
    }
}
