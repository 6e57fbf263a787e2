import Foundation
import Hummingbird
import RecoveryCore

/// What the appliance works out from the records: a patient's insights and
/// relapse-risk score (with its history), and a facility's staff workload
/// and weekly metrics.
struct AnalyticsController {
    let appliance: Appliance

    var endpoints: [Endpoint] {
        [
            Endpoint(.get, "/api/v1/patients/{id}/insights", access: .staff(.patientsReadClinical), handler: insights),
            Endpoint(.get, "/api/v1/patients/{id}/risk", access: .staff(.patientsReadClinical), handler: risk),
            Endpoint(.get, "/api/v1/patients/{id}/risk/history", access: .staff(.patientsReadClinical), handler: riskHistory),
            Endpoint(.get, "/api/v1/facilities/{id}/workload", access: .staff(.facilityReports), handler: workload),
            Endpoint(.get, "/api/v1/facilities/{id}/metrics", access: .staff(.facilityReports), handler: metrics),
        ]
    }

    @Sendable func insights(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        return try await PatientDirectory(appliance: appliance).insights(context.identity, patientID: id, origin: context.origin).response()
    }

    @Sendable func risk(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        return try await RiskScores(appliance: appliance).latest(context.identity, patientID: id, origin: context.origin).response()
    }

    @Sendable func riskHistory(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        try await context.reachFirst(patient: id, .patientsReadClinical, action: "patient.risk_history", appliance)
        let query = Query(request: request)
        let (from, to) = try Self.period(query)
        let limit = try query.integer("limit", default: 100, range: 1...500)
        return try await RiskScores(appliance: appliance).history(context.identity, patientID: id, from: from, to: to, limit: limit,
                                                                  origin: context.origin).response()
    }

    @Sendable func workload(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        return try await FacilityAnalytics(appliance: appliance).workload(context.identity, facilityID: id, origin: context.origin).response()
    }

    /// `from` and `to` (dates, both optional): by default the twelve weeks up to today (UTC).
    @Sendable func metrics(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        try await FacilityAnalytics(appliance: appliance).authorize("facility.metrics", context.identity, facilityID: id, origin: context.origin)
        let (from, to) = try Self.period(Query(request: request))
        let end = to ?? CalendarDate.today(in: "UTC")
        let start = from ?? CalendarDate.string(julianDay: CalendarDate.julianDay(end)! - 83)
        if CalendarDate.days(from: start, to: end)! < 0 { throw APIError.validation(field: "from", "must not be after today's date when to is not given") }
        if CalendarDate.days(from: start, to: end)! >= FacilityAnalytics.maxMetricsDays {
            throw APIError.validation(field: "to", "must be within \(FacilityAnalytics.maxMetricsDays) days of from")
        }
        return try await FacilityAnalytics(appliance: appliance).weeklyMetrics(context.identity, facilityID: id, from: start, to: end,
                                                                               origin: context.origin).response()
    }

    /// Optional `from` / `to` dates (YYYY-MM-DD), `to` not before `from`.
    static func period(_ query: Query) throws -> (String?, String?) {
        let from = try query.date("from"), to = try query.date("to")
        for (name, value) in [("from", from), ("to", to)] where (value ?? "1900") < "1900" {
            throw APIError.validation(field: name, "must be a date from 1900-01-01")
        }
        if let from, let to, from > to { throw APIError.validation(field: "to", "must not be before from") }
        return (from, to)
    }
}
