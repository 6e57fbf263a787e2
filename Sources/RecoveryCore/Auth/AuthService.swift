import Foundation
import GRDB

/// Sign-in, registration, token refresh, sign-out and password changes for
/// staff and patients. Every outcome is audited (never with the password or
/// a token); failures are counted by `LoginThrottle`; unknown accounts cost
/// the same password verification as wrong passwords.
public struct AuthService: Sendable {
    public struct Tokens: Sendable, Equatable {
        public var accessToken: String
        public var refreshToken: String
        public var expiresIn: Int
        public var sessionID: String
    }

    public struct SignedInStaff: Sendable {
        public var tokens: Tokens
        public var account: StaffAccount
        /// The session can do nothing but change the password (see `PendingPasswordChanges`).
        public var passwordChangeRequired: Bool { account.mustChangePassword }
    }

    public struct SignedInPatient: Sendable {
        public var tokens: Tokens
        public var account: PatientAccount
    }

    let appliance: Appliance

    public init(appliance: Appliance) {
        self.appliance = appliance
    }

    var database: DatabasePool { appliance.database.pool }

    // MARK: Access tokens

    /// The identity behind a bearer token: valid signature, unexpired, its
    /// session not ended and not idle longer than its limit. The request
    /// counts as the session's activity.
    public func authenticate(bearer token: String, at now: Date = Date()) async -> Identity? {
        guard token.count < 4_096, let identity = await appliance.accessTokens.verify(token),
              !appliance.revokedSessions.contains(identity.sessionID) else { return nil }
        guard appliance.sessionActivity.record(identity, at: now) else {
            await endIdleSession(identity.sessionID)
            return nil
        }
        return identity
    }

    /// Whether the caller must change an administrator-set password before anything else.
    public func mustChangePassword(_ identity: Identity) -> Bool {
        identity.kind == .staff && appliance.pendingPasswordChanges.contains(identity.subjectID)
    }

    /// Ends a session found idle on a request (HIPAA automatic logoff).
    func endIdleSession(_ sessionID: String) async {
        appliance.revokedSessions.insert([sessionID])
        _ = try? await database.write { db in try appliance.sessionStore.revoke(sessionID: sessionID, reason: "expired", in: db) }
    }

    /// Writes the sessions' recent activity to `sessions` (last use, idle
    /// expiry), so refreshes after a restart still see it. Runs once a minute.
    public func saveSessionActivity() async throws {
        let unsaved = appliance.sessionActivity.takeUnsaved()
        guard !unsaved.isEmpty else { return }
        try await database.write { db in
            for activity in unsaved {
                try appliance.sessionStore.recordActivity(activity, in: db)
            }
        }
    }

    func issueTokens(_ identity: Identity, refreshToken: String) async throws -> Tokens {
        Tokens(accessToken: try await appliance.accessTokens.issue(for: identity), refreshToken: refreshToken,
               expiresIn: appliance.accessTokens.lifetimeSeconds, sessionID: identity.sessionID)
    }

    // MARK: Staff

    /// A correct password either signs in or asks for the second factor.
    public enum StaffLoginOutcome: Sendable {
        case signedIn(SignedInStaff)
        /// Enter a code (`enrolment` false) or set up an authenticator first (true).
        case secondFactor(challenge: String, enrolment: Bool)
    }

