/// Rules shared by every free-text field a person types.
public enum TextRules {
    /// True when `text` holds C0/C1 control characters (other than tab and
    /// line breaks in multi-line fields): they have no place in a name or an
    /// address and can hide text in logs and terminals.
    public static func hasControlCharacters(_ text: String, allowLineBreaks: Bool = false) -> Bool {
        text.unicodeScalars.contains { scalar in
            if allowLineBreaks, scalar == "\n" || scalar == "\r" || scalar == "\t" { return false }
            return scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
        }
    }
}
