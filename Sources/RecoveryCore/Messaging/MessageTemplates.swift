import Foundation
import GRDB

/// A facility's canned replies for staff. Not PHI: they name no patient, so
/// title and body are stored plain. Staff with `messages.use` read them;
/// `message_templates.manage` creates, edits (each edit bumps `version`) and
/// deletes (soft) them. Writes are audited.
public struct MessageTemplates: Sendable {
    public static let maxTitleLength = 200
    public static let maxBodyLength = 4000

    public struct Template: Sendable, Equatable {
        public var id: String
        public var facilityID: String
        public var title: String
        public var body: String
        public var version: Int
        public var createdAt: String
        public var updatedAt: String

        public var json: JSONValue {
            .object(["id": .string(id), "facility_id": .string(facilityID), "title": .string(title), "body": .string(body),
                     "version": .integer(version), "created_at": .string(createdAt), "updated_at": .string(updatedAt)])
        }
    }

    public enum Failure: Error, Equatable, Sendable {
        case invalid([String: String])
        case notFound
        /// The template was edited since the version the caller named (409).
        case versionConflict
    }

    let appliance: Appliance

    public init(appliance: Appliance) {
        self.appliance = appliance
    }

    /// The templates of the caller's facility (a box-wide account: every one), by title.
    public func list(_ identity: Identity, page: Int, limit: Int, origin: RequestOrigin) async throws -> (templates: [Template], total: Int) {
        let scope: (sql: String, arguments: StatementArguments)
        do {
            scope = try AccessPolicy.messageTemplateList(identity)
        } catch let error as AccessError {
            try await deny(identity, "message_template.list", nil, error, origin)
            throw error
        }
        return try await appliance.database.read { db in
            let total = try Int.fetchOne(db, sql: "SELECT count(*) FROM message_templates t WHERE \(scope.sql)", arguments: scope.arguments) ?? 0
            let rows = try Row.fetchAll(db, sql: """
                SELECT * FROM message_templates t WHERE \(scope.sql) ORDER BY t.title, t.id LIMIT ? OFFSET ?
                """, arguments: scope.arguments + [limit, (page - 1) * limit])
            return (rows.map(Self.template), total)
        }
    }

    public func create(_ identity: Identity, title: String, body: String, facilityID: String?, origin: RequestOrigin) async throws -> Template {
        do {
            return try await appliance.database.pool.write { db in
                try AccessPolicy.require(identity, .messageTemplatesManage)
                let facility = try AccessPolicy.facilityForNewRecord(identity, requested: facilityID, in: db)
                var problems = Self.check(title: title, body: body)
                if facility == nil { problems["facility_id"] = "is required for an account of every facility" }
                guard problems.isEmpty, let facility else { throw Failure.invalid(problems) }
                let id = RowID.make()
                let stamp = Timestamp.now()
                try db.execute(sql: """
                    INSERT INTO message_templates (id, facility_id, title, body, created_by, updated_by, created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [id, facility, title.trimmingCharacters(in: .whitespacesAndNewlines), body, identity.subjectID,
                                     identity.subjectID, stamp, stamp])
                try appliance.audit.append(event("message_template.create", identity, id, facility, origin), in: db)
                return try load(id, in: db)
            }
        } catch let error as AccessError {
            try await deny(identity, "message_template.create", nil, error, origin)
            throw error
        }
    }

    /// Changes the title and/or body; `version`, when given, must be the
    /// stored one (else 409), so two editors do not overwrite each other unseen.
    public func update(_ identity: Identity, templateID: String, title: String?, body: String?, version: Int?,
                       origin: RequestOrigin) async throws -> Template {
        do {
            return try await appliance.database.pool.write { db in
                let facility = try AccessPolicy.messageTemplate(identity, templateID, for: .messageTemplatesManage, in: db)
                let current = try load(templateID, in: db)
                var problems = Self.check(title: title ?? current.title, body: body ?? current.body)
                if let version, version < 1 { problems["version"] = "must be a whole number from 1" }
                guard problems.isEmpty else { throw Failure.invalid(problems) }
                if let version, version != current.version { throw Failure.versionConflict }
                try db.execute(sql: """
                    UPDATE message_templates SET title = ?, body = ?, version = version + 1, updated_by = ?, updated_at = ? WHERE id = ?
                    """, arguments: [(title ?? current.title).trimmingCharacters(in: .whitespacesAndNewlines), body ?? current.body,
                                     identity.subjectID, Timestamp.now(), templateID])
                try appliance.audit.append(event("message_template.update", identity, templateID, facility, origin), in: db)
                return try load(templateID, in: db)
            }
        } catch let error as AccessError {
            try await deny(identity, "message_template.update", templateID, error, origin)
            throw error == .notFound ? Failure.notFound : error
        }
    }

    public func delete(_ identity: Identity, templateID: String, origin: RequestOrigin) async throws {
        do {
            try await appliance.database.pool.write { db in
                let facility = try AccessPolicy.messageTemplate(identity, templateID, for: .messageTemplatesManage, in: db)
                let stamp = Timestamp.now()
                try db.execute(sql: "UPDATE message_templates SET deleted_at = ?, updated_by = ?, updated_at = ? WHERE id = ?",
                               arguments: [stamp, identity.subjectID, stamp, templateID])
                try appliance.audit.append(event("message_template.delete", identity, templateID, facility, origin), in: db)
            }
        } catch let error as AccessError {
            try await deny(identity, "message_template.delete", templateID, error, origin)
            throw error == .notFound ? Failure.notFound : error
        }
    }

    static func check(title: String, body: String) -> [String: String] {
        var problems: [String: String] = [:]
        if title.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty || title.unicodeScalars.count > maxTitleLength {
            problems["title"] = "must be 1 to \(maxTitleLength) characters, not blank"
        }
        if body.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty || body.unicodeScalars.count > maxBodyLength {
            problems["body"] = "must be 1 to \(maxBodyLength) characters"
        }
        return problems
    }

    func load(_ id: String, in db: Database) throws -> Template {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM message_templates WHERE id = ? AND deleted_at IS NULL", arguments: [id]) else {
            throw Failure.notFound
        }
        return Self.template(row)
    }

    static func template(_ row: Row) -> Template {
        Template(id: row["id"], facilityID: row["facility_id"], title: row["title"], body: row["body"], version: row["version"],
                 createdAt: row["created_at"], updatedAt: row["updated_at"])
    }

    func event(_ action: String, _ identity: Identity, _ id: String, _ facilityID: String, _ origin: RequestOrigin) -> AuditEvent {
        AuditEvent(action: action, outcome: .success, actorKind: .staff, actorID: identity.subjectID, facilityID: facilityID,
                   resourceType: "message_template", resourceID: id, ipAddress: origin.ipAddress, requestID: origin.requestID)
    }

    func deny(_ identity: Identity, _ action: String, _ id: String?, _ error: AccessError, _ origin: RequestOrigin) async throws {
        try await appliance.auditWriter.record(.denied(action, by: identity, resourceType: "message_template", resourceID: id,
                                                       reason: error, origin))
    }
}
