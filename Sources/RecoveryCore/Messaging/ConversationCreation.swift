import Foundation
import GRDB

/// Starting a conversation.
///
/// - `care` (a patient and their care team): staff name `patient_id`, a
///   patient they reach (`messages.use`); the participants are the caller,
///   the patient and `participant_ids` — each an active staff member of the
///   facility whom the patient rules let reach the patient — or, without
///   them, the patient's current care team. A patient starts one for
///   themselves, with `participant_ids` from their current care team (anyone
///   else is 403 `not_on_care_team`) or, without them, the whole care team.
/// - `staff`: `participant_ids`, active staff of the caller's facility.
/// - `group`: a therapy group: a `title`, staff `participant_ids`, and
///   `patients` `[{patient_id, alias}]` the caller reaches; patients see each
///   other by alias only.
///
/// Access to each named patient is decided before the rest is checked; every
/// refusal is audited. A box-wide account names the facility (`facility_id`).
extension Messaging {
    public struct NewConversation: Sendable, Equatable {
        public struct GroupPatient: Sendable, Equatable {
            public var patientID: String
            public var alias: String
            public init(patientID: String, alias: String) { self.patientID = patientID; self.alias = alias }
        }

        /// care, staff or group; nil: care when a patient starts it or names a patient, else staff.
        public var kind: String?
        public var patientID: String?
        public var participantIDs: [String]?
        public var patients: [GroupPatient]?
        public var title: String?
        public var facilityID: String?

        public init(kind: String? = nil, patientID: String? = nil, participantIDs: [String]? = nil, patients: [GroupPatient]? = nil,
                    title: String? = nil, facilityID: String? = nil) {
            self.kind = kind; self.patientID = patientID; self.participantIDs = participantIDs; self.patients = patients
            self.title = title; self.facilityID = facilityID
        }
    }

    /// Who will take part, decided inside the write.
    struct Plan {
        var kind: String
        var facilityID: String
        var patientID: String?
        var staff: [String]
        var patients: [(id: String, alias: String?)]
    }

