import Foundation
import Hummingbird
import RecoveryCore

/// Reading query-string parameters with 422s that name the parameter.
struct Query {
    let request: Request

    func string(_ name: String, maxLength: Int = 200) throws -> String? {
        guard let value = request.uri.queryParameters.get(name) else { return nil }
        guard !value.isEmpty, value.count <= maxLength else {
            throw APIError.validation(field: name, "must be 1 to \(maxLength) characters")
        }
        return value
    }

    func integer(_ name: String, default fallback: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = request.uri.queryParameters.get(name) else { return fallback }
        guard let value = Int(text), range.contains(value) else {
            throw APIError.validation(field: name, "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    func date(_ name: String) throws -> String? {
        guard let value = try string(name, maxLength: 10) else { return nil }
        guard CalendarDate.isValid(value) else { throw APIError.validation(field: name, "must be a real date as YYYY-MM-DD") }
        return value
    }

    func timestamp(_ name: String) throws -> String? {
        guard let value = try string(name, maxLength: 40) else { return nil }
        guard let date = Timestamp.parse(value) else { throw APIError.validation(field: name, "must be an RFC 3339 time") }
        return Timestamp.string(date)
    }

    func uuid(_ name: String) throws -> String? {
        guard let value = try string(name, maxLength: 36) else { return nil }
        guard let uuid = UUID(uuidString: value) else { throw APIError.validation(field: name, "must be a UUID") }
        return uuid.uuidString.lowercased()
    }

    func oneOf(_ name: String, _ allowed: [String]) throws -> String? {
        guard let value = try string(name) else { return nil }
        guard allowed.contains(value) else { throw APIError.validation(field: name, "must be one of: " + allowed.joined(separator: ", ")) }
        return value
    }
}

/// The list envelope of DESIGN.md.
struct ListResponse<Item: Encodable>: Encodable {
    struct Pagination: Encodable { var page: Int, limit: Int, total: Int, totalPages: Int }
    var data: [Item]
    var pagination: Pagination

    init(data: [Item], page: Int, limit: Int, total: Int) {
        self.data = data
        pagination = Pagination(page: page, limit: limit, total: total, totalPages: total == 0 ? 0 : (total + limit - 1) / limit)
    }
}
