import Foundation
import GRDB

/// Crisis alert steps: to the staff the policy lets reach the alert now (its
/// patient's care team and the others of `CrisisAlertRules`, and per
/// escalation level the administrators, then every clinician on shift), so
/// `crisis:escalated` goes to the newly reached and to those already reached.
/// Staff payloads carry the SOS message and location (`phi: true`). The
/// patient themself receives `crisis:acknowledged` and `crisis:resolved` about
/// their own alert: who acknowledged by first name and role only, no note.
struct CrisisAudience: EventAudience {
    let cipher: FieldCipher
    let kinds: Set<RealtimeEvent.Kind> = [.crisisAlert, .crisisAcknowledged, .crisisResolved, .crisisEscalated]

    func deliveries(of event: RealtimeEvent, to listeners: [Listener], in db: Database) throws -> [Delivery] {
        guard let patientID = event.patientID, let row = try Row.fetchOne(db, sql: """
            SELECT a.*, p.patient_number, s.first_name_enc AS ack_first_name_enc, s.role AS ack_role
            FROM crisis_alerts a JOIN patients p ON p.facility_id = a.facility_id AND p.id = a.patient_id
            LEFT JOIN staff s ON s.id = a.acknowledged_by WHERE a.id = ? AND a.facility_id = ?
            """, arguments: [event.subjectID, event.facilityID]) else { return [] }
        let id = event.subjectID
        var common: [String: JSONValue] = [
            "event_id": .integer(Int(event.seq)), "alert_id": .string(id), "facility_id": .string(event.facilityID),
            "status": .string(row["status"]), "at": .string(event.createdAt),
        ]
        switch event.kind {
        case .crisisAcknowledged: common["acknowledged_at"] = (row["acknowledged_at"] as String?).map { .string($0) } ?? .null
        case .crisisResolved: common["resolved_at"] = (row["resolved_at"] as String?).map { .string($0) } ?? .null
        default: break
        }
        var staff = common
        staff["patient_id"] = .string(patientID)
        staff["patient_number"] = .string(row["patient_number"])
        staff["severity"] = .string(row["severity"])
        staff["source"] = .string(row["source"])
        staff["escalation_level"] = .integer(Int(event.data["escalation_level"] ?? "") ?? (row["escalation_level"] as Int))
        if event.kind == .crisisAcknowledged { staff["acknowledged_by"] = (row["acknowledged_by"] as String?).map { .string($0) } ?? .null }
        if event.kind == .crisisResolved { staff["resolved_by"] = (row["resolved_by"] as String?).map { .string($0) } ?? .null }
        let message = try cipher.openString(optional: row["message_enc"], field: .crisisAlertsMessage, rowID: id)
        let location = try cipher.openString(optional: row["location_enc"], field: .crisisAlertsLocation, rowID: id)
        staff["message"] = message.map { .string($0) } ?? .null
        staff["location"] = location.map { .string($0) } ?? .null
        let phi = message != nil || location != nil

        var patient = common
        if event.kind == .crisisAcknowledged, let by: String = row["acknowledged_by"], let enc: Data = row["ack_first_name_enc"] {
            patient["acknowledged_by"] = .object(["first_name": .string(try cipher.openString(enc, field: .staffFirstName, rowID: by)),
                                                  "role": .string(row["ack_role"])])
        }
        let toPatient = event.kind == .crisisAcknowledged || event.kind == .crisisResolved

        var deliveries: [Delivery] = []
        for listener in listeners {
            let identity = listener.identity
            switch identity.kind {
            case .patient:
                guard toPatient, identity.subjectID == patientID, identity.facilityID == event.facilityID else { continue }
                deliveries.append(Delivery(listenerKey: listener.key, name: event.kind.rawValue, payload: .object(patient)))
            case .staff:
                guard identity.facilityID == nil || identity.facilityID == event.facilityID,
                      AccessPolicy.permits(identity, .crisisRespond) else { continue }
                guard try EventDelivery.admitted({ try AccessPolicy.crisisAlert(identity, id, in: db) }) != nil else { continue }
                deliveries.append(Delivery(listenerKey: listener.key, name: event.kind.rawValue, payload: .object(staff), phi: phi))
            }
        }
        return deliveries
    }
}

/// A published announcement: to the listeners of its facility and audience
/// (and its named group, when targeted), decided by the announcement rules.
/// Title, priority and audience; no PHI.
struct AnnouncementAudience: EventAudience {
    let kinds: Set<RealtimeEvent.Kind> = [.announcementNew]

    func deliveries(of event: RealtimeEvent, to listeners: [Listener], in db: Database) throws -> [Delivery] {
        guard let row = try Row.fetchOne(db, sql: "SELECT title, priority, audience, published_at FROM announcements WHERE id = ? AND facility_id = ?",
                                         arguments: [event.subjectID, event.facilityID]) else { return [] }
        let payload: JSONValue = .object([
            "event_id": .integer(Int(event.seq)), "announcement_id": .string(event.subjectID), "facility_id": .string(event.facilityID),
            "title": .string(row["title"]), "priority": .string(row["priority"]), "audience": .string(row["audience"]),
            "published_at": (row["published_at"] as String?).map { .string($0) } ?? .null,
        ])
        return try listeners.filter { listener in
            guard listener.identity.facilityID == nil || listener.identity.facilityID == event.facilityID else { return false }
            return try EventDelivery.admitted { try AccessPolicy.announcement(listener.identity, event.subjectID, in: db) } != nil
        }.map { Delivery(listenerKey: $0.key, name: event.kind.rawValue, payload: payload) }
    }
}
