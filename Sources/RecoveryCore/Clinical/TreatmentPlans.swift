import Foundation
import GRDB

/// Treatment plans and their templates. A plan is a chain of versions
/// (`treatment_plans` rows sharing `plan_id`); signing makes a version
/// immutable (a trigger enforces it), and editing a signed version makes the
/// next one as a draft. Staff reach a plan through its patient
/// (`AccessPolicy.patient`): reads with `patients.read_clinical`, writes with
/// `treatment_plans.write`, signing with `treatment_plans.sign`. Templates
/// belong to a facility (or to the box when made by a super admin) and are
/// read with `treatment_plans.write`, managed with `treatment_plan_templates.manage`.
public struct TreatmentPlans: Sendable {
    public struct Changes: Sendable {
        public var title: String?
        public var content: JSONValue?
        public var startDate: String?
        public var reviewDate: String?
        public var templateID: String?
        public init() {}
    }

    public struct TemplateChanges: Sendable {
        public var name: String?
        public var description: String?
        public var content: JSONValue?
        public var isActive: Bool?
        public var facilityID: String?
        public init() {}
    }

    let appliance: Appliance
    var directory: PatientDirectory { PatientDirectory(appliance: appliance) }
    var cipher: FieldCipher { appliance.cipher }
    var pool: DatabasePool { appliance.database.pool }

    public init(appliance: Appliance) {
        self.appliance = appliance
    }

    // MARK: Templates

    public func templates(_ identity: Identity) async throws -> [JSONValue] {
        try AccessPolicy.require(identity, .treatmentPlansWrite)
        let scope = FacilityScope(identity)
        return try await appliance.database.read { db in
            let (condition, arguments) = scope.sql("t")
            return try Row.fetchAll(db, sql: """
                SELECT * FROM treatment_plan_templates t WHERE (t.facility_id IS NULL OR \(condition)) ORDER BY t.name, t.id
                """, arguments: arguments).map { Self.templateOutput($0, content: nil) }
        }
    }

    public func template(_ identity: Identity, id: String, version: Int?, origin: RequestOrigin) async throws -> JSONValue {
        try AccessPolicy.require(identity, .treatmentPlansWrite)
        return try await auditingRefusal(identity, id, action: "treatment_plan_template.read", origin: origin) { try await appliance.database.read { db in
            let row = try Self.reachTemplate(identity, id, manage: false, in: db)
            guard let version else { return Self.templateOutput(row, content: nil) }
            guard let past = try Row.fetchOne(db, sql: "SELECT * FROM treatment_plan_template_versions WHERE template_id = ? AND version = ?",
                                              arguments: [id, version]) else { throw RecordFailure.notFound("template version") }
            var output = Self.templateOutput(row, content: past["content"])
            if case .object(var members) = output {
                members["version"] = .integer(version)
                members["name"] = .string(past["name"])
                members["description"] = Self.optional(past["description"])
                output = .object(members)
            }
            return output
        } }
    }

    /// Runs `body`; a refusal to reach the template (404, 403) is audited as denied and rethrown.
    func auditingRefusal<T: Sendable>(_ identity: Identity, _ id: String, action: String, origin: RequestOrigin,
                                      _ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch let failure as RecordFailure where failure == .notFound("treatment plan template") {
            try await appliance.auditWriter.record(AuditEvent(action: action, outcome: .denied, actorKind: identity.auditActor, actorID: identity.subjectID,
                                                              facilityID: identity.facilityID, resourceType: "treatment_plan_template", resourceID: id,
                                                              ipAddress: origin.ipAddress, requestID: origin.requestID, details: ["reason": "not_found"]))
            throw failure
        } catch let error as AccessError {
            try await appliance.auditWriter.record(.denied(action, by: identity, resourceType: "treatment_plan_template", resourceID: id,
                                                           reason: error, origin))
            throw error
        }
    }