    public func staffLogin(email: String, password: String, origin: RequestOrigin) async throws -> StaffLoginOutcome {
        let account = try await database.read { db in try appliance.staffStore.account(email: email, in: db) }
        let accountKey = account.map { LoginThrottle.accountKey(.staff, id: $0.id) } ?? LoginThrottle.accountKey(unknown: email)
        let reservation = try await reserve(.login, account: accountKey, origin: origin)
        let matches = try await appliance.passwords.verify(password, against: account?.passwordHash)
        guard let account, matches, account.isActive else {
            try await recordFailure(.login, account: accountKey, origin: origin, event: AuditEvent(
                action: "auth.login_failed", outcome: .failure, actorKind: account == nil ? .anonymous : .staff,
                actorID: account?.id, facilityID: account?.facilityID,
                details: ["kind": "staff", "reason": account?.isActive == false ? "inactive" : "invalid_credentials"]))
            throw AuthError.invalidCredentials
        }
        let upgraded = appliance.passwords.needsRehash(account.passwordHash) ? try await appliance.passwords.hash(password) : nil
        enum Step { case session(SessionStore.Issued), challenge(String, enrolment: Bool), changed }
        let step = try await database.write { db -> Step in
            // The account may have changed while the password was checked
            // (password change, deactivation, role change): then this sign-in fails.
            guard let current = try appliance.staffStore.account(id: account.id, in: db), current.isActive,
                  current.passwordHash == account.passwordHash, current.role == account.role else { return .changed }
            try appliance.throttle.release(reservation, in: db)
            if let upgraded {
                try db.execute(sql: "UPDATE staff SET password_hash = ? WHERE id = ?", arguments: [upgraded, account.id])
            }
            let required = try MFAPolicy.requires(account, in: db)
            if account.mfaEnabled || required {
                let purpose: MFAChallengeStore.Purpose = account.mfaEnabled ? .login : .enrol
                let token = try mfaChallenges.create(staffID: account.id, purpose: purpose, in: db)
                try appliance.audit.append(event("auth.mfa_challenge", .success, staff: account, origin: origin,
                                                 details: ["purpose": purpose.rawValue]), in: db)
                return .challenge(token, enrolment: purpose == .enrol)
            }
            return .session(try startStaffSession(account, origin: origin, mfa: nil, in: db))
        }
        switch step {
        case .challenge(let token, let enrolment):
            return .secondFactor(challenge: token, enrolment: enrolment)
        case .session(let issued):
            return .signedIn(try await signedIn(account, issued))
        case .changed:
            throw AuthError.invalidCredentials
        }
    }

    /// Opens a staff session and audits the sign-in (`mfa` names the factor used).
    func startStaffSession(_ account: StaffAccount, origin: RequestOrigin, mfa: String?, in db: Database) throws -> SessionStore.Issued {
        try db.execute(sql: "UPDATE staff SET last_login_at = ? WHERE id = ?", arguments: [Timestamp.now(), account.id])
        let subject = SessionStore.Subject(kind: .staff, id: account.id, facilityID: account.facilityID)
        let issued = try appliance.sessionStore.start(subject, origin: origin, mfaVerified: mfa != nil, in: db)
        var details = ["kind": "staff", "session_id": issued.sessionID]
        if let mfa { details["mfa"] = mfa }
        try appliance.audit.append(event("auth.login", .success, staff: account, origin: origin, details: details), in: db)
        return issued
    }

    func signedIn(_ account: StaffAccount, _ issued: SessionStore.Issued) async throws -> SignedInStaff {
        let identity = Identity(kind: .staff, subjectID: account.id, role: account.role, facilityID: account.facilityID,
                                sessionID: issued.sessionID)
        return SignedInStaff(tokens: try await issueTokens(identity, refreshToken: issued.refreshToken), account: account)
    }

    var mfaChallenges: MFAChallengeStore { MFAChallengeStore(blindIndex: appliance.blindIndex) }

    // MARK: Patients

