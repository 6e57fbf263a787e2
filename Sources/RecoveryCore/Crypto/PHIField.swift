// Generated from Migrations/0001_initial_schema.sql, then frozen: edit by hand,
// appending only (see the doc comment).

/// Every encrypted (PHI) column in the schema, each with a frozen numeric id.
/// The id selects the column's sub-key and is bound into each ciphertext, so a
/// raw value must never change or be reused once released: renumbering would
/// make existing data unreadable. Add new columns at the end with new numbers.
///
/// Cases 1... follow the order of the `_enc` columns in 0001_initial_schema.sql;
/// columns added by later migrations take the next free number. A column that is
/// dropped keeps its case (mark it deprecated) so its number is never reused.
public enum PHIField: UInt64, CaseIterable, Sendable {
    case staffEmail = 1
    case staffFirstName = 2
    case staffLastName = 3
    case staffTotpSecret = 4
    case patientsFirstName = 5
    case patientsLastName = 6
    case patientsDateOfBirth = 7
    case patientsEmail = 8
    case patientsPhone = 9
    case patientsAddress = 10
    case patientsEmergencyContact = 11
    case patientSobrietyHistoryReason = 12
    case patientLevelOfCareHistoryReason = 13
    case sessionsDevice = 14
    case sessionsIpAddress = 15
    case auditLogsIpAddress = 16
    case emergencyAccessGrantsReason = 17
    case patientCheckInsNote = 18
    case patientCravingsTriggerNote = 19
    case patientCravingsCopingStrategy = 20
    case meetingAttendanceNote = 21
    case patientMedicationsName = 22
    case medicationDosesNote = 23
    case journalEntriesTitle = 24
    case journalEntriesBody = 25
    case treatmentPlansTitle = 26
    case treatmentPlansContent = 27
    case patientGoalsTitle = 28
    case patientGoalsDescription = 29
    case goalProgressNote = 30
    case assessmentsResponses = 31
    case assessmentsNotes = 32
    case conversationsSubject = 33
    case messagesBody = 34
    case crisisAlertsNote = 35
    case crisisAlertEventsNote = 36
    case notificationsTitle = 37
    case notificationsBody = 38
    case devicesPushToken = 39
    case documentsTitle = 40
    case documentsFilename = 41
    case consentsRecipient = 42
    case consentsExpiryCondition = 43
    case consentsSignature = 44
    case admissionsReferralSource = 45
    case insightsSummary = 46
    case patientsListCard = 47
    case conversationParticipantsAlias = 48
    case crisisAlertsMessage = 49
    case crisisAlertsLocation = 50
    case consentsInformationDetail = 51
    case disclosuresDescription = 52
    case disclosuresRecipient = 53
    case retainedSubkeysKey = 54

    /// The table holding the column.
    public var table: String {
        switch self {
        case .staffEmail:                       return "staff"
        case .staffFirstName:                   return "staff"
        case .staffLastName:                    return "staff"
        case .staffTotpSecret:                  return "staff"
        case .patientsFirstName:                return "patients"
        case .patientsLastName:                 return "patients"
        case .patientsDateOfBirth:              return "patients"
        case .patientsEmail:                    return "patients"
        case .patientsPhone:                    return "patients"
        case .patientsAddress:                  return "patients"
        case .patientsEmergencyContact:         return "patients"
        case .patientSobrietyHistoryReason:     return "patient_sobriety_history"
        case .patientLevelOfCareHistoryReason:  return "patient_level_of_care_history"
        case .sessionsDevice:                   return "sessions"
        case .sessionsIpAddress:                return "sessions"
        case .auditLogsIpAddress:               return "audit_logs"
        case .emergencyAccessGrantsReason:      return "emergency_access_grants"
        case .patientCheckInsNote:              return "patient_check_ins"
        case .patientCravingsTriggerNote:       return "patient_cravings"
        case .patientCravingsCopingStrategy:    return "patient_cravings"
        case .meetingAttendanceNote:            return "meeting_attendance"
        case .patientMedicationsName:           return "patient_medications"
        case .medicationDosesNote:              return "medication_doses"
        case .journalEntriesTitle:              return "journal_entries"
        case .journalEntriesBody:               return "journal_entries"
        case .treatmentPlansTitle:              return "treatment_plans"
        case .treatmentPlansContent:            return "treatment_plans"
        case .patientGoalsTitle:                return "patient_goals"
        case .patientGoalsDescription:          return "patient_goals"
        case .goalProgressNote:                 return "goal_progress"
        case .assessmentsResponses:             return "assessments"
        case .assessmentsNotes:                 return "assessments"
        case .conversationsSubject:             return "conversations"
        case .messagesBody:                     return "messages"
        case .crisisAlertsNote:                 return "crisis_alerts"
        case .crisisAlertEventsNote:            return "crisis_alert_events"
        case .notificationsTitle:               return "notifications"
        case .notificationsBody:                return "notifications"
        case .devicesPushToken:                 return "devices"
        case .documentsTitle:                   return "documents"
        case .documentsFilename:                return "documents"
        case .consentsRecipient:                return "consents"
        case .consentsExpiryCondition:          return "consents"
        case .consentsSignature:                return "consents"
        case .admissionsReferralSource:         return "admissions"
        case .insightsSummary:                  return "insights"
        case .patientsListCard:                 return "patients"
        case .conversationParticipantsAlias:    return "conversation_participants"
        case .crisisAlertsMessage, .crisisAlertsLocation: return "crisis_alerts"
        case .consentsInformationDetail:        return "consents"
        case .disclosuresDescription, .disclosuresRecipient: return "disclosures"
        case .retainedSubkeysKey:               return "retained_subkeys"
        }
    }

