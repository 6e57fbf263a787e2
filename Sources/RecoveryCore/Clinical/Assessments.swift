import Foundation
import GRDB

/// Standardised measures given to a patient: recorded by staff with
/// `assessments.administer`, or assigned to the app and answered by the
/// patient. The server scores them (`AssessmentInstrument`); a positive PHQ-9
/// item 9 raises a crisis alert through `CrisisAlerts.raiseBySystem` in the
/// same transaction, published to the responders after commit.
public struct Assessments: Sendable {
    let appliance: Appliance
    var directory: PatientDirectory { PatientDirectory(appliance: appliance) }
    var cipher: FieldCipher { appliance.cipher }

    public init(appliance: Appliance) {
        self.appliance = appliance
    }

    /// The instruments as served (`GET /assessment-instruments`).
    public static func catalogue() -> [JSONValue] {
        AssessmentInstruments.all.map(\.document)
    }

    static func instrument(_ id: String?) throws -> AssessmentInstrument {
        guard let id else { throw RecordFailure.invalid([RecordProblem("instrument", "is required")]) }
        guard let instrument = AssessmentInstruments.instrument(id) else {
            throw RecordFailure.invalid([RecordProblem("instrument", "must be one of " + AssessmentInstruments.ids.joined(separator: ", "))])
        }
        return instrument
    }

    static func checked(_ instrumentID: String?, _ answers: [Int]?) throws -> (AssessmentInstrument, [Int]) {
        let instrument = try instrument(instrumentID)
        guard let answers else { throw RecordFailure.invalid([RecordProblem("answers", "is required")]) }
        let problems = instrument.problems(answers)
        if !problems.isEmpty { throw RecordFailure.invalid(problems) }
        return (instrument, answers)
    }

    // MARK: Recording

    /// Staff record an assessment they administered.
    public func record(_ identity: Identity, patientID: String, instrument instrumentID: String?, answers: [Int]?, notes: String?,
                       origin: RequestOrigin) async throws -> JSONValue {
        let (instrument, answers) = try Self.checked(instrumentID, answers)
        var problems: [RecordProblem] = []
        CarePlan.text(notes, "notes", max: 4_000, required: false, into: &problems)
        if !problems.isEmpty { throw RecordFailure.invalid(problems) }
        let directory = self.directory
        let (output, event) = try await directory.writeAuthorized(identity, patientID, .assessmentsAdminister, action: "assessment.create",
                                                                  origin: origin) { db, granted -> (JSONValue, RealtimeEvent?) in
            let (id, event) = try insert(facilityID: granted.facilityID, patientID: patientID, instrument: instrument, answers: answers,
                                         staffID: identity.subjectID, assignmentID: nil, notes: notes, in: db)
            try appliance.audit.append(directory.successEvent("assessment.create", identity, granted, origin,
                                                              details: ["record": id, "instrument": instrument.id]), in: db)
            return (try load(id, in: db)!, event)
        }
        if let event { appliance.events.publish([event]) }
        return output
    }

    /// The patient answers in the app, for an assignment or of their own accord.
    public func recordOwn(_ patient: OwnRecords, instrument instrumentID: String?, answers: [Int]?, assignmentID: String?,
                          origin: RequestOrigin) async throws -> JSONValue {
        let (output, event) = try await appliance.database.pool.write { db -> (JSONValue, RealtimeEvent?) in
            var instrumentID = instrumentID
            if let assignmentID {
                guard let row = try Row.fetchOne(db, sql: """
                    SELECT instrument, status FROM assessment_assignments WHERE id = ? AND facility_id = ? AND patient_id = ?
                    """, arguments: [assignmentID, patient.facilityID, patient.id]) else { throw RecordFailure.notFound("assessment assignment") }
                let assigned: String = row["instrument"]
                if let given = instrumentID, given != assigned {
                    throw RecordFailure.invalid([RecordProblem("instrument", "must be the assigned instrument \(assigned)")])
                }
                instrumentID = assigned
                if row["status"] as String != "pending" {
                    throw RecordFailure.conflict(RecordProblem("assignment_id", "is no longer pending"))
                }
            }
            let (instrument, answers) = try Self.checked(instrumentID, answers)
            let (id, event) = try insert(facilityID: patient.facilityID, patientID: patient.id, instrument: instrument, answers: answers,
                                         staffID: nil, assignmentID: assignmentID, notes: nil, in: db)
            if let assignmentID {
                let stamp = Timestamp.now()
                try db.execute(sql: "UPDATE assessment_assignments SET status = 'completed', completed_at = ?, updated_at = ? WHERE id = ?",
                               arguments: [stamp, stamp, assignmentID])
            }
            try appliance.audit.append(AuditEvent(action: "assessment.create", outcome: .success, actorKind: .patient, actorID: patient.id,
                                                  facilityID: patient.facilityID, resourceType: "assessment", resourceID: id,
                                                  patientID: patient.id, ipAddress: origin.ipAddress, requestID: origin.requestID,
                                                  details: ["instrument": instrument.id]), in: db)
            return (try load(id, in: db)!, event)
        }
        if let event { appliance.events.publish([event]) }
        return output
    }

