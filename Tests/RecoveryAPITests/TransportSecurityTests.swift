import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
@testable import RecoveryAPI
@testable import RecoveryCore

@Suite struct TransportSecurityTests {
    static let hsts = HTTPField.Name("Strict-Transport-Security")!

    @Test func hstsGoesOnEveryHTTPSResponseAndNeverOnPlainHTTP() async throws {
        let box = try await TestAppliance()
        for https in [true, false] {
            try await Application(router: buildRouter(box.appliance, https: https)).test(.router) { client in
                for uri in ["/api/v1/health", "/nowhere"] {
                    let response = try await client.get(uri)
                    #expect(response.headers[Self.hsts] == (https ? "max-age=31536000" : nil), "\(uri), https: \(https)")
                }
            }
        }
    }

    /// `count` failed sign-ins with `forwardedFor`, each for another account.
    static func failures(_ client: some TestClientProtocol, forwardedFor: String, count: Int = 4) async throws -> [HTTPResponse.Status] {
        var statuses: [HTTPResponse.Status] = []
        for attempt in 0..<count {
            var headers = jsonHeaders
            headers[ClientAddressMiddleware.forwardedFor] = forwardedFor
            let body = jsonBody(["email": "nobody\(attempt)-\(UUID().uuidString.prefix(6))@example.org", "password": "not the password at all"])
            statuses.append(try await client.execute(uri: "/api/v1/auth/staff/login", method: .post, headers: headers, body: body).status)
        }
        return statuses
    }

    @Test func behindATrustedProxyEachForwardedClientIsThrottledOnItsOwn() async throws {
        let box = try await TestAppliance {
            $0.addressFailureLimit = 3
            $0.trustedProxies = [try! IPNetwork(parsing: "127.0.0.0/8"), try! IPNetwork(parsing: "::1")]
        }
        try await Application(router: buildRouter(box.appliance)).test(.live) { client in
            let first = try await Self.failures(client, forwardedFor: "203.0.113.1")
            #expect(first == [.unauthorized, .unauthorized, .unauthorized, .tooManyRequests])
            let second = try await Self.failures(client, forwardedFor: "192.0.2.99, 203.0.113.2", count: 1)
            #expect(second == [.unauthorized])
        }
        // The failures counted against the clients, not against the proxy's own address.
        let throttle = box.appliance.throttle
        let locked = try await box.appliance.database.pool.read { db in
            try ["203.0.113.1", "203.0.113.2", "127.0.0.1"].map { try throttle.retryAfter(.login, account: nil, address: $0, in: db) != nil }
        }
        #expect(locked == [true, false, false])
    }

    @Test func fromAnUntrustedPeerAForgedHeaderChangesNothing() async throws {
        let box = try await TestAppliance { $0.addressFailureLimit = 3 }
        try await Application(router: buildRouter(box.appliance)).test(.live) { client in
            let forged = try await Self.failures(client, forwardedFor: "203.0.113.1")
            #expect(forged == [.unauthorized, .unauthorized, .unauthorized, .tooManyRequests])
            let another = try await Self.failures(client, forwardedFor: "203.0.113.2", count: 1)
            #expect(another == [.tooManyRequests])
        }
    }
}
