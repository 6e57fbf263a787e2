import Foundation
import GRDB

/// The clinic's outbox: each payload stays in `federation_outbox` until
/// central acknowledges it with a receipt signed by central's pinned key, so
/// nothing is lost to a network failure or a restart. Rows are kept after
/// delivery: they are the clinic's disclosure log (what, when, to whom).
public struct FederationOutbox: Sendable {
    let appliance: Appliance

    public init(appliance: Appliance) { self.appliance = appliance }

    /// How many weeks back the first sync reports (the current week included).
    public static let backfillWeeks = 8

    /// The clinic's enrolment: its key and the pinned central.
    struct Link: Sendable {
        let identity: FederationIdentity
        let clinicID: String
        let peerID: String
        let centralURL: URL
        let centralKey: Data
    }

    func link(in db: Database) throws -> Link? {
        guard let identity = try FederationIdentity.load(appliance, in: db), let clinicID = identity.clinicID,
              let peerID = identity.centralPeerID,
              let row = try Row.fetchOne(db, sql: "SELECT base_url, public_key FROM federation_peers WHERE id = ?", arguments: [peerID]),
              let url = URL(string: row["base_url"] as String) else { return nil }
        return Link(identity: identity, clinicID: clinicID, peerID: peerID, centralURL: url, centralKey: row["public_key"])
    }

    func requireClinic() throws {
        guard appliance.settings.mode == .clinic else { throw FederationError.wrongMode(expected: "clinic") }
    }

    /// Queues a new payload for every week (of the last `backfillWeeks`) and
    /// every elapsed day of the current week whose snapshot differs from the
    /// last one queued for it; answers how many.
    func prepare(now: Date = Date()) async throws -> Int {
        try await appliance.database.pool.write { db in try queueDue(now: now, in: db) }
    }