    func insert(facilityID: String, patientID: String, instrument: AssessmentInstrument, answers: [Int], staffID: String?,
                assignmentID: String?, notes: String?, in db: Database) throws -> (String, RealtimeEvent?) {
        let id = RowID.make()
        let stamp = Timestamp.now()
        let score = instrument.score(answers)
        let subscales = JSONValue.object(score.subscales.mapValues { value in
            JSONValue.integer(value)
        })
        let flags = JSONValue.array(score.flags.map(Self.flagJSON))
        let responses = JSONValue.array(answers.map(JSONValue.integer)).canonicalText
        try db.execute(sql: """
            INSERT INTO assessments (id, facility_id, patient_id, instrument, instrument_version, responses_enc, total_score, severity,
                subscales, flags, administered_by_kind, administered_by, assignment_id, administered_at, notes_enc, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [id, facilityID, patientID, instrument.id, instrument.version,
                             cipher.seal(responses, field: .assessmentsResponses, rowID: id), score.total, score.band,
                             subscales.canonicalText, flags.canonicalText, staffID == nil ? "patient" : "staff", staffID, assignmentID,
                             stamp, cipher.seal(optional: notes, field: .assessmentsNotes, rowID: id), stamp, stamp])
        var event: RealtimeEvent?
        if score.flags.contains(where: { $0.level == "crisis" }) {
            event = try CrisisAlerts(appliance: appliance).raiseBySystem(facilityID: facilityID, patientID: patientID, source: "system",
                                                                          sourceRecordID: id, severity: "critical", in: db)
        }
        return (id, event)
    }

    static func flagJSON(_ flag: AssessmentInstrument.Flag) -> JSONValue {
        .object(["code": .string(flag.code), "level": .string(flag.level), "item": flag.item.map(JSONValue.integer) ?? .null])
    }

    // MARK: Assignments

    public func assign(_ identity: Identity, patientID: String, instrument instrumentID: String?, dueOn: String?,
                       origin: RequestOrigin) async throws -> JSONValue {
        let instrument = try Self.instrument(instrumentID)
        if let dueOn, !CalendarDate.isValid(dueOn) { throw RecordFailure.invalid([RecordProblem("due_on", "must be a real date as YYYY-MM-DD")]) }
        let directory = self.directory
        return try await directory.writeAuthorized(identity, patientID, .assessmentsAdminister, action: "assessment_assignment.create",
                                                   origin: origin) { db, granted -> JSONValue in
            let id = RowID.make()
            let stamp = Timestamp.now()
            try db.execute(sql: """
                INSERT INTO assessment_assignments (id, facility_id, patient_id, instrument, assigned_by, due_on, status, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)
                """, arguments: [id, granted.facilityID, patientID, instrument.id, identity.subjectID, dueOn, stamp, stamp])
            try appliance.audit.append(directory.successEvent("assessment_assignment.create", identity, granted, origin,
                                                              details: ["record": id, "instrument": instrument.id]), in: db)
            return try Self.assignment(id, in: db)!
        }
    }

    /// The signed-in patient's pending assignments.
    public func ownAssignments(_ patient: OwnRecords) async throws -> [JSONValue] {
        try await appliance.database.read { db in
            try String.fetchAll(db, sql: """
                SELECT id FROM assessment_assignments WHERE facility_id = ? AND patient_id = ? AND status = 'pending' ORDER BY created_at, id
                """, arguments: [patient.facilityID, patient.id]).compactMap { try Self.assignment($0, in: db) }
        }
    }

    static func assignment(_ id: String, in db: Database) throws -> JSONValue? {
        guard let row = try Row.fetchOne(db, sql: """
            SELECT id, patient_id, instrument, assigned_by, due_on, status, completed_at, created_at FROM assessment_assignments WHERE id = ?
            """, arguments: [id]) else { return nil }
        let instrumentID: String = row["instrument"]
        var o: [String: JSONValue] = [:]
        for column in ["id", "patient_id", "instrument", "assigned_by", "due_on", "status", "completed_at", "created_at"] {
            o[column] = row.json(text: column)
        }
        o["instrument_name"] = .string(AssessmentInstruments.instrument(instrumentID)?.name ?? instrumentID)
        return .object(o)
    }

    // MARK: Reading

    /// A patient's assessments (newest first, at most 500), with trends per
    /// instrument over time (oldest first): totals, subscale scores and each item.
    public func list(_ identity: Identity, patientID: String, instrument: String?, origin: RequestOrigin) async throws -> JSONValue {
        if let instrument, AssessmentInstruments.instrument(instrument) == nil {
            throw RecordFailure.invalid([RecordProblem("instrument", "must be one of " + AssessmentInstruments.ids.joined(separator: ", "))])
        }
        return try await directory.readAuthorized(identity, patientID, .patientsReadClinical, action: "assessment.list", origin: origin) { db, granted -> JSONValue in
            var sql = "SELECT id FROM assessments WHERE facility_id = ? AND patient_id = ? AND deleted_at IS NULL"
            var arguments: StatementArguments = [granted.facilityID, patientID]
            if let instrument { sql += " AND instrument = ?"; arguments += [instrument] }
            sql += " ORDER BY administered_at DESC, id DESC LIMIT 500"
            let items = try String.fetchAll(db, sql: sql, arguments: arguments).compactMap { try load($0, in: db) }
            return .object(["data": .array(items), "trends": Self.trends(Array(items.reversed()))])
        }
    }

    static func trends(_ oldestFirst: [JSONValue]) -> JSONValue {
        var byInstrument: [String: [JSONValue]] = [:]
        for item in oldestFirst { if case .string(let id)? = item["instrument"] { byInstrument[id, default: []].append(item) } }
        return .object(byInstrument.mapValues { items in
            func point(_ item: JSONValue, _ value: JSONValue?) -> JSONValue {
                .object(["administered_at": item["administered_at"] ?? .null, "assessment_id": item["id"] ?? .null, "value": value ?? .null])
            }
            var subscaleNames: [String] = []
            if case .object(let first)? = items.first?["subscales"] { subscaleNames = first.keys.sorted() }
            var itemCount = 0
            if case .array(let answers)? = items.first?["answers"] { itemCount = answers.count }
            return .object([
                "total": .array(items.map { point($0, $0["total"]) }),
                "band": .array(items.map { point($0, $0["band"]) }),
                "subscales": .object(Dictionary(uniqueKeysWithValues: subscaleNames.map { name in
                    (name, JSONValue.array(items.map { point($0, $0["subscales"]?[name]?["score"]) }))
                })),
                "items": .array((0..<itemCount).map { index in
                    JSONValue.array(items.map { item in
                        if case .array(let answers)? = item["answers"], index < answers.count { return point(item, answers[index]) }
                        return point(item, nil)
                    })
                }),
            ])
        })
    }

    func load(_ id: String, in db: Database) throws -> JSONValue? {
        guard let row = try Row.fetchOne(db, sql: """
            SELECT id, patient_id, instrument, instrument_version, responses_enc, total_score, severity, subscales, flags,
                   administered_by_kind, administered_by, assignment_id, administered_at, notes_enc, created_at
            FROM assessments WHERE id = ?
            """, arguments: [id]) else { return nil }
        let instrumentID: String = row["instrument"]
        let answers = try JSONParser.parse(Array(cipher.open(row["responses_enc"], field: .assessmentsResponses, rowID: id)))
        let subscores = try JSONParser.parse(Array((row["subscales"] as String).utf8))
        var score: AssessmentInstrument.Score?
        if case .array(let values) = answers, let instrument = AssessmentInstruments.instrument(instrumentID) {
            let ints = values.compactMap { (value: JSONValue) -> Int? in if case .integer(let v) = value { return v } else { return nil } }
            if instrument.problems(ints).isEmpty { score = instrument.score(ints) }
        }
        var subscales: [String: JSONValue] = [:]
        if case .object(let members) = subscores {
            for (name, value) in members {
                let band: JSONValue = JSONValue.text(score?.subscaleBands[name])
                subscales[name] = .object(["score": value, "band": band])
            }
        }
        let crisisAlert = try String.fetchOne(db, sql: "SELECT id FROM crisis_alerts WHERE source = 'system' AND source_record_id = ?", arguments: [id])
        var o: [String: JSONValue] = [:]
        for column in ["id", "patient_id", "instrument", "instrument_version", "administered_by_kind", "administered_by", "assignment_id",
                       "administered_at", "created_at"] {
            o[column] = row.json(text: column)
        }
        o["answers"] = answers
        o["total"] = row.json(int: "total_score")
        o["band"] = row.json(text: "severity")
        o["subscales"] = .object(subscales)
        o["flags"] = try JSONParser.parse(Array((row["flags"] as String).utf8))
        let notes: String? = try cipher.openString(optional: row["notes_enc"], field: .assessmentsNotes, rowID: id)
        o["notes"] = JSONValue.text(notes)
        o["crisis_alert_id"] = JSONValue.text(crisisAlert)
        return .object(o)
    }

    static func optional(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
}
