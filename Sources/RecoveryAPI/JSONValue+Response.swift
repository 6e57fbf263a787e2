import Foundation
import Hummingbird
import HTTPTypes
import RecoveryCore

extension JSONValue {
    /// The value as a JSON response (keys sorted).
    func response(status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: canonicalText)))
    }

    /// The list envelope of DESIGN.md around `items`.
    static func list(_ items: [JSONValue], page: Int, limit: Int, total: Int) -> JSONValue {
        .object([
            "data": .array(items),
            "pagination": .object(["page": .integer(page), "limit": .integer(limit), "total": .integer(total),
                                   "total_pages": .integer(total == 0 ? 0 : (total + limit - 1) / limit)]),
        ])
    }
}

extension PatientRecords.Query {
    /// page, limit (1–100, default 50), from and to (YYYY-MM-DD, from ≤ to).
    init(_ request: Request) throws {
        let q = Query(request: request)
        self.init()
        page = try q.integer("page", default: 1, range: 1...100_000)
        limit = try q.integer("limit", default: 50, range: 1...100)
        from = try q.date("from")
        to = try q.date("to")
        if let from, let to, from > to { throw APIError.validation(field: "to", "must not be before from") }
    }
}

extension AuthenticatedContext {
    /// The signed-in patient (patient routes only).
    var patient: SyncEngine.Patient {
        get throws { try AccessPolicy.ownRecords(identity) }
    }
}
