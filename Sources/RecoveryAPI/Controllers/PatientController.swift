import Foundation
import Hummingbird
import RecoveryCore

/// `/api/v1/patients`: intake, registration keys, the record, its dashboard,
/// care team, restriction and emergency access. Every route names its
/// permission; `AccessPolicy` decides in the core services which patients it
/// reaches. Patients get 403 here.
struct PatientController {
    let appliance: Appliance

    var intake: PatientIntake { PatientIntake(appliance: appliance) }
    var directory: PatientDirectory { PatientDirectory(appliance: appliance) }
    var careTeam: CareTeam { CareTeam(appliance: appliance) }
    var emergency: EmergencyAccess { EmergencyAccess(appliance: appliance) }
    var limit: Int { appliance.settings.maxBodyBytes }

    var endpoints: [Endpoint] {
        [
            Endpoint(.post, "/api/v1/patients", access: .staff(.patientsCreate), handler: create),
            Endpoint(.get, "/api/v1/patients", access: .staff(.patientsReadDemographics), handler: list),
            Endpoint(.get, "/api/v1/patients/{id}", access: .staff(.patientsReadDemographics), handler: show),
            Endpoint(.patch, "/api/v1/patients/{id}", access: .staff(.patientsUpdate), handler: update),
            Endpoint(.delete, "/api/v1/patients/{id}", access: .staff(.patientsDelete), handler: delete),
            Endpoint(.post, "/api/v1/patients/{id}/restore", access: .staff(.patientsRestore), handler: restore),
            Endpoint(.get, "/api/v1/patients/{id}/dashboard", access: .staff(.patientsReadClinical), handler: dashboard),
            Endpoint(.post, "/api/v1/patients/{id}/sobriety-reset", access: .staff(.patientsUpdate), handler: resetSobriety),
            Endpoint(.get, "/api/v1/patients/{id}/care-team", access: .staff(.patientsReadDemographics), handler: listCareTeam),
            Endpoint(.post, "/api/v1/patients/{id}/care-team", access: .staff(.careTeamManage), handler: assign),
            Endpoint(.delete, "/api/v1/patients/{id}/care-team/{assignment_id}", access: .staff(.careTeamManage), handler: endAssignment),
            Endpoint(.post, "/api/v1/patients/{id}/access-grants", access: .staff(.patientsRestrict), handler: grantAccess),
            Endpoint(.delete, "/api/v1/patients/{id}/access-grants/{staff_id}", access: .staff(.patientsRestrict), handler: revokeAccess),
            Endpoint(.post, "/api/v1/patients/{id}/emergency-access", access: .staff(.emergencyAccess), handler: emergencyAccess),
            Endpoint(.post, "/api/v1/patients/{id}/registration-key", access: .staff(.registrationKeysManage), handler: regenerateKey),
            Endpoint(.delete, "/api/v1/patients/{id}/registration-key", access: .staff(.registrationKeysManage), handler: revokeKey),
        ]
    }

    // MARK: Bodies and views

    struct CreatePatient: Decodable {
        var facilityId: String?
        var firstName: String
        var lastName: String
        var dateOfBirth: String
        var email: String?
        var phone: String?
        var program: String?
        var levelOfCare: String?
        var admissionDate: String?
        var sobrietyDate: String?
    }

    struct UpdatePatient: Decodable {
        var firstName: String?
        var lastName: String?
        var dateOfBirth: String?
        var email: String?
        var phone: String?
        var program: String?
        var status: String?
        var levelOfCare: String?
        var levelOfCareReason: String?
        var admissionDate: String?
        var dischargeDate: String?
        var isRestricted: Bool?
    }

    struct SobrietyReset: Decodable { var sobrietyDate: String; var reason: String? }
    struct Assignment: Decodable { var staffId: String; var role: String; var startsOn: String? }
    struct Grant: Decodable { var staffId: String }
    struct Emergency: Decodable { var reason: String }

    struct PatientView: Encodable {
        /// The same object as the Encodable form, written directly (hot path).
        func write(to out: inout JSONOutput) {
            out.object { o in
                o.field("id", id); o.field("facility_id", facilityId); o.field("patient_number", patientNumber)
                o.field("first_name", firstName); o.field("last_name", lastName); o.field("date_of_birth", dateOfBirth)
                if let email { o.field("email", email) }
                if let phone { o.field("phone", phone) }
                if let program { o.field("program", program) }
                if let levelOfCare { o.field("level_of_care", levelOfCare) }
                o.field("status", status)
                if let admissionDate { o.field("admission_date", admissionDate) }
                if let sobrietyDate { o.field("sobriety_date", sobrietyDate) }
                o.field("registered", registered); o.field("created_at", createdAt)
            }
        }

