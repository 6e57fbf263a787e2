import Foundation
import Hummingbird
import Logging
import RecoveryCore

/// Federation routes. On central: the super admin's enrolment codes, clinics
/// (list, revoke), facilities, metrics and roll-ups; a clinic's code redemption and its
/// payloads (authenticated by the clinic's signature, not a token). On a
/// clinic: status, sync now, the disclosure log, and the preview and approval
/// of what leaves next. A route of the other
/// kind of box answers 404 `federation_role`.
struct FederationController {
    let appliance: Appliance
    let transport: FederationTransport

    var endpoints: [Endpoint] {
        [
            Endpoint(.post, "/api/v1/federation/enrollments", access: .staff(.federationCentral), handler: createEnrollment),
            Endpoint(.post, "/api/v1/federation/enroll", public: redeem),
            Endpoint(.get, "/api/v1/federation/peers", access: .staff(.federationCentral), handler: peers),
            Endpoint(.delete, "/api/v1/federation/peers/{id}", access: .staff(.federationCentral), handler: revoke),
            Endpoint(.post, "/api/v1/federation/payloads", public: receive),
            Endpoint(.get, "/api/v1/federation/facilities", access: .staff(.federationCentral), handler: facilities),
            Endpoint(.get, "/api/v1/federation/metrics", access: .staff(.federationCentral), handler: metrics),
            Endpoint(.get, "/api/v1/federation/rollups", access: .staff(.federationCentral), handler: rollups),
            Endpoint(.get, "/api/v1/federation/status", access: .staff(.federationManage), handler: status),
            Endpoint(.post, "/api/v1/federation/sync", access: .staff(.federationManage), handler: sync),
            Endpoint(.get, "/api/v1/federation/disclosures", access: .staff(.federationManage), handler: disclosures),
            Endpoint(.get, "/api/v1/federation/preview", access: .staff(.federationManage), handler: preview),
            Endpoint(.post, "/api/v1/federation/preview/approve", access: .staff(.federationManage), handler: approve),
        ]
    }

    // MARK: Central

    @Sendable func createEnrollment(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let body = try await JSONBody.object(from: request, limit: appliance.settings.maxBodyBytes)
        guard let name = try BodyField.string(body, "facility_name") else { throw APIError.validation(field: "facility_name", "is required") }
        let enrollment = try await FederationPeers(appliance: appliance).createEnrollment(context.identity, facilityName: name, origin: context.origin)
        return JSONValue.object(["id": .string(enrollment.peerID), "code": .string(enrollment.code),
                                 "expires_at": .string(enrollment.expiresAt)]).response(status: .created)
    }

    @Sendable func redeem(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let body = try await JSONBody.object(from: request, limit: appliance.settings.maxBodyBytes)
        guard let code = try BodyField.string(body, "code") else { throw APIError.validation(field: "code", "is required") }
        guard let keyText = try BodyField.string(body, "public_key") else { throw APIError.validation(field: "public_key", "is required") }
        guard let key = Data(base64Encoded: keyText) else { throw APIError.validation(field: "public_key", "must be base64") }
        let redeemed = try await FederationPeers(appliance: appliance).redeem(code: code, publicKey: key, origin: context.origin(request))
        return JSONValue.object(["clinic_id": .string(redeemed.clinicID), "name": .string(redeemed.name),
                                 "central_public_key": .string(redeemed.centralPublicKey.base64EncodedString())]).response(status: .created)
    }

    @Sendable func peers(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let peers = try await FederationPeers(appliance: appliance).list(context.identity)
        return JSONValue.object(["data": .array(peers.map(Self.view))]).response()
    }

    @Sendable func revoke(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        let peer = try await FederationPeers(appliance: appliance).revoke(context.identity, peerID: id, origin: context.origin)
        return JSONValue.object(["peer": Self.view(peer)]).response()
    }

