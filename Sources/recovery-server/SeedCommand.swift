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
        handful of sample patients. The data directory must be initialised (see init). \
        Do not use it on a box holding real patients: the super admin password is public. \
        Running it again on a seeded database changes nothing.
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
            switch try await DemoData.seed(appliance) {
            case .seeded(let summary): print("Seeded demo data: \(summary)")
            case .alreadySeeded: print("Demo data is already present; nothing was changed.")
            }
            appliance.auditAnchor.flush()
            print("Demo super admin: \(DemoData.superAdminEmail) (password as documented in README.md)")
        }
    }
}
