import Foundation
import GRDB
import Testing
@testable import RecoveryCore

/// Master-key rotation on a real data directory: two appliances on one
/// database stand for the server and `keys rotate` (two processes in
/// production), with the demo data in every table it fills, a document
/// file, and the registry's coverage of the schema.
@Suite struct KeyRotationTests {
    struct Box {
        let dir: TemporaryDirectory
        let settings: Settings
        /// The serving appliance.
        let server: Appliance
        let facilityID: String
        let adminID: String
        let patientID: String
        let documentID: String
    }

    static let firstName = "Ottoline", lastName = "Brackwater"

    func box() async throws -> Box {
        let dir = TemporaryDirectory()
        let settings = testSettings(dir)
        guard case .created(let created) = try await ApplianceSetup.initialise(settings: settings, request: ApplianceSetupTests.request,
                                                                              passwordCost: .minimum) else { throw CancellationError() }
        let (server, _) = try Appliance.open(settings: settings, passwordCost: .minimum)
        _ = try await DemoData.seed(server)
        let patientID = try await server.database.pool.write { db in
            try server.patientStore.insert(.init(facilityID: created.facilityID, firstName: Self.firstName, lastName: Self.lastName,
                                                 dateOfBirth: "1981-04-05", email: "ottoline@example.org", levelOfCare: "iop",
                                                 status: "active"), in: db).id
        }
        let documentID = try await storeDocument(server, facilityID: created.facilityID, patientID: patientID, adminID: created.adminID)
        let admin = Identity(kind: .staff, subjectID: created.adminID, role: .admin, facilityID: created.facilityID, sessionID: "s0")
        try await server.auditWriter.record(AuditEvent(action: "patient.read", outcome: .success, actorKind: .staff,
                                                       actorID: created.adminID, patientID: patientID))
        let messaging = Messaging(appliance: server)
        let conversation = try await messaging.create(admin, .init(patientID: patientID, title: "Weekly check"), origin: .init())
        for body in ["How was group?", "It helped a lot"] {
            _ = try await messaging.send(admin, conversationID: conversation.id, body: body, clientID: nil, origin: .init())
        }
        return Box(dir: dir, settings: settings, server: server, facilityID: created.facilityID, adminID: created.adminID,
                   patientID: patientID, documentID: documentID)
    }

    static let documentBytes = Array((0..<200_000).map { UInt8($0 % 251) })

    /// A document as an upload stores it: its file under the current version's sub-key, its row.
    func storeDocument(_ appliance: Appliance, facilityID: String, patientID: String, adminID: String) async throws -> String {
        let id = RowID.make(), keyID = UInt64.random(in: 1...UInt64.max)
        let name = SecureRandom.bytes(20).map { String(format: "%02x", $0) }.joined()
        let folder = appliance.settings.dataDirectory + "/documents"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let keys = appliance.documentKeys
        let writer = try DocumentFile.Writer(path: "\(folder)/\(name)", key: keys.key(keyID), documentID: id, limit: Int.max)
        try writer.append(Self.documentBytes)
        let digest = try writer.finish()
        let cipher = appliance.cipher
        try await appliance.database.pool.write { db in
            try db.execute(sql: """
                INSERT INTO documents (id, facility_id, patient_id, uploaded_by_kind, uploaded_by, title_enc, content_type, size_bytes,
                    sha256, storage_name, key_version, category, patient_visible, key_id, created_at, updated_at)
                VALUES (?, ?, ?, 'staff', ?, ?, 'application/octet-stream', ?, ?, ?, ?, 'other', 0, ?, ?, ?)
                """, arguments: [id, facilityID, patientID, adminID, cipher.seal("Intake form", field: .documentsTitle, rowID: id),
                                 Self.documentBytes.count, Data(digest), name, Int64(keys.currentVersion), Int64(bitPattern: keyID),
                                 Timestamp.now(), Timestamp.now()])
        }
        return id
    }

    /// The rotating process: its own appliance on the same files.
    func rotator(_ box: Box, batchSize: Int = 7) throws -> KeyRotation {
        KeyRotation(appliance: try Appliance.open(settings: box.settings, passwordCost: .minimum).0, batchSize: batchSize)
    }

    /// Every registered column's values, by place and row: (key version, plaintext).
    func contents(_ appliance: Appliance, ring: KeyRing) async throws -> [String: (UInt32, Data)] {
        let cipher = FieldCipher(ring: ring)
        return try await appliance.database.pool.read { db in
            var out: [String: (UInt32, Data)] = [:]
            for field in RotationStep.rotatedFields {
                for row in try Row.fetchAll(db, sql: "SELECT id, \(field.column) AS v FROM \(field.table) WHERE v IS NOT NULL") {
                    let blob: Data = row["v"], id: String = row["id"]
                    out["\(field.table).\(field.column)/\(id)"] = (FieldCipher.keyVersion(of: blob)!, try cipher.open(blob, field: field, rowID: id))
                }
            }
            return out
        }
    }

