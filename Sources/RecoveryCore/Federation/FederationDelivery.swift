import Foundation
import Synchronization

/// Sends the outbox to central: computes what is due, then posts each pending
/// payload `{clinic_id, payload, signature}` and marks it delivered only on a
/// receipt signed by central's pinned key. A network failure or a 5xx stops
/// the round and is retried with backoff; a 4xx refusal marks that payload failed.
public struct FederationDelivery: Sendable {
    let appliance: Appliance
    let transport: FederationTransport

    public init(appliance: Appliance, transport: @escaping FederationTransport) {
        self.appliance = appliance
        self.transport = transport
    }

    public struct Result: Sendable {
        public let queued: Int
        public let sent: Int
        public let failed: Int
        public let pending: Int
        public let lastError: String?
    }

    /// `POST /federation/sync` (an administrator: everything pending, now).
    public func syncNow(_ identity: Identity, origin: RequestOrigin) async throws -> Result {
        try AccessPolicy.require(identity, .federationManage)
        let result = try await run(prepare: true, all: true)
        try await appliance.database.pool.write { db in
            try appliance.audit.append(AuditEvent(action: "federation.sync", outcome: result.failed == 0 && result.lastError == nil ? .success : .failure,
                                                  actorKind: .staff, actorID: identity.subjectID, facilityID: identity.facilityID,
                                                  resourceType: "federation_outbox", ipAddress: origin.ipAddress, requestID: origin.requestID,
                                                  details: ["queued": String(result.queued), "sent": String(result.sent)]), in: db)
        }
        return result
    }

    /// One round: queue what is due when `prepare`, then send; never two rounds at once.
    public func run(prepare: Bool, all: Bool) async throws -> Result {
        try await appliance.federationRounds.withTurn { try await round(prepare: prepare, all: all) }
    }

    func round(prepare: Bool, all: Bool) async throws -> Result {
        let outbox = FederationOutbox(appliance: appliance)
        try outbox.requireClinic()
        let queued = prepare ? try await outbox.prepare() : 0
        guard let work = try await outbox.pending(all: all) else { throw FederationError.notEnrolled }
        let (link, items) = work
        // The pinned address is checked again on every round: plain http beyond loopback needs the setting.
        do {
            _ = try CentralAddress.validate(link.centralURL.absoluteString, allowPlainHTTP: appliance.settings.federationAllowPlainHTTP)
        } catch let error as FederationError {
            try await outbox.recordError(error.code, link: link)
            return Result(queued: queued, sent: 0, failed: 0, pending: items.count, lastError: error.code)
        }
        var sent = 0, failed = 0
        var lastError: String?
        for item in items {
            let envelope = JSONValue.object(["clinic_id": .string(link.clinicID), "payload": .string(item.payload),
                                             "signature": .string(item.signature.base64EncodedString())]).canonicalText
            let answer: (status: Int, body: Data)
            do {
                answer = try await transport(link.centralURL.appendingPathComponent("api/v1/federation/payloads"), Data(envelope.utf8))
            } catch {
                lastError = "central_unreachable"
                try await outbox.failed(item, link: link, code: "central_unreachable", permanent: false)
                break
            }
            let (status, body) = answer
            if status == 200 || status == 201 {
                guard Self.receiptValid(body, clinicID: link.clinicID, item: item, centralKey: link.centralKey) else {
                    lastError = "receipt_not_signed_by_central"
                    try await outbox.failed(item, link: link, code: "receipt_not_signed_by_central", permanent: false)
                    break
                }
                try await outbox.delivered(item, link: link)
                sent += 1
            } else if (400..<500).contains(status), status != 408, status != 429 {
                let code = Self.errorCode(body) ?? "central_http_\(status)"
                lastError = code
                failed += 1
                // A central older than this clinic may learn the payload's schema version: retried with the backoff.
                try await outbox.failed(item, link: link, code: code, permanent: code != "unknown_schema_version")
            } else {
                lastError = "central_http_\(status)"
                try await outbox.failed(item, link: link, code: "central_http_\(status)", permanent: false)
                break
            }
        }
        let pending = try await outbox.pending(all: true)?.1.count ?? 0
        return Result(queued: queued, sent: sent, failed: failed, pending: pending, lastError: lastError)
    }

    static func receiptValid(_ body: Data, clinicID: String, item: FederationOutbox.Pending, centralKey: Data) -> Bool {
        guard case .object(let fields)? = try? JSONParser.parse(Array(body)),
              case .integer(let sequence)? = fields["sequence"], sequence == item.sequence,
              case .string(let text)? = fields["receipt_signature"], let signature = Data(base64Encoded: text) else { return false }
        let message = FederationReceipt.message(clinicID: clinicID, sequence: item.sequence, digest: FederationReceipt.digest(item.payload))
        return SigningKey.verify(signature, of: message, publicKey: centralKey)
    }

    static func errorCode(_ body: Data) -> String? {
        guard case .object(let fields)? = try? JSONParser.parse(Array(body)), case .object(let error)? = fields["error"],
              case .string(let code)? = error["code"], code.count <= 64, code.allSatisfy({ $0.isLetter || $0 == "_" }) else { return nil }
        return code
    }
}

/// When the background task last queued what was due: it queues every
/// `federation.interval_seconds` (the first time one interval after start)
/// and, on every tick, sends pending payloads whose backoff has passed, so a
/// restart resumes where the outbox stands.
public final class FederationSchedule: Sendable {
    private let lastPrepared = Mutex<Date?>(nil)

    public init() {}

    /// One background round; a clinic that is not enrolled does nothing.
    public func tick(_ appliance: Appliance, transport: @escaping FederationTransport) async throws {
        guard appliance.settings.mode == .clinic else { return }
        let enrolled = try await appliance.database.read { db in try FederationOutbox(appliance: appliance).link(in: db) != nil }
        guard enrolled else { return }
        let now = Date()
        let interval = Double(appliance.settings.federationIntervalSeconds)
        let due = lastPrepared.withLock { last in
            guard let previous = last else { last = now; return false }
            guard now.timeIntervalSince(previous) >= interval else { return false }
            last = now
            return true
        }
        _ = try await FederationDelivery(appliance: appliance, transport: transport).run(prepare: due, all: false)
    }
}
