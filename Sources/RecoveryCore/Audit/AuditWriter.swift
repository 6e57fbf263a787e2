import Foundation
import GRDB

/// Group commit for audit entries of reads. A request that read PHI hands
/// its entry here and waits; entries arriving while a commit is in flight
/// are gathered and written together in the next transaction, so many
/// requests share one fsync. A request returns its data only after its
/// entry's transaction committed (synchronous=FULL), so an answered read
/// always has a durable audit entry, even if the process dies right after.
public actor AuditWriter {
    private let database: AppDatabase
    private let log: AuditLog
    private var pending: [AuditEvent] = []
    private var waiters: [CheckedContinuation<Void, any Error>] = []
    private var flushing = false
    /// Batches written and entries in them, for metrics and the benchmark.
    public private(set) var batches = 0
    public private(set) var entries = 0

    public init(database: AppDatabase, log: AuditLog) {
        self.database = database
        self.log = log
    }

    /// Returns once `events` are committed to disk.
    public func record(_ events: [AuditEvent]) async throws {
        guard !events.isEmpty else { return }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            pending.append(contentsOf: events)
            waiters.append(continuation)
            if !flushing {
                flushing = true
                Task { await flushUntilEmpty() }
            }
        }
    }

    public func record(_ event: AuditEvent) async throws {
        try await record([event])
    }

    private func flushUntilEmpty() async {
        while !pending.isEmpty {
            let batch = pending
            let batchWaiters = waiters
            pending = []
            waiters = []
            do {
                let log = self.log
                try await database.pool.write { db in try log.append(batch, in: db) }
                batches += 1
                entries += batch.count
                for waiter in batchWaiters { waiter.resume() }
            } catch {
                for waiter in batchWaiters { waiter.resume(throwing: error) }
            }
        }
        flushing = false
    }
}
