import Foundation
import GRDB

/// Staff-side creation of patients and management of their registration
/// keys. Creating a patient issues the first key, returned once.
public struct PatientIntake: Sendable {
    public struct Request: Sendable {
        public var firstName: String
        public var lastName: String
        public var dateOfBirth: String
        public var email: String?
        public var phone: String?
        public var program: String?
        public var levelOfCare: String?
        public var admissionDate: String?
        public var sobrietyDate: String?

        public init(firstName: String, lastName: String, dateOfBirth: String, email: String? = nil, phone: String? = nil,
                    program: String? = nil, levelOfCare: String? = nil, admissionDate: String? = nil, sobrietyDate: String? = nil) {
            self.firstName = firstName
            self.lastName = lastName
            self.dateOfBirth = dateOfBirth
            self.email = email
            self.phone = phone
            self.program = program
            self.levelOfCare = levelOfCare
            self.admissionDate = admissionDate
            self.sobrietyDate = sobrietyDate
        }
    }

    public struct Created: Sendable {
        public var patient: PatientRecord
        public var key: RegistrationKeyStore.Issued
    }

    public enum KeyError: Error, Equatable, Sendable {
        case patientNotFound
        case alreadyRegistered
        case noUnusedKey
    }

    public static let levelsOfCare = ["detox", "residential", "php", "iop", "outpatient", "alumni"]

    let appliance: Appliance

    public init(appliance: Appliance) {
        self.appliance = appliance
    }

    /// Every problem with the request, each naming its field.
    public static func problems(_ request: Request, today: String = String(Timestamp.now().prefix(10))) -> [(field: String, issue: String)] {
        var problems: [(String, String)] = []
        for (field, value) in [("first_name", request.firstName), ("last_name", request.lastName)] {
            let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty || trimmed.count > 100 { problems.append((field, "must be 1 to 100 characters")) }
            else if TextRules.hasControlCharacters(value) { problems.append((field, "must not contain control characters")) }
        }
        if !CalendarDate.isValid(request.dateOfBirth) {
            problems.append(("date_of_birth", "must be a real date as YYYY-MM-DD"))
        } else if request.dateOfBirth > today || request.dateOfBirth < "1900-01-01" {
            problems.append(("date_of_birth", "must be between 1900-01-01 and today"))
        }
        if let email = request.email, !StaffProfile.isPlausibleEmail(email) {
            problems.append(("email", "must be an email address like name@example.org"))
        }
        if let phone = request.phone, phone.isEmpty || phone.count > 30 || !phone.allSatisfy({ $0.isASCII && ($0.isNumber || " +-().".contains($0)) }) {
            problems.append(("phone", "must be up to 30 digits, spaces and + - ( ) ."))
        }
        if let program = request.program, program.count > 100 || TextRules.hasControlCharacters(program) {
            problems.append(("program", "must be at most 100 characters, without control characters"))
        }
        if let level = request.levelOfCare, !levelsOfCare.contains(level) {
            problems.append(("level_of_care", "must be one of: " + levelsOfCare.joined(separator: ", ")))
        }
        for (field, value) in [("admission_date", request.admissionDate), ("sobriety_date", request.sobrietyDate)] {
            guard let value else { continue }
            if !CalendarDate.isValid(value) { problems.append((field, "must be a real date as YYYY-MM-DD")) }
            else if value > today { problems.append((field, "must not be in the future")) }
        }
        return problems
    }

