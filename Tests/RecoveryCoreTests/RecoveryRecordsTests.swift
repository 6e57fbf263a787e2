import Foundation
import GRDB
import Testing
@testable import RecoveryCore

/// Every record kind through the sync engine, the flags and events they
/// raise, the stale-edit rule and silence detection.
@Suite struct RecoveryRecordsTests {
    struct Fixture {
        let dir: TemporaryDirectory
        let appliance: Appliance
        let patient: SyncEngine.Patient
        let counselor: Identity
        var engine: SyncEngine { SyncEngine(appliance: appliance) }
    }

    func fixture() async throws -> Fixture {
        let (dir, appliance, patientID, facilityID) = try await SyncEngineTests().appliance()
        let admin = try await appliance.database.pool.read { db in
            try String.fetchOne(db, sql: "SELECT id FROM staff WHERE role = 'admin' LIMIT 1")!
        }
        return Fixture(dir: dir, appliance: appliance, patient: .init(id: patientID, facilityID: facilityID),
                       counselor: Identity(kind: .staff, subjectID: admin, role: .admin, facilityID: facilityID, sessionID: "s"))
    }

    static func item(_ type: String, _ data: [String: JSONValue], id: String = UUID().uuidString, op: String = "upsert",
                     at: String? = Timestamp.now()) -> SyncEngine.Item {
        SyncEngine.Item(id: id, type: type, op: op, clientUpdatedAt: at, data: data)
    }

    static let anHourAgo = JSONValue.string(Timestamp.string(Date().addingTimeInterval(-3_600)))

    @Test func everyKindIsStoredAndPulledBack() async throws {
        let f = try await fixture()
        defer { withExtendedLifetime(f.dir) {} }
        let plan = CarePlan(appliance: f.appliance)
        var medication = CarePlan.Medication()
        medication.name = "Buprenorphine"; medication.dose = "8 mg"; medication.scheduleTimes = ["08:00"]
        let med = try await plan.prescribe(f.counselor, patientID: f.patient.id, medication, origin: .init())
        var goal = CarePlan.Goal()
        goal.title = "Walk every morning"
        let assigned = try await plan.assignGoal(f.counselor, patientID: f.patient.id, goal, origin: .init())
        guard case .string(let medID)? = med["id"], case .string(let goalID)? = assigned["id"] else { Issue.record("no ids"); return }

        let items = [
            Self.item("craving", ["occurred_at": Self.anHourAgo, "intensity": .integer(4), "triggers": .array([.string("stress"), .string("people")]),
                                  "coping_strategy": .string("called my sponsor")]),
            Self.item("meeting_attendance", ["meeting_kind": .string("na"), "attended_at": Self.anHourAgo]),
            // Taken now, not an hour ago: adherence counts from the day the medication was
            // prescribed (today), and an hour ago is yesterday between 00:00 and 01:00 UTC.
            Self.item("medication_dose", ["medication_id": .string(medID), "status": .string("taken"), "taken_at": .string(Timestamp.now())]),
            Self.item("goal_progress", ["goal_id": .string(goalID), "progress_percent": .integer(100), "note": .string("finished the whole walk")]),
            Self.item("journal_entry", ["written_at": Self.anHourAgo, "body": .string("a long day"), "shared_with_care_team": .bool(true)]),
        ]
        let results = try await f.engine.push(f.patient, items: items, origin: .init()).results
        #expect(results.map(\.status) == Array(repeating: .stored, count: 5), "\(results.map { $0.reason ?? "" })")

        let pulled = try await f.engine.pull(f.patient, since: nil, origin: .init())
        let types = Set(pulled.changes.map(\.type))
        #expect(types == ["medication", "goal", "craving", "meeting_attendance", "medication_dose", "goal_progress", "journal_entry"])
        let craving = pulled.changes.first { $0.type == "craving" }?.data
        #expect(craving?["coping_strategy"] == .string("called my sponsor"))
        #expect(craving?["triggers"] == .array([.string("stress"), .string("people")]))
        let pulledGoal = pulled.changes.first { $0.type == "goal" }?.data
        #expect(pulledGoal?["progress_percent"] == .integer(100) && pulledGoal?["status"] == .string("completed"))
        let meds = try await PatientRecords(appliance: f.appliance).medicationsOwn(f.patient, origin: .init())
        #expect(meds.first?["adherence_7d"] == .number(1))
        // The patient's own reads are audited with the patient as actor.
        let ownReads = try await f.appliance.database.pool.read { db in
            try String.fetchAll(db, sql: "SELECT action FROM audit_logs WHERE actor_kind = 'patient' AND actor_id = ? AND patient_id = ? ORDER BY seq",
                                arguments: [f.patient.id, f.patient.id])
        }
        #expect(ownReads.filter { $0 != "sync.push" } == ["sync.pull", "medication.list"])

        let raw = databaseBytes(f.appliance.settings)
        for secret in ["called my sponsor", "a long day", "Buprenorphine", "Walk every morning", "finished the whole walk"] {
            #expect(!raw.contains(text: secret), "\(secret) in plain text")
        }
    }

