import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
@testable import RecoveryAPI
@testable import RecoveryCore

/// Request bodies whose meaning depends on the parser are refused.
@Suite struct RequestBodyTests {
    @Test func aRepeatedKeyIsRefusedNamingItAndNothingIsStored() async throws {
        let box = try await TestAppliance()
        @Sendable func count(_ table: String) async throws -> Int {
            try await box.appliance.database.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)") ?? 0 }
        }
        try await box.test { client in
            let p = try await People.make(box, client)
            let patients = try await count("patients"), checkIns = try await count("patient_check_ins")
            func send(_ uri: String, _ body: String, token: String) async throws -> TestResponse {
                var headers = jsonHeaders
                headers[.authorization] = "Bearer \(token)"
                return try await client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: body))
            }

            let top = try await send("/api/v1/patients", """
                {"first_name": "Ann", "last_name": "Berry", "date_of_birth": "1990-01-01", "last_name": "Carver"}
                """, token: p.adminA)
            #expect(top.status == .badRequest)
            #expect(top.errorCode == "invalid_json")
            #expect(top.errorFields == ["last_name"])
            #expect(top.text.contains("repeats the key last_name"))
            #expect(!top.text.contains("Berry") && !top.text.contains("Carver"))

            let day = String(Timestamp.now().prefix(10))
            let nested = try await send("/api/v1/sync/push", """
                {"items": [{"id": "\(UUID().uuidString.lowercased())", "type": "check_in", "op": "upsert",
                            "data": {"local_date": "\(day)", "timezone": "UTC", "mood": 7, "mood": 2}}]}
                """, token: p.patientToken)
            #expect(nested.status == .badRequest)
            #expect(nested.errorCode == "invalid_json")
            #expect(nested.errorFields == ["items[0].data.mood"])

            #expect(try await count("patients") == patients)
            #expect(try await count("patient_check_ins") == checkIns)
        }
    }
}
