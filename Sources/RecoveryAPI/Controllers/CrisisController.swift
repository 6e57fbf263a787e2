import Foundation
import Hummingbird
import RecoveryCore

/// Crisis alerts: the patient's SOS (`/me/crisis`), staff raising one for a
/// patient they reach, and the responders' list, detail (with the timeline),
/// acknowledge and resolve. Escalation runs in the server's crisis clock.
struct CrisisController {
    let appliance: Appliance

    var crisis: CrisisAlerts { CrisisAlerts(appliance: appliance) }

    var endpoints: [Endpoint] {
        [
            Endpoint(.post, "/api/v1/me/crisis", access: .patient, handler: raiseByPatient),
            Endpoint(.get, "/api/v1/me/crisis-alerts", access: .patient, handler: mine),
            Endpoint(.post, "/api/v1/patients/{id}/crisis-alerts", access: .staff(.crisisRespond), handler: raiseByStaff),
            Endpoint(.get, "/api/v1/crisis-alerts", access: .staff(.crisisRespond), handler: list),
            Endpoint(.get, "/api/v1/crisis-alerts/{id}", access: .staff(.crisisRespond), handler: detail),
            Endpoint(.post, "/api/v1/crisis-alerts/{id}/acknowledge", access: .staff(.crisisRespond), handler: acknowledge),
            Endpoint(.post, "/api/v1/crisis-alerts/{id}/resolve", access: .staff(.crisisRespond), handler: resolve),
        ]
    }

    @Sendable func raiseByPatient(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let body = try await JSONBody.object(from: request, limit: appliance.settings.maxBodyBytes)
        let message = try BodyField.string(body, "message")
        let location = try BodyField.string(body, "location")
        let alert = try await crisis.raiseByPatient(context.identity, message: message, location: location, origin: context.origin)
        return JSONValue.object(["alert": Self.patientView(alert)]).response(status: .created)
    }

    @Sendable func mine(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        try await page(request, context, defaultStatus: "all", view: Self.patientView)
    }

    @Sendable func raiseByStaff(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let patientID = try request.uuidParameter("id", context: context.request)
        try await context.reachFirst(patient: patientID, .crisisRespond, action: "crisis_alert.raise", appliance)
        let body = try await JSONBody.object(from: request, limit: appliance.settings.maxBodyBytes)
        let message = try BodyField.string(body, "message")
        let severity = try BodyField.string(body, "severity")
        let alert = try await crisis.raiseByStaff(context.identity, patientID: patientID, message: message, severity: severity, origin: context.origin)
        return JSONValue.object(["alert": Self.staffView(alert)]).response(status: .created)
    }

    @Sendable func list(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        try await page(request, context, defaultStatus: "active", view: Self.staffView)
    }

    /// A page of the alerts the caller reaches (`?status=&page=&limit=`), each in `view`.
    func page(_ request: Request, _ context: AuthenticatedContext, defaultStatus: String,
              view: (CrisisAlerts.Alert) -> JSONValue) async throws -> Response {
        let q = Query(request: request)
        let status = try q.oneOf("status", CrisisAlerts.statusFilters) ?? defaultStatus
        let page = try q.integer("page", default: 1, range: 1...100_000)
        let limit = try q.integer("limit", default: 50, range: 1...100)
        let (alerts, total) = try await crisis.list(context.identity, status: status, page: page, limit: limit, origin: context.origin)
        return JSONValue.list(alerts.map(view), page: page, limit: limit, total: total).response()
    }

    @Sendable func detail(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        let alert = try await crisis.detail(context.identity, alertID: id, origin: context.origin)
        return JSONValue.object(["alert": Self.staffView(alert)]).response()
    }

    @Sendable func acknowledge(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        let alert = try await crisis.acknowledge(context.identity, alertID: id, origin: context.origin)
        return JSONValue.object(["alert": Self.staffView(alert)]).response()
    }

