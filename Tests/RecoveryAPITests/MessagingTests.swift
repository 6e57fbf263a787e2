import Foundation
import GRDB
import Hummingbird
import HTTPTypes
import HummingbirdTesting
import Testing
@testable import RecoveryAPI
@testable import RecoveryCore

/// Messaging end to end through the router, and its realtime audience
/// against the access policy.
@Suite struct MessagingTests {
    /// The People fixture plus the ids of the staff it does not name, a
    /// second registered patient (A2) and identities for calling the core.
    struct Cast {
        var p: People
        var nurseID: String
        var deskID: String
        var patientA2Token: String

        func identity(_ id: String, _ role: StaffRole?, facility: String?) -> Identity {
            Identity(kind: role == nil ? .patient : .staff, subjectID: id, role: role, facilityID: facility, sessionID: "test")
        }

        var identities: [(name: String, identity: Identity)] {
            [("super admin", identity(rootID, .superAdmin, facility: nil)),
             ("admin A", identity(adminAID, .admin, facility: p.facilityA)),
             ("counselor A1", identity(p.counselorA1ID, .counselor, facility: p.facilityA)),
             ("counselor A2", identity(p.counselorA2ID, .counselor, facility: p.facilityA)),
             ("nurse A", identity(nurseID, .nurse, facility: p.facilityA)),
             ("front desk A", identity(deskID, .staff, facility: p.facilityA)),
             ("patient A", identity(p.patientA, nil, facility: p.facilityA)),
             ("patient A2", identity(p.patientA2, nil, facility: p.facilityA)),
             ("patient B", identity(p.patientB, nil, facility: p.facilityB))]
        }
        var rootID: String
        var adminAID: String
    }

    static func cast(_ box: TestAppliance, _ client: any TestClientProtocol) async throws -> Cast {
        let p = try await People.make(box, client)
        let ids = try await box.appliance.database.pool.read { db in
            try Dictionary(uniqueKeysWithValues: Row.fetchAll(db, sql: "SELECT id, role FROM staff WHERE facility_id = ? OR facility_id IS NULL",
                                                              arguments: [p.facilityA]).map { ($0["role"] as String, $0["id"] as String) }
                .filter { ["nurse", "staff", "super_admin", "admin"].contains($0.0) })
        }
        let key = try await client.post("/api/v1/patients/\(p.patientA2)/registration-key", [:], token: p.adminA)
        let registered = try await client.post("/api/v1/auth/patient/register",
                                               ["registration_key": key.json["registration_key"] as? String, "password": "second phone passphrase"])
        let token = try #require(registered.json["access_token"] as? String, "register A2: \(registered.text)")
        return Cast(p: p, nurseID: ids["nurse"]!, deskID: ids["staff"]!, patientA2Token: token, rootID: ids["super_admin"]!, adminAID: ids["admin"]!)
    }

    static func conversation(_ response: TestResponse) throws -> [String: Any] {
        try #require(response.json["conversation"] as? [String: Any], "\(response.status) \(response.text)")
    }

    static func messages(_ response: TestResponse) -> [[String: Any]] { response.json["data"] as? [[String: Any]] ?? [] }