    /// The exact column name, e.g. "first_name_enc".
    public var column: String {
        switch self {
        case .staffEmail:                       return "email_enc"
        case .staffFirstName:                   return "first_name_enc"
        case .staffLastName:                    return "last_name_enc"
        case .staffTotpSecret:                  return "totp_secret_enc"
        case .patientsFirstName:                return "first_name_enc"
        case .patientsLastName:                 return "last_name_enc"
        case .patientsDateOfBirth:              return "date_of_birth_enc"
        case .patientsEmail:                    return "email_enc"
        case .patientsPhone:                    return "phone_enc"
        case .patientsAddress:                  return "address_enc"
        case .patientsEmergencyContact:         return "emergency_contact_enc"
        case .patientSobrietyHistoryReason:     return "reason_enc"
        case .patientLevelOfCareHistoryReason:  return "reason_enc"
        case .sessionsDevice:                   return "device_enc"
        case .sessionsIpAddress:                return "ip_address_enc"
        case .auditLogsIpAddress:               return "ip_address_enc"
        case .emergencyAccessGrantsReason:      return "reason_enc"
        case .patientCheckInsNote:              return "note_enc"
        case .patientCravingsTriggerNote:       return "trigger_note_enc"
        case .patientCravingsCopingStrategy:    return "coping_strategy_enc"
        case .meetingAttendanceNote:            return "note_enc"
        case .patientMedicationsName:           return "name_enc"
        case .medicationDosesNote:              return "note_enc"
        case .journalEntriesTitle:              return "title_enc"
        case .journalEntriesBody:               return "body_enc"
        case .treatmentPlansTitle:              return "title_enc"
        case .treatmentPlansContent:            return "content_enc"
        case .patientGoalsTitle:                return "title_enc"
        case .patientGoalsDescription:          return "description_enc"
        case .goalProgressNote:                 return "note_enc"
        case .assessmentsResponses:             return "responses_enc"
        case .assessmentsNotes:                 return "notes_enc"
        case .conversationsSubject:             return "subject_enc"
        case .messagesBody:                     return "body_enc"
        case .crisisAlertsNote:                 return "note_enc"
        case .crisisAlertEventsNote:            return "note_enc"
        case .notificationsTitle:               return "title_enc"
        case .notificationsBody:                return "body_enc"
        case .devicesPushToken:                 return "push_token_enc"
        case .documentsTitle:                   return "title_enc"
        case .documentsFilename:                return "filename_enc"
        case .consentsRecipient:                return "recipient_enc"
        case .consentsExpiryCondition:          return "expiry_condition_enc"
        case .consentsSignature:                return "signature_enc"
        case .admissionsReferralSource:         return "referral_source_enc"
        case .insightsSummary:                  return "summary_enc"
        case .patientsListCard:                 return "list_card_enc"
        case .conversationParticipantsAlias:    return "alias_enc"
        case .crisisAlertsMessage:              return "message_enc"
        case .crisisAlertsLocation:             return "location_enc"
        case .consentsInformationDetail:        return "information_detail_enc"
        case .disclosuresDescription:           return "description_enc"
        case .disclosuresRecipient:             return "recipient_enc"
        case .retainedSubkeysKey:               return "key_enc"
        }
    }
}
