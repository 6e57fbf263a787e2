import Foundation
import GRDB

/// The staff second factor: TOTP enrolment (with recovery codes) and the
/// second step of sign-in.
extension AuthService {
    public struct Enrolment: Sendable, Equatable {
        /// RFC 4648 base32 of the key, for typing into an authenticator app.
        public var secret: String
        /// The `otpauth://` URI (a QR code) carrying the same key.
        public var uri: String
    }

    /// Second step of sign-in: a TOTP code or an unused recovery code.
    public func verifySecondFactor(challenge: String, code: String, origin: RequestOrigin) async throws -> SignedInStaff {
        let found = try await database.read { db in try mfaChallenges.find(challenge, purpose: .login, in: db) }
        guard let found else { throw AuthError.mfaInvalid }
        let accountKey = "mfa:" + found.staffID
        // Counted before the code is checked, so parallel guesses are limited too.
        let reservation = try await reserve(.mfa, account: accountKey, origin: origin)
        enum Outcome { case signedIn(StaffAccount, SessionStore.Issued), wrong }
        let outcome = try await database.write { db -> Outcome in
            // Re-checked inside the transaction: still live, under five tries, not expired.
            guard let live = try mfaChallenges.find(challenge, purpose: .login, in: db), live.id == found.id,
                  let account = try appliance.staffStore.account(id: found.staffID, in: db), account.isActive,
                  let factor = try checkFactor(code, staffID: found.staffID, in: db)
            else {
                try mfaChallenges.recordWrongCode(found.id, in: db)
                try appliance.audit.append(AuditEvent(
                    action: "auth.mfa_failed", outcome: .failure, actorKind: .staff, actorID: found.staffID,
                    ipAddress: origin.ipAddress, requestID: origin.requestID), in: db)
                return .wrong
            }
            // Spent by a racing request: roll back, so this code is not used up for nothing.
            guard try mfaChallenges.consume(found.id, in: db) else { throw AuthError.mfaInvalid }
            try appliance.throttle.release(reservation, in: db)
            return .signedIn(account, try startStaffSession(account, origin: origin, mfa: factor, in: db))
        }
        guard case .signedIn(let account, let issued) = outcome else { throw AuthError.mfaInvalid }
        return try await signedIn(account, issued)
    }

    /// Checks a code and spends it: "totp" or "recovery_code", nil when wrong.
    func checkFactor(_ code: String, staffID: String, in db: Database) throws -> String? {
        guard let row = try Row.fetchOne(db, sql: "SELECT totp_secret_enc, totp_last_used_step FROM staff WHERE id = ?", arguments: [staffID]),
              let sealed = row["totp_secret_enc"] as Data? else { return nil }
        let secret = try appliance.cipher.openString(sealed, field: .staffTotpSecret, rowID: staffID)
        if let step = TOTPFactor.matchingStep(code: code, secret: secret, lastUsedStep: row["totp_last_used_step"]) {
            try db.execute(sql: "UPDATE staff SET totp_last_used_step = ? WHERE id = ?", arguments: [step, staffID])
            return "totp"
        }
        let canonical = TOTPFactor.canonicalRecoveryCode(code)
        guard canonical.count == 10 else { return nil }
        let lookup = appliance.blindIndex.secretLookup(canonical, for: .staffMfaRecoveryCodesCode)
        try db.execute(sql: "UPDATE staff_mfa_recovery_codes SET used_at = ? WHERE staff_id = ? AND \(lookup.sql("code_bidx")) AND used_at IS NULL",
                       arguments: [Timestamp.now(), staffID] + lookup.arguments)
        return db.changesCount == 1 ? "recovery_code" : nil
    }

    /// Starts TOTP enrolment for a signed-in staff member, who confirms their
    /// password first (a borrowed session cannot attach its own authenticator).
    /// A wrong password is audited and counts against the account's sign-in limit.
    public func beginEnrolment(_ identity: Identity, password: String, origin: RequestOrigin) async throws -> Enrolment {
        let accountKey = LoginThrottle.accountKey(.staff, id: identity.subjectID)
        let reservation = try await reserve(.login, account: accountKey, origin: origin)
        let hash = try await database.read { db in try appliance.staffStore.account(id: identity.subjectID, in: db)?.passwordHash }
        guard try await appliance.passwords.verify(password, against: hash) else {
            try await recordFailure(.login, account: accountKey, origin: origin,
                                    event: event("auth.mfa_setup_failed", .failure, identity: identity, origin: origin,
                                                 details: ["reason": "invalid_credentials"]))
            throw AuthError.wrongPassword(field: "password")
        }
        return try await database.write { db in
            try appliance.throttle.release(reservation, in: db)
            return try startEnrolment(staffID: identity.subjectID, origin: origin, in: db)
        }
    }

