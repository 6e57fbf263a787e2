import Foundation
import Hummingbird
import RecoveryCore

/// Announcements: readers (staff and patients) list what is meant for them
/// and mark it read; administrators (`announcements.manage`) create, edit,
/// retract, and list every announcement of their facility (`scope=manage`).
struct AnnouncementController {
    let appliance: Appliance

    var announcements: Announcements { Announcements(appliance: appliance) }

    var endpoints: [Endpoint] {
        [
            Endpoint(.get, "/api/v1/announcements", access: .authenticated, handler: list),
            Endpoint(.post, "/api/v1/announcements", access: .staff(.announcementsManage), handler: create),
            Endpoint(.patch, "/api/v1/announcements/{id}", access: .staff(.announcementsManage), handler: update),
            Endpoint(.post, "/api/v1/announcements/{id}/retract", access: .staff(.announcementsManage), handler: retract),
            Endpoint(.post, "/api/v1/announcements/{id}/read", access: .authenticated, handler: read),
        ]
    }

    @Sendable func list(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let q = Query(request: request)
        let scope = try q.oneOf("scope", ["mine", "manage"]) ?? "mine"
        let page = try q.integer("page", default: 1, range: 1...100_000)
        let limit = try q.integer("limit", default: 50, range: 1...100)
        if scope == "manage" {
            let (items, total) = try await announcements.managed(context.identity, page: page, limit: limit)
            return JSONValue.list(items.map { Self.view($0, manager: true) }, page: page, limit: limit, total: total).response()
        }
        let (items, total) = try await announcements.list(context.identity, page: page, limit: limit)
        return JSONValue.list(items.map { Self.view($0, manager: false) }, page: page, limit: limit, total: total).response()
    }

    @Sendable func create(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let body = try await JSONBody.object(from: request, limit: appliance.settings.maxBodyBytes)
        var missing: [String: String] = [:]
        for name in ["title", "body", "audience"] where body[name] == nil || body[name] == .null { missing[name] = "is required" }
        guard missing.isEmpty else { throw APIError.validation(fields: missing) }
        let draft = Announcements.Draft(
            title: try BodyField.string(body, "title") ?? "", body: try BodyField.string(body, "body") ?? "",
            audience: try BodyField.string(body, "audience") ?? "", priority: try BodyField.string(body, "priority"),
            publishAt: try BodyField.string(body, "publish_at"), expiresAt: try BodyField.string(body, "expires_at"),
            staffIDs: try BodyField.strings(body, "staff_ids"), patientIDs: try BodyField.strings(body, "patient_ids"))
        let requested = try BodyField.string(body, "facility_id")
        let announcement = try await announcements.create(context.identity, draft, facilityID: requested, origin: context.origin)
        return JSONValue.object(["announcement": Self.view(announcement, manager: true)]).response(status: .created)
    }

    @Sendable func update(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        try await announcements.authorizeManage(context.identity, announcementID: id, action: "announcement.update", origin: context.origin)
        let body = try await JSONBody.object(from: request, limit: appliance.settings.maxBodyBytes)
        let changes = Announcements.Changes(
            title: try BodyField.string(body, "title"), body: try BodyField.string(body, "body"), priority: try BodyField.string(body, "priority"),
            publishAt: try BodyField.string(body, "publish_at"), expiresAt: try BodyField.string(body, "expires_at"))
        let announcement = try await announcements.update(context.identity, announcementID: id, changes, origin: context.origin)
        return JSONValue.object(["announcement": Self.view(announcement, manager: true)]).response()
    }

    @Sendable func retract(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        let announcement = try await announcements.retract(context.identity, announcementID: id, origin: context.origin)
        return JSONValue.object(["announcement": Self.view(announcement, manager: true)]).response()
    }

    @Sendable func read(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        let readAt = try await announcements.markRead(context.identity, announcementID: id, origin: context.origin)
        return JSONValue.object(["announcement_id": .string(id), "read_at": .string(readAt)]).response()
    }

    static func view(_ a: Announcements.Announcement, manager: Bool) -> JSONValue {
        let optional: (String?) -> JSONValue = { $0.map { .string($0) } ?? .null }
        var members = a.readerJSON
        if manager {
            members["author_id"] = .string(a.authorID)
            members["updated_at"] = .string(a.updatedAt)
            members["retracted_at"] = optional(a.retractedAt)
            members["announced_at"] = optional(a.announcedAt)
            members["staff_ids"] = a.staffIDs.map { .array($0.map { .string($0) }) } ?? .null
            members["patient_ids"] = a.patientIDs.map { .array($0.map { .string($0) }) } ?? .null
        } else {
            members["read_at"] = optional(a.readAt)
        }
        return .object(members)
    }
}
