import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Testing
@testable import RecoveryAPI
@testable import RecoveryCore

/// Patient numbers reveal nothing, and a patient's sign-in limit is one per
/// account whichever identifier is typed.
@Suite struct PatientSignInTests {
    @Test func patientNumbersAreRandomUniqueAndSignIn() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let token = try await client.staffToken()
            var numbers: [String] = []
            for index in 0..<10 {
                let created = try await client.post("/api/v1/patients", ["first_name": "Pat\(index)", "last_name": "Number", "date_of_birth": "1990-04-12"],
                                                    token: token)
                numbers.append(try #require((created.json["patient"] as? [String: Any])?["patient_number"] as? String))
            }
            for number in numbers {
                #expect(number.range(of: "^P-[A-HJKMNP-Z2-9]{8}$", options: .regularExpression) != nil, "\(number)")
            }
            #expect(Set(numbers).count == numbers.count)
            #expect(numbers != numbers.sorted(), "ten random numbers came out in creation order (1 in 3.6 million)")

            let (patientID, key) = try await client.createPatient(token: token)
            #expect(try await client.post("/api/v1/auth/patient/register", ["registration_key": key, "password": "blue heron at dawn 7"]).status == .created)
            let number = try await box.appliance.database.pool.read { db in
                try String.fetchOne(db, sql: "SELECT patient_number FROM patients WHERE id = ?", arguments: [patientID])!
            }
            // Typed in lower case and with spaces around, as on a phone.
            let login = try await client.post("/api/v1/auth/patient/login", ["identifier": " \(number.lowercased()) ", "password": "blue heron at dawn 7"])
            #expect(login.status == .ok)
        }
        // The box refuses a second patient with the same number, in any facility.
        await #expect(throws: DatabaseError.self) {
            try await box.appliance.database.pool.write { db in
                try db.execute(sql: """
                    UPDATE patients SET patient_number = (SELECT max(patient_number) FROM patients)
                    WHERE id = (SELECT id FROM patients WHERE patient_number < (SELECT max(patient_number) FROM patients) LIMIT 1)
                    """)
            }
        }
    }

    @Test func anEmailAndAPatientNumberShareOneSignInLimit() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let token = try await client.staffToken()
            let (patientID, key) = try await client.createPatient(token: token)
            #expect(try await client.post("/api/v1/auth/patient/register", ["registration_key": key, "password": "blue heron at dawn 7",
                                                                           "email": "jordan@example.org"]).status == .created)
            let number = try await box.appliance.database.pool.read { db in
                try String.fetchOne(db, sql: "SELECT patient_number FROM patients WHERE id = ?", arguments: [patientID])!
            }
            // Alternating identifiers: five failures in all lock the one account.
            for identifier in ["jordan@example.org", number, "JORDAN@example.org", number.lowercased(), "jordan@example.org"] {
                #expect(try await client.post("/api/v1/auth/patient/login", ["identifier": identifier, "password": "wrong guess here"]).status == .unauthorized)
            }
            for identifier in [number, "jordan@example.org"] {
                #expect(try await client.post("/api/v1/auth/patient/login", ["identifier": identifier, "password": "blue heron at dawn 7"]).status == .tooManyRequests)
            }
            // An unknown identifier is counted on its own and locks the same way.
            for _ in 0..<5 {
                #expect(try await client.post("/api/v1/auth/patient/login", ["identifier": "P-ZZZZZZZZ", "password": "wrong guess here"]).status == .unauthorized)
            }
            #expect(try await client.post("/api/v1/auth/patient/login", ["identifier": "P-ZZZZZZZZ", "password": "wrong guess here"]).status == .tooManyRequests)

            // An administrator's unlock lifts the account's one lock.
            #expect(try await client.post("/api/v1/patients/\(patientID)/unlock", [:], token: token).status == .noContent)
            #expect(try await client.post("/api/v1/auth/patient/login", ["identifier": number, "password": "blue heron at dawn 7"]).status == .ok)
        }
    }
}
