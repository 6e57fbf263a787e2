import Foundation
import GRDB
import Logging
import RecoveryCore
import SocketIO

/// Delivers the event feed to connected sockets. One loop reads the feed in
/// order after the bus rings; for each event the area's audience (through the
/// access policy) picks, among the sockets of the event's facility and the
/// box-wide accounts, who receives what. Deliveries carrying PHI are audited,
/// durably, before they are sent. A socket joining with `since` first gets
/// what it missed from the feed, then the live events held back meanwhile.
actor FeedDispatcher {
    struct Entry {
        let socket: SocketIOSocket
        var identity: Identity
        /// Events after this seq reach the socket live; earlier ones only by replay.
        let from: Int64
        /// Live deliveries held back while the socket's replay runs.
        var heldBack: [Delivery]?
    }

    let appliance: Appliance
    let delivery: EventDelivery
    let logger: Logger
    private var entries: [String: Entry] = [:]
    private var byFacility: [String: Set<String>] = [:]
    private var boxWide: Set<String> = []
    /// The newest seq the loop has read.
    private var cursor: Int64 = -1

    init(appliance: Appliance, logger: Logger) {
        self.appliance = appliance
        self.delivery = EventDelivery(appliance: appliance)
        self.logger = logger
    }

    var connectedCount: Int { entries.count }

    func identity(of key: String) -> Identity? { entries[key]?.identity }

    /// The listeners of a facility and the box-wide ones (every one for a
    /// box-wide caller), for events not kept in the feed such as `typing`.
    func listeners(near identity: Identity) -> [Listener] {
        let keys = identity.facilityID.map(candidates) ?? Array(entries.keys)
        return keys.compactMap { key in entries[key].map { Listener(key: key, identity: $0.identity) } }
    }

    /// Sends an event that is not kept in the feed (no event id, no replay).
    func emit(_ name: String, _ payload: JSONValue, to keys: [String]) {
        let text = payload.canonicalText
        for key in keys { entries[key]?.socket.emit(name, [text]) }
    }

    func join(_ socket: SocketIOSocket, identity: Identity, since: Int64?) async {
        await startCursor()
        let from = cursor
        let replay = since.map { $0 < from } ?? false
        entries[socket.id] = Entry(socket: socket, identity: identity, from: from, heldBack: replay ? [] : nil)
        if let facilityID = identity.facilityID { byFacility[facilityID, default: []].insert(socket.id) } else { boxWide.insert(socket.id) }
        guard replay, let since else { return }
        var after = since
        do {
            if try await appliance.database.read({ db in try EventFeed.hasPruned(after: since, in: db) }) {
                socket.emit(RealtimeEvent.resync, [JSONValue.object(["since": .integer(Int(since))]).canonicalText])
            }
            while after < from {
                let listener = Listener(key: socket.id, identity: identity), start = after
                let (events, deliveries) = try await appliance.database.read { [delivery] db in
                    let events = try EventFeed.events(after: start, facilityID: identity.facilityID, limit: 500, in: db).filter { $0.seq <= from }
                    return (events, try events.flatMap { try delivery.deliveries(of: $0, to: [listener], in: db) })
                }
                guard let last = events.last else { break }
                try await send(deliveries, events: events, replay: true)
                after = last.seq
            }
        } catch {
            logger.error("realtime replay failed", metadata: ["error_type": .string(String(describing: type(of: error)))])
            socket.disconnect()
        }
        if let held = entries[socket.id]?.heldBack {
            entries[socket.id]?.heldBack = nil
            for item in held { _ = socket.emit(item.name, [item.payload.canonicalText]) }
        }
    }

    /// The loop starts from the feed's end when it first runs: older events are for `since`.
    private func startCursor() async {
        if cursor < 0 { cursor = (try? await appliance.database.read { db in try EventFeed.lastSeq(in: db) }) ?? 0 }
    }

    func leave(_ key: String) {
        guard let entry = entries.removeValue(forKey: key) else { return }
        if let facilityID = entry.identity.facilityID { byFacility[facilityID]?.remove(key) } else { boxWide.remove(key) }
    }

    func update(_ key: String, identity: Identity) {
        entries[key]?.identity = identity
    }

    /// Delivers the feed as the bus rings, and closes sockets whose session
    /// ends, until cancelled.
    func run() async {
        let rings = appliance.events.subscribe()
        let revocations = appliance.revokedSessions.insertions()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { for await _ in rings { await self.deliverNewEvents() } }
            group.addTask { for await sessions in revocations { await self.close(sessions: Set(sessions)) } }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(10))
                    await self.closeIdleSockets()
                }
            }
            await group.waitForAll()
        }
    }

    /// Reads the feed after the cursor and delivers each event.
    func deliverNewEvents() async {
        await startCursor()
        do {
            while true {
                let after = cursor
                let listenersByFacility = entries.isEmpty ? [:] : snapshot()
                let (events, deliveries) = try await appliance.database.read { [delivery] db in
                    let events = try EventFeed.events(after: after, limit: 500, in: db)
                    var deliveries: [Delivery] = []
                    for event in events {
                        let listeners = (listenersByFacility[event.facilityID] ?? []) + (listenersByFacility[""] ?? [])
                        // One decision per person: their sockets (phone, desktop) get the same deliveries.
                        let people = Dictionary(grouping: listeners.filter { $0.from < event.seq }.map(\.listener), by: { Self.person($0.identity) })
                        let representatives = Dictionary(uniqueKeysWithValues: people.values.map { ($0[0].key, $0) })
                        for item in try delivery.deliveries(of: event, to: representatives.values.map { $0[0] }, in: db) {
                            for listener in representatives[item.listenerKey] ?? [] {
                                deliveries.append(Delivery(listenerKey: listener.key, name: item.name, payload: item.payload, phi: item.phi))
                            }
                        }
                    }
                    return (events, deliveries)
                }
                guard let last = events.last else { return }
                cursor = last.seq
                try await send(deliveries, events: events)
            }
        } catch {
            logger.error("realtime delivery failed", metadata: ["error_type": .string(String(describing: type(of: error)))])
        }
    }

    /// Who the access policy decides for: the same person on every socket they open.
    static func person(_ identity: Identity) -> String {
        [identity.kind.rawValue, identity.subjectID, identity.role?.rawValue ?? "", identity.facilityID ?? ""].joined(separator: "|")
    }

    struct Candidate: Sendable {
        let listener: Listener
        let from: Int64
    }

    /// The listeners per facility ("" for box-wide accounts), for one read.
    private func snapshot() -> [String: [Candidate]] {
        var result: [String: [Candidate]] = [:]
        for (key, entry) in entries {
            result[entry.identity.facilityID ?? "", default: []].append(Candidate(listener: Listener(key: key, identity: entry.identity), from: entry.from))
        }
        return result
    }

    private func candidates(_ facility: String) -> [String] {
        Array(byFacility[facility] ?? []) + Array(boxWide)
    }

    /// Audits the deliveries that carry PHI (one entry per person and event,
    /// whatever their number of sockets), then sends each (held back for a
    /// socket still replaying).
    private func send(_ deliveries: [Delivery], events: [RealtimeEvent], replay: Bool = false) async throws {
        let audited = deliveries.filter(\.phi)
        if !audited.isEmpty {
            let eventsBySeq = Dictionary(events.map { ($0.seq, $0) }, uniquingKeysWith: { first, _ in first })
            let entries = self.entries
            var seen = Set<String>()
            try await appliance.auditWriter.record(audited.compactMap { item in
                guard let identity = entries[item.listenerKey]?.identity,
                      case .integer(let seq)? = item.payload["event_id"], let event = eventsBySeq[Int64(seq)],
                      seen.insert(Self.person(identity) + "|\(seq)|" + item.name).inserted else { return nil }
                return AuditEvent(action: "realtime.delivered", outcome: .success, actorKind: identity.auditActor, actorID: identity.subjectID,
                                  facilityID: event.facilityID, resourceType: item.name, resourceID: event.subjectID,
                                  patientID: event.patientID, details: ["event_id": String(event.seq)])
            })
        }
        // A person's sockets share one payload: encode each payload once.
        var encoded: (payload: JSONValue, text: String)?
        for item in deliveries {
            guard let entry = entries[item.listenerKey] else { continue }
            if entry.heldBack != nil && !replay {
                entries[item.listenerKey]?.heldBack?.append(item)
            } else {
                if encoded?.payload != item.payload { encoded = (item.payload, item.payload.canonicalText) }
                entry.socket.emit(item.name, [encoded!.text])
            }
        }
    }

    private func close(sessions: Set<String>) {
        for entry in entries.values where sessions.contains(entry.identity.sessionID) {
            entry.socket.disconnect()
        }
    }

    /// Sessions that ended while their sockets sat open: revoked, or idle past
    /// the limit (an open socket is not use; HIPAA automatic logoff).
    private func closeIdleSockets() {
        let now = Date()
        for entry in entries.values where appliance.revokedSessions.contains(entry.identity.sessionID)
            || appliance.sessionActivity.isIdle(entry.identity, at: now) {
            entry.socket.disconnect()
        }
    }
}
