import Foundation
import GRDB

/// Part 2 consents (42 CFR 2.31) and the accounting of disclosures (2.24).
/// Staff with `consents.manage` who reach the patient record, list and revoke
/// consents, record releases made under an active consent and read the
/// accounting. A release is refused unless its consent is active (not
/// revoked, not expired) and covers what is released.
public struct Consents: Sendable {
    public struct Draft: Sendable {
        public var discloser: String?
        public var recipient: String?
        public var purpose: String?
        public var informationScope: [String]?
        public var informationDetail: String?
        public var expiresAt: String?
        public var expiryCondition: String?
        public var signedBy: String?
        public var signerName: String?
        public var signedOn: String?
        public init() {}
    }

    public static let purposes = ["treatment", "payment", "health_care_operations", "care_coordination", "legal", "court_order",
                                  "employment", "family", "research", "other"]
    public static let scopes = ["all", "assessments", "treatment_plans", "documents", "attendance", "medications", "diagnosis",
                                "lab_results", "discharge_summary", "progress"]
    public static let signers = ["patient", "guardian", "personal_representative"]
    public static let disclosureKinds = ["document", "report", "records", "verbal", "other"]

    let appliance: Appliance
    var directory: PatientDirectory { PatientDirectory(appliance: appliance) }
    var cipher: FieldCipher { appliance.cipher }
    var pool: DatabasePool { appliance.database.pool }

    public init(appliance: Appliance) {
        self.appliance = appliance
    }

    // MARK: Consents

    public func list(_ identity: Identity, patientID: String, origin: RequestOrigin) async throws -> [JSONValue] {
        try await directory.readAuthorized(identity, patientID, .consentsManage, action: "consent.list", origin: origin) { db, granted in
            try String.fetchAll(db, sql: """
                SELECT id FROM consents WHERE facility_id = ? AND patient_id = ? AND deleted_at IS NULL ORDER BY granted_at DESC, id
                """, arguments: [granted.facilityID, patientID]).compactMap { try load($0, in: db) }
        }
    }

    public static func problems(_ d: Draft, now: Date = Date()) -> ([RecordProblem], expiresAt: String?) {
        var problems: [RecordProblem] = []
        CarePlan.text(d.discloser, "discloser", max: 200, required: false, nonEmpty: true, into: &problems)
        CarePlan.text(d.recipient, "recipient", max: 500, required: true, nonEmpty: true, into: &problems)
        CarePlan.text(d.informationDetail, "information_detail", max: 2_000, required: false, into: &problems)
        CarePlan.text(d.expiryCondition, "expiry_condition", max: 500, required: false, nonEmpty: true, into: &problems)
        CarePlan.text(d.signerName, "signer_name", max: 200, required: true, nonEmpty: true, into: &problems)
        if let purpose = d.purpose { if !purposes.contains(purpose) { problems.append(RecordProblem("purpose", "must be one of " + purposes.joined(separator: ", "))) } }
        else { problems.append(RecordProblem("purpose", "is required")) }
        if let scope = d.informationScope {
            if scope.isEmpty || scope.count > scopes.count || !scope.allSatisfy(scopes.contains) || Set(scope).count != scope.count {
                problems.append(RecordProblem("information_scope", "must be a list of distinct codes from " + scopes.joined(separator: ", ")))
            }
        } else { problems.append(RecordProblem("information_scope", "is required")) }
        if let signer = d.signedBy, !signers.contains(signer) { problems.append(RecordProblem("signed_by", "must be one of " + signers.joined(separator: ", "))) }
        if let signedOn = d.signedOn {
            if !CalendarDate.isValid(signedOn) { problems.append(RecordProblem("signed_on", "must be a real date as YYYY-MM-DD")) }
            else if signedOn > CalendarDate.today(in: "UTC") && CalendarDate.days(from: CalendarDate.today(in: "UTC"), to: signedOn)! > 1 {
                problems.append(RecordProblem("signed_on", "must not be in the future"))
            }
        } else { problems.append(RecordProblem("signed_on", "is required")) }
        var expiresAt: String?
        if let text = d.expiresAt {
            if let date = Timestamp.parseStrict(text) {
                if date <= now { problems.append(RecordProblem("expires_at", "must be in the future")) }
                expiresAt = Timestamp.string(date)
            } else { problems.append(RecordProblem("expires_at", "must be an RFC 3339 time")) }
        }
        if d.expiresAt == nil && d.expiryCondition == nil {
            problems.append(RecordProblem("expires_at", "is required unless expiry_condition is given (42 CFR 2.31(a)(6))"))
        }
        return (problems, expiresAt)
    }

