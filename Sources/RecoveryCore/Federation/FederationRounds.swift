import Synchronization

/// Lets one delivery round run at a time in this process: the background task
/// and `POST /federation/sync` would otherwise send the same pending payloads
/// side by side. A round that finds another running waits its turn.
public final class FederationRounds: Sendable {
    private let state = Mutex<(busy: Bool, waiting: [CheckedContinuation<Void, Never>])>((false, []))

    public init() {}

    /// Runs `round` once no other round is running.
    func exclusively<T: Sendable>(_ round: @Sendable () async throws -> T) async throws -> T {
        await withCheckedContinuation { (turn: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state -> Bool in
                if state.busy { state.waiting.append(turn); return false }
                state.busy = true
                return true
            }
            if now { turn.resume() }
        }
        defer {
            let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
                if state.waiting.isEmpty { state.busy = false; return nil }
                return state.waiting.removeFirst()
            }
            next?.resume()
        }
        return try await round()
    }
}
