import Foundation
import Testing
@testable import RecoveryCore

@Suite struct FieldCipherTests {
    let cipher = FieldCipher(masterKey: MasterKey.generate())

    @Test func roundTripsAndHidesThePlaintext() throws {
        let sealed = cipher.seal("Jane Roe", field: .patientsFirstName, rowID: "p1")
        #expect(!sealed.contains(text: "Jane"))
        #expect(sealed.count == 5 + 24 + "Jane Roe".utf8.count + 16)
        #expect(sealed.first == FieldCipher.formatVersion)
        #expect(try cipher.openString(sealed, field: .patientsFirstName, rowID: "p1") == "Jane Roe")
    }

    @Test func equalPlaintextsGiveDifferentCiphertexts() {
        #expect(cipher.seal("same", field: .patientsFirstName, rowID: "p1") != cipher.seal("same", field: .patientsFirstName, rowID: "p1"))
    }

    @Test func anyFlippedByteIsDetected() {
        let sealed = [UInt8](cipher.seal("sensitive note", field: .patientsFirstName, rowID: "p1"))
        for position in sealed.indices {
            var tampered = sealed
            tampered[position] ^= 0x01
            #expect(throws: (any Error).self) {
                try cipher.open(Data(tampered), field: .patientsFirstName, rowID: "p1")
            }
        }
    }

    @Test func aCiphertextMovedToAnotherRowOrColumnFails() {
        let sealed = cipher.seal("Jane", field: .patientsFirstName, rowID: "p1")
        #expect(throws: CryptoError.decryptionFailed) { try cipher.open(sealed, field: .patientsFirstName, rowID: "p2") }
        #expect(throws: CryptoError.decryptionFailed) { try cipher.open(sealed, field: .patientsLastName, rowID: "p1") }
    }

    @Test func anotherKeyCannotRead() {
        let sealed = cipher.seal("Jane", field: .patientsFirstName, rowID: "p1")
        let other = FieldCipher(masterKey: MasterKey.generate())
        #expect(throws: CryptoError.decryptionFailed) { try other.open(sealed, field: .patientsFirstName, rowID: "p1") }
    }

    @Test func truncatedAndForeignFormatsAreRefused() {
        var sealed = [UInt8](cipher.seal("Jane", field: .patientsFirstName, rowID: "p1"))
        #expect(throws: CryptoError.ciphertextTooShort) { try cipher.open(Data(sealed.prefix(20)), field: .patientsFirstName, rowID: "p1") }
        sealed[0] = 9
        #expect(throws: CryptoError.unsupportedCiphertextFormat) { try cipher.open(Data(sealed), field: .patientsFirstName, rowID: "p1") }
    }

    @Test func rotationKeepsOldCiphertextsReadableWithoutTrialDecryption() throws {
        let old = MasterKey.generate(), new = MasterKey.generate()
        let before = FieldCipher(masterKeys: [1: old], currentKeyVersion: 1)
        let sealedOld = before.seal("Jane", field: .patientsFirstName, rowID: "p1")
        let after = FieldCipher(masterKeys: [1: old, 2: new], currentKeyVersion: 2)
        #expect(try after.openString(sealedOld, field: .patientsFirstName, rowID: "p1") == "Jane")
        let sealedNew = after.seal("Jane", field: .patientsFirstName, rowID: "p1")
        #expect(Array(sealedNew[1..<5]) == [0, 0, 0, 2])
        #expect(throws: CryptoError.unknownKeyVersion(2)) { try before.open(sealedNew, field: .patientsFirstName, rowID: "p1") }
    }
}

@Suite struct BlindIndexTests {
    let index = BlindIndex(masterKey: MasterKey.generate())

    @Test func normalisedSpellingsIndexAlike() {
        #expect(index.index("  Émile   DUPONT ", for: .patientsLastName) == index.index("émile dupont", for: .patientsLastName))
        #expect(index.index("Admin@Clinic.org", for: .staffEmail) == index.index("admin@clinic.org", for: .staffEmail))
        #expect(index.index("ﬁnn", for: .patientsFirstName) == index.index("finn", for: .patientsFirstName)) // NFKC ligature
        #expect(index.index("Jane", for: .patientsFirstName).count == BlindIndex.phiLength)
    }

    @Test func differentColumnsAndKeysGiveDifferentIndexes() {
        #expect(index.index("Jordan", for: .patientsFirstName) != index.index("Jordan", for: .patientsLastName))
        let other = BlindIndex(masterKey: MasterKey.generate())
        #expect(index.index("Jordan", for: .patientsFirstName) != other.index("Jordan", for: .patientsFirstName))
        #expect(index.index("Jordan", for: .patientsFirstName) != index.index("Jordon", for: .patientsFirstName))
    }
}

@Suite struct PrimitivesTests {
    @Test func constantTimeEquality() {
        #expect(ConstantTime.equals([1, 2, 3] as [UInt8], [1, 2, 3] as [UInt8]))
        #expect(!ConstantTime.equals([1, 2, 3] as [UInt8], [1, 2, 4] as [UInt8]))
        #expect(!ConstantTime.equals([1, 2, 3] as [UInt8], [1, 2] as [UInt8]))
        #expect(ConstantTime.equals([] as [UInt8], [] as [UInt8]))
    }

    @Test func tokensAreRandomAndURLSafe() {
        let tokens = (0..<100).map { _ in SecureRandom.token() }
        #expect(Set(tokens).count == 100)
        for token in tokens {
            #expect(token.count == 43)
            #expect(token.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
        }
    }

    @Test func uniformStaysInRange() {
        let draws = (0..<2_000).map { _ in SecureRandom.uniform(7) }
        #expect(draws.allSatisfy { $0 < 7 })
        #expect(Set(draws).count == 7)
    }
}
