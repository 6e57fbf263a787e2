import ArgumentParser
import Foundation
import RecoveryCore

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Work with the audit trail.",
        subcommands: [Verify.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check that no audit entry was altered, removed or inserted.",
            discussion: """
            Every audit entry carries a hash chained to the entry before it, keyed with a key \
            derived from the master key. This walks the whole chain, checks that it still \
            reaches the newest entry recorded in the sealed head file audit.head beside the \
            database (so removing the newest entries, or all of them, shows) and that the index \
            of entries by patient matches the entries. It exits 0 when all is intact, or 1 \
            naming the first entry (by its sequence number) that does not fit, or what is \
            wrong with the head file. Run it while the server is running or stopped; it \
            changes nothing.
            """)

        @OptionGroup var common: CommonOptions

        func run() async throws {
            try await explained {
                let settings = try common.settings()
                switch try ApplianceSetup.verifyAudit(settings: settings) {
                case .intact(let entries):
                    print("audit trail intact: \(entries) entries verified")
                case .broken(let seq, let reason):
                    throw Failure(message: "audit trail broken at entry \(seq): \(reason)")
                case .headFile(let reason):
                    throw Failure(message: "audit trail not verified: \(reason)")
                }
            }
        }
    }
}