    @Test func aCareConversationIsCreatedListedWrittenReadAndPaged() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let c = try await Self.cast(box, client)
            let p = c.p
            let created = try await client.post("/api/v1/conversations", ["patient_id": p.patientA, "title": "Weekly check-in"], token: p.counselorA1)
            #expect(created.status == .created)
            let conversation = try Self.conversation(created)
            let id = try #require(conversation["id"] as? String)
            #expect(conversation["kind"] as? String == "care" && conversation["patient_id"] as? String == p.patientA)
            let members = (conversation["participants"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            #expect(Set(members) == [p.counselorA1ID, p.patientA])
            // The patient sees it, with nothing unread.
            let listed = try await client.get("/api/v1/conversations", token: p.patientToken)
            #expect(Self.messages(listed).compactMap { $0["id"] as? String } == [id])
            #expect(listed.json["total_unread"] as? Int == 0)
            var sent: [String] = []
            for n in 1...5 {
                let r = try await client.post("/api/v1/conversations/\(id)/messages", ["body": "Message number \(n)"], token: p.counselorA1)
                #expect(r.status == .created)
                sent.append(try #require((r.json["message"] as? [String: Any])?["id"] as? String))
            }
            let unread = try await client.get("/api/v1/conversations", token: p.patientToken)
            #expect((Self.messages(unread).first?["unread_count"] as? Int) == 5 && unread.json["total_unread"] as? Int == 5)
            #expect(try await client.get("/api/v1/conversations", token: p.counselorA1).json["total_unread"] as? Int == 0)
            // Newest first, two at a time, through the cursor.
            var seqs: [Int] = []
            var cursor: String?
            repeat {
                let page = try await client.get("/api/v1/conversations/\(id)/messages?limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""), token: p.patientToken)
                #expect(page.status == .ok)
                seqs += Self.messages(page).compactMap { $0["seq"] as? Int }
                cursor = page.json["next_cursor"] as? String
            } while cursor != nil
            #expect(seqs == [5, 4, 3, 2, 1])
            let first = Self.messages(try await client.get("/api/v1/conversations/\(id)/messages?limit=1", token: p.patientToken)).first
            #expect(first?["body"] as? String == "Message number 5" && first?["sender_id"] as? String == p.counselorA1ID)
            // Reading up to the third leaves two; the marker never moves back.
            let read = try await client.post("/api/v1/conversations/\(id)/read", ["up_to_message_id": sent[2]], token: p.patientToken)
            #expect(read.status == .ok && read.json["unread_count"] as? Int == 2 && read.json["last_read_seq"] as? Int == 3)
            let back = try await client.post("/api/v1/conversations/\(id)/read", ["up_to_message_id": sent[0]], token: p.patientToken)
            #expect(back.json["last_read_seq"] as? Int == 3 && back.json["total_unread"] as? Int == 2)
            // The counselor sees the patient's receipt.
            let seen = try Self.conversation(try await client.get("/api/v1/conversations/\(id)", token: p.counselorA1))
            let patientEntry = (seen["participants"] as? [[String: Any]])?.first { $0["kind"] as? String == "patient" }
            #expect(patientEntry?["last_read_seq"] as? Int == 3)
            // The patient answers: one unread for the counselor.
            #expect(try await client.post("/api/v1/conversations/\(id)/messages", ["body": "Thanks"], token: p.patientToken).status == .created)
            #expect(try await client.get("/api/v1/conversations", token: p.counselorA1).json["total_unread"] as? Int == 1)
            // Reads and sends are audited; sends appended message:new events, reads message:read.
            let (audited, feed) = try await box.appliance.database.pool.read { db in
                (try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_logs WHERE action IN ('message.send', 'message.list') AND resource_id = ?", arguments: [id])!,
                 try String.fetchAll(db, sql: "SELECT kind FROM realtime_events ORDER BY seq"))
            }
            #expect(audited >= 9)
            #expect(feed.filter { $0 == "message:new" }.count == 6 && feed.filter { $0 == "message:read" }.count == 1)
        }
    }

    @Test func aRetriedSendIsStoredOnce() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let p = try await Self.cast(box, client).p
            let id = try Self.conversation(try await client.post("/api/v1/conversations", [:], token: p.patientToken))["id"] as! String
            let first = try await client.post("/api/v1/conversations/\(id)/messages", ["body": "Are we still on for 3pm?", "client_id": "phone-1"], token: p.patientToken)
            let again = try await client.post("/api/v1/conversations/\(id)/messages", ["body": "Are we still on for 3pm?", "client_id": "phone-1"], token: p.patientToken)
            #expect(first.status == .created && again.status == .ok)
            #expect((first.json["message"] as? [String: Any])?["id"] as? String == (again.json["message"] as? [String: Any])?["id"] as? String)
            #expect((again.json["message"] as? [String: Any])?["client_id"] as? String == "phone-1")
            let other = try await client.post("/api/v1/conversations/\(id)/messages", ["body": "Something else", "client_id": "phone-1"], token: p.patientToken)
            #expect(other.status == .conflict && other.errorFields == ["client_id"])
            let count = try await box.appliance.database.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM messages")! }
            #expect(count == 1)
            // The counselor, not the sender, does not see the client id.
            let seen = Self.messages(try await client.get("/api/v1/conversations/\(id)/messages", token: p.counselorA1)).first
            #expect(seen?["client_id"] is NSNull)
        }
    }

