import Foundation
import GRDB
import Hummingbird
import HummingbirdOTP
import HummingbirdTesting
import Testing
@testable import RecoveryAPI
@testable import RecoveryCore

@Suite struct ConcurrencyLimitTests {
    /// Attempts are counted before the password check, so a burst of
    /// parallel guesses gets no more verifications than the limit allows.
    @Test func parallelPasswordGuessesAreCappedAtTheLimit() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for i in 0..<30 {
                    group.addTask { try await client.post("/api/v1/auth/staff/login", ["email": TestAppliance.adminEmail, "password": "guess number \(i) here"]).status }
                }
                return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .unauthorized }.count <= 5, "\(statuses)")
            #expect(statuses.filter { $0 == .tooManyRequests }.count >= 25)
            #expect(try await client.post("/api/v1/auth/staff/login", ["email": TestAppliance.adminEmail, "password": TestAppliance.adminPassword]).status == .tooManyRequests)
        }
    }

    @Test func parallelSecondFactorGuessesAreCapped() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let token = try await client.staffToken()
            let secret = try #require(try await client.post("/api/v1/auth/mfa/totp/setup", ["password": TestAppliance.adminPassword],
                                                            token: token).json["secret"] as? String)
            let code = authenticatorCode(secret)
            #expect(try await client.post("/api/v1/auth/mfa/totp/confirm", ["code": code], token: token).status == .ok)
            let login = try await client.post("/api/v1/auth/staff/login", ["email": TestAppliance.adminEmail, "password": TestAppliance.adminPassword])
            let challenge = try #require(login.json["mfa_token"] as? String)
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for i in 0..<25 {
                    group.addTask { try await client.post("/api/v1/auth/mfa/verify", ["mfa_token": challenge, "code": String(format: "%06d", (i * 7919) % 1_000_000)]).status }
                }
                return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
            }
            #expect(statuses.allSatisfy { $0 == .unauthorized || $0 == .tooManyRequests })
        }
        // What matters is how many codes were actually checked: at most the limit.
        let checked = try await box.appliance.database.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_logs WHERE action = 'auth.mfa_failed'")!
        }
        #expect(checked <= 5, "\(checked) codes were checked")
    }
}

@Suite struct PatientLifecycleTests {
    @Test func deletingAPatientSignsTheirAppOutAtOnce() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let p = try await People.make(box, client)
            #expect(try await client.get("/api/v1/auth/me", token: p.patientToken).status == .ok)
            #expect(try await client.delete("/api/v1/patients/\(p.patientA)", token: p.adminA).status == .noContent)
            #expect(try await client.get("/api/v1/auth/me", token: p.patientToken).status == .unauthorized)
        }
    }

    @Test func accessHistoryShowsAttemptsFromOtherFacilities() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let p = try await People.make(box, client)
            #expect(try await client.get("/api/v1/patients/\(p.patientA)", token: p.adminB).status == .notFound)
            let history = try await client.get("/api/v1/patients/\(p.patientA)/access-history?limit=100", token: p.adminA)
            let entries = try #require(history.json["data"] as? [[String: Any]])
            #expect(entries.contains { $0["outcome"] as? String == "denied" && $0["facility_id"] as? String == p.facilityB })
        }
    }
}
