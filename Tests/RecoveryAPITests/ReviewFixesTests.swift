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

    /// A facility's administrator sees the entries of their facility only,
    /// in a patient's access history and in the audit log; a super admin
    /// sees every facility's. (Facility B's attempt on facility A's patient
    /// is recorded for facility B.)
    @Test func auditEntriesAreShownToTheirOwnFacilityOnly() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let p = try await People.make(box, client)
            #expect(try await client.get("/api/v1/patients/\(p.patientA)", token: p.adminB).status == .notFound)
            #expect(try await client.get("/api/v1/patients/\(p.patientA)", token: p.adminA).status == .ok)
            #expect(try await client.get("/api/v1/patients/\(p.patientB)", token: p.adminB).status == .ok)
            func facilities(_ path: String, _ token: String) async throws -> [String?] {
                let response = try await client.get(path, token: token)
                let entries = try #require(response.json["data"] as? [[String: Any]], "\(response.status) \(response.text)")
                return entries.map { $0["facility_id"] as? String }
            }

            let historyA = try await facilities("/api/v1/patients/\(p.patientA)/access-history?limit=100", p.adminA)
            #expect(historyA.contains(p.facilityA))
            #expect(historyA.allSatisfy { $0 == p.facilityA })
            let historyRoot = try await facilities("/api/v1/patients/\(p.patientA)/access-history?limit=100", p.superAdmin)
            #expect(historyRoot.contains(p.facilityA) && historyRoot.contains(p.facilityB))

            for query in ["limit=100", "patient_id=\(p.patientA)&limit=100", "action=patient.read&limit=100"] {
                let logA = try await facilities("/api/v1/audit-logs?\(query)", p.adminA)
                #expect(!logA.isEmpty && logA.allSatisfy { $0 == p.facilityA }, "\(query)")
                let logB = try await facilities("/api/v1/audit-logs?\(query)", p.adminB)
                #expect(logB.allSatisfy { $0 == p.facilityB }, "\(query)")
            }
            #expect(try await facilities("/api/v1/audit-logs?patient_id=\(p.patientA)&limit=100", p.superAdmin).contains(p.facilityB))
        }
    }
}
