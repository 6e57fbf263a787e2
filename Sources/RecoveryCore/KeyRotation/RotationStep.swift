/// The registry of what a master-key rotation re-encrypts: every encrypted
/// column (`PHIField`, each of which must say how it is rotated: the switch
/// below has no default, so a column added later cannot be forgotten), the
/// federation signing key's seal, and the documents' files. A test compares
/// the columns with the schema's `_enc` columns.
public enum RotationStep: Equatable, Sendable {
    /// Re-encrypts a table's encrypted columns row by row (`id` order), all
    /// of a row in one UPDATE (so triggers that watch a column, like the
    /// patient card's, see the row change once), and rebuilds the blind
    /// indexes computed from them.
    case table(String)
    /// Re-seals the box's federation signing key.
    case signingKey
    /// Re-encrypts each document's file under a new name and sub-key.
    case documents

    /// Every step of one pass, in order.
    public static let all: [RotationStep] = {
        var tables: [String] = []
        for field in rotatedFields where !tables.contains(field.table) { tables.append(field.table) }
        return tables.map(RotationStep.table) + [.signingKey, .documents]
    }()

    /// Every column a rotation re-encrypts.
    public static let rotatedFields = PHIField.allCases.filter { $0.rotation == .reencrypt }

    /// The re-encrypted columns of `table`.
    static func fields(of table: String) -> [PHIField] {
        rotatedFields.filter { $0.table == table }
    }

    /// Where the step works, for progress lines (no values).
    public var name: String {
        switch self {
        case .table(let table): return table
        case .signingKey: return "federation_identity.secret_key_sealed"
        case .documents: return "documents (files)"
        }
    }
}

/// How a key rotation treats an encrypted column.
public enum ColumnRotation: Sendable {
    /// Re-encrypted under the new key version, in place.
    case reencrypt
    /// Left as written: the row may not change (it is hashed into the audit
    /// chain), so the old version's sub-key for this column is kept sealed
    /// under the new master key (`RetainedSubkeys`).
    case keepOldKey
}

extension PHIField {
    public var rotation: ColumnRotation {
        switch self {
        case .auditLogsIpAddress:
            return .keepOldKey
        case .staffEmail, .staffFirstName, .staffLastName, .staffTotpSecret, .patientsFirstName, .patientsLastName,
             .patientsDateOfBirth, .patientsEmail, .patientsPhone, .patientsAddress, .patientsEmergencyContact,
             .patientSobrietyHistoryReason, .patientLevelOfCareHistoryReason, .sessionsDevice, .sessionsIpAddress,
             .emergencyAccessGrantsReason, .patientCheckInsNote, .patientCravingsTriggerNote,
             .patientCravingsCopingStrategy, .meetingAttendanceNote, .patientMedicationsName, .medicationDosesNote,
             .journalEntriesTitle, .journalEntriesBody, .treatmentPlansTitle, .treatmentPlansContent,
             .patientGoalsTitle, .patientGoalsDescription, .goalProgressNote, .assessmentsResponses, .assessmentsNotes,
             .conversationsSubject, .messagesBody, .crisisAlertsNote, .crisisAlertEventsNote, .notificationsTitle,
             .notificationsBody, .devicesPushToken, .documentsTitle, .documentsFilename, .consentsRecipient,
             .consentsExpiryCondition, .consentsSignature, .admissionsReferralSource, .insightsSummary,
             .patientsListCard, .conversationParticipantsAlias, .crisisAlertsMessage, .crisisAlertsLocation,
             .consentsInformationDetail, .disclosuresDescription, .disclosuresRecipient, .retainedSubkeysKey:
            return .reencrypt
        }
    }

    /// The blind indexes computed from this column's plaintext, rebuilt
    /// with the new key when the column is re-encrypted.
    var derivedIndexes: [BlindIndexField] {
        BlindIndexField.allCases.filter { $0.source == self }
    }
}
