import Foundation
import Hummingbird
import RecoveryCore

/// `/api/v1/emergency-access`: administrators list the break-the-glass
/// grants of their facility, review each (appropriate or not) and end one
/// early. A clinician opens one through `POST /patients/{id}/emergency-access`.
struct EmergencyAccessController {
    let appliance: Appliance

    var emergency: EmergencyAccess { EmergencyAccess(appliance: appliance) }

    var endpoints: [Endpoint] {
        [
            Endpoint(.get, "/api/v1/emergency-access", access: .staff(.emergencyAccessReview), handler: list),
            Endpoint(.post, "/api/v1/emergency-access/{id}/review", access: .staff(.emergencyAccessReview), handler: review),
            Endpoint(.post, "/api/v1/emergency-access/{id}/end", access: .staff(.emergencyAccessReview), handler: end),
        ]
    }

    struct Review: Decodable { var outcome: String }

    struct GrantView: Encodable {
        var id: String, patientId: String, staffId: String, reason: String, grantedAt: String, expiresAt: String
        var endedAt: String?, renews: String?, reviewedAt: String?, reviewedBy: String?, reviewOutcome: String?
        init(_ g: EmergencyAccess.Grant) {
            id = g.id; patientId = g.patientID; staffId = g.staffID; reason = g.reason; grantedAt = g.grantedAt; expiresAt = g.expiresAt
            endedAt = g.endedAt; renews = g.renews; reviewedAt = g.reviewedAt; reviewedBy = g.reviewedBy; reviewOutcome = g.reviewOutcome
        }

        enum CodingKeys: String, CodingKey {
            case id, patientId, staffId, reason, grantedAt, expiresAt, endedAt, renews, reviewedAt, reviewedBy, reviewOutcome
        }

        /// Every key, null where there is no value.
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id); try c.encode(patientId, forKey: .patientId); try c.encode(staffId, forKey: .staffId)
            try c.encode(reason, forKey: .reason); try c.encode(grantedAt, forKey: .grantedAt); try c.encode(expiresAt, forKey: .expiresAt)
            try c.encode(endedAt, forKey: .endedAt); try c.encode(renews, forKey: .renews); try c.encode(reviewedAt, forKey: .reviewedAt)
            try c.encode(reviewedBy, forKey: .reviewedBy); try c.encode(reviewOutcome, forKey: .reviewOutcome)
        }
    }

    struct GrantEnvelope: Encodable { var grant: GrantView }

    @Sendable func list(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let q = Query(request: request)
        let status = try q.oneOf("status", ["unreviewed", "all"]) ?? "all"
        let page = try q.integer("page", default: 1, range: 1...100_000)
        let limit = try q.integer("limit", default: 50, range: 1...100)
        let (grants, total) = try await emergency.list(context.identity, unreviewed: status == "unreviewed", page: page, limit: limit,
                                                       origin: context.origin)
        return try JSONBody.response(ListResponse(data: grants.map(GrantView.init), page: page, limit: limit, total: total))
    }

    @Sendable func review(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        let body = try await JSONBody.decode(Review.self, from: request, limit: appliance.settings.maxBodyBytes)
        let grant = try await emergency.review(context.identity, grantID: id, outcome: body.outcome, origin: context.origin)
        return try JSONBody.response(GrantEnvelope(grant: GrantView(grant)))
    }

    @Sendable func end(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        let grant = try await emergency.end(context.identity, grantID: id, origin: context.origin)
        return try JSONBody.response(GrantEnvelope(grant: GrantView(grant)))
    }
}
