import Foundation
import Hummingbird
import RecoveryCore

/// `/facilities/{id}/triggers|meetings|recovery-settings`: what a facility
/// offers its patients' app, read by its staff and changed by its admins.
struct FacilityCatalogueController {
    let appliance: Appliance

    var catalogue: FacilityCatalogue { FacilityCatalogue(appliance: appliance) }
    var limit: Int { appliance.settings.maxBodyBytes }

    var endpoints: [Endpoint] {
        [
            Endpoint(.get, "/api/v1/facilities/{id}/triggers", access: .staff(.facilityRead), handler: triggers),
            Endpoint(.post, "/api/v1/facilities/{id}/triggers", access: .staff(.facilityUpdate), handler: addTrigger),
            Endpoint(.get, "/api/v1/facilities/{id}/meetings", access: .staff(.facilityRead), handler: meetings),
            Endpoint(.post, "/api/v1/facilities/{id}/meetings", access: .staff(.facilityUpdate), handler: addMeeting),
            Endpoint(.get, "/api/v1/facilities/{id}/recovery-settings", access: .staff(.facilityRead), handler: settings),
            Endpoint(.patch, "/api/v1/facilities/{id}/recovery-settings", access: .staff(.facilityUpdate), handler: updateSettings),
        ]
    }

    struct TriggerBody: Decodable { var code: String; var label: String }
    struct MeetingBody: Decodable {
        var name: String?, kind: String?, dayOfWeek: Int?, startTime: String?, durationMinutes: Int?, location: String?
    }
    struct SettingsBody: Decodable {
        var multipleCheckInsPerDay: Bool?, lowMoodThreshold: Int?, highCravingThreshold: Int?, silenceDays: Int?, riskFlagThreshold: Int?
    }

    @Sendable func triggers(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        return JSONValue.object(["data": .array(try await catalogue.triggers(context.identity, facilityID: id, origin: context.origin))]).response()
    }

    @Sendable func addTrigger(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        let body = try await JSONBody.decode(TriggerBody.self, from: request, limit: limit)
        let trigger = try await catalogue.addTrigger(context.identity, facilityID: id, code: body.code, label: body.label, origin: context.origin)
        return JSONValue.object(["trigger": trigger]).response(status: .created)
    }

    @Sendable func meetings(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        return JSONValue.object(["data": .array(try await catalogue.meetings(context.identity, facilityID: id, origin: context.origin))]).response()
    }

    @Sendable func addMeeting(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        let body = try await JSONBody.decode(MeetingBody.self, from: request, limit: limit)
        var m = FacilityCatalogue.MeetingFields()
        m.name = body.name; m.kind = body.kind; m.dayOfWeek = body.dayOfWeek; m.startTime = body.startTime
        m.durationMinutes = body.durationMinutes; m.location = body.location
        let meeting = try await catalogue.addMeeting(context.identity, facilityID: id, m, origin: context.origin)
        return JSONValue.object(["meeting": meeting]).response(status: .created)
    }

    static func output(_ s: RecoverySettings) -> JSONValue {
        .object(["multiple_check_ins_per_day": .bool(s.multipleCheckInsPerDay), "low_mood_threshold": .integer(s.lowMoodThreshold),
                 "high_craving_threshold": .integer(s.highCravingThreshold), "silence_days": .integer(s.silenceDays),
                 "risk_flag_threshold": .integer(s.riskFlagThreshold)])
    }

    @Sendable func settings(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        return Self.output(try await catalogue.recoverySettings(context.identity, facilityID: id, origin: context.origin)).response()
    }

    @Sendable func updateSettings(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        let body = try await JSONBody.decode(SettingsBody.self, from: request, limit: limit)
        var change = FacilityCatalogue.SettingsChange()
        change.multipleCheckInsPerDay = body.multipleCheckInsPerDay; change.lowMoodThreshold = body.lowMoodThreshold
        change.highCravingThreshold = body.highCravingThreshold; change.silenceDays = body.silenceDays
        change.riskFlagThreshold = body.riskFlagThreshold
        return Self.output(try await catalogue.updateRecoverySettings(context.identity, facilityID: id, change, origin: context.origin)).response()
    }
}
