import Foundation
import GRDB

/// Refresh-token sessions. A session is a family of rows: each refresh
/// rotates the token (the old row is marked rotated, a new row continues the
/// family). Presenting a rotated token again means it was copied, so the
/// whole family is revoked. Tokens are 256 random bits stored only as a
/// keyed hash. The family id is the session id that access tokens carry.
public struct SessionStore: Sendable {
    public struct Subject: Sendable, Equatable {
        public var kind: Identity.Kind
        public var id: String
        public var facilityID: String?

        public init(kind: Identity.Kind, id: String, facilityID: String?) {
            self.kind = kind
            self.id = id
            self.facilityID = facilityID
        }

        var column: String { kind == .staff ? "staff_id" : "patient_id" }
    }

    public struct Issued: Sendable {
        public var sessionID: String
        public var refreshToken: String
    }

    public enum Rotation: Sendable {
        case rotated(Issued, Subject)
        /// A rotated token came back: the family is now revoked.
        case reuseDetected(sessionID: String, Subject)
        case invalid
    }

    public struct Summary: Sendable, Equatable {
        public var id: String
        public var device: String?
        public var ipAddress: String?
        public var createdAt: String
        public var lastUsedAt: String?
    }

    let cipher: FieldCipher
    let blindIndex: BlindIndex
    let settings: Settings

    public init(cipher: FieldCipher, blindIndex: BlindIndex, settings: Settings) {
        self.cipher = cipher
        self.blindIndex = blindIndex
        self.settings = settings
    }

    func lifetimes(_ kind: Identity.Kind) -> (idle: TimeInterval, absolute: TimeInterval) {
        switch kind {
        case .staff: return (TimeInterval(settings.staffIdleTimeoutMinutes * 60), TimeInterval(settings.staffSessionMaxHours * 3_600))
        case .patient: return (TimeInterval(settings.patientIdleTimeoutMinutes * 60), TimeInterval(settings.patientSessionMaxHours * 3_600))
        }
    }

    /// Opens a new session for `subject` and returns its first refresh token.
    public func start(_ subject: Subject, origin: RequestOrigin, mfaVerified: Bool = false, in db: Database) throws -> Issued {
        let familyID = RowID.make()
        let now = Date()
        let absolute = Timestamp.string(now.addingTimeInterval(lifetimes(subject.kind).absolute))
        return try insertRow(subject, familyID: familyID, parentID: nil, absoluteExpiresAt: absolute, origin: origin,
                             mfaVerifiedAt: mfaVerified ? Timestamp.string(now) : nil, now: now, in: db)
    }

