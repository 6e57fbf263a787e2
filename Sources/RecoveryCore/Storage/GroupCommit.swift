import Foundation
import GRDB

/// Group commit: many small writes share one transaction, and so one fsync.
/// Work handed in while a commit is in flight is gathered and run together
/// in the next transaction, each piece inside its own savepoint, so a piece
/// that throws is rolled back alone and the others still commit. A caller
/// gets its result only after the transaction holding its work committed
/// (synchronous=FULL), so whatever it answers is durable, even if the
/// process dies right after.
///
/// Used for the audit entries of reads (`AuditWriter`) and for the patient
/// app's record writes (`SyncEngine`).
public actor GroupCommit {
    public typealias Work = @Sendable (Database) throws -> Void

    private struct Pending {
        let work: Work
        let weight: Int
        let done: CheckedContinuation<Void, any Error>
    }

    /// How much work one transaction takes at most (a read's audit entry
    /// weighs 1, a sync push its item count): enough to share fsyncs, small
    /// enough that no transaction outgrows the page cache or keeps everyone
    /// waiting for seconds.
    public static let maxWeightPerTransaction = 2_000

    private let database: AppDatabase
    private var pending: [Pending] = []
    private var flushing = false

    public init(database: AppDatabase) {
        self.database = database
    }

    /// Runs `work` in a shared write transaction; returns its result once
    /// committed. `weight` is roughly how many rows it writes.
    public nonisolated func write<T: Sendable>(weight: Int = 1, _ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let box = ResultBox<T>()
        try await enqueue(weight: weight) { db in box.value = try work(db) }
        return box.value!
    }

    private func enqueue(weight: Int, _ work: @escaping Work) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            pending.append(Pending(work: work, weight: max(1, weight), done: continuation))
            if !flushing {
                flushing = true
                Task { await flushUntilEmpty() }
            }
        }
    }

    private func flushUntilEmpty() async {
        while !pending.isEmpty {
            var taken = 0, weight = 0
            while taken < pending.count, taken == 0 || weight + pending[taken].weight <= Self.maxWeightPerTransaction {
                weight += pending[taken].weight
                taken += 1
            }
            let batch = Array(pending.prefix(taken))
            pending.removeFirst(taken)
            let outcomes: [(any Error)?]
            do {
                outcomes = try await database.pool.write { db in
                    batch.map { piece -> (any Error)? in
                        do {
                            try db.inSavepoint {
                                try piece.work(db)
                                return .commit
                            }
                            return nil
                        } catch {
                            return error
                        }
                    }
                }
            } catch {
                for piece in batch { piece.done.resume(throwing: error) }
                continue
            }
            for (piece, outcome) in zip(batch, outcomes) {
                if let outcome { piece.done.resume(throwing: outcome) } else { piece.done.resume() }
            }
        }
        flushing = false
    }
}

/// Carries a result out of a work closure; written before the commit and
/// read after it, never concurrently.
private final class ResultBox<T>: @unchecked Sendable {
    var value: T?
}
