import Foundation
import HTTPTypes
import Hummingbird
import RecoveryCore

/// Who may call an endpoint. Every endpoint declares one; there is no default.
/// A staff route names the permission it needs; whether the role carries it
/// is `AccessPolicy`'s answer, and which records it reaches is decided again
/// by the policy in the core.
public enum Access: Sendable, Equatable {
    /// Anyone, without a token (health, the OpenAPI document, login).
    case `public`
    /// Any signed-in staff member or patient.
    case authenticated
    /// Staff whose role carries this permission.
    case staff(Permission)
    /// Any signed-in staff member, on their own account (e.g. setting up a second factor).
    case ownStaffAccount
    /// Patients only: their own records.
    case patient

    /// The refusal for `identity`, or nil when it may call the route.
    func refusal(for identity: Identity) -> AccessError? {
        switch self {
        case .public, .authenticated: return nil
        case .patient: return identity.kind == .patient ? nil : .staffOnly
        case .ownStaffAccount: return identity.kind == .staff ? nil : .patientsOnly
        case .staff(let permission):
            do { try AccessPolicy.require(identity, permission) } catch let error as AccessError { return error } catch { return .forbidden(permission) }
            return nil
        }
    }

    /// The permission a staff route needs.
    public var permission: Permission? {
        if case .staff(let permission) = self { return permission }
        return nil
    }
}

/// A request that passed authentication: it cannot be made without an identity.
public struct AuthenticatedContext: Sendable {
    public let request: AppRequestContext
    public let identity: Identity

    /// Address, request id and device, for audit entries and sessions.
    public let origin: RequestOrigin
}

/// One route, declared as data: method, path template in OpenAPI form
/// (`/api/v1/patients/{id}`), the access it requires, and its handler.
/// Declaring routes this way lets tests compare the running routes with the
/// OpenAPI document and check that every route states its access rule.
public struct Endpoint: Sendable {
    typealias Run = @Sendable (Request, AppRequestContext, Identity?) async throws -> Response

    public let method: HTTPRequest.Method
    public let path: String
    public let access: Access
    let run: Run

    /// A public endpoint: its handler sees no identity.
    public init(_ method: HTTPRequest.Method, _ path: String, public handler: @escaping @Sendable (Request, AppRequestContext) async throws -> Response) {
        self.method = method
        self.path = path
        self.access = .public
        self.run = { request, context, _ in try await handler(request, context) }
    }

    /// An endpoint behind authentication and `access`.
    public init(_ method: HTTPRequest.Method, _ path: String, access: Access,
                handler: @escaping @Sendable (Request, AuthenticatedContext) async throws -> Response) {
        precondition(access != .public, "use init(_:_:public:) for public endpoints")
        self.method = method
        self.path = path
        self.access = access
        self.run = { request, context, identity in
            guard let identity else { throw APIError.unauthenticated }
            return try await handler(request, AuthenticatedContext(request: context, identity: identity, origin: context.origin(request)))
        }
    }

    /// The path in Hummingbird's router syntax: `{id}` becomes `:id`.
    var routerPath: String {
        path.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            segment.hasPrefix("{") && segment.hasSuffix("}") ? ":" + segment.dropFirst().dropLast() : segment
        }.joined(separator: "/")
    }
}

/// Every endpoint the server answers, for 405 answers and contract tests.
public struct RouteCatalog: Sendable {
    public let endpoints: [Endpoint]

    public init(_ endpoints: [Endpoint]) {
        self.endpoints = endpoints
    }

    /// Methods registered for a concrete request path, e.g. for `Allow`.
    public func methods(matching path: String) -> [HTTPRequest.Method] {
        let segments = Self.segments(path)
        return endpoints.filter { endpoint in
            let template = Self.segments(endpoint.path)
            guard template.count == segments.count else { return false }
            return zip(template, segments).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
        }.map(\.method)
    }

    static func segments(_ path: String) -> [Substring] {
        path.split(separator: "/")
    }
}

extension AppRequestContext {
    /// Where this request came from (address, request id, user agent).
    func origin(_ request: Request) -> RequestOrigin {
        RequestOrigin(ipAddress: clientAddress, requestID: requestID, device: request.headers[.userAgent])
    }
}

extension Request {
    /// A path parameter that must be a UUID; anything else is a 404, as an
    /// id that does not exist would be.
    func uuidParameter(_ name: String, context: AppRequestContext) throws -> String {
        guard let value = context.parameters.get(name), let uuid = UUID(uuidString: value) else {
            throw APIError.notFound()
        }
        return uuid.uuidString.lowercased()
    }
}