    public func registerPatient(key: String, password: String, email: String?, origin: RequestOrigin) async throws -> SignedInPatient {
        let reservation = try await reserve(.registration, account: nil, origin: origin)
        if let email, !StaffProfile.isPlausibleEmail(email) {
            throw AuthError.invalid(field: "email", issue: "must be an email address like name@example.org")
        }
        if let problem = PasswordPolicy(settings: appliance.settings).problem(with: password, email: email) {
            throw AuthError.invalid(field: "password", issue: problem)
        }
        let hash = try await appliance.passwords.hash(password)
        enum Outcome { case registered(PatientAccount, SessionStore.Issued), wrongKey }
        let outcome = try await database.write { db -> Outcome in
            guard let (patientID, facilityID) = try appliance.registrationKeys.consume(key, in: db),
                  let patient = try appliance.patientStore.account(id: patientID, in: db), !patient.isDeleted, patient.status != "inactive"
            else {
                try appliance.audit.append(AuditEvent(
                    action: "auth.registration_failed", outcome: .failure, actorKind: .anonymous,
                    ipAddress: origin.ipAddress, requestID: origin.requestID, details: ["reason": "invalid_registration_key"]), in: db)
                return .wrongKey
            }
            // Throwing below rolls the transaction back, so the key stays usable.
            if patient.passwordHash != nil { throw AuthError.alreadyRegistered }
            if let email, try appliance.patientStore.emailInUse(email, facilityID: facilityID, exceptPatient: patientID, in: db) { throw AuthError.emailInUse }
            try appliance.throttle.release(reservation, in: db)
            let now = Timestamp.now()
            try db.execute(sql: """
                UPDATE patients SET password_hash = ?, registered_at = ?, password_changed_at = ?, updated_at = ?,
                       status = CASE status WHEN 'pending_registration' THEN 'active' ELSE status END
                WHERE id = ?
                """, arguments: [hash, now, now, now, patientID])
            if let email {
                try db.execute(sql: "UPDATE patients SET email_enc = ?, email_bidx = ? WHERE id = ?", arguments: [
                    appliance.cipher.seal(email, field: .patientsEmail, rowID: patientID),
                    appliance.blindIndex.index(email, for: .patientsEmail), patientID])
                try PatientCard.refresh(patientID, cipher: appliance.cipher, in: db)
            }
            let issued = try appliance.sessionStore.start(.init(kind: .patient, id: patientID, facilityID: facilityID), origin: origin, in: db)
            try appliance.audit.append(AuditEvent(
                action: "auth.patient_registered", outcome: .success, actorKind: .patient, actorID: patientID,
                facilityID: facilityID, resourceType: "patient", resourceID: patientID, patientID: patientID,
                ipAddress: origin.ipAddress, requestID: origin.requestID, details: ["session_id": issued.sessionID]), in: db)
            return .registered(try appliance.patientStore.account(id: patientID, in: db)!, issued)
        }
        guard case .registered(let account, let issued) = outcome else { throw AuthError.invalidRegistrationKey }
        let identity = Identity(kind: .patient, subjectID: account.id, role: nil, facilityID: account.facilityID, sessionID: issued.sessionID)
        return SignedInPatient(tokens: try await issueTokens(identity, refreshToken: issued.refreshToken), account: account)
    }

