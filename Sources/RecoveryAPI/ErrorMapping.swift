import HTTPTypes
import RecoveryCore

/// How domain failures answer over HTTP.
extension APIError {
    /// The answer for a domain failure (the same over HTTP and in a socket's
    /// acknowledgement); nil for anything else.
    init?(domain error: any Error) {
        if let apiError = error as? APIError { self = apiError }
        else if let authError = error as? AuthError { self.init(authError) }
        else if let keyError = error as? PatientIntake.KeyError { self.init(keyError) }
        else if let adminError = error as? AccountAdministration.Failure { self.init(adminError) }
        else if let accessError = error as? AccessError { self.init(accessError) }
        else if let careTeamError = error as? CareTeam.Failure { self.init(careTeamError) }
        else if let staffError = error as? StaffDirectory.Failure { self.init(staffError) }
        else if let facilityError = error as? FacilityDirectory.Failure { self.init(facilityError) }
        else if let recordError = error as? RecordFailure { self.init(recordError) }
        else if let emergencyError = error as? EmergencyAccess.Failure { self.init(emergencyError) }
        else if let messagingError = error as? Messaging.Failure { self.init(messagingError) }
        else if let templateError = error as? MessageTemplates.Failure { self.init(templateError) }
        else if let crisisError = error as? CrisisAlerts.Failure { self.init(crisisError) }
        else if let announcementError = error as? Announcements.Failure { self.init(announcementError) }
        else if case StorageError.diskNearlyFull = error { self = .insufficientStorage }
        else if let documentError = error as? DocumentFailure { self.init(documentError) }
        else if let federationError = error as? FederationError { self.init(federationError) }
        else { return nil }
    }

    /// 507: the data directory's disk is below `storage.min_free_bytes`, so
    /// writes stop before SQLite would fail half-way.
    static let insufficientStorage = APIError(
        HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage"), code: "insufficient_storage",
        message: "The appliance's disk is nearly full, so nothing can be saved now. Tell the clinic's IT contact; reading still works.")

    init(_ error: AuthError) {
        switch error {
        case .invalidCredentials:
            self.init(.unauthorized, code: "invalid_credentials", message: "The email, patient number or password is wrong.")
        case .ambiguousEmail:
            self.init(.unauthorized, code: "sign_in_with_patient_number",
                      message: "This email and password open more than one account. Sign in with your patient number.",
                      details: [Detail(field: "identifier", issue: "use the patient number")])
        case .wrongPassword(let field):
            // Forbidden rather than 401: the caller's session is fine, this action is refused.
            self.init(.forbidden, code: "invalid_credentials", message: "The password is wrong.",
                      details: [Detail(field: field, issue: "is not your current password")])
        case .invalidRegistrationKey:
            // Wrong, expired, revoked and used keys all answer exactly this.
            self.init(.badRequest, code: "invalid_registration_key",
                      message: "This registration key cannot be used. Ask the clinic for a new one.",
                      details: [Detail(field: "registration_key", issue: "is not valid")])
        case .invalidRefreshToken:
            self.init(.unauthorized, code: "invalid_refresh_token", message: "The session has ended. Sign in again.")
        case .throttled(let seconds):
            var headers = HTTPFields()
            headers[.retryAfter] = String(seconds)
            self.init(.tooManyRequests, code: "too_many_attempts",
                      message: "Too many failed attempts. Try again in \(seconds) seconds.", headers: headers)
        case .invalid(let field, let issue):
            self = .validation(field: field, issue)
        case .emailInUse:
            self.init(.conflict, code: "email_in_use", message: "Another account already signs in with this email.",
                      details: [Detail(field: "email", issue: "is already in use")])
        case .alreadyRegistered:
            self.init(.conflict, code: "already_registered", message: "This patient has already registered.")
        case .sessionNotFound:
            self = .notFound("session")
        case .mfaInvalid:
            self.init(.unauthorized, code: "invalid_mfa_code", message: "The code or the sign-in step is wrong or has expired.")
        case .mfaAlreadyEnabled:
            self.init(.conflict, code: "mfa_already_enabled", message: "A second factor is already set up for this account.")
        case .mfaNotStarted:
            self.init(.conflict, code: "mfa_not_started", message: "Start the set-up first (POST .../setup).")
        }
    }

    init(_ error: PatientIntake.KeyError) {
        switch error {
        case .patientNotFound: self = .notFound("patient")
        case .alreadyRegistered:
            self.init(.conflict, code: "already_registered", message: "The patient has registered; a key cannot be issued any more.")
        case .noUnusedKey:
            self.init(.notFound, code: "no_unused_key", message: "The patient has no unused registration key to revoke.")
        }
    }

