import Foundation
import Hummingbird
import RecoveryCore

/// Treatment plan templates, a patient's plans with their versions, signing,
/// and the patient's acknowledgement in the app.
struct TreatmentPlanController {
    let appliance: Appliance

    var plans: TreatmentPlans { TreatmentPlans(appliance: appliance) }
    var limit: Int { appliance.settings.maxBodyBytes }

    var endpoints: [Endpoint] {
        [
            Endpoint(.get, "/api/v1/treatment-plan-templates", access: .staff(.treatmentPlansWrite), handler: templates),
            Endpoint(.post, "/api/v1/treatment-plan-templates", access: .staff(.treatmentPlanTemplatesManage), handler: createTemplate),
            Endpoint(.get, "/api/v1/treatment-plan-templates/{id}", access: .staff(.treatmentPlansWrite), handler: template),
            Endpoint(.patch, "/api/v1/treatment-plan-templates/{id}", access: .staff(.treatmentPlanTemplatesManage), handler: updateTemplate),
            Endpoint(.get, "/api/v1/patients/{id}/treatment-plans", access: .staff(.patientsReadClinical), handler: list),
            Endpoint(.post, "/api/v1/patients/{id}/treatment-plans", access: .staff(.treatmentPlansWrite), handler: create),
            Endpoint(.get, "/api/v1/treatment-plans/{id}", access: .staff(.patientsReadClinical), handler: detail),
            Endpoint(.patch, "/api/v1/treatment-plans/{id}", access: .staff(.treatmentPlansWrite), handler: update),
            Endpoint(.post, "/api/v1/treatment-plans/{id}/sign", access: .staff(.treatmentPlansSign), handler: sign),
            Endpoint(.get, "/api/v1/treatment-plans/{id}/versions", access: .staff(.patientsReadClinical), handler: versions),
            Endpoint(.get, "/api/v1/me/treatment-plans", access: .patient, handler: mine),
            Endpoint(.post, "/api/v1/me/treatment-plans/{id}/acknowledge", access: .patient, handler: acknowledge),
        ]
    }

    static func templateChanges(_ body: [String: JSONValue]) throws -> TreatmentPlans.TemplateChanges {
        var c = TreatmentPlans.TemplateChanges()
        c.name = try BodyField.string(body, "name")
        c.description = try BodyField.string(body, "description")
        c.facilityID = try BodyField.string(body, "facility_id")
        c.content = body["content"]
        switch body["is_active"] {
        case nil, .null?: break
        case .bool(let value)?: c.isActive = value
        default: throw APIError.validation(field: "is_active", "must be true or false")
        }
        return c
    }

    static func changes(_ body: [String: JSONValue]) throws -> TreatmentPlans.Changes {
        var c = TreatmentPlans.Changes()
        c.title = try BodyField.string(body, "title")
        c.startDate = try BodyField.string(body, "start_date")
        c.reviewDate = try BodyField.string(body, "review_date")
        c.content = body["content"]
        c.templateID = try BodyField.uuid(body, "template_id")
        return c
    }

    @Sendable func templates(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        JSONValue.object(["data": .array(try await plans.templates(context.identity))]).response()
    }

    @Sendable func createTemplate(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let body = try await JSONBody.object(from: request, limit: limit)
        let template = try await plans.createTemplate(context.identity, try Self.templateChanges(body), origin: context.origin)
        return JSONValue.object(["template": template]).response(status: .created)
    }

    @Sendable func template(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        var version: Int?
        if request.uri.queryParameters.get("version") != nil {
            version = try Query(request: request).integer("version", default: 1, range: 1...1_000_000)
        }
        return JSONValue.object(["template": try await plans.template(context.identity, id: id, version: version, origin: context.origin)]).response()
    }

    @Sendable func updateTemplate(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        let body = try await JSONBody.object(from: request, limit: limit)
        let template = try await plans.updateTemplate(context.identity, id: id, try Self.templateChanges(body), origin: context.origin)
        return JSONValue.object(["template": template]).response()
    }

    @Sendable func list(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        return JSONValue.object(["data": .array(try await plans.list(context.identity, patientID: id, origin: context.origin))]).response()
    }

    @Sendable func create(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        try await context.reachFirst(patient: id, .treatmentPlansWrite, action: "treatment_plan.create", appliance)
        let body = try await JSONBody.object(from: request, limit: limit)
        let plan = try await plans.create(context.identity, patientID: id, try Self.changes(body), origin: context.origin)
        return JSONValue.object(["treatment_plan": plan]).response(status: .created)
    }

    @Sendable func detail(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        return JSONValue.object(["treatment_plan": try await plans.detail(context.identity, id: id, origin: context.origin)]).response()
    }

    @Sendable func update(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        let body = try await JSONBody.object(from: request, limit: limit)
        var changes = try Self.changes(body)
        changes.templateID = nil
        let (plan, created) = try await plans.update(context.identity, id: id, changes, origin: context.origin)
        return JSONValue.object(["treatment_plan": plan]).response(status: created ? .created : .ok)
    }

    @Sendable func sign(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        return JSONValue.object(["treatment_plan": try await plans.sign(context.identity, id: id, origin: context.origin)]).response()
    }

    @Sendable func versions(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        return JSONValue.object(["data": .array(try await plans.versions(context.identity, id: id, origin: context.origin))]).response()
    }

    @Sendable func mine(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        JSONValue.object(["data": .array(try await plans.listOwn(try context.patient, origin: context.origin))]).response()
    }

    @Sendable func acknowledge(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        return JSONValue.object(["treatment_plan": try await plans.acknowledge(try context.patient, id: id, origin: context.origin)]).response()
    }
}
