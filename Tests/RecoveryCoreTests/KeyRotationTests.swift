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
}