    init(_ error: AccountAdministration.Failure) {
        switch error {
        case .notFound: self = .notFound("account")
        case .cannotDeactivateSelf:
            self.init(.conflict, code: "cannot_deactivate_self", message: "You cannot deactivate your own account.")
        case .cannotResetSelf:
            self.init(.conflict, code: "cannot_reset_self",
                      message: "You cannot reset your own password or second factor: change your password, or ask another administrator.")
        }
    }

    init(_ error: AccessError) {
        switch error {
        case .notFound: self = .notFound("patient")
        case .forbidden(let permission):
            self.init(.forbidden, code: "forbidden", message: "Your role does not have the permission \(permission.rawValue).")
        case .notOnCareTeam:
            self.init(.forbidden, code: "not_on_care_team",
                      message: "This patient is not on your caseload. In an emergency, request emergency access (it is audited).")
        case .restricted:
            self.init(.forbidden, code: "restricted_patient",
                      message: "Access to this patient is restricted to named staff. In an emergency, request emergency access (it is audited).")
        case .patientsOnly, .staffOnly:
            self = .forbidden
        case .otherFacility:
            self.init(.forbidden, code: "other_facility", message: "You can only create records in your own facility.",
                      details: [Detail(field: "facility_id", issue: "must be your own facility")])
        }
    }

    init(_ error: EmergencyAccess.Failure) {
        switch error {
        case .invalid(let field, let issue): self = .validation(field: field, issue)
        case .renewalLimit:
            self.init(.conflict, code: "emergency_access_renewal_limit",
                      message: "Emergency access was granted \(EmergencyAccess.maxRenewals + 1) times recently; ask an administrator to add you to the care team.")
        case .alreadyEnded:
            self.init(.conflict, code: "already_ended", message: "This emergency access has already ended or expired.")
        case .alreadyReviewed:
            self.init(.conflict, code: "already_reviewed", message: "This emergency access has already been reviewed.")
        case .notFound: self = .notFound("emergency access grant")
        case .endedByAdministrator:
            self.init(.conflict, code: "emergency_access_ended",
                      message: "An administrator ended your last emergency access to this patient; ask them, or to be added to the care team.")
        case .ownGrant:
            self.init(.forbidden, code: "own_emergency_access", message: "Another administrator reviews your own emergency access.")
        }
    }

    init(_ error: CareTeam.Failure) {
        switch error {
        case .invalid(let field, let issue): self = .validation(field: field, issue)
        case .notFound: self = .notFound()
        }
    }

    init(_ error: StaffDirectory.Failure) {
        switch error {
        case .invalid(let problems): self = .validation(fields: problems)
        case .notFound: self = .notFound("staff member")
        case .emailInUse:
            self.init(.conflict, code: "email_in_use", message: "Another staff account already uses this email.",
                      details: [Detail(field: "email", issue: "is already in use")])
        case .forbidden: self = .forbidden
        }
    }

    init(_ error: DocumentFailure) {
        switch error {
        case .tooLarge(let limit): self = .bodyTooLarge(limit: limit)
        case .unsupportedType:
            self.init(.unsupportedMediaType, code: "unsupported_document_type",
                      message: "The file is not a PDF, PNG, JPEG or plain text file (judged by its bytes).",
                      details: [Detail(field: "file", issue: "must be a PDF, PNG, JPEG or plain text file")])
        case .malformed(let reason):
            self.init(.badRequest, code: "invalid_upload", message: "The upload could not be read: \(reason).")
        case .diskFull:
            self.init(HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage"), code: "insufficient_storage",
                      message: "The appliance's disk is full; nothing was stored.")
        case .corrupt:
            self.init(.internalServerError, code: "document_unreadable", message: "The stored document does not open or does not match its hash.")
        }
    }

    init(_ error: RecordFailure) {
        switch error {
        case .invalid(let problems): self = .validation(problems.map { Detail(field: $0.field, issue: $0.issue) })
        case .notFound(let what): self = .notFound(what)
        case .conflict(let problem):
            self.init(.conflict, code: "conflict", message: "\(problem.field) \(problem.issue).",
                      details: [Detail(field: problem.field, issue: problem.issue)])
        }
    }

    init(_ error: FacilityDirectory.Failure) {
        switch error {
        case .invalid(let problems): self = .validation(fields: problems)
        case .notFound: self = .notFound("facility")
        }
    }

