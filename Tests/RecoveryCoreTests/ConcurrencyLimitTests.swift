import Synchronization
import Testing
@testable import RecoveryCore

/// The limit on work running at once: never more than its capacity, and
/// every waiting holder gets its turn.
@Suite struct ConcurrencyLimitTests {
    final class Gauge: Sendable {
        let state = Mutex((now: 0, most: 0, done: 0))
        func enter() { state.withLock { $0.now += 1; $0.most = max($0.most, $0.now) } }
        func leave() { state.withLock { $0.now -= 1; $0.done += 1 } }
    }

    @Test(arguments: [1, 2, 3]) func neverMoreThanItsCapacityRunAtOnce(capacity: Int) async throws {
        let limit = ConcurrencyLimit(capacity: capacity)
        let gauge = Gauge()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<(capacity * 4) {
                group.addTask {
                    try await limit.withTurn {
                        gauge.enter()
                        try await Task.sleep(for: .milliseconds(5))
                        gauge.leave()
                    }
                }
            }
            try await group.waitForAll()
        }
        let result = gauge.state.withLock { $0 }
        #expect(result.done == capacity * 4)
        #expect(result.most >= 1 && result.most <= capacity)
        #expect(result.now == 0)
    }

    @Test func aTurnLeftByAnErrorPassesToTheNext() async throws {
        struct Failed: Error {}
        let limit = ConcurrencyLimit(capacity: 1)
        await #expect(throws: Failed.self) { try await limit.withTurn { throw Failed() } }
        let value = try await limit.withTurn { 7 }
        #expect(value == 7)
    }
}
