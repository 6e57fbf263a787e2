import Foundation
import Synchronization

/// Free space on the data directory's file system against
/// `storage.min_free_bytes`: below it, writes are refused (507) before
/// SQLite fails half-way, and the readiness check says why. The figure is
/// read with `statvfs` at most once a second.
public final class DiskSpace: Sendable {
    public let path: String
    public let minimumFreeBytes: Int64
    private let cached = Mutex<(at: ContinuousClock.Instant, free: Int64?)?>(nil)

    public init(path: String, minimumFreeBytes: Int64) {
        self.path = path
        self.minimumFreeBytes = minimumFreeBytes
    }

    /// Bytes available to this process on the file system holding `path`
    /// (nil when it cannot be read).
    public var freeBytes: Int64? {
        let now = ContinuousClock.now
        if let last = cached.withLock({ $0 }), now - last.at < .seconds(1) { return last.free }
        var info = statvfs()
        let free: Int64? = statvfs(path, &info) == 0 ? Int64(info.f_bavail) * Int64(info.f_frsize) : nil
        cached.withLock { $0 = (now, free) }
        return free
    }

    /// Throws `StorageError.diskNearlyFull` when less than the minimum is free.
    public func requireRoomForWrites() throws {
        if let free = freeBytes, free < minimumFreeBytes {
            throw StorageError.diskNearlyFull(freeBytes: free, minimumBytes: minimumFreeBytes)
        }
    }

    public var isNearlyFull: Bool { (try? requireRoomForWrites()) == nil }
}