    init(_ error: Messaging.Failure) {
        switch error {
        case .invalid(let problems): self = .validation(fields: problems)
        case .notFound: self = .notFound("conversation")
        case .clientIDConflict:
            self.init(.conflict, code: "client_id_conflict", message: "This client_id was already used for another message.",
                      details: [Detail(field: "client_id", issue: "was used for another message")])
        case .noCareTeam:
            self.init(.conflict, code: "no_care_team", message: "You have no care team to write to yet; ask the clinic.")
        }
    }

    init(_ error: MessageTemplates.Failure) {
        switch error {
        case .invalid(let problems): self = .validation(fields: problems)
        case .notFound: self = .notFound("message template")
        case .versionConflict:
            self.init(.conflict, code: "version_conflict", message: "The template was changed since; reload it and edit again.",
                      details: [Detail(field: "version", issue: "is not the current version")])
        }
    }

    init(_ error: CrisisAlerts.Failure) {
        switch error {
        case .invalid(let field, let issue): self = .validation(field: field, issue)
        case .notFound: self = .notFound("crisis alert")
        case .alreadyAcknowledged:
            self.init(.conflict, code: "already_acknowledged", message: "This crisis alert has already been acknowledged.")
        case .alreadyResolved:
            self.init(.conflict, code: "already_resolved", message: "This crisis alert has already been resolved.")
        }
    }

    init(_ error: Announcements.Failure) {
        switch error {
        case .invalid(let problems): self = .validation(fields: problems)
        case .notFound: self = .notFound("announcement")
        case .alreadyRetracted:
            self.init(.conflict, code: "already_retracted", message: "This announcement has been retracted.")
        }
    }

    init(_ error: FederationError) {
        switch error {
        case .wrongMode(let expected):
            self.init(.notFound, code: "federation_role",
                      message: expected == "central" ? "This route is served by the central instance (mode: central)."
                                                     : "This route is served by a clinic appliance (mode: clinic).")
        case .invalid(let field, let issue): self = .validation(field: field, issue)
        case .invalidEnrollmentCode:
            self.init(.badRequest, code: "invalid_enrollment_code", message: "This enrolment code cannot be used. Ask central for a new one.",
                      details: [Detail(field: "code", issue: "is not valid")])
        case .peerNotFound: self = .notFound("clinic")
        case .notEnrolled:
            self.init(.conflict, code: "not_enrolled", message: "This clinic is not enrolled: run recovery-server federation enroll first.")
        case .alreadyEnrolled:
            self.init(.conflict, code: "already_enrolled", message: "This clinic is already enrolled with a central instance.")
        case .plainHTTPRefused:
            self.init(.unprocessableContent, code: "plain_http_refused", message: "Plain http:// is only allowed to a loopback address.",
                      details: [Detail(field: "central", issue: "must be https://")])
        case .unknownClinic:
            self.init(.unauthorized, code: "unknown_clinic", message: "No enrolled clinic has this id.")
        case .clinicRevoked:
            self.init(.forbidden, code: "clinic_revoked", message: "This clinic's enrolment was revoked.")
        case .badSignature:
            self.init(.unauthorized, code: "bad_signature", message: "The payload's signature is not the clinic's.")
        case .sequenceReused:
            self.init(.conflict, code: "sequence_reused", message: "This sequence number was already used for another payload.")
        case .unknownSchemaVersion(let version):
            self.init(.unprocessableContent, code: "unknown_schema_version", message: "Metrics schema version \(version) is not known here.",
                      details: [Detail(field: "payload.schema_version", issue: "is not a known version")])
        case .approvalStale(let field):
            self.init(.conflict, code: "approval_stale", message: "A payload changed since the preview. Preview again and approve what it shows.",
                      details: [Detail(field: field, issue: "is not the digest of a payload awaiting approval")])
        case .approvalNotRequired:
            self.init(.conflict, code: "approval_not_required", message: "Payloads leave without approval here (federation.require_approval is off).")
        case .noiseBudgetBelowOneDraw:
            self.init(.conflict, code: "noise_budget_below_one_draw",
                      message: "federation.noise_budget is below one draw of federation.noise_epsilon, so no count can be sent.",
                      details: [Detail(field: "federation.noise_budget", issue: "must be at least federation.noise_epsilon")])
        case .centralUnreachable(let reason):
            self.init(.badGateway, code: "central_unreachable", message: "Central could not be reached or answered wrongly (\(reason)).")
        }
    }
}
