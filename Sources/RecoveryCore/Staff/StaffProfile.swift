import Foundation

/// Rules for the personal fields of a staff account.
public enum StaffProfile {
    public static func validate(email: String, firstName: String, lastName: String) throws {
        if !isPlausibleEmail(email) {
            throw ApplianceError.invalidInput(field: "admin_email", reason: "must be an email address like name@clinic.org")
        }
        for (field, value) in [("admin_first_name", firstName), ("admin_last_name", lastName)] {
            let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty || trimmed.count > 100 {
                throw ApplianceError.invalidInput(field: field, reason: "must be 1 to 100 characters")
            }
        }
    }

    /// One `@`, something before it, a dot-separated domain after it, no
    /// spaces, at most 254 characters (RFC 5321's path limit).
    public static func isPlausibleEmail(_ email: String) -> Bool {
        guard email.count <= 254, !email.contains(where: { $0.isWhitespace }), !TextRules.hasControlCharacters(email) else { return false }
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty else { return false }
        let domain = parts[1].split(separator: ".", omittingEmptySubsequences: false)
        return domain.count >= 2 && domain.allSatisfy { !$0.isEmpty }
    }
}
