import Foundation
import GRDB

/// Short-lived tokens standing between a correct password and a session when
/// a second factor is needed: `login` (enter a code) or `enrol` (set up an
/// authenticator first, as the facility requires). Stored as a keyed hash;
/// five wrong codes spend a challenge.
public struct MFAChallengeStore: Sendable {
    public enum Purpose: String, Sendable { case login, enrol }
    public static let lifetimeSeconds = 300
    static let maxAttempts = 5

    let blindIndex: BlindIndex

    public func create(staffID: String, purpose: Purpose, in db: Database) throws -> String {
        let token = SecureRandom.token()
        let now = Date()
        try db.execute(sql: """
            INSERT INTO mfa_challenges (id, staff_id, token_bidx, purpose, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)
            """, arguments: [RowID.make(), staffID, blindIndex.secretIndex(token, for: .mfaChallengesToken),
                             purpose.rawValue, Timestamp.string(now), Timestamp.string(now.addingTimeInterval(TimeInterval(Self.lifetimeSeconds)))])
        return token
    }

    /// The live challenge for `token` and `purpose`: (challenge id, staff id).
    public func find(_ token: String, purpose: Purpose, in db: Database) throws -> (id: String, staffID: String)? {
        let lookup = blindIndex.secretLookup(token, for: .mfaChallengesToken)
        guard token.count <= 200, let row = try Row.fetchOne(db, sql: """
            SELECT id, staff_id FROM mfa_challenges
            WHERE \(lookup.sql("token_bidx")) AND purpose = ? AND consumed_at IS NULL AND expires_at > ? AND attempt_count < ?
            """, arguments: lookup.arguments + [purpose.rawValue, Timestamp.now(), Self.maxAttempts])
        else { return nil }
        return (row["id"], row["staff_id"])
    }

    public func recordWrongCode(_ id: String, in db: Database) throws {
        try db.execute(sql: "UPDATE mfa_challenges SET attempt_count = attempt_count + 1 WHERE id = ?", arguments: [id])
    }

    /// Spends the challenge; false when it was already spent (a race).
    public func consume(_ id: String, in db: Database) throws -> Bool {
        try db.execute(sql: "UPDATE mfa_challenges SET consumed_at = ? WHERE id = ? AND consumed_at IS NULL", arguments: [Timestamp.now(), id])
        return db.changesCount == 1
    }
}
