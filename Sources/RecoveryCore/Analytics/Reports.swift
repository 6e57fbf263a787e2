import Foundation
import GRDB

/// The PDF reports' data: a patient's progress report and a facility's
/// monthly report, each read with its access decision in one database
/// transaction and audited before it is drawn. A progress report downloaded
/// with a consent is a release under that consent, recorded in the
/// accounting of disclosures in the same transaction as its audit entry.
public struct Reports: Sendable {
    let appliance: Appliance

    public init(appliance: Appliance) {
        self.appliance = appliance
    }

    public func progress(_ identity: Identity, patientID: String, from: String, to: String, consentID: String?,
                         origin: RequestOrigin) async throws -> ProgressReport {
        let directory = PatientDirectory(appliance: appliance)
        let details = ["from": from, "to": to]
        guard let consentID else {
            return try await directory.readAuthorized(identity, patientID, .patientsReadClinical, action: "report.progress", origin: origin) { db, granted in
                try ProgressReport.load(try directory.loadDetail(patientID, facilityID: granted.facilityID, in: db), facilityID: granted.facilityID,
                                        from: from, to: to, in: db)
            }
        }
        return try await directory.writeAuthorized(identity, patientID, .patientsReadClinical, action: "report.progress", origin: origin) { db, granted in
            let disclosure = try Consents(appliance: appliance).record(facilityID: granted.facilityID, patientID: patientID, consentID: consentID,
                                                                       kind: "report", covering: "progress", description: nil, documentID: nil,
                                                                       staffID: identity.subjectID, in: db)
            try appliance.audit.append(directory.successEvent("report.progress", identity, granted, origin,
                                                              details: details.merging(["disclosure": disclosure]) { a, _ in a }), in: db)
            return try ProgressReport.load(try directory.loadDetail(patientID, facilityID: granted.facilityID, in: db), facilityID: granted.facilityID,
                                           from: from, to: to, in: db)
        }
    }

    public func monthly(_ identity: Identity, facilityID: String, month: String, origin: RequestOrigin) async throws -> MonthlyReport {
        let directory = PatientDirectory(appliance: appliance)
        let report = try await FacilityAnalytics(appliance: appliance).decided("report.monthly", identity, facilityID, origin) { db in
            try MonthlyReport.load(facilityID: facilityID, month: month, directory: directory, in: db)
        }
        try await appliance.auditWriter.record(AuditEvent(
            action: "report.monthly", outcome: .success, actorKind: .staff, actorID: identity.subjectID, facilityID: facilityID,
            resourceType: "facility", resourceID: facilityID, patientIDs: report.patientIDs, ipAddress: origin.ipAddress,
            requestID: origin.requestID, details: ["month": month]))
        return report
    }
}
