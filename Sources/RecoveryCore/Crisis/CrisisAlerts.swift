import Foundation
import GRDB

/// Crisis alerts: raised by a patient (the SOS button), by staff for a
/// patient they reach, or by the system (a flagged answer); acknowledged and
/// resolved by staff who reach them. An alert nobody acknowledges escalates
/// after `crisis.escalate_after_seconds` to level 1 (the facility's
/// administrators) and after as long again to level 2 (every clinician on
/// shift). The next escalation time is stored with the alert (`escalate_at`),
/// so a restart loses no timer: `escalateDue(now:)` escalates whatever is due.
///
/// Every step is kept in `crisis_alert_events` (the timeline), audited, and
/// appended to the event feed in the same transaction; the feed rings after
/// commit. The SOS message, location and notes are encrypted per field and
/// never logged.
public struct CrisisAlerts: Sendable {
    public static let maxMessageLength = 2_000
    public static let maxLocationLength = 500
    public static let maxNoteLength = 4_000
    public static let severities = ["low", "medium", "high", "critical"]
    public static let sources = ["patient_button", "check_in", "craving", "staff", "system"]
    /// The last escalation level: every clinician on shift.
    public static let maxLevel = 2

    public struct Step: Sendable, Equatable {
        public var id: String
        public var event: String
        public var actorKind: String
        public var actorID: String?
        public var escalationLevel: Int?
        public var note: String?
        public var createdAt: String
    }

    /// Who acknowledged, as a patient is told: first name and role only.
    public struct Responder: Sendable, Equatable {
        public var firstName: String
        public var role: String
    }

    public struct Alert: Sendable, Equatable {
        public var id: String
        public var facilityID: String
        public var patientID: String
        public var patientFirstName: String
        public var patientLastName: String
        public var patientNumber: String
        public var raisedByKind: String
        public var raisedBy: String?
        public var source: String
        public var sourceRecordID: String?
        public var severity: String
        public var status: String
        public var message: String?
        public var location: String?
        public var acknowledgedBy: String?
        public var acknowledgedByResponder: Responder?
        public var acknowledgedAt: String?
        public var escalationLevel: Int
        public var escalatedAt: String?
        public var escalateAt: String?
        public var resolvedBy: String?
        public var resolvedAt: String?
        public var resolutionNote: String?
        public var createdAt: String
        public var updatedAt: String
        /// Every step, oldest first (detail only).
        public var timeline: [Step]?
    }

    public enum Failure: Error, Equatable, Sendable {
        case invalid(field: String, issue: String)
        case notFound
        case alreadyAcknowledged
        case alreadyResolved
    }

    let appliance: Appliance
    var cipher: FieldCipher { appliance.cipher }
    var after: TimeInterval { TimeInterval(appliance.settings.crisisEscalateAfterSeconds) }

    public init(appliance: Appliance) {
        self.appliance = appliance
    }

    // MARK: Raising

