import Foundation
import Synchronization

/// The in-process doorbell of the event feed. Writers publish the events they
/// appended after their transaction committed; a listener learns the newest
/// seq and reads the feed itself from where it stopped, so a busy listener
/// never loses an event (the stream keeps only the latest ring).
public final class EventBus: Sendable {
    private let subscribers = Mutex<[UUID: AsyncStream<Int64>.Continuation]>([:])

    public init() {}

    /// Each element is the newest seq published so far.
    public func subscribe() -> AsyncStream<Int64> {
        let (stream, continuation) = AsyncStream.makeStream(of: Int64.self, bufferingPolicy: .bufferingNewest(1))
        let id = UUID()
        continuation.onTermination = { [weak self] _ in
            _ = self?.subscribers.withLock { $0.removeValue(forKey: id) }
        }
        subscribers.withLock { $0[id] = continuation }
        return stream
    }

    /// Rings for events appended to the feed and committed.
    public func publish(_ events: [RealtimeEvent]) {
        guard let newest = events.map(\.seq).max() else { return }
        for continuation in subscribers.withLock({ Array($0.values) }) {
            continuation.yield(newest)
        }
    }
}
