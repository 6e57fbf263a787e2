import Foundation
import GRDB
import Testing
@testable import RecoveryAPI
@testable import RecoveryCore

/// HIPAA automatic logoff counts from a session's last request, not its last
/// refresh. Times are passed in explicitly: the access tokens (15 minutes)
/// outlive the 5-minute idle limit set here, as a clinic may configure.
@Suite struct IdleLogoffTests {
    func signIn(_ auth: AuthService) async throws -> AuthService.Tokens {
        guard case .signedIn(let signedIn) = try await auth.staffLogin(email: TestAppliance.adminEmail, password: TestAppliance.adminPassword,
                                                                       origin: .init()) else { throw TestFailure("not signed in") }
        return signedIn.tokens
    }

    @Test func requestsKeepASessionAliveAndAnIdleOneEnds() async throws {
        let box = try await TestAppliance { $0.staffIdleTimeoutMinutes = 5 }
        let auth = AuthService(appliance: box.appliance)
        let active = try await signIn(auth), idle = try await signIn(auth), unrefreshed = try await signIn(auth)
        let start = Date()
        func minutes(_ m: Double) -> Date { start.addingTimeInterval(m * 60) }

        // Requests every four minutes, never a refresh...
        for minute in [4.0, 8, 12] {
            #expect(await auth.authenticate(bearer: active.accessToken, at: minutes(minute)) != nil, "request at minute \(minute)")
        }
        // ...so a refresh 14 minutes after sign-in finds it two minutes idle, not fourteen.
        let rotated = try await auth.refresh(active.refreshToken, origin: .init(), at: minutes(14))
        #expect(await auth.authenticate(bearer: rotated.accessToken, at: minutes(15)) != nil)

        // The idle session's token is still valid, but it has made no request for six minutes.
        #expect(await auth.authenticate(bearer: idle.accessToken, at: minutes(6)) == nil)
        await #expect(throws: AuthError.invalidRefreshToken) { try await auth.refresh(idle.refreshToken, origin: .init(), at: minutes(6)) }
        #expect(await auth.authenticate(bearer: idle.accessToken) == nil)
        // Idle at the refresh check alone ends it too.
        await #expect(throws: AuthError.invalidRefreshToken) { try await auth.refresh(unrefreshed.refreshToken, origin: .init(), at: minutes(6)) }

        // Activity is saved to the sessions table (once a minute while serving),
        // so after a restart the last request still counts: 15 + 5 minutes.
        try await auth.saveSessionActivity()
        let saved = try await box.appliance.database.pool.read { db in
            try String.fetchOne(db, sql: "SELECT idle_expires_at FROM sessions WHERE family_id = ? AND rotated_at IS NULL",
                                arguments: [rotated.sessionID])
        }
        #expect(saved == Timestamp.string(minutes(20)))
        let (restarted, _) = try Appliance.open(settings: box.appliance.settings, passwordCost: .minimum)
        let afterRestart = AuthService(appliance: restarted)
        #expect(try await afterRestart.refresh(rotated.refreshToken, origin: .init(), at: minutes(19.5)).sessionID == rotated.sessionID)
        try restarted.database.close()
    }
}