    /// A clinic's payload: refused (and logged, by reason) unless its signature, clinic, sequence and schema hold.
    @Sendable func receive(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let body = try await JSONBody.object(from: request, limit: appliance.settings.maxBodyBytes)
        guard let clinicID = try BodyField.string(body, "clinic_id") else { throw APIError.validation(field: "clinic_id", "is required") }
        guard let payload = try BodyField.string(body, "payload") else { throw APIError.validation(field: "payload", "is required") }
        guard let signatureText = try BodyField.string(body, "signature") else { throw APIError.validation(field: "signature", "is required") }
        guard let signature = Data(base64Encoded: signatureText) else { throw APIError.validation(field: "signature", "must be base64") }
        do {
            let receipt = try await FederationIngest(appliance: appliance).receive(clinicID: clinicID, payload: payload, signature: signature,
                                                                                  origin: context.origin(request))
            return JSONValue.object(["outcome": .string(receipt.outcome.rawValue), "sequence": .integer(receipt.sequence),
                                     "receipt_signature": .string(receipt.signature.base64EncodedString())]).response()
        } catch let error as FederationError {
            context.logger.warning("federation payload refused", metadata: ["reason": .string(error.code), "request_id": .string(context.requestID)])
            throw error
        }
    }

    @Sendable func facilities(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let facilities = try await FederationMetrics(appliance: appliance).facilities(context.identity)
        return JSONValue.object(["data": .array(facilities.map { facility -> JSONValue in
            .object(["id": .string(facility.id), "clinic_id": .string(facility.clinicID), "name": .string(facility.name),
                     "last_seen_at": .string(facility.lastSeenAt), "latest_period": facility.latestPeriod.map(JSONValue.string) ?? .null,
                     "latest": .object(Dictionary(uniqueKeysWithValues: facility.latest.map { ($0.metric, $0.value.json) }))])
        })]).response()
    }

    @Sendable func metrics(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let q = Query(request: request)
        let facility = try q.uuid("facility_id")
        let metric = try q.string("metric", maxLength: 64)
        let granularity = try Self.granularity(q)
        let from = try q.date("from"), to = try q.date("to")
        if let from, let to, from > to { throw APIError.validation(field: "to", "must not be before from") }
        let limit = try q.integer("limit", default: 1_000, range: 1...10_000)
        let cells = try await FederationMetrics(appliance: appliance).cells(context.identity, facilityID: facility, metric: metric,
                                                                            granularity: granularity, from: from, to: to, limit: limit)
        return JSONValue.object(["data": .array(cells.map { cell -> JSONValue in
            .object(["facility_id": .string(cell.facilityID), "metric": .string(cell.metric), "granularity": .string(cell.granularity),
                     "period": .string(cell.period),
                     "period_start": .string(cell.periodStart), "value": cell.value.json, "sequence": .integer(cell.sequence),
                     "schema_version": .integer(cell.schemaVersion), "received_at": .string(cell.receivedAt)])
        })]).response()
    }

    @Sendable func rollups(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let q = Query(request: request)
        guard let metric = try q.string("metric", maxLength: 64) else { throw APIError.validation(field: "metric", "is required") }
        let granularity = try Self.granularity(q)
        let from = try q.date("from"), to = try q.date("to")
        if let from, let to, from > to { throw APIError.validation(field: "to", "must not be before from") }
        let rollups = try await FederationRollups(appliance: appliance).rollups(context.identity, metric: metric, granularity: granularity,
                                                                                from: from, to: to)
        return JSONValue.object(["data": .array(rollups.map { rollup -> JSONValue in
            .object(["metric": .string(rollup.metric), "period": .string(rollup.period), "period_start": .string(rollup.periodStart),
                     "value": rollup.value.json, "facilities": .integer(rollup.facilities), "clinics": .integer(rollup.clinics),
                     "suppressed_facilities": .integer(rollup.suppressedFacilities)])
        })]).response()
    }

    /// `granularity=week|day`, weeks when absent.
    static func granularity(_ q: Query) throws -> FederationPeriod.Granularity {
        try q.oneOf("granularity", FederationPeriod.Granularity.allCases.map(\.rawValue)).flatMap(FederationPeriod.Granularity.init(rawValue:)) ?? .week
    }

