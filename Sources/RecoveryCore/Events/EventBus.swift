import Foundation
import Synchronization

/// Something a care team may want to see at once: a new check-in or craving,
/// or a flag raised. Ids and codes only, never PHI; a listener that needs
/// the record reads it through the usual access checks.
public struct RecoveryEvent: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case checkInRecorded = "check_in.recorded"
        case cravingRecorded = "craving.recorded"
        case flagRaised = "flag.raised"
    }

    public var kind: Kind
    public var facilityID: String
    public var patientID: String
    /// The check-in, craving or flag.
    public var recordID: String
    /// For a flag: its kind (low_mood, high_craving, reported_use, lapse, silence).
    public var flagKind: String?

    public init(kind: Kind, facilityID: String, patientID: String, recordID: String, flagKind: String? = nil) {
        self.kind = kind
        self.facilityID = facilityID
        self.patientID = patientID
        self.recordID = recordID
        self.flagKind = flagKind
    }
}

/// The in-process event bus. Events are published after the transaction
/// that stored them committed; each subscriber gets its own stream of one
/// facility's events (nil = every facility). A slow subscriber loses the
/// oldest events beyond its buffer rather than slowing writers down.
public final class EventBus: Sendable {
    private struct Subscriber {
        let facilityID: String?
        let continuation: AsyncStream<RecoveryEvent>.Continuation
    }

    private let subscribers = Mutex<[UUID: Subscriber]>([:])

    public init() {}

    public func subscribe(facilityID: String?, buffer: Int = 1_000) -> AsyncStream<RecoveryEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: RecoveryEvent.self, bufferingPolicy: .bufferingNewest(buffer))
        let id = UUID()
        continuation.onTermination = { [weak self] _ in
            _ = self?.subscribers.withLock { $0.removeValue(forKey: id) }
        }
        subscribers.withLock { $0[id] = Subscriber(facilityID: facilityID, continuation: continuation) }
        return stream
    }

    public func publish(_ events: [RecoveryEvent]) {
        guard !events.isEmpty else { return }
        let current = subscribers.withLock { Array($0.values) }
        for subscriber in current {
            for event in events where subscriber.facilityID == nil || subscriber.facilityID == event.facilityID {
                subscriber.continuation.yield(event)
            }
        }
    }
}