    @Test func unreadCountsAreExactUnderConcurrentSendsAndReads() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let c = try await Self.cast(box, client)
            let p = c.p
            let created = try await client.post("/api/v1/conversations", ["participant_ids": [c.nurseID, c.deskID, p.counselorA2ID], "title": "Shift handover"], token: p.adminA)
            let id = try Self.conversation(created)["id"] as! String
            let senders = [("admin", p.adminA), ("nurse", p.nurseA), ("desk", p.frontDeskA)]
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (name, token) in senders {
                    group.addTask {
                        for n in 1...8 {
                            let r = try await client.post("/api/v1/conversations/\(id)/messages", ["body": "\(name) \(n)", "client_id": "\(name)-\(n)"], token: token)
                            guard r.status == .created else { throw TestFailure("send: \(r.status) \(r.text)") }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let seqs = try await box.appliance.database.pool.read { db in try Int.fetchAll(db, sql: "SELECT seq FROM messages WHERE conversation_id = ? ORDER BY seq", arguments: [id]) }
            #expect(seqs == Array(1...24))
            // Each sender has the others' 16 unread; counselor A2, who sent nothing, all 24.
            for (token, expected) in [(p.adminA, 16), (p.nurseA, 16), (p.frontDeskA, 16), (p.counselorA2, 24)] {
                let list = try await client.get("/api/v1/conversations", token: token)
                #expect(Self.messages(list).first?["unread_count"] as? Int == expected && list.json["total_unread"] as? Int == expected)
            }
            // Concurrent reads and sends: every count equals a count made from the rows.
            let page = Self.messages(try await client.get("/api/v1/conversations/\(id)/messages?limit=100", token: p.counselorA2))
            let tenth = try #require(page.first { $0["seq"] as? Int == 10 }?["id"] as? String)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { _ = try await client.post("/api/v1/conversations/\(id)/read", ["up_to_message_id": tenth], token: p.counselorA2) }
                group.addTask { _ = try await client.post("/api/v1/conversations/\(id)/messages", ["body": "late news"], token: p.nurseA) }
                group.addTask { _ = try await client.post("/api/v1/conversations/\(id)/read", ["up_to_message_id": tenth], token: p.adminA) }
                try await group.waitForAll()
            }
            for (token, staffID) in [(p.adminA, c.adminAID), (p.nurseA, c.nurseID), (p.frontDeskA, c.deskID), (p.counselorA2, p.counselorA2ID)] {
                let expected = try await box.appliance.database.pool.read { db in
                    try Int.fetchOne(db, sql: """
                        SELECT count(*) FROM messages m JOIN conversation_participants cp ON cp.conversation_id = m.conversation_id AND cp.staff_id = ?
                        WHERE m.conversation_id = ? AND m.seq > cp.last_read_seq AND m.sender_staff_id IS NOT ?
                        """, arguments: [staffID, id, staffID])!
                }
                let list = try await client.get("/api/v1/conversations", token: token)
                #expect(Self.messages(list).first?["unread_count"] as? Int == expected && list.json["total_unread"] as? Int == expected)
            }
            #expect(Self.messages(try await client.get("/api/v1/conversations", token: p.counselorA2)).first?["unread_count"] as? Int == 15)
        }
    }

