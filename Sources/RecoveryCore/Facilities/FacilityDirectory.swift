import Foundation
import GRDB

/// Facilities and their occupancy. Super admins list and create them;
/// facility administrators read and edit their own.
public struct FacilityDirectory: Sendable {
    public struct Summary: Sendable, Equatable {
        public var facility: Facility
        public var address: String?
        public var phone: String?
        public var isActive: Bool
        /// Active patients at a residential level of care (detox, residential).
        public var census: Int
        public var activePatients: Int
        /// census / capacity, nil without a capacity.
        public var occupancyRate: Double?
    }

    public struct Fields: Sendable {
        public var name: String?
        public var timezone: String?
        public var capacity: Int?
        public var address: String?
        public var phone: String?
        public var mfaPolicy: String?
        public init() {}
    }

    public enum Failure: Error, Equatable, Sendable {
        case invalid([String: String])
        case notFound
    }

    let appliance: Appliance

    public init(appliance: Appliance) {
        self.appliance = appliance
    }

    static func problems(_ fields: Fields, creating: Bool) -> [String: String] {
        var problems: [String: String] = [:]
        if let name = fields.name {
            let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty || trimmed.count > 200 || TextRules.hasControlCharacters(name) { problems["name"] = "must be 1 to 200 characters, without control characters" }
        } else if creating { problems["name"] = "is required" }
        if let zone = fields.timezone, TimeZone(identifier: zone) == nil { problems["timezone"] = "must be an IANA time zone such as America/Chicago" }
        if creating && fields.timezone == nil { problems["timezone"] = "is required" }
        if let capacity = fields.capacity, !(0...10_000).contains(capacity) { problems["capacity"] = "must be from 0 to 10000" }
        if let policy = fields.mfaPolicy, !Facility.mfaPolicies.contains(policy) {
            problems["mfa_policy"] = "must be one of: " + Facility.mfaPolicies.joined(separator: ", ")
        }
        for (field, value) in [("address", fields.address), ("phone", fields.phone)] where (value?.count ?? 0) > 300 {
            problems[field] = "must be at most 300 characters"
        }
        return problems
    }

    public func list(_ identity: Identity, origin: RequestOrigin) async throws -> [Summary] {
        let (sql, arguments) = try await audited("facility.list", identity, nil, origin) { try AccessPolicy.facilityList(identity) }
        return try await appliance.database.read { db in
            try String.fetchAll(db, sql: "SELECT f.id FROM facilities f WHERE \(sql) ORDER BY f.name", arguments: arguments)
                .compactMap { try summary($0, in: db) }
        }
    }

    /// Runs the policy's decision, auditing a refusal before rethrowing it.
    func audited<T: Sendable>(_ action: String, _ identity: Identity, _ facilityID: String?, _ origin: RequestOrigin,
                              _ decide: @escaping @Sendable () throws -> T) async throws -> T {
        do {
            return try decide()
        } catch let error as AccessError {
            try await appliance.auditWriter.record(.denied(action, by: identity, resourceType: "facility", resourceID: facilityID, reason: error, origin))
            throw error
        }
    }

    /// The policy's decision on one facility (it reads the facility's row), audited when it refuses.
    func decide(_ action: String, _ identity: Identity, _ facilityID: String, _ permission: Permission?, _ origin: RequestOrigin) async throws {
        do {
            try await appliance.database.read { db in try AccessPolicy.facility(identity, facilityID, for: permission, in: db) }
        } catch let error as AccessError {
            try await appliance.auditWriter.record(.denied(action, by: identity, resourceType: "facility", resourceID: facilityID, reason: error, origin))
            throw error == .notFound ? Failure.notFound : error
        }
    }

