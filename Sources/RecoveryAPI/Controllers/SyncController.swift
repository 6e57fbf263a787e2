import Foundation
import Hummingbird
import RecoveryCore

/// `/api/v1/sync`: the patient app's offline sync (push a batch, pull changes).
struct SyncController {
    let appliance: Appliance

    var engine: SyncEngine { SyncEngine(appliance: appliance) }

    var endpoints: [Endpoint] {
        [
            Endpoint(.post, "/api/v1/sync/push", access: .patient, handler: push),
            Endpoint(.get, "/api/v1/sync/pull", access: .patient, handler: pull),
        ]
    }

    @Sendable func push(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let patient = try context.patient
        // Items are read loosely: any object is an item, and what is wrong
        // with one (a missing id, a number for a type) is answered in its
        // result rather than failing the batch.
        let body = try await JSONBody.object(from: request, limit: appliance.settings.maxBodyBytes)
        guard case .array(let elements)? = body["items"] else { throw APIError.validation(field: "items", "must be a list of items") }
        let maxItems = appliance.settings.syncMaxBatchItems
        guard (1...maxItems).contains(elements.count) else {
            throw APIError.validation(field: "items", "must hold 1 to \(maxItems) items")
        }
        var objects: [[String: JSONValue]] = []
        objects.reserveCapacity(elements.count)
        for (index, element) in elements.enumerated() {
            guard case .object(let object) = element else { throw APIError.validation(field: "items[\(index)]", "must be an object") }
            objects.append(object)
        }
        let items = objects.map { object -> SyncEngine.Item in
            func text(_ key: String) -> String? { if case .string(let value)? = object[key] { return value } else { return nil } }
            var data: [String: JSONValue] = [:]
            if case .object(let members)? = object["data"] { data = members }
            return SyncEngine.Item(id: text("id") ?? "", type: text("type") ?? "", op: text("op") ?? "",
                                   clientUpdatedAt: object["client_updated_at"] == nil || object["client_updated_at"] == .null
                                       ? nil : (text("client_updated_at") ?? "invalid"),
                                   data: data)
        }
        let (results, cursor) = try await engine.push(patient, items: items, origin: context.origin)
        return JSONValue.object([
            "results": .array(results.map { result in
                .object(["id": .string(result.id), "status": .string(result.status.rawValue),
                         "reason": result.reason.map(JSONValue.string) ?? .null])
            }),
            "cursor": .string(cursor),
        ]).response()
    }

    @Sendable func pull(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let patient = try context.patient
        let q = Query(request: request)
        let since = try q.string("since", maxLength: 64)
        let limit = try q.integer("limit", default: 200, range: 1...500)
        let page: SyncEngine.PullPage
        do {
            page = try await engine.pull(patient, since: since, limit: limit, origin: context.origin)
        } catch is SyncEngine.BadCursor {
            throw APIError.validation(field: "since", "is not a cursor this server gave out")
        }
        return JSONValue.object([
            "changes": .array(page.changes.map { change in
                .object(["type": .string(change.type), "id": .string(change.id), "op": .string(change.op),
                         "updated_at": .string(change.updatedAt), "data": change.data ?? .null])
            }),
            "cursor": .string(page.cursor),
            "has_more": .bool(page.hasMore),
        ]).response()
    }
}
