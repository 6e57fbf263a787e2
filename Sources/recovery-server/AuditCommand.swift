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
            derived from the master key. This walks the whole chain and exits 0 when it is \
            intact, or 1 naming the first entry (by its sequence number) that does not fit. \
            Run it while the server is running or stopped; it changes nothing.
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
                }
            }
        }
    }
}