    @Test func kindRulesNeedingTheDatabaseRejectWithTheField() async throws {
        let f = try await fixture()
        defer { withExtendedLifetime(f.dir) {} }
        let items = [
            Self.item("craving", ["occurred_at": Self.anHourAgo, "intensity": .integer(4), "triggers": .array([.string("horoscopes")])]),
            Self.item("medication_dose", ["medication_id": .string(UUID().uuidString), "status": .string("taken"), "taken_at": Self.anHourAgo]),
            Self.item("goal_progress", ["goal_id": .string(UUID().uuidString), "progress_percent": .integer(10)]),
            Self.item("meeting_attendance", ["attended_at": Self.anHourAgo]),
            Self.item("meeting_attendance", ["meeting_id": .string(UUID().uuidString), "attended_at": Self.anHourAgo]),
            Self.item("journal_entry", ["written_at": .string("2999-01-01T00:00:00Z"), "body": .string("x")]),
            Self.item("journal_entry", ["written_at": Self.anHourAgo, "body": .string("   ")]),
            Self.item("goal", ["title": .string("mine now")]),
        ]
        let results = try await f.engine.push(f.patient, items: items, origin: .init()).results
        let fields = results.map { $0.problem?.field }
        #expect(fields == ["triggers", "medication_id", "goal_id", "meeting_kind", "meeting_id", "written_at", "body", "type"])
        #expect(results.allSatisfy { $0.status == .rejected })
    }

    @Test func thresholdsRaiseFlagsOnceAndPublishEvents() async throws {
        let f = try await fixture()
        defer { withExtendedLifetime(f.dir) {} }
        let stream = f.appliance.events.subscribe()
        let checkIn = Self.item("check_in", ["local_date": .string(SyncEngineTests.day(1)), "timezone": .string("UTC"),
                                             "mood": .integer(2), "craving": .integer(9), "used_since_last": .bool(true)])
        let craving = Self.item("craving", ["occurred_at": Self.anHourAgo, "intensity": .integer(3), "acted_on": .bool(true)])
        _ = try await f.engine.push(f.patient, items: [checkIn, craving], origin: .init())
        var edited = checkIn
        edited.data["mood"] = .integer(1)
        _ = try await f.engine.push(f.patient, items: [edited], origin: .init())
        let flags = try await f.appliance.database.pool.read { db in
            try String.fetchAll(db, sql: "SELECT kind FROM patient_flags WHERE patient_id = ? ORDER BY kind", arguments: [f.patient.id])
        }
        #expect(flags == ["high_craving", "lapse", "low_mood", "reported_use"])
        var rung: Int64 = 0
        for await seq in stream { rung = seq; break }
        let received = try await f.appliance.database.pool.read { db in
            try EventFeed.events(after: 0, facilityID: f.patient.facilityID, in: db)
        }
        #expect(rung == received.last?.seq)
        #expect(received.count == 6 && received.allSatisfy { $0.patientID == f.patient.id })
        #expect(received.filter { $0.kind == .patientFlagged }.count == 4)
        #expect(received.filter { $0.kind == .checkInNew }.count == 1 && received.filter { $0.kind == .cravingNew }.count == 1)
        let page = try await PatientRecords(appliance: f.appliance).flags(f.counselor, patientID: f.patient.id, status: "open", page: 1,
                                                                          limit: 10, origin: .init())
        #expect(page.total == 4)
    }

    @Test func theFeedKnowsWhenAResumePointIsPastItsWindow() async throws {
        let f = try await fixture()
        defer { withExtendedLifetime(f.dir) {} }
        let checkIn = Self.item("check_in", ["local_date": .string(SyncEngineTests.day(1)), "timezone": .string("UTC"), "mood": .integer(2)])
        _ = try await f.engine.push(f.patient, items: [checkIn], origin: .init())
        try await f.appliance.database.pool.write { db in
            let last = try EventFeed.lastSeq(in: db)
            #expect(last > 1)
            #expect(try !EventFeed.hasPruned(after: 0, in: db))
            #expect(try EventFeed.prune(now: Date().addingTimeInterval(EventFeed.resumeWindowSeconds + 60), in: db) == Int(last))
            // emptied by pruning, the feed still knows its newest seq and that everything up to it is gone
            #expect(try EventFeed.lastSeq(in: db) == last)
            #expect(try EventFeed.hasPruned(after: 0, in: db) && EventFeed.hasPruned(after: last - 1, in: db))
            #expect(try !EventFeed.hasPruned(after: last, in: db))
        }
    }

