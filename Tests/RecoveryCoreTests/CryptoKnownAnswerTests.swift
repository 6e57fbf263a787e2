import CSodium
import Foundation
import Testing
@testable import RecoveryCore

/// libsodium's behaviour against published vectors, and our own derivations
/// pinned so that a changed context, id or format cannot slip in unnoticed
/// (it would make every stored ciphertext unreadable).
@Suite struct CryptoKnownAnswerTests {
    @Test func xchacha20poly1305MatchesTheDraftVector() {
        // draft-irtf-cfrg-xchacha-03, appendix A.3.1
        Sodium.ensureInitialized()
        let plaintext = Array("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.".utf8)
        let ad = hex("50515253c0c1c2c3c4c5c6c7")
        let key = hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f")
        let nonce = hex("404142434445464748494a4b4c4d4e4f5051525354555657")
        var out = [UInt8](repeating: 0, count: plaintext.count + 16)
        var outLen: UInt64 = 0
        crypto_aead_xchacha20poly1305_ietf_encrypt(&out, &outLen, plaintext, UInt64(plaintext.count), ad, UInt64(ad.count), nil, nonce, key)
        #expect(hexString(out.prefix(Int(outLen))) ==
            "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff921f9664c97637da9768812f615c68b13b52ec0875924c1c7987947deafd8780acf49")
    }

    @Test func blake2bMatchesRFC7693() {
        Sodium.ensureInitialized()
        var out = [UInt8](repeating: 0, count: 64)
        let input = Array("abc".utf8)
        crypto_generichash(&out, 64, input, 3, nil, 0)
        #expect(hexString(out) == "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923")
    }

    @Test func kdfContextsAreFrozen() {
        #expect(KeyPurpose.allCases.map(\.rawValue) ==
            ["RAfields", "RAbindex", "RAdocmnt", "RAbackup", "RAtokens", "RAfedsig", "RAauditc", "RAkeychk", "RAaudhed", "RAfednoi"])
        for purpose in KeyPurpose.allCases { #expect(purpose.rawValue.utf8.count == 8) }
    }

    @Test func subKeyDerivationIsPinned() {
        #expect(hexString(fixedKey.derive(.fieldEncryption, id: 1)) == PinnedValues.fieldKey1)
        #expect(hexString(fixedKey.derive(.blindIndex, id: 1)) == PinnedValues.blindKey1)
    }

    @Test func blindIndexIsPinned() {
        let index = BlindIndex(masterKey: fixedKey)
        #expect(hexString(index.index("Admin@Example.org", for: .staffEmail)) == PinnedValues.staffEmailIndex)
    }

    @Test func aStoredCiphertextStillOpens() throws {
        // Sealed once with `fixedKey`; if this stops opening, stored data would too.
        let cipher = FieldCipher(masterKey: fixedKey)
        let text = try cipher.openString(Data(hex(PinnedValues.sealedJohn)), field: .patientsFirstName, rowID: "row-1")
        #expect(text == "John")
    }

    @Test func phiFieldIdsAreUniqueAndStable() {
        let ids = PHIField.allCases.map(\.rawValue)
        #expect(Set(ids).count == ids.count)
        #expect(ids == Array(1...UInt64(ids.count)))
        #expect(PHIField.patientsFirstName.table == "patients" && PHIField.patientsFirstName.column == "first_name_enc")
        let indexIDs = BlindIndexField.allCases.map(\.rawValue)
        #expect(indexIDs == Array(1...UInt64(indexIDs.count)))
    }
}

enum PinnedValues {
    static let fieldKey1 = "238230893ba7a31fe2a5aa39bfca584710c050a13fb3f5a72ff5e83962689d52"
    static let blindKey1 = "1d86d689e0d5684518d2860424aa74fd4d47cd120bca04560424f750dbea1f85"
    static let staffEmailIndex = "514a73a1f11ddbcd3fbe62078d48e5b7"
    static let sealedJohn = "0100000001a2894156804412d7dec5c2b3a848a4cf7381b0b037c1e8a7c0018f3d3bd82571266e997d02ac825252aba32b"
}
