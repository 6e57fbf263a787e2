import Foundation

/// The built-in standardised measures (PHQ-9, GAD-7, BAM, PACS): item wording
/// and answer labels are data (`instruments.json`, compiled into the binary);
/// the scoring rules (item count and range, subscales, severity bands, flags)
/// are here, checked against the data when it is loaded.
public struct AssessmentInstrument: Sendable {
    public var id: String
    public var version: String
    public var name: String
    /// The instrument's description as served (items, options, scoring).
    public var document: JSONValue
    public var itemCount: Int
    public var minItem: Int
    public var maxItem: Int

    /// The answer of a scoring: total (nil where the instrument has none),
    /// band, subscale scores with their bands, and flags.
    public struct Score: Sendable, Equatable {
        public var total: Int?
        public var band: String?
        public var subscales: [String: Int]
        public var subscaleBands: [String: String]
        public var flags: [Flag]
    }

    public struct Flag: Sendable, Equatable {
        public var code: String
        public var level: String      // info, warning, crisis
        public var item: Int?
    }

    /// A severity band: scores from `min` on (up to the next band's min) are `name`.
    struct Band { var min: Int; var name: String }

    static let phq9Bands = [Band(min: 0, name: "minimal"), Band(min: 5, name: "mild"), Band(min: 10, name: "moderate"),
                            Band(min: 15, name: "moderately_severe"), Band(min: 20, name: "severe")]
    static let gad7Bands = [Band(min: 0, name: "minimal"), Band(min: 5, name: "mild"), Band(min: 10, name: "moderate"),
                            Band(min: 15, name: "severe")]
    /// BAM subscales (1-based item numbers, Cacciola et al. 2013 / VA BAM manual).
    public static let bamSubscales: [(name: String, items: [Int])] = [
        ("use", [4, 5, 6]),
        ("risk", [1, 2, 3, 8, 11, 15]),
        ("protective", [9, 10, 12, 13, 14, 16]),
    ]

    static func band(_ score: Int, _ bands: [Band]) -> String {
        bands.last { score >= $0.min }!.name
    }

    /// Scores answers that `problems(answers)` accepted.
    public func score(_ answers: [Int]) -> Score {
        let sum = answers.reduce(0, +)
        switch id {
        case "phq9":
            var flags: [Flag] = []
            if answers[8] > 0 { flags.append(Flag(code: "suicidal_ideation", level: "crisis", item: 9)) }
            if sum >= 20 { flags.append(Flag(code: "severe_depression", level: "warning", item: nil)) }
            return Score(total: sum, band: Self.band(sum, Self.phq9Bands), subscales: [:], subscaleBands: [:], flags: flags)
        case "gad7":
            var flags: [Flag] = []
            if sum >= 15 { flags.append(Flag(code: "severe_anxiety", level: "warning", item: nil)) }
            return Score(total: sum, band: Self.band(sum, Self.gad7Bands), subscales: [:], subscaleBands: [:], flags: flags)
        case "bam":
            var subscales: [String: Int] = [:]
            for (name, items) in Self.bamSubscales { subscales[name] = items.reduce(0) { $0 + answers[$1 - 1] } }
            let use = subscales["use"]!, risk = subscales["risk"]!, protective = subscales["protective"]!
            // The BAM manual's reading: any use is of concern; risk 12 or more is
            // elevated; protective under 12 is low. The BAM has no total score.
            let bands = ["use": use > 0 ? "any_use" : "no_use",
                         "risk": risk >= 12 ? "elevated" : "lower",
                         "protective": protective >= 12 ? "adequate" : "low"]
            var flags: [Flag] = []
            if use > 0 { flags.append(Flag(code: "substance_use", level: "warning", item: nil)) }
            if risk >= 12 { flags.append(Flag(code: "elevated_risk", level: "warning", item: nil)) }
            if protective < 12 { flags.append(Flag(code: "low_protective_factors", level: "info", item: nil)) }
            return Score(total: nil, band: nil, subscales: subscales, subscaleBands: bands, flags: flags)
        default:   // pacs: a total from 0 to 30; it has no published severity bands
            return Score(total: sum, band: nil, subscales: [:], subscaleBands: [:], flags: [])
        }
    }

