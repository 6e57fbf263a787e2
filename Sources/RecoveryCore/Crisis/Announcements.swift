import Foundation
import GRDB

/// Facility notices from administrators (`announcements.manage`) to staff,
/// patients or both, or to a named group of them. Title and body are plain
/// text by design (0001: notices, never about a patient). Publication is
/// now or at a chosen time (`publish_at`); `announcement:new` goes to the
/// feed when that time comes (the server's clock runs `publishDue(now:)`).
/// Retracting ends an announcement for every reader (kept, never erased).
/// Readers see what is published, not expired, not retracted and meant for
/// them, unread first, and mark what they read.
public struct Announcements: Sendable {
    public static let audiences = ["all", "patients", "staff"]
    public static let priorities = ["low", "normal", "high", "urgent"]
    public static let maxTitleLength = 200
    public static let maxBodyLength = 10_000
    public static let maxRecipients = 500

    public struct Announcement: Sendable, Equatable {
        public var id: String
        public var facilityID: String
        public var title: String
        public var body: String
        public var audience: String
        public var priority: String
        public var publishedAt: String?
        public var expiresAt: String?
        public var authorID: String
        public var createdAt: String
        public var updatedAt: String
        public var editedAt: String?
        public var retractedAt: String?
        public var announcedAt: String?
        public var staffIDs: [String]?
        public var patientIDs: [String]?
        /// When the reader marked it read (reader views only).
        public var readAt: String?

        /// What every reader sees (the API adds the reader's `read_at`, a manager the rest).
        public var readerJSON: [String: JSONValue] {
            let optional: (String?) -> JSONValue = { $0.map { .string($0) } ?? .null }
            return ["id": .string(id), "facility_id": .string(facilityID), "title": .string(title), "body": .string(body),
                    "audience": .string(audience), "priority": .string(priority), "published_at": optional(publishedAt),
                    "expires_at": optional(expiresAt), "edited_at": optional(editedAt), "created_at": .string(createdAt)]
        }
    }

    /// The announcement as `reader` sees it in a sync pull, or nil when the
    /// announcement rules do not let them read it (another audience, not yet
    /// published, expired, retracted).
    func forReader(_ id: String, _ reader: Identity, in db: Database) throws -> JSONValue? {
        do {
            _ = try AccessPolicy.announcement(reader, id, in: db)
        } catch is AccessError {
            return nil
        }
        return .object(try load(id, in: db, withRecipients: false).readerJSON)
    }

    /// What a manager sends to create one. Times are RFC 3339 text.
    public struct Draft: Sendable {
        public var title: String
        public var body: String
        public var audience: String
        public var priority: String?
        public var publishAt: String?
        public var expiresAt: String?
        public var staffIDs: [String]?
        public var patientIDs: [String]?

        public init(title: String, body: String, audience: String, priority: String? = nil, publishAt: String? = nil, expiresAt: String? = nil,
                    staffIDs: [String]? = nil, patientIDs: [String]? = nil) {
            self.title = title; self.body = body; self.audience = audience; self.priority = priority; self.publishAt = publishAt
            self.expiresAt = expiresAt; self.staffIDs = staffIDs; self.patientIDs = patientIDs
        }
    }

    /// An edit: nil = unchanged.
    public struct Changes: Sendable {
        public var title: String?
        public var body: String?
        public var priority: String?
        public var publishAt: String?
        public var expiresAt: String?

        public init(title: String? = nil, body: String? = nil, priority: String? = nil, publishAt: String? = nil, expiresAt: String? = nil) {
            self.title = title; self.body = body; self.priority = priority; self.publishAt = publishAt; self.expiresAt = expiresAt
        }
    }

    public enum Failure: Error, Equatable, Sendable {
        case invalid([String: String])
        case notFound
        case alreadyRetracted
    }

    let appliance: Appliance

    public init(appliance: Appliance) {
        self.appliance = appliance
    }

    // MARK: Managing

