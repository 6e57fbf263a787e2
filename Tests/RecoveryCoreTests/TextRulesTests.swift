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

@Suite struct CommonPasswordTests {
    @Test func shortCommonPasswordsAreRefusedWhenTheMinimumIsLowered() {
        let policy = PasswordPolicy(minLength: 8, maxLength: 128)
        for password in ["password", "12345678", "Password1", "iloveyou", "QWERTY123"] {
            #expect(policy.problem(with: password, email: nil) != nil, "\(password) accepted")
        }
        #expect(policy.problem(with: "heron-lake-9", email: nil) == nil)
    }
}