    public func patientLogin(identifier: String, password: String, origin: RequestOrigin) async throws -> SignedInPatient {
        // Resolved first, so an email and a patient number of one patient share one count.
        let candidates = try await database.read { db in try appliance.patientStore.accounts(identifier: identifier, in: db) }
        let accountKey = candidates.count == 1 ? LoginThrottle.accountKey(.patient, id: candidates[0].id) : LoginThrottle.accountKey(unknown: identifier)
        let reservation = try await reserve(.login, account: accountKey, origin: origin)
        // An email may belong to patients of several facilities: the password
        // decides. An email sign-in always pays for two checks, so its time
        // does not tell whether another facility has a patient with it.
        var matching: [PatientAccount] = []
        for candidate in candidates where try await appliance.passwords.verify(password, against: candidate.passwordHash) {
            matching.append(candidate)
        }
        for _ in candidates.count..<max(candidates.count, identifier.contains("@") ? 2 : 1) {
            _ = try await appliance.passwords.verify(password, against: nil)
        }
        let named = candidates.count == 1 ? candidates.first : nil
        if matching.count > 1 {
            // The right password, for accounts at two facilities: not a failed guess.
            try await database.write { db in
                try appliance.throttle.release(reservation, in: db)
                try appliance.audit.append(AuditEvent(
                    action: "auth.login_failed", outcome: .failure, actorKind: .anonymous, ipAddress: origin.ipAddress,
                    requestID: origin.requestID, details: ["kind": "patient", "reason": "ambiguous_email"]), in: db)
            }
            throw AuthError.ambiguousEmail
        }
        guard matching.count == 1, let account = matching.first, account.canSignIn else {
            try await recordFailure(.login, account: accountKey, origin: origin, event: AuditEvent(
                action: "auth.login_failed", outcome: .failure, actorKind: named == nil ? .anonymous : .patient,
                actorID: named?.id, facilityID: named?.facilityID, patientID: named?.id,
                details: ["kind": "patient", "reason": "invalid_credentials"]))
            throw AuthError.invalidCredentials
        }
        let upgraded = appliance.passwords.needsRehash(account.passwordHash!) ? try await appliance.passwords.hash(password) : nil
        let issued = try await database.write { db -> SessionStore.Issued? in
            guard let current = try appliance.patientStore.account(id: account.id, in: db), current.canSignIn,
                  current.passwordHash == account.passwordHash else { return nil }
            try appliance.throttle.release(reservation, in: db)
            if let upgraded {
                try db.execute(sql: "UPDATE patients SET password_hash = ? WHERE id = ?", arguments: [upgraded, account.id])
            }
            try db.execute(sql: "UPDATE patients SET last_login_at = ? WHERE id = ?", arguments: [Timestamp.now(), account.id])
            let issued = try appliance.sessionStore.start(.init(kind: .patient, id: account.id, facilityID: account.facilityID),
                                                          origin: origin, in: db)
            try appliance.audit.append(AuditEvent(
                action: "auth.login", outcome: .success, actorKind: .patient, actorID: account.id, facilityID: account.facilityID,
                patientID: account.id, ipAddress: origin.ipAddress, requestID: origin.requestID,
                details: ["kind": "patient", "session_id": issued.sessionID]), in: db)
            return issued
        }
        guard let issued else { throw AuthError.invalidCredentials }
        let identity = Identity(kind: .patient, subjectID: account.id, role: nil, facilityID: account.facilityID, sessionID: issued.sessionID)
        return SignedInPatient(tokens: try await issueTokens(identity, refreshToken: issued.refreshToken), account: account)
    }

    // MARK: Sessions

    /// Rotates a refresh token. A token used twice ends its whole session.
    public func refresh(_ refreshToken: String, origin: RequestOrigin, at now: Date = Date()) async throws -> Tokens {
        enum Outcome { case rotated(Identity, String), reused(String), invalid }
        let activity = appliance.sessionActivity
        let outcome = try await database.write { db -> Outcome in
            switch try appliance.sessionStore.rotate(refreshToken, origin: origin, activity: activity, at: now, in: db) {
            case .invalid:
                return .invalid
            case .reuseDetected(let sessionID, let subject):
                try appliance.audit.append(AuditEvent(
                    action: "auth.refresh_reuse_detected", outcome: .denied, actorKind: subject.kind == .staff ? .staff : .patient,
                    actorID: subject.id, facilityID: subject.facilityID, patientID: subject.kind == .patient ? subject.id : nil,
                    ipAddress: origin.ipAddress, requestID: origin.requestID, details: ["session_id": sessionID]), in: db)
                return .reused(sessionID)
            case .rotated(let issued, let subject):
                guard let identity = try currentIdentity(subject, sessionID: issued.sessionID, in: db) else {
                    try appliance.sessionStore.revoke(sessionID: issued.sessionID, reason: "account_disabled", in: db)
                    return .reused(issued.sessionID)
                }
                return .rotated(identity, issued.refreshToken)
            }
        }
        switch outcome {
        case .invalid:
            throw AuthError.invalidRefreshToken
        case .reused(let sessionID):
            appliance.revokedSessions.insert([sessionID])
            throw AuthError.invalidRefreshToken
        case .rotated(let identity, let token):
            activity.record(identity.sessionID, kind: identity.kind, at: now)
            return try await issueTokens(identity, refreshToken: token)
        }
    }