    /// Creates one in the caller's facility; a box-wide account names it (`facilityID`, checked by the policy).
    public func create(_ identity: Identity, _ draft: Draft, facilityID requested: String? = nil, origin: RequestOrigin,
                       now: Date = Date()) async throws -> Announcement {
        try AccessPolicy.require(identity, .announcementsManage)
        var problems: [String: String] = [:]
        let title = Self.text(draft.title, "title", Self.maxTitleLength, &problems)
        let body = Self.text(draft.body, "body", Self.maxBodyLength, &problems)
        if !Self.audiences.contains(draft.audience) { problems["audience"] = "must be one of: " + Self.audiences.joined(separator: ", ") }
        let priority = draft.priority ?? "normal"
        if !Self.priorities.contains(priority) { problems["priority"] = "must be one of: " + Self.priorities.joined(separator: ", ") }
        let publishAt = Self.time(draft.publishAt, "publish_at", &problems) ?? now
        let expiresAt = Self.time(draft.expiresAt, "expires_at", &problems)
        if let expiresAt, expiresAt <= max(publishAt, now) { problems["expires_at"] = "must be later than the publication time and now" }
        let staffIDs = Self.ids(draft.staffIDs, "staff_ids", &problems)
        let patientIDs = Self.ids(draft.patientIDs, "patient_ids", &problems)
        if !staffIDs.isEmpty, draft.audience == "patients" { problems["staff_ids"] = "must be empty for the audience patients" }
        if !patientIDs.isEmpty, draft.audience == "staff" { problems["patient_ids"] = "must be empty for the audience staff" }
        if (draft.staffIDs?.count ?? 0) + (draft.patientIDs?.count ?? 0) > Self.maxRecipients { problems["staff_ids"] = "at most \(Self.maxRecipients) recipients in all" }
        guard problems.isEmpty else { throw Failure.invalid(problems) }
        let (announcement, events) = try await appliance.database.pool.write { db -> (Announcement, [RealtimeEvent]) in
            let facilityID: String
            do {
                guard let id = try AccessPolicy.facilityForNewRecord(identity, requested: requested, in: db) else {
                    throw Failure.invalid(["facility_id": "is required for a box-wide account"])
                }
                facilityID = id
            } catch AccessError.notFound {
                throw Failure.invalid(["facility_id": "is not a facility"])
            }
            var bad: [String: String] = [:]
            for (index, id) in staffIDs.enumerated() where try Bool.fetchOne(db, sql: """
                SELECT 1 FROM staff WHERE id = ? AND facility_id = ? AND is_active = 1
                """, arguments: [id, facilityID]) != true {
                bad["staff_ids[\(index)]"] = "is not an active staff member of the facility"
            }
            for (index, id) in patientIDs.enumerated() where try Bool.fetchOne(db, sql: """
                SELECT 1 FROM patients WHERE id = ? AND facility_id = ? AND deleted_at IS NULL
                """, arguments: [id, facilityID]) != true {
                bad["patient_ids[\(index)]"] = "is not a patient of the facility"
            }
            guard bad.isEmpty else { throw Failure.invalid(bad) }
            let id = RowID.make(at: now)
            let stamp = Timestamp.string(now)
            let announced = publishAt <= now
            try db.execute(sql: """
                INSERT INTO announcements (id, facility_id, title, body, audience, priority, published_at, expires_at, author_id,
                                           created_at, updated_at, announced_at, targeted)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [id, facilityID, title, body, draft.audience, priority, Timestamp.string(publishAt),
                                 expiresAt.map(Timestamp.string), identity.subjectID, stamp, stamp, announced ? stamp : nil,
                                 staffIDs.isEmpty && patientIDs.isEmpty ? 0 : 1])
            for staffID in staffIDs {
                try db.execute(sql: "INSERT INTO announcement_recipients (announcement_id, facility_id, recipient_kind, staff_id) VALUES (?, ?, 'staff', ?)",
                               arguments: [id, facilityID, staffID])
            }
            for patientID in patientIDs {
                try db.execute(sql: "INSERT INTO announcement_recipients (announcement_id, facility_id, recipient_kind, patient_id) VALUES (?, ?, 'patient', ?)",
                               arguments: [id, facilityID, patientID])
            }
            try appliance.audit.append(event("announcement.create", identity, facilityID, id, origin,
                                             details: ["audience": draft.audience, "recipients": String(staffIDs.count + patientIDs.count)]), in: db)
            let events = announced ? [try Self.announce(id, facilityID, draft.audience, priority, at: stamp, in: db)] : []
            return (try load(id, in: db), events)
        }
        appliance.events.publish(events)
        return announcement
    }

    public func update(_ identity: Identity, announcementID: String, _ changes: Changes, origin: RequestOrigin, now: Date = Date()) async throws -> Announcement {
        var problems: [String: String] = [:]
        var title: String?, body: String?
        if let value = changes.title { title = Self.text(value, "title", Self.maxTitleLength, &problems) }
        if let value = changes.body { body = Self.text(value, "body", Self.maxBodyLength, &problems) }
        if let priority = changes.priority, !Self.priorities.contains(priority) {
            problems["priority"] = "must be one of: " + Self.priorities.joined(separator: ", ")
        }
        let publishAt = Self.time(changes.publishAt, "publish_at", &problems)
        let expiresAt = Self.time(changes.expiresAt, "expires_at", &problems)
        let (newTitle, newBody, problemsFound) = (title, body, problems)
        return try await managedWrite(identity, announcementID, action: "announcement.update", origin: origin) { db, access in
            guard problemsFound.isEmpty else { throw Failure.invalid(problemsFound) }
            let current = try load(announcementID, in: db)
            if current.retractedAt != nil { throw Failure.alreadyRetracted }
            if publishAt != nil, current.announcedAt != nil { throw Failure.invalid(["publish_at": "cannot change: already published"]) }
            let published = publishAt ?? current.publishedAt.flatMap(Timestamp.parse) ?? now
            if let expiresAt, expiresAt <= max(published, now) {
                throw Failure.invalid(["expires_at": "must be later than the publication time and now"])
            }
            let stamp = Timestamp.string(now)
            try db.execute(sql: """
                UPDATE announcements SET title = coalesce(?, title), body = coalesce(?, body), priority = coalesce(?, priority),
                       published_at = coalesce(?, published_at), expires_at = coalesce(?, expires_at), edited_at = ?, updated_at = ?
                WHERE id = ?
                """, arguments: [newTitle, newBody, changes.priority, publishAt.map { Timestamp.string(max($0, now)) }, expiresAt.map(Timestamp.string),
                                 stamp, stamp, announcementID])
            try appliance.audit.append(event("announcement.update", identity, access.facilityID, announcementID, origin), in: db)
            if current.announcedAt != nil {
                try SyncChangeLog.record(facilityID: access.facilityID, patientID: nil, table: "announcements", id: announcementID,
                                         op: "upsert", at: stamp, in: db)
            }
            return (try load(announcementID, in: db), [])
        }
    }

    public func retract(_ identity: Identity, announcementID: String, origin: RequestOrigin, now: Date = Date()) async throws -> Announcement {
        try await managedWrite(identity, announcementID, action: "announcement.retract", origin: origin) { db, access in
            let stamp = Timestamp.string(now)
            try db.execute(sql: """
                UPDATE announcements SET retracted_at = ?, retracted_by = ?, updated_at = ? WHERE id = ? AND retracted_at IS NULL
                """, arguments: [stamp, identity.subjectID, stamp, announcementID])
            guard db.changesCount == 1 else { throw Failure.alreadyRetracted }
            try appliance.audit.append(event("announcement.retract", identity, access.facilityID, announcementID, origin), in: db)
            try SyncChangeLog.record(facilityID: access.facilityID, patientID: nil, table: "announcements", id: announcementID,
                                     op: "delete", at: stamp, in: db)
            return (try load(announcementID, in: db), [])
        }
    }

    /// Every announcement the manager's facilities hold, in any state, newest first.
    public func managed(_ identity: Identity, page: Int, limit: Int) async throws -> (announcements: [Announcement], total: Int) {
        let scope = try AccessPolicy.managedAnnouncementList(identity)
        return try await appliance.database.read { db in
            let total = try Int.fetchOne(db, sql: "SELECT count(*) FROM announcements n WHERE n.deleted_at IS NULL AND \(scope.sql)",
                                         arguments: scope.arguments) ?? 0
            let ids = try String.fetchAll(db, sql: """
                SELECT n.id FROM announcements n WHERE n.deleted_at IS NULL AND \(scope.sql) ORDER BY n.created_at DESC, n.id DESC LIMIT ? OFFSET ?
                """, arguments: scope.arguments + [limit, (page - 1) * limit])
            return (try ids.map { try load($0, in: db) }, total)
        }
    }

    // MARK: Reading

    /// What `identity` may read now: unread first, then newest first.
    public func list(_ identity: Identity, page: Int, limit: Int, now: Date = Date()) async throws -> (announcements: [Announcement], total: Int) {
        let scope = AccessPolicy.announcementList(identity, at: now)
        let reader = identity.kind == .staff ? "r.staff_id = ?" : "r.patient_id = ?"
        return try await appliance.database.read { db in
            let total = try Int.fetchOne(db, sql: "SELECT count(*) FROM announcements n WHERE \(scope.sql)", arguments: scope.arguments) ?? 0
            let rows = try Row.fetchAll(db, sql: """
                SELECT n.id, (SELECT r.read_at FROM announcement_reads r WHERE r.announcement_id = n.id AND \(reader)) AS read_at
                FROM announcements n WHERE \(scope.sql)
                ORDER BY read_at IS NOT NULL, n.published_at DESC, n.id DESC LIMIT ? OFFSET ?
                """, arguments: [identity.subjectID] + scope.arguments + [limit, (page - 1) * limit])
            return (try rows.map { row in
                var announcement = try load(row["id"], in: db, withRecipients: false)
                announcement.readAt = row["read_at"]
                return announcement
            }, total)
        }
    }

    /// Marks one announcement read by `identity` (again: unchanged); answers when.
    public func markRead(_ identity: Identity, announcementID: String, origin: RequestOrigin, now: Date = Date()) async throws -> String {
        do {
            return try await appliance.database.pool.write { db in
                let access = try AccessPolicy.announcement(identity, announcementID, at: now, in: db)
                let staff = identity.kind == .staff
                try db.execute(sql: """
                    INSERT INTO announcement_reads (announcement_id, facility_id, reader_kind, staff_id, patient_id, read_at)
                    VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
                    """, arguments: [announcementID, access.facilityID, staff ? "staff" : "patient", staff ? identity.subjectID : nil,
                                     staff ? nil : identity.subjectID, Timestamp.string(now)])
                return try String.fetchOne(db, sql: """
                    SELECT read_at FROM announcement_reads WHERE announcement_id = ? AND \(staff ? "staff_id" : "patient_id") = ?
                    """, arguments: [announcementID, identity.subjectID]) ?? Timestamp.string(now)
            }
        } catch let error as AccessError {
            try await appliance.auditWriter.record(.denied("announcement.read", by: identity, resourceType: "announcement",
                                                           resourceID: announcementID, reason: error, origin))
            throw error == .notFound ? Failure.notFound : error
        }
    }

    // MARK: Scheduled publication

    /// Announces every announcement whose publication time has come
    /// (`announcement:new`); publishes and answers the events.
    @discardableResult
    public func publishDue(now: Date = Date()) async throws -> [RealtimeEvent] {
        let stamp = Timestamp.string(now)
        guard try await appliance.database.read({ db in
            try Bool.fetchOne(db, sql: """
                SELECT 1 FROM announcements WHERE announced_at IS NULL AND published_at IS NOT NULL AND published_at <= ? LIMIT 1
                """, arguments: [stamp])
        }) == true else { return [] }
        let events = try await appliance.database.pool.write { db -> [RealtimeEvent] in
            let rows = try Row.fetchAll(db, sql: """
                SELECT id, facility_id, audience, priority, expires_at, retracted_at, deleted_at FROM announcements
                WHERE announced_at IS NULL AND published_at IS NOT NULL AND published_at <= ?
                """, arguments: [stamp])
            var events: [RealtimeEvent] = []
            for row in rows {
                try db.execute(sql: "UPDATE announcements SET announced_at = ? WHERE id = ?", arguments: [stamp, row["id"] as String])
                let live = (row["retracted_at"] as String?) == nil && (row["deleted_at"] as String?) == nil
                    && ((row["expires_at"] as String?).map { $0 > stamp } ?? true)
                if live {
                    events.append(try Self.announce(row["id"], row["facility_id"], row["audience"], row["priority"], at: stamp, in: db))
                }
            }
            return events
        }
        appliance.events.publish(events)
        return events
    }

    /// Decides a manager's access to one announcement before an edit's body
    /// is read (the edit decides again in its transaction); refusals audited.
    public func authorizeManage(_ identity: Identity, announcementID: String, action: String, origin: RequestOrigin) async throws {
        do {
            _ = try await appliance.database.read { db in try AccessPolicy.managedAnnouncement(identity, announcementID, in: db) }
        } catch let error as AccessError {
            try await appliance.auditWriter.record(.denied(action, by: identity, resourceType: "announcement", resourceID: announcementID,
                                                           reason: error, origin))
            throw error == .notFound ? Failure.notFound : error
        }
    }

    // MARK: Helpers

    /// Publishes in the caller's transaction: the realtime event, and the
    /// facility's sync change so an app that was offline catches up.
    static func announce(_ id: String, _ facilityID: String, _ audience: String, _ priority: String, at stamp: String,
                         in db: Database) throws -> RealtimeEvent {
        try SyncChangeLog.record(facilityID: facilityID, patientID: nil, table: "announcements", id: id, op: "upsert", at: stamp, in: db)
        return try EventFeed.append(RealtimeEvent(kind: .announcementNew, facilityID: facilityID, patientID: nil, subjectID: id,
                                                  data: ["audience": audience, "priority": priority]), in: db)
    }

    func managedWrite<T: Sendable>(_ identity: Identity, _ id: String, action: String, origin: RequestOrigin,
                                   _ body: @escaping @Sendable (Database, AnnouncementAccess) throws -> (T, [RealtimeEvent])) async throws -> T {
        do {
            let (value, events) = try await appliance.database.pool.write { db in
                try body(db, try AccessPolicy.managedAnnouncement(identity, id, in: db))
            }
            appliance.events.publish(events)
            return value
        } catch let error as AccessError {
            try await appliance.auditWriter.record(.denied(action, by: identity, resourceType: "announcement", resourceID: id, reason: error, origin))
            throw error == .notFound ? Failure.notFound : error
        }
    }

    func event(_ action: String, _ identity: Identity, _ facilityID: String, _ id: String, _ origin: RequestOrigin,
               details: [String: String] = [:]) -> AuditEvent {
        AuditEvent(action: action, outcome: .success, actorKind: .staff, actorID: identity.subjectID, facilityID: facilityID,
                   resourceType: "announcement", resourceID: id, ipAddress: origin.ipAddress, requestID: origin.requestID, details: details)
    }

    static func text(_ value: String, _ field: String, _ max: Int, _ problems: inout [String: String]) -> String {
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        // Code points of the text as sent, as JSON Schema's maxLength counts.
        if trimmed.isEmpty || value.unicodeScalars.count > max { problems[field] = "must be 1 to \(max) characters" }
        else if trimmed.unicodeScalars.contains(where: { $0.value == 0 }) { problems[field] = "must not contain NUL" }
        return trimmed
    }

    static func time(_ value: String?, _ field: String, _ problems: inout [String: String]) -> Date? {
        guard let value else { return nil }
        guard let date = Timestamp.parseStrict(value) else { problems[field] = "must be an RFC 3339 time"; return nil }
        return date
    }

    static func ids(_ values: [String]?, _ field: String, _ problems: inout [String: String]) -> [String] {
        var out: [String] = []
        for (index, value) in (values ?? []).enumerated() {
            guard let uuid = UUID(uuidString: value) else { problems["\(field)[\(index)]"] = "must be a UUID"; continue }
            let id = uuid.uuidString.lowercased()
            if !out.contains(id) { out.append(id) }
        }
        return out
    }

    func load(_ id: String, in db: Database, withRecipients: Bool = true) throws -> Announcement {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM announcements WHERE id = ?", arguments: [id]) else { throw Failure.notFound }
        var announcement = Announcement(
            id: id, facilityID: row["facility_id"], title: row["title"], body: row["body"], audience: row["audience"], priority: row["priority"],
            publishedAt: row["published_at"], expiresAt: row["expires_at"], authorID: row["author_id"], createdAt: row["created_at"],
            updatedAt: row["updated_at"], editedAt: row["edited_at"], retractedAt: row["retracted_at"], announcedAt: row["announced_at"],
            staffIDs: nil, patientIDs: nil, readAt: nil)
        if withRecipients, (row["targeted"] as Int) == 1 {
            announcement.staffIDs = try String.fetchAll(db, sql: "SELECT staff_id FROM announcement_recipients WHERE announcement_id = ? AND staff_id IS NOT NULL ORDER BY staff_id", arguments: [id])
            announcement.patientIDs = try String.fetchAll(db, sql: "SELECT patient_id FROM announcement_recipients WHERE announcement_id = ? AND patient_id IS NOT NULL ORDER BY patient_id", arguments: [id])
        }
        return announcement
    }
}