    /// `prepare` inside the caller's transaction. Sequence numbers are taken in
    /// it, so they only grow. With `federation.require_approval` a new payload
    /// waits as `awaiting_approval`, and replaces a payload of the same period still
    /// waiting (never sent, so nothing was disclosed); without it, waiting payloads are released.
    func queueDue(now: Date = Date(), in db: Database) throws -> Int {
        guard let link = try link(in: db) else { throw FederationError.notEnrolled }
        let approval = appliance.settings.federationRequireApproval
        if !approval {
            try db.execute(sql: "UPDATE federation_outbox SET status = 'pending' WHERE peer_id = ? AND status = 'awaiting_approval'",
                           arguments: [link.peerID])
        }
        let ledger = PrivacyLedger(appliance: appliance)
        var queued = 0
        for (period, facilities) in try snapshots(now: now, in: db) {
            var payload = FederationPayload(clinicID: link.clinicID, sequence: 0, schemaVersion: MetricsCatalogue.schemaVersion,
                                            period: period, facilities: [])
            for facility in facilities {
                var cells = facility.cells
                if let ledger { cells = try ledger.apply(cells, facility: facility.ref, period: period, in: db) }
                payload.facilities.append(.init(ref: facility.ref, name: facility.name, cells: cells))
            }
            if let last = try String.fetchOne(db, sql: """
                SELECT payload FROM federation_outbox WHERE peer_id = ? AND granularity = ? AND period_start = ? ORDER BY sequence DESC LIMIT 1
                """, arguments: [link.peerID, period.granularity.rawValue, period.start]),
               let previous = try? FederationPayload.parse(last), previous.facilitiesJSON == payload.facilitiesJSON,
               previous.schemaVersion == payload.schemaVersion {
                continue
            }
            payload.sequence = (try Int.fetchOne(db, sql: "SELECT max(sequence) FROM federation_outbox WHERE peer_id = ?",
                                                 arguments: [link.peerID]) ?? 0) + 1
            if approval {
                try db.execute(sql: """
                    DELETE FROM federation_outbox WHERE peer_id = ? AND granularity = ? AND period_start = ? AND status = 'awaiting_approval'
                    """, arguments: [link.peerID, period.granularity.rawValue, period.start])
            }
            let text = payload.canonicalText
            let id = RowID.make()
            try db.execute(sql: """
                INSERT INTO federation_outbox (id, peer_id, batch_id, granularity, period_start, period_end, payload, signature, sequence,
                                               schema_version, status)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [id, link.peerID, id, period.granularity.rawValue, period.start, period.end, text,
                                 link.identity.key.sign(Array(text.utf8)), payload.sequence, payload.schemaVersion,
                                 approval ? "awaiting_approval" : "pending"])
            queued += 1
        }
        return queued
    }

    /// The periods a round reports: the last `backfillWeeks` weeks, oldest
    /// first, then the days of last week (withdrawn, see `snapshots`), then
    /// each day of the current week from its Monday through today.
    public static func reportedPeriods(now: Date = Date()) -> [FederationPeriod] {
        let current = ISOWeek(containing: now)
        let lastWeek = current.back(1)
        return stride(from: backfillWeeks - 1, through: 0, by: -1).map { FederationPeriod(current.back($0)) }
            + lastWeek.days(through: FederationPeriod(lastWeek).end) + current.days(through: ISOWeek.day(now))
    }

    /// Every facility's suppressed cells, exact (before any noise), for each of `reportedPeriods`.
    func snapshots(now: Date, in db: Database) throws -> [(FederationPeriod, [(ref: String, name: String, cells: [(metric: String, value: CellValue)])])] {
        let current = ISOWeek(containing: now)
        let periods = Self.reportedPeriods(now: now)
        let days = periods.filter { $0.granularity == .day }
        let facilities = try Row.fetchAll(db, sql: "SELECT id, name FROM facilities ORDER BY id")
        let figures = CatalogueFigures(cipher: appliance.cipher)
        var cells: [FederationPeriod: [(ref: String, name: String, cells: [(metric: String, value: CellValue)])]] = [:]
        for facility in facilities {
            let ref: String = facility["id"], name: String = facility["name"]
            var week = MetricsCatalogue.Figures()
            for period in periods where period.granularity == .week {
                let read = try figures.read(facility: ref, period: period, in: db)
                if period.start == current.start { week = read }
                cells[period, default: []].append((ref, name, Suppression.cells(read)))
            }
            let thisWeek = days.filter { $0.start >= current.start }
            let daily = try Suppression.days(week: week, days: thisWeek.map { try figures.read(facility: ref, period: $0, in: db) })
            for (day, dayCells) in zip(thisWeek, daily) { cells[day, default: []].append((ref, name, dayCells)) }
            // A finished week's days are withdrawn: only its weekly cells stay current, as its days, kept as last
            // sent, would differ from a week re-sent after a late entry by exactly that entry.
            for day in days where day.start < current.start {
                cells[day, default: []].append((ref, name, Suppression.withdrawn()))
            }
        }
        return periods.map { ($0, cells[$0] ?? []) }
    }

    struct Pending: Sendable {
        let id: String
        let sequence: Int
        let payload: String
        let signature: Data
        let attempts: Int
    }

    /// Payloads not yet acknowledged, oldest first; with `all` also those still waiting out their backoff.
    func pending(all: Bool, now: String = Timestamp.now()) async throws -> (Link, [Pending])? {
        try await appliance.database.read { db in
            guard let link = try link(in: db) else { return nil }
            let rows = try Row.fetchAll(db, sql: """
                SELECT id, sequence, payload, signature, attempts FROM federation_outbox
                WHERE peer_id = ? AND status = 'pending' AND (? OR next_attempt_at IS NULL OR next_attempt_at <= ?)
                ORDER BY sequence
                """, arguments: [link.peerID, all, now])
            return (link, rows.map { Pending(id: $0["id"], sequence: $0["sequence"], payload: $0["payload"], signature: $0["signature"], attempts: $0["attempts"]) })
        }
    }

    func delivered(_ item: Pending, link: Link) async throws {
        let now = Timestamp.now()
        try await appliance.database.pool.write { db in
            try db.execute(sql: "UPDATE federation_outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1, last_error = NULL WHERE id = ?",
                           arguments: [now, item.id])
            try db.execute(sql: "UPDATE federation_peers SET last_seen_at = ?, last_error = NULL, updated_at = ? WHERE id = ?",
                           arguments: [now, now, link.peerID])
        }
    }

    /// A failed attempt: retried after an exponential backoff with jitter, or
    /// given up (`failed`) when central refused the payload itself.
    func failed(_ item: Pending, link: Link, code: String, permanent: Bool) async throws {
        let delay = Self.backoff(attempt: item.attempts + 1)
        let next = Timestamp.string(Date().addingTimeInterval(delay))
        try await appliance.database.pool.write { db in
            try db.execute(sql: """
                UPDATE federation_outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?,
                  status = CASE WHEN ? THEN 'failed' ELSE status END WHERE id = ?
                """, arguments: [code, next, permanent, item.id])
            try db.execute(sql: "UPDATE federation_peers SET last_error = ?, updated_at = ? WHERE id = ?",
                           arguments: [code, Timestamp.now(), link.peerID])
        }
    }

    /// A round that could not start (e.g. plain http refused): shown in the status.
    func recordError(_ code: String, link: Link) async throws {
        try await appliance.database.pool.write { db in
            try db.execute(sql: "UPDATE federation_peers SET last_error = ?, updated_at = ? WHERE id = ?", arguments: [code, Timestamp.now(), link.peerID])
        }
    }

    /// 30 s doubling per attempt, at most 6 hours, times a random 0.5-1.0 so
    /// clinics that failed together do not retry together.
    public static func backoff(attempt: Int) -> TimeInterval {
        let base = min(21_600, 30 * pow(2, Double(max(0, min(attempt - 1, 20)))))
        return base * (0.5 + Double(SecureRandom.uniform(1_001)) / 2_000)
    }

    // MARK: Reads for the clinic's administrators

    public struct Status: Sendable {
        public let enrolled: Bool
        public let clinicID: String?
        public let centralURL: String?
        public let lastSuccessAt: String?
        public let queueDepth: Int
        /// Payloads waiting for an administrator's approval (`federation.require_approval`).
        public let awaitingApproval: Int
        public let lastError: String?
    }

    public func status(_ identity: Identity) async throws -> Status {
        try requireClinic()
        try AccessPolicy.require(identity, .federationManage)
        return try await appliance.database.read { db in
            guard let identityRow = try Row.fetchOne(db, sql: "SELECT clinic_id, central_peer_id FROM federation_identity WHERE clinic_id IS NOT NULL"),
                  let peer = try Row.fetchOne(db, sql: "SELECT base_url, last_seen_at, last_error FROM federation_peers WHERE id = ?",
                                              arguments: [identityRow["central_peer_id"] as String]) else {
                return Status(enrolled: false, clinicID: nil, centralURL: nil, lastSuccessAt: nil, queueDepth: 0, awaitingApproval: 0, lastError: nil)
            }
            let depth = try Int.fetchOne(db, sql: "SELECT count(*) FROM federation_outbox WHERE status = 'pending'") ?? 0
            let awaiting = try Int.fetchOne(db, sql: "SELECT count(*) FROM federation_outbox WHERE status = 'awaiting_approval'") ?? 0
            return Status(enrolled: true, clinicID: identityRow["clinic_id"], centralURL: peer["base_url"], lastSuccessAt: peer["last_seen_at"],
                          queueDepth: depth, awaitingApproval: awaiting, lastError: peer["last_error"])
        }
    }

    public struct Disclosure: Sendable {
        public let id: String
        public let sequence: Int
        public let period: String
        public let periodStart: String
        public let periodEnd: String
        public let recipient: String
        public let status: String
        public let attempts: Int
        public let createdAt: String
        public let sentAt: String?
        public let lastError: String?
        public let payload: String
    }

    /// Every payload made for central, newest first: what was (or is to be) disclosed, when, to whom.
    public func disclosures(_ identity: Identity, page: Int, limit: Int) async throws -> ([Disclosure], total: Int) {
        try requireClinic()
        try AccessPolicy.require(identity, .federationManage)
        return try await appliance.database.read { db in
            let total = try Int.fetchOne(db, sql: "SELECT count(*) FROM federation_outbox") ?? 0
            let rows = try Row.fetchAll(db, sql: """
                SELECT o.*, p.base_url FROM federation_outbox o JOIN federation_peers p ON p.id = o.peer_id
                ORDER BY o.sequence DESC LIMIT ? OFFSET ?
                """, arguments: [limit, (page - 1) * limit])
            let items = rows.map { row -> Disclosure in
                let start: String = row["period_start"]
                return Disclosure(id: row["id"], sequence: row["sequence"], period: FederationPeriod.name(granularity: row["granularity"], start: start),
                                  periodStart: start, periodEnd: row["period_end"], recipient: (row["base_url"] as String?) ?? "",
                                  status: row["status"], attempts: row["attempts"], createdAt: row["created_at"], sentAt: row["sent_at"],
                                  lastError: row["last_error"], payload: row["payload"])
            }
            return (items, total: total)
        }
    }
}
