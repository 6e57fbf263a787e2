import Foundation
import GRDB

/// An administrator's view of what leaves the clinic next, and, with
/// `federation.require_approval`, the approval that lets it go. The preview
/// shows each payload exactly as signed, with the BLAKE2b-256 digest of its
/// bytes; an approval names those digests, so a payload that changed since the
/// preview (a newer snapshot of its week or day) is not approved by it.
public struct FederationApproval: Sendable {
    let appliance: Appliance

    public init(appliance: Appliance) { self.appliance = appliance }

    public struct Item: Sendable {
        public let sequence: Int
        public let period: String
        public let periodStart: String
        public let periodEnd: String
        /// `awaiting_approval`, `pending` (queued, to be sent), or `due` (queued at the next round).
        public let status: String
        /// Hex BLAKE2b-256 of `payload`'s bytes.
        public let digest: String
        /// The exact bytes that are signed and sent.
        public let payload: String
        public let signature: Data
    }

    public struct Preview: Sendable {
        public let requireApproval: Bool
        public let items: [Item]
    }

    /// Every payload not yet sent, and those the next round would queue: computed
    /// in a transaction that is rolled back, so previewing stores nothing.
    public func preview(_ identity: Identity) async throws -> Preview {
        try FederationOutbox(appliance: appliance).requireClinic()
        try AccessPolicy.require(identity, .federationManage)
        let outbox = FederationOutbox(appliance: appliance)
        let items = try await appliance.database.pool.writeWithoutTransaction { db -> [Item] in
            var items: [Item] = []
            try db.inTransaction {
                let before = try Set(String.fetchAll(db, sql: "SELECT id FROM federation_outbox WHERE status IN ('awaiting_approval', 'pending')"))
                _ = try outbox.queueDue(in: db)
                items = try Self.unsent(in: db).map { item, id in
                    before.contains(id) ? item : Item(sequence: item.sequence, period: item.period, periodStart: item.periodStart,
                                                       periodEnd: item.periodEnd, status: "due", digest: item.digest,
                                                       payload: item.payload, signature: item.signature)
                }
                return .rollback
            }
            return items
        }
        return Preview(requireApproval: appliance.settings.federationRequireApproval, items: items)
    }

    /// Queues what is due and releases the waiting payloads whose digests are
    /// given. Every digest must name a payload awaiting approval (after the
    /// queueing), or nothing changes. Audited.
    public func approve(_ identity: Identity, digests: [String], origin: RequestOrigin) async throws -> [Item] {
        try FederationOutbox(appliance: appliance).requireClinic()
        try AccessPolicy.require(identity, .federationManage)
        guard appliance.settings.federationRequireApproval else { throw FederationError.approvalNotRequired }
        guard !digests.isEmpty else { throw FederationError.invalid(field: "digests", issue: "must name at least one payload of the preview") }
        let wanted = digests.map { $0.lowercased() }
        for (index, digest) in wanted.enumerated() where digest.count != 64 || !digest.allSatisfy(\.isHexDigit) {
            throw FederationError.invalid(field: "digests[\(index)]", issue: "must be a payload digest of the preview (64 hex digits)")
        }
        let outbox = FederationOutbox(appliance: appliance)
        let now = Timestamp.now()
        return try await appliance.database.pool.write { db in
            _ = try outbox.queueDue(in: db)
            let waiting = try Self.unsent(in: db).filter { $0.item.status == "awaiting_approval" }
            var approved: [(item: Item, id: String)] = []
            for (index, digest) in wanted.enumerated() {
                guard let match = waiting.first(where: { $0.item.digest == digest }) else { throw FederationError.approvalStale(field: "digests[\(index)]") }
                if !approved.contains(where: { $0.id == match.id }) { approved.append(match) }
            }
            for (_, id) in approved {
                try db.execute(sql: """
                    UPDATE federation_outbox SET status = 'pending', approved_at = ?, approved_by = ? WHERE id = ? AND status = 'awaiting_approval'
                    """, arguments: [now, identity.subjectID, id])
            }
            let sequences = approved.map { String($0.item.sequence) }.joined(separator: ",")
            try appliance.audit.append(AuditEvent(action: "federation.approve", outcome: .success, actorKind: .staff,
                                                  actorID: identity.subjectID, facilityID: identity.facilityID,
                                                  resourceType: "federation_outbox", ipAddress: origin.ipAddress, requestID: origin.requestID,
                                                  details: ["sequences": sequences]), in: db)
            return approved.map(\.item)
        }
    }

    /// Payloads awaiting approval or pending, in sequence order, with their row ids.
    static func unsent(in db: Database) throws -> [(item: Item, id: String)] {
        try Row.fetchAll(db, sql: """
            SELECT id, sequence, granularity, period_start, period_end, status, payload, signature FROM federation_outbox
            WHERE status IN ('awaiting_approval', 'pending') ORDER BY sequence
            """).map { row in
            let start: String = row["period_start"], payload: String = row["payload"]
            let digest = FederationReceipt.digest(payload).map { String(format: "%02x", $0) }.joined()
            return (Item(sequence: row["sequence"], period: FederationPeriod.name(granularity: row["granularity"], start: start), periodStart: start, periodEnd: row["period_end"],
                         status: row["status"], digest: digest, payload: payload, signature: row["signature"]), row["id"])
        }
    }
}