    static func view(_ peer: FederationPeers.Peer) -> JSONValue {
        .object(["id": .string(peer.id), "name": .string(peer.name), "status": .string(peer.status),
                 "enrolled_at": peer.enrolledAt.map(JSONValue.string) ?? .null, "last_seen_at": peer.lastSeenAt.map(JSONValue.string) ?? .null,
                 "last_sequence": .integer(peer.lastSequence), "code_expires_at": peer.expiresAt.map(JSONValue.string) ?? .null,
                 "revoked_at": peer.revokedAt.map(JSONValue.string) ?? .null, "created_at": .string(peer.createdAt)])
    }

    // MARK: Clinic

    @Sendable func status(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let status = try await FederationOutbox(appliance: appliance).status(context.identity)
        return JSONValue.object(["enrolled": .bool(status.enrolled), "clinic_id": status.clinicID.map(JSONValue.string) ?? .null,
                                 "central_url": status.centralURL.map(JSONValue.string) ?? .null,
                                 "last_success_at": status.lastSuccessAt.map(JSONValue.string) ?? .null,
                                 "queue_depth": .integer(status.queueDepth), "awaiting_approval": .integer(status.awaitingApproval),
                                 "last_error": status.lastError.map(JSONValue.string) ?? .null]).response()
    }

    @Sendable func sync(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let result = try await FederationDelivery(appliance: appliance, transport: transport).syncNow(context.identity, origin: context.origin)
        return JSONValue.object(["queued": .integer(result.queued), "sent": .integer(result.sent), "failed": .integer(result.failed),
                                 "pending": .integer(result.pending),
                                 "last_error": result.lastError.map(JSONValue.string) ?? .null]).response()
    }

    @Sendable func disclosures(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let q = Query(request: request)
        let page = try q.integer("page", default: 1, range: 1...100_000)
        let limit = try q.integer("limit", default: 50, range: 1...100)
        let (items, total) = try await FederationOutbox(appliance: appliance).disclosures(context.identity, page: page, limit: limit)
        return JSONValue.list(items.map { item -> JSONValue in
            .object(["id": .string(item.id), "sequence": .integer(item.sequence), "period": .string(item.period),
                     "period_start": .string(item.periodStart), "period_end": .string(item.periodEnd),
                     "recipient": .string(item.recipient), "status": .string(item.status), "attempts": .integer(item.attempts),
                     "created_at": .string(item.createdAt), "sent_at": item.sentAt.map(JSONValue.string) ?? .null,
                     "last_error": item.lastError.map(JSONValue.string) ?? .null,
                     "payload": (try? JSONParser.parse(Array(item.payload.utf8))) ?? .null])
        }, page: page, limit: limit, total: total).response()
    }

    @Sendable func preview(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let preview = try await FederationApproval(appliance: appliance).preview(context.identity)
        return JSONValue.object(["require_approval": .bool(preview.requireApproval),
                                 "data": .array(preview.items.map(Self.view))]).response()
    }

    @Sendable func approve(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let body = try await JSONBody.object(from: request, limit: appliance.settings.maxBodyBytes)
        guard let digests = try BodyField.strings(body, "digests") else { throw APIError.validation(field: "digests", "is required") }
        let approved = try await FederationApproval(appliance: appliance).approve(context.identity, digests: digests, origin: context.origin)
        return JSONValue.object(["approved": .array(approved.map(Self.view))]).response()
    }

    /// A payload as previewed or approved: its exact signed text, and the same parsed for reading.
    static func view(_ item: FederationApproval.Item) -> JSONValue {
        .object(["sequence": .integer(item.sequence), "period": .string(item.period), "period_start": .string(item.periodStart),
                 "period_end": .string(item.periodEnd), "status": .string(item.status), "digest": .string(item.digest),
                 "payload_text": .string(item.payload), "signature": .string(item.signature.base64EncodedString()),
                 "payload": (try? JSONParser.parse(Array(item.payload.utf8))) ?? .null])
    }
}
