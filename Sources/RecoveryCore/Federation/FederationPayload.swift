import Foundation

/// One payload a clinic sends: every facility of the box for one ISO week
/// (or, from schema version 3, one day of the current week), each a full
/// snapshot of the catalogue's cells (zeros included), as canonical JSON
/// (keys sorted, no spaces) signed with the clinic's key.
///
/// ```json
/// {"clinic_id":"…","facilities":[{"cells":[{"metric":"census","value":14},…],"facility_ref":"…","name":"…"}],
///  "period":{"end":"2026-11-29","start":"2026-11-23","week":"2026-W48"},"schema_version":3,"sequence":7}
/// ```
/// A day's period reads `{"day":"2026-11-30","end":"2026-11-30","start":"2026-11-30"}`.
/// It carries no patient's name, id, date of birth, free text or event date:
/// only facility names and ids, the period, and the cells.
public struct FederationPayload: Sendable, Equatable {
    public struct Facility: Sendable, Equatable {
        /// The clinic's facility id (a facility, not a person).
        public var ref: String
        public var name: String
        public var cells: [(metric: String, value: CellValue)]

        public static func == (a: Facility, b: Facility) -> Bool {
            a.ref == b.ref && a.name == b.name && a.cells.elementsEqual(b.cells) { $0.metric == $1.metric && $0.value == $1.value }
        }
    }

    public var clinicID: String
    public var sequence: Int
    public var schemaVersion: Int
    public var period: FederationPeriod
    public var facilities: [Facility]

    public init(clinicID: String, sequence: Int, schemaVersion: Int, period: FederationPeriod, facilities: [Facility]) {
        self.clinicID = clinicID
        self.sequence = sequence
        self.schemaVersion = schemaVersion
        self.period = period
        self.facilities = facilities
    }

    /// A week's payload.
    public init(clinicID: String, sequence: Int, schemaVersion: Int, week: ISOWeek, facilities: [Facility]) {
        self.init(clinicID: clinicID, sequence: sequence, schemaVersion: schemaVersion, period: FederationPeriod(week), facilities: facilities)
    }

    /// The facilities' part alone, to tell whether a period's snapshot changed.
    public var facilitiesJSON: JSONValue {
        .array(facilities.sorted { $0.ref < $1.ref }.map { facility -> JSONValue in
            let cells: [JSONValue] = facility.cells.map { cell in JSONValue.object(["metric": .string(cell.metric), "value": cell.value.json]) }
            return JSONValue.object(["facility_ref": .string(facility.ref), "name": .string(facility.name), "cells": .array(cells)])
        })
    }

    public var json: JSONValue {
        .object(["clinic_id": .string(clinicID), "sequence": .integer(sequence), "schema_version": .integer(schemaVersion),
                 "period": .object(["start": .string(period.start), "end": .string(period.end),
                                    period.granularity.rawValue: .string(period.name)]),
                 "facilities": facilitiesJSON])
    }

    /// The exact bytes that are signed and sent.
    public var canonicalText: String { json.canonicalText }