    @Test func aDelayedOlderEditNeverOverwritesANewerOne() async throws {
        let f = try await fixture()
        defer { withExtendedLifetime(f.dir) {} }
        let id = UUID().uuidString
        let base: [String: JSONValue] = ["local_date": .string(SyncEngineTests.day(2)), "timezone": .string("UTC"), "mood": .integer(5)]
        var newer = base
        newer["mood"] = .integer(8)
        let earlier = Timestamp.string(Date().addingTimeInterval(-600)), later = Timestamp.string(Date().addingTimeInterval(-60))
        #expect(try await f.engine.push(f.patient, items: [Self.item("check_in", newer, id: id, at: later)], origin: .init()).results[0].status == .stored)
        let stale = try await f.engine.push(f.patient, items: [Self.item("check_in", base, id: id, at: earlier)], origin: .init()).results[0]
        #expect(stale.status == .rejected && stale.problem?.field == "client_updated_at")
        let mood = try await f.appliance.database.pool.read { db in try Int.fetchOne(db, sql: "SELECT mood FROM patient_check_ins")! }
        #expect(mood == 8)
        // A clock far ahead is pulled back to the time of receipt, so it cannot block later edits.
        let future = Timestamp.string(Date().addingTimeInterval(86_400 * 30))
        var ahead = newer
        ahead["mood"] = .integer(6)
        #expect(try await f.engine.push(f.patient, items: [Self.item("check_in", ahead, id: id, at: future)], origin: .init()).results[0].status == .stored)
        var now = newer
        now["mood"] = .integer(7)
        #expect(try await f.engine.push(f.patient, items: [Self.item("check_in", now, id: id, at: Timestamp.now())], origin: .init()).results[0].status == .stored)
    }

    @Test func silenceFromARegularPatientRaisesOneFlag() async throws {
        let f = try await fixture()
        defer { withExtendedLifetime(f.dir) {} }
        // Daily check-ins from 12 to 5 days ago, then nothing.
        let items = (5...12).map { offset -> SyncEngine.Item in
            let day = String(Timestamp.string(Date().addingTimeInterval(-Double(offset) * 86_400)).prefix(10))
            return Self.item("check_in", ["local_date": .string(day), "timezone": .string("UTC"), "mood": .integer(6)],
                             at: Timestamp.string(Date().addingTimeInterval(-Double(offset) * 86_400)))
        }
        _ = try await f.engine.push(f.patient, items: items, origin: .init())
        try await f.appliance.database.pool.write { db in
            try db.execute(sql: "UPDATE patients SET status = 'active' WHERE id = ?", arguments: [f.patient.id])
        }
        let watch = SilenceWatch(appliance: f.appliance)
        #expect(try await watch.scan().map { $0.data["flag_kind"] } == ["silence"])
        #expect(try await watch.scan().isEmpty)
        // A patient who checked in yesterday is not silent.
        #expect(try await watch.scan(now: Date().addingTimeInterval(-4 * 86_400)).isEmpty)
    }
}

/// Findings of the review of the sync engine, each pinned by a test.
@Suite struct SyncEngineReviewTests {
    @Test func anIdReusedUnderAnotherTypeNeverReadsAnotherPatientsRecord() async throws {
        let f = try await RecoveryRecordsTests().fixture()
        defer { withExtendedLifetime(f.dir) {} }
        let other = try await f.appliance.database.pool.write { db in
            try f.appliance.patientStore.insert(.init(facilityID: f.patient.facilityID, firstName: "Ola", lastName: "Nordmann",
                                                      dateOfBirth: "1990-01-01", levelOfCare: "iop", status: "active"), in: db).id
        }
        let victim = SyncEngine.Patient(id: other, facilityID: f.patient.facilityID)
        let secretID = UUID().uuidString
        let journal = RecoveryRecordsTests.item("journal_entry", ["written_at": RecoveryRecordsTests.anHourAgo, "body": .string("private words")],
                                                id: secretID)
        #expect(try await f.engine.push(victim, items: [journal], origin: .init()).results[0].status == .stored)
        // The same id and data, first as a check-in of the attacker, then as a journal entry.
        let data: [String: JSONValue] = ["written_at": RecoveryRecordsTests.anHourAgo, "body": .string("x"),
                                         "local_date": .string(SyncEngineTests.day(1)), "timezone": .string("UTC"), "mood": .integer(5)]
        let asCheckIn = try await f.engine.pushOne(f.patient, RecoveryRecordsTests.item("check_in", data, id: secretID, at: nil), origin: .init())
        #expect(asCheckIn.result.status == .stored)
        let asJournal = try await f.engine.pushOne(f.patient, RecoveryRecordsTests.item("journal_entry", data, id: secretID, at: nil), origin: .init())
        #expect(asJournal.result.status == .rejected && asJournal.result.conflict)
        #expect(asJournal.record == nil)
    }