    public func create(_ identity: Identity, _ fields: Fields, origin: RequestOrigin) async throws -> Summary {
        try await audited("facility.create", identity, nil, origin) { try AccessPolicy.require(identity, .facilitiesManageAll) }
        let problems = Self.problems(fields, creating: true)
        if !problems.isEmpty { throw Failure.invalid(problems) }
        return try await appliance.database.pool.write { db in
            let facility = Facility(name: fields.name!.trimmingCharacters(in: .whitespacesAndNewlines), timezone: fields.timezone!,
                                    capacity: fields.capacity, mfaPolicy: fields.mfaPolicy ?? "admins")
            try facility.insert(db)
            try db.execute(sql: "UPDATE facilities SET address = ?, phone = ? WHERE id = ?", arguments: [fields.address, fields.phone, facility.id])
            try FacilityDefaults.install(for: facility.id, in: db)
            try appliance.audit.append(event("facility.create", identity, facility.id, origin), in: db)
            return try summary(facility.id, in: db)!
        }
    }

    public func get(_ identity: Identity, facilityID: String, origin: RequestOrigin) async throws -> Summary {
        try await decide("facility.read", identity, facilityID, .facilityRead, origin)
        return try await appliance.database.read { db in
            guard let summary = try summary(facilityID, in: db) else { throw Failure.notFound }
            return summary
        }
    }

    public func update(_ identity: Identity, facilityID: String, _ fields: Fields, origin: RequestOrigin) async throws -> Summary {
        try await decide("facility.update", identity, facilityID, .facilityUpdate, origin)
        let problems = Self.problems(fields, creating: false)
        if !problems.isEmpty { throw Failure.invalid(problems) }
        return try await appliance.database.pool.write { db in
            guard try summary(facilityID, in: db) != nil else { throw Failure.notFound }
            var sets: [String] = [], arguments: StatementArguments = []
            var changed: [String] = []
            func set(_ column: String, _ value: (any DatabaseValueConvertible)?) { sets.append("\(column) = ?"); arguments += [value]; changed.append(column) }
            if let v = fields.name { set("name", v.trimmingCharacters(in: .whitespacesAndNewlines)) }
            if let v = fields.timezone { set("timezone", v) }
            if let v = fields.capacity { set("capacity", v) }
            if let v = fields.address { set("address", v) }
            if let v = fields.phone { set("phone", v) }
            if let v = fields.mfaPolicy { set("mfa_policy", v) }
            if !sets.isEmpty {
                sets.append("updated_at = ?"); arguments += [Timestamp.now()]
                try db.execute(sql: "UPDATE facilities SET \(sets.joined(separator: ", ")) WHERE id = ?", arguments: arguments + [facilityID])
            }
            try appliance.audit.append(event("facility.update", identity, facilityID, origin, details: ["fields": changed.joined(separator: ",")]), in: db)
            return try summary(facilityID, in: db)!
        }
    }

    func summary(_ id: String, in db: Database) throws -> Summary? {
        guard let row = try Row.fetchOne(db, sql: """
            SELECT f.*,
              (SELECT count(*) FROM patients p WHERE p.facility_id = f.id AND p.deleted_at IS NULL AND p.status = 'active'
                 AND p.level_of_care IN ('detox', 'residential')) AS census,
              (SELECT count(*) FROM patients p WHERE p.facility_id = f.id AND p.deleted_at IS NULL AND p.status = 'active') AS active_patients
            FROM facilities f WHERE f.id = ?
            """, arguments: [id]) else { return nil }
        let facility = try Facility(row: row)
        let census: Int = row["census"]
        return Summary(facility: facility, address: row["address"], phone: row["phone"], isActive: row["is_active"], census: census,
                       activePatients: row["active_patients"],
                       occupancyRate: facility.capacity.flatMap { $0 > 0 ? (Double(census) / Double($0) * 1000).rounded() / 1000 : nil })
    }

    func event(_ action: String, _ identity: Identity, _ facilityID: String, _ origin: RequestOrigin, details: [String: String] = [:]) -> AuditEvent {
        AuditEvent(action: action, outcome: .success, actorKind: .staff, actorID: identity.subjectID, facilityID: facilityID,
                   resourceType: "facility", resourceID: facilityID, ipAddress: origin.ipAddress, requestID: origin.requestID, details: details)
    }
}
