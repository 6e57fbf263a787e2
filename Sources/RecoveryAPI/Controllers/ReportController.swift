import Foundation
import Hummingbird
import NIOCore
import RecoveryCore
import Synchronization

/// The PDF reports: a patient's progress report for a case review and a
/// facility's monthly report. The data is read (and the download audited)
/// first; the document is then drawn on a thread of its own (one per core at
/// a time; more downloads wait their turn) and streamed as cairo writes it, a
/// few chunks ahead of the client at most.
struct ReportController {
    let appliance: Appliance

    var endpoints: [Endpoint] {
        [
            Endpoint(.get, "/api/v1/patients/{id}/reports/progress.pdf", access: .staff(.patientsReadClinical), handler: progress),
            Endpoint(.get, "/api/v1/facilities/{id}/reports/monthly.pdf", access: .staff(.facilityReports), handler: monthly),
        ]
    }

    /// `from`, `to` (dates; default the 30 days up to today, UTC), `consent_id` (a release under that consent).
    @Sendable func progress(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        try await context.reachFirst(patient: id, .patientsReadClinical, action: "report.progress", appliance)
        let query = Query(request: request)
        let (from, to) = try AnalyticsController.period(query)
        let end = to ?? CalendarDate.today(in: "UTC")
        let start = from ?? CalendarDate.string(julianDay: CalendarDate.julianDay(end)! - 29)
        if start > end { throw APIError.validation(field: "from", "must not be after today's date when to is not given") }
        if CalendarDate.days(from: start, to: end)! >= ProgressReport.maxDays {
            throw APIError.validation(field: "to", "must be within \(ProgressReport.maxDays) days of from")
        }
        let consentID = try query.uuid("consent_id")
        let report = try await Reports(appliance: appliance).progress(context.identity, patientID: id, from: start, to: end, consentID: consentID,
                                                                      origin: context.origin)
        return pdf(filename: "progress-report-\(start)-\(end).pdf", title: "Progress report \(start) to \(end)") { report.draw(on: $0) }
    }

    /// `month` (YYYY-MM, required).
    @Sendable func monthly(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        try await FacilityAnalytics(appliance: appliance).authorize("report.monthly", context.identity, facilityID: id, origin: context.origin)
        guard let month = try Query(request: request).string("month", maxLength: 7) else { throw APIError.validation(field: "month", "is required (YYYY-MM)") }
        guard MonthlyReport.days(of: month) != nil else { throw APIError.validation(field: "month", "must be a month as YYYY-MM") }
        let report = try await Reports(appliance: appliance).monthly(context.identity, facilityID: id, month: month, origin: context.origin)
        return pdf(filename: "monthly-report-\(month).pdf", title: "Monthly report \(month)") { report.draw(on: $0) }
    }

    /// Chunks of this size leave the drawing thread; at most `aheadChunks` wait for the client.
    static let chunkBytes = 65_536, aheadChunks = 4
    /// A client that takes no chunk for this long loses its download, so it cannot keep a drawing turn.
    static let stallLimit = DispatchTimeInterval.seconds(30)

    func pdf(filename: String, title: String, _ draw: @escaping @Sendable (PDFCanvas) -> Bool) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/pdf"
        headers[.contentDisposition] = "attachment; filename=\"\(filename)\""
        headers[.cacheControl] = "no-store"
        return Response(status: .ok, headers: headers, body: Self.pdfBody(drawings: appliance.reportDrawings, title: title, draw: draw))
    }

    /// The document drawn on a thread of its own once a drawing turn is free, streamed as cairo writes it. The
    /// thread waits while `aheadChunks` are unread and gives up (freeing its turn) after `stallLimit`; a download
    /// that stops early ends with an error, never as a complete file.
    static func pdfBody(drawings: ConcurrencyLimit, title: String, stallLimit: DispatchTimeInterval = ReportController.stallLimit,
                        draw: @escaping @Sendable (PDFCanvas) -> Bool) -> ResponseBody {
        ResponseBody { writer in
            await drawings.enter()
            let (chunks, continuation) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
            let room = DispatchSemaphore(value: aheadChunks)
            let readerGone = ReaderGone()
            Thread.detachNewThread {
                defer { drawings.leave() }
                var pending: [UInt8] = []
                pending.reserveCapacity(chunkBytes)
                func send() -> Bool {
                    guard room.wait(timeout: .now() + stallLimit) == .success, !readerGone.value.withLock({ $0 }) else { return false }
                    continuation.yield(ByteBuffer(bytes: pending))
                    pending.removeAll(keepingCapacity: true)
                    return true
                }
                let canvas = PDFCanvas(title: title) { bytes in
                    pending.append(contentsOf: bytes)
                    return pending.count < chunkBytes || send()
                }
                if draw(canvas), pending.isEmpty || send() { continuation.finish() }
                else { continuation.finish(throwing: ReportStopped()) }
            }
            defer {
                readerGone.value.withLock { $0 = true }
                for _ in 0...aheadChunks { room.signal() }
            }
            for try await chunk in chunks {
                try await writer.write(chunk)
                room.signal()
            }
            try Task.checkCancellation()
            try await writer.finish(nil)
        }
    }
}

/// A report's drawing stopped before its end (its client stopped reading).
struct ReportStopped: Error {}

/// Set when the client stops reading a streamed report, so its drawing stops too.
final class ReaderGone: Sendable {
    let value = Mutex(false)
}