    private func insertRow(_ subject: Subject, familyID: String, parentID: String?, absoluteExpiresAt: String,
                           origin: RequestOrigin, mfaVerifiedAt: String?, now: Date, in db: Database) throws -> Issued {
        let id = RowID.make()
        let token = SecureRandom.token()
        let idle = Timestamp.string(now.addingTimeInterval(lifetimes(subject.kind).idle))
        try db.execute(sql: """
            INSERT INTO sessions (id, subject_kind, staff_id, patient_id, facility_id, family_id, parent_session_id,
                                  refresh_token_bidx, device_enc, ip_address_enc, mfa_verified_at, created_at, last_used_at,
                                  idle_expires_at, absolute_expires_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [
                id, subject.kind.rawValue, subject.kind == .staff ? subject.id : nil, subject.kind == .patient ? subject.id : nil,
                subject.facilityID, familyID, parentID, blindIndex.secretIndex(token, for: .sessionsRefreshToken),
                cipher.seal(optional: origin.device.map { String($0.prefix(200)) }, field: .sessionsDevice, rowID: id),
                cipher.seal(optional: origin.ipAddress, field: .sessionsIpAddress, rowID: id),
                mfaVerifiedAt, Timestamp.string(now), Timestamp.string(now), min(idle, absoluteExpiresAt), absoluteExpiresAt,
            ])
        return Issued(sessionID: familyID, refreshToken: token)
    }

    /// Exchanges a refresh token for a new one. Runs inside the caller's
    /// write transaction, which SQLite serialises: of two concurrent
    /// refreshes of one token exactly one rotates it; the other sees a
    /// rotated token and revokes the family.
    /// A session is idle from its last request seen in `activity` (or, when
    /// none was seen by this process, from its last refresh or saved activity).
    public func rotate(_ refreshToken: String, origin: RequestOrigin, activity: SessionActivity? = nil, at now: Date = Date(),
                       in db: Database) throws -> Rotation {
        let lookup = blindIndex.secretLookup(refreshToken, for: .sessionsRefreshToken)
        guard refreshToken.count <= 200,
              let row = try Row.fetchOne(db, sql: "SELECT * FROM sessions WHERE \(lookup.sql("refresh_token_bidx"))",
                                         arguments: lookup.arguments)
        else { return .invalid }
        let kind = Identity.Kind(rawValue: row["subject_kind"])!
        let subject = Subject(kind: kind, id: kind == .staff ? row["staff_id"] : row["patient_id"], facilityID: row["facility_id"])
        let familyID: String = row["family_id"]
        if row["revoked_at"] as String? != nil { return .invalid }
        if row["rotated_at"] as String? != nil {
            try revoke(sessionID: familyID, reason: "reuse_detected", in: db)
            return .reuseDetected(sessionID: familyID, subject)
        }
        let nowText = Timestamp.string(now)
        var idleExpiresAt: String = row["idle_expires_at"]
        if let seen = activity?.lastSeen(familyID) {
            idleExpiresAt = max(idleExpiresAt, Timestamp.string(seen.addingTimeInterval(lifetimes(kind).idle)))
        }
        if nowText >= idleExpiresAt || nowText >= (row["absolute_expires_at"] as String) {
            try revoke(sessionID: familyID, reason: "expired", in: db)
            return .invalid
        }
        try db.execute(sql: "UPDATE sessions SET rotated_at = ?, last_used_at = ? WHERE id = ? AND rotated_at IS NULL",
                       arguments: [nowText, nowText, row["id"] as String])
        guard db.changesCount == 1 else { return .invalid }
        let issued = try insertRow(subject, familyID: familyID, parentID: row["id"], absoluteExpiresAt: row["absolute_expires_at"],
                                   origin: origin, mfaVerifiedAt: row["mfa_verified_at"], now: now, in: db)
        return .rotated(issued, subject)
    }

    /// Saves a session's latest request: its live row's last use, and its idle
    /// expiry moved on from it (never past the absolute one, never back).
    public func recordActivity(_ activity: SessionActivity.Unsaved, in db: Database) throws {
        let idle = Timestamp.string(activity.lastSeen.addingTimeInterval(lifetimes(activity.kind).idle))
        try db.execute(sql: """
            UPDATE sessions SET last_used_at = ?, idle_expires_at = min(?, absolute_expires_at)
            WHERE family_id = ? AND rotated_at IS NULL AND revoked_at IS NULL AND idle_expires_at < ?
            """, arguments: [Timestamp.string(activity.lastSeen), idle, activity.sessionID, idle])
    }

    /// Ends a session (every row of the family). Returns false when it was
    /// already ended.
    @discardableResult
    public func revoke(sessionID: String, reason: String, in db: Database) throws -> Bool {
        try db.execute(sql: "UPDATE sessions SET revoked_at = ?, revoke_reason = ? WHERE family_id = ? AND revoked_at IS NULL",
                       arguments: [Timestamp.now(), reason, sessionID])
        return db.changesCount > 0
    }

    /// Ends all of a subject's sessions except `keeping`; returns the ids ended.
    public func revokeAll(of subject: Subject, reason: String, keeping: String? = nil, in db: Database) throws -> [String] {
        let families = try String.fetchAll(db, sql: """
            SELECT DISTINCT family_id FROM sessions WHERE \(subject.column) = ? AND revoked_at IS NULL AND family_id IS NOT ?
            """, arguments: [subject.id, keeping])
        for family in families { try revoke(sessionID: family, reason: reason, in: db) }
        return families
    }

    /// The subject's sessions that can still be refreshed, newest first.
    public func active(of subject: Subject, in db: Database) throws -> [Summary] {
        let now = Timestamp.now()
        let rows = try Row.fetchAll(db, sql: """
            SELECT s.id, s.family_id, s.device_enc, s.ip_address_enc, s.last_used_at,
                   (SELECT min(created_at) FROM sessions f WHERE f.family_id = s.family_id) AS started_at
            FROM sessions s
            WHERE s.\(subject.column) = ? AND s.revoked_at IS NULL AND s.rotated_at IS NULL
              AND s.idle_expires_at > ? AND s.absolute_expires_at > ?
            ORDER BY s.last_used_at DESC
            """, arguments: [subject.id, now, now])
        return try rows.map { row in
            let id: String = row["id"]
            return Summary(id: row["family_id"],
                           device: try cipher.openString(optional: row["device_enc"], field: .sessionsDevice, rowID: id),
                           ipAddress: try cipher.openString(optional: row["ip_address_enc"], field: .sessionsIpAddress, rowID: id),
                           createdAt: row["started_at"], lastUsedAt: row["last_used_at"])
        }
    }

    /// Whether `sessionID` belongs to `subject` (for ending one's own session).
    public func belongs(_ sessionID: String, to subject: Subject, in db: Database) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM sessions WHERE family_id = ? AND \(subject.column) = ?)",
                          arguments: [sessionID, subject.id]) ?? false
    }

    /// Sessions ended recently enough that their access tokens may still be
    /// unexpired: loaded into `RevokedSessions` at start-up.
    public static func recentlyRevoked(withinSeconds seconds: Int, in db: Database) throws -> [String] {
        let since = Timestamp.string(Date().addingTimeInterval(-TimeInterval(seconds) - 60))
        return try String.fetchAll(db, sql: "SELECT DISTINCT family_id FROM sessions WHERE revoked_at >= ?", arguments: [since])
    }
}