    /// Creates the patient with a first registration key, in the caller's
    /// facility (a box-wide account names the facility). The access policy
    /// decides before the fields are checked, and a refusal is audited.
    public func create(_ request: Request, by identity: Identity, facility requested: String?, origin: RequestOrigin) async throws -> Created {
        let directory = PatientDirectory(appliance: appliance)
        do {
            return try await appliance.database.pool.write { db -> Created in
                try AccessPolicy.require(identity, .patientsCreate)
                let target: String?
                do {
                    target = try AccessPolicy.facilityForNewRecord(identity, requested: requested, in: db)
                } catch AccessError.notFound {
                    // Only a box-wide account names a facility it may not reach: it reaches all, so the id is wrong.
                    throw RecordFailure.invalid([RecordProblem("facility_id", "does not name a facility")])
                }
                guard let facilityID = target else {
                    throw RecordFailure.invalid([RecordProblem("facility_id", "is required for an account of every facility")])
                }
                let problems = Self.problems(request)
                if !problems.isEmpty { throw RecordFailure.invalid(problems.map { RecordProblem($0.field, $0.issue) }) }
                if let email = request.email, try appliance.patientStore.emailInUse(email, facilityID: facilityID, exceptPatient: "", in: db) {
                    throw AuthError.emailInUse
                }
                let (id, _) = try appliance.patientStore.insert(.init(
                    facilityID: facilityID, firstName: request.firstName.trimmingCharacters(in: .whitespacesAndNewlines),
                    lastName: request.lastName.trimmingCharacters(in: .whitespacesAndNewlines), dateOfBirth: request.dateOfBirth,
                    email: request.email, phone: request.phone, program: request.program, levelOfCare: request.levelOfCare ?? "outpatient",
                    status: "pending_registration", admissionDate: request.admissionDate, sobrietyDate: request.sobrietyDate), in: db)
                try db.execute(sql: "UPDATE patients SET created_by = ? WHERE id = ?", arguments: [identity.subjectID, id])
                let key = try appliance.registrationKeys.issue(patientID: id, facilityID: facilityID, createdBy: identity.subjectID, in: db)
                try appliance.audit.append(AuditEvent(
                    action: "patient.create", outcome: .success, actorKind: .staff, actorID: identity.subjectID, facilityID: facilityID,
                    resourceType: "patient", resourceID: id, patientID: id, ipAddress: origin.ipAddress, requestID: origin.requestID,
                    details: ["registration_key": "issued"]), in: db)
                return Created(patient: try appliance.patientStore.record(id: id, facilityID: facilityID, in: db)!, key: key)
            }
        } catch let error as AccessError {
            try await directory.deny(identity, action: "patient.create", patientID: nil, reason: error, origin: origin)
            throw error
        }
    }

    /// A new key for an unregistered patient; the previous unused one stops working.
    public func regenerateKey(_ identity: Identity, patientID: String, origin: RequestOrigin) async throws -> RegistrationKeyStore.Issued {
        try await PatientDirectory(appliance: appliance)
            .writeAuthorized(identity, patientID, .registrationKeysManage, action: "registration_key.regenerate", origin: origin) { db, access in
            guard let patient = try appliance.patientStore.record(id: patientID, facilityID: access.facilityID, in: db) else {
                throw KeyError.patientNotFound
            }
            if patient.registered { throw KeyError.alreadyRegistered }
            let key = try appliance.registrationKeys.issue(patientID: patientID, facilityID: access.facilityID, createdBy: identity.subjectID, in: db)
            try appliance.audit.append(AuditEvent(
                action: "registration_key.regenerate", outcome: .success, actorKind: .staff, actorID: identity.subjectID,
                facilityID: access.facilityID, resourceType: "patient", resourceID: patientID, patientID: patientID,
                ipAddress: origin.ipAddress, requestID: origin.requestID), in: db)
            return key
        }
    }

    /// Revokes the patient's unused key.
    public func revokeKey(_ identity: Identity, patientID: String, origin: RequestOrigin) async throws {
        try await PatientDirectory(appliance: appliance)
            .writeAuthorized(identity, patientID, .registrationKeysManage, action: "registration_key.revoke", origin: origin) { db, access in
            guard try appliance.patientStore.record(id: patientID, facilityID: access.facilityID, in: db) != nil else {
                throw KeyError.patientNotFound
            }
            guard try appliance.registrationKeys.revoke(patientID: patientID, by: identity.subjectID, in: db) else { throw KeyError.noUnusedKey }
            try appliance.audit.append(AuditEvent(
                action: "registration_key.revoke", outcome: .success, actorKind: .staff, actorID: identity.subjectID,
                facilityID: access.facilityID, resourceType: "patient", resourceID: patientID, patientID: patientID,
                ipAddress: origin.ipAddress, requestID: origin.requestID), in: db)
        }
    }
}
