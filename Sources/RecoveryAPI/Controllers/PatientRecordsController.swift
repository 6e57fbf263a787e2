import Foundation
import Hummingbird
import RecoveryCore

/// Staff views of a patient's recovery records (`/patients/{id}/check-ins`
/// and the rest), and the care team's writes: medications, goals, meeting
/// verification and flags. Each route names its permission; `AccessPolicy`
/// decides in the core which patients it reaches.
struct PatientRecordsController {
    let appliance: Appliance

    var records: PatientRecords { PatientRecords(appliance: appliance) }
    var plan: CarePlan { CarePlan(appliance: appliance) }
    var limit: Int { appliance.settings.maxBodyBytes }

    var endpoints: [Endpoint] {
        RecordKind.all.map { kind in
            Endpoint(.get, "/api/v1/patients/{id}/\(kind.collection)", access: .staff(.patientsReadClinical)) { request, context in
                let id = try request.uuidParameter("id", context: context.request)
                let query = try PatientRecords.Query(request)
                let page = try await records.list(kind, context.identity, patientID: id, query: query, origin: context.origin)
                return JSONValue.list(page.items, page: page.page, limit: page.limit, total: page.total).response()
            }
        } + [
            Endpoint(.get, "/api/v1/patients/{id}/medications", access: .staff(.patientsReadClinical), handler: medications),
            Endpoint(.post, "/api/v1/patients/{id}/medications", access: .staff(.carePlanManage), handler: prescribe),
            Endpoint(.patch, "/api/v1/patients/{id}/medications/{medication_id}", access: .staff(.carePlanManage), handler: updateMedication),
            Endpoint(.get, "/api/v1/patients/{id}/goals", access: .staff(.patientsReadClinical), handler: goals),
            Endpoint(.post, "/api/v1/patients/{id}/goals", access: .staff(.carePlanManage), handler: assignGoal),
            Endpoint(.patch, "/api/v1/patients/{id}/goals/{goal_id}", access: .staff(.carePlanManage), handler: updateGoal),
            Endpoint(.post, "/api/v1/patients/{id}/meetings/{attendance_id}/verify", access: .staff(.carePlanManage), handler: verifyMeeting),
            Endpoint(.get, "/api/v1/patients/{id}/flags", access: .staff(.patientsReadClinical), handler: flags),
            Endpoint(.patch, "/api/v1/patients/{id}/flags/{flag_id}", access: .staff(.carePlanManage), handler: updateFlag),
        ]
    }

    struct Schedule: Decodable { var times: [String] }
    struct PrescribeBody: Decodable {
        var name: String?, dose: String?, route: String?, schedule: Schedule?, startsOn: String?, endsOn: String?
    }
    struct MedicationChange: Decodable {
        var dose: String?, route: String?, schedule: Schedule?, endsOn: String?, status: String?
    }
    struct GoalBody: Decodable {
        var title: String?, description: String?, category: String?, targetDate: String?, status: String?
    }
    struct FlagChange: Decodable { var status: String }

    @Sendable func medications(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        return JSONValue.object(["data": .array(try await records.medications(context.identity, patientID: id, origin: context.origin))]).response()
    }

    @Sendable func prescribe(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        try await context.reachFirst(patient: id, .carePlanManage, action: "medication.create", appliance)
        let body = try await JSONBody.decode(PrescribeBody.self, from: request, limit: limit)
        var m = CarePlan.Medication()
        m.name = body.name; m.dose = body.dose; m.route = body.route; m.scheduleTimes = body.schedule?.times
        m.startsOn = body.startsOn; m.endsOn = body.endsOn
        let medication = try await plan.prescribe(context.identity, patientID: id, m, origin: context.origin)
        return JSONValue.object(["medication": medication]).response(status: .created)
    }

    @Sendable func updateMedication(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        try await context.reachFirst(patient: id, .carePlanManage, action: "medication.update", appliance)
        let medicationID = try request.uuidParameter("medication_id", context: context.request)
        let body = try await JSONBody.decode(MedicationChange.self, from: request, limit: limit)
        var m = CarePlan.Medication()
        m.dose = body.dose; m.route = body.route; m.scheduleTimes = body.schedule?.times; m.endsOn = body.endsOn; m.status = body.status
        let medication = try await plan.updateMedication(context.identity, patientID: id, medicationID: medicationID, m, origin: context.origin)
        return JSONValue.object(["medication": medication]).response()
    }

    @Sendable func goals(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        return try await records.goals(context.identity, patientID: id, origin: context.origin).response()
    }

    func goal(_ body: GoalBody) -> CarePlan.Goal {
        var g = CarePlan.Goal()
        g.title = body.title; g.description = body.description; g.category = body.category; g.targetDate = body.targetDate; g.status = body.status
        return g
    }

    @Sendable func assignGoal(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        try await context.reachFirst(patient: id, .carePlanManage, action: "goal.create", appliance)
        var body = try await JSONBody.decode(GoalBody.self, from: request, limit: limit)
        body.status = nil
        let goal = try await plan.assignGoal(context.identity, patientID: id, goal(body), origin: context.origin)
        return JSONValue.object(["goal": goal]).response(status: .created)
    }

    @Sendable func updateGoal(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        try await context.reachFirst(patient: id, .carePlanManage, action: "goal.update", appliance)
        let goalID = try request.uuidParameter("goal_id", context: context.request)
        let body = try await JSONBody.decode(GoalBody.self, from: request, limit: limit)
        let goal = try await plan.updateGoal(context.identity, patientID: id, goalID: goalID, goal(body), origin: context.origin)
        return JSONValue.object(["goal": goal]).response()
    }

    @Sendable func verifyMeeting(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        let attendanceID = try request.uuidParameter("attendance_id", context: context.request)
        let record = try await plan.verifyMeeting(context.identity, patientID: id, attendanceID: attendanceID, origin: context.origin)
        return JSONValue.object(["record": record]).response()
    }

    @Sendable func flags(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        let q = Query(request: request)
        let status = try q.oneOf("status", PatientRecords.flagStatuses)
        let page = try q.integer("page", default: 1, range: 1...100_000)
        let limit = try q.integer("limit", default: 50, range: 1...100)
        let result = try await records.flags(context.identity, patientID: id, status: status, page: page, limit: limit, origin: context.origin)
        return JSONValue.list(result.items, page: result.page, limit: result.limit, total: result.total).response()
    }

    @Sendable func updateFlag(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        try await context.reachFirst(patient: id, .carePlanManage, action: "flag.update", appliance)
        let flagID = try request.uuidParameter("flag_id", context: context.request)
        let body = try await JSONBody.decode(FlagChange.self, from: request, limit: limit)
        let flag = try await plan.updateFlag(context.identity, patientID: id, flagID: flagID, status: body.status, origin: context.origin)
        return JSONValue.object(["flag": flag]).response()
    }
}
