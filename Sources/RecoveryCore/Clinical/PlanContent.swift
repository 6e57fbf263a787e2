import Foundation

/// The structure of a treatment plan and of a template: problems → goals →
/// objectives → interventions. A template gives target dates as days from
/// the plan's start (`target_days`) and carries no PHI; a plan gives dates
/// (`target_date`) and a goal may link to one of the patient's recovery goals
/// (`patient_goal_id`). Validation keeps only the known keys, so what is
/// stored is exactly what is described.
public enum PlanContent {
    public static let roles = StaffRole.allCases.map(\.rawValue) + ["patient"]
    public static let objectiveStatuses = ["open", "met", "partially_met", "not_met", "deferred"]
    static let maxEntries = 50

    /// The validated content, or the problems found (field paths like
    /// `content.problems[0].goals[1].title`).
    public static func validate(_ value: JSONValue?, template: Bool) -> (JSONValue, [RecordProblem]) {
        var problems: [RecordProblem] = []
        guard let value, value != .null else { return (.object(["problems": .array([])]), []) }
        guard case .object = value else { return (.null, [RecordProblem("content", "must be an object")]) }
        let list = entries(value["problems"], "content.problems", into: &problems)
        let cleaned = list.enumerated().map { index, problem in
            let path = "content.problems[\(index)]"
            var out: [String: JSONValue] = [:]
            out["title"] = text(problem["title"], path + ".title", max: 500, required: true, into: &problems)
            out["description"] = text(problem["description"], path + ".description", max: 4_000, required: false, into: &problems)
            out["goals"] = .array(entries(problem["goals"], path + ".goals", into: &problems).enumerated().map { gi, goal in
                let gpath = path + ".goals[\(gi)]"
                var g: [String: JSONValue] = [:]
                g["title"] = text(goal["title"], gpath + ".title", max: 500, required: true, into: &problems)
                target(goal, gpath, template: template, into: &g, &problems)
                if !template {
                    if let link = goal["patient_goal_id"], link != .null {
                        if case .string(let id) = link, let uuid = UUID(uuidString: id) { g["patient_goal_id"] = .string(uuid.uuidString.lowercased()) }
                        else { problems.append(RecordProblem(gpath + ".patient_goal_id", "must be a UUID")) }
                    }
                }
                g["objectives"] = .array(entries(goal["objectives"], gpath + ".objectives", into: &problems).enumerated().map { oi, objective in
                    let opath = gpath + ".objectives[\(oi)]"
                    var o: [String: JSONValue] = [:]
                    o["title"] = text(objective["title"], opath + ".title", max: 500, required: true, into: &problems)
                    target(objective, opath, template: template, into: &o, &problems)
                    o["responsible_role"] = role(objective["responsible_role"], opath + ".responsible_role", into: &problems)
                    if !template {
                        o["status"] = oneOf(objective["status"], opath + ".status", objectiveStatuses, into: &problems) ?? .string("open")
                    }
                    o["interventions"] = .array(entries(objective["interventions"], opath + ".interventions", into: &problems).enumerated().map { ii, intervention in
                        let ipath = opath + ".interventions[\(ii)]"
                        var i: [String: JSONValue] = [:]
                        i["title"] = text(intervention["title"], ipath + ".title", max: 500, required: true, into: &problems)
                        i["frequency"] = text(intervention["frequency"], ipath + ".frequency", max: 200, required: false, into: &problems)
                        i["responsible_role"] = role(intervention["responsible_role"], ipath + ".responsible_role", into: &problems)
                        return JSONValue.object(i.filter { $0.value != .null })
                    })
                    return JSONValue.object(o.filter { $0.value != .null })
                })
                return JSONValue.object(g.filter { $0.value != .null })
            })
            return JSONValue.object(out.filter { $0.value != .null })
        }
        return (.object(["problems": .array(cleaned)]), problems)
    }

