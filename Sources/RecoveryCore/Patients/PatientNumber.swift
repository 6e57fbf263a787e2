import GRDB

/// Patient numbers: `P-` and eight characters drawn by libsodium's CSPRNG
/// from the registration keys' 31 characters that cannot be confused (no
/// 0/O, 1/I/L), e.g. `P-K9M2P4N8`. Random, so a number tells nobody how many
/// patients the box holds or when one was admitted (sequential numbers did);
/// 31^8 ≈ 8.5 × 10^11 numbers make a collision rare, and one is drawn again.
/// Unique across the box (a patient signs in with one without naming a
/// facility): the unique index `patients_number_idx` (0007) enforces it.
public enum PatientNumber {
    public static let prefix = "P-"
    public static let length = 8

    public static func generate() -> String {
        prefix + SecureRandom.string(length: length, alphabet: RegistrationKey.alphabet)
    }

    /// A number no patient on the box has yet (inside the writing transaction).
    static func unused(in db: Database) throws -> String {
        while true {
            let number = generate()
            if try Table("patients").filter(Column("patient_number") == number).isEmpty(db) { return number }
        }
    }
}
