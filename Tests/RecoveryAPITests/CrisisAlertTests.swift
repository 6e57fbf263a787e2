import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Testing
@testable import RecoveryAPI
@testable import RecoveryCore

@Suite struct CrisisAlertTests {
    static func staffID(_ box: TestAppliance, _ email: String) async throws -> String {
        try await box.appliance.database.pool.read { db in
            let hits = try Row.fetchAll(db, sql: "SELECT id, email_enc FROM staff")
            for row in hits {
                let id: String = row["id"]
                if try box.appliance.cipher.openString(row["email_enc"], field: .staffEmail, rowID: id) == email { return id }
            }
            throw TestFailure("no staff \(email)")
        }
    }

    static func alertCount(_ box: TestAppliance) async throws -> Int {
        try await box.appliance.database.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM crisis_alerts")! }
    }

    static func ids(_ response: TestResponse) -> [String] {
        (response.json["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []
    }

    @Test func raiseAcknowledgeResolveWithTimelineFiltersAndThePatientsView() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let p = try await People.make(box, client)
            let raised = try await client.post("/api/v1/me/crisis", ["message": "I relapsed and feel unsafe", "location": "Bus shelter on 5th"],
                                               token: p.patientToken)
            #expect(raised.status == .created, "\(raised.text)")
            let alert = try #require(raised.json["alert"] as? [String: Any])
            let id = try #require(alert["id"] as? String)
            #expect(alert["status"] as? String == "open" && alert["message"] as? String == "I relapsed and feel unsafe")

            // The care team sees it; another counselor, another facility and the front desk do not.
            #expect(Self.ids(try await client.get("/api/v1/crisis-alerts", token: p.counselorA1)) == [id])
            #expect(Self.ids(try await client.get("/api/v1/crisis-alerts", token: p.counselorA2)).isEmpty)
            #expect(Self.ids(try await client.get("/api/v1/crisis-alerts", token: p.adminB)).isEmpty)
            #expect(Self.ids(try await client.get("/api/v1/crisis-alerts", token: p.adminA)) == [id])
            #expect(try await client.get("/api/v1/crisis-alerts/\(id)", token: p.counselorA2).status == .forbidden)
            #expect(try await client.get("/api/v1/crisis-alerts/\(id)", token: p.adminB).status == .notFound)
            #expect(try await client.get("/api/v1/crisis-alerts", token: p.frontDeskA).status == .forbidden)
            #expect(try await client.post("/api/v1/crisis-alerts/\(id)/acknowledge", [:], token: p.counselorA2).status == .forbidden)
            #expect(try await client.get("/api/v1/crisis-alerts/\(id)", token: p.patientToken).status == .forbidden)

            let detail = try await client.get("/api/v1/crisis-alerts/\(id)", token: p.counselorA1)
            let shown = try #require(detail.json["alert"] as? [String: Any])
            #expect(shown["location"] as? String == "Bus shelter on 5th")
            #expect((shown["patient"] as? [String: Any])?["first_name"] as? String == "Marisol")

            let ack = try await client.post("/api/v1/crisis-alerts/\(id)/acknowledge", [:], token: p.counselorA1)
            #expect((ack.json["alert"] as? [String: Any])?["status"] as? String == "acknowledged")
            #expect((ack.json["alert"] as? [String: Any])?["escalate_at"] is NSNull)
            let again = try await client.post("/api/v1/crisis-alerts/\(id)/acknowledge", [:], token: p.counselorA1)
            #expect(again.status == .conflict && again.errorCode == "already_acknowledged")

            // The patient learns who: first name and role only.
            let mine = try await client.get("/api/v1/me/crisis-alerts", token: p.patientToken)
            let own = try #require((mine.json["data"] as? [[String: Any]])?.first)
            #expect(own["acknowledged_by"] as? [String: String] == ["first_name": "S", "role": "counselor"])
            #expect(own["resolution_note"] == nil && own["escalation_level"] == nil)

            // Resolve needs a note; a bad one changes nothing.
            for body: [String: Any] in [[:], ["note": "   "], ["note": 12], ["note": String(repeating: "n", count: 4_001)]] {
                let bad = try await client.post("/api/v1/crisis-alerts/\(id)/resolve", body, token: p.counselorA1)
                #expect(bad.status == .unprocessableContent && bad.errorFields == ["note"], "\(body): \(bad.text)")
            }
            #expect((try await client.get("/api/v1/crisis-alerts/\(id)", token: p.counselorA1).json["alert"] as? [String: Any])?["status"] as? String == "acknowledged")
            let resolved = try await client.post("/api/v1/crisis-alerts/\(id)/resolve", ["note": "Met at the shelter, safety plan agreed"], token: p.counselorA1)
            #expect((resolved.json["alert"] as? [String: Any])?["status"] as? String == "resolved", "\(resolved.text)")
            #expect(try await client.post("/api/v1/crisis-alerts/\(id)/resolve", ["note": "again"], token: p.counselorA1).errorCode == "already_resolved")
            #expect(try await client.post("/api/v1/crisis-alerts/\(id)/acknowledge", [:], token: p.adminA).errorCode == "already_resolved")

            let timeline = try #require((try await client.get("/api/v1/crisis-alerts/\(id)", token: p.adminA).json["alert"] as? [String: Any])?["timeline"] as? [[String: Any]])
            #expect(timeline.map { $0["event"] as? String } == ["created", "acknowledged", "resolved"])
            #expect(timeline.last?["note"] as? String == "Met at the shelter, safety plan agreed")

            // Status filters.
            let second = try await client.post("/api/v1/patients/\(p.patientA)/crisis-alerts", ["severity": "medium"], token: p.counselorA1)
            let secondID = try #require((second.json["alert"] as? [String: Any])?["id"] as? String)
            #expect(Self.ids(try await client.get("/api/v1/crisis-alerts", token: p.counselorA1)) == [secondID])
            #expect(Self.ids(try await client.get("/api/v1/crisis-alerts?status=resolved", token: p.counselorA1)) == [id])
            #expect(Self.ids(try await client.get("/api/v1/crisis-alerts?status=open", token: p.counselorA1)) == [secondID])
            #expect(Self.ids(try await client.get("/api/v1/crisis-alerts?status=acknowledged", token: p.counselorA1)).isEmpty)
            #expect(Set(Self.ids(try await client.get("/api/v1/crisis-alerts?status=all", token: p.counselorA1))) == [id, secondID])
            #expect(try await client.get("/api/v1/crisis-alerts?status=closed", token: p.counselorA1).errorFields == ["status"])
        }
        let kinds = try await box.appliance.database.pool.read { db in try String.fetchAll(db, sql: "SELECT kind FROM realtime_events WHERE kind LIKE 'crisis:%' ORDER BY seq") }
        #expect(kinds == ["crisis:alert", "crisis:acknowledged", "crisis:resolved", "crisis:alert"])
        let audited = try await box.appliance.database.pool.read { db in
            try String.fetchAll(db, sql: "SELECT DISTINCT action FROM audit_logs WHERE action LIKE 'crisis_alert.%' AND outcome = 'success'")
        }
        #expect(Set(audited).isSuperset(of: ["crisis_alert.raise", "crisis_alert.acknowledge", "crisis_alert.resolve", "crisis_alert.read", "crisis_alert.list"]))
    }

