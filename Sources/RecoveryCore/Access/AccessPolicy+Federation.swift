import Foundation
import GRDB

/// Federated clinics, the policy's third kind of caller: a clinic is known by
/// the id central gave it at enrolment and proves itself by its signature,
/// not a token. It may submit its own aggregate payloads and nothing else; it
/// reaches no patient record (the patient, facility and conversation rules
/// refuse `.clinic`).
extension AccessPolicy {
    /// An enrolled clinic's principal and pinned public key: unknown or
    /// pending clinics are `unknownClinic`, revoked ones `clinicRevoked`.
    public static func federatedClinic(_ clinicID: String, in db: Database) throws -> (principal: Principal, publicKey: Data) {
        guard let row = try Row.fetchOne(db, sql: """
            SELECT enrollment_status, public_key FROM federation_peers WHERE id = ? AND role = 'clinic'
            """, arguments: [clinicID]) else { throw FederationError.unknownClinic }
        switch row["enrollment_status"] as String {
        case "active": return (.clinic(id: clinicID), row["public_key"])
        case "revoked": throw FederationError.clinicRevoked
        default: throw FederationError.unknownClinic
        }
    }
}
