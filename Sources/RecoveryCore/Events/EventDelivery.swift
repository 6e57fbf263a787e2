import Foundation
import GRDB

/// Someone connected for realtime events: a socket's key and the identity it
/// signed in with. The access policy decides for the identity, never the socket.
public struct Listener: Sendable, Hashable {
    public let key: String
    public let identity: Identity

    public init(key: String, identity: Identity) {
        self.key = key
        self.identity = identity
    }

    public static func == (lhs: Listener, rhs: Listener) -> Bool { lhs.key == rhs.key }
    public func hash(into hasher: inout Hasher) { hasher.combine(key) }
}

/// One event for one listener: the event's name and its payload (a JSON
/// object that starts with `event_id`, the feed's seq). `phi` marks a payload
/// that carries protected information (a message body): its delivery is
/// audited before it is sent.
public struct Delivery: Sendable, Equatable {
    public let listenerKey: String
    public let name: String
    public let payload: JSONValue
    public let phi: Bool

    public init(listenerKey: String, name: String, payload: JSONValue, phi: Bool = false) {
        self.listenerKey = listenerKey
        self.name = name
        self.payload = payload
        self.phi = phi
    }
}

/// Who receives one kind of feed event, and what each sees. Each area that
/// writes feed events declares its audience here, deciding with the access
/// policy for each listener's identity.
public protocol EventAudience: Sendable {
    var kinds: Set<RealtimeEvent.Kind> { get }
    /// The deliveries of `event` to those of `listeners` who may read it.
    func deliveries(of event: RealtimeEvent, to listeners: [Listener], in db: Database) throws -> [Delivery]
}

/// Routes each feed event to the audience of its kind.
public struct EventDelivery: Sendable {
    let audiences: [RealtimeEvent.Kind: any EventAudience]

    public init(appliance: Appliance) {
        let all: [any EventAudience] = [
            RecoveryRecordAudience(),
            MessagingAudience(appliance: appliance),
            CrisisAudience(cipher: appliance.cipher), AnnouncementAudience(),
        ]
        var byKind: [RealtimeEvent.Kind: any EventAudience] = [:]
        for audience in all { for kind in audience.kinds { byKind[kind] = audience } }
        audiences = byKind
    }

    /// The deliveries of `event`; none for a kind without an audience.
    public func deliveries(of event: RealtimeEvent, to listeners: [Listener], in db: Database) throws -> [Delivery] {
        guard let audience = audiences[event.kind], !listeners.isEmpty else { return [] }
        return try audience.deliveries(of: event, to: listeners, in: db)
    }

    /// The policy's decision for one listener: its answer, or nil when it
    /// refuses (a listener the policy refuses simply gets no delivery).
    public static func admitted<T>(_ decide: () throws -> T) throws -> T? {
        do {
            return try decide()
        } catch is AccessError {
            return nil
        }
    }

    /// The staff among `listeners` whom the policy lets reach a patient's
    /// records with `permission`.
    public static func readers(of patientID: String, facilityID: String, among listeners: [Listener], for permission: Permission,
                               in db: Database) throws -> [Listener] {
        try listeners.filter { listener in
            guard listener.identity.kind == .staff, listener.identity.facilityID == nil || listener.identity.facilityID == facilityID,
                  AccessPolicy.permits(listener.identity, permission) else { return false }
            return try admitted { try AccessPolicy.patient(listener.identity, patientID, for: permission, in: db) } != nil
        }
    }
}

/// New check-ins and cravings and raised flags: to the staff who may read the
/// patient's clinical records. Ids and codes only.
struct RecoveryRecordAudience: EventAudience {
    let kinds: Set<RealtimeEvent.Kind> = [.checkInNew, .cravingNew, .patientFlagged]

    func deliveries(of event: RealtimeEvent, to listeners: [Listener], in db: Database) throws -> [Delivery] {
        guard let patientID = event.patientID else { return [] }
        var payload: [String: JSONValue] = ["event_id": .integer(Int(event.seq)), "patient_id": .string(patientID),
                                            "facility_id": .string(event.facilityID), "at": .string(event.createdAt)]
        switch event.kind {
        case .checkInNew: payload["check_in_id"] = .string(event.subjectID)
        case .cravingNew: payload["craving_id"] = .string(event.subjectID)
        default:
            payload["flag_id"] = .string(event.subjectID)
            payload["flag_kind"] = event.data["flag_kind"].map { .string($0) } ?? .null
        }
        let readers = try EventDelivery.readers(of: patientID, facilityID: event.facilityID, among: listeners,
                                                for: .patientsReadClinical, in: db)
        return readers.map { Delivery(listenerKey: $0.key, name: event.kind.rawValue, payload: .object(payload)) }
    }
}
