import Foundation
import RecoveryCore

/// `crisis:trigger` `{message?, location?}`: a patient's SOS over the socket,
/// the same core call and answer (`{alert}`) as `POST /api/v1/me/crisis`.
struct RealtimeCrisis: Sendable {
    let appliance: Appliance

    func trigger(_ argument: JSONValue, identity: Identity, origin: RequestOrigin) async throws -> JSONValue {
        guard case .object(let body) = argument else { throw APIError.validation(field: "body", "must be a JSON object") }
        let alert = try await CrisisAlerts(appliance: appliance).raiseByPatient(
            identity, message: try BodyField.string(body, "message"), location: try BodyField.string(body, "location"), origin: origin)
        return .object(["alert": CrisisController.patientView(alert)])
    }
}