    @Test func patientsReachOnlyTheirOwnConversationsAndOnlyTheirCareTeam() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let c = try await Self.cast(box, client)
            let p = c.p
            let staffThread = try Self.conversation(try await client.post("/api/v1/conversations", ["participant_ids": [p.counselorA1ID]], token: p.adminA))["id"] as! String
            let before = try await box.appliance.database.pool.read { db in try IDORMatrixTests.fingerprint(db) }
            // Someone outside the care team, or a staff thread: refused, audited, nothing stored.
            let outside = try await client.post("/api/v1/conversations", ["participant_ids": [p.counselorA2ID]], token: p.patientToken, requestID: "msg-outside-care-team")
            #expect(outside.status == .forbidden && outside.errorCode == "not_on_care_team")
            #expect(try await client.post("/api/v1/conversations", ["kind": "staff", "participant_ids": [p.counselorA1ID]], token: p.patientToken).status == .forbidden)
            // A2 has no care team yet.
            #expect(try await client.post("/api/v1/conversations", [:], token: c.patientA2Token).errorCode == "no_care_team")
            #expect(try await box.appliance.database.pool.read { db in try IDORMatrixTests.fingerprint(db) } == before)
            let denied = try await box.appliance.database.pool.read { db in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_logs WHERE request_id = 'msg-outside-care-team' AND outcome = 'denied'")!
            }
            #expect(denied == 1)
            // Their own care team: fine.
            let own = try Self.conversation(try await client.post("/api/v1/conversations", ["participant_ids": [p.counselorA1ID]], token: p.patientToken))["id"] as! String
            #expect(Self.messages(try await client.get("/api/v1/conversations", token: p.patientToken)).compactMap { $0["id"] as? String } == [own])
            #expect(Self.messages(try await client.get("/api/v1/conversations", token: c.patientA2Token)).isEmpty)
            for token in [p.patientToken, c.patientA2Token] {
                #expect(try await client.get("/api/v1/conversations/\(staffThread)/messages", token: token).status == .notFound)
                #expect(try await client.post("/api/v1/conversations/\(staffThread)/messages", ["body": "hi"], token: token).status == .notFound)
            }
            #expect(try await client.get("/api/v1/conversations/\(own)", token: c.patientA2Token).status == .notFound)
            #expect(try await client.get("/api/v1/conversations/\(own)", token: p.adminB).status == .notFound)
            // Another facility's staff cannot name our staff.
            let b = try await client.post("/api/v1/conversations", ["participant_ids": [p.counselorA1ID]], token: p.adminB)
            #expect(b.status == .unprocessableContent && b.errorFields == ["participant_ids[0]"])
        }
    }

    @Test func aCounselorTakenOffTheCareTeamLosesTheConversationAtOnce() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let c = try await Self.cast(box, client)
            let p = c.p
            let id = try Self.conversation(try await client.post("/api/v1/conversations", ["patient_id": p.patientA], token: p.counselorA1))["id"] as! String
            let sent = try await client.post("/api/v1/conversations/\(id)/messages", ["body": "See you Tuesday"], token: p.patientToken)
            #expect(sent.status == .created)
            let c1 = c.identity(p.counselorA1ID, .counselor, facility: p.facilityA)
            let patient = c.identity(p.patientA, nil, facility: p.facilityA)
            let listeners = [Listener(key: "c1", identity: c1), Listener(key: "patient", identity: patient)]
            let delivery = EventDelivery(appliance: box.appliance)
            func deliveredTo() async throws -> Set<String> {
                try await box.appliance.database.pool.read { db in
                    let event = try #require(try EventFeed.events(after: 0, facilityID: p.facilityA, in: db).last { $0.kind == .messageNew })
                    return Set(try delivery.deliveries(of: event, to: listeners, in: db).filter { $0.name == "message:new" }.map(\.listenerKey))
                }
            }
            #expect(try await deliveredTo() == ["c1", "patient"])
            // End the assignment.
            let team = try await client.get("/api/v1/patients/\(p.patientA)/care-team", token: p.adminA)
            let assignment = try #require((team.json["data"] as? [[String: Any]])?.first?["assignment_id"] as? String, Comment(rawValue: team.text))
            #expect(try await client.delete("/api/v1/patients/\(p.patientA)/care-team/\(assignment)", token: p.adminA).status.code < 300)
            #expect(Self.messages(try await client.get("/api/v1/conversations", token: p.counselorA1)).isEmpty)
            #expect(try await client.get("/api/v1/conversations/\(id)/messages", token: p.counselorA1).errorCode == "not_on_care_team")
            #expect(try await client.post("/api/v1/conversations/\(id)/messages", ["body": "still here?"], token: p.counselorA1).status == .forbidden)
            #expect(try await deliveredTo() == ["patient"])
            let typing = try await box.appliance.database.pool.read { db in
                try Messaging(appliance: box.appliance).typingRecipients(patient, conversationID: id, among: listeners, in: db).map(\.key)
            }
            #expect(typing.isEmpty)
            await #expect(throws: AccessError.notOnCareTeam) {
                try await box.appliance.database.pool.read { db in
                    try Messaging(appliance: box.appliance).typingRecipients(c1, conversationID: id, among: listeners, in: db)
                }
            }
        }
    }

    @Test func groupPatientsKnowEachOtherByAliasOnly() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let c = try await Self.cast(box, client)
            let p = c.p
            let created = try await client.post("/api/v1/conversations", [
                "kind": "group", "title": "Tuesday evening group", "participant_ids": [p.counselorA1ID],
                "patients": [["patient_id": p.patientA, "alias": "Sunrise"], ["patient_id": p.patientA2, "alias": "Harbor"]]], token: p.adminA)
            #expect(created.status == .created)
            let id = try Self.conversation(created)["id"] as! String
            #expect(try await client.post("/api/v1/conversations/\(id)/messages", ["body": "Hello everyone"], token: p.patientToken).status == .created)
            let seen = try await client.get("/api/v1/conversations/\(id)/messages", token: c.patientA2Token)
            let message = try #require(Self.messages(seen).first)
            #expect(message["sender_name"] as? String == "Sunrise" && message["sender_id"] is NSNull)
            let view = try await client.get("/api/v1/conversations/\(id)", token: c.patientA2Token)
            for text in [seen.text, view.text] {
                #expect(!text.contains("Marisol") && !text.contains("Quenneville") && !text.contains(p.patientA))
            }
            // Staff see who it is.
            let staffView = Self.messages(try await client.get("/api/v1/conversations/\(id)/messages", token: p.counselorA1)).first
            #expect(staffView?["sender_id"] as? String == p.patientA && staffView?["sender_name"] as? String == "Sunrise")
        }
    }

    @Test func badInputIsRefusedNamingTheFieldAndStoresNothing() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let c = try await Self.cast(box, client)
            let p = c.p
            let id = try Self.conversation(try await client.post("/api/v1/conversations", ["patient_id": p.patientA], token: p.counselorA1))["id"] as! String
            let template = try await client.post("/api/v1/message-templates", ["title": "Reminder", "body": "Your appointment is tomorrow."], token: p.adminA)
            let templateID = try #require((template.json["template"] as? [String: Any])?["id"] as? String)
            let long = String(repeating: "a", count: 4001)
            let cases: [(String, String, [String: Any?], String)] = [
                ("/api/v1/conversations", p.counselorA1, ["kind": "direct", "patient_id": p.patientA], "kind"),
                ("/api/v1/conversations", p.counselorA1, ["kind": 3], "kind"),
                ("/api/v1/conversations", p.counselorA1, ["patient_id": p.patientA, "title": "   "], "title"),
                ("/api/v1/conversations", p.adminA, ["kind": "group", "patients": [["patient_id": p.patientA, "alias": "S"]]], "title"),
                ("/api/v1/conversations", p.adminA, ["kind": "group", "title": "G", "patients": [["patient_id": p.patientA, "alias": " "]]], "patients[0].alias"),
                ("/api/v1/conversations", p.adminA, ["kind": "group", "title": "G", "patients": [["patient_id": p.patientA]]], "patients[0].alias"),
                ("/api/v1/conversations", p.adminA, ["kind": "group", "title": "G", "patients": []], "patients"),
                ("/api/v1/conversations", p.adminA, ["participant_ids": ["not-an-id"]], "participant_ids[0]"),
                ("/api/v1/conversations", p.adminA, ["participant_ids": [UUID().uuidString]], "participant_ids[0]"),
                ("/api/v1/conversations", p.adminA, ["participant_ids": []], "participant_ids"),
                ("/api/v1/conversations", p.counselorA1, ["patient_id": p.patientA, "participant_ids": [c.deskID, p.counselorA2ID]], "participant_ids[1]"),
                ("/api/v1/conversations/\(id)/messages", p.patientToken, [:], "body"),
                ("/api/v1/conversations/\(id)/messages", p.patientToken, ["body": ""], "body"),
                ("/api/v1/conversations/\(id)/messages", p.patientToken, ["body": " \n "], "body"),
                ("/api/v1/conversations/\(id)/messages", p.patientToken, ["body": long], "body"),
                ("/api/v1/conversations/\(id)/messages", p.patientToken, ["body": 42], "body"),
                ("/api/v1/conversations/\(id)/messages", p.patientToken, ["body": "ok", "client_id": ""], "client_id"),
                ("/api/v1/conversations/\(id)/messages", p.patientToken, ["body": "ok", "client_id": String(repeating: "x", count: 101)], "client_id"),
                ("/api/v1/conversations/\(id)/read", p.patientToken, [:], "up_to_message_id"),
                ("/api/v1/conversations/\(id)/read", p.patientToken, ["up_to_message_id": UUID().uuidString], "up_to_message_id"),
                ("/api/v1/conversations/\(id)/read", p.patientToken, ["up_to_message_id": "x"], "up_to_message_id"),
                ("/api/v1/message-templates", p.adminA, ["title": "", "body": "b"], "title"),
                ("/api/v1/message-templates", p.adminA, ["title": "t", "body": "  "], "body"),
                ("/api/v1/message-templates", p.adminA, ["title": "t"], "body"),
            ]
            let before = try await box.appliance.database.pool.read { db in try IDORMatrixTests.fingerprint(db) }
            for (path, token, body, field) in cases {
                let r = try await client.post(path, body, token: token)
                #expect(r.status == .unprocessableContent && r.errorFields == [field], "\(path) \(body): \(r.status) \(r.text)")
            }
            for (query, field) in [("limit=0", "limit"), ("limit=101", "limit"), ("cursor=bm9wZQ", "cursor"), ("cursor=", "cursor")] {
                let r = try await client.get("/api/v1/conversations/\(id)/messages?\(query)", token: p.counselorA1)
                #expect(r.status == .unprocessableContent && r.errorFields == [field], "\(query): \(r.text)")
            }
            for (body, field) in [(["title": ""], "title"), (["body": " "], "body"), (["version": 0], "version"), (["title": 5], "title")] as [([String: Any?], String)] {
                let r = try await client.patch("/api/v1/message-templates/\(templateID)", body, token: p.adminA)
                #expect(r.status == .unprocessableContent && r.errorFields == [field], "\(body): \(r.text)")
            }
            #expect(try await box.appliance.database.pool.read { db in try IDORMatrixTests.fingerprint(db) } == before)
        }
    }

    @Test func templatesAreReadByStaffAndKeptByAdministrators() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let p = try await Self.cast(box, client).p
            let created = try await client.post("/api/v1/message-templates", ["title": "Reminder", "body": "See you at group tonight."], token: p.adminA)
            #expect(created.status == .created)
            let id = try #require((created.json["template"] as? [String: Any])?["id"] as? String)
            #expect(try await client.post("/api/v1/message-templates", ["title": "x", "body": "y"], token: p.counselorA1).status == .forbidden)
            let listed = try await client.get("/api/v1/message-templates", token: p.counselorA1)
            #expect(Self.messages(listed).compactMap { $0["id"] as? String } == [id])
            #expect(Self.messages(try await client.get("/api/v1/message-templates", token: p.adminB)).isEmpty)
            #expect(try await client.get("/api/v1/message-templates", token: p.patientToken).status == .forbidden)
            let edited = try await client.patch("/api/v1/message-templates/\(id)", ["body": "See you at group tomorrow.", "version": 1], token: p.adminA)
            #expect((edited.json["template"] as? [String: Any])?["version"] as? Int == 2)
            #expect(try await client.patch("/api/v1/message-templates/\(id)", ["title": "Old", "version": 1], token: p.adminA).status == .conflict)
            #expect(try await client.patch("/api/v1/message-templates/\(id)", ["title": "Mine"], token: p.adminB).status == .notFound)
            #expect(try await client.delete("/api/v1/message-templates/\(id)", token: p.adminA).status == .noContent)
            #expect(Self.messages(try await client.get("/api/v1/message-templates", token: p.counselorA1)).isEmpty)
            #expect(try await client.delete("/api/v1/message-templates/\(id)", token: p.adminA).status == .notFound)
        }
    }

    @Test func bodiesTitlesAndAliasesAreNotStoredInPlainText() async throws {
        let box = try await TestAppliance()
        let secrets = ["Relapsed on Saturday after the funeral", "Grief and loss circle", "Nightingale", "Kestrel"]
        try await box.test { client in
            let p = try await Self.cast(box, client).p
            let group = try await client.post("/api/v1/conversations", [
                "kind": "group", "title": secrets[1], "patients": [["patient_id": p.patientA, "alias": secrets[2]], ["patient_id": p.patientA2, "alias": secrets[3]]]],
                token: p.adminA)
            let id = try Self.conversation(group)["id"] as! String
            #expect(try await client.post("/api/v1/conversations/\(id)/messages", ["body": secrets[0]], token: p.patientToken).status == .created)
            #expect(Self.messages(try await client.get("/api/v1/conversations/\(id)/messages", token: p.adminA)).first?["body"] as? String == secrets[0])
        }
        let raw = databaseBytes(box.appliance.settings)
        #expect(raw.contains(text: "Harbor Light Clinic"), "the search finds plain data")
        for secret in secrets { #expect(!raw.contains(text: secret), "\(secret) in plain text") }
    }

    /// The audience of a message admits exactly the listeners whose identity
    /// the one-record decision admits, and each gets their own unread count.
    @Test func theAudienceAdmitsExactlyWhomTheConversationRuleAdmits() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let c = try await Self.cast(box, client)
            let p = c.p
            var made: [String] = []
            made.append(try Self.conversation(try await client.post("/api/v1/conversations", ["patient_id": p.patientA], token: p.counselorA1))["id"] as! String)
            made.append(try Self.conversation(try await client.post("/api/v1/conversations", ["participant_ids": [c.nurseID, p.counselorA2ID]], token: p.frontDeskA))["id"] as! String)
            made.append(try Self.conversation(try await client.post("/api/v1/conversations", [
                "kind": "group", "title": "Group", "patients": [["patient_id": p.patientA2, "alias": "Wren"]], "participant_ids": [p.counselorA2ID]], token: p.adminA))["id"] as! String)
            made.append(try Self.conversation(try await client.post("/api/v1/conversations", ["patient_id": p.patientB], token: p.adminB))["id"] as! String)
            let ids = made
            let tokens = [p.counselorA1, p.frontDeskA, p.adminA, p.adminB]
            for (id, token) in zip(ids, tokens) {
                #expect(try await client.post("/api/v1/conversations/\(id)/messages", ["body": "hello"], token: token).status == .created)
            }
            // Counselor A1 leaves the care team afterwards: the decision and the audience follow.
            try await box.appliance.database.pool.write { db in
                try db.execute(sql: "UPDATE care_team_assignments SET ended_at = ? WHERE staff_id = ?", arguments: [Timestamp.now(), p.counselorA1ID])
            }
            let listeners = c.identities.map { Listener(key: $0.name, identity: $0.identity) }
            let delivery = EventDelivery(appliance: box.appliance)
            try await box.appliance.database.pool.read { db in
                let events = try EventFeed.events(after: 0, facilityID: nil, in: db).filter { $0.kind == .messageNew }
                #expect(events.count == 4)
                for event in events {
                    let conversation = try #require(event.data["conversation_id"])
                    let deliveries = try delivery.deliveries(of: event, to: listeners, in: db)
                    let admitted = try Set(listeners.filter { try Messaging.admits($0.identity, conversation, in: db) != nil }.map(\.key))
                    #expect(Set(deliveries.filter { $0.name == "message:new" }.map(\.key)) == admitted, "\(conversation)")
                    #expect(Set(deliveries.filter { $0.name == "conversation:unread" }.map(\.key)) == admitted)
                    let phi = deliveries.filter { $0.name == "message:new" }.map(\.phi)
                    #expect(!phi.contains(false))
                    for d in deliveries where d.name == "conversation:unread" {
                        let identity = listeners.first { $0.key == d.listenerKey }!.identity
                        #expect(d.payload["total_unread"] == .integer(try Messaging.totalUnread(identity, in: db)))
                    }
                }
                let all = try Set(listeners.flatMap { l in try ids.compactMap { try Messaging.admits(l.identity, $0, in: db) != nil ? "\(l.key) \($0)" : nil } })
                // Who is admitted: participants only, and counselor A1 no longer.
                #expect(all == ["patient A \(ids[0])", "front desk A \(ids[1])", "nurse A \(ids[1])", "counselor A2 \(ids[1])",
                                "admin A \(ids[2])", "counselor A2 \(ids[2])", "patient A2 \(ids[2])", "patient B \(ids[3])"])
                // The list condition agrees with the one-record decision for every identity.
                for (name, identity) in c.identities {
                    let scope = try AccessPolicy.conversationList(identity)
                    let listed = Set(try String.fetchAll(db, sql: "SELECT c.id FROM conversations c WHERE \(scope.sql)", arguments: scope.arguments))
                    let decided = Set(try ids.filter { try Messaging.admits(identity, $0, in: db) != nil })
                    #expect(listed == decided, "\(name)")
                }
            }
        }
    }
}

extension Delivery {
    var key: String { listenerKey }
}

extension TestClientProtocol {
    func post(_ uri: String, _ body: [String: Any?], token: String, requestID: String) async throws -> TestResponse {
        var headers = jsonHeaders
        headers[.authorization] = "Bearer \(token)"
        headers[HTTPField.Name("X-Request-Id")!] = requestID
        return try await execute(uri: uri, method: .post, headers: headers, body: jsonBody(body.compactMapValues { $0 }))
    }
}
