import ArgumentParser
import Foundation
import RecoveryCore

struct RiskCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "risk",
        abstract: "The relapse-risk model: score given signals, or recompute every active patient's score.",
        subcommands: [Score.self, Recompute.self])

    struct Score: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Score signal values read as JSON lines from standard input (no database).",
            discussion: """
            Each input line is a JSON object of signal values, e.g. {"reported_use_14d": 1, \
            "craving_intensity_7d": 0.6}; a missing or null signal was not measured. Each \
            output line is {"score": ..., "level": ...}, in input order. The server scores \
            patients with the same model; the evaluation script uses this.
            """)

        func run() async throws {
            try await explained {
                let known = Set(RiskModel.signals.map(\.code))
                var number = 0
                while let line = readLine() {
                    number += 1
                    guard case .object(let members)? = try? JSONParser.parse(line.utf8) else {
                        throw Failure(message: "line \(number): not a JSON object")
                    }
                    var values: [String: Double?] = [:]
                    for (code, value) in members {
                        guard known.contains(code) else { throw Failure(message: "line \(number): unknown signal \(code)") }
                        switch value {
                        case .integer(let v): values[code] = Double(v)
                        case .number(let v): values[code] = v
                        case .null: values[code] = .some(nil)
                        default: throw Failure(message: "line \(number): \(code) must be a number or null")
                        }
                    }
                    let score = RiskModel.score(values)
                    print(JSONValue.object(["score": .number(score.score), "level": .string(score.level)]).canonicalText)
                }
            }
        }
    }

    struct Recompute: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute every active patient's score now (the server also does this hourly).",
            discussion: "Prints how many patients were scored, how many scores changed and how long the computation took.")

        @OptionGroup var common: CommonOptions

        func run() async throws {
            restrictNewFiles()
            try await explained {
                let (appliance, _) = try Appliance.open(settings: try common.settings())
                let scores = RiskScores(appliance: appliance)
                let patients = try await scores.activePatients()
                let clock = ContinuousClock()
                var stored = 0
                let elapsed = try await clock.measure { stored = try await scores.recompute(patients) }
                let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
                print("patients=\(patients.count) stored=\(stored) milliseconds=\(String(format: "%.1f", ms))")
            }
        }
    }
}
