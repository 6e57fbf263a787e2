// Generated from Migrations/0001_initial_schema.sql, then frozen: edit by hand,
// appending only (see the doc comment).

/// Every blind-index (`_bidx`) column in the schema, each with a frozen numeric id.
/// The id selects the column's keyed-BLAKE2b sub-key, so a raw value must never
/// change or be reused once released: renumbering would make every stored index
/// unmatchable. Add new columns at the end with new numbers.
///
/// Cases 1... follow the order of the `_bidx` columns in 0001_initial_schema.sql;
/// columns added by later migrations take the next free number. A column that is
/// dropped keeps its case (mark it deprecated) so its number is never reused.
public enum BlindIndexField: UInt64, CaseIterable, Sendable {
    case staffEmail = 1
    case staffMfaRecoveryCodesCode = 2
    case patientsFirstName = 3
    case patientsLastName = 4
    case patientsEmail = 5
    case registrationKeysKey = 6
    case sessionsRefreshToken = 7
    case authAttemptsSubject = 8
    case mfaChallengesToken = 9
    case devicesPushToken = 10
    case federationPeersEnrollmentToken = 11

    /// The table holding the column.
    public var table: String {
        switch self {
        case .staffEmail:                      return "staff"
        case .staffMfaRecoveryCodesCode:       return "staff_mfa_recovery_codes"
        case .patientsFirstName:               return "patients"
        case .patientsLastName:                return "patients"
        case .patientsEmail:                   return "patients"
        case .registrationKeysKey:             return "registration_keys"
        case .sessionsRefreshToken:            return "sessions"
        case .authAttemptsSubject:             return "auth_attempts"
        case .mfaChallengesToken:              return "mfa_challenges"
        case .devicesPushToken:                return "devices"
        case .federationPeersEnrollmentToken:  return "federation_peers"
        }
    }

    /// The exact column name, e.g. "email_bidx".
    public var column: String {
        switch self {
        case .staffEmail:                      return "email_bidx"
        case .staffMfaRecoveryCodesCode:       return "code_bidx"
        case .patientsFirstName:               return "first_name_bidx"
        case .patientsLastName:                return "last_name_bidx"
        case .patientsEmail:                   return "email_bidx"
        case .registrationKeysKey:             return "key_bidx"
        case .sessionsRefreshToken:            return "refresh_token_bidx"
        case .authAttemptsSubject:             return "subject_bidx"
        case .mfaChallengesToken:              return "token_bidx"
        case .devicesPushToken:                return "push_token_bidx"
        case .federationPeersEnrollmentToken:  return "enrollment_token_bidx"
        }
    }

    /// Whether the index can be computed again from a value the database
    /// keeps encrypted (a key rotation rebuilds it), and from which column.
    /// The others index secrets that are never stored; their old keys are
    /// kept (`RetainedSubkeys`) so the rows stay findable.
    public var source: PHIField? {
        switch self {
        case .staffEmail:         return .staffEmail
        case .patientsFirstName:  return .patientsFirstName
        case .patientsLastName:   return .patientsLastName
        case .patientsEmail:      return .patientsEmail
        case .devicesPushToken:   return .devicesPushToken
        case .staffMfaRecoveryCodesCode, .registrationKeysKey, .sessionsRefreshToken, .authAttemptsSubject,
             .mfaChallengesToken, .federationPeersEnrollmentToken:
            return nil
        }
    }

    public var isRebuildable: Bool { source != nil }

    /// Whether the digest is a secret's (full length) rather than a normalised PHI value's.
    public var indexesSecret: Bool {
        switch self {
        case .staffEmail, .patientsFirstName, .patientsLastName, .patientsEmail, .authAttemptsSubject: return false
        default: return true
        }
    }
}