    /// What is wrong with `answers` (the item scores in item order), as RecordProblems.
    public func problems(_ answers: [Int]) -> [RecordProblem] {
        if answers.count != itemCount { return [RecordProblem("answers", "must have \(itemCount) item scores")] }
        if let bad = answers.firstIndex(where: { !(minItem...maxItem).contains($0) }) {
            return [RecordProblem("answers", "item \(bad + 1) must be from \(minItem) to \(maxItem)")]
        }
        return []
    }
}

public enum AssessmentInstruments {
    /// Item count and answer range per instrument id: the scoring code's
    /// side of the contract with `instruments.json`.
    static let shapes: [String: (items: Int, min: Int, max: Int)] = [
        "phq9": (9, 0, 3), "gad7": (7, 0, 3), "bam": (17, 0, 4), "pacs": (5, 0, 6),
    ]

    public static let ids = ["phq9", "gad7", "bam", "pacs"]

    /// The instruments, loaded once from the embedded JSON.
    public static let all: [AssessmentInstrument] = {
        guard let document = try? JSONParser.parse(PackageResources.instruments_json),
              case .array(let list)? = document["instruments"] else { fatalError("instruments.json does not parse") }
        return list.map { (entry: JSONValue) -> AssessmentInstrument in
            guard case .string(let id)? = entry["id"], let shape = shapes[id],
                  case .string(let version)? = entry["version"], case .string(let name)? = entry["name"],
                  case .array(let items)? = entry["items"], items.count == shape.items,
                  case .array(let options)? = entry["options"],
                  options.compactMap({ (option: JSONValue) -> Int? in if case .integer(let s)? = option["score"] { return s } else { return nil } }) == Array(shape.min...shape.max)
            else { fatalError("instruments.json: an instrument does not match its scoring rules") }
            var members: [String: JSONValue] = [:]
            if case .object(let given) = entry { members = given }
            members["item_count"] = .integer(shape.items)
            members["min_item_score"] = .integer(shape.min)
            members["max_item_score"] = .integer(shape.max)
            members["scoring"] = scoring(id)
            return AssessmentInstrument(id: id, version: version, name: name, document: .object(members),
                                        itemCount: shape.items, minItem: shape.min, maxItem: shape.max)
        }
    }()

    public static func instrument(_ id: String) -> AssessmentInstrument? {
        all.first { $0.id == id }
    }

    static func scoring(_ id: String) -> JSONValue {
        func bands(_ list: [AssessmentInstrument.Band], max: Int) -> JSONValue {
            .array(list.enumerated().map { index, band in
                let upper = index + 1 < list.count ? list[index + 1].min - 1 : max
                return .object(["band": .string(band.name), "min": .integer(band.min), "max": .integer(upper)])
            })
        }
        switch id {
        case "phq9":
            return .object(["total": .object(["min": .integer(0), "max": .integer(27)]), "bands": bands(AssessmentInstrument.phq9Bands, max: 27),
                            "flags": .array([.string("item 9 above 0: suicidal_ideation (crisis; raises a crisis alert)")])])
        case "gad7":
            return .object(["total": .object(["min": .integer(0), "max": .integer(21)]), "bands": bands(AssessmentInstrument.gad7Bands, max: 21)])
        case "bam":
            return .object(["total": .null, "subscales": .object(Dictionary(uniqueKeysWithValues: AssessmentInstrument.bamSubscales.map {
                ($0.name, JSONValue.object(["items": .array($0.items.map(JSONValue.integer))]))
            })), "bands": .object(["use": .string("0 no_use, 1 or more any_use"), "risk": .string("under 12 lower, 12 or more elevated"),
                                   "protective": .string("under 12 low, 12 or more adequate")])])
        default:
            return .object(["total": .object(["min": .integer(0), "max": .integer(30)]), "bands": .null])
        }
    }
}