    /// Confirms enrolment with a first code; returns the recovery codes, shown once.
    public func confirmEnrolment(_ identity: Identity, code: String, origin: RequestOrigin) async throws -> [String] {
        let codes = try await database.write { db in try finishEnrolment(staffID: identity.subjectID, code: code, origin: origin, in: db) }
        guard let codes else { throw AuthError.mfaInvalid }
        return codes
    }

    /// Enrolment at first sign-in, when the facility requires a second factor.
    public func beginEnrolment(challenge: String, origin: RequestOrigin) async throws -> Enrolment {
        try await database.write { db in
            guard let found = try mfaChallenges.find(challenge, purpose: .enrol, in: db) else { throw AuthError.mfaInvalid }
            return try startEnrolment(staffID: found.staffID, origin: origin, in: db)
        }
    }

    /// Completes enrolment at sign-in: the session starts and the recovery codes are returned once.
    public func confirmEnrolment(challenge: String, code: String, origin: RequestOrigin) async throws -> (SignedInStaff, [String]) {
        enum Outcome { case done(StaffAccount, SessionStore.Issued, [String]), wrong }
        let outcome = try await database.write { db -> Outcome in
            guard let found = try mfaChallenges.find(challenge, purpose: .enrol, in: db) else { return .wrong }
            guard let codes = try finishEnrolment(staffID: found.staffID, code: code, origin: origin, in: db),
                  try mfaChallenges.consume(found.id, in: db),
                  let account = try appliance.staffStore.account(id: found.staffID, in: db), account.isActive
            else {
                try mfaChallenges.recordWrongCode(found.id, in: db)
                return .wrong
            }
            return .done(account, try startStaffSession(account, origin: origin, mfa: "totp", in: db), codes)
        }
        guard case .done(let account, let issued, let codes) = outcome else { throw AuthError.mfaInvalid }
        return (try await signedIn(account, issued), codes)
    }

    func startEnrolment(staffID: String, origin: RequestOrigin, in db: Database) throws -> Enrolment {
        guard let account = try appliance.staffStore.account(id: staffID, in: db) else { throw AuthError.mfaInvalid }
        if account.mfaEnabled { throw AuthError.mfaAlreadyEnabled }
        let secret = TOTPFactor.newSecret()
        try db.execute(sql: "UPDATE staff SET totp_secret_enc = ?, totp_last_used_step = NULL WHERE id = ?",
                       arguments: [appliance.cipher.seal(secret, field: .staffTotpSecret, rowID: staffID), staffID])
        let issuer = try account.facilityID.flatMap { try String.fetchOne(db, sql: "SELECT name FROM facilities WHERE id = ?", arguments: [$0]) }
            ?? "Recovery Appliance"
        try appliance.audit.append(event("auth.mfa_enrolment_started", .success, staff: account, origin: origin), in: db)
        return Enrolment(secret: TOTPFactor.displayed(secret), uri: TOTPFactor.uri(secret: secret, account: account.email, issuer: issuer))
    }

    /// nil when the code does not match the pending secret.
    func finishEnrolment(staffID: String, code: String, origin: RequestOrigin, in db: Database) throws -> [String]? {
        guard let account = try appliance.staffStore.account(id: staffID, in: db) else { return nil }
        if account.mfaEnabled { throw AuthError.mfaAlreadyEnabled }
        guard let sealed = try Data.fetchOne(db, sql: "SELECT totp_secret_enc FROM staff WHERE id = ?", arguments: [staffID]) else {
            throw AuthError.mfaNotStarted
        }
        let secret = try appliance.cipher.openString(sealed, field: .staffTotpSecret, rowID: staffID)
        guard let step = TOTPFactor.matchingStep(code: code, secret: secret, lastUsedStep: nil) else { return nil }
        let now = Timestamp.now()
        try db.execute(sql: "UPDATE staff SET mfa_enabled = 1, mfa_enrolled_at = ?, totp_last_used_step = ?, updated_at = ? WHERE id = ?",
                       arguments: [now, step, now, staffID])
        try db.execute(sql: "UPDATE staff_mfa_recovery_codes SET used_at = ? WHERE staff_id = ? AND used_at IS NULL", arguments: [now, staffID])
        let codes = TOTPFactor.newRecoveryCodes()
        for code in codes {
            try db.execute(sql: "INSERT INTO staff_mfa_recovery_codes (id, staff_id, code_bidx, created_at) VALUES (?, ?, ?, ?)", arguments: [
                RowID.make(), staffID,
                appliance.blindIndex.secretIndex(TOTPFactor.canonicalRecoveryCode(code), for: .staffMfaRecoveryCodesCode), now])
        }
        try appliance.audit.append(event("auth.mfa_enrolled", .success, staff: account, origin: origin), in: db)
        return codes
    }
}