    func readDocument(_ appliance: Appliance, _ id: String) async throws -> [UInt8] {
        let download = try await appliance.database.pool.read { db in
            try Documents(appliance: appliance).open(try Row.fetchOne(db, sql: "SELECT * FROM documents WHERE id = ?", arguments: [id])!)
        }
        var bytes: [UInt8] = []
        while let chunk = try download.reader.next() { bytes += chunk }
        return bytes
    }

    func findByName(_ appliance: Appliance, _ name: String) async throws -> Int {
        let lookup = appliance.blindIndex.lookup(name, for: .patientsLastName)
        return try await appliance.database.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM patients WHERE \(lookup.sql("last_name_bidx"))", arguments: lookup.arguments)!
        }
    }

    // MARK: The registry

    @Test func everyEncryptedColumnOfTheSchemaIsInTheRegistry() async throws {
        let dir = TemporaryDirectory()
        let settings = testSettings(dir)
        try FileManager.default.createDirectory(atPath: settings.dataDirectory, withIntermediateDirectories: true)
        let database = try AppDatabase(settings: settings)
        try database.migrate()
        let (encrypted, tablesWithoutID) = try await database.pool.read { db -> (Set<String>, [String]) in
            var encrypted = Set<String>(), withoutID: [String] = []
            for table in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'") {
                let columns = try Row.fetchAll(db, sql: "SELECT name FROM pragma_table_info(?)", arguments: [table]).map { $0["name"] as String }
                let enc = columns.filter { $0.hasSuffix("_enc") }
                encrypted.formUnion(enc.map { "\(table).\($0)" })
                if !enc.isEmpty, !columns.contains("id") { withoutID.append(table) }
            }
            return (encrypted, withoutID)
        }
        let registered = Set(PHIField.allCases.map { "\($0.table).\($0.column)" })
        #expect(encrypted.subtracting(registered).isEmpty, "encrypted columns no PHIField declares: \(encrypted.subtracting(registered))")
        #expect(registered.subtracting(encrypted).isEmpty, "PHIFields without a column: \(registered.subtracting(encrypted))")
        #expect(tablesWithoutID.isEmpty, "tables whose rows a rotation cannot walk by id: \(tablesWithoutID)")
        // Each column is re-encrypted, or keeps its old key for a stated reason.
        for field in PHIField.allCases {
            #expect(RotationStep.all.contains(.table(field.table)) == (field.rotation == .reencrypt) || field.rotation == .keepOldKey)
            #expect(RotationStep.rotatedFields.contains(field) == (field.rotation == .reencrypt))
        }
        // Every blind index is rebuilt from a registered column, or keeps its old key.
        for index in BlindIndexField.allCases {
            if let source = index.source { #expect(source.rotation == .reencrypt && source.table == index.table) }
        }
    }

    // MARK: Rotation

    @Test func rotatesEveryColumnTheDocumentsAndTheIndexesSoOnlyTheNewKeyIsNeeded() async throws {
        let box = try await box()
        defer { withExtendedLifetime(box.dir) {} }
        let before = try await contents(box.server, ring: box.server.keyRing)
        #expect(before.values.allSatisfy { $0.0 == 1 })
        let coveredTables = Set(before.keys.map { String($0.split(separator: ".")[0]) })
        #expect(coveredTables.isSuperset(of: ["staff", "patients", "documents", "conversations", "messages"]))

        var reports = 0
        let state = try await rotator(box).run { _ in reports += 1 }
        #expect(state.phase == .finished && state.fromVersion == 1 && state.toVersion == 2)
        #expect(state.documentsReencrypted == 1)
        #expect(reports == state.batches + 2, "one report per batch and per change of phase")
        try await box.server.reloadKeysIfChanged()

        // Only version 2 and the retained sub-keys: the old key file is not needed.
        try FileManager.default.removeItem(atPath: box.settings.resolvedKeyFile)
        let (reopened, _) = try Appliance.open(settings: box.settings, passwordCost: .minimum)
        #expect(reopened.keyRing.masterKeys.keys.sorted() == [2])
        // Everything that was there, plus the old version's retained sub-keys.
        let after = try await contents(reopened, ring: reopened.keyRing).filter { !$0.key.hasPrefix("retained_subkeys.") }
        #expect(after.count == before.count, "\(Set(after.keys).symmetricDifference(before.keys).sorted())")
        for (place, value) in before {
            #expect(after[place]?.0 == 2, "\(place) is not under version 2")
            #expect(after[place]?.1 == value.1, "\(place) changed")
        }
        #expect(try await readDocument(reopened, box.documentID) == Self.documentBytes)
        #expect(try await findByName(reopened, Self.lastName) == 1)
        let accounts = try await reopened.database.pool.read { db in try reopened.patientStore.accounts(identifier: "OTTOLINE@example.org", in: db) }
        #expect(accounts.map(\.id) == [box.patientID])
        let files = try FileManager.default.contentsOfDirectory(atPath: box.settings.dataDirectory + "/documents")
        #expect(files.count == 1, "the old document file is removed")
        #expect(try ApplianceSetup.verifyAudit(settings: box.settings) == .intact(entries: try await auditCount(reopened)))
    }

    func auditCount(_ appliance: Appliance) async throws -> Int {
        try await appliance.database.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_logs")! }
    }

    @Test func resumesAfterAnInterruptionAtEachPoint() async throws {
        // Stopped after the key file was written but before it was listed (nil); right after the
        // start; in the middle of the first pass; in the middle of the final sweep.
        let stops: [(phase: KeyRotationState.Phase, steps: Int)?] = [nil, (.firstPass, 0), (.firstPass, 9), (.finalSweep, 5)]
        for stop in stops {
            let box = try await box()
            defer { withExtendedLifetime(box.dir) {} }
            let before = try await contents(box.server, ring: box.server.keyRing)
            if let stop {
                let first = try rotator(box, batchSize: 3)
                var state = try await first.start()
                try await first.appliance.reloadKeysIfChanged()
                while state.phase != stop.phase { state = try await first.step(state) }
                for _ in 0..<stop.steps { state = try await first.step(state) }
                #expect(state.phase == stop.phase)
                try first.appliance.database.close()
            } else {
                _ = try MasterKey.createDurably(at: KeyRing.keyFile(box.settings.resolvedKeyFile, version: 2))
            }
            let state = try await rotator(box).run()
            #expect(state.phase == .finished && state.toVersion == 2)
            try FileManager.default.removeItem(atPath: box.settings.resolvedKeyFile)
            let (reopened, _) = try Appliance.open(settings: box.settings, passwordCost: .minimum)
            let after = try await contents(reopened, ring: reopened.keyRing).filter { !$0.key.hasPrefix("retained_subkeys.") }
            #expect(after.count == before.count)
            #expect(after.allSatisfy { place, value in value.0 == 2 && before[place]?.1 == value.1 }, "interrupted at \(String(describing: stop))")
            #expect(try await readDocument(reopened, box.documentID) == Self.documentBytes)
            #expect(try ApplianceSetup.verifyAudit(settings: box.settings) == .intact(entries: try await auditCount(reopened)))
        }
    }

    /// A second `keys rotate` while one runs is refused before it writes a key file
    /// (it would replace the new key of the first, whose data is encrypted under it).
    @Test func aSecondRunWhileOneRunsIsRefusedAndTouchesNothing() async throws {
        let box = try await box()
        defer { withExtendedLifetime(box.dir) {} }
        let before = try await contents(box.server, ring: box.server.keyRing)
        let held = try KeyRotation.lockRuns(keyFile: box.settings.resolvedKeyFile)
        await #expect(throws: KeyRotation.Failure.alreadyRunning(lockFile: box.settings.resolvedKeyFile + ".rotation-lock")) {
            try await rotator(box).run()
        }
        #expect(!FileManager.default.fileExists(atPath: KeyRing.keyFile(box.settings.resolvedKeyFile, version: 2)))
        let after = try await contents(box.server, ring: box.server.keyRing)
        #expect(after.count == before.count && after.allSatisfy { place, value in value.0 == 1 && before[place]?.1 == value.1 })
        close(held)
        let state = try await rotator(box).run()
        #expect(state.phase == .finished && state.toVersion == 2)
    }

    @Test func aRowWrittenUnderTheOldVersionDuringTheRotationIsReencrypted() async throws {
        let box = try await box()
        defer { withExtendedLifetime(box.dir) {} }
        let rotation = try rotator(box)
        var state = try await rotation.start()
        try await rotation.appliance.reloadKeysIfChanged()
        // The patients' columns are done; the server has not reloaded yet and writes under version 1.
        while state.entry <= RotationStep.all.firstIndex(of: .table("patients"))! { state = try await rotation.step(state) }
        #expect(box.server.keyRing.currentVersion == 1)
        let late = try await box.server.database.pool.write { db in
            try box.server.patientStore.insert(.init(facilityID: box.facilityID, firstName: "Wenonah", lastName: "Latecomer",
                                                     dateOfBirth: "1990-01-02", levelOfCare: "iop", status: "active"), in: db).id
        }
        let lateVersion = try await box.server.database.pool.read { db in
            FieldCipher.keyVersion(of: try Data.fetchOne(db, sql: "SELECT first_name_enc FROM patients WHERE id = ?", arguments: [late])!)
        }
        #expect(lateVersion == 1)
        // Once the final sweep begins, a write under version 1 is refused rather than missed.
        while state.phase == .firstPass { state = try await rotation.step(state) }
        await #expect(throws: DatabaseError.self) {
            try await box.server.database.pool.write { db in
                _ = try box.server.patientStore.insert(.init(facilityID: box.facilityID, firstName: "Refused", lastName: "Writer",
                                                             dateOfBirth: "1990-01-02", levelOfCare: "iop", status: "active"), in: db)
            }
        }
        while state.phase != .finished { state = try await rotation.step(state) }
        try await box.server.reloadKeysIfChanged()
        let (first, version) = try await box.server.database.pool.read { db in
            let blob = try Data.fetchOne(db, sql: "SELECT first_name_enc FROM patients WHERE id = ?", arguments: [late])!
            return (try box.server.cipher.openString(blob, field: .patientsFirstName, rowID: late), FieldCipher.keyVersion(of: blob))
        }
        #expect(first == "Wenonah" && version == 2)
        #expect(try await findByName(box.server, "Latecomer") == 1)
        #expect(try await findByName(box.server, "Writer") == 0)
        // After the rotation the server writes under version 2.
        let fresh = try await box.server.database.pool.write { db in
            try box.server.patientStore.insert(.init(facilityID: box.facilityID, firstName: "Fresh", lastName: "Afterwards",
                                                     dateOfBirth: "1990-01-02", levelOfCare: "iop", status: "active"), in: db).id
        }
        let freshVersion = try await box.server.database.pool.read { db in
            FieldCipher.keyVersion(of: try Data.fetchOne(db, sql: "SELECT first_name_enc FROM patients WHERE id = ?", arguments: [fresh])!)
        }
        #expect(freshVersion == 2)
    }

    @Test func blindIndexLookupsFindEveryRowDuringAndAfterTheRotation() async throws {
        let box = try await box()
        defer { withExtendedLifetime(box.dir) {} }
        let adminEmail = ApplianceSetupTests.request.adminEmail
        let rotation = try rotator(box, batchSize: 1)
        var state = try await rotation.start()
        try await rotation.appliance.reloadKeysIfChanged()
        try await box.server.reloadKeysIfChanged()
        #expect(box.server.keyRing.currentVersion == 2 && box.server.keyRing.retiringVersion == 1)
        var checked = 0
        while state.phase != .finished {
            state = try await rotation.step(state)
            if case .table(let table) = RotationStep.all[min(state.entry, RotationStep.all.count - 1)],
               table == "patients" || table == "staff" || checked % 50 == 0 {
                #expect(try await findByName(box.server, Self.lastName) == 1, "during \(state.phase) at step \(state.entry)")
                let staff = try await box.server.database.pool.read { db in try box.server.staffStore.account(email: adminEmail, in: db) }
                #expect(staff?.id == box.adminID)
            }
            checked += 1
        }
        try await box.server.reloadKeysIfChanged()
        #expect(box.server.keyRing.retiringVersion == nil)
        #expect(try await findByName(box.server, Self.lastName) == 1)
        #expect(try await findByName(box.server, "Nobody") == 0)
        let staff = try await box.server.database.pool.read { db in try box.server.staffStore.account(email: adminEmail, in: db) }
        #expect(staff?.id == box.adminID)
    }

    @Test func aSessionAndItsRefreshTokenSurviveTheRotation() async throws {
        let box = try await box()
        defer { withExtendedLifetime(box.dir) {} }
        let identity = Identity(kind: .staff, subjectID: box.adminID, role: .admin, facilityID: box.facilityID, sessionID: "s1")
        let token = try await box.server.accessTokens.issue(for: identity)
        let rotation = try rotator(box)
        var state = try await rotation.start()
        try await rotation.appliance.reloadKeysIfChanged()
        try await box.server.reloadKeysIfChanged()
        #expect(await box.server.accessTokens.verify(token)?.subjectID == box.adminID, "accepted during the rotation")
        while state.phase != .finished { state = try await rotation.step(state) }
        try await box.server.reloadKeysIfChanged()
        #expect(await box.server.accessTokens.verify(token) == nil, "the old version's signature ends with it")
        let fresh = try await box.server.accessTokens.issue(for: identity)
        #expect(await box.server.accessTokens.verify(fresh)?.subjectID == box.adminID)
        // A secret index (here a registration key's) is still found through its retained key.
        #expect(box.server.blindIndex.secretLookup("ABCD-EFGH", for: .registrationKeysKey).digests.count == 2)
    }

    @Test func theAuditTrailVerifiesAcrossVersionsAfterTheOldKeyIsDestroyed() async throws {
        let box = try await box()
        defer { withExtendedLifetime(box.dir) {} }
        try await rotator(box).run()
        try await box.server.reloadKeysIfChanged()
        try await box.server.auditWriter.record(AuditEvent(action: "patient.read", outcome: .success, actorKind: .staff,
                                                           actorID: box.adminID, patientID: box.patientID))
        box.server.auditAnchor.flush()
        let versions = try await box.server.database.pool.read { db in
            try Int.fetchAll(db, sql: "SELECT DISTINCT key_version FROM audit_logs ORDER BY key_version")
        }
        #expect(versions == [1, 2])
        try FileManager.default.removeItem(atPath: box.settings.resolvedKeyFile)
        #expect(try ApplianceSetup.verifyAudit(settings: box.settings) == .intact(entries: try await auditCount(box.server)))
        let (reopened, _) = try Appliance.open(settings: box.settings, passwordCost: .minimum)
        #expect(reopened.keyRing.retained.key(version: 1, purpose: .auditChain, id: 1) != nil)
    }

    @Test func aBackupFromBeforeTheRotationNamesTheKeyVersionItNeeds() async throws {
        let box = try await box()
        defer { withExtendedLifetime(box.dir) {} }
        let file = box.dir.file("before.backup")
        let ring = box.server.keyRing
        _ = try ApplianceBackup.create(from: box.server.database.pool, ring: ring, dataDirectory: box.settings.dataDirectory, to: file)
        try await rotator(box).run()
        #expect(try ApplianceBackup.verify(file: file, settings: box.settings).manifest.schemaVersion == Migration.latestVersion)
        try FileManager.default.removeItem(atPath: box.settings.resolvedKeyFile)
        #expect(throws: BackupError.keyVersionMissing(version: 1, keyFile: box.settings.resolvedKeyFile)) {
            try ApplianceBackup.verify(file: file, settings: box.settings)
        }
        // A backup made after the rotation needs version 2 only.
        try await box.server.reloadKeysIfChanged()
        let after = box.dir.file("after.backup")
        _ = try ApplianceBackup.create(from: box.server.database.pool, ring: box.server.keyRing, dataDirectory: box.settings.dataDirectory, to: after)
        #expect(try ApplianceBackup.verify(file: after, settings: box.settings).auditEntries > 0)
    }

    // MARK: The running server

    /// The server's key reload as `serve` runs it once a second.
    func serverTick(_ box: Box) async {
        try? await box.server.reloadKeysAndReport()
    }

    /// The key versions of every registered value, read with both keys.
    func versionsOfContents(_ rotating: Appliance) async throws -> Set<UInt32> {
        Set(try await contents(rotating, ring: rotating.keyRing).filter { !$0.key.hasPrefix("retained_subkeys.") }.values.map(\.0))
    }

    /// The server cannot read `<key_file>.v2` (here: moved away, as when the
    /// key file is mounted alone): it reports the failed reload, and the
    /// rotation stops before its first batch, resumable, with nothing
    /// encrypted under a key the server lacks.
    @Test func aRunningServerThatCannotLoadTheNewKeyHoldsTheRotationBack() async throws {
        let box = try await box()
        defer { withExtendedLifetime(box.dir) {} }
        await serverTick(box)
        let rotation = try rotator(box)
        _ = try await rotation.start()
        try await rotation.appliance.reloadKeysIfChanged()
        let newKey = KeyRing.keyFile(box.settings.resolvedKeyFile, version: 2)
        try FileManager.default.moveItem(atPath: newKey, toPath: newKey + ".elsewhere")
        await #expect(throws: (any Error).self) { try await box.server.reloadKeysAndReport() }
        #expect(box.server.keyReload.failure?.contains(newKey) == true)
        let report = try await box.server.database.pool.read { db in try ServerKeyRing.read(in: db) }
        #expect(report?.isRunning() == true && report?.currentVersion == 1 && report?.reloadFailure?.contains(newKey) == true)

        var notices: [String] = []
        let waiting = KeyRotation(appliance: rotation.appliance, batchSize: 7, serverWait: .milliseconds(300))
        do {
            try await waiting.run(waiting: { notices.append($0) })
            Issue.record("the rotation went on without the server")
        } catch let failure as KeyRotation.Failure {
            guard case .serverWithoutNewKey(let version, let holds, let reason, _, let beforeRetiring) = failure else {
                Issue.record("unexpected \(failure)"); return
            }
            #expect(version == 2 && holds == 1 && !beforeRetiring && reason?.contains(newKey) == true)
            #expect(failure.description.contains("run `keys rotate` again"))
        }
        #expect(notices.count == 1)
        let state = try await box.server.database.pool.read { db in try KeyRotationState.current(in: db) }
        #expect(state?.phase == .firstPass && state?.batches == 0 && state?.rowsReencrypted == 0)
        #expect(try await versionsOfContents(rotation.appliance) == [1], "nothing is encrypted under version 2 yet")

        // The file is back: the server loads it, reports it, and the rotation resumes to the end.
        try FileManager.default.moveItem(atPath: newKey + ".elsewhere", toPath: newKey)
        try await box.server.reloadKeysAndReport()
        #expect(box.server.keyReload.failure == nil)
        let finished = try await KeyRotation(appliance: rotation.appliance, batchSize: 7, serverWait: .milliseconds(300)).run()
        #expect(finished.phase == .finished)
        try await box.server.reloadKeysAndReport()
        #expect(try await versionsOfContents(rotation.appliance) == [2])
    }

    /// Before it retires the old version the rotation checks again: a server
    /// that no longer holds the new key (one restarted on the old key alone,
    /// here stood in for by its report) stops it in the final sweep.
    @Test func theRotationChecksTheServerAgainBeforeItRetiresTheOldVersion() async throws {
        let box = try await box()
        defer { withExtendedLifetime(box.dir) {} }
        let rotation = try rotator(box)
        _ = try await rotation.start()
        try await box.server.reloadKeysAndReport()
        let behind = ServerKeyRing(processID: 4242, currentVersion: 1, retiringVersion: nil, reloadFailure: nil, reloadFailedAt: nil,
                                   startedAt: Timestamp.now(), heartbeatAt: Timestamp.now())
        let run = KeyRotation(appliance: rotation.appliance, batchSize: 50, serverWait: .milliseconds(300))
        await #expect(throws: KeyRotation.Failure.self) {
            try await run.run(progress: { progress in
                if progress.state.phase == .finalSweep {
                    try? box.server.database.pool.write { db in try behind.save(db) }
                }
            })
        }
        let (state, retiring) = try await box.server.database.pool.read { db in
            (try KeyRotationState.current(in: db), try String.fetchOne(db, sql: "SELECT state FROM master_key_versions WHERE version = 1"))
        }
        #expect(state?.phase == .finalSweep && retiring == "retiring", "version 1 is not retired")
        let caughtUp = ServerKeyRing(processID: 4242, currentVersion: 2, retiringVersion: 1, reloadFailure: nil, reloadFailedAt: nil,
                                     startedAt: Timestamp.now(), heartbeatAt: Timestamp.now())
        try await box.server.database.pool.write { db in try caughtUp.save(db) }
        #expect(try await run.run().phase == .finished)
    }

    /// Without a running server (no report, a stale heartbeat, or a server
    /// that stopped cleanly) there is nothing to wait for.
    @Test func withoutARunningServerTheRotationGoesOn() async throws {
        let box = try await box()
        defer { withExtendedLifetime(box.dir) {} }
        await serverTick(box)
        try await box.server.withdrawKeyReport()
        #expect(try await box.server.database.pool.read { db in try ServerKeyRing.read(in: db) } == nil)
        let stale = ServerKeyRing(processID: 4242, currentVersion: 1, retiringVersion: nil, reloadFailure: nil, reloadFailedAt: nil,
                                  startedAt: Timestamp.now(),
                                  heartbeatAt: Timestamp.string(Date().addingTimeInterval(-(ServerKeyRing.freshFor + 1))))
        try await box.server.database.pool.write { db in try stale.save(db) }
        #expect(!stale.isRunning())
        let state = try await KeyRotation(appliance: try rotator(box).appliance, serverWait: .seconds(3_600)).run()
        #expect(state.phase == .finished)
    }

    // MARK: The federation signing key

    /// The clinic's sealed Ed25519 key is guarded like an encrypted column,
    /// and the old version is not retired while it is sealed under it.
    @Test func theFederationSigningKeySealIsGuardedAndCheckedBeforeRetiring() async throws {
        let box = try await box()
        defer { withExtendedLifetime(box.dir) {} }
        let identity = try await box.server.database.pool.write { db in try FederationIdentity.centralIdentity(box.server, in: db) }
        let rotation = try rotator(box)
        var state = try await rotation.start()
        try await rotation.appliance.reloadKeysIfChanged()
        // The whole first pass, the signing key's step included, is done.
        while state.entry < RotationStep.all.count { state = try await rotation.step(state) }
        // The server, not yet reloaded, seals the key again under version 1 after the step passed it.
        func resealByServer() async throws {
            try await box.server.database.pool.write { db in
                try db.execute(sql: "UPDATE federation_identity SET secret_key_sealed = ? WHERE id = ?",
                               arguments: [box.server.signingKeySeal.seal(identity.key, rowID: identity.id), identity.id])
            }
        }
        try await resealByServer()
        await #expect(throws: KeyRotation.Failure.leftUnderOldKey(place: "federation_identity.secret_key_sealed", count: 1)) {
            try await box.server.database.pool.read { db in try KeyRotation.requireNothingLeft(under: 1, in: db) }
        }
        while state.phase == .firstPass { state = try await rotation.step(state) }
        let sealed = try await box.server.database.pool.read { db in try Data.fetchOne(db, sql: "SELECT secret_key_sealed FROM federation_identity") }
        await #expect(throws: DatabaseError.self) { try await resealByServer() }
        #expect(try await box.server.database.pool.read { db in try Data.fetchOne(db, sql: "SELECT secret_key_sealed FROM federation_identity") } == sealed)
        while state.phase != .finished { state = try await rotation.step(state) }
        try FileManager.default.removeItem(atPath: box.settings.resolvedKeyFile)
        let (reopened, _) = try Appliance.open(settings: box.settings, passwordCost: .minimum)
        let loaded = try await reopened.database.pool.read { db in try FederationIdentity.load(reopened, in: db) }
        #expect(loaded?.key.publicKey == identity.key.publicKey)
        let final = try await reopened.database.pool.read { db in try Data.fetchOne(db, sql: "SELECT secret_key_sealed FROM federation_identity") }
        #expect(SigningKeySeal.keyVersion(of: try #require(final)) == 2)
    }

    // MARK: Signed records

    /// A signed treatment plan accepts, during a rotation, only the move of
    /// its ciphertext to the new version: a new value under the same version
    /// is refused (and nothing changes), the rotation's re-encryption passes.
    @Test func aSignedPlanAcceptsOnlyTheRotationsReencryption() async throws {
        let box = try await box()
        defer { withExtendedLifetime(box.dir) {} }
        let planID = RowID.make()
        try await box.server.database.pool.write { db in
            try db.execute(sql: """
                INSERT INTO treatment_plans (id, facility_id, patient_id, version, title_enc, content_enc, status, created_by,
                    signed_by, signed_at, plan_id)
                VALUES (?, ?, ?, 1, ?, ?, 'active', ?, ?, ?, ?)
                """, arguments: [planID, box.facilityID, box.patientID, box.server.cipher.seal("Recovery plan", field: .treatmentPlansTitle, rowID: planID),
                                 box.server.cipher.seal("{\"goals\":[\"attend group\"]}", field: .treatmentPlansContent, rowID: planID),
                                 box.adminID, box.adminID, Timestamp.now(), planID])
        }
        func stored() async throws -> Row {
            try await box.server.database.pool.read { db in
                try Row.fetchOne(db, sql: "SELECT title_enc, content_enc FROM treatment_plans WHERE id = ?", arguments: [planID])!
            }
        }
        func rewrite(_ cipher: FieldCipher, title: String) async throws {
            try await box.server.database.pool.write { db in
                try db.execute(sql: "UPDATE treatment_plans SET title_enc = ? WHERE id = ?",
                               arguments: [cipher.seal(title, field: .treatmentPlansTitle, rowID: planID), planID])
            }
        }
        let before = try await stored()
        let rotation = try rotator(box)
        var state = try await rotation.start()
        try await rotation.appliance.reloadKeysIfChanged()
        // Same version (1), other content: refused, nothing changed.
        await #expect(throws: DatabaseError.self) { try await rewrite(box.server.cipher, title: "Altered plan") }
        #expect(try await stored() == before)
        // The rotation's own re-encryption passes.
        while state.entry <= RotationStep.all.firstIndex(of: .table("treatment_plans"))! { state = try await rotation.step(state) }
        let moved = try await stored()
        #expect(FieldCipher.keyVersion(of: moved["title_enc"]) == 2 && FieldCipher.keyVersion(of: moved["content_enc"]) == 2)
        // Under the new version too, no other content.
        await #expect(throws: DatabaseError.self) { try await rewrite(rotation.appliance.cipher, title: "Altered plan") }
        #expect(try await stored() == moved)
        while state.phase != .finished { state = try await rotation.step(state) }
        await #expect(throws: DatabaseError.self) { try await rewrite(rotation.appliance.cipher, title: "Altered plan") }
        let title = try rotation.appliance.cipher.openString(try await stored()["title_enc"], field: .treatmentPlansTitle, rowID: planID)
        #expect(title == "Recovery plan")
    }

    // MARK: Backups

    /// A scheduled backup waits only while a `keys rotate` run holds the
    /// rotation lock; a rotation left unfinished with no run going gets its
    /// backup, recording both key versions. Each backup records the key
    /// versions it needs, and those that need the retired key file are
    /// exactly the ones made before the rotation ended.
    @Test func scheduledBackupsWaitForARunningRotationAndNameTheKeyVersionsTheyNeed() async throws {
        let box = try await box()
        defer { withExtendedLifetime(box.dir) {} }
        let backups = box.server.backups
        let keyFile = box.settings.resolvedKeyFile
        // A day apart, so retention (the newest of each day) keeps each.
        let start = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down) - 2 * 86_400)
        let before = try await backups.runNow(now: start)
        #expect(before.state == .verified && before.keyVersions == [1])
        // A run that holds the lock but has not yet written its rotation down already holds backups back.
        let starting = try KeyRotation.lockRuns(keyFile: keyFile)
        #expect(try await backups.runIfDue(now: start.addingTimeInterval(43_200)) == nil, "deferred while `keys rotate` starts")
        #expect(try backups.entries().map(\.file) == [before.file])
        close(starting)
        let rotation = try rotator(box)
        var state = try await rotation.start()
        try await rotation.appliance.reloadKeysIfChanged()
        try await box.server.reloadKeysAndReport()

        // A run holds the lock: the due backup waits, and says since when.
        #expect(!KeyRotation.isRunning(keyFile: keyFile))
        let held = try KeyRotation.lockRuns(keyFile: keyFile)
        #expect(KeyRotation.isRunning(keyFile: keyFile))
        let due = start.addingTimeInterval(86_400)
        #expect(try await backups.runIfDue(now: due) == nil, "deferred while `keys rotate` runs")
        #expect(try backups.entries().map(\.file) == [before.file])
        #expect(backups.deferredSince == due)
        #expect(try await backups.runIfDue(now: due.addingTimeInterval(30)) == nil)
        #expect(backups.deferredSince == due, "the wait counts from the first deferral")
        close(held)

        // The run stopped with the rotation unfinished: the backup is written and needs both versions.
        #expect(!KeyRotation.isRunning(keyFile: keyFile))
        #expect(try await box.server.database.read { db in try KeyRotationState.current(in: db) }?.phase != .finished)
        let during = try #require(try await backups.runIfDue(now: due.addingTimeInterval(60)))
        #expect(during.state == .verified && during.keyVersions == [1, 2])
        #expect(backups.deferredSince == nil)
        let copy = box.dir.file("during.backup")
        let written = try ApplianceBackup.create(settings: box.settings, to: copy)
        #expect(written.keyVersions == [1, 2] && written.rotation?.toVersion == 2)

        while state.phase != .finished { state = try await rotation.step(state) }
        try await box.server.reloadKeysAndReport()
        let after = try #require(try await backups.runIfDue(now: start.addingTimeInterval(3 * 86_400)))
        #expect(after.state == .verified && after.keyVersions == [2])
        let needing = try backups.needing(keyVersion: 1, madeBefore: try #require(state.finishedAt))
        #expect(needing.map(\.file) == [during.file, before.file])
        #expect(try ApplianceBackup.create(settings: box.settings, to: box.dir.file("after.backup")).rotation == nil)
    }

    // MARK: Replays and sign-in throttling across the switch

    /// While a rotation is unfinished, a sync item first pushed before the
    /// server switched keys is still recognised as a replay (not applied
    /// again), and failed sign-ins booked before the switch still count.
    @Test func aSyncReplayAndEarlierSignInFailuresAreRecognisedAcrossTheSwitch() async throws {
        let box = try await box()
        defer { withExtendedLifetime(box.dir) {} }
        let patient = SyncEngine.Patient(id: box.patientID, facilityID: box.facilityID)
        let item = SyncEngineTests.checkIn(3, note: "steady week")
        #expect(try await SyncEngine(appliance: box.server).push(patient, items: [item], origin: .init()).results.map(\.status) == [.stored])
        let account = LoginThrottle.accountKey(.staff, id: box.adminID)
        try await box.server.database.pool.write { db in
            for _ in 0..<box.settings.accountFailureLimit {
                _ = try box.server.throttle.reserve(.login, account: account, address: "10.0.0.7", in: db)
            }
        }
        func locked() async throws -> Bool {
            try await box.server.database.pool.read { db in try box.server.throttle.retryAfter(.login, account: account, address: nil, in: db) } != nil
        }
        #expect(try await locked())

        let rotation = try rotator(box)
        _ = try await rotation.start()
        try await box.server.reloadKeysIfChanged()
        #expect(box.server.keyRing.currentVersion == 2 && box.server.keyRing.retiringVersion == 1)
        let again = try await SyncEngine(appliance: box.server).push(patient, items: [item], origin: .init())
        #expect(again.results.map(\.status) == [.duplicate])
        let changes = try await box.server.database.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM sync_changes WHERE record_id = ?", arguments: [item.id.lowercased()])!
        }
        #expect(changes == 1, "the replay was not applied again")
        #expect(try await locked(), "failures booked under version 1 still count")
    }
}
