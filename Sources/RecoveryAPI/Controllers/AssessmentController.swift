import Foundation
import Hummingbird
import RecoveryCore

/// Standardised measures: the instrument catalogue, staff recording and
/// assigning, the patient's list with trends, and the app's answers.
struct AssessmentController {
    let appliance: Appliance

    var assessments: Assessments { Assessments(appliance: appliance) }
    var limit: Int { appliance.settings.maxBodyBytes }

    var endpoints: [Endpoint] {
        [
            Endpoint(.get, "/api/v1/assessment-instruments", access: .authenticated, handler: instruments),
            Endpoint(.get, "/api/v1/patients/{id}/assessments", access: .staff(.patientsReadClinical), handler: list),
            Endpoint(.post, "/api/v1/patients/{id}/assessments", access: .staff(.assessmentsAdminister), handler: record),
            Endpoint(.post, "/api/v1/patients/{id}/assessment-assignments", access: .staff(.assessmentsAdminister), handler: assign),
            Endpoint(.get, "/api/v1/me/assessment-assignments", access: .patient, handler: ownAssignments),
            Endpoint(.post, "/api/v1/me/assessments", access: .patient, handler: recordOwn),
        ]
    }

    @Sendable func instruments(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        JSONValue.object(["data": .array(Assessments.catalogue())]).response()
    }

    @Sendable func list(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        let instrument = try Query(request: request).oneOf("instrument", AssessmentInstruments.ids)
        return try await assessments.list(context.identity, patientID: id, instrument: instrument, origin: context.origin).response()
    }

    @Sendable func record(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        try await context.reachFirst(patient: id, .assessmentsAdminister, action: "assessment.create", appliance)
        let body = try await JSONBody.object(from: request, limit: limit)
        let assessment = try await assessments.record(context.identity, patientID: id, instrument: try BodyField.string(body, "instrument"),
                                                      answers: try Self.answers(body), notes: try BodyField.string(body, "notes"),
                                                      origin: context.origin)
        return JSONValue.object(["assessment": assessment]).response(status: .created)
    }

    @Sendable func assign(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        try await context.reachFirst(patient: id, .assessmentsAdminister, action: "assessment_assignment.create", appliance)
        let body = try await JSONBody.object(from: request, limit: limit)
        let assignment = try await assessments.assign(context.identity, patientID: id, instrument: try BodyField.string(body, "instrument"),
                                                      dueOn: try BodyField.string(body, "due_on"), origin: context.origin)
        return JSONValue.object(["assignment": assignment]).response(status: .created)
    }

    @Sendable func ownAssignments(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        JSONValue.object(["data": .array(try await assessments.ownAssignments(try context.patient))]).response()
    }

    @Sendable func recordOwn(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let patient = try context.patient
        let body = try await JSONBody.object(from: request, limit: limit)
        let assignmentID = try BodyField.uuid(body, "assignment_id")
        let assessment = try await assessments.recordOwn(patient, instrument: try BodyField.string(body, "instrument"),
                                                         answers: try Self.answers(body), assignmentID: assignmentID, origin: context.origin)
        return JSONValue.object(["assessment": assessment]).response(status: .created)
    }

    /// `answers`: the item scores in item order, integers.
    static func answers(_ body: [String: JSONValue]) throws -> [Int]? {
        switch body["answers"] {
        case nil, .null?: return nil
        case .array(let values)?:
            return try values.enumerated().map { index, value in
                guard case .integer(let score) = value else { throw APIError.validation(field: "answers", "item \(index + 1) must be an integer") }
                return score
            }
        default: throw APIError.validation(field: "answers", "must be a list of integers")
        }
    }
}