    /// Reads a payload's text as central receives it: canonical JSON of the
    /// known schema version, every catalogue metric exactly once per facility.
    public static func parse(_ text: String) throws -> FederationPayload {
        guard let value = try? JSONParser.parse(Array(text.utf8)), case .object(let root) = value else {
            throw FederationError.invalid(field: "payload", issue: "must be a JSON object")
        }
        guard value.canonicalText == text else { throw FederationError.invalid(field: "payload", issue: "must be canonical JSON") }
        guard case .integer(let version)? = root["schema_version"] else {
            throw FederationError.invalid(field: "payload.schema_version", issue: "must be an integer")
        }
        guard MetricsCatalogue.knownVersions.contains(version) else { throw FederationError.unknownSchemaVersion(version) }
        guard case .string(let clinicID)? = root["clinic_id"] else { throw FederationError.invalid(field: "payload.clinic_id", issue: "must be a string") }
        guard case .integer(let sequence)? = root["sequence"], sequence > 0 else {
            throw FederationError.invalid(field: "payload.sequence", issue: "must be a positive integer")
        }
        guard let period = Self.period(root["period"], version: version) else {
            throw FederationError.invalid(field: "payload.period", issue: version >= MetricsCatalogue.firstVersionWithDays
                                          ? "must be an ISO week {start, end, week} or a day {start, end, day}" : "must be an ISO week {start, end, week}")
        }
        guard case .array(let items)? = root["facilities"] else {
            throw FederationError.invalid(field: "payload.facilities", issue: "must be a list")
        }
        let catalogue = MetricsCatalogue.metrics(version: version)
        var facilities: [Facility] = []
        for (index, item) in items.enumerated() {
            let field = "payload.facilities[\(index)]"
            guard case .object(let facility) = item, case .string(let ref)? = facility["facility_ref"], !ref.isEmpty, ref.count <= 64,
                  case .string(let name)? = facility["name"], name.count <= 200, case .array(let cellItems)? = facility["cells"] else {
                throw FederationError.invalid(field: field, issue: "must be {facility_ref, name, cells}")
            }
            var cells: [(metric: String, value: CellValue)] = []
            for (cellIndex, cellItem) in cellItems.enumerated() {
                guard case .object(let cell) = cellItem, case .string(let metric)? = cell["metric"],
                      let kind = catalogue.first(where: { $0.name == metric })?.kind,
                      let value = cell["value"].flatMap({ Self.cellValue($0, kind: kind) }) else {
                    throw FederationError.invalid(field: "\(field).cells[\(cellIndex)]", issue: "must be a known metric with a valid value")
                }
                cells.append((metric, value))
            }
            guard cells.map(\.metric) == catalogue.map(\.name) else {
                throw FederationError.invalid(field: "\(field).cells", issue: "must hold every metric of the schema version once, in order")
            }
            guard Suppression.keepsDistributions(Dictionary(uniqueKeysWithValues: cells.map { ($0.metric, $0.value) })) else {
                throw FederationError.invalid(field: "\(field).cells", issue: "must suppress at least two buckets of a distribution with a suppressed cell")
            }
            facilities.append(Facility(ref: ref, name: name, cells: cells))
        }
        return FederationPayload(clinicID: clinicID, sequence: sequence, schemaVersion: version, period: period, facilities: facilities)
    }

    /// A week `{start, end, week}`, or from `MetricsCatalogue.firstVersionWithDays` a day `{start, end, day}`.
    static func period(_ value: JSONValue?, version: Int) -> FederationPeriod? {
        guard case .object(let fields)? = value, case .string(let start)? = fields["start"] else { return nil }
        if let week = ISOWeek(monday: start), fields["end"] == .string(week.end), fields["week"] == .string(week.name) {
            return FederationPeriod(week)
        }
        guard version >= MetricsCatalogue.firstVersionWithDays, fields.count == 3, let day = FederationPeriod(day: start),
              fields["end"] == .string(day.end), fields["day"] == .string(day.name) else { return nil }
        return day
    }

    /// A year: the longest time to acknowledge a crisis alert central accepts.
    static let maxMinutes = 525_600.0

    static func cellValue(_ value: JSONValue, kind: MetricsCatalogue.Kind) -> CellValue? {
        switch (value, kind) {
        case (.string("suppressed"), _): return .suppressed
        case (.integer(let n), .count) where n == 0 || n > Suppression.smallCells.upperBound: return .count(n)
        case (.number(let x), .rate) where x >= 0 && x <= 100: return .number(x)
        case (.number(let x), .mean) where x >= 0 && x <= 10: return .number(x)
        // a whole rate or mean (100 %, 5.0) reads as an integer
        case (.integer(let n), .rate) where n >= 0 && n <= 100: return .number(Double(n))
        case (.integer(let n), .mean) where n >= 0 && n <= 10: return .number(Double(n))
        case (.number(let x), .minutes) where x >= 0 && x <= maxMinutes: return .number(x)
        case (.integer(let n), .minutes) where n >= 0 && Double(n) <= maxMinutes: return .number(Double(n))
        case (.null, .rate), (.null, .mean), (.null, .minutes): return CellValue.none
        default: return nil
        }
    }
}
