import Foundation
import Testing
@testable import RecoveryCore

@Suite struct MasterKeyTests {
    @Test func createWritesThirtyTwoPrivateBytesAndNeverOverwrites() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("master.key")
        let key = try MasterKey.create(at: path)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect((attributes[.size] as? Int) == 32)
        let before = FileManager.default.contents(atPath: path)
        #expect(throws: CryptoError.masterKeyExists(path: path)) { try MasterKey.create(at: path) }
        #expect(FileManager.default.contents(atPath: path) == before)
        let loaded = try MasterKey.load(from: path)
        #expect(loaded.derive(.fieldEncryption, id: 1) == key.derive(.fieldEncryption, id: 1))
    }

    @Test func loadRefusesMissingWrongSizeAndOpenFiles() throws {
        let dir = TemporaryDirectory()
        let missing = dir.file("none.key")
        #expect(throws: CryptoError.masterKeyMissing(path: missing)) { try MasterKey.load(from: missing) }

        let short = dir.file("short.key")
        _ = FileManager.default.createFile(atPath: short, contents: Data(repeating: 1, count: 16), attributes: [.posixPermissions: 0o600])
        #expect(throws: CryptoError.masterKeyWrongSize(path: short, size: 16)) { try MasterKey.load(from: short) }

        let open = dir.file("open.key")
        _ = FileManager.default.createFile(atPath: open, contents: Data(repeating: 1, count: 32), attributes: [.posixPermissions: 0o644])
        #expect(throws: CryptoError.masterKeyTooOpen(path: open, mode: "644")) { try MasterKey.load(from: open) }
    }

    @Test func subKeysDifferByPurposeAndID() {
        let key = MasterKey.generate()
        #expect(key.derive(.fieldEncryption, id: 1) != key.derive(.fieldEncryption, id: 2))
        #expect(key.derive(.fieldEncryption, id: 1) != key.derive(.blindIndex, id: 1))
        #expect(key.derive(.fieldEncryption, id: 1).count == 32)
    }
}

@Suite struct PasswordHasherTests {
    let hasher = PasswordHasher(cost: .minimum)

    @Test func hashesVerifyAndRejectWrongPasswords() async throws {
        let hash = try await hasher.hash("correct horse battery")
        #expect(hash.hasPrefix("$argon2id$"))
        #expect(!hash.contains("correct"))
        #expect(try await hasher.verify("correct horse battery", against: hash))
        #expect(try await !hasher.verify("correct horse batterz", against: hash))
        #expect(try await !hasher.verify("correct horse battery", against: nil))
    }

    @Test func weakerHashesAskForRehash() async throws {
        let weak = try await hasher.hash("correct horse battery")
        #expect(!hasher.needsRehash(weak))
        let stronger = PasswordHasher(cost: .init(opsLimit: hasher.cost.opsLimit + 1, memLimit: hasher.cost.memLimit))
        #expect(stronger.needsRehash(weak))
    }
}

@Suite struct PasswordPolicyTests {
    let policy = PasswordPolicy()

    @Test func acceptsLongPassphrasesWithoutCompositionRules() {
        #expect(policy.problem(with: "river otter paddles home", email: "a@b.org") == nil)
        #expect(policy.problem(with: String(repeating: "ab1", count: 20), email: nil) == nil)
    }

    @Test func refusesShortLongEmailCommonAndRepetitive() {
        #expect(policy.problem(with: "short", email: nil) == "must be at least 12 characters")
        #expect(policy.problem(with: String(repeating: "xy1z", count: 40), email: nil) == "must be at most 128 characters")
        #expect(policy.problem(with: "Jordan.Lee@clinic.org", email: "jordan.lee@clinic.org") == "must not be the email address")
        #expect(policy.problem(with: "Password1234", email: nil) != nil)
        #expect(policy.problem(with: "SuperAdmin123!", email: nil) != nil)
        #expect(policy.problem(with: "aaaaaaaaaaaaaaa", email: nil) == "is too repetitive")
    }

    @Test func generatedPasswordsPass() {
        for _ in 0..<20 {
            let password = PasswordPolicy.generate()
            #expect(policy.problem(with: password, email: "x@y.org") == nil)
            #expect(password.count == 23)
        }
    }
}
