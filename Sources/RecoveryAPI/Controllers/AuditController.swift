import Foundation
import Hummingbird
import RecoveryCore

/// `/api/v1/audit-logs` and `/api/v1/patients/{id}/access-history`: read-only
/// views of the audit trail for administrators. No route changes it.
struct AuditController {
    let appliance: Appliance

    var trail: AuditTrail { AuditTrail(appliance: appliance) }

    var endpoints: [Endpoint] {
        [
            Endpoint(.get, "/api/v1/audit-logs", access: .staff(.auditRead), handler: list),
            Endpoint(.get, "/api/v1/patients/{id}/access-history", access: .staff(.auditRead), handler: accessHistory),
        ]
    }

    struct EntryView: Encodable {
        var id: String, seq: Int64, occurredAt: String, facilityId: String?, actorKind: String, actorId: String?, action: String
        var resourceType: String?, resourceId: String?, patientId: String?, patientIds: [String]?, outcome: String
        var ipAddress: String?, requestId: String?, details: [String: String]
        init(_ e: AuditTrail.Entry) {
            id = e.id; seq = e.seq; occurredAt = e.occurredAt; facilityId = e.facilityID; actorKind = e.actorKind; actorId = e.actorID
            action = e.action; resourceType = e.resourceType; resourceId = e.resourceID; patientId = e.patientID; patientIds = e.patientIDs
            outcome = e.outcome; ipAddress = e.ipAddress; requestId = e.requestID; details = e.details
        }
    }

    @Sendable func list(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let q = Query(request: request)
        var filter = AuditTrail.Filter()
        filter.patientID = try q.uuid("patient_id")
        filter.actorID = try q.uuid("actor_id")
        filter.action = try q.string("action", maxLength: 100)
        filter.from = try q.timestamp("from")
        filter.to = try q.timestamp("to")
        filter.page = try q.integer("page", default: 1, range: 1...100_000)
        filter.limit = try q.integer("limit", default: 50, range: 1...100)
        let (entries, total) = try await trail.list(context.identity, filter, origin: context.origin)
        return try JSONBody.response(ListResponse(data: entries.map(EntryView.init), page: filter.page, limit: filter.limit, total: total))
    }

    @Sendable func accessHistory(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        let q = Query(request: request)
        let page = try q.integer("page", default: 1, range: 1...100_000)
        let limit = try q.integer("limit", default: 50, range: 1...100)
        let (entries, total) = try await trail.accessHistory(context.identity, patientID: id, page: page, limit: limit, origin: context.origin)
        return try JSONBody.response(ListResponse(data: entries.map(EntryView.init), page: page, limit: limit, total: total))
    }
}
