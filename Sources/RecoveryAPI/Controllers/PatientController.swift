import Foundation
import Hummingbird
import RecoveryCore

/// `/api/v1/patients`: patient intake by staff and registration-key
/// management (the rest of patient management builds on this).
struct PatientController {
    let appliance: Appliance

    var intake: PatientIntake { PatientIntake(appliance: appliance) }

    var endpoints: [Endpoint] {
        [
            Endpoint(.post, "/api/v1/patients", access: .staff([]), handler: create),
            Endpoint(.post, "/api/v1/patients/{id}/registration-key", access: .staff([]), handler: regenerateKey),
            Endpoint(.delete, "/api/v1/patients/{id}/registration-key", access: .staff([]), handler: revokeKey),
        ]
    }

    struct CreatePatient: Decodable {
        var facilityId: String?
        var firstName: String
        var lastName: String
        var dateOfBirth: String
        var email: String?
        var phone: String?
        var program: String?
        var levelOfCare: String?
        var admissionDate: String?
        var sobrietyDate: String?
    }

    struct PatientView: Encodable {
        var id: String, facilityId: String, patientNumber: String, firstName: String, lastName: String, dateOfBirth: String
        var email: String?, phone: String?, program: String?, levelOfCare: String?, status: String
        var admissionDate: String?, sobrietyDate: String?, registered: Bool, createdAt: String

        init(_ record: PatientRecord) {
            id = record.id; facilityId = record.facilityID; patientNumber = record.patientNumber
            firstName = record.firstName; lastName = record.lastName; dateOfBirth = record.dateOfBirth
            email = record.email; phone = record.phone; program = record.program; levelOfCare = record.levelOfCare
            status = record.status; admissionDate = record.admissionDate; sobrietyDate = record.sobrietyDate
            registered = record.registered; createdAt = record.createdAt
        }
    }

    struct Created: Encodable { var patient: PatientView; var registrationKey: String; var keyExpiresAt: String }
    struct KeyIssued: Encodable { var registrationKey: String; var keyExpiresAt: String }

    @Sendable func create(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let body = try await JSONBody.decode(CreatePatient.self, from: request, limit: appliance.settings.maxBodyBytes)
        let facilityID = try await facility(for: context.identity, requested: body.facilityId)
        let fields = PatientIntake.Request(
            firstName: body.firstName, lastName: body.lastName, dateOfBirth: body.dateOfBirth, email: body.email, phone: body.phone,
            program: body.program, levelOfCare: body.levelOfCare, admissionDate: body.admissionDate, sobrietyDate: body.sobrietyDate)
        let problems = PatientIntake.problems(fields)
        if !problems.isEmpty { throw APIError.validation(problems.map { .init(field: $0.field, issue: $0.issue) }) }
        let created = try await intake.create(fields, facilityID: facilityID, by: context.identity.subjectID, origin: context.origin)
        return try JSONBody.response(Created(patient: PatientView(created.patient), registrationKey: created.key.key,
                                             keyExpiresAt: created.key.expiresAt), status: .created)
    }

    @Sendable func regenerateKey(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let patientID = try request.uuidParameter("id", context: context.request)
        let facilityID = try await facility(ofPatient: patientID, for: context.identity)
        let key = try await intake.regenerateKey(patientID: patientID, facilityID: facilityID, by: context.identity.subjectID, origin: context.origin)
        return try JSONBody.response(KeyIssued(registrationKey: key.key, keyExpiresAt: key.expiresAt), status: .created)
    }

    @Sendable func revokeKey(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let patientID = try request.uuidParameter("id", context: context.request)
        let facilityID = try await facility(ofPatient: patientID, for: context.identity)
        try await intake.revokeKey(patientID: patientID, facilityID: facilityID, by: context.identity.subjectID, origin: context.origin)
        return Response(status: .noContent)
    }

    /// The facility a staff member acts in: their own; a super admin names one.
    func facility(for identity: Identity, requested: String?) async throws -> String {
        if let own = identity.facilityID {
            if let requested, requested.lowercased() != own { throw APIError.forbidden }
            return own
        }
        guard let requested, UUID(uuidString: requested) != nil else {
            throw APIError.validation(field: "facility_id", "is required for a super admin")
        }
        let id = requested.lowercased()
        let exists = try await appliance.database.pool.read { db in
            try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM facilities WHERE id = ?)", arguments: [id]) ?? false
        }
        guard exists else { throw APIError.validation(field: "facility_id", "does not name a facility") }
        return id
    }

    /// The facility of a patient the caller may act on; 404 otherwise.
    func facility(ofPatient patientID: String, for identity: Identity) async throws -> String {
        if let own = identity.facilityID { return own }
        let facility = try await appliance.database.pool.read { db in
            try String.fetchOne(db, sql: "SELECT facility_id FROM patients WHERE id = ? AND deleted_at IS NULL", arguments: [patientID])
        }
        guard let facility else { throw APIError.notFound("patient") }
        return facility
    }
}

