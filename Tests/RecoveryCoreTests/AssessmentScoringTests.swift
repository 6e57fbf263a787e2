import Testing
@testable import RecoveryCore

/// Scoring of the built-in instruments at every band boundary.
@Suite struct AssessmentScoringTests {
    /// Answers of `count` items in 0...max summing to `total`, filled from the
    /// first item on and skipping `avoid` (1-based) until the others are full.
    static func answers(_ count: Int, max: Int, total: Int, avoid: Int? = nil) -> [Int] {
        var answers = Array(repeating: 0, count: count)
        var left = total
        let order = (0..<count).filter { $0 + 1 != avoid } + (avoid.map { [$0 - 1] } ?? [])
        for index in order where left > 0 {
            answers[index] = min(max, left)
            left -= answers[index]
        }
        precondition(left == 0)
        return answers
    }

    @Test func theCatalogueLoadsFromItsJSONAndMatchesTheScoringRules() {
        #expect(AssessmentInstruments.all.map(\.id) == ["phq9", "gad7", "bam", "pacs"])
        #expect(AssessmentInstruments.all.map(\.itemCount) == [9, 7, 17, 5])
        let phq9 = AssessmentInstruments.instrument("phq9")!
        guard case .array(let items)? = phq9.document["items"] else { Issue.record("no items"); return }
        #expect(items.count == 9)
        #expect(phq9.problems(Array(repeating: 0, count: 8)).map(\.field) == ["answers"])
        #expect(phq9.problems(Array(repeating: 4, count: 9)).map(\.issue) == ["item 1 must be from 0 to 3"])
        #expect(phq9.problems(Array(repeating: -1, count: 9)).count == 1)
        #expect(AssessmentInstruments.instrument("pacs")!.problems(Array(repeating: 6, count: 5)).isEmpty)
        #expect(AssessmentInstruments.instrument("pacs")!.problems(Array(repeating: 7, count: 5)).count == 1)
        #expect(AssessmentInstruments.instrument("bam")!.problems(Array(repeating: 5, count: 17)).count == 1)
    }

    @Test func phq9BandsAtEveryBoundary() {
        let phq9 = AssessmentInstruments.instrument("phq9")!
        let expected: [(Int, String)] = [(0, "minimal"), (4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"), (14, "moderate"),
                                         (15, "moderately_severe"), (19, "moderately_severe"), (20, "severe"), (24, "severe")]
        for (total, band) in expected {
            let score = phq9.score(Self.answers(9, max: 3, total: total, avoid: 9))
            #expect(score.total == total && score.band == band, "total \(total)")
            #expect(!score.flags.contains { $0.level == "crisis" }, "item 9 is 0 at total \(total)")
        }
        let top = phq9.score(Array(repeating: 3, count: 9))
        #expect(top.total == 27 && top.band == "severe")
    }

    @Test func phq9ItemNineAboveZeroIsACrisisFlag() {
        let phq9 = AssessmentInstruments.instrument("phq9")!
        for value in 1...3 {
            var answers = Array(repeating: 0, count: 9)
            answers[8] = value
            let score = phq9.score(answers)
            #expect(score.band == "minimal")
            #expect(score.flags == [AssessmentInstrument.Flag(code: "suicidal_ideation", level: "crisis", item: 9)])
        }
        #expect(phq9.score(Array(repeating: 0, count: 9)).flags.isEmpty)
    }

    @Test func gad7BandsAtEveryBoundary() {
        let gad7 = AssessmentInstruments.instrument("gad7")!
        let expected: [(Int, String)] = [(0, "minimal"), (4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"), (14, "moderate"),
                                         (15, "severe"), (21, "severe")]
        for (total, band) in expected {
            let score = gad7.score(Self.answers(7, max: 3, total: total))
            #expect(score.total == total && score.band == band, "total \(total)")
        }
    }

    @Test func bamSubscalesUseTheirOwnItemsAndBoundaries() {
        let bam = AssessmentInstruments.instrument("bam")!
        // Each item alone lands in its own subscale only (7 and 17 in none).
        let subscaleOf: [Int: String] = [4: "use", 5: "use", 6: "use", 1: "risk", 2: "risk", 3: "risk", 8: "risk", 11: "risk", 15: "risk",
                                         9: "protective", 10: "protective", 12: "protective", 13: "protective", 14: "protective", 16: "protective"]
        for item in 1...17 {
            var answers = Array(repeating: 0, count: 17)
            answers[item - 1] = 3
            let score = bam.score(answers)
            #expect(score.total == nil && score.band == nil)
            for name in ["use", "risk", "protective"] {
                #expect(score.subscales[name] == (subscaleOf[item] == name ? 3 : 0), "item \(item) in \(name)")
            }
        }
        func score(use: Int = 0, risk: Int = 0, protective: Int = 0) -> AssessmentInstrument.Score {
            var answers = Array(repeating: 0, count: 17)
            var left = use
            for item in [4, 5, 6] where left > 0 { answers[item - 1] = min(4, left); left -= answers[item - 1] }
            left = risk
            for item in [1, 2, 3, 8, 11, 15] where left > 0 { answers[item - 1] = min(4, left); left -= answers[item - 1] }
            left = protective
            for item in [9, 10, 12, 13, 14, 16] where left > 0 { answers[item - 1] = min(4, left); left -= answers[item - 1] }
            return bam.score(answers)
        }
        #expect(score(use: 0).subscaleBands["use"] == "no_use")
        #expect(score(use: 1).subscaleBands["use"] == "any_use" && score(use: 1).flags.contains { $0.code == "substance_use" })
        #expect(score(use: 12).subscales["use"] == 12)
        #expect(score(risk: 11).subscaleBands["risk"] == "lower" && score(risk: 12).subscaleBands["risk"] == "elevated")
        #expect(score(risk: 24).subscales["risk"] == 24)
        #expect(score(protective: 11).subscaleBands["protective"] == "low" && score(protective: 12).subscaleBands["protective"] == "adequate")
        #expect(score(protective: 24).subscales["protective"] == 24)
        #expect(!score(protective: 12).flags.contains { $0.code == "low_protective_factors" })
    }

    @Test func pacsTotalsFromZeroToThirty() {
        let pacs = AssessmentInstruments.instrument("pacs")!
        for total in [0, 1, 15, 29, 30] {
            let score = pacs.score(Self.answers(5, max: 6, total: total))
            #expect(score.total == total && score.band == nil && score.flags.isEmpty)
        }
    }
}
