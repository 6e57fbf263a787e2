import Synchronization

/// Lets at most `capacity` holders run at a time in this process; the others
/// wait their turn in arrival order. Federation rounds take one turn (the
/// background task and `POST /federation/sync` would otherwise send the same
/// payloads side by side); PDF reports take one per core, as each draws on a
/// thread of its own.
public final class ConcurrencyLimit: Sendable {
    public let capacity: Int
    private let state: Mutex<(running: Int, waiting: [CheckedContinuation<Void, Never>])>

    public init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
        state = Mutex((0, []))
    }

    /// Waits until fewer than `capacity` hold a turn, then holds one until `leave()`.
    public func enter() async {
        await withCheckedContinuation { (turn: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state -> Bool in
                if state.running >= capacity { state.waiting.append(turn); return false }
                state.running += 1
                return true
            }
            if now { turn.resume() }
        }
    }

    /// Gives the turn to the next waiting holder, if any.
    public func leave() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiting.isEmpty { state.running -= 1; return nil }
            return state.waiting.removeFirst()
        }
        next?.resume()
    }

    /// Runs `work` while holding a turn.
    public func withTurn<T: Sendable>(_ work: @Sendable () async throws -> T) async throws -> T {
        await enter()
        defer { leave() }
        return try await work()
    }
}
