import Foundation
import GRDB
import Testing
@testable import RecoveryCore

@Suite struct SyncEngineTests {
    /// An initialised appliance with one registered-or-not patient to sync for.
    func appliance() async throws -> (TemporaryDirectory, Appliance, patientID: String, facilityID: String) {
        let dir = TemporaryDirectory()
        let settings = testSettings(dir)
        guard case .created(let created) = try await ApplianceSetup.initialise(settings: settings, request: ApplianceSetupTests.request,
                                                                              passwordCost: .minimum) else { throw CancellationError() }
        let (appliance, _) = try Appliance.open(settings: settings, passwordCost: .minimum)
        let patientID = try await appliance.database.pool.write { db in
            try appliance.patientStore.insert(.init(facilityID: created.facilityID, firstName: "Rowan", lastName: "Ellery",
                                                    dateOfBirth: "1988-02-02", levelOfCare: "iop", status: "active"), in: db).id
        }
        return (dir, appliance, patientID, created.facilityID)
    }

    static func day(_ offset: Int) -> String {
        String(Timestamp.string(Date().addingTimeInterval(-Double(offset + 1) * 86_400)).prefix(10))
    }

    static func checkIn(_ index: Int, note: String? = nil) -> SyncEngine.Item {
        var data: [String: JSONValue] = [
            "local_date": .string(day(index)), "timezone": .string("UTC"), "mood": .integer(1 + index % 10),
            "craving": .integer(index % 11), "stress": .integer(3), "confidence": .integer(7), "used_since_last": .bool(index % 17 == 0),
            "halt": .object(["hungry": .bool(true), "lonely": .bool(index % 2 == 0)]), "sleep_hours": .number(6.5),
        ]
        if let note { data["note"] = .string(note) }
        return SyncEngine.Item(id: UUID().uuidString, type: "check_in", op: "upsert", clientUpdatedAt: Timestamp.now(), data: data)
    }

    @Test func replayedAndCutBatchesStoreEachItemExactlyOnce() async throws {
        let (dir, appliance, patientID, facilityID) = try await appliance()
        defer { withExtendedLifetime(dir) {} }
        let engine = SyncEngine(appliance: appliance)
        let patient = SyncEngine.Patient(id: patientID, facilityID: facilityID)
        let items = (0..<500).map { Self.checkIn($0) }
        let first = try await engine.push(patient, items: items, origin: .init())
        #expect(first.results.allSatisfy { $0.status == .stored })
        let again = try await engine.push(patient, items: items, origin: .init())
        #expect(again.results.allSatisfy { $0.status == .duplicate })
        // A batch cut off part-way (the app never saw the answer) and then sent whole.
        let more = (500..<540).map { Self.checkIn($0) }
        let cut = Int.random(in: 1..<more.count)
        _ = try await engine.push(patient, items: Array(more[..<cut]), origin: .init())
        let retried = try await engine.push(patient, items: more, origin: .init())
        #expect(retried.results.filter { $0.status == .duplicate }.count == cut)
        #expect(retried.results.filter { $0.status == .stored }.count == more.count - cut)
        let stored = try await appliance.database.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM patient_check_ins")! }
        #expect(stored == 540)

        var seen: [String] = []
        var cursor: String? = nil
        repeat {
            let page = try await engine.pull(patient, since: cursor, limit: 97, origin: .init())
            seen += page.changes.map(\.id)
            cursor = page.cursor
            if !page.hasMore { break }
        } while true
        #expect(seen.count == 540 && Set(seen).count == 540)
        #expect(try await engine.pull(patient, since: cursor, origin: .init()).changes.isEmpty)
    }

