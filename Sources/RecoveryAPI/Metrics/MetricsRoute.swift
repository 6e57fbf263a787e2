import Hummingbird
import RecoveryCore

/// `GET /metrics` (outside the API base, where Prometheus looks): readable
/// without a token from loopback and from `metrics.allowed_addresses`;
/// from anywhere else it needs a staff token whose role carries
/// `appliance.operate`, as its API routes would.
struct MetricsRoute {
    let appliance: Appliance
    let realtime: Realtime?
    let authenticator: Authenticator

    static let path = "/metrics"
    static let access = Access.staff(.applianceOperate)

    func add(to router: Router<AppRequestContext>) {
        router.get(RouterPath(Self.path)) { request, context in
            if !allowsWithoutToken(context) {
                _ = try await authenticator.identity(for: request, context: context, route: Self.path, access: Self.access)
            }
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers,
                            body: .init(byteBuffer: ByteBuffer(string: await ApplianceMetrics.scrape(appliance, realtime: realtime))))
        }
    }

    func allowsWithoutToken(_ context: AppRequestContext) -> Bool {
        guard let address = context.clientAddress.flatMap({ IPAddress($0) }) else { return false }
        return address.isLoopback || appliance.settings.metricsAllowedAddresses.contains { $0.contains(address) }
    }
}
