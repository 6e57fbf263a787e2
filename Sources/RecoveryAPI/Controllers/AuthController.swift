import Hummingbird
import RecoveryCore

/// `/api/v1/auth/...`: staff and patient sign-in, patient registration with a
/// one-time key, token refresh, sign-out, own sessions, password change.
struct AuthController {
    let auth: AuthService
    let settings: Settings

    var bodyLimit: Int { settings.maxBodyBytes }

    var endpoints: [Endpoint] {
        [
            Endpoint(.post, "/api/v1/auth/staff/login", public: staffLogin),
            Endpoint(.post, "/api/v1/auth/patient/register", public: patientRegister),
            Endpoint(.post, "/api/v1/auth/patient/login", public: patientLogin),
            Endpoint(.post, "/api/v1/auth/refresh", public: refresh),
            Endpoint(.post, "/api/v1/auth/logout", access: .authenticated, handler: logout),
            Endpoint(.get, "/api/v1/auth/me", access: .authenticated, handler: me),
            Endpoint(.get, "/api/v1/auth/sessions", access: .authenticated, handler: sessions),
            Endpoint(.delete, "/api/v1/auth/sessions/{id}", access: .authenticated, handler: endSession),
            Endpoint(.post, "/api/v1/auth/change-password", access: .authenticated, handler: changePassword),
            Endpoint(.post, "/api/v1/auth/mfa/verify", public: verifySecondFactor),
            Endpoint(.post, "/api/v1/auth/mfa/totp/setup", access: .ownStaffAccount, handler: totpSetup),
            Endpoint(.post, "/api/v1/auth/mfa/totp/confirm", access: .ownStaffAccount, handler: totpConfirm),
            Endpoint(.post, "/api/v1/auth/mfa/enrol/setup", public: enrolSetup),
            Endpoint(.post, "/api/v1/auth/mfa/enrol/confirm", public: enrolConfirm),
        ]
    }

    // MARK: Bodies

    struct StaffLogin: Decodable { var email: String; var password: String }
    struct PatientRegister: Decodable { var registrationKey: String; var password: String; var email: String? }
    struct PatientLogin: Decodable { var identifier: String; var password: String }
    struct Refresh: Decodable { var refreshToken: String }
    struct ChangePassword: Decodable { var currentPassword: String; var newPassword: String }
    struct SecondFactor: Decodable { var mfaToken: String; var code: String }
    struct Challenge: Decodable { var mfaToken: String }
    struct Code: Decodable { var code: String }
    struct Password: Decodable { var password: String }

    /// A correct password when a second factor is needed.
    struct SecondFactorRequired: Encodable {
        var mfaRequired = true
        var mfaEnrolmentRequired: Bool
        var mfaToken: String
        var expiresIn = MFAChallengeStore.lifetimeSeconds
    }

    /// A new authenticator key: as text to type in, as the otpauth URI, and as
    /// that URI's QR code (SVG) for the app to scan. Shown once, never stored.
    struct EnrolmentView: Encodable {
        var secret: String, otpauthUri: String, otpauthQrSvg: String
        init(secret: String, otpauthUri: String) throws {
            self.secret = secret
            self.otpauthUri = otpauthUri
            otpauthQrSvg = try QRCodeSVG.svg(for: otpauthUri, title: "Authenticator key QR code")
        }
    }
    struct RecoveryCodes: Encodable { var recoveryCodes: [String] }

    struct TokenResponse: Encodable {
        var accessToken: String
        var refreshToken: String
        var tokenType = "Bearer"
        var expiresIn: Int
        var user: StaffUser?
        var patient: PatientSelf?
        /// Staff sign-ins: true when the password was set by an administrator
        /// and must be changed before anything else.
        var passwordChangeRequired: Bool?
        /// Only when enrolment completes at sign-in: shown once.
        var recoveryCodes: [String]?

        init(_ tokens: AuthService.Tokens, user: StaffUser? = nil, patient: PatientSelf? = nil) {
            accessToken = tokens.accessToken
            refreshToken = tokens.refreshToken
            expiresIn = tokens.expiresIn
            self.user = user
            self.patient = patient
        }

        init(_ signedIn: AuthService.SignedInStaff) {
            self.init(signedIn.tokens, user: StaffUser(signedIn.account))
            passwordChangeRequired = signedIn.passwordChangeRequired
        }
    }

    struct StaffUser: Encodable {
        var id: String, email: String, role: String, facilityId: String?, firstName: String, lastName: String
        init(_ account: StaffAccount) {
            id = account.id; email = account.email; role = account.role.rawValue
            facilityId = account.facilityID; firstName = account.firstName; lastName = account.lastName
        }
    }

    struct PatientSelf: Encodable {
        var id: String, patientNumber: String, facilityId: String, firstName: String, lastName: String, email: String?, status: String
        init(_ account: PatientAccount) {
            id = account.id; patientNumber = account.patientNumber; facilityId = account.facilityID
            firstName = account.firstName; lastName = account.lastName; email = account.email; status = account.status
        }
    }

    struct Me: Encodable {
        var kind: String
        var sessionId: String
        var user: StaffUser?
        var patient: PatientSelf?
        /// The permissions of the account's role (README's permission table), so a client shows only what the role may use.
        var permissions: [String]
    }

    struct SessionView: Encodable {
        var id: String, device: String?, ipAddress: String?, createdAt: String, lastUsedAt: String?, current: Bool
    }