    public func createTemplate(_ identity: Identity, _ changes: TemplateChanges, origin: RequestOrigin) async throws -> JSONValue {
        try AccessPolicy.require(identity, .treatmentPlanTemplatesManage)
        let (content, problems) = Self.templateProblems(changes, creating: true)
        if !problems.isEmpty { throw RecordFailure.invalid(problems) }
        return try await pool.write { db in
            let facility = try AccessPolicy.facilityForNewRecord(identity, requested: changes.facilityID, in: db)
            let id = RowID.make()
            let stamp = Timestamp.now()
            try db.execute(sql: """
                INSERT INTO treatment_plan_templates (id, facility_id, name, description, content, is_active, created_by, version, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?)
                """, arguments: [id, facility, changes.name, changes.description, content.canonicalText, changes.isActive ?? true,
                                 identity.subjectID, stamp, stamp])
            try Self.recordTemplateVersion(id, by: identity.subjectID, stamp: stamp, in: db)
            try appliance.audit.append(AuditEvent(action: "treatment_plan_template.create", outcome: .success, actorKind: .staff,
                                                  actorID: identity.subjectID, facilityID: facility, resourceType: "treatment_plan_template",
                                                  resourceID: id, ipAddress: origin.ipAddress, requestID: origin.requestID), in: db)
            return Self.templateOutput(try Row.fetchOne(db, sql: "SELECT * FROM treatment_plan_templates WHERE id = ?", arguments: [id])!, content: nil)
        }
    }

    /// A change makes the next version of the template; plans made from an
    /// earlier version keep naming it.
    public func updateTemplate(_ identity: Identity, id: String, _ changes: TemplateChanges, origin: RequestOrigin) async throws -> JSONValue {
        try AccessPolicy.require(identity, .treatmentPlanTemplatesManage)
        return try await auditingRefusal(identity, id, action: "treatment_plan_template.update", origin: origin) { try await pool.write { db in
            let row = try Self.reachTemplate(identity, id, manage: true, in: db)
            let (content, problems) = Self.templateProblems(changes, creating: false)
            if !problems.isEmpty { throw RecordFailure.invalid(problems) }
            let stamp = Timestamp.now()
            let version = (row["version"] as Int) + 1
            try db.execute(sql: """
                UPDATE treatment_plan_templates SET name = coalesce(?, name), description = coalesce(?, description), content = coalesce(?, content),
                    is_active = coalesce(?, is_active), version = ?, updated_at = ? WHERE id = ?
                """, arguments: [changes.name, changes.description, changes.content == nil ? nil : content.canonicalText, changes.isActive,
                                 version, stamp, id])
            try Self.recordTemplateVersion(id, by: identity.subjectID, stamp: stamp, in: db)
            try appliance.audit.append(AuditEvent(action: "treatment_plan_template.update", outcome: .success, actorKind: .staff,
                                                  actorID: identity.subjectID, facilityID: row["facility_id"], resourceType: "treatment_plan_template",
                                                  resourceID: id, ipAddress: origin.ipAddress, requestID: origin.requestID,
                                                  details: ["version": String(version)]), in: db)
            return Self.templateOutput(try Row.fetchOne(db, sql: "SELECT * FROM treatment_plan_templates WHERE id = ?", arguments: [id])!, content: nil)
        } }
    }

    static func recordTemplateVersion(_ id: String, by staffID: String, stamp: String, in db: Database) throws {
        try db.execute(sql: """
            INSERT INTO treatment_plan_template_versions (template_id, version, name, description, content, created_by, created_at)
            SELECT id, version, name, description, content, ?, ? FROM treatment_plan_templates WHERE id = ?
            """, arguments: [staffID, stamp, id])
    }

    static func templateProblems(_ changes: TemplateChanges, creating: Bool) -> (JSONValue, [RecordProblem]) {
        var problems: [RecordProblem] = []
        CarePlan.text(changes.name, "name", max: 200, required: creating, nonEmpty: true, into: &problems)
        CarePlan.text(changes.description, "description", max: 2_000, required: false, into: &problems)
        let (content, contentProblems) = PlanContent.validate(changes.content, template: true)
        return (content, problems + contentProblems)
    }