    /// A template's content made into a plan's: `target_days` become dates from `start`.
    public static func instantiate(_ template: JSONValue, start: String) -> JSONValue {
        func walk(_ value: JSONValue) -> JSONValue {
            switch value {
            case .array(let items): return .array(items.map(walk))
            case .object(var members):
                if case .integer(let days)? = members.removeValue(forKey: "target_days"), let date = CalendarDate.adding(days: days, to: start) {
                    members["target_date"] = .string(date)
                }
                return .object(members.mapValues(walk))
            default: return value
            }
        }
        return walk(template)
    }

    /// Every `patient_goal_id` of a plan's content.
    public static func linkedGoals(_ content: JSONValue) -> [String] {
        var ids: [String] = []
        func walk(_ value: JSONValue) {
            switch value {
            case .array(let items): items.forEach(walk)
            case .object(let members):
                if case .string(let id)? = members["patient_goal_id"] { ids.append(id) }
                members.values.forEach(walk)
            default: break
            }
        }
        walk(content)
        return ids
    }

    static func entries(_ value: JSONValue?, _ field: String, into problems: inout [RecordProblem]) -> [JSONValue] {
        switch value {
        case nil, .null?: return []
        case .array(let items)?:
            if items.count > maxEntries { problems.append(RecordProblem(field, "must have at most \(maxEntries) entries")); return [] }
            for (index, item) in items.enumerated() {
                if case .object = item { continue }
                problems.append(RecordProblem("\(field)[\(index)]", "must be an object"))
                return []
            }
            return items
        default:
            problems.append(RecordProblem(field, "must be a list"))
            return []
        }
    }

    static func text(_ value: JSONValue?, _ field: String, max: Int, required: Bool, into problems: inout [RecordProblem]) -> JSONValue {
        switch value {
        case nil, .null?:
            if required { problems.append(RecordProblem(field, "is required")) }
            return .null
        case .string(let text)?:
            if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                if required { problems.append(RecordProblem(field, "must not be empty")) }
                return .null
            }
            if text.unicodeScalars.count > max { problems.append(RecordProblem(field, "must be at most \(max) characters")) }
            else if TextRules.hasControlCharacters(text, allowLineBreaks: true) { problems.append(RecordProblem(field, "must not contain control characters")) }
            return .string(text)
        default:
            problems.append(RecordProblem(field, "must be a string"))
            return .null
        }
    }

    static func role(_ value: JSONValue?, _ field: String, into problems: inout [RecordProblem]) -> JSONValue {
        oneOf(value, field, roles, into: &problems) ?? .null
    }

    static func oneOf(_ value: JSONValue?, _ field: String, _ allowed: [String], into problems: inout [RecordProblem]) -> JSONValue? {
        switch value {
        case nil, .null?: return nil
        case .string(let text)? where allowed.contains(text): return .string(text)
        default:
            problems.append(RecordProblem(field, "must be one of " + allowed.joined(separator: ", ")))
            return nil
        }
    }

    static func target(_ entry: JSONValue, _ path: String, template: Bool, into out: inout [String: JSONValue], _ problems: inout [RecordProblem]) {
        if template {
            switch entry["target_days"] {
            case nil, .null?: break
            case .integer(let days)? where (0...3_650).contains(days): out["target_days"] = .integer(days)
            default: problems.append(RecordProblem(path + ".target_days", "must be a whole number of days from 0 to 3650"))
            }
        } else {
            switch entry["target_date"] {
            case nil, .null?: break
            case .string(let date)? where CalendarDate.isValid(date): out["target_date"] = .string(date)
            default: problems.append(RecordProblem(path + ".target_date", "must be a real date as YYYY-MM-DD"))
            }
        }
    }
}

extension CalendarDate {
    /// `start` (YYYY-MM-DD) plus `days`.
    static func adding(days: Int, to start: String) -> String? {
        guard let day = julianDay(start) else { return nil }
        return string(julianDay: day + days)
    }
}