    @Test func invalidItemsAreRejectedWithAReasonAndTheRestStored() async throws {
        let (dir, appliance, patientID, facilityID) = try await appliance()
        defer { withExtendedLifetime(dir) {} }
        let engine = SyncEngine(appliance: appliance)
        let patient = SyncEngine.Patient(id: patientID, facilityID: facilityID)
        var generator = SystemRandomNumberGenerator()
        for round in 0..<20 {
            var items: [SyncEngine.Item] = []
            var expectedField: [Int: String] = [:]
            for index in 0..<10 {
                var item = Self.checkIn(round * 10 + index)
                if Bool.random(using: &generator) {
                    let (field, breakIt): (String, (inout SyncEngine.Item) -> Void) = [
                        ("mood", { $0.data["mood"] = .integer(11) }),
                        ("mood", { $0.data["mood"] = .string("good") }),
                        ("craving", { $0.data["craving"] = .integer(-1) }),
                        ("sleep_hours", { $0.data["sleep_hours"] = .number(25) }),
                        ("note", { $0.data["note"] = .string(String(repeating: "x", count: 2_001)) }),
                        ("local_date", { $0.data["local_date"] = .string("2999-01-01") }),
                        ("local_date", { $0.data["local_date"] = .string("2026-02-30") }),
                        ("timezone", { $0.data["timezone"] = .string("Mars/Base") }),
                        ("patient_id", { $0.data["patient_id"] = .string(UUID().uuidString) }),
                        ("halt.angry", { $0.data["halt"] = .object(["angry": .string("yes")]) }),
                        ("id", { $0.id = "not-a-uuid" }),
                        ("type", { $0.type = "horoscope" }),
                        ("op", { $0.op = "merge" }),
                    ].randomElement(using: &generator)!
                    breakIt(&item)
                    expectedField[index] = field
                }
                items.append(item)
            }
            let before = try await appliance.database.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM patient_check_ins")! }
            let results = try await engine.push(patient, items: items, origin: .init()).results
            #expect(results.count == items.count)
            for (index, result) in results.enumerated() {
                if let field = expectedField[index] {
                    #expect(result.status == .rejected)
                    #expect(result.reason?.hasPrefix(field + ":") == true, "\(field) vs \(result.reason ?? "nil")")
                } else {
                    #expect(result.status == .stored, "\(result.reason ?? "")")
                }
            }
            let after = try await appliance.database.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM patient_check_ins")! }
            #expect(after - before == items.count - expectedField.count)
        }
    }

    @Test func oneCheckInPerDayUpdatesAndDeletesReachThePull() async throws {
        let (dir, appliance, patientID, facilityID) = try await appliance()
        defer { withExtendedLifetime(dir) {} }
        let engine = SyncEngine(appliance: appliance)
        let patient = SyncEngine.Patient(id: patientID, facilityID: facilityID)
        var item = Self.checkIn(3)
        _ = try await engine.push(patient, items: [item], origin: .init())
        let sameDay = Self.checkIn(3)
        let refused = try await engine.push(patient, items: [sameDay], origin: .init()).results[0]
        #expect(refused.status == .rejected && refused.reason?.hasPrefix("local_date:") == true)
        item.data["mood"] = .integer(9)
        #expect(try await engine.push(patient, items: [item], origin: .init()).results[0].status == .stored)
        let pulled = try await engine.pull(patient, since: nil, origin: .init())
        #expect(pulled.changes.count == 1)
        #expect(pulled.changes[0].data?["mood"] == .integer(9))
        let delete = SyncEngine.Item(id: item.id, type: "check_in", op: "delete", clientUpdatedAt: nil, data: [:])
        #expect(try await engine.push(patient, items: [delete], origin: .init()).results[0].status == .stored)
        let tombstone = try await engine.pull(patient, since: pulled.cursor, origin: .init())
        #expect(tombstone.changes.map(\.op) == ["delete"] && tombstone.changes[0].data == nil)
        await #expect(throws: SyncEngine.BadCursor.self) { try await engine.pull(patient, since: "garbage!", origin: .init()) }
    }

    @Test func notesNeverReachTheDatabaseInPlainText() async throws {
        let (dir, appliance, patientID, facilityID) = try await appliance()
        defer { withExtendedLifetime(dir) {} }
        let engine = SyncEngine(appliance: appliance)
        let patient = SyncEngine.Patient(id: patientID, facilityID: facilityID)
        let notes = (0..<30).map { "relapse worry number \($0) about the quarry party" }
        _ = try await engine.push(patient, items: notes.enumerated().map { Self.checkIn($0.offset, note: $0.element) }, origin: .init())
        let pulled = try await engine.pull(patient, since: nil, origin: .init())
        #expect(Set(pulled.changes.compactMap { if case .string(let note)? = $0.data?["note"] { return note } else { return nil } }) == Set(notes))
        let raw = databaseBytes(appliance.settings)
        #expect(raw.contains(text: "patient_check_ins"))
        #expect(!raw.contains(text: "quarry party") && !raw.contains(text: "relapse worry"))
    }
}
