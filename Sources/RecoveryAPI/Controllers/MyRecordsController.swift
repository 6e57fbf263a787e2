import Foundation
import Hummingbird
import RecoveryCore

/// `/api/v1/me/...`: the patient app's own recovery records. Each kind has
/// a list (paged, date filters) and a single-record POST, which is a push of
/// one item: the same idempotency, rules, flags and events as `/sync/push`.
struct MyRecordsController {
    let appliance: Appliance

    var records: PatientRecords { PatientRecords(appliance: appliance) }
    var catalogue: FacilityCatalogue { FacilityCatalogue(appliance: appliance) }

    var endpoints: [Endpoint] {
        RecordKind.all.flatMap { kind in
            [
                Endpoint(.get, "/api/v1/me/\(kind.collection)", access: .patient) { request, context in
                    try await list(kind, request, context)
                },
                Endpoint(.post, "/api/v1/me/\(kind.collection)", access: .patient) { request, context in
                    try await create(kind, request, context)
                },
            ]
        } + [
            Endpoint(.get, "/api/v1/me/medications", access: .patient, handler: medications),
            Endpoint(.get, "/api/v1/me/goals", access: .patient, handler: goals),
            Endpoint(.get, "/api/v1/me/triggers", access: .patient, handler: triggers),
            Endpoint(.get, "/api/v1/me/meeting-catalogue", access: .patient, handler: meetingCatalogue),
        ]
    }

    func list(_ kind: RecordKind, _ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let page = try await records.listOwn(kind, patient: try context.patient, query: try PatientRecords.Query(request), origin: context.origin)
        return JSONValue.list(page.items, page: page.page, limit: page.limit, total: page.total).response()
    }

    func create(_ kind: RecordKind, _ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let patient = try context.patient
        var data = try await JSONBody.object(from: request, limit: appliance.settings.maxBodyBytes)
        var id = RowID.make()
        switch data.removeValue(forKey: "id") {
        case nil, .null?: break
        case .string(let given)? where UUID(uuidString: given) != nil: id = given.lowercased()
        default: throw APIError.validation(field: "id", "must be a UUID made by the app")
        }
        let item = SyncEngine.Item(id: id, type: kind.type, op: "upsert", clientUpdatedAt: nil, data: data)
        let (result, stored) = try await SyncEngine(appliance: appliance).pushOne(patient, item, origin: context.origin)
        if result.status == .rejected {
            let problem = result.problem ?? RecordProblem("data", "could not be stored")
            if result.conflict {
                throw APIError(.conflict, code: "conflict", message: "This id is already used by another record.",
                               details: [.init(field: problem.field, issue: problem.issue)])
            }
            throw APIError.validation(field: problem.field, problem.issue)
        }
        guard let record = stored else { throw APIError.notFound() }
        return JSONValue.object(["record": record, "status": .string(result.status.rawValue)])
            .response(status: result.status == .stored ? .created : .ok)
    }

    @Sendable func medications(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        JSONValue.object(["data": .array(try await records.medicationsOwn(try context.patient, origin: context.origin))]).response()
    }

    @Sendable func goals(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        try await records.goalsOwn(try context.patient, origin: context.origin).response()
    }

    @Sendable func triggers(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        JSONValue.object(["data": .array(try await catalogue.ownTriggers(context.identity, origin: context.origin))]).response()
    }

    @Sendable func meetingCatalogue(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        JSONValue.object(["data": .array(try await catalogue.ownMeetings(context.identity, origin: context.origin))]).response()
    }
}
