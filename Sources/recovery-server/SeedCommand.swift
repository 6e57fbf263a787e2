import ArgumentParser
import Foundation
import RecoveryCore

struct SeedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed",
        abstract: "Add sample data for trying the API (never run implicitly).",
        discussion: """
        --demo adds the sample facility "Serenity Recovery Center", the super admin \
        admin@recoversystem.com with the documented password SuperAdmin123!, staff, and a \
        handful of sample patients. The data directory must be initialised (see init) and \
        hold nothing else: a box with any patient, any staff account besides the first \
        administrator or any facility besides the first is refused (exit 1, nothing \
        written): the demo passwords are public, so it never goes on a box holding real \
        patients. The demo accounts sign in without a \
        second factor until their password is changed. Running it again on a seeded \
        database changes nothing.
        """)

    @OptionGroup var common: CommonOptions

    @Flag(help: "Add the demo data set described above.")
    var demo = false

    func run() async throws {
        restrictNewFiles()
        try await explained {
            guard demo else { throw Failure(message: "say what to seed: `recovery-server seed --demo`", code: 64) }
            let settings = try common.settings()
            let (appliance, _) = try Appliance.open(settings: settings)
            let outcome: DemoData.Outcome
            do {
                outcome = try await DemoData.seed(appliance)
            } catch let refused as DemoData.Refused {
                throw Failure(message: refused.description)
            }
            switch outcome {
            case .seeded(let summary): print("Seeded demo data: \(summary)")
            case .alreadySeeded: print("Demo data is already present; nothing was changed.")
            }
            appliance.auditAnchor.flush()
            print("Demo super admin: \(DemoData.superAdminEmail) (password as documented in README.md)")
        }
    }
}