    /// The identity a session's owner has now (role changes apply at the
    /// next refresh); nil when the account may no longer sign in.
    func currentIdentity(_ subject: SessionStore.Subject, sessionID: String, in db: Database) throws -> Identity? {
        switch subject.kind {
        case .staff:
            guard let staff = try appliance.staffStore.account(id: subject.id, in: db), staff.isActive else { return nil }
            return Identity(kind: .staff, subjectID: staff.id, role: staff.role, facilityID: staff.facilityID, sessionID: sessionID)
        case .patient:
            guard let patient = try appliance.patientStore.account(id: subject.id, in: db), patient.canSignIn else { return nil }
            return Identity(kind: .patient, subjectID: patient.id, role: nil, facilityID: patient.facilityID, sessionID: sessionID)
        }
    }

    public func logout(_ identity: Identity, origin: RequestOrigin) async throws {
        try await endSession(identity.sessionID, of: identity, action: "auth.logout", origin: origin)
    }

    public func sessions(of identity: Identity) async throws -> [SessionStore.Summary] {
        try await database.read { db in try appliance.sessionStore.active(of: subject(identity), in: db) }
    }

    /// Ends one of the caller's own sessions (e.g. a lost phone).
    public func endSession(_ sessionID: String, of identity: Identity, action: String = "auth.session_ended", origin: RequestOrigin) async throws {
        let ended = try await database.write { db -> Bool in
            guard try appliance.sessionStore.belongs(sessionID, to: subject(identity), in: db) else { return false }
            try appliance.sessionStore.revoke(sessionID: sessionID, reason: action == "auth.logout" ? "logout" : "ended_by_user", in: db)
            try appliance.audit.append(event(action, .success, identity: identity, origin: origin, details: ["session_id": sessionID]), in: db)
            return true
        }
        guard ended else {
            // Another account's session, or none: refused like any record out of reach, and audited.
            try await appliance.auditWriter.record(event(action, .denied, identity: identity, origin: origin,
                                                         details: ["session_id": sessionID, "reason": "not_found_in_scope"]))
            throw AuthError.sessionNotFound
        }
        appliance.revokedSessions.insert([sessionID])
    }

    /// Changes the caller's password and ends their other sessions. An
    /// administrator-set password is then replaced, and a demo account's
    /// exemption from the second factor ends.
    public func changePassword(_ identity: Identity, current: String, new: String, origin: RequestOrigin) async throws {
        let accountKey = LoginThrottle.accountKey(identity.kind, id: identity.subjectID)
        let reservation = try await reserve(.login, account: accountKey, origin: origin)
        let (hash, email): (String?, String?) = try await database.read { db in
            switch identity.kind {
            case .staff:
                let account = try appliance.staffStore.account(id: identity.subjectID, in: db)
                return (account?.passwordHash, account?.email)
            case .patient:
                let account = try appliance.patientStore.account(id: identity.subjectID, in: db)
                return (account?.passwordHash, account?.email)
            }
        }
        guard try await appliance.passwords.verify(current, against: hash) else {
            try await recordFailure(.login, account: accountKey, origin: origin,
                                    event: event("auth.password_change_failed", .failure, identity: identity, origin: origin))
            throw AuthError.invalid(field: "current_password", issue: "is not your current password")
        }
        if let problem = PasswordPolicy(settings: appliance.settings).problem(with: new, email: email) {
            throw AuthError.invalid(field: "new_password", issue: problem)
        }
        if new == current { throw AuthError.invalid(field: "new_password", issue: "must differ from the current password") }
        let newHash = try await appliance.passwords.hash(new)
        let ended = try await database.write { db -> [String] in
            let table = identity.kind == .staff ? "staff" : "patients"
            let now = Timestamp.now()
            try db.execute(sql: "UPDATE \(table) SET password_hash = ?, password_changed_at = ?, updated_at = ? WHERE id = ?",
                           arguments: [newHash, now, now, identity.subjectID])
            if identity.kind == .staff {
                try db.execute(sql: "UPDATE staff SET must_change_password = 0, mfa_exempt = 0 WHERE id = ?", arguments: [identity.subjectID])
            }
            let ended = try appliance.sessionStore.revokeAll(of: subject(identity), reason: "password_changed",
                                                             keeping: identity.sessionID, in: db)
            try appliance.throttle.release(reservation, in: db)
            try appliance.audit.append(event("auth.password_changed", .success, identity: identity, origin: origin,
                                             details: ["sessions_ended": String(ended.count)]), in: db)
            return ended
        }
        appliance.revokedSessions.insert(ended)
        appliance.pendingPasswordChanges.remove(identity.subjectID)
    }

