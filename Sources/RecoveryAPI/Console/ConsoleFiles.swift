import Hummingbird
import RecoveryCore

/// The staff console: plain HTML, CSS and JavaScript modules compiled into the
/// binary (Sources/RecoveryAPI/Console), served at `/` and `/console/<file>`
/// to the clinic's browsers. They are public static files, outside the API
/// and its OpenAPI document: they hold no data, and every piece of data the
/// console shows comes from the API under its own access checks.
///
/// Each file is declared here once, as data. Pages run under a strict
/// Content-Security-Policy: only this origin's scripts, styles and
/// connections, no inline script or style, never framed.
struct ConsoleFiles: Sendable {
    static let contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        + "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

    /// Where index.html says how long a staff session may stay idle (the console signs out then).
    static let idleMinutesPlaceholder = "{{STAFF_IDLE_MINUTES}}"

    let files: [ConsoleFile]

    init(settings: Settings) {
        let index = String(decoding: PackageResources.index_html, as: UTF8.self)
            .replacingOccurrences(of: Self.idleMinutesPlaceholder, with: String(settings.staffIdleTimeoutMinutes))
        let html = "text/html; charset=utf-8", css = "text/css; charset=utf-8", js = "text/javascript; charset=utf-8"
        let svg = "image/svg+xml"
        files = [
            ConsoleFile(path: "/", contentType: html, bytes: Array(index.utf8)),
            ConsoleFile(path: "/console/console.css", contentType: css, bytes: PackageResources.console_css),
            ConsoleFile(path: "/console/app.js", contentType: js, bytes: PackageResources.app_js),
            ConsoleFile(path: "/console/api.js", contentType: js, bytes: PackageResources.api_js),
            ConsoleFile(path: "/console/dom.js", contentType: js, bytes: PackageResources.dom_js),
            ConsoleFile(path: "/console/realtime.js", contentType: js, bytes: PackageResources.realtime_js),
            ConsoleFile(path: "/console/charts.js", contentType: js, bytes: PackageResources.charts_js),
            ConsoleFile(path: "/console/signin.js", contentType: js, bytes: PackageResources.signin_js),
            ConsoleFile(path: "/console/patients.js", contentType: js, bytes: PackageResources.patients_js),
            ConsoleFile(path: "/console/dashboard.js", contentType: js, bytes: PackageResources.dashboard_js),
            ConsoleFile(path: "/console/messages.js", contentType: js, bytes: PackageResources.messages_js),
            ConsoleFile(path: "/console/crisis.js", contentType: js, bytes: PackageResources.crisis_js),
            ConsoleFile(path: "/console/operations.js", contentType: js, bytes: PackageResources.operations_js),
            ConsoleFile(path: "/console/clinical.js", contentType: js, bytes: PackageResources.clinical_js),
            ConsoleFile(path: "/console/plans.js", contentType: js, bytes: PackageResources.plans_js),
            ConsoleFile(path: "/console/assessments.js", contentType: js, bytes: PackageResources.assessments_js),
            ConsoleFile(path: "/console/consents.js", contentType: js, bytes: PackageResources.consents_js),
            ConsoleFile(path: "/console/insights.js", contentType: js, bytes: PackageResources.insights_js),
            ConsoleFile(path: "/console/threads.js", contentType: js, bytes: PackageResources.threads_js),
            ConsoleFile(path: "/console/favicon.svg", contentType: svg, bytes: PackageResources.favicon_svg),
        ]
    }

    /// Every file as a GET route. A request whose `If-None-Match` names the
    /// current version answers 304 without the bytes.
    func add(to router: Router<AppRequestContext>) {
        for file in files {
            router.get(RouterPath(file.path)) { request, _ in
                var headers = HTTPFields()
                headers[.contentSecurityPolicy] = Self.contentSecurityPolicy
                headers[.cacheControl] = "no-cache"
                headers[.eTag] = file.etag
                if file.matches(ifNoneMatch: request.headers[.ifNoneMatch]) {
                    return Response(status: .notModified, headers: headers)
                }
                headers[.contentType] = file.contentType
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: file.bytes)))
            }
        }
    }
}
