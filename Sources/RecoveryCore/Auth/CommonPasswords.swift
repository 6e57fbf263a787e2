/// Well-known passwords from breach corpora and cracking word lists, compared
/// after normalisation (lower case). The shorter ones matter when
/// `auth.password_min_length` is lowered below 12 (it may go down to 8).
enum CommonPasswords {
    static func contains(_ normalised: String) -> Bool { list.contains(normalised) }

    static let list: Set<String> = [
        "password", "password1", "password12", "password123", "passw0rd", "p@ssw0rd", "p@ssword", "12345678", "123456789",
        "1234567890", "12345678910", "87654321", "11111111", "00000000", "88888888", "12341234", "11223344", "123123123",
        "qwerty123", "qwertyuiop", "qwerty12", "1q2w3e4r", "1q2w3e4r5t", "1qaz2wsx", "zaq12wsx", "asdfghjkl", "zxcvbnm1",
        "iloveyou", "iloveyou1", "sunshine", "sunshine1", "princess", "princess1", "football", "football1", "baseball",
        "welcome", "welcome1", "welcome123", "letmein", "letmein1", "trustno1", "superman", "batman123", "dragon123",
        "monkey123", "shadow123", "master123", "michael1", "jennifer", "charlie1", "abc12345", "abcd1234", "abcdefgh",
        "aa123456", "admin123", "administrator1", "changeme", "computer", "whatever", "starwars", "pokemon1", "freedom1",
        "recovery", "recovery1", "sobriety", "serenity", "serenity1", "summer2024", "summer2025", "winter2025", "spring2026",
        "123456789012", "1234567890123", "12345678901234", "123456789123", "1234567891011",
        "111111111111", "000000000000", "123123123123", "121212121212", "987654321098",
        "qwertyuiopas", "qwertyuiop123", "qwerty123456", "qwertyuiopasdfgh", "1q2w3e4r5t6y",
        "1qaz2wsx3edc", "zaq12wsxcde3", "asdfghjkl123", "zxcvbnm12345", "qazwsxedcrfv",
        "password1234", "password12345", "password123456", "passwordpassword", "password123!",
        "password1234!", "p@ssw0rd1234", "p@ssword1234", "passw0rd1234", "mypassword123",
        "iloveyou1234", "iloveyouiloveyou", "letmein12345", "welcome12345", "welcome123456",
        "changeme1234", "changeme123!", "administrator", "administrator1", "admin1234567",
        "adminadmin123", "superadmin123", "superadmin123!", "trustno1trustno1", "football1234",
        "baseball1234", "basketball12", "sunshine1234", "princess1234", "dragon123456",
        "monkey123456", "shadow123456", "master123456", "michael12345", "jennifer1234",
        "abcdefghijkl", "abcdefgh1234", "abc123abc123", "abcd1234abcd", "aaaaaaaaaaaa",
        "recovery1234", "recovery2024", "recovery2025", "recovery2026", "sobriety1234",
        "summer2024!!", "winter2024!!", "spring2025!!", "autumn2025!!", "december2025",
        "123qweasdzxc", "1qazxsw23edc", "q1w2e3r4t5y6", "a1b2c3d4e5f6", "1a2b3c4d5e6f",
        "correcthorsebatterystaple", "thequickbrownfox", "starwars1234", "pokemon12345", "whatever1234",
    ]
}
