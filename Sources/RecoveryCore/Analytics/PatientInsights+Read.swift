import Foundation

extension PatientDirectory {
    /// A patient's insights as of now: the access decision, the records and
    /// the computation in one database read; audited like every patient read.
    public func insights(_ identity: Identity, patientID: String, origin: RequestOrigin) async throws -> JSONValue {
        try await readAuthorized(identity, patientID, .patientsReadClinical, action: "patient.insights", origin: origin) { db, granted in
            let activity = try PatientActivity.load(facilityID: granted.facilityID, patientID: patientID, in: db)
            return .object(["patient_id": .string(patientID), "as_of": .string(CalendarDate.string(julianDay: activity.today)),
                            "insights": .array(PatientInsights(activity).all.map(\.json))])
        }
    }
}
