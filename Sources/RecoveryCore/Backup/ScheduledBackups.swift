import Foundation
import Logging
import Synchronization

/// The backups the server writes itself, in `backup.dir`: named
/// `recovery-YYYYMMDDTHHMMSSZ.backup` (UTC), each verified once written, its
/// outcome kept beside it in `<name>.json`, and the retention rule applied
/// after each run. The directory is the record: nothing about backups is
/// kept in the database, so a restored box carries no stale backup history.
/// Only files with that name pattern are ever removed.
public final class ScheduledBackups: Sendable {
    /// One backup in the directory, for `GET /api/v1/admin/backups`.
    public struct Entry: Sendable, Equatable, Codable {
        public enum State: String, Sendable, Codable {
            /// Being written or verified now.
            case running
            /// Written and verified (decrypted, restored to a temporary directory, checked).
            case verified
            /// Verification or writing failed; the file was removed, the outcome kept.
            case failed
            /// A file without a recorded outcome (the server stopped before verifying it, or one put there by hand).
            case unverified
        }

        public var file: String
        public var createdAt: String
        public var state: State
        public var bytes: Int64?
        public var verifiedAt: String?
        public var error: String?
        public var schemaVersion: Int?
        public var counts: [String: Int]?
        /// The master-key versions whose key files it needs (see `ApplianceBackup.Written`).
        public var keyVersions: [UInt32]?

        enum CodingKeys: String, CodingKey {
            case file, state, bytes, error, counts
            case createdAt = "created_at"
            case verifiedAt = "verified_at"
            case schemaVersion = "schema_version"
            case keyVersions = "key_versions"
        }
    }

    let settings: Settings
    private let database: AppDatabase
    /// The appliance's key ring as it is now (a key rotation changes it).
    private let ring: @Sendable () -> KeyRing
    private let logger = Logger(label: "recovery-server.backup")
    private let running = Mutex<String?>(nil)
    /// The due backup waiting for a running `keys rotate`, if one waits.
    private let deferral = Mutex<Deferral?>(nil)

    /// A due backup held back by a rotation run: which rotation ("1->2"), and since when.
    struct Deferral {
        var rotation: String
        var since: Date
    }

    init(settings: Settings, database: AppDatabase, ring: @escaping @Sendable () -> KeyRing) {
        self.settings = settings
        self.database = database
        self.ring = ring
    }

    var directory: String { settings.resolvedBackupDirectory }

    static let prefix = "recovery-"
    static let suffix = ".backup"

    static func fileName(for date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return prefix + formatter.string(from: date) + suffix
    }

    /// When a scheduled backup's name says it was made; nil for any other name.
    static func date(ofFile name: String) -> Date? {
        guard name.hasPrefix(prefix), name.hasSuffix(suffix) else { return nil }
        let stamp = name.dropFirst(prefix.count).dropLast(suffix.count)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.date(from: String(stamp))
    }

    // MARK: Running

    /// Writes, verifies and prunes when the schedule says a backup is due.
    /// Returns the entry written, or nil when none was due. The work runs
    /// on a thread of its own, not the server's cooperative pool.
    ///
    /// While a `keys rotate` run holds the rotation lock a due backup waits
    /// (it is written at the first check after the run stops): a copy made
    /// midway would need both the new and the retiring key file. A rotation
    /// left unfinished with no run going does not hold backups back; such a
    /// backup records both key versions it needs.
    @discardableResult
    public func runIfDue(now: Date = Date()) async throws -> Entry? {
        let last = try entries().compactMap { Self.date(ofFile: $0.file) }.max()
        guard settings.backupSchedule.isDue(now: now, last: last) else {
            deferral.withLock { $0 = nil }
            return nil
        }
        let unfinished = try await database.read({ db in try KeyRotationState.current(in: db) }).flatMap { $0.phase != .finished ? $0 : nil }
        // The lock first: a run holds it before its rotation is in the database.
        if KeyRotation.isRunning(keyFile: settings.resolvedKeyFile) {
            let versions = unfinished.map { "\($0.fromVersion)->\($0.toVersion)" } ?? "starting"
            let first = deferral.withLock { deferral in
                guard deferral?.rotation != versions else { return false }
                deferral = Deferral(rotation: versions, since: now)
                return true
            }
            if first {
                logger.notice("scheduled backup deferred while `keys rotate` runs", metadata: [
                    "rotation": .string(versions), "phase": .string(unfinished?.phase.rawValue ?? "starting"),
                ])
            }
            return nil
        }
        if let rotation = unfinished {
            let versions = "\(rotation.fromVersion)->\(rotation.toVersion)"
            logger.notice("scheduled backup written during an unfinished master-key rotation that no `keys rotate` is running; it needs both key versions", metadata: [
                "rotation": .string(versions), "phase": .string(rotation.phase.rawValue),
            ])
        }
        deferral.withLock { $0 = nil }
        return try await runNow(now: now)
    }

