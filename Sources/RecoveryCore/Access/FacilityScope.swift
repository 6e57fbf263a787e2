import GRDB

/// The facilities an identity may touch: its own, or every one for a super
/// admin. It can only be made from an `Identity`, and every query of
/// facility data in the stores takes one and filters on it, so a forgotten
/// `WHERE facility_id = ?` cannot happen: the stores have no unscoped
/// variant. (This replaces PostgreSQL's row-level security of the original
/// design.)
public struct FacilityScope: Sendable, Equatable {
    /// nil: every facility (super admin).
    public let facilityID: String?

    public init(_ identity: Identity) {
        facilityID = identity.facilityID
    }

    /// A condition on the `facility_id` column of `alias` (e.g. "p").
    public func condition(_ alias: String? = nil) -> SQLExpression {
        let column = alias.map { "\($0).facility_id" } ?? "facility_id"
        guard let facilityID else { return SQL(sql: "1").sqlExpression }
        return SQL(sql: "\(column) = ?", arguments: [facilityID]).sqlExpression
    }

    /// The same condition as SQL text and arguments, for hand-written queries.
    public func sql(_ alias: String? = nil) -> (String, StatementArguments) {
        let column = alias.map { "\($0).facility_id" } ?? "facility_id"
        guard let facilityID else { return ("1", []) }
        return ("\(column) = ?", [facilityID])
    }

    public func contains(_ facilityID: String) -> Bool {
        self.facilityID == nil || self.facilityID == facilityID
    }
}
