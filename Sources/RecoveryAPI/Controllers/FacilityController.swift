import Foundation
import Hummingbird
import RecoveryCore

/// `/api/v1/facilities`: super admins list and create; administrators read
/// and edit their own. Occupancy is computed.
struct FacilityController {
    let appliance: Appliance

    var directory: FacilityDirectory { FacilityDirectory(appliance: appliance) }

    var endpoints: [Endpoint] {
        [
            Endpoint(.get, "/api/v1/facilities", access: .staff(.facilitiesManageAll), handler: list),
            Endpoint(.post, "/api/v1/facilities", access: .staff(.facilitiesManageAll), handler: create),
            Endpoint(.get, "/api/v1/facilities/{id}", access: .staff(.facilityRead), handler: show),
            Endpoint(.patch, "/api/v1/facilities/{id}", access: .staff(.facilityUpdate), handler: update),
        ]
    }

    struct Fields: Decodable {
        var name: String?, timezone: String?, capacity: Int?, address: String?, phone: String?, mfaPolicy: String?
        var asFields: FacilityDirectory.Fields {
            var f = FacilityDirectory.Fields()
            f.name = name; f.timezone = timezone; f.capacity = capacity; f.address = address; f.phone = phone; f.mfaPolicy = mfaPolicy
            return f
        }
    }

    struct FacilityView: Encodable {
        var id: String, name: String, timezone: String, capacity: Int?, address: String?, phone: String?, mfaPolicy: String
        var isActive: Bool, census: Int, activePatients: Int, occupancyRate: Double?, createdAt: String

        init(_ s: FacilityDirectory.Summary) {
            id = s.facility.id; name = s.facility.name; timezone = s.facility.timezone; capacity = s.facility.capacity
            address = s.address; phone = s.phone; mfaPolicy = s.facility.mfaPolicy; isActive = s.isActive
            census = s.census; activePatients = s.activePatients; occupancyRate = s.occupancyRate; createdAt = s.facility.createdAt
        }

        enum CodingKeys: String, CodingKey {
            case id, name, timezone, capacity, address, phone, mfaPolicy, isActive, census, activePatients, occupancyRate, createdAt
        }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id); try c.encode(name, forKey: .name); try c.encode(timezone, forKey: .timezone)
            try c.encode(capacity, forKey: .capacity); try c.encode(address, forKey: .address); try c.encode(phone, forKey: .phone)
            try c.encode(mfaPolicy, forKey: .mfaPolicy); try c.encode(isActive, forKey: .isActive); try c.encode(census, forKey: .census)
            try c.encode(activePatients, forKey: .activePatients); try c.encode(occupancyRate, forKey: .occupancyRate)
            try c.encode(createdAt, forKey: .createdAt)
        }
    }

    struct Envelope: Encodable { var facility: FacilityView }
    struct Listing: Encodable { var data: [FacilityView] }

    @Sendable func list(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        try JSONBody.response(Listing(data: try await directory.list(context.identity, origin: context.origin).map(FacilityView.init)))
    }

    @Sendable func create(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let body = try await JSONBody.decode(Fields.self, from: request, limit: appliance.settings.maxBodyBytes)
        let summary = try await directory.create(context.identity, body.asFields, origin: context.origin)
        return try JSONBody.response(Envelope(facility: FacilityView(summary)), status: .created)
    }

    @Sendable func show(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        return try JSONBody.response(Envelope(facility: FacilityView(try await directory.get(context.identity, facilityID: id, origin: context.origin))))
    }

    @Sendable func update(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        let body = try await JSONBody.decode(Fields.self, from: request, limit: appliance.settings.maxBodyBytes)
        return try JSONBody.response(Envelope(facility: FacilityView(try await directory.update(context.identity, facilityID: id, body.asFields, origin: context.origin))))
    }
}