        var id: String, facilityId: String, patientNumber: String, firstName: String, lastName: String, dateOfBirth: String
        var email: String?, phone: String?, program: String?, levelOfCare: String?, status: String
        var admissionDate: String?, sobrietyDate: String?, registered: Bool, createdAt: String

        init(_ record: PatientRecord) {
            id = record.id; facilityId = record.facilityID; patientNumber = record.patientNumber
            firstName = record.firstName; lastName = record.lastName; dateOfBirth = record.dateOfBirth
            email = record.email; phone = record.phone; program = record.program; levelOfCare = record.levelOfCare
            status = record.status; admissionDate = record.admissionDate; sobrietyDate = record.sobrietyDate
            registered = record.registered; createdAt = record.createdAt
        }
    }

    /// The detail view: always every key, null where there is no value.
    struct DetailView: Encodable {
        var patient: PatientView
        var isRestricted: Bool
        var dischargeDate: String?
        var daysSober: Int?
        var lengthOfStayDays: Int?

        init(_ detail: PatientDirectory.Detail) {
            patient = PatientView(detail.record)
            isRestricted = detail.isRestricted
            dischargeDate = detail.dischargeDate
            daysSober = detail.daysSober
            lengthOfStayDays = detail.lengthOfStayDays
        }

        enum CodingKeys: String, CodingKey { case patient, isRestricted, dischargeDate, daysSober, lengthOfStayDays }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(patient, forKey: .patient)
            try c.encode(isRestricted, forKey: .isRestricted)
            try c.encode(dischargeDate, forKey: .dischargeDate)
            try c.encode(daysSober, forKey: .daysSober)
            try c.encode(lengthOfStayDays, forKey: .lengthOfStayDays)
        }
    }

    struct DashboardView: Encodable {
        struct Point: Encodable { var date: String; var mood: Int }
        struct Goals: Encodable { var active: Int; var completed: Int }
        struct LatestCheckIn: Encodable { var at: String; var mood: Int? }
        struct Risk: Encodable { var score: Double; var level: String? }
        var patientId: String, status: String, levelOfCare: String?, daysSober: Int?
        var latestCheckIn: LatestCheckIn?
        var averageMood7d: Double?, averageCraving7d: Double?, checkIns7d: Int
        var moodTrend: [Point]
        var cravingsThisWeek: Int
        var goals: Goals
        var meetings30d: Int
        var medicationAdherence: Double?
        var openFlags: Int, openCrisisAlerts: Int
        var risk: Risk?

        init(_ d: PatientDashboard) {
            patientId = d.patientID; status = d.status; levelOfCare = d.levelOfCare; daysSober = d.daysSober
            latestCheckIn = d.lastCheckInAt.map { LatestCheckIn(at: $0, mood: d.latestMood) }
            averageMood7d = d.averageMood7Days; averageCraving7d = d.averageCraving7Days; checkIns7d = d.checkIns7Days
            moodTrend = d.moodTrend.map { Point(date: $0.date, mood: $0.mood) }
            cravingsThisWeek = d.cravingsThisWeek; goals = Goals(active: d.activeGoals, completed: d.completedGoals)
            meetings30d = d.meetings30Days; medicationAdherence = d.medicationAdherence
            openFlags = d.openFlags; openCrisisAlerts = d.openCrisisAlerts
            risk = d.riskScore.map { Risk(score: $0, level: d.riskLevel) }
        }

        enum CodingKeys: String, CodingKey {
            case patientId, status, levelOfCare, daysSober, latestCheckIn, averageMood7d, averageCraving7d, checkIns7d, moodTrend
            case cravingsThisWeek, goals, meetings30d, medicationAdherence, openFlags, openCrisisAlerts, risk
        }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(patientId, forKey: .patientId); try c.encode(status, forKey: .status)
            try c.encode(levelOfCare, forKey: .levelOfCare); try c.encode(daysSober, forKey: .daysSober)
            try c.encode(latestCheckIn, forKey: .latestCheckIn); try c.encode(averageMood7d, forKey: .averageMood7d)
            try c.encode(averageCraving7d, forKey: .averageCraving7d); try c.encode(checkIns7d, forKey: .checkIns7d)
            try c.encode(moodTrend, forKey: .moodTrend); try c.encode(cravingsThisWeek, forKey: .cravingsThisWeek)
            try c.encode(goals, forKey: .goals); try c.encode(meetings30d, forKey: .meetings30d)
            try c.encode(medicationAdherence, forKey: .medicationAdherence); try c.encode(openFlags, forKey: .openFlags)
            try c.encode(openCrisisAlerts, forKey: .openCrisisAlerts); try c.encode(risk, forKey: .risk)
        }
    }

    struct MemberView: Encodable {
        var assignmentId: String, staffId: String, firstName: String, lastName: String, staffRole: String
        var role: String, startsOn: String, endsOn: String?, endedAt: String?
        init(_ m: CareTeam.Member) {
            assignmentId = m.assignmentID; staffId = m.staffID; firstName = m.firstName; lastName = m.lastName
            staffRole = m.staffRole; role = m.role; startsOn = m.startsOn; endsOn = m.endsOn; endedAt = m.endedAt
        }
    }

    struct CareTeamView: Encodable { var data: [MemberView] }
    /// The new key, once, with its QR code for the printed slip (drawn for this answer only, never kept).
    struct Created: Encodable { var patient: PatientView; var registrationKey: String; var registrationKeyQrSvg: String; var keyExpiresAt: String }
    struct KeyIssued: Encodable { var registrationKey: String; var registrationKeyQrSvg: String; var keyExpiresAt: String }

    static func keySlipQRCode(_ key: String) throws -> String {
        try QRCodeSVG.svg(for: key, title: "Registration key QR code")
    }
    struct EmergencyGranted: Encodable { var expiresAt: String }

    // MARK: Handlers

    @Sendable func create(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let body = try await JSONBody.decode(CreatePatient.self, from: request, limit: limit)
        let fields = PatientIntake.Request(
            firstName: body.firstName, lastName: body.lastName, dateOfBirth: body.dateOfBirth, email: body.email, phone: body.phone,
            program: body.program, levelOfCare: body.levelOfCare, admissionDate: body.admissionDate, sobrietyDate: body.sobrietyDate)
        let created = try await intake.create(fields, by: context.identity, facility: body.facilityId, origin: context.origin)
        return try JSONBody.response(Created(patient: PatientView(created.patient), registrationKey: created.key.key,
                                             registrationKeyQrSvg: try Self.keySlipQRCode(created.key.key),
                                             keyExpiresAt: created.key.expiresAt), status: .created)
    }

    @Sendable func list(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let q = Query(request: request)
        var query = PatientDirectory.ListQuery()
        query.page = try q.integer("page", default: 1, range: 1...100_000)
        query.limit = try q.integer("limit", default: 20, range: 1...100)
        query.status = try q.oneOf("status", PatientDirectory.statuses)
        query.counselorID = try q.uuid("counselor_id")
        query.program = try q.string("program", maxLength: 100)
        query.admittedFrom = try q.date("admitted_from")
        query.admittedTo = try q.date("admitted_to")
        query.search = try q.string("search", maxLength: 200)
        let page = try await directory.list(context.identity, query, origin: context.origin)
        var out = JSONOutput(capacity: 512 * page.items.count + 128)
        out.object { o in
            o.key("data")
            o.array { a in for record in page.items { PatientView(record).write(to: &a) } }
            o.key("pagination")
            o.object { p in
                p.field("page", page.page); p.field("limit", page.limit); p.field("total", page.total)
                p.field("total_pages", page.total == 0 ? 0 : (page.total + page.limit - 1) / page.limit)
            }
        }
        return out.response()
    }

    @Sendable func show(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        return try JSONBody.response(DetailView(try await directory.detail(context.identity, patientID: id, origin: context.origin)))
    }

    @Sendable func update(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        try await context.reachFirst(patient: id, .patientsUpdate, action: "patient.update", appliance)
        let body = try await JSONBody.decode(UpdatePatient.self, from: request, limit: limit)
        var changes = PatientDirectory.Changes()
        changes.firstName = body.firstName; changes.lastName = body.lastName; changes.dateOfBirth = body.dateOfBirth
        changes.email = body.email; changes.phone = body.phone; changes.program = body.program; changes.status = body.status
        changes.levelOfCare = body.levelOfCare; changes.levelOfCareReason = body.levelOfCareReason
        changes.admissionDate = body.admissionDate; changes.dischargeDate = body.dischargeDate; changes.isRestricted = body.isRestricted
        let problems = PatientDirectory.problems(changes)
        if !problems.isEmpty { throw APIError.validation(problems.map { .init(field: $0.field, issue: $0.issue) }) }
        return try JSONBody.response(DetailView(try await directory.update(context.identity, patientID: id, changes: changes, origin: context.origin)))
    }

    @Sendable func delete(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        try await directory.delete(context.identity, patientID: id, origin: context.origin)
        return Response(status: .noContent)
    }

    @Sendable func restore(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        return try JSONBody.response(DetailView(try await directory.restore(context.identity, patientID: id, origin: context.origin)))
    }

    @Sendable func dashboard(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        return try JSONBody.response(DashboardView(try await directory.dashboard(context.identity, patientID: id, origin: context.origin)))
    }

    @Sendable func resetSobriety(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        try await context.reachFirst(patient: id, .patientsUpdate, action: "patient.sobriety_reset", appliance)
        let body = try await JSONBody.decode(SobrietyReset.self, from: request, limit: limit)
        var problems: [APIError.Detail] = []
        if !CalendarDate.isValid(body.sobrietyDate) {
            problems.append(.init(field: "sobriety_date", issue: "must be a real date as YYYY-MM-DD"))
        } else if body.sobrietyDate > String(Timestamp.now().prefix(10)) {
            problems.append(.init(field: "sobriety_date", issue: "must not be in the future"))
        }
        if let reason = body.reason, reason.count > 500 { problems.append(.init(field: "reason", issue: "must be at most 500 characters")) }
        if !problems.isEmpty { throw APIError.validation(problems) }
        return try JSONBody.response(DetailView(try await directory.resetSobriety(context.identity, patientID: id, date: body.sobrietyDate,
                                                                                  reason: body.reason, origin: context.origin)))
    }

    @Sendable func listCareTeam(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        let members = try await careTeam.members(context.identity, patientID: id, origin: context.origin)
        return try JSONBody.response(CareTeamView(data: members.map(MemberView.init)))
    }

    @Sendable func assign(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        try await context.reachFirst(patient: id, .careTeamManage, action: "care_team.assign", appliance)
        let body = try await JSONBody.decode(Assignment.self, from: request, limit: limit)
        guard let staffID = UUID(uuidString: body.staffId)?.uuidString.lowercased() else { throw APIError.validation(field: "staff_id", "must be a UUID") }
        let members = try await careTeam.assign(context.identity, patientID: id, staffID: staffID, role: body.role,
                                                startsOn: body.startsOn, origin: context.origin)
        return try JSONBody.response(CareTeamView(data: members.map(MemberView.init)), status: .created)
    }

    @Sendable func endAssignment(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        let assignment = try request.uuidParameter("assignment_id", context: context.request)
        try await careTeam.end(context.identity, patientID: id, assignmentID: assignment, origin: context.origin)
        return Response(status: .noContent)
    }

    @Sendable func grantAccess(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        try await context.reachFirst(patient: id, .patientsRestrict, action: "patient.access_grant", appliance)
        let body = try await JSONBody.decode(Grant.self, from: request, limit: limit)
        guard let staffID = UUID(uuidString: body.staffId)?.uuidString.lowercased() else { throw APIError.validation(field: "staff_id", "must be a UUID") }
        try await careTeam.grantNamedAccess(context.identity, patientID: id, staffID: staffID, origin: context.origin)
        return Response(status: .noContent)
    }

    @Sendable func revokeAccess(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        let staffID = try request.uuidParameter("staff_id", context: context.request)
        try await careTeam.revokeNamedAccess(context.identity, patientID: id, staffID: staffID, origin: context.origin)
        return Response(status: .noContent)
    }

    @Sendable func emergencyAccess(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let id = try request.uuidParameter("id", context: context.request)
        try await context.reachFirst(patient: id, .emergencyAccess, action: "patient.emergency_access", appliance)
        let body = try await JSONBody.decode(Emergency.self, from: request, limit: limit)
        let expires = try await emergency.grant(context.identity, patientID: id, reason: body.reason, origin: context.origin)
        return try JSONBody.response(EmergencyGranted(expiresAt: expires), status: .created)
    }

    @Sendable func regenerateKey(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let patientID = try request.uuidParameter("id", context: context.request)
        let key = try await intake.regenerateKey(context.identity, patientID: patientID, origin: context.origin)
        return try JSONBody.response(KeyIssued(registrationKey: key.key, registrationKeyQrSvg: try Self.keySlipQRCode(key.key),
                                               keyExpiresAt: key.expiresAt), status: .created)
    }

    @Sendable func revokeKey(_ request: Request, _ context: AuthenticatedContext) async throws -> Response {
        let patientID = try request.uuidParameter("id", context: context.request)
        try await intake.revokeKey(context.identity, patientID: patientID, origin: context.origin)
        return Response(status: .noContent)
    }
}
