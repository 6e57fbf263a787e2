import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import HummingbirdWebSocket
import Logging
import RecoveryCore

/// Every endpoint the server answers. The one place controllers are listed.
public func allEndpoints(_ appliance: Appliance) -> [Endpoint] {
    let auth = AuthService(appliance: appliance)
    let controllers: [[Endpoint]] = [
        HealthController(appliance: appliance).endpoints,
        OpenAPIController().endpoints,
        AsyncAPIController().endpoints,
        AuthController(auth: auth, settings: appliance.settings).endpoints,
        PatientController(appliance: appliance).endpoints,
        StaffController(appliance: appliance).endpoints,
        FacilityController(appliance: appliance).endpoints,
        AuditController(appliance: appliance).endpoints,
        SyncController(appliance: appliance).endpoints,
        MyRecordsController(appliance: appliance).endpoints,
        PatientRecordsController(appliance: appliance).endpoints,
        FacilityCatalogueController(appliance: appliance).endpoints,
        EmergencyAccessController(appliance: appliance).endpoints,
        MessagingController(appliance: appliance).endpoints,
        CrisisController(appliance: appliance).endpoints,
        AnnouncementController(appliance: appliance).endpoints,
        BackupsController(appliance: appliance).endpoints,
        AssessmentController(appliance: appliance).endpoints,
        TreatmentPlanController(appliance: appliance).endpoints,
        ConsentController(appliance: appliance).endpoints,
        DocumentController(appliance: appliance).endpoints,
        AnalyticsController(appliance: appliance).endpoints,
        ReportController(appliance: appliance).endpoints,
        FederationController(appliance: appliance, transport: FederationHTTP.transport).endpoints,
    ]
    return controllers.flatMap { $0 }
}

/// The router with the middleware chain (outermost first): client address,
/// request id, access log, request metrics, security headers (with HSTS when `https`), CORS,
/// error envelope, disk space (writes refused while the disk is nearly full), body limit. With `realtime`, also Socket.IO's long-polling
/// transport at `/socket.io/` (a transport, not an API route: the AsyncAPI
/// document describes what travels over it). `GET /metrics` is outside the
/// API too (`MetricsRoute`), and so is the staff console's static files at `/`
/// and `/console/` (`ConsoleFiles`).
public func buildRouter(_ appliance: Appliance, https: Bool = false, realtime: Realtime? = nil) -> Router<AppRequestContext> {
    let catalog = RouteCatalog(allEndpoints(appliance))
    let authenticator = Authenticator(auth: AuthService(appliance: appliance), appliance: appliance)
    let router = Router(context: AppRequestContext.self)
    router.add(middleware: ClientAddressMiddleware(proxies: TrustedProxies(appliance.settings.trustedProxies)))
    router.add(middleware: RequestIDMiddleware())
    router.add(middleware: AccessLogMiddleware())
    router.add(middleware: MetricsMiddleware())
    router.add(middleware: SecurityHeadersMiddleware(https: https))
    router.add(middleware: AllowedOriginsMiddleware(origins: Set(appliance.settings.corsOrigins)))
    router.add(middleware: ErrorMiddleware(catalog: catalog))
    router.add(middleware: DiskSpaceMiddleware(diskSpace: appliance.diskSpace))
    router.add(middleware: BodyLimitMiddleware(limit: appliance.settings.maxBodyBytes, documentLimit: appliance.settings.documentsMaxBytes,
                                               documentUploadLimit: DocumentController.uploadLimit(appliance.settings)))
    realtime?.io.addPollingRoutes(to: router)
    MetricsRoute(appliance: appliance, realtime: realtime, authenticator: authenticator).add(to: router)
    ConsoleFiles(settings: appliance.settings).add(to: router)
    for endpoint in catalog.endpoints {
        router.on(RouterPath(endpoint.routerPath), method: endpoint.method) { request, context in
            let identity = try await authenticator.identity(for: request, context: context, route: endpoint.path, access: endpoint.access)
            return try await endpoint.run(request, context, identity)
        }
    }
    return router
}

/// The application on the configured host and port: HTTPS with `tls`, else
/// plain HTTP; HTTP/1.1 with the WebSocket upgrade of Socket.IO's transport.
public func buildApplication(_ appliance: Appliance, tls: TLSConfiguration?, realtime: Realtime, logger: Logger) throws -> some ApplicationProtocol {
    let http = UpgradableHTTPChannel.builder { request, channel, logger in realtime.upgrade(request, channel, logger) }
    return Application(
        router: buildRouter(appliance, https: tls != nil, realtime: realtime),
        server: try tls.map { try .tls(http, tlsConfiguration: $0) } ?? http,
        configuration: .init(address: .hostname(appliance.settings.serverHost, port: appliance.settings.serverPort),
                             serverName: nil),
        logger: logger)
}
