import ArgumentParser
import Foundation
import RecoveryCore

struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Rotate the master key and show the key versions.",
        subcommands: [Rotate.self, Status.self])

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a new master key and re-encrypt everything under it, while the server serves.",
            discussion: """
            Writes the new key to <key file>.vN (mode 0600), re-encrypts every encrypted column, \
            the documents' files and the blind indexes in short batches, and retires the old \
            version. The running server picks the new key up within a second. Interrupted \
            (even killed), run it again: it resumes where it stopped. When it ends, copy the new \
            key file off the box, then destroy the old one (see README, "Rotating the master key").
            """)

        @OptionGroup var common: CommonOptions

        @Option(name: .customLong("batch-size"), help: "Rows re-encrypted per transaction (1-10000).")
        var batchSize: Int = 200

        @Option(name: .customLong("wait-seconds"),
                help: "How long to wait for a running server to load the new key before encrypting under it, and before retiring the old one (0-3600).")
        var waitSeconds: Int = 60

        func validate() throws {
            guard (1...10_000).contains(batchSize) else { throw ValidationError("--batch-size: must be between 1 and 10000") }
            guard (0...3_600).contains(waitSeconds) else { throw ValidationError("--wait-seconds: must be between 0 and 3600") }
        }

        func run() async throws {
            try await explained {
                let settings = try common.settings()
                let (appliance, _) = try Appliance.open(settings: settings)
                defer { try? appliance.database.close() }
                var lastStep = ""
                let state: KeyRotationState
                do {
                    state = try await KeyRotation(appliance: appliance, batchSize: batchSize, serverWait: .seconds(waitSeconds)).run(progress: { progress in
                        let s = progress.state
                        if progress.step != lastStep || s.batches % 50 == 0 {
                            // Unbuffered, so a supervisor sees each line as it happens.
                            FileHandle.standardOutput.write(Data(("\(s.phase.rawValue) \(s.fromVersion)->\(s.toVersion): batch \(s.batches), "
                                + "\(s.rowsReencrypted) rows, \(s.documentsReencrypted) documents, \(s.percent)% (\(progress.step))"
                                + "\(progress.resumed ? ", resumed" : "")\n").utf8))
                            lastStep = progress.step
                        }
                    }, waiting: { notice in
                        FileHandle.standardOutput.write(Data((notice + "\n").utf8))
                    })
                } catch let failure as KeyRotation.Failure {
                    throw Failure(message: failure.description)
                }
                appliance.auditAnchor.flush()
                let retired = KeyRing.keyFile(settings.resolvedKeyFile, version: state.fromVersion)
                let needing = try appliance.backups.needing(keyVersion: state.fromVersion, madeBefore: state.finishedAt ?? Timestamp.now())
                print("""
                    key rotation finished: version \(state.toVersion) is current; \(state.rowsReencrypted) rows and \
                    \(state.documentsReencrypted) documents re-encrypted in \(state.batches) batches.
                    Copy \(KeyRing.keyFile(settings.resolvedKeyFile, version: state.toVersion)) off the box, then destroy \(retired).
                    Every backup made before \(state.finishedAt ?? "now") (the end of this rotation) needs \(retired) to be verified \
                    or restored: keep a copy of it with those backups, or destroy both together. \
                    \(needing.isEmpty ? "None of them is in \(settings.resolvedBackupDirectory)." : "In \(settings.resolvedBackupDirectory): \(needing.map(\.file).joined(separator: ", ")).")
                    """)
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the master-key versions and the latest rotation.")

        @OptionGroup var common: CommonOptions

        func run() async throws {
            try await explained {
                let status = try KeyStatus.read(settings: try common.settings())
                for version in status.versions {
                    print("version \(version.version): \(version.state), key file \(version.keyFile) "
                          + (version.keyFilePresent ? "present" : "absent") + (version.retiredAt.map { ", retired \($0)" } ?? ""))
                }
                if let server = status.server, server.isRunning() {
                    print("server: running (process \(server.processID), heartbeat \(server.heartbeatAge()) s ago), holds version \(server.currentVersion)"
                          + (server.retiringVersion.map { " and \($0)" } ?? "")
                          + (server.reloadFailure.map { "; its last key reload failed: \($0)" } ?? ""))
                } else {
                    print("server: not running on this data directory")
                }
                if let rotation = status.rotation {
                    print("rotation \(rotation.fromVersion)->\(rotation.toVersion): \(rotation.phase.rawValue), \(rotation.percent)%, "
                          + "\(rotation.batches) batches, \(rotation.rowsReencrypted) rows, \(rotation.documentsReencrypted) documents, "
                          + "started \(rotation.startedAt)" + (rotation.finishedAt.map { ", finished \($0)" } ?? ""))
                    if rotation.phase != .finished { print("unfinished: run `recovery-server keys rotate` again to resume it") }
                } else {
                    print("no rotation yet")
                }
            }
        }
    }
}
