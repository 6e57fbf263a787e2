import Foundation
import GRDB
import Metrics

/// Group commit: many small writes share one transaction, and so one fsync.
/// Work handed in while a commit is in flight is gathered and run together
/// in the next transaction. A piece that throws leaves nothing behind: the
/// whole transaction is rolled back, the piece gets its error, and the
/// others run again in the next transaction (work must therefore depend
/// only on the database, which every piece here does). Pieces do not get a
/// savepoint each: SQLite then copies every page a piece touches into a
/// journal for the savepoint, and a sync push, whose items have savepoints
/// of their own, paid that copy twice. Failures are rare (a full disk, a
/// bug), so the rerun costs nothing in practice. A caller gets its result
/// only after the transaction holding its work committed (synchronous=FULL),
/// so whatever it answers is durable, even if the process dies right after.
///
/// Used for the audit entries of reads (`AuditWriter`) and for the patient
/// app's record writes (`SyncEngine`).
public actor GroupCommit {
    public typealias Work = @Sendable (Database) throws -> Void

    private struct Pending {
        let work: Work
        let weight: Int
        let done: CheckedContinuation<Void, any Error>
        let queuedAt = ContinuousClock.now
    }

    /// How many pieces each transaction carried, and how long a piece
    /// waited for its transaction to begin (the writer's queue).
    private let batchSizes = Recorder(label: "recovery_group_commit_batch_size")
    private let waits = Metrics.Timer(label: "recovery_group_commit_wait_seconds")

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
            batchSizes.record(batch.count)
            let began = ContinuousClock.now
            for piece in batch { waits.record(duration: began - piece.queuedAt) }
            do {
                try await database.pool.write { db in
                    for (index, piece) in batch.enumerated() {
                        do {
                            try piece.work(db)
                        } catch {
                            throw PieceFailed(index: index, error: error)
                        }
                    }
                }
                for piece in batch { piece.done.resume() }
            } catch let failure as PieceFailed {
                // Rolled back: the failing piece gets its error; the others
                // go back to the front of the queue and run again.
                batch[failure.index].done.resume(throwing: failure.error)
                pending.insert(contentsOf: batch.enumerated().filter { $0.offset != failure.index }.map(\.element), at: 0)
            } catch {
                // The transaction itself failed (commit, disk): nothing of it is stored.
                for piece in batch { piece.done.resume(throwing: error) }
            }
        }
        flushing = false
    }
}

private struct PieceFailed: Error {
    let index: Int
    let error: any Error
}

/// Carries a result out of a work closure; written before the commit and
/// read after it, never concurrently.
private final class ResultBox<T>: @unchecked Sendable {
    var value: T?
}