    /// Since when a due backup has been waiting for a running `keys rotate`; nil when none waits.
    public var deferredSince: Date? { deferral.withLock { $0?.since } }

    /// Writes a backup now, verifies it, records the outcome and applies retention.
    public func runNow(now: Date = Date()) async throws -> Entry {
        // Whole seconds, as in the file's name.
        let now = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
        let name = Self.fileName(for: now)
        let started = running.withLock { current -> Bool in
            guard current == nil else { return false }
            current = name
            return true
        }
        guard started else { throw BackupError.destinationExists(path: directory + "/" + name) }
        defer { running.withLock { $0 = nil } }
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global(qos: .utility).async {
                continuation.resume(with: Result { try self.write(name, now: now) })
            }
        }
    }

    private func write(_ name: String, now: Date) throws -> Entry {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw BackupError.cannotWrite(path: directory, reason: error.localizedDescription)
        }
        removeAbandonedWork()
        let path = directory + "/" + name
        var entry = Entry(file: name, createdAt: Timestamp.string(now), state: .running)
        let began = Date()
        do {
            let ring = self.ring()
            let written = try ApplianceBackup.create(from: database.pool, ring: ring,
                                                     dataDirectory: settings.dataDirectory, to: path, now: now)
            entry.bytes = written.bytes
            entry.schemaVersion = written.manifest.schemaVersion
            entry.counts = written.manifest.counts
            entry.keyVersions = written.keyVersions
            _ = try ApplianceBackup.verify(file: path, keys: ring.masterKeys)
            entry.state = .verified
            entry.verifiedAt = Timestamp.now()
            logger.notice("backup written and verified", metadata: [
                "file": .string(path), "bytes": .stringConvertible(written.bytes),
                "seconds": .string(String(format: "%.2f", Date().timeIntervalSince(began))),
            ])
        } catch {
            entry.state = .failed
            entry.error = (error as? BackupError)?.description ?? "the backup failed (\(type(of: error)))"
            try? FileManager.default.removeItem(atPath: path)
            logger.error("backup failed", metadata: ["file": .string(path), "reason": .string(entry.error ?? "")])
        }
        try record(entry)
        try prune(now: now)
        return entry
    }

    /// Working files of backups whose process is gone (killed mid-backup):
    /// `.<name>.<pid>.<random>.partial` folders and their `.backup` files.
    private func removeAbandonedWork() {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name.hasPrefix(".") && name.contains(".partial") {
            let parts = name.split(separator: ".")
            guard let marker = parts.firstIndex(of: "partial"), marker >= 2, let pid = Int32(parts[marker - 2]),
                  pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
            try? FileManager.default.removeItem(atPath: directory + "/" + name)
        }
    }

    /// Writes the outcome beside the backup (`<name>.json`, mode 0600), atomically.
    private func record(_ entry: Entry) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let path = directory + "/" + entry.file + ".json"
        do {
            try encoder.encode(entry).write(to: URL(fileURLWithPath: path), options: [.atomic])
            chmod(path, 0o600)
        } catch {
            throw BackupError.cannotWrite(path: path, reason: error.localizedDescription)
        }
    }

    // MARK: Listing

    /// Every backup in the directory, newest first: the scheduled ones with
    /// their recorded outcome, others (put there by hand) as unverified, and
    /// the one being written now.
    public func entries() throws -> [Entry] {
        var found: [String: Entry] = [:]
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let decoder = JSONDecoder()
        for name in names where name.hasSuffix(Self.suffix + ".json") {
            guard let data = FileManager.default.contents(atPath: directory + "/" + name),
                  let entry = try? decoder.decode(Entry.self, from: data), entry.file + ".json" == name else { continue }
            found[entry.file] = entry
        }
        for name in names where name.hasSuffix(Self.suffix) && !name.hasPrefix(".") && found[name] == nil {
            let attributes = try? FileManager.default.attributesOfItem(atPath: directory + "/" + name)
            let made = Self.date(ofFile: name) ?? (attributes?[.modificationDate] as? Date) ?? Date(timeIntervalSince1970: 0)
            found[name] = Entry(file: name, createdAt: Timestamp.string(made), state: .unverified,
                                bytes: (attributes?[.size] as? NSNumber)?.int64Value)
        }
        if let current = running.withLock({ $0 }), let made = Self.date(ofFile: current) {
            found[current] = Entry(file: current, createdAt: Timestamp.string(made), state: .running)
        }
        return found.values.sorted { ($0.createdAt, $0.file) > ($1.createdAt, $1.file) }
    }

    /// The backups in the directory that need master key `version`'s file
    /// to be verified or restored: those recorded as needing it, and those
    /// without a record of their key versions made before `madeBefore` (the
    /// end of the rotation that retired it). Failed ones (no file) are left out.
    public func needing(keyVersion version: UInt32, madeBefore: String) throws -> [Entry] {
        try entries().filter { entry in
            guard entry.state != .failed else { return false }
            if let versions = entry.keyVersions { return versions.contains(version) }
            return entry.createdAt < madeBefore
        }
    }

    /// When the newest verified backup was made; nil when there is none.
    public func newestVerified() -> Date? {
        ((try? entries()) ?? []).filter { $0.state == .verified }.compactMap { Self.date(ofFile: $0.file) }.max()
    }

    // MARK: Retention

    /// Keeps the newest verified backup of each of the last `keep_daily`
    /// days that have one, and of each of the last `keep_weekly` ISO weeks;
    /// removes the other scheduled backups and their records. A failed
    /// backup's record goes once it is older than the newest kept day.
    func prune(now: Date) throws {
        let scheduled = try entries().filter { $0.state != .running && Self.date(ofFile: $0.file) != nil }
        let keep = Self.retained(scheduled, keepDaily: settings.backupKeepDaily, keepWeekly: settings.backupKeepWeekly)
        for entry in scheduled where !keep.contains(entry.file) {
            try? FileManager.default.removeItem(atPath: directory + "/" + entry.file)
            try? FileManager.default.removeItem(atPath: directory + "/" + entry.file + ".json")
        }
    }

    /// The files the retention rule keeps out of `entries` (scheduled ones).
    static func retained(_ entries: [Entry], keepDaily: Int, keepWeekly: Int, calendar: Calendar = .current) -> Set<String> {
        let verified = entries.filter { $0.state == .verified }
            .compactMap { entry in date(ofFile: entry.file).map { (entry.file, $0) } }
            .sorted { $0.1 > $1.1 }
        var isoWeeks = Calendar(identifier: .iso8601)
        isoWeeks.timeZone = calendar.timeZone
        var keep = Set<String>()
        var days = Set<DateComponents>()
        var weeks = Set<DateComponents>()
        for (file, made) in verified {
            let day = calendar.dateComponents([.year, .month, .day], from: made)
            if days.count < keepDaily || days.contains(day) {
                if days.insert(day).inserted { keep.insert(file) }
            }
            let week = isoWeeks.dateComponents([.yearForWeekOfYear, .weekOfYear], from: made)
            if weeks.count < keepWeekly || weeks.contains(week) {
                if weeks.insert(week).inserted { keep.insert(file) }
            }
        }
        // Failed and unverified ones newer than the oldest kept day stay, so the listing shows them.
        let oldestKept = verified.filter { keep.contains($0.0) }.map(\.1).min() ?? .distantPast
        for entry in entries where entry.state != .verified {
            if let made = date(ofFile: entry.file), made >= oldestKept || verified.isEmpty { keep.insert(entry.file) }
        }
        return keep
    }
}