    @Test func attendanceVerifiedByStaffIsClosedToTheApp() async throws {
        let f = try await RecoveryRecordsTests().fixture()
        defer { withExtendedLifetime(f.dir) {} }
        let id = UUID().uuidString
        let attended = RecoveryRecordsTests.item("meeting_attendance", ["meeting_kind": .string("aa"), "attended_at": RecoveryRecordsTests.anHourAgo], id: id)
        _ = try await f.engine.push(f.patient, items: [attended], origin: .init())
        _ = try await CarePlan(appliance: f.appliance).verifyMeeting(f.counselor, patientID: f.patient.id, attendanceID: id.lowercased(), origin: .init())
        var edited = attended
        edited.data["meeting_kind"] = .string("na")
        edited.clientUpdatedAt = Timestamp.now()
        let refused = try await f.engine.push(f.patient, items: [edited, .init(id: id, type: "meeting_attendance", op: "delete",
                                                                              clientUpdatedAt: nil, data: [:])], origin: .init()).results
        #expect(refused.map(\.status) == [.rejected, .rejected])
        let kind = try await f.appliance.database.pool.read { db in try String.fetchOne(db, sql: "SELECT meeting_kind FROM meeting_attendance")! }
        #expect(kind == "aa")
    }

    @Test func aGoalFollowsItsLatestLiveProgressAndEditsKeepTheCheckInTime() async throws {
        let f = try await RecoveryRecordsTests().fixture()
        defer { withExtendedLifetime(f.dir) {} }
        var goal = CarePlan.Goal()
        goal.title = "Sleep by eleven"
        guard case .string(let goalID)? = try await CarePlan(appliance: f.appliance).assignGoal(f.counselor, patientID: f.patient.id, goal, origin: .init())["id"]
        else { Issue.record("no goal id"); return }
        let first = RecoveryRecordsTests.item("goal_progress", ["goal_id": .string(goalID), "progress_percent": .integer(30)])
        let second = RecoveryRecordsTests.item("goal_progress", ["goal_id": .string(goalID), "progress_percent": .integer(60)])
        _ = try await f.engine.push(f.patient, items: [first], origin: .init())
        _ = try await f.engine.push(f.patient, items: [second], origin: .init())
        var older = first
        older.data["progress_percent"] = .integer(10)
        older.clientUpdatedAt = Timestamp.now()
        _ = try await f.engine.push(f.patient, items: [older], origin: .init())
        func progress() async throws -> Int {
            try await f.appliance.database.pool.read { db in try Int.fetchOne(db, sql: "SELECT progress_percent FROM patient_goals")! }
        }
        #expect(try await progress() == 60, "editing an older update does not move the goal")
        _ = try await f.engine.push(f.patient, items: [.init(id: second.id, type: "goal_progress", op: "delete", clientUpdatedAt: nil, data: [:])],
                                    origin: .init())
        #expect(try await progress() == 10, "deleting the latest falls back to the one before")

        let checkIn = RecoveryRecordsTests.item("check_in", ["local_date": .string(SyncEngineTests.day(4)), "timezone": .string("UTC"), "mood": .integer(5)],
                                                at: Timestamp.string(Date().addingTimeInterval(-4 * 86_400)))
        _ = try await f.engine.push(f.patient, items: [checkIn], origin: .init())
        var edit = checkIn
        edit.data["mood"] = .integer(6)
        edit.clientUpdatedAt = Timestamp.now()
        _ = try await f.engine.push(f.patient, items: [edit], origin: .init())
        let stored = try await f.appliance.database.pool.read { db in try String.fetchOne(db, sql: "SELECT checked_in_at FROM patient_check_ins")! }
        #expect(stored == checkIn.clientUpdatedAt.map { Timestamp.string(Timestamp.parse($0)!) })
    }
}