    /// The template when `identity` reaches it: a box-wide template is read by
    /// every facility and managed by box-wide accounts; a facility's by its
    /// own staff. Otherwise 404.
    static func reachTemplate(_ identity: Identity, _ id: String, manage: Bool, in db: Database) throws -> Row {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM treatment_plan_templates WHERE id = ?", arguments: [id]) else {
            throw RecordFailure.notFound("treatment plan template")
        }
        if let facility = row["facility_id"] as String? {
            guard FacilityScope(identity).contains(facility) else { throw RecordFailure.notFound("treatment plan template") }
        } else if manage, identity.facilityID != nil {
            throw AccessError.forbidden(.facilitiesManageAll)
        }
        return row
    }

    static func templateOutput(_ row: Row, content: String?) -> JSONValue {
        let text: String = content ?? row["content"]
        var o: [String: JSONValue] = [:]
        for column in ["id", "facility_id", "name", "description", "created_by", "created_at", "updated_at"] {
            o[column] = row.json(text: column)
        }
        o["version"] = row.json(int: "version")
        o["content"] = (try? JSONParser.parse(Array(text.utf8))) ?? .null
        o["is_active"] = row.json(bool: "is_active")
        return .object(o)
    }

    // MARK: Plans

    /// The patient's plans: the newest version of each.
    public func list(_ identity: Identity, patientID: String, origin: RequestOrigin) async throws -> [JSONValue] {
        try await directory.readAuthorized(identity, patientID, .patientsReadClinical, action: "treatment_plan.list", origin: origin) { db, granted in
            try String.fetchAll(db, sql: """
                SELECT t.id FROM treatment_plans t
                WHERE t.facility_id = ? AND t.patient_id = ? AND t.deleted_at IS NULL
                  AND t.version = (SELECT max(v.version) FROM treatment_plans v WHERE v.plan_id = t.plan_id)
                ORDER BY t.created_at DESC, t.id
                """, arguments: [granted.facilityID, patientID]).compactMap { try load($0, in: db) }
        }
    }

    public func create(_ identity: Identity, patientID: String, _ changes: Changes, origin: RequestOrigin) async throws -> JSONValue {
        var problems: [RecordProblem] = []
        CarePlan.text(changes.title, "title", max: 200, required: true, nonEmpty: true, into: &problems)
        CarePlan.date(changes.startDate, "start_date", into: &problems)
        CarePlan.date(changes.reviewDate, "review_date", into: &problems)
        let (validated, contentProblems) = PlanContent.validate(changes.content, template: false)
        problems += contentProblems
        if !problems.isEmpty { throw RecordFailure.invalid(problems) }
        let explicitContent = changes.content != nil
        let directory = self.directory
        return try await directory.writeAuthorized(identity, patientID, .treatmentPlansWrite, action: "treatment_plan.create", origin: origin) { db, granted -> JSONValue in
            var content = validated
            var templateVersion: Int?
            if let templateID = changes.templateID {
                let row: Row
                do { row = try Self.reachTemplate(identity, templateID, manage: false, in: db) } catch {
                    throw RecordFailure.invalid([RecordProblem("template_id", "is not a template of this facility")])
                }
                if let facility = row["facility_id"] as String?, facility != granted.facilityID {
                    throw RecordFailure.invalid([RecordProblem("template_id", "is not a template of this facility")])
                }
                templateVersion = row["version"]
                if !explicitContent, let parsed = try? JSONParser.parse(Array((row["content"] as String).utf8)) {
                    content = PlanContent.instantiate(parsed, start: changes.startDate ?? CalendarDate.today(in: "UTC"))
                }
            }
            try Self.checkGoalLinks(content, facilityID: granted.facilityID, patientID: patientID, in: db)
            let id = RowID.make()
            let stamp = Timestamp.now()
            try insertVersion(id: id, planID: id, version: 1, facilityID: granted.facilityID, patientID: patientID, templateID: changes.templateID,
                              templateVersion: templateVersion, title: changes.title!, content: content, startDate: changes.startDate,
                              reviewDate: changes.reviewDate, createdBy: identity.subjectID, stamp: stamp, in: db)
            try appliance.audit.append(directory.successEvent("treatment_plan.create", identity, granted, origin, details: ["record": id]), in: db)
            return try load(id, in: db)!
        }
    }

    func insertVersion(id: String, planID: String, version: Int, facilityID: String, patientID: String, templateID: String?, templateVersion: Int?,
                       title: String, content: JSONValue, startDate: String?, reviewDate: String?, createdBy: String, stamp: String, in db: Database) throws {
        try db.execute(sql: """
            INSERT INTO treatment_plans (id, facility_id, patient_id, template_id, previous_version_id, version, title_enc, content_enc, status,
                start_date, review_date, created_by, created_at, updated_at, plan_id, template_version)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'draft', ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [id, facilityID, patientID, templateID,
                             version == 1 ? nil : try String.fetchOne(db, sql: "SELECT id FROM treatment_plans WHERE plan_id = ? AND version = ?",
                                                                       arguments: [planID, version - 1]),
                             version, cipher.seal(title, field: .treatmentPlansTitle, rowID: id),
                             cipher.seal(content.canonicalText, field: .treatmentPlansContent, rowID: id),
                             startDate, reviewDate, createdBy, stamp, stamp, planID, templateVersion])
    }

    static func checkGoalLinks(_ content: JSONValue, facilityID: String, patientID: String, in db: Database) throws {
        for id in PlanContent.linkedGoals(content) {
            guard try Bool.fetchOne(db, sql: """
                SELECT EXISTS (SELECT 1 FROM patient_goals WHERE id = ? AND facility_id = ? AND patient_id = ? AND deleted_at IS NULL)
                """, arguments: [id, facilityID, patientID]) == true else {
                throw RecordFailure.invalid([RecordProblem("content", "patient_goal_id \(id) is not one of the patient's goals")])
            }
        }
    }

    /// The patient a plan version is about (nil: no such version).
    func patientOf(_ versionID: String) async throws -> String? {
        try await AccessPolicy.patientOfRecord(.treatmentPlans, versionID, in: pool)
    }

    public func detail(_ identity: Identity, id: String, origin: RequestOrigin) async throws -> JSONValue {
        guard let patientID = try await patientOf(id) else { throw RecordFailure.notFound("treatment plan") }
        return try await directory.readAuthorized(identity, patientID, .patientsReadClinical, action: "treatment_plan.read", origin: origin) { db, _ in
            guard let output = try load(id, in: db) else { throw RecordFailure.notFound("treatment plan") }
            return output
        }
    }

    public func versions(_ identity: Identity, id: String, origin: RequestOrigin) async throws -> [JSONValue] {
        guard let patientID = try await patientOf(id) else { throw RecordFailure.notFound("treatment plan") }
        return try await directory.readAuthorized(identity, patientID, .patientsReadClinical, action: "treatment_plan.versions", origin: origin) { db, _ in
            try String.fetchAll(db, sql: """
                SELECT id FROM treatment_plans WHERE plan_id = (SELECT plan_id FROM treatment_plans WHERE id = ?) ORDER BY version
                """, arguments: [id]).compactMap { try load($0, in: db) }
        }
    }

    /// Edits a draft in place; a change to a signed version makes the next
    /// version as a draft (the signed one is left as it was). Only the newest
    /// version of a plan can be edited (409 otherwise).
    public func update(_ identity: Identity, id: String, _ changes: Changes, origin: RequestOrigin) async throws -> (JSONValue, created: Bool) {
        var problems: [RecordProblem] = []
        CarePlan.text(changes.title, "title", max: 200, required: false, nonEmpty: true, into: &problems)
        CarePlan.date(changes.startDate, "start_date", into: &problems)
        CarePlan.date(changes.reviewDate, "review_date", into: &problems)
        var validatedContent: JSONValue?
        if changes.content != nil {
            let (validated, contentProblems) = PlanContent.validate(changes.content, template: false)
            validatedContent = validated
            problems += contentProblems
        }
        let content = validatedContent
        guard let patientID = try await patientOf(id) else { throw RecordFailure.notFound("treatment plan") }
        if !problems.isEmpty {
            _ = try await directory.authorize(identity, patientID, .treatmentPlansWrite, action: "treatment_plan.update", origin: origin)
            throw RecordFailure.invalid(problems)
        }
        let directory = self.directory
        return try await directory.writeAuthorized(identity, patientID, .treatmentPlansWrite, action: "treatment_plan.update", origin: origin) { db, granted -> (JSONValue, created: Bool) in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM treatment_plans WHERE id = ? AND deleted_at IS NULL", arguments: [id]) else {
                throw RecordFailure.notFound("treatment plan")
            }
            let planID: String = row["plan_id"]
            let newest = try Int.fetchOne(db, sql: "SELECT max(version) FROM treatment_plans WHERE plan_id = ?", arguments: [planID])!
            guard row["version"] as Int == newest else {
                throw RecordFailure.conflict(RecordProblem("version", "is not the newest version of the plan; edit version \(newest)"))
            }
            if let content { try Self.checkGoalLinks(content, facilityID: granted.facilityID, patientID: patientID, in: db) }
            let stamp = Timestamp.now()
            var resultID = id
            let created: Bool
            if row["signed_at"] as String? == nil {
                try db.execute(sql: """
                    UPDATE treatment_plans SET title_enc = coalesce(?, title_enc), content_enc = coalesce(?, content_enc),
                        start_date = coalesce(?, start_date), review_date = coalesce(?, review_date), updated_at = ? WHERE id = ?
                    """, arguments: [changes.title.map { cipher.seal($0, field: .treatmentPlansTitle, rowID: id) },
                                     content.map { cipher.seal($0.canonicalText, field: .treatmentPlansContent, rowID: id) },
                                     changes.startDate, changes.reviewDate, stamp, id])
                created = false
            } else {
                let title = try changes.title ?? cipher.openString(row["title_enc"], field: .treatmentPlansTitle, rowID: id)
                let previousContent = try (row["content_enc"] as Data?).map {
                    try JSONParser.parse(Array(cipher.open($0, field: .treatmentPlansContent, rowID: id)))
                } ?? .object(["problems": .array([])])
                resultID = RowID.make()
                try insertVersion(id: resultID, planID: planID, version: newest + 1, facilityID: granted.facilityID, patientID: patientID,
                                  templateID: row["template_id"], templateVersion: row["template_version"], title: title,
                                  content: content ?? previousContent, startDate: changes.startDate ?? row["start_date"],
                                  reviewDate: changes.reviewDate ?? row["review_date"], createdBy: identity.subjectID, stamp: stamp, in: db)
                created = true
            }
            try appliance.audit.append(directory.successEvent(created ? "treatment_plan.new_version" : "treatment_plan.update", identity, granted, origin,
                                                              details: ["record": resultID]), in: db)
            return (try load(resultID, in: db)!, created)
        }
    }

    /// The clinician signs a draft version; it is immutable from then on.
    public func sign(_ identity: Identity, id: String, origin: RequestOrigin) async throws -> JSONValue {
        guard let patientID = try await patientOf(id) else { throw RecordFailure.notFound("treatment plan") }
        let directory = self.directory
        return try await directory.writeAuthorized(identity, patientID, .treatmentPlansSign, action: "treatment_plan.sign", origin: origin) { db, granted -> JSONValue in
            guard let row = try Row.fetchOne(db, sql: "SELECT signed_at FROM treatment_plans WHERE id = ? AND deleted_at IS NULL", arguments: [id]) else {
                throw RecordFailure.notFound("treatment plan")
            }
            if row["signed_at"] as String? != nil { throw RecordFailure.conflict(RecordProblem("treatment plan", "is already signed")) }
            let stamp = Timestamp.now()
            try db.execute(sql: "UPDATE treatment_plans SET status = 'active', signed_by = ?, signed_at = ?, updated_at = ? WHERE id = ?",
                           arguments: [identity.subjectID, stamp, stamp, id])
            try appliance.audit.append(directory.successEvent("treatment_plan.sign", identity, granted, origin, details: ["record": id]), in: db)
            return try load(id, in: db)!
        }
    }

    // MARK: The patient's own

    /// The patient's signed plans: the newest signed version of each.
    public func listOwn(_ patient: OwnRecords, origin: RequestOrigin) async throws -> [JSONValue] {
        try await appliance.database.read { db in
            try String.fetchAll(db, sql: """
                SELECT t.id FROM treatment_plans t
                WHERE t.facility_id = ? AND t.patient_id = ? AND t.deleted_at IS NULL AND t.signed_at IS NOT NULL
                  AND t.version = (SELECT max(v.version) FROM treatment_plans v WHERE v.plan_id = t.plan_id AND v.signed_at IS NOT NULL)
                ORDER BY t.created_at DESC, t.id
                """, arguments: [patient.facilityID, patient.id]).compactMap { try load($0, in: db) }
        }
    }

    /// The patient acknowledges a signed version of their own plan (again: no change).
    public func acknowledge(_ patient: OwnRecords, id: String, origin: RequestOrigin) async throws -> JSONValue {
        do { return try await acknowledgeOwn(patient, id: id, origin: origin) } catch let error as AccessError {
            // Another patient's plan, or one not signed yet: as if it did not exist, and audited.
            try await appliance.auditWriter.record(AuditEvent(action: "treatment_plan.acknowledge", outcome: .denied, actorKind: .patient,
                                                              actorID: patient.id, facilityID: patient.facilityID, resourceType: "treatment_plan",
                                                              resourceID: id, ipAddress: origin.ipAddress, requestID: origin.requestID,
                                                              details: ["reason": error.auditReason]))
            throw RecordFailure.notFound("treatment plan")
        }
    }

    func acknowledgeOwn(_ patient: OwnRecords, id: String, origin: RequestOrigin) async throws -> JSONValue {
        try await pool.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT patient_id, facility_id, signed_at FROM treatment_plans WHERE id = ? AND deleted_at IS NULL",
                                             arguments: [id]) else {
                throw RecordFailure.notFound("treatment plan")
            }
            guard row["patient_id"] as String == patient.id, row["facility_id"] as String == patient.facilityID,
                  row["signed_at"] as String? != nil else { throw AccessError.notFound }
            try db.execute(sql: """
                INSERT INTO treatment_plan_acknowledgements (plan_version_id, facility_id, patient_id, acknowledged_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (plan_version_id) DO NOTHING
                """, arguments: [id, patient.facilityID, patient.id, Timestamp.now()])
            if db.changesCount > 0 {
                try appliance.audit.append(AuditEvent(action: "treatment_plan.acknowledge", outcome: .success, actorKind: .patient, actorID: patient.id,
                                                      facilityID: patient.facilityID, resourceType: "treatment_plan", resourceID: id,
                                                      patientID: patient.id, ipAddress: origin.ipAddress, requestID: origin.requestID), in: db)
            }
            return try load(id, in: db)!
        }
    }

    func load(_ id: String, in db: Database) throws -> JSONValue? {
        guard let row = try Row.fetchOne(db, sql: """
            SELECT t.*, a.acknowledged_at, (SELECT max(v.version) FROM treatment_plans v WHERE v.plan_id = t.plan_id) AS newest
            FROM treatment_plans t LEFT JOIN treatment_plan_acknowledgements a ON a.plan_version_id = t.id WHERE t.id = ?
            """, arguments: [id]) else { return nil }
        var content: JSONValue = .object(["problems": .array([])])
        if let sealed = row["content_enc"] as Data? {
            content = try JSONParser.parse(Array(cipher.open(sealed, field: .treatmentPlansContent, rowID: id)))
        }
        var o: [String: JSONValue] = [:]
        for column in ["id", "plan_id", "patient_id", "previous_version_id", "status", "template_id", "start_date", "review_date",
                       "created_by", "signed_by", "signed_at", "acknowledged_at", "created_at", "updated_at"] {
            o[column] = row.json(text: column)
        }
        let version: Int = row["version"]
        let newest: Int = row["newest"]
        o["version"] = .integer(version)
        o["is_newest"] = .bool(version == newest)
        o["signed"] = .bool(row["signed_at"] as String? != nil)
        let title: String = try cipher.openString(row["title_enc"], field: .treatmentPlansTitle, rowID: id)
        o["title"] = .string(title)
        o["content"] = content
        o["template_version"] = row.json(int: "template_version")
        return .object(o)
    }

    static func optional(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
}