    @Test func badInputIsRefusedNamingTheFieldAndStoresNothing() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let p = try await People.make(box, client)
            let cases: [(String, [String: Any], String, String)] = [
                ("/api/v1/me/crisis", ["message": 5], p.patientToken, "message"),
                ("/api/v1/me/crisis", ["message": String(repeating: "m", count: 2_001)], p.patientToken, "message"),
                ("/api/v1/me/crisis", ["location": ["lat": 1]], p.patientToken, "location"),
                ("/api/v1/me/crisis", ["location": String(repeating: "l", count: 501)], p.patientToken, "location"),
                ("/api/v1/patients/\(p.patientA)/crisis-alerts", ["severity": "extreme"], p.counselorA1, "severity"),
                ("/api/v1/patients/\(p.patientA)/crisis-alerts", ["severity": 3], p.counselorA1, "severity"),
                ("/api/v1/patients/\(p.patientA)/crisis-alerts", ["message": true], p.counselorA1, "message"),
            ]
            for (path, body, token, field) in cases {
                let response = try await client.post(path, body, token: token)
                #expect(response.status == .unprocessableContent && response.errorFields == [field], "\(path) \(body): \(response.text)")
            }
            #expect(try await client.post("/api/v1/patients/\(p.patientB)/crisis-alerts", [:], token: p.counselorA1).status == .notFound)
            #expect(try await client.post("/api/v1/patients/\(p.patientA)/crisis-alerts", ["severity": "extreme"], token: p.counselorA2).status == .forbidden)
            #expect(try await client.post("/api/v1/patients/\(p.patientA)/crisis-alerts", [:], token: p.frontDeskA).status == .forbidden)
            #expect(try await client.post("/api/v1/me/crisis", [:], token: p.counselorA1).status == .forbidden)
            #expect(try await client.post("/api/v1/crisis-alerts/\(UUID().uuidString)/acknowledge", [:], token: p.adminA).status == .notFound)
        }
        #expect(try await Self.alertCount(box) == 0)
    }

    @Test func escalationReachesAdministratorsThenCliniciansOnShift() async throws {
        let box = try await TestAppliance { $0.crisisEscalateAfterSeconds = 10 }
        let crisis = CrisisAlerts(appliance: box.appliance)
        try await box.test { client in
            let p = try await People.make(box, client)
            let raised = try await client.post("/api/v1/me/crisis", ["message": "help"], token: p.patientToken)
            let id = try #require((raised.json["alert"] as? [String: Any])?["id"] as? String)
            let start = Date()
            #expect(try await crisis.escalateDue(now: start.addingTimeInterval(5)).isEmpty)
            #expect(try await client.get("/api/v1/crisis-alerts/\(id)", token: p.nurseA).status == .forbidden)

            let first = try await crisis.escalateDue(now: start.addingTimeInterval(11))
            #expect(first.map(\.kind) == [.crisisEscalated] && first.first?.data["escalation_level"] == "1")
            #expect(try await client.get("/api/v1/crisis-alerts/\(id)", token: p.nurseA).status == .forbidden)
            #expect(try await crisis.escalateDue(now: start.addingTimeInterval(12)).isEmpty)

            // Counselor A2 signs out of every session: not on shift any more.
            try await box.appliance.database.pool.write { db in
                try db.execute(sql: "UPDATE sessions SET revoked_at = ?, revoke_reason = 'logout' WHERE staff_id = ? AND revoked_at IS NULL",
                               arguments: [Timestamp.now(), p.counselorA2ID])
            }
            let second = try await crisis.escalateDue(now: start.addingTimeInterval(21))
            #expect(second.first?.data["escalation_level"] == "2")
            let detail = try await client.get("/api/v1/crisis-alerts/\(id)", token: p.nurseA)
            #expect(detail.status == .ok, "\(detail.text)")
            let alert = try #require(detail.json["alert"] as? [String: Any])
            #expect(alert["escalation_level"] as? Int == 2 && alert["status"] as? String == "escalated" && alert["escalate_at"] is NSNull)
            #expect((alert["timeline"] as? [[String: Any]])?.compactMap { $0["escalation_level"] as? Int } == [0, 1, 2])
            #expect(Self.ids(try await client.get("/api/v1/crisis-alerts?status=escalated", token: p.nurseA)) == [id])
            #expect(try await client.get("/api/v1/crisis-alerts/\(id)", token: p.counselorA2).status == .forbidden)
            #expect(try await client.get("/api/v1/crisis-alerts/\(id)", token: p.adminB).status == .notFound)
            #expect(try await crisis.escalateDue(now: start.addingTimeInterval(100)).isEmpty, "level 2 is the last")

            // The audience of each step: exactly the staff the one-record decision lets through, and the patient for steps they are told about.
            let nurseID = try await Self.staffID(box, "nurse@harborlight.org")
            let deskID = try await Self.staffID(box, "desk@harborlight.org")
            let adminBID = try await Self.staffID(box, "admin@bayside.example")
            let staff: [(String, StaffRole, String?)] = [(p.counselorA1ID, .counselor, p.facilityA), (p.counselorA2ID, .counselor, p.facilityA),
                                                         (nurseID, .nurse, p.facilityA), (deskID, .staff, p.facilityA), (box.adminID, .admin, p.facilityA),
                                                         (adminBID, .admin, p.facilityB)]
            let listeners = staff.map { Listener(key: $0.0, identity: Identity(kind: .staff, subjectID: $0.0, role: $0.1, facilityID: $0.2, sessionID: "s")) }
                + [Listener(key: "patient", identity: Identity(kind: .patient, subjectID: p.patientA, role: nil, facilityID: p.facilityA, sessionID: "s"))]
            let delivery = EventDelivery(appliance: box.appliance)
            _ = try await client.post("/api/v1/crisis-alerts/\(id)/acknowledge", [:], token: p.nurseA)
            try await box.appliance.database.pool.read { db in
                let events = try EventFeed.events(after: 0, facilityID: p.facilityA, in: db).filter { $0.subjectID == id }
                #expect(events.map(\.kind) == [.crisisAlert, .crisisEscalated, .crisisEscalated, .crisisAcknowledged])
                let reach = try listeners.filter { $0.identity.kind == .staff }.filter { listener in
                    guard AccessPolicy.permits(listener.identity, .crisisRespond) else { return false }
                    do { _ = try AccessPolicy.crisisAlert(listener.identity, id, in: db); return true } catch is AccessError { return false }
                }.map(\.key)
                #expect(Set(reach) == [p.counselorA1ID, nurseID, box.adminID])
                for event in events {
                    let deliveries = try delivery.deliveries(of: event, to: listeners, in: db)
                    let expected = Set(reach + (event.kind == .crisisAcknowledged ? ["patient"] : []))
                    #expect(Set(deliveries.map(\.listenerKey)) == expected, "\(event.kind)")
                    for d in deliveries {
                        guard case .object(let payload) = d.payload else { Issue.record("payload"); continue }
                        #expect(payload["event_id"] == .integer(Int(event.seq)))
                        if d.listenerKey == "patient" {
                            #expect(payload["message"] == nil && payload["acknowledged_by"] == .object(["first_name": .string("S"), "role": .string("nurse")]))
                            #expect(!d.phi)
                        } else {
                            #expect(payload["message"] == .string("help") && d.phi)
                        }
                    }
                }
            }
        }
    }

    @Test func anAlertRaisedBeforeARestartEscalatesAfterIt() async throws {
        let box = try await TestAppliance { $0.crisisEscalateAfterSeconds = 10 }
        let id = try await box.test { client -> String in
            let p = try await People.make(box, client)
            let raised = try await client.post("/api/v1/me/crisis", ["message": "please call"], token: p.patientToken)
            return try #require((raised.json["alert"] as? [String: Any])?["id"] as? String)
        }
        box.appliance.auditAnchor.flush()
        try box.appliance.database.close()
        let reopened = try Appliance.open(settings: box.appliance.settings, passwordCost: .minimum).0
        defer { try? reopened.database.close() }
        #expect(try await CrisisAlerts(appliance: reopened).nextDue() != nil)
        let events = try await CrisisClock(appliance: reopened).tick(now: Date().addingTimeInterval(11))
        #expect(events.map(\.subjectID) == [id] && events.first?.data["escalation_level"] == "1")
        let level = try await reopened.database.pool.read { db in try Int.fetchOne(db, sql: "SELECT escalation_level FROM crisis_alerts WHERE id = ?", arguments: [id]) }
        #expect(level == 1)
    }

    @Test func aSystemAlertIsRaisedOncePerSourceRecord() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let p = try await People.make(box, client)
            let crisis = CrisisAlerts(appliance: box.appliance)
            let record = UUID().uuidString.lowercased()
            let first = try await crisis.raiseBySystem(facilityID: p.facilityA, patientID: p.patientA, source: "check_in", sourceRecordID: record)
            #expect(first?.kind == .crisisAlert)
            #expect(try await crisis.raiseBySystem(facilityID: p.facilityA, patientID: p.patientA, source: "check_in", sourceRecordID: record) == nil)
            let listed = try await client.get("/api/v1/crisis-alerts", token: p.counselorA1)
            #expect((listed.json["data"] as? [[String: Any]])?.first?["raised_by_kind"] as? String == "system")
        }
    }

    @Test func theSOSMessageIsNeverStoredInPlainText() async throws {
        let box = try await TestAppliance()
        let secrets = ["Tamarack bridge railing", "Quillfeather Lane underpass", "Zephyrine resolution note"]
        try await box.test { client in
            let p = try await People.make(box, client)
            let raised = try await client.post("/api/v1/me/crisis", ["message": "Standing at the \(secrets[0])", "location": secrets[1]], token: p.patientToken)
            let id = try #require((raised.json["alert"] as? [String: Any])?["id"] as? String)
            #expect(try await client.post("/api/v1/crisis-alerts/\(id)/resolve", ["note": secrets[2]], token: p.counselorA1).status == .ok)
        }
        let path = box.appliance.settings.databasePath
        for file in [path, path + "-wal"] {
            let bytes = (try? Data(contentsOf: URL(fileURLWithPath: file))) ?? Data()
            for secret in secrets { #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(secret) in \(file)") }
        }
    }
}
