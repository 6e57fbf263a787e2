import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Testing
@testable import RecoveryAPI
@testable import RecoveryCore

@Suite struct ConsentTests {
    nonisolated(unsafe) static let consent: [String: Any] = [
        "recipient": "Dr. Ada Okafor, Riverside Family Practice", "purpose": "care_coordination", "information_scope": ["medications", "documents"],
        "information_detail": "Current medications and the discharge summary", "expires_at": "2030-01-01T00:00:00Z",
        "signer_name": "Marisol Quenneville", "signed_on": "2026-11-02",
    ]

    @Test func consentDisclosuresAndRevocation() async throws {
        let box = try await TestAppliance()
        try await box.test { client in
            let p = try await People.make(box, client)
            let url = "/api/v1/patients/\(p.patientA)/consents"
            let made = try await client.post(url, Self.consent, token: p.counselorA1)
            #expect(made.status == .created, "\(made.text)")
            let consent = try #require(made.json["consent"] as? [String: Any])
            let consentID = try #require(consent["id"] as? String)
            #expect(consent["status"] as? String == "active" && consent["discloser"] as? String == "Harbor Light Recovery"
                    || consent["discloser"] is String)
            #expect(consent["recipient"] as? String == "Dr. Ada Okafor, Riverside Family Practice" && consent["signed_by"] as? String == "patient")

            // 42 CFR 2.31: an expiry (a time or a condition), a purpose, a scope, a signature.
            var incomplete = Self.consent
            incomplete.removeValue(forKey: "expires_at")
            #expect(try await client.post(url, incomplete, token: p.counselorA1).errorFields == ["expires_at"])
            var bad = Self.consent
            bad["purpose"] = "marketing"; bad["information_scope"] = ["everything"]; bad["signer_name"] = " "
            #expect(Set(try await client.post(url, bad, token: p.counselorA1).errorFields) == ["purpose", "information_scope", "signer_name"])
            #expect(try await client.post(url, Self.consent, token: p.nurseA).status == .forbidden)
            #expect(try await client.post(url, Self.consent, token: p.adminB).status == .notFound)
            #expect(try await client.get(url, token: p.frontDeskA).status == .ok)

            // A release under the consent is recorded in the accounting.
            let disclosures = "/api/v1/patients/\(p.patientA)/disclosures"
            let released = try await client.post(disclosures, ["consent_id": consentID, "kind": "report", "description": "Medication list faxed"],
                                                  token: p.counselorA1)
            #expect(released.status == .created, "\(released.text)")
            let accounting = try await client.get(disclosures, token: p.counselorA1)
            let entries = try #require(accounting.json["data"] as? [[String: Any]])
            #expect(entries.count == 1 && entries[0]["recipient"] as? String == "Dr. Ada Okafor, Riverside Family Practice")
            #expect(entries[0]["consent_id"] as? String == consentID && entries[0]["purpose"] as? String == "care_coordination")
            // Another patient's consent does not cover this patient.
            let other = try await client.post("/api/v1/patients/\(p.patientA2)/consents", Self.consent, token: p.adminA)
            let otherID = try #require((other.json["consent"] as? [String: Any])?["id"] as? String)
            #expect(try await client.post(disclosures, ["consent_id": otherID, "kind": "report"], token: p.counselorA1).errorFields == ["consent_id"])

            // Revoked: no more releases under it.
            let revoked = try await client.post("/api/v1/consents/\(consentID)/revoke", [:], token: p.counselorA1)
            #expect((revoked.json["consent"] as? [String: Any])?["status"] as? String == "revoked", "\(revoked.text)")
            #expect(try await client.post("/api/v1/consents/\(consentID)/revoke", [:], token: p.counselorA1).status == .conflict)
            #expect(try await client.post("/api/v1/consents/\(consentID)/revoke", [:], token: p.adminB).status == .notFound)
            let refused = try await client.post(disclosures, ["consent_id": consentID, "kind": "report"], token: p.counselorA1)
            #expect(refused.status == .conflict, "\(refused.text)")
            #expect(((try await client.get(disclosures, token: p.counselorA1)).json["data"] as? [Any])?.count == 1)

            // The accounting is append-only in the database.
            await #expect(throws: (any Error).self) {
                try await box.appliance.database.pool.write { db in try db.execute(sql: "DELETE FROM disclosures") }
            }
        }
    }
}