    public func create(_ identity: Identity, patientID: String, _ d: Draft, origin: RequestOrigin) async throws -> JSONValue {
        let (problems, expiresAt) = Self.problems(d)
        if !problems.isEmpty { throw RecordFailure.invalid(problems) }
        let directory = self.directory
        return try await directory.writeAuthorized(identity, patientID, .consentsManage, action: "consent.create", origin: origin) { db, granted in
            let id = RowID.make()
            let stamp = Timestamp.now()
            let discloser = try d.discloser ?? String.fetchOne(db, sql: "SELECT name FROM facilities WHERE id = ?", arguments: [granted.facilityID]) ?? "the program"
            try db.execute(sql: """
                INSERT INTO consents (id, facility_id, patient_id, discloser, recipient_enc, purpose, information_scope, information_detail_enc,
                    granted_at, expires_at, expiry_condition_enc, signed_by, signature_enc, signed_on, recorded_by, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [id, granted.facilityID, patientID, discloser, cipher.seal(d.recipient!, field: .consentsRecipient, rowID: id),
                                 d.purpose, JSONValue.array(d.informationScope!.map(JSONValue.string)).canonicalText,
                                 cipher.seal(optional: d.informationDetail, field: .consentsInformationDetail, rowID: id),
                                 stamp, expiresAt, cipher.seal(optional: d.expiryCondition, field: .consentsExpiryCondition, rowID: id),
                                 d.signedBy ?? "patient", cipher.seal(d.signerName!, field: .consentsSignature, rowID: id), d.signedOn,
                                 identity.subjectID, stamp, stamp])
            try appliance.audit.append(directory.successEvent("consent.create", identity, granted, origin, details: ["record": id]), in: db)
            return try load(id, in: db)!
        }
    }

    public func revoke(_ identity: Identity, consentID: String, origin: RequestOrigin) async throws -> JSONValue {
        guard let patientID = try await AccessPolicy.patientOfRecord(.consents, consentID, in: pool) else { throw RecordFailure.notFound("consent") }
        let directory = self.directory
        return try await directory.writeAuthorized(identity, patientID, .consentsManage, action: "consent.revoke", origin: origin) { db, granted in
            let stamp = Timestamp.now()
            try db.execute(sql: """
                UPDATE consents SET revoked_at = ?, revocation_recorded_by = ?, updated_at = ? WHERE id = ? AND revoked_at IS NULL AND deleted_at IS NULL
                """, arguments: [stamp, identity.subjectID, stamp, consentID])
            guard db.changesCount == 1 else { throw RecordFailure.conflict(RecordProblem("consent", "is already revoked")) }
            try appliance.audit.append(directory.successEvent("consent.revoke", identity, granted, origin, details: ["record": consentID]), in: db)
            return try load(consentID, in: db)!
        }
    }

    func load(_ id: String, in db: Database, now: String = Timestamp.now()) throws -> JSONValue? {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM consents WHERE id = ?", arguments: [id]) else { return nil }
        let revoked = row["revoked_at"] as String? != nil
        let expired = (row["expires_at"] as String?).map { $0 <= now } ?? false
        var o: [String: JSONValue] = [:]
        for column in ["id", "patient_id", "discloser", "purpose", "granted_at", "expires_at", "signed_by", "signed_on", "revoked_at",
                       "revocation_recorded_by", "recorded_by", "created_at"] {
            o[column] = row.json(text: column)
        }
        let recipient: String = try cipher.openString(row["recipient_enc"], field: .consentsRecipient, rowID: id)
        o["recipient"] = .string(recipient)
        o["information_scope"] = try JSONParser.parse(Array((row["information_scope"] as String).utf8))
        let detail: String? = try cipher.openString(optional: row["information_detail_enc"], field: .consentsInformationDetail, rowID: id)
        o["information_detail"] = JSONValue.text(detail)
        let condition: String? = try cipher.openString(optional: row["expiry_condition_enc"], field: .consentsExpiryCondition, rowID: id)
        o["expiry_condition"] = JSONValue.text(condition)
        let signer: String = try cipher.openString(row["signature_enc"], field: .consentsSignature, rowID: id)
        o["signer_name"] = .string(signer)
        o["status"] = .string(revoked ? "revoked" : expired ? "expired" : "active")
        return .object(o)
    }

    // MARK: Disclosures

    /// The accounting of disclosures: every release under a consent, newest first.
    public func disclosures(_ identity: Identity, patientID: String, origin: RequestOrigin) async throws -> [JSONValue] {
        try await directory.readAuthorized(identity, patientID, .consentsManage, action: "disclosure.list", origin: origin) { db, granted in
            try String.fetchAll(db, sql: """
                SELECT id FROM disclosures WHERE facility_id = ? AND patient_id = ? ORDER BY disclosed_at DESC, id
                """, arguments: [granted.facilityID, patientID]).compactMap { try disclosure($0, in: db) }
        }
    }

    /// Records a release made under a consent (a report, copies of records, a
    /// conversation, a document handed over outside the appliance).
    public func recordDisclosure(_ identity: Identity, patientID: String, consentID: String?, kind: String?, description: String?,
                                 documentID: String?, origin: RequestOrigin) async throws -> JSONValue {
        var problems: [RecordProblem] = []
        if consentID == nil { problems.append(RecordProblem("consent_id", "is required")) }
        if let kind { if !Self.disclosureKinds.contains(kind) { problems.append(RecordProblem("kind", "must be one of " + Self.disclosureKinds.joined(separator: ", "))) } }
        else { problems.append(RecordProblem("kind", "is required")) }
        CarePlan.text(description, "description", max: 2_000, required: false, into: &problems)
        if kind == "document" && documentID == nil { problems.append(RecordProblem("document_id", "is required for a document")) }
        if !problems.isEmpty { throw RecordFailure.invalid(problems) }
        let directory = self.directory
        return try await directory.writeAuthorized(identity, patientID, .consentsManage, action: "disclosure.create", origin: origin) { db, granted in
            if let documentID, try Bool.fetchOne(db, sql: """
                SELECT EXISTS (SELECT 1 FROM documents WHERE id = ? AND facility_id = ? AND patient_id = ? AND deleted_at IS NULL)
                """, arguments: [documentID, granted.facilityID, patientID]) != true {
                throw RecordFailure.invalid([RecordProblem("document_id", "is not one of the patient's documents")])
            }
            let id = try record(facilityID: granted.facilityID, patientID: patientID, consentID: consentID!, kind: kind!, description: description,
                                documentID: documentID, staffID: identity.subjectID, in: db)
            try appliance.audit.append(directory.successEvent("disclosure.create", identity, granted, origin,
                                                              details: ["record": id, "consent": consentID!]), in: db)
            return try disclosure(id, in: db)!
        }
    }

    /// The scope code a release of `kind` needs (besides `all`).
    static func scopeNeeded(_ kind: String) -> String? {
        kind == "document" ? "documents" : nil
    }

    /// Checks the consent (the patient's, active, covering the release) and
    /// records the disclosure; returns its id. Used by document exports and
    /// reports too; `covering` names the scope such a release needs when its
    /// kind alone does not (a progress report needs `progress`).
    public func record(facilityID: String, patientID: String, consentID: String, kind: String, covering: String? = nil, description: String?,
                       documentID: String?, staffID: String, in db: Database) throws -> String {
        guard let consent = try Row.fetchOne(db, sql: """
            SELECT recipient_enc, information_scope, expires_at, revoked_at FROM consents
            WHERE id = ? AND facility_id = ? AND patient_id = ? AND deleted_at IS NULL
            """, arguments: [consentID, facilityID, patientID]) else {
            throw RecordFailure.invalid([RecordProblem("consent_id", "is not one of the patient's consents")])
        }
        let stamp = Timestamp.now()
        if consent["revoked_at"] as String? != nil { throw RecordFailure.conflict(RecordProblem("consent", "has been revoked")) }
        if let expires = consent["expires_at"] as String?, expires <= stamp { throw RecordFailure.conflict(RecordProblem("consent", "has expired")) }
        let scope = try JSONParser.parse(Array((consent["information_scope"] as String).utf8))
        if case .array(let codes) = scope, !codes.contains(.string("all")), let needed = covering ?? Self.scopeNeeded(kind), !codes.contains(.string(needed)) {
            throw RecordFailure.conflict(RecordProblem("consent", "does not cover \(needed)"))
        }
        let recipient = try cipher.openString(consent["recipient_enc"], field: .consentsRecipient, rowID: consentID)
        let id = RowID.make()
        try db.execute(sql: """
            INSERT INTO disclosures (id, facility_id, patient_id, consent_id, kind, document_id, description_enc, recipient_enc, disclosed_by,
                disclosed_at, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [id, facilityID, patientID, consentID, kind, documentID,
                             cipher.seal(optional: description, field: .disclosuresDescription, rowID: id),
                             cipher.seal(recipient, field: .disclosuresRecipient, rowID: id), staffID, stamp, stamp])
        return id
    }

    func disclosure(_ id: String, in db: Database) throws -> JSONValue? {
        guard let row = try Row.fetchOne(db, sql: """
            SELECT d.*, c.purpose FROM disclosures d JOIN consents c ON c.id = d.consent_id WHERE d.id = ?
            """, arguments: [id]) else { return nil }
        var o: [String: JSONValue] = [:]
        for column in ["id", "patient_id", "consent_id", "kind", "document_id", "purpose", "disclosed_by", "disclosed_at"] {
            o[column] = row.json(text: column)
        }
        let description: String? = try cipher.openString(optional: row["description_enc"], field: .disclosuresDescription, rowID: id)
        o["description"] = JSONValue.text(description)
        let recipient: String = try cipher.openString(row["recipient_enc"], field: .disclosuresRecipient, rowID: id)
        o["recipient"] = .string(recipient)
        return .object(o)
    }

    static func optional(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
}
