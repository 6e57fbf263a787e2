import Testing
@testable import RecoveryCore

@Suite struct TextRulesTests {
    @Test func controlCharactersAreRefusedInEmailsAndNames() {
        #expect(!StaffProfile.isPlausibleEmail("\u{04}@^.H"))
        #expect(!StaffProfile.isPlausibleEmail("a\u{85}b@clinic.org"))
        #expect(StaffProfile.isPlausibleEmail("zoë.o'neil@clinic.org"))
        #expect(TextRules.hasControlCharacters("Ann\u{7F}"))
        #expect(!TextRules.hasControlCharacters("line one\nline two", allowLineBreaks: true))
        let problems = PatientIntake.problems(.init(firstName: "Jo\u{1B}[31m", lastName: "Ng", dateOfBirth: "1990-01-01"))
        #expect(problems.map(\.field) == ["first_name"])
    }
}
