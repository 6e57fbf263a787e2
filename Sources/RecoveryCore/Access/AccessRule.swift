import GRDB

/// One ground on which a rule lets a caller through, written once as an SQL
/// condition on the row of the resource's table (aliased, e.g. `p` for
/// patients). The same text selects a list and decides for one record.
public struct AccessGround: Sendable {
    /// What the ground is called in audit entries (`access` detail): facility,
    /// care_team, named, emergency, own, ...
    public let name: String
    public let sql: String
    public let arguments: StatementArguments

    init(_ name: String, _ sql: String, _ arguments: StatementArguments = []) {
        self.name = name
        self.sql = sql
        self.arguments = arguments
    }
}

/// One rule of the policy: the caller passes when any of its grounds holds,
/// and otherwise is refused with `refusal` (404 where the caller may not
/// learn that the record exists, 403 where it may).
public struct AccessRule: Sendable {
    public enum Name: String, Sendable {
        case facility, live, restriction, careTeam = "care_team", own, visibleAccount = "visible_account", participant
        case crisisReach = "crisis_reach", audience
    }

    public let name: Name
    public let refusal: AccessError
    public let grounds: [AccessGround]

    /// The rule as one SQL condition: any ground.
    var condition: (sql: String, arguments: StatementArguments) {
        var arguments = StatementArguments()
        for ground in grounds { arguments += ground.arguments }
        return ("(" + grounds.map(\.sql).joined(separator: " OR ") + ")", arguments)
    }
}

/// The rules for one principal on one kind of resource, and the two ways
/// they are used: as the condition of a list, and as the decision for one
/// record (every ground evaluated on that row in one query).
public struct AccessRules: Sendable {
    public let rules: [AccessRule]

    /// Every rule as one SQL condition (all rules, each any ground).
    public var condition: (sql: String, arguments: StatementArguments) {
        guard !rules.isEmpty else { return ("1", []) }
        var arguments = StatementArguments()
        var parts: [String] = []
        for rule in rules {
            let c = rule.condition
            parts.append(c.sql)
            arguments += c.arguments
        }
        return (parts.joined(separator: " AND "), arguments)
    }

    /// Whether only these rules apply (e.g. facility and live: a whole-facility list).
    func consists(of names: Set<AccessRule.Name>) -> Bool {
        rules.allSatisfy { names.contains($0.name) }
    }

    /// Evaluates every ground on the row `id` of `table` (aliased `alias`) in one
    /// statement and returns the row's `extra` columns and the name of the
    /// first ground that held for each rule; throws the refusal of the first
    /// rule none of whose grounds holds, or `notFound` for a missing row.
    func decide(_ table: String, alias: String, id: String, extra: [String], in db: Database) throws -> (row: Row, grounds: [String]) {
        var columns = extra
        var arguments = StatementArguments()
        for rule in rules {
            for ground in rule.grounds {
                columns.append("(" + ground.sql + ")")
                arguments += ground.arguments
            }
        }
        if columns.isEmpty { columns = ["1"] }
        let statement = try db.cachedStatement(sql: "SELECT \(columns.joined(separator: ", ")) FROM \(table) \(alias) WHERE \(alias).id = ?")
        guard let row = try Row.fetchOne(statement, arguments: arguments + [id]) else { throw AccessError.notFound }
        var index = extra.count
        var held: [String] = []
        for rule in rules {
            var first: String?
            for ground in rule.grounds {
                if first == nil, (row[index] as Bool?) == true { first = ground.name }   // NULL (e.g. a NULL facility) does not hold, as in a WHERE
                index += 1
            }
            guard let first else { throw rule.refusal }
            held.append(first)
        }
        return (row, held)
    }
}
