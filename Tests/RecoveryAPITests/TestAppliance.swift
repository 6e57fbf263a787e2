import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
@testable import RecoveryAPI
@testable import RecoveryCore

/// A real, initialised appliance in a temporary directory (real SQLite file,
/// real libsodium), with the cheapest password cost to keep tests quick.
final class TestAppliance: @unchecked Sendable {
    static let adminEmail = "director@harborlight.org"
    static let adminPassword = "tidal harbor lantern 42"

    let directory: String
    let appliance: Appliance
    let facilityID: String
    let adminID: String

    init(mfaPolicy: String = "none", configure: (inout Settings) -> Void = { _ in }) async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("recovery-api-\(UUID().uuidString.prefix(8))").path
        var settings = Settings()
        settings.dataDirectory = directory + "/data"
        configure(&settings)
        let outcome = try await ApplianceSetup.initialise(settings: settings, request: .init(
            facilityName: "Harbor Light Clinic", timezone: "America/Chicago", adminEmail: Self.adminEmail,
            adminFirstName: "Rosalind", adminLastName: "Featherstonehaugh", adminPassword: Self.adminPassword,
            mfaPolicy: mfaPolicy),
            passwordCost: .minimum)
        guard case .created(let created) = outcome else { fatalError("test appliance already existed") }
        facilityID = created.facilityID
        adminID = created.adminID
        appliance = try Appliance.open(settings: settings, passwordCost: .minimum).0
    }

    deinit {
        try? appliance.database.pool.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    var application: some ApplicationProtocol {
        Application(router: buildRouter(appliance))
    }

    /// Runs `body` against the in-process router (no socket).
    func test<T: Sendable>(_ body: @Sendable (any TestClientProtocol) async throws -> T) async throws -> T {
        try await application.test(.router, body)
    }
}

extension TestResponse {
    var json: [String: Any] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any] else { return [:] }
        return object
    }

    var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
    var errorFields: [String] { ((json["error"] as? [String: Any])?["details"] as? [[String: Any]])?.compactMap { $0["field"] as? String } ?? [] }
    var text: String { String(buffer: body) }
}

func jsonBody(_ object: Any) -> ByteBuffer {
    ByteBuffer(data: try! JSONSerialization.data(withJSONObject: object))
}

let jsonHeaders: HTTPFields = [.contentType: "application/json"]