    /// Ends every session of a staff member (deactivation, role removal).
    public func endAllSessions(ofStaff staffID: String, reason: String, in db: Database) throws -> [String] {
        try appliance.sessionStore.revokeAll(of: .init(kind: .staff, id: staffID, facilityID: nil), reason: reason, in: db)
    }

    // MARK: Helpers

    func subject(_ identity: Identity) -> SessionStore.Subject {
        SessionStore.Subject(kind: identity.kind, id: identity.subjectID, facilityID: identity.facilityID)
    }

    /// Books the attempt against the limits before any slow verification.
    func reserve(_ kind: LoginThrottle.Kind, account: String?, origin: RequestOrigin) async throws -> LoginThrottle.Reservation {
        try await database.write { db in
            try appliance.throttle.reserve(kind, account: account, address: origin.ipAddress, in: db)
        }
    }

    /// Audits a failed attempt (already counted by `reserve`), and the lockout it caused.
    func recordFailure(_ kind: LoginThrottle.Kind, account: String, origin: RequestOrigin, event failure: AuditEvent) async throws {
        try await database.write { db in
            var failure = failure
            failure.ipAddress = origin.ipAddress
            failure.requestID = origin.requestID
            try appliance.audit.append(failure, in: db)
            if try appliance.throttle.isLocked(kind, account: account, in: db) {
                var locked = failure
                locked.action = "auth.account_locked"
                locked.outcome = .denied
                try appliance.audit.append(locked, in: db)
            }
        }
    }

    func event(_ action: String, _ outcome: AuditEvent.Outcome, staff: StaffAccount, origin: RequestOrigin,
               details: [String: String] = [:]) -> AuditEvent {
        AuditEvent(action: action, outcome: outcome, actorKind: .staff, actorID: staff.id, facilityID: staff.facilityID,
                   ipAddress: origin.ipAddress, requestID: origin.requestID, details: details)
    }

    func event(_ action: String, _ outcome: AuditEvent.Outcome, identity: Identity, origin: RequestOrigin,
               details: [String: String] = [:]) -> AuditEvent {
        AuditEvent(action: action, outcome: outcome, actorKind: identity.auditActor, actorID: identity.subjectID,
                   facilityID: identity.facilityID, patientID: identity.kind == .patient ? identity.subjectID : nil,
                   ipAddress: origin.ipAddress, requestID: origin.requestID, details: details)
    }
}

extension AuthService {
    public struct Profile: Sendable {
        public var staff: StaffAccount?
        public var patient: PatientAccount?
    }

    /// The caller's own account.
    public func profile(of identity: Identity) async throws -> Profile {
        try await database.read { db in
            switch identity.kind {
            case .staff: return Profile(staff: try appliance.staffStore.account(id: identity.subjectID, in: db))
            case .patient: return Profile(patient: try appliance.patientStore.account(id: identity.subjectID, in: db))
            }
        }
    }
}
