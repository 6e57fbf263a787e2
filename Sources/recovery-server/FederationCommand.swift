import ArgumentParser
import Foundation
import RecoveryAPI
import RecoveryCore

struct FederationCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "federation",
        abstract: "Connect this clinic's appliance to the organisation's central instance.",
        subcommands: [Enroll.self])

    struct Enroll: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Enrol this clinic with central using a one-time code from central's super admin.",
            discussion: """
            Makes this clinic's Ed25519 signing key (its private half sealed with the master key), \
            sends the public key with the code to central, and pins central's signing key: every \
            receipt central sends later must carry its signature. Prints the clinic's id and the \
            fingerprint of central's key; compare it with the one central shows. Plain http:// \
            is refused except to a loopback address, unless --allow-plain-http (or \
            federation.allow_plain_http) is given.
            """)

        @OptionGroup var common: CommonOptions

        @Option(help: "Central's base URL, e.g. https://central.example.org")
        var central: String

        @Option(help: "The one-time enrolment code central's super admin created.")
        var code: String

        @Flag(help: "Allow plain http:// to an address other than loopback (a TLS proxy in between only).")
        var allowPlainHTTP = false

        func run() async throws {
            try await explained {
                let settings = try common.settings()
                let (appliance, _) = try Appliance.open(settings: settings)
                do {
                    let outcome = try await ClinicEnrollment.enroll(appliance, central: central, code: code, allowPlainHTTP: allowPlainHTTP,
                                                                    transport: FederationHTTP.transport)
                    print("enrolled as clinic \(outcome.clinicID) (\(outcome.name)) with \(outcome.centralURL)")
                    print("central key fingerprint: \(outcome.centralKeyFingerprint)")
                } catch let error as FederationError {
                    throw Failure(message: Self.explain(error))
                } catch {
                    throw Failure(message: "enrolment failed: central could not be reached or answered wrongly (\(type(of: error)))")
                }
            }
        }

        static func explain(_ error: FederationError) -> String {
            switch error {
            case .plainHTTPRefused: return "refusing plain http:// to an address other than loopback; use https:// (or --allow-plain-http behind a TLS proxy)"
            case .invalidEnrollmentCode: return "central refused the code: wrong, expired or already used; ask central's super admin for a new one"
            case .alreadyEnrolled: return "this clinic is already enrolled with a central instance"
            case .wrongMode: return "this appliance is not a clinic (mode: central)"
            case .invalid(let field, let issue): return "\(field) \(issue)"
            default: return "enrolment failed: \(error.code)"
            }
        }
    }
}
