import Foundation
import GRDB

/// Central receives a clinic's signed payload. In order: the clinic must be
/// enrolled and not revoked, the signature must be its pinned key's over the
/// exact bytes, the payload canonical JSON of a known schema version naming
/// that clinic. Each (clinic, sequence) is stored once: the same bytes again
/// are a duplicate, other bytes under a used sequence are refused. A newer
/// sequence for a period (a week, or a day of the current week) replaces the
/// period's cells; an older one arriving late is recorded but changes
/// nothing. Every refusal stores nothing.
public struct FederationIngest: Sendable {
    let appliance: Appliance

    public init(appliance: Appliance) { self.appliance = appliance }

    public enum Outcome: String, Sendable {
        case stored
        /// The same payload was received before.
        case duplicate
        /// A newer snapshot of the period was already stored.
        case superseded
    }

    public struct Receipt: Sendable {
        public let outcome: Outcome
        public let clinicID: String
        public let sequence: Int
        /// Central's signature over `FederationReceipt.message`.
        public let signature: Data
    }

    public func receive(clinicID: String, payload: String, signature: Data, origin: RequestOrigin) async throws -> Receipt {
        try FederationPeers.requireCentral(appliance)
        do {
            return try await store(clinicID: clinicID, payload: payload, signature: signature)
        } catch let error as FederationError {
            // The refusal is kept in the audit trail (reason and clinic id only, never the content).
            try? await appliance.database.pool.write { db in
                try appliance.audit.append(AuditEvent(action: "federation.payload_refused", outcome: .denied, actorKind: .system,
                                                      resourceType: "federation_peer", resourceID: String(clinicID.prefix(64)),
                                                      ipAddress: origin.ipAddress, requestID: origin.requestID,
                                                      details: ["reason": error.code]), in: db)
            }
            throw error
        }
    }

    func store(clinicID: String, payload: String, signature: Data) async throws -> Receipt {
        let digest = FederationReceipt.digest(payload)
        return try await appliance.database.pool.write { db in
            let (_, publicKey) = try AccessPolicy.federatedClinic(clinicID, in: db)
            guard SigningKey.verify(signature, of: Array(payload.utf8), publicKey: publicKey) else { throw FederationError.badSignature }
            let parsed = try FederationPayload.parse(payload)
            guard parsed.clinicID == clinicID else { throw FederationError.invalid(field: "payload.clinic_id", issue: "must be the sending clinic's id") }
            let central = try FederationIdentity.centralIdentity(appliance, in: db)
            func receipt(_ outcome: Outcome) -> Receipt {
                Receipt(outcome: outcome, clinicID: clinicID, sequence: parsed.sequence,
                        signature: central.key.sign(FederationReceipt.message(clinicID: clinicID, sequence: parsed.sequence, digest: digest)))
            }
            if let stored = try Data.fetchOne(db, sql: "SELECT payload_digest FROM federation_receipts WHERE peer_id = ? AND sequence = ?",
                                              arguments: [clinicID, parsed.sequence]) {
                guard ConstantTime.equals(stored, digest) else { throw FederationError.sequenceReused }
                return receipt(.duplicate)
            }
            let now = Timestamp.now()
            let period = parsed.period, granularity = parsed.period.granularity.rawValue
            try db.execute(sql: """
                INSERT INTO federation_receipts (peer_id, sequence, payload_digest, granularity, period_start, received_at) VALUES (?, ?, ?, ?, ?, ?)
                """, arguments: [clinicID, parsed.sequence, digest, granularity, period.start, now])
            try db.execute(sql: "UPDATE federation_peers SET last_seen_at = ?, last_sequence = max(last_sequence, ?), updated_at = ? WHERE id = ?",
                           arguments: [now, parsed.sequence, now, clinicID])
            var outcome = Outcome.stored
            for facility in parsed.facilities {
                let facilityID = try Self.facility(peer: clinicID, ref: facility.ref, name: facility.name, at: now, in: db)
                let newest = try Int.fetchOne(db, sql: """
                    SELECT max(sequence) FROM federation_metric_cells WHERE facility_id = ? AND granularity = ? AND period_start = ?
                    """, arguments: [facilityID, granularity, period.start])
                if let newest, newest > parsed.sequence { outcome = .superseded; continue }
                try db.execute(sql: "DELETE FROM federation_metric_cells WHERE facility_id = ? AND granularity = ? AND period_start = ?",
                               arguments: [facilityID, granularity, period.start])
                for cell in facility.cells {
                    let value: DatabaseValueConvertible?
                    switch cell.value {
                    case .count(let n): value = n
                    case .number(let x): value = x
                    case .suppressed, .none: value = nil
                    }
                    try db.execute(sql: """
                        INSERT INTO federation_metric_cells (facility_id, granularity, period_start, period, metric, value, suppressed, sequence,
                                                             schema_version, received_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """, arguments: [facilityID, granularity, period.start, period.name, cell.metric, value,
                                         cell.value == .suppressed, parsed.sequence, parsed.schemaVersion, now])
                }
            }
            return receipt(outcome)
        }
    }

    /// Central's id for a clinic's facility, made on first sight; its name and last sighting kept current.
    static func facility(peer: String, ref: String, name: String, at now: String, in db: Database) throws -> String {
        if let id = try String.fetchOne(db, sql: "SELECT id FROM federation_facilities WHERE peer_id = ? AND source_ref = ?", arguments: [peer, ref]) {
            try db.execute(sql: "UPDATE federation_facilities SET name = ?, last_seen_at = ?, updated_at = ? WHERE id = ?", arguments: [name, now, now, id])
            return id
        }
        let id = RowID.make()
        try db.execute(sql: "INSERT INTO federation_facilities (id, peer_id, source_ref, name, last_seen_at) VALUES (?, ?, ?, ?, ?)",
                       arguments: [id, peer, ref, name, now])
        return id
    }
}