    /// The patient's SOS (`POST /me/crisis`, the socket's `crisis:trigger`).
    public func raiseByPatient(_ identity: Identity, message: String?, location: String?, origin: RequestOrigin,
                               now: Date = Date()) async throws -> Alert {
        let own = try AccessPolicy.ownRecords(identity)
        let message = try Self.text(message, field: "message", max: Self.maxMessageLength)
        let location = try Self.text(location, field: "location", max: Self.maxLocationLength)
        let (alert, events) = try await appliance.database.pool.write { db -> (Alert, [RealtimeEvent]) in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM patients WHERE facility_id = ? AND id = ? AND deleted_at IS NULL",
                                    arguments: [own.facilityID, own.id]) == true else { throw Failure.notFound }
            let (id, events) = try insert(facilityID: own.facilityID, patientID: own.id, raisedBy: nil, kind: "patient", source: "patient_button",
                                          sourceRecordID: nil, severity: "critical", message: message, location: location, now: now, in: db)
            try appliance.audit.append(AuditEvent(
                action: "crisis_alert.raise", outcome: .success, actorKind: .patient, actorID: own.id, facilityID: own.facilityID,
                resourceType: "crisis_alert", resourceID: id, patientID: own.id, ipAddress: origin.ipAddress, requestID: origin.requestID,
                details: ["source": "patient_button"]), in: db)
            return (try load(id, in: db), events)
        }
        appliance.events.publish(events)
        return alert
    }

    /// A staff member raises an alert for a patient they reach with `crisis.respond`.
    public func raiseByStaff(_ identity: Identity, patientID: String, message: String?, severity: String?, origin: RequestOrigin,
                             now: Date = Date()) async throws -> Alert {
        let directory = PatientDirectory(appliance: appliance)
        let (alert, events) = try await directory.writeAuthorized(identity, patientID, .crisisRespond, action: "crisis_alert.raise",
                                                                  origin: origin) { db, access -> (Alert, [RealtimeEvent]) in
            let message = try Self.text(message, field: "message", max: Self.maxMessageLength)
            let severity = severity ?? "high"
            guard Self.severities.contains(severity) else {
                throw Failure.invalid(field: "severity", issue: "must be one of: " + Self.severities.joined(separator: ", "))
            }
            let (id, events) = try insert(facilityID: access.facilityID, patientID: patientID, raisedBy: identity.subjectID, kind: "staff",
                                          source: "staff", sourceRecordID: nil, severity: severity, message: message, location: nil,
                                          now: now, in: db)
            var audit = directory.successEvent("crisis_alert.raise", identity, access, origin, details: ["alert_id": id, "source": "staff"])
            audit.resourceType = "crisis_alert"
            audit.resourceID = id
            try appliance.audit.append(audit, in: db)
            return (try load(id, in: db), events)
        }
        appliance.events.publish(events)
        return alert
    }

    /// The system raises an alert: `source` names what did (`check_in`,
    /// `craving`, `system`), `sourceRecordID` the record (e.g. the check-in
    /// whose answer was flagged). Appends the feed event in the caller's
    /// transaction and returns it: the caller publishes after its commit.
    /// One alert per source record: a second call for the same record answers nil.
    public func raiseBySystem(facilityID: String, patientID: String, source: String, sourceRecordID: String?, severity: String = "critical",
                              now: Date = Date(), in db: Database) throws -> RealtimeEvent? {
        guard Self.sources.contains(source), source != "patient_button", source != "staff" else {
            throw Failure.invalid(field: "source", issue: "must be check_in, craving or system")
        }
        guard Self.severities.contains(severity) else { throw Failure.invalid(field: "severity", issue: "is not a severity") }
        if let sourceRecordID, try Bool.fetchOne(db, sql: """
            SELECT 1 FROM crisis_alerts WHERE facility_id = ? AND patient_id = ? AND source = ? AND source_record_id = ?
            """, arguments: [facilityID, patientID, source, sourceRecordID]) == true {
            return nil
        }
        let (id, events) = try insert(facilityID: facilityID, patientID: patientID, raisedBy: nil, kind: "system", source: source,
                                      sourceRecordID: sourceRecordID, severity: severity, message: nil, location: nil, now: now, in: db)
        var details = ["source": source]
        if let sourceRecordID { details["source_record_id"] = sourceRecordID }
        try appliance.audit.append(AuditEvent(action: "crisis_alert.raise", outcome: .success, actorKind: .system, facilityID: facilityID,
                                              resourceType: "crisis_alert", resourceID: id, patientID: patientID, details: details), in: db)
        return events.first
    }

    /// The same, in its own transaction, publishing after commit.
    @discardableResult
    public func raiseBySystem(facilityID: String, patientID: String, source: String, sourceRecordID: String?,
                              severity: String = "critical", now: Date = Date()) async throws -> RealtimeEvent? {
        let event = try await appliance.database.pool.write { db in
            try raiseBySystem(facilityID: facilityID, patientID: patientID, source: source, sourceRecordID: sourceRecordID,
                              severity: severity, now: now, in: db)
        }
        if let event { appliance.events.publish([event]) }
        return event
    }

    func insert(facilityID: String, patientID: String, raisedBy: String?, kind: String, source: String, sourceRecordID: String?,
                severity: String, message: String?, location: String?, now: Date, in db: Database) throws -> (String, [RealtimeEvent]) {
        let id = RowID.make(at: now)
        let stamp = Timestamp.string(now)
        try db.execute(sql: """
            INSERT INTO crisis_alerts (id, facility_id, patient_id, raised_by_kind, raised_by, source, source_record_id, severity, status,
                                       message_enc, location_enc, escalation_level, escalate_at, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, 0, ?, ?, ?)
            """, arguments: [id, facilityID, patientID, kind, raisedBy, source, sourceRecordID, severity,
                             cipher.seal(optional: message, field: .crisisAlertsMessage, rowID: id),
                             cipher.seal(optional: location, field: .crisisAlertsLocation, rowID: id),
                             Timestamp.string(now.addingTimeInterval(after)), stamp, stamp])
        try step(alertID: id, facilityID: facilityID, event: "created", actorKind: kind, actorID: raisedBy, level: 0, note: nil, stamp: stamp, in: db)
        let event = try EventFeed.append(RealtimeEvent(kind: .crisisAlert, facilityID: facilityID, patientID: patientID, subjectID: id,
                                                       data: ["severity": severity, "source": source, "escalation_level": "0"]), in: db)
        return (id, [event])
    }

    func step(alertID: String, facilityID: String, event: String, actorKind: String, actorID: String?, level: Int?, note: String?,
              stamp: String, in db: Database) throws {
        let id = RowID.make()
        try db.execute(sql: """
            INSERT INTO crisis_alert_events (id, facility_id, alert_id, event, actor_kind, actor_id, escalation_level, note_enc, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [id, facilityID, alertID, event, actorKind, actorID, level,
                             cipher.seal(optional: note, field: .crisisAlertEventsNote, rowID: id), stamp])
    }

    /// A trimmed optional text; empty is none; longer than `max` is refused naming the field.
    /// Lengths count Unicode code points of the text as sent (as JSON Schema's maxLength does).
    static func text(_ value: String?, field: String, max: Int) throws -> String? {
        guard let value else { return nil }
        guard value.unicodeScalars.count <= max else { throw Failure.invalid(field: field, issue: "must be at most \(max) characters") }
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { return nil }
        guard !trimmed.unicodeScalars.contains(where: { $0.value == 0 }) else { throw Failure.invalid(field: field, issue: "must not contain NUL") }
        return trimmed
    }

    // MARK: Reading

    public static let statusFilters = ["active", "open", "acknowledged", "escalated", "resolved", "all"]

    /// The alerts `identity` reaches, newest first. `status`: one of
    /// `statusFilters` (`active` = not resolved).
    public func list(_ identity: Identity, status: String, page: Int, limit: Int, origin: RequestOrigin) async throws -> (alerts: [Alert], total: Int) {
        let scope: (sql: String, arguments: StatementArguments)
        do {
            scope = try AccessPolicy.crisisAlertList(identity)
        } catch let error as AccessError {
            try await appliance.auditWriter.record(.denied("crisis_alert.list", by: identity, resourceType: "crisis_alert", reason: error, origin))
            throw error
        }
        var condition = scope.sql
        var arguments = scope.arguments
        switch status {
        case "all": break
        case "active": condition += " AND a.status <> 'resolved'"
        default: condition += " AND a.status = ?"; arguments += [status]
        }
        let (filter, filterArguments) = (condition, arguments)
        let result = try await appliance.database.read { db -> ([Alert], Int) in
            let total = try Int.fetchOne(db, sql: "SELECT count(*) FROM crisis_alerts a WHERE \(filter)", arguments: filterArguments) ?? 0
            let ids = try String.fetchAll(db, sql: """
                SELECT a.id FROM crisis_alerts a WHERE \(filter) ORDER BY a.created_at DESC, a.id DESC LIMIT ? OFFSET ?
                """, arguments: filterArguments + [limit, (page - 1) * limit])
            return (try ids.map { try load($0, in: db) }, total)
        }
        try await appliance.auditWriter.record(AuditEvent(
            action: identity.kind == .staff ? "crisis_alert.list" : "crisis_alert.list_own", outcome: .success,
            actorKind: identity.auditActor, actorID: identity.subjectID, facilityID: identity.facilityID, resourceType: "crisis_alert",
            patientIDs: Array(Set(result.0.map(\.patientID))).sorted(), ipAddress: origin.ipAddress, requestID: origin.requestID,
            details: ["count": String(result.0.count), "status": status]))
        return result
    }

    /// One alert with its timeline.
    public func detail(_ identity: Identity, alertID: String, origin: RequestOrigin) async throws -> Alert {
        let (access, alert) = try await decided(identity, alertID, action: "crisis_alert.read", origin: origin) { db, access in
            var alert = try load(alertID, in: db)
            alert.timeline = try timeline(alertID, in: db)
            return (access, alert)
        }
        try await appliance.auditWriter.record(event("crisis_alert.read", identity, access, origin))
        return alert
    }

    // MARK: Responding

    /// Acknowledges an open or escalated alert: escalation stops.
    public func acknowledge(_ identity: Identity, alertID: String, origin: RequestOrigin, now: Date = Date()) async throws -> Alert {
        let (alert, events) = try await decidedWrite(identity, alertID, action: "crisis_alert.acknowledge", now: now, origin: origin) { db, access in
            let row = try Row.fetchOne(db, sql: "SELECT status, acknowledged_at FROM crisis_alerts WHERE id = ?", arguments: [alertID])
            if (row?["status"] as String?) == "resolved" { throw Failure.alreadyResolved }
            if (row?["acknowledged_at"] as String?) != nil { throw Failure.alreadyAcknowledged }
            let stamp = Timestamp.string(now)
            try db.execute(sql: """
                UPDATE crisis_alerts SET status = 'acknowledged', acknowledged_by = ?, acknowledged_at = ?, escalate_at = NULL, updated_at = ?
                WHERE id = ?
                """, arguments: [identity.subjectID, stamp, stamp, alertID])
            try step(alertID: alertID, facilityID: access.facilityID, event: "acknowledged", actorKind: "staff", actorID: identity.subjectID,
                     level: nil, note: nil, stamp: stamp, in: db)
            try appliance.audit.append(event("crisis_alert.acknowledge", identity, access, origin), in: db)
            let feed = try EventFeed.append(RealtimeEvent(kind: .crisisAcknowledged, facilityID: access.facilityID, patientID: access.patientID,
                                                          subjectID: alertID, data: ["staff_id": identity.subjectID]), in: db)
            return (try load(alertID, in: db), [feed])
        }
        appliance.events.publish(events)
        return alert
    }

    /// Resolves an alert with a note (required, encrypted).
    public func resolve(_ identity: Identity, alertID: String, note: String, origin: RequestOrigin, now: Date = Date()) async throws -> Alert {
        let (alert, events) = try await decidedWrite(identity, alertID, action: "crisis_alert.resolve", now: now, origin: origin) { db, access in
            guard let note = try Self.text(note, field: "note", max: Self.maxNoteLength) else {
                throw Failure.invalid(field: "note", issue: "is required")
            }
            let status = try String.fetchOne(db, sql: "SELECT status FROM crisis_alerts WHERE id = ?", arguments: [alertID])
            if status == "resolved" { throw Failure.alreadyResolved }
            let stamp = Timestamp.string(now)
            try db.execute(sql: """
                UPDATE crisis_alerts SET status = 'resolved', resolved_by = ?, resolved_at = ?, note_enc = ?, escalate_at = NULL, updated_at = ?
                WHERE id = ?
                """, arguments: [identity.subjectID, stamp, cipher.seal(note, field: .crisisAlertsNote, rowID: alertID), stamp, alertID])
            try step(alertID: alertID, facilityID: access.facilityID, event: "resolved", actorKind: "staff", actorID: identity.subjectID,
                     level: nil, note: note, stamp: stamp, in: db)
            try appliance.audit.append(event("crisis_alert.resolve", identity, access, origin), in: db)
            let feed = try EventFeed.append(RealtimeEvent(kind: .crisisResolved, facilityID: access.facilityID, patientID: access.patientID,
                                                          subjectID: alertID, data: ["staff_id": identity.subjectID]), in: db)
            return (try load(alertID, in: db), [feed])
        }
        appliance.events.publish(events)
        return alert
    }

    // MARK: Escalation

    /// Escalates every alert whose `escalate_at` has passed by `now`: level 1
    /// (administrators), then level 2 (clinicians on shift) once its time has
    /// passed too, each step in the timeline, audited and in the feed
    /// (`crisis:escalated`). Publishes and answers the events. Called every
    /// second by the server's crisis clock; safe to call at any time.
    @discardableResult
    public func escalateDue(now: Date = Date()) async throws -> [RealtimeEvent] {
        let stamp = Timestamp.string(now)
        // A read first: most seconds nothing is due, and the writer is left alone.
        guard try await appliance.database.read({ db in
            try Bool.fetchOne(db, sql: "SELECT 1 FROM crisis_alerts WHERE escalate_at IS NOT NULL AND escalate_at <= ? LIMIT 1", arguments: [stamp])
        }) == true else { return [] }
        let events = try await appliance.database.pool.write { db -> [RealtimeEvent] in
            let due = try Row.fetchAll(db, sql: """
                SELECT id, facility_id, patient_id, escalation_level, escalate_at FROM crisis_alerts
                WHERE escalate_at IS NOT NULL AND escalate_at <= ? AND status IN ('open', 'escalated') ORDER BY escalate_at
                """, arguments: [stamp])
            var events: [RealtimeEvent] = []
            for row in due {
                let id: String = row["id"], facilityID: String = row["facility_id"], patientID: String = row["patient_id"]
                var level: Int = row["escalation_level"]
                var dueAt = Timestamp.parse(row["escalate_at"]) ?? now
                // Each level whose time has passed (a server that was down catches up, step by step).
                while level < Self.maxLevel, dueAt <= now {
                    level += 1
                    let next: Date? = level < Self.maxLevel ? dueAt.addingTimeInterval(after) : nil
                    try db.execute(sql: """
                        UPDATE crisis_alerts SET status = 'escalated', escalation_level = ?, escalated_at = ?, escalate_at = ?, updated_at = ?
                        WHERE id = ?
                        """, arguments: [level, stamp, next.map(Timestamp.string), stamp, id])
                    try step(alertID: id, facilityID: facilityID, event: "escalated", actorKind: "system", actorID: nil, level: level,
                             note: nil, stamp: stamp, in: db)
                    try appliance.audit.append(AuditEvent(action: "crisis_alert.escalate", outcome: .success, actorKind: .system,
                                                          facilityID: facilityID, resourceType: "crisis_alert", resourceID: id,
                                                          patientID: patientID, details: ["escalation_level": String(level)]), in: db)
                    events.append(try EventFeed.append(RealtimeEvent(kind: .crisisEscalated, facilityID: facilityID, patientID: patientID,
                                                                     subjectID: id, data: ["escalation_level": String(level)]), in: db))
                    guard let next else { break }
                    dueAt = next
                }
                if level >= Self.maxLevel {
                    try db.execute(sql: "UPDATE crisis_alerts SET escalate_at = NULL WHERE id = ?", arguments: [id])
                }
            }
            return events
        }
        appliance.events.publish(events)
        return events
    }

    /// When the next escalation is due (nil: none is waiting).
    public func nextDue() async throws -> Date? {
        try await appliance.database.read { db in
            try String.fetchOne(db, sql: "SELECT min(escalate_at) FROM crisis_alerts WHERE escalate_at IS NOT NULL").flatMap(Timestamp.parse)
        }
    }

    /// Decides access to one alert before a write's body is read (the write
    /// decides again in its transaction); refusals audited.
    public func authorize(_ identity: Identity, alertID: String, action: String, origin: RequestOrigin) async throws {
        _ = try await decided(identity, alertID, action: action, origin: origin) { _, access in access }
    }

    // MARK: Helpers

    /// Decides access and reads in one database read; refusals audited.
    func decided<T: Sendable>(_ identity: Identity, _ alertID: String, action: String, origin: RequestOrigin,
                              _ body: @escaping @Sendable (Database, CrisisAlertAccess) throws -> T) async throws -> T {
        do {
            return try await appliance.database.read { db in
                try body(db, try AccessPolicy.crisisAlert(identity, alertID, in: db))
            }
        } catch let error as AccessError {
            try await deny(identity, action, alertID, error, origin)
            throw error == .notFound ? Failure.notFound : error
        }
    }

    /// Decides access and writes in one transaction; refusals audited.
    func decidedWrite<T: Sendable>(_ identity: Identity, _ alertID: String, action: String, now: Date, origin: RequestOrigin,
                                   _ body: @escaping @Sendable (Database, CrisisAlertAccess) throws -> T) async throws -> T {
        do {
            return try await appliance.database.pool.write { db in
                try body(db, try AccessPolicy.crisisAlert(identity, alertID, at: now, in: db))
            }
        } catch let error as AccessError {
            try await deny(identity, action, alertID, error, origin)
            throw error == .notFound ? Failure.notFound : error
        }
    }

    func deny(_ identity: Identity, _ action: String, _ alertID: String, _ error: AccessError, _ origin: RequestOrigin) async throws {
        try await appliance.auditWriter.record(.denied(action, by: identity, resourceType: "crisis_alert", resourceID: alertID,
                                                       reason: error, origin))
    }

    func event(_ action: String, _ identity: Identity, _ access: CrisisAlertAccess, _ origin: RequestOrigin) -> AuditEvent {
        AuditEvent(action: action, outcome: .success, actorKind: identity.auditActor, actorID: identity.subjectID, facilityID: access.facilityID,
                   resourceType: "crisis_alert", resourceID: access.alertID, patientID: access.patientID,
                   ipAddress: origin.ipAddress, requestID: origin.requestID, details: ["access": access.basis])
    }

    func load(_ id: String, in db: Database) throws -> Alert {
        guard let row = try Row.fetchOne(db, sql: """
            SELECT a.*, p.first_name_enc, p.last_name_enc, p.patient_number, s.first_name_enc AS ack_first_name_enc, s.role AS ack_role
            FROM crisis_alerts a JOIN patients p ON p.facility_id = a.facility_id AND p.id = a.patient_id
            LEFT JOIN staff s ON s.id = a.acknowledged_by
            WHERE a.id = ?
            """, arguments: [id]) else { throw Failure.notFound }
        let patientID: String = row["patient_id"]
        var responder: Responder?
        if let by: String = row["acknowledged_by"], let enc: Data = row["ack_first_name_enc"] {
            responder = Responder(firstName: try cipher.openString(enc, field: .staffFirstName, rowID: by), role: row["ack_role"])
        }
        return Alert(
            id: id, facilityID: row["facility_id"], patientID: patientID,
            patientFirstName: try cipher.openString(row["first_name_enc"], field: .patientsFirstName, rowID: patientID),
            patientLastName: try cipher.openString(row["last_name_enc"], field: .patientsLastName, rowID: patientID),
            patientNumber: row["patient_number"], raisedByKind: row["raised_by_kind"], raisedBy: row["raised_by"], source: row["source"],
            sourceRecordID: row["source_record_id"], severity: row["severity"], status: row["status"],
            message: try cipher.openString(optional: row["message_enc"], field: .crisisAlertsMessage, rowID: id),
            location: try cipher.openString(optional: row["location_enc"], field: .crisisAlertsLocation, rowID: id),
            acknowledgedBy: row["acknowledged_by"], acknowledgedByResponder: responder, acknowledgedAt: row["acknowledged_at"],
            escalationLevel: row["escalation_level"], escalatedAt: row["escalated_at"], escalateAt: row["escalate_at"],
            resolvedBy: row["resolved_by"], resolvedAt: row["resolved_at"],
            resolutionNote: try cipher.openString(optional: row["note_enc"], field: .crisisAlertsNote, rowID: id),
            createdAt: row["created_at"], updatedAt: row["updated_at"], timeline: nil)
    }

    func timeline(_ alertID: String, in db: Database) throws -> [Step] {
        try Row.fetchAll(db, sql: "SELECT * FROM crisis_alert_events WHERE alert_id = ? ORDER BY created_at, rowid", arguments: [alertID]).map { row in
            let id: String = row["id"]
            return Step(id: id, event: row["event"], actorKind: row["actor_kind"], actorID: row["actor_id"], escalationLevel: row["escalation_level"],
                        note: try cipher.openString(optional: row["note_enc"], field: .crisisAlertEventsNote, rowID: id), createdAt: row["created_at"])
        }
    }
}

/// What the server runs every second: escalates the crisis alerts that are
/// due and announces the announcements whose publication time has come.
/// Both read their due times from the database, so nothing is lost across a
/// restart. Started by `ApplianceServer` as a periodic service.
public struct CrisisClock: Sendable {
    let appliance: Appliance

    public init(appliance: Appliance) {
        self.appliance = appliance
    }

    /// One pass at `now`; answers the feed events it appended (already published).
    @discardableResult
    public func tick(now: Date = Date()) async throws -> [RealtimeEvent] {
        let escalated = try await CrisisAlerts(appliance: appliance).escalateDue(now: now)
        let announced = try await Announcements(appliance: appliance).publishDue(now: now)
        return escalated + announced
    }
}
