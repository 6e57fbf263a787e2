import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
@testable import RecoveryAPI
@testable import RecoveryCore

@Suite struct FoundationAPITests {
    @Test func healthReportsVersionSchemaAndUptime() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            try await client.execute(uri: "/api/v1/health", method: .get) { response in
                #expect(response.status == .ok)
                let body = response.json
                #expect(body["status"] as? String == "ok")
                #expect(body["version"] as? String == RecoveryVersion.current)
                #expect(body["mode"] as? String == "clinic")
                let database = body["database"] as? [String: Any]
                #expect(database?["ok"] as? Bool == true)
                #expect(database?["schema_version"] as? Int == Migration.latestVersion)
                #expect(body["uptime_seconds"] is Int)
                #expect(response.headers[RequestIDMiddleware.header]?.isEmpty == false)
            }
        }
    }

    @Test func healthAnswers503WhenTheDatabaseIsGone() async throws {
        let box = try await TestAppliance()
        try box.appliance.database.pool.close()
        try await box.test { client in
            try await client.execute(uri: "/api/v1/health", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.json["status"] as? String == "degraded")
            }
        }
    }

    /// `/api/v1/ready` is public: a failed key reload is named there in
    /// general words; the key file it could not load is kept for the
    /// operator (`server_key_ring`, read by `keys status`), not answered.
    @Test func readyNamesAFailedKeyReloadWithoutItsKeyFile() async throws {
        let box = try await TestAppliance()
        let keyFile = box.appliance.settings.resolvedKeyFile
        try await box.test { client in
            try await client.execute(uri: "/api/v1/ready", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
        // A rotation lists version 2, whose key file then goes missing.
        _ = try await KeyRotation(appliance: try Appliance.open(settings: box.appliance.settings, passwordCost: .minimum).0).start()
        let missing = KeyRing.keyFile(keyFile, version: 2)
        try FileManager.default.removeItem(atPath: missing)
        await #expect(throws: (any Error).self) { try await box.appliance.reloadKeysAndReport() }
        #expect(box.appliance.keyReload.failure?.contains(missing) == true)
        let report = try await box.appliance.database.read { db in try ServerKeyRing.read(in: db) }
        #expect(report?.reloadFailure?.contains(missing) == true)

        try await box.test { client in
            try await client.execute(uri: "/api/v1/ready", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                let checks = response.json["checks"] as? [[String: Any]] ?? []
                let reload = checks.first { $0["name"] as? String == "master_key_reload" }
                #expect(reload?["ok"] as? Bool == false)
                #expect(reload?["reason"] as? String == "a key version could not be loaded; see the server log or `recovery-server keys status`")
                #expect(!response.text.contains(box.directory) && !response.text.contains("master.key"))
                #expect(!response.text.contains("/"), "no path of any kind")
            }
        }
    }

    @Test func everyResponseCarriesSecurityHeaders() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            for uri in ["/api/v1/health", "/nowhere"] {
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.headers[.xContentTypeOptions] == "nosniff")
                    #expect(response.headers[.cacheControl] == "no-store")
                    #expect(response.headers[.contentSecurityPolicy]?.contains("frame-ancestors 'none'") == true)
                }
            }
        }
    }

    @Test func unknownRoutesAnswerTheErrorEnvelope() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            try await client.execute(uri: "/api/v1/does-not-exist?x=1", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(response.errorCode == "route_not_found")
                #expect(response.json["request_id"] as? String == response.headers[RequestIDMiddleware.header])
                #expect((response.json["error"] as? [String: Any])?["message"] is String)
            }
        }
    }

    @Test func aKnownPathWithAnotherMethodAnswers405WithAllow() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            try await client.execute(uri: "/api/v1/health", method: .delete) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == "GET")
                #expect(response.errorCode == "method_not_allowed")
            }
        }
    }

    @Test func anOversizeBodyIsRefusedWith413() async throws {
        let box = try await TestAppliance { $0.maxBodyBytes = 2_048 }
        try await box.test { client in
            let body = ByteBuffer(repeating: UInt8(ascii: "a"), count: 4_096)
            try await client.execute(uri: "/api/v1/health", method: .post, headers: jsonHeaders, body: body) { response in
                #expect(response.status == .contentTooLarge)
                #expect(response.errorCode == "body_too_large")
            }
            try await client.execute(uri: "/api/v1/health", method: .get) { #expect($0.status == .ok) }
        }
    }

    @Test func safeClientRequestIDsAreEchoedAndOthersReplaced() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            try await client.execute(uri: "/api/v1/health", method: .get, headers: [RequestIDMiddleware.header: "desk-7f3a2b9c"]) { response in
                #expect(response.headers[RequestIDMiddleware.header] == "desk-7f3a2b9c")
            }
            try await client.execute(uri: "/api/v1/health", method: .get, headers: [RequestIDMiddleware.header: "<script>x</script>"]) { response in
                let id = response.headers[RequestIDMiddleware.header] ?? ""
                #expect(UUID(uuidString: id) != nil)
            }
        }
    }

    @Test func corsAnswersOnlyConfiguredOrigins() async throws {
        let box = try await TestAppliance { $0.corsOrigins = ["http://192.168.1.20:8080"] }
        try await box.test { client in
            let preflight: HTTPFields = [.origin: "http://192.168.1.20:8080", .accessControlRequestMethod: "POST"]
            try await client.execute(uri: "/api/v1/health", method: .options, headers: preflight) { response in
                #expect(response.status == .noContent)
                #expect(response.headers[.accessControlAllowOrigin] == "http://192.168.1.20:8080")
                #expect(response.headers[.accessControlAllowHeaders]?.contains("Authorization") == true)
            }
            let foreign: HTTPFields = [.origin: "http://evil.example", .accessControlRequestMethod: "POST"]
            try await client.execute(uri: "/api/v1/health", method: .options, headers: foreign) { response in
                #expect(response.status == .forbidden)
                #expect(response.headers[.accessControlAllowOrigin] == nil)
            }
            try await client.execute(uri: "/api/v1/health", method: .get, headers: [.origin: "http://192.168.1.20:8080"]) { response in
                #expect(response.headers[.accessControlAllowOrigin] == "http://192.168.1.20:8080")
            }
            try await client.execute(uri: "/api/v1/health", method: .get, headers: [.origin: "http://evil.example"]) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.accessControlAllowOrigin] == nil)
            }
        }
    }
}