    struct SessionList: Encodable { var data: [SessionView] }

    /// Passwords beyond this are refused before any hashing work.
    static let passwordCeiling = 1_024

    static func checkPassword(_ value: String, field: String) throws {
        if value.count > passwordCeiling { throw APIError.validation(field: field, "must be at most \(passwordCeiling) characters") }
    }

    // MARK: Handlers

    @Sendable func staffLogin(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let body = try await JSONBody.decode(StaffLogin.self, from: request, limit: bodyLimit)
        try Self.checkPassword(body.password, field: "password")
        switch try await auth.staffLogin(email: body.email, password: body.password, origin: context.origin(request)) {
        case .signedIn(let signedIn):
            return try JSONBody.response(TokenResponse(signedIn))
        case .secondFactor(let challenge, let enrolment):
            return try JSONBody.response(SecondFactorRequired(mfaEnrolmentRequired: enrolment, mfaToken: challenge))
        }
    }

    @Sendable func verifySecondFactor(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let body = try await JSONBody.decode(SecondFactor.self, from: request, limit: bodyLimit)
        let signedIn = try await auth.verifySecondFactor(challenge: body.mfaToken, code: body.code, origin: context.origin(request))
        return try JSONBody.response(TokenResponse(signedIn))
    }

    @Sendable func totpSetup(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let body = try await JSONBody.decode(Password.self, from: request, limit: bodyLimit)
        try Self.checkPassword(body.password, field: "password")
        let enrolment = try await auth.beginEnrolment(context.identity, password: body.password, origin: context.origin)
        return try JSONBody.response(try EnrolmentView(secret: enrolment.secret, otpauthUri: enrolment.uri))
    }

    @Sendable func totpConfirm(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let body = try await JSONBody.decode(Code.self, from: request, limit: bodyLimit)
        let codes = try await auth.confirmEnrolment(context.identity, code: body.code, origin: context.origin)
        return try JSONBody.response(RecoveryCodes(recoveryCodes: codes))
    }

    @Sendable func enrolSetup(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let body = try await JSONBody.decode(Challenge.self, from: request, limit: bodyLimit)
        let enrolment = try await auth.beginEnrolment(challenge: body.mfaToken, origin: context.origin(request))
        return try JSONBody.response(try EnrolmentView(secret: enrolment.secret, otpauthUri: enrolment.uri))
    }

    @Sendable func enrolConfirm(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let body = try await JSONBody.decode(SecondFactor.self, from: request, limit: bodyLimit)
        let (signedIn, codes) = try await auth.confirmEnrolment(challenge: body.mfaToken, code: body.code, origin: context.origin(request))
        var response = TokenResponse(signedIn)
        response.recoveryCodes = codes
        return try JSONBody.response(response)
    }

    @Sendable func patientRegister(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let body = try await JSONBody.decode(PatientRegister.self, from: request, limit: bodyLimit)
        try Self.checkPassword(body.password, field: "password")
        let signedIn = try await auth.registerPatient(key: body.registrationKey, password: body.password, email: body.email,
                                                      origin: context.origin(request))
        return try JSONBody.response(TokenResponse(signedIn.tokens, patient: PatientSelf(signedIn.account)), status: .created)
    }

    @Sendable func patientLogin(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let body = try await JSONBody.decode(PatientLogin.self, from: request, limit: bodyLimit)
        try Self.checkPassword(body.password, field: "password")
        let signedIn = try await auth.patientLogin(identifier: body.identifier, password: body.password, origin: context.origin(request))
        return try JSONBody.response(TokenResponse(signedIn.tokens, patient: PatientSelf(signedIn.account)))
    }

    @Sendable func refresh(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let body = try await JSONBody.decode(Refresh.self, from: request, limit: bodyLimit)
        let tokens = try await auth.refresh(body.refreshToken, origin: context.origin(request))
        return try JSONBody.response(TokenResponse(tokens))
    }

    @Sendable func logout(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        try await auth.logout(context.identity, origin: context.origin)
        return Response(status: .noContent)
    }

    @Sendable func me(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let identity = context.identity
        let profile = try await auth.profile(of: identity)
        return try JSONBody.response(Me(kind: identity.kind.rawValue, sessionId: identity.sessionID,
                                        user: profile.staff.map(StaffUser.init), patient: profile.patient.map(PatientSelf.init),
                                        permissions: AccessPolicy.permissions(of: identity).map(\.rawValue)))
    }

    @Sendable func sessions(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let list = try await auth.sessions(of: context.identity).map {
            SessionView(id: $0.id, device: $0.device, ipAddress: $0.ipAddress, createdAt: $0.createdAt,
                        lastUsedAt: $0.lastUsedAt, current: $0.id == context.identity.sessionID)
        }
        return try JSONBody.response(SessionList(data: list))
    }

    @Sendable func endSession(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        try await auth.endSession(id, of: context.identity, origin: context.origin)
        return Response(status: .noContent)
    }

    @Sendable func changePassword(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let body = try await JSONBody.decode(ChangePassword.self, from: request, limit: bodyLimit)
        try Self.checkPassword(body.currentPassword, field: "current_password")
        try Self.checkPassword(body.newPassword, field: "new_password")
        try await auth.changePassword(context.identity, current: body.currentPassword, new: body.newPassword, origin: context.origin)
        return Response(status: .noContent)
    }
}
