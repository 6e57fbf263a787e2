import CSodium
import Foundation
import NIOPosix

/// Argon2id password hashing (libsodium `crypto_pwhash_str`). Hashing is
/// deliberately slow (~55 ms, 64 MiB at the interactive limits), so it runs
/// on a small dedicated thread pool, never on an event loop; the pool's size
/// also bounds the memory that a burst of logins can take.
public final class PasswordHasher: Sendable {
    public struct Cost: Sendable, Equatable {
        public var opsLimit: UInt64
        public var memLimit: Int
        public static var interactive: Cost {
            Cost(opsLimit: UInt64(crypto_pwhash_opslimit_interactive()),
                 memLimit: crypto_pwhash_memlimit_interactive())
        }
        /// Minimum libsodium accepts: for tests only.
        public static var minimum: Cost {
            Cost(opsLimit: UInt64(crypto_pwhash_opslimit_min()), memLimit: crypto_pwhash_memlimit_min())
        }
    }

    public let cost: Cost
    private let pool: NIOThreadPool
    /// A hash of a random password, verified against when an account does not
    /// exist so that unknown accounts cost the same time as wrong passwords.
    private let decoyHash: String

    public init(cost: Cost = .interactive, threads: Int = 2) {
        Sodium.ensureInitialized()
        self.cost = cost
        self.pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
        self.decoyHash = Self.hashNow(SecureRandom.token(), cost: cost)!
    }

    deinit {
        pool.shutdownGracefully { _ in }
    }

    public func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await pool.runIfActive {
            guard let hash = Self.hashNow(password, cost: cost) else { throw CryptoError.passwordHashingFailed }
            return hash
        }
    }

    /// True when `password` matches `hash`. Pass `nil` for an unknown account:
    /// the decoy is checked instead and the answer is false.
    public func verify(_ password: String, against hash: String?) async throws -> Bool {
        let target = hash ?? decoyHash
        let matches = try await pool.runIfActive { Self.verifyNow(password, hash: target) }
        return hash != nil && matches
    }

    /// True when `hash` was made with other parameters than the current ones
    /// and should be replaced at the next successful login.
    public func needsRehash(_ hash: String) -> Bool {
        crypto_pwhash_str_needs_rehash(hash, cost.opsLimit, cost.memLimit) != 0
    }

    static func hashNow(_ password: String, cost: Cost) -> String? {
        var out = [CChar](repeating: 0, count: crypto_pwhash_strbytes())
        let bytes = Array(password.utf8CString)
        let rc = bytes.withUnsafeBufferPointer { pw in
            crypto_pwhash_str_alg(&out, pw.baseAddress!, UInt64(bytes.count - 1),
                                  cost.opsLimit, cost.memLimit, crypto_pwhash_alg_argon2id13())
        }
        guard rc == 0 else { return nil }
        return String(decoding: out.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func verifyNow(_ password: String, hash: String) -> Bool {
        let bytes = Array(password.utf8CString)
        return bytes.withUnsafeBufferPointer { pw in
            crypto_pwhash_str_verify(hash, pw.baseAddress!, UInt64(bytes.count - 1)) == 0
        }
    }
}