/// The OpenAPI document is the contract: it and the routes must match.
@Suite struct OpenAPIContractTests {
    static func documentedOperations() throws -> Set<String> {
        let object = try JSONSerialization.jsonObject(with: Data(OpenAPIController.document)) as? [String: Any]
        let paths = object?["paths"] as? [String: [String: Any]] ?? [:]
        var operations = Set<String>()
        for (path, item) in paths {
            for method in item.keys where ["get", "post", "put", "patch", "delete"].contains(method) {
                operations.insert("\(method.uppercased()) \(path)")
            }
        }
        return operations
    }

    @Test func everyRouteIsDocumentedAndEveryDocumentedRouteExists() async throws {
        let box = try await TestAppliance()
        let routes = Set(allEndpoints(box.appliance).map { "\($0.method.rawValue) \($0.path)" })
        let documented = try Self.documentedOperations()
        #expect(routes.subtracting(documented).isEmpty, "routes missing from openapi.json: \(routes.subtracting(documented).sorted())")
        #expect(documented.subtracting(routes).isEmpty, "documented but not served: \(documented.subtracting(routes).sorted())")
    }

    @Test func theDocumentIsServedAndIsOpenAPI31() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            try await client.execute(uri: "/api/v1/openapi.json", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.json["openapi"] as? String == "3.1.0")
                #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
            }
        }
    }

    /// Both API documents are compiled in byte for byte as they are in the source tree.
    @Test func theCompiledDocumentsAreTheSourceFiles() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Sources/RecoveryAPI")
        #expect(try Data(contentsOf: folder.appendingPathComponent("openapi.json")) == Data(OpenAPIController.document))
        #expect(try Data(contentsOf: folder.appendingPathComponent("asyncapi.json")) == Data(AsyncAPIController.document))
    }

    @Test func routesAreUniqueAndUnderTheAPIBase() async throws {
        let box = try await TestAppliance()
        let endpoints = allEndpoints(box.appliance)
        let keys = endpoints.map { "\($0.method.rawValue) \($0.path)" }
        #expect(Set(keys).count == keys.count)
        #expect(endpoints.allSatisfy { $0.path.hasPrefix("/api/v1/") })
    }
}