    /// Creates the conversation and answers it as the caller sees it.
    public func create(_ identity: Identity, _ request: NewConversation, origin: RequestOrigin) async throws -> Conversation {
        let viewer = Viewer(identity)
        let cipher = appliance.cipher
        do {
            return try await pool.write { db in
                let plan = try plan(identity, request, in: db)
                let id = RowID.make()
                let stamp = Timestamp.now()
                let title = request.title?.trimmingCharacters(in: .whitespacesAndNewlines)
                try db.execute(sql: """
                    INSERT INTO conversations (id, facility_id, kind, patient_id, subject_enc, created_by_kind, created_by_staff_id,
                                               created_by_patient_id, created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [id, plan.facilityID, plan.kind, plan.patientID,
                                     cipher.seal(optional: title, field: .conversationsSubject, rowID: id), identity.kind.rawValue,
                                     identity.kind == .staff ? identity.subjectID : nil, identity.kind == .patient ? identity.subjectID : nil,
                                     stamp, stamp])
                for staffID in plan.staff {
                    try db.execute(sql: """
                        INSERT INTO conversation_participants (id, facility_id, conversation_id, participant_kind, staff_id, joined_at)
                        VALUES (?, ?, ?, 'staff', ?, ?)
                        """, arguments: [RowID.make(), plan.facilityID, id, staffID, stamp])
                }
                for patient in plan.patients {
                    let rowID = RowID.make()
                    try db.execute(sql: """
                        INSERT INTO conversation_participants (id, facility_id, conversation_id, participant_kind, patient_id, alias_enc, joined_at)
                        VALUES (?, ?, ?, 'patient', ?, ?, ?)
                        """, arguments: [rowID, plan.facilityID, id, patient.id,
                                         cipher.seal(optional: patient.alias, field: .conversationParticipantsAlias, rowID: rowID), stamp])
                }
                let access = ConversationAccess(conversationID: id, facilityID: plan.facilityID, kind: plan.kind, patientID: plan.patientID,
                                                basis: "participant")
                var details = ["kind": plan.kind, "staff": String(plan.staff.count), "patients": String(plan.patients.count)]
                if plan.kind == "group" { details["patient_ids"] = plan.patients.map(\.id).joined(separator: ",") }
                try appliance.audit.append(event("conversation.create", identity, access, origin, details: details), in: db)
                return try loadConversation(id, for: viewer, in: db)
            }
        } catch let refusal as Refusal {
            throw try await refused(refusal.error, "conversation.create", identity, conversationID: nil, patientID: refusal.patientID, origin: origin)
        } catch let error as AccessError {
            throw try await refused(error, "conversation.create", identity, conversationID: nil, origin: origin)
        }
    }

    /// A refusal of the policy about one named patient.
    struct Refusal: Error {
        var error: AccessError
        var patientID: String?
    }

    func plan(_ identity: Identity, _ request: NewConversation, in db: Database) throws -> Plan {
        var problems: [String: String] = [:]
        let kind = request.kind ?? (identity.kind == .patient || request.patientID != nil ? "care" : "staff")
        guard ["care", "staff", "group"].contains(kind) else { throw Failure.invalid("kind", "must be one of: care, staff, group") }
        if let title = request.title {
            if title.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty || title.unicodeScalars.count > Self.maxTitleLength {
                problems["title"] = "must be 1 to \(Self.maxTitleLength) characters, not blank"
            }
        } else if kind == "group" {
            problems["title"] = "is required for a group"
        }
        // Named staff: UUIDs, at most maxParticipants, without repeats.
        var named: [String]?
        if let ids = request.participantIDs {
            if ids.count > Self.maxParticipants { problems["participant_ids"] = "must name at most \(Self.maxParticipants) staff members" }
            var seen: [String] = []
            for (index, text) in ids.enumerated() {
                guard let id = Self.uuid(text) else { problems["participant_ids[\(index)]"] = "must be a UUID"; continue }
                if !seen.contains(id) { seen.append(id) }
            }
            named = seen
        }

        if identity.kind == .patient {
            let own = try AccessPolicy.ownRecords(identity)
            guard kind == "care" else { throw AccessError.patientsOnly }
            if let requested = request.patientID, Self.uuid(requested) != own.id { throw Refusal(error: .notFound, patientID: nil) }
            guard problems.isEmpty else { throw Failure.invalid(problems) }
            var staff: [String]
            if let named, !named.isEmpty {
                for id in named {
                    guard try AccessPolicy.mayTakePart(staffID: id, facilityID: own.facilityID, patientID: own.id, careTeamOnly: true, in: db)
                    else { throw Refusal(error: .notOnCareTeam, patientID: own.id) }
                }
                staff = named
            } else {
                staff = try AccessPolicy.careTeamParticipants(of: own.id, facilityID: own.facilityID, in: db)
            }
            guard !staff.isEmpty else { throw Failure.noCareTeam }
            staff.sort()
            return Plan(kind: "care", facilityID: own.facilityID, patientID: own.id, staff: staff, patients: [(own.id, nil)])
        }

        try AccessPolicy.require(identity, .messagesUse)
        switch kind {
        case "care":
            guard let text = request.patientID else { throw Failure.invalid("patient_id", "is required for a care conversation") }
            guard let patientID = Self.uuid(text) else { throw Refusal(error: .notFound, patientID: nil) }
            let patient: PatientAccess
            do { patient = try AccessPolicy.patient(identity, patientID, for: .messagesUse, in: db) }
            catch let error as AccessError { throw Refusal(error: error, patientID: patientID) }
            var staff = [identity.subjectID]
            if let named {
                for (index, id) in named.enumerated() where id != identity.subjectID {
                    if try AccessPolicy.mayTakePart(staffID: id, facilityID: patient.facilityID, patientID: patientID, in: db) {
                        staff.append(id)
                    } else {
                        problems["participant_ids[\(request.participantIDs?.firstIndex { Self.uuid($0) == id } ?? index)]"] =
                            "is not an active staff member who may message this patient"
                    }
                }
            } else {
                staff += try AccessPolicy.careTeamParticipants(of: patientID, facilityID: patient.facilityID, in: db).filter { $0 != identity.subjectID }
            }
            guard problems.isEmpty else { throw Failure.invalid(problems) }
            return Plan(kind: "care", facilityID: patient.facilityID, patientID: patientID, staff: staff, patients: [(patientID, nil)])
        default:
            // Patients of a group first: access to each is decided before the rest is checked.
            var patients: [(id: String, alias: String?)] = []
            var facilityID: String?
            if kind == "group" {
                let list = request.patients ?? []
                if list.isEmpty || list.count > Self.maxParticipants {
                    problems["patients"] = "must name 1 to \(Self.maxParticipants) patients"
                }
                for (index, entry) in list.enumerated() {
                    guard let patientID = Self.uuid(entry.patientID) else { throw Refusal(error: .notFound, patientID: nil) }
                    do {
                        let access = try AccessPolicy.patient(identity, patientID, for: .messagesUse, in: db)
                        if let chosen = facilityID, chosen != access.facilityID {
                            problems["patients[\(index)].patient_id"] = "must be a patient of the same facility"
                        }
                        facilityID = facilityID ?? access.facilityID
                    } catch let error as AccessError {
                        throw Refusal(error: error, patientID: patientID)
                    }
                    let alias = entry.alias.trimmingCharacters(in: .whitespacesAndNewlines)
                    if alias.isEmpty || entry.alias.unicodeScalars.count > Self.maxAliasLength {
                        problems["patients[\(index)].alias"] = "must be 1 to \(Self.maxAliasLength) characters"
                    }
                    if patients.contains(where: { $0.id == patientID }) {
                        problems["patients[\(index)].patient_id"] = "appears more than once"
                    }
                    patients.append((patientID, alias))
                }
            } else if request.patients?.isEmpty == false {
                problems["patients"] = "only a group has patients"
            }
            if kind == "staff", named?.contains(where: { $0 != identity.subjectID }) != true,
               !problems.keys.contains(where: { $0.hasPrefix("participant_ids") }) {
                problems["participant_ids"] = "must name at least one other staff member"
            }
            let facility: String
            if let own = identity.facilityID {
                facility = own
            } else if let chosen = facilityID {
                facility = chosen
            } else if let requested = request.facilityID {
                guard let id = try AccessPolicy.facilityForNewRecord(identity, requested: requested, in: db) else {
                    throw Failure.invalid("facility_id", "is required for an account of every facility")
                }
                facility = id
            } else {
                problems["facility_id"] = "is required for an account of every facility"
                throw Failure.invalid(problems)
            }
            var staff = [identity.subjectID]
            for (index, id) in (named ?? []).enumerated() where id != identity.subjectID {
                if try AccessPolicy.mayTakePart(staffID: id, facilityID: facility, patientID: nil, in: db) {
                    staff.append(id)
                } else {
                    problems["participant_ids[\(request.participantIDs?.firstIndex { Self.uuid($0) == id } ?? index)]"] =
                        "is not an active staff member of this facility"
                }
            }
            guard problems.isEmpty else { throw Failure.invalid(problems) }
            return Plan(kind: kind, facilityID: facility, patientID: nil, staff: staff, patients: patients)
        }
    }
}