    @Sendable func resolve(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        try await crisis.authorize(context.identity, alertID: id, action: "crisis_alert.resolve", origin: context.origin)
        let body = try await JSONBody.object(from: request, limit: appliance.settings.maxBodyBytes)
        guard let note = try BodyField.string(body, "note") else { throw APIError.validation(field: "note", "is required") }
        let alert = try await crisis.resolve(context.identity, alertID: id, note: note, origin: context.origin)
        return JSONValue.object(["alert": Self.staffView(alert)]).response()
    }

    static func optional(_ value: String?) -> JSONValue { value.map { .string($0) } ?? .null }

    /// What responders see: everything, with the timeline in the detail.
    static func staffView(_ a: CrisisAlerts.Alert) -> JSONValue {
        var members: [String: JSONValue] = [
            "id": .string(a.id), "facility_id": .string(a.facilityID),
            "patient": .object(["id": .string(a.patientID), "first_name": .string(a.patientFirstName), "last_name": .string(a.patientLastName),
                                "patient_number": .string(a.patientNumber)]),
            "raised_by_kind": .string(a.raisedByKind), "raised_by": optional(a.raisedBy), "source": .string(a.source),
            "source_record_id": optional(a.sourceRecordID), "severity": .string(a.severity), "status": .string(a.status),
            "message": optional(a.message), "location": optional(a.location), "acknowledged_by": optional(a.acknowledgedBy),
            "acknowledged_at": optional(a.acknowledgedAt), "escalation_level": .integer(a.escalationLevel),
            "escalated_at": optional(a.escalatedAt), "escalate_at": optional(a.escalateAt), "resolved_by": optional(a.resolvedBy),
            "resolved_at": optional(a.resolvedAt), "resolution_note": optional(a.resolutionNote),
            "created_at": .string(a.createdAt), "updated_at": .string(a.updatedAt),
        ]
        if let timeline = a.timeline {
            members["timeline"] = .array(timeline.map { step in
                .object(["id": .string(step.id), "event": .string(step.event), "actor_kind": .string(step.actorKind),
                         "actor_id": optional(step.actorID), "escalation_level": step.escalationLevel.map { .integer($0) } ?? .null,
                         "note": optional(step.note), "created_at": .string(step.createdAt)])
            })
        }
        return .object(members)
    }

    /// What the patient sees of their own alert: who acknowledged by first
    /// name and role only; no note, no staff ids, no escalation.
    static func patientView(_ a: CrisisAlerts.Alert) -> JSONValue {
        .object([
            "id": .string(a.id), "status": .string(a.status), "source": .string(a.source), "message": optional(a.message),
            "location": optional(a.location), "created_at": .string(a.createdAt), "acknowledged_at": optional(a.acknowledgedAt),
            "acknowledged_by": a.acknowledgedByResponder.map { .object(["first_name": .string($0.firstName), "role": .string($0.role)]) } ?? .null,
            "resolved_at": optional(a.resolvedAt),
        ])
    }
}

/// Reading named fields of a JSON object body with 422s naming the field.
enum BodyField {
    /// A string, or nil when absent or null.
    static func string(_ body: [String: JSONValue], _ name: String) throws -> String? {
        switch body[name] {
        case nil, .null?: return nil
        case .string(let value)?: return value
        default: throw APIError.validation(field: name, "must be a string")
        }
    }

    /// A UUID (answered lowercased), or nil when absent or null.
    static func uuid(_ body: [String: JSONValue], _ name: String) throws -> String? {
        guard let text = try string(body, name) else { return nil }
        guard let value = UUID(uuidString: text) else { throw APIError.validation(field: name, "must be a UUID") }
        return value.uuidString.lowercased()
    }

    /// A list of strings, or nil when absent or null.
    static func strings(_ body: [String: JSONValue], _ name: String) throws -> [String]? {
        switch body[name] {
        case nil, .null?: return nil
        case .array(let values)?:
            return try values.enumerated().map { index, value in
                guard case .string(let text) = value else { throw APIError.validation(field: "\(name)[\(index)]", "must be a string") }
                return text
            }
        default: throw APIError.validation(field: name, "must be a list of strings")
        }
    }
}
