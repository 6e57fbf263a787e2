import CSodium
import Foundation
import GRDB
import Synchronization
import Testing
@testable import RecoveryCore

@Suite struct FederationSigningTests {
    @Test func aSignatureVerifiesOnlyForItsKeyAndItsBytes() {
        let key = SigningKey.generate(), other = SigningKey.generate()
        let message = Array(#"{"a":1}"#.utf8)
        let signature = key.sign(message)
        #expect(signature.count == 64)
        #expect(SigningKey.verify(signature, of: message, publicKey: key.publicKey))
        #expect(!SigningKey.verify(signature, of: Array(#"{"a":2}"#.utf8), publicKey: key.publicKey))
        #expect(!SigningKey.verify(signature, of: message, publicKey: other.publicKey))
        var flipped = signature
        flipped[3] ^= 1
        #expect(!SigningKey.verify(flipped, of: message, publicKey: key.publicKey))
    }

    @Test func theSealedKeyOpensOnlyWithItsMasterKeyAndRow() throws {
        let seal = SigningKeySeal(masterKey: fixedKey)
        let key = SigningKey.generate()
        let sealed = seal.seal(key, rowID: "row-1")
        #expect(!sealed.contains(text: String(decoding: key.seed, as: UTF8.self)))
        #expect(try seal.open(sealed, rowID: "row-1").publicKey == key.publicKey)
        #expect(throws: CryptoError.self) { try seal.open(sealed, rowID: "row-2") }
        #expect(throws: CryptoError.self) { try SigningKeySeal(masterKey: MasterKey.generate()).open(sealed, rowID: "row-1") }
    }

    /// A seal names its key version; one from before key versions
    /// (`nonce | ciphertext + tag`, no header) still opens.
    @Test func aSealNamesItsKeyVersionAndAnOlderSealStillOpens() throws {
        let key = SigningKey.generate()
        let current = SigningKeySeal(masterKey: fixedKey).seal(key, rowID: "row-1")
        #expect(current.count == SigningKeySeal.sealedLength && SigningKeySeal.keyVersion(of: current) == 1)
        let nonce = SecureRandom.bytes(24), ad = Array("federation_identity:row-1".utf8)
        var sealed = [UInt8](repeating: 0, count: SigningKey.seedLength + 16)
        var length: UInt64 = 0
        _ = crypto_aead_xchacha20poly1305_ietf_encrypt(&sealed, &length, key.seed, UInt64(SigningKey.seedLength), ad, UInt64(ad.count), nil,
                                                       nonce, fixedKey.derive(.federationSigning))
        let older = Data(nonce + sealed)
        #expect(SigningKeySeal.keyVersion(of: older) == nil)
        #expect(try SigningKeySeal(masterKey: fixedKey).open(older, rowID: "row-1").publicKey == key.publicKey)
        #expect(throws: CryptoError.self) { try SigningKeySeal(masterKey: fixedKey).open(older, rowID: "row-2") }
    }

    @Test func plainHTTPIsRefusedBeyondLoopbackUnlessAllowed() throws {
        #expect(try CentralAddress.validate("https://central.example.org", allowPlainHTTP: false).host == "central.example.org")
        #expect(try CentralAddress.validate("http://127.0.0.1:3000", allowPlainHTTP: false).port == 3000)
        #expect(try CentralAddress.validate("http://localhost:3000/", allowPlainHTTP: false).host == "localhost")
        #expect(throws: FederationError.plainHTTPRefused) { try CentralAddress.validate("http://10.0.0.5:3000", allowPlainHTTP: false) }
        #expect(throws: FederationError.plainHTTPRefused) { try CentralAddress.validate("http://127.0.0.1.evil.example", allowPlainHTTP: false) }
        #expect(try CentralAddress.validate("http://10.0.0.5:3000", allowPlainHTTP: true).host == "10.0.0.5")
        #expect(throws: FederationError.self) { try CentralAddress.validate("ftp://central.example.org", allowPlainHTTP: true) }
    }
}

@Suite struct FederationSuppressionTests {
    func figures(_ counts: [String: Int], patientsInCare: Int = 0, daysInCare: Int = 0, intensitySum: Int = 0) -> MetricsCatalogue.Figures {
        var f = MetricsCatalogue.Figures()
        for metric in MetricsCatalogue.metrics where metric.kind == .count { f.counts[metric.name] = counts[metric.name] ?? 0 }
        f.patientsInCare = patientsInCare
        f.daysInCare = daysInCare
        f.intensitySum = intensitySum
        return f
    }

    func cells(_ f: MetricsCatalogue.Figures) -> [String: CellValue] {
        Dictionary(uniqueKeysWithValues: Suppression.cells(f).map { ($0.metric, $0.value) })
    }

    @Test func countsOfOneToTenAreSuppressedAndZerosShown() {
        let c = cells(figures(["census": 0, "active_patients": 1, "cravings_logged": 10, "lapses": 11, "crisis_alerts_raised": 250]))
        #expect(c["census"] == .count(0))
        #expect(c["active_patients"] == .suppressed)
        #expect(c["cravings_logged"] == .suppressed)
        #expect(c["lapses"] == .count(11))
        #expect(c["crisis_alerts_raised"] == .count(250))
        #expect(Suppression.cells(figures([:])).count == MetricsCatalogue.metrics.count, "every metric, zeros included")
    }

    @Test func aCohortOfThreeSuppressesItsLinkedCellsAndRates() {
        // Three patients admitted into a census of 40: the censuses and discharges would give admissions back.
        var f = figures(["census": 40, "admissions": 3, "discharges": 12, "check_ins": 3, "cravings_logged": 3],
                        patientsInCare: 40, daysInCare: 250, intensitySum: 21)
        f.openingCensus = 49
        let c = cells(f)
        #expect(c["admissions"] == .suppressed)
        #expect(c["discharges"] == .suppressed, "complementary suppression: a movement, so the census stays shown")
        #expect(c["census"] == .count(40))
        #expect(c["check_in_completion_rate"] == .suppressed, "a rate of a small numerator")
        #expect(c["craving_mean_intensity"] == .suppressed, "a mean of a small count")
        let small = cells(figures(["check_ins": 30], patientsInCare: 3, daysInCare: 21))
        #expect(small["check_in_completion_rate"] == .suppressed, "a rate over a small cohort")
    }

    @Test func largeCellsAreShownWithRatesAndMeans() {
        let c = cells(figures(["census": 20, "admissions": 0, "discharges": 0, "check_ins": 70, "cravings_logged": 12],
                              patientsInCare: 20, daysInCare: 140, intensitySum: 66))
        #expect(c["census"] == .count(20) && c["admissions"] == .count(0))
        #expect(c["check_in_completion_rate"] == .number(50))
        #expect(c["craving_mean_intensity"] == .number(5.5))
        let none = cells(figures([:]))
        #expect(none["check_in_completion_rate"] == CellValue.none && none["craving_mean_intensity"] == CellValue.none)
    }

    @Test func wholeRatesAndMeansSurviveTheCanonicalRoundTrip() throws {
        let c = cells(figures(["census": 20, "admissions": 0, "discharges": 0, "check_ins": 140, "cravings_logged": 12],
                              patientsInCare: 20, daysInCare: 140, intensitySum: 60))
        #expect(c["check_in_completion_rate"] == .number(100) && c["craving_mean_intensity"] == .number(5))
        let payload = FederationPayload(clinicID: "c", sequence: 1, schemaVersion: MetricsCatalogue.schemaVersion, week: ISOWeek(containing: Date()),
                                        facilities: [.init(ref: "f", name: "F", cells: Suppression.cells(figures(
                                            ["census": 20, "admissions": 0, "discharges": 0, "check_ins": 140, "cravings_logged": 12],
                                            patientsInCare: 20, daysInCare: 140, intensitySum: 60)))])
        #expect(payload.canonicalText.contains("\"value\":100") && !payload.canonicalText.contains("100.0"))
        #expect(try FederationPayload.parse(payload.canonicalText) == payload)
    }

    @Test func centralRefusesAnUnsuppressedSmallCell() throws {
        let week = ISOWeek(containing: Date())
        var payload = FederationPayload(clinicID: "c", sequence: 1, schemaVersion: MetricsCatalogue.schemaVersion, week: week,
                                        facilities: [.init(ref: "f", name: "F", cells: Suppression.cells(figures([:])))])
        #expect(try FederationPayload.parse(payload.canonicalText) == payload)
        payload.facilities[0].cells[1].value = .count(4)
        #expect(throws: FederationError.self) { try FederationPayload.parse(payload.canonicalText) }
    }

    @Test func centralAcceptsVersionOneAndVersionTwoEachWithItsOwnMetrics() throws {
        let week = ISOWeek(containing: Date())
        let one = FederationPayload(clinicID: "c", sequence: 1, schemaVersion: 1, week: week,
                                    facilities: [.init(ref: "f", name: "F", cells: Suppression.cells(figures([:]), version: 1))])
        #expect(try FederationPayload.parse(one.canonicalText) == one)
        #expect(one.facilities[0].cells.count == 11)
        let small = FederationPayload(clinicID: "c", sequence: 2, schemaVersion: 1, week: week,
                                      facilities: [.init(ref: "f", name: "F", cells: Suppression.cells(figures(["census": 3, "check_ins": 4]), version: 1))])
        #expect(try FederationPayload.parse(small.canonicalText) == small, "version 1 has no buckets to suppress with its totals")
        var mixed = one
        mixed.schemaVersion = 2
        #expect(throws: FederationError.self) { try FederationPayload.parse(mixed.canonicalText) }
    }

    /// A payload's cells by metric for one facility's figures.
    func distribution(_ counts: [String: Int]) -> [String: CellValue] { cells(figures(counts)) }

    @Test func aSuppressedBucketCannotBeRecoveredFromTheTotalMinusTheOthers() {
        // Three patient-days of low mood among 40: the low bucket alone suppressed would be 40 - 12 - 25.
        let c = distribution(["check_ins": 40, "mood_1_3": 3, "mood_4_6": 12, "mood_7_10": 25])
        #expect(c["mood_1_3"] == .suppressed)
        #expect(c["mood_4_6"] == .suppressed, "the smallest other bucket is suppressed with it")
        #expect(c["check_ins"] == .count(40) && c["mood_7_10"] == .count(25))
        // The attack: total minus every shown bucket leaves the sum of two unknowns, not the small cell.
        let shown = ["mood_1_3", "mood_4_6", "mood_7_10"].compactMap { name -> Int? in if case .count(let n) = c[name] { return n }; return nil }
        #expect(40 - shown.reduce(0, +) != 3)
        #expect(["mood_1_3", "mood_4_6", "mood_7_10"].filter { c[$0] == .suppressed }.count >= 2)
    }

    @Test func aSuppressedTotalCannotBeRecoveredFromItsBuckets() {
        // A census of eight, all aged 35-44, would be given back by its one band.
        let c = distribution(["census": 8, "admissions": 0, "discharges": 0, "age_35_44": 8])
        #expect(c["census"] == .suppressed && c["age_35_44"] == .suppressed)
        #expect(MetricsCatalogue.ageBands.filter { c[$0.name] == .suppressed }.count == 2)
        let shownSum = MetricsCatalogue.ageBands.reduce(0) { sum, band in if case .count(let n) = c[band.name] { return sum + n }; return sum }
        #expect(shownSum == 0)
        // A staff caseload distribution of small cells: every bucket of 1-10 staff suppressed, and the total.
        let staff = distribution(["staff_with_caseload": 6, "caseload_1_10": 2, "caseload_11_20": 4])
        #expect(staff["staff_with_caseload"] == .suppressed && staff["caseload_1_10"] == .suppressed && staff["caseload_11_20"] == .suppressed)
        #expect(staff["caseload_21_30"] == .count(0))
    }

    @Test func centralRefusesADistributionWithASingleSuppressedBucket() throws {
        let week = ISOWeek(containing: Date())
        var payload = FederationPayload(clinicID: "c", sequence: 1, schemaVersion: 2, week: week, facilities: [
            .init(ref: "f", name: "F", cells: Suppression.cells(figures(["check_ins": 40, "mood_1_3": 3, "mood_4_6": 12, "mood_7_10": 25])))])
        #expect(try FederationPayload.parse(payload.canonicalText) == payload)
        let index = try #require(payload.facilities[0].cells.firstIndex { $0.metric == "mood_4_6" })
        payload.facilities[0].cells[index].value = .count(12)
        #expect(throws: FederationError.invalid(field: "payload.facilities[0].cells",
                                                 issue: "must suppress at least two buckets of a distribution with a suppressed cell")) {
            try FederationPayload.parse(payload.canonicalText)
        }
    }

    @Test func attendanceAdherenceAndTimeToAcknowledgeFollowTheirDenominators() {
        var f = figures(["census": 30, "crisis_alerts_raised": 12, "crisis_alerts_acknowledged": 11], patientsInCare: 30, daysInCare: 210)
        f.meetingAttendees = 15
        f.dosesScheduled = 200
        f.dosesTaken = 150
        f.acknowledgeMinutes = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 44]
        var c = cells(f)
        #expect(c["meeting_attendance_rate"] == .number(50))
        #expect(c["medication_adherence_rate"] == .number(75))
        #expect(c["crisis_ack_median_minutes"] == .number(6))
        f.meetingAttendees = 4
        f.dosesScheduled = 9
        f.dosesTaken = 9
        f.counts["crisis_alerts_acknowledged"] = 3
        f.acknowledgeMinutes = [1, 2, 3]
        c = cells(f)
        #expect(c["meeting_attendance_rate"] == .suppressed && c["medication_adherence_rate"] == .suppressed)
        #expect(c["crisis_ack_median_minutes"] == .suppressed)
        f.dosesScheduled = 0
        f.dosesTaken = 0
        f.acknowledgeMinutes = []
        c = cells(f)
        #expect(c["medication_adherence_rate"] == CellValue.none && c["crisis_ack_median_minutes"] == CellValue.none)
    }

    @Test func agesAreWholeYearsAndNinetyAndOverAreOneBand() {
        #expect(CatalogueFigures.age(born: "1990-11-30", on: "2026-11-29") == 35)
        #expect(CatalogueFigures.age(born: "1990-11-29", on: "2026-11-29") == 36)
        #expect(CatalogueFigures.age(born: "1920-01-01", on: "2026-11-29") == 106)
        #expect(MetricsCatalogue.ageBands.filter { $0.ages.contains(106) }.map(\.name) == ["age_90_plus"])
        #expect(MetricsCatalogue.ageBands.filter { $0.ages.contains(90) }.map(\.name) == ["age_90_plus"])
        #expect(MetricsCatalogue.ageBands.filter { $0.ages.contains(89) }.map(\.name) == ["age_65_89"])
    }
}

/// A clinic and a central, each a real appliance on its own SQLite file.
struct FederationPair {
    let dir = TemporaryDirectory()
    let clinic: Appliance
    let central: Appliance
    let superAdmin: Identity

    init(requireApproval: Bool = false, noiseEpsilon: Double = 0) async throws {
        var clinicSettings = Settings()
        clinicSettings.dataDirectory = dir.file("clinic")
        clinicSettings.federationRequireApproval = requireApproval
        clinicSettings.federationNoiseEpsilon = noiseEpsilon
        var centralSettings = Settings()
        centralSettings.dataDirectory = dir.file("central")
        centralSettings.mode = .central
        _ = try await ApplianceSetup.initialise(settings: clinicSettings, request: ApplianceSetupTests.request, passwordCost: .minimum)
        guard case .created(let created) = try await ApplianceSetup.initialise(settings: centralSettings, request: ApplianceSetupTests.request,
                                                                                passwordCost: .minimum) else { throw CancellationError() }
        clinic = try Appliance.open(settings: clinicSettings, passwordCost: .minimum).0
        central = try Appliance.open(settings: centralSettings, passwordCost: .minimum).0
        superAdmin = Identity(kind: .staff, subjectID: created.adminID, role: .superAdmin, facilityID: nil, sessionID: "test")
        _ = try await DemoData.seed(clinic)
    }

    /// Enrols the clinic through central's real redemption.
    func enroll() async throws -> String {
        let enrollment = try await FederationPeers(appliance: central).createEnrollment(superAdmin, facilityName: "Serenity", origin: RequestOrigin())
        let central = self.central
        let outcome = try await ClinicEnrollment.enroll(clinic, central: "http://127.0.0.1:9", code: enrollment.code, allowPlainHTTP: false) { _, body in
            guard case .object(let fields) = try JSONParser.parse(Array(body)), case .string(let code)? = fields["code"],
                  case .string(let key)? = fields["public_key"] else { return (422, Data()) }
            let redeemed = try await FederationPeers(appliance: central).redeem(code: code, publicKey: Data(base64Encoded: key)!, origin: RequestOrigin())
            let answer = JSONValue.object(["clinic_id": .string(redeemed.clinicID), "name": .string(redeemed.name),
                                           "central_public_key": .string(redeemed.centralPublicKey.base64EncodedString())])
            return (201, Data(answer.canonicalText.utf8))
        }
        return outcome.clinicID
    }

    func stored() async throws -> [Int] {
        try await central.database.pool.read { db in
            try ["federation_receipts", "federation_metric_cells", "federation_facilities"].map { try Int.fetchOne(db, sql: "SELECT count(*) FROM \($0)")! }
        }
    }

    func clinicKey() async throws -> SigningKey {
        try await clinic.database.pool.read { db in try FederationIdentity.load(clinic, in: db)!.key }
    }
}

@Suite struct FederationIngestTests {
    @Test func aCodeWorksOnceAndThePayloadsOfTheOutboxAreStoredOnce() async throws {
        let pair = try await FederationPair()
        let clinicID = try await pair.enroll()
        await #expect(throws: FederationError.alreadyEnrolled) { _ = try await pair.enroll() }
        let queued = try await FederationOutbox(appliance: pair.clinic).prepare()
        #expect(queued == FederationOutbox.reportedPeriods().count)
        #expect(try await FederationOutbox(appliance: pair.clinic).prepare() == 0, "an unchanged snapshot is not queued again")
        let (link, items) = try #require(try await FederationOutbox(appliance: pair.clinic).pending(all: true))
        #expect(items.map(\.sequence) == Array(1...queued))
        let ingest = FederationIngest(appliance: pair.central)
        for item in items {
            let receipt = try await ingest.receive(clinicID: clinicID, payload: item.payload, signature: item.signature, origin: RequestOrigin())
            #expect(receipt.outcome == .stored)
            #expect(SigningKey.verify(receipt.signature, of: FederationReceipt.message(clinicID: clinicID, sequence: item.sequence,
                                                                                       digest: FederationReceipt.digest(item.payload)),
                                      publicKey: link.centralKey))
        }
        let after = try await pair.stored()
        let facilities = try await pair.clinic.database.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM facilities")! }
        #expect(after == [queued, queued * facilities * MetricsCatalogue.metrics.count, facilities])

        // The distributions add up to their totals, read from the real records of the reported weeks: every demo
        // patient checks in on this Monday (one of them twice, the later check-in's mood counting).
        let current = ISOWeek(containing: Date())
        try await pair.clinic.database.pool.write { db in
            for (index, row) in try Row.fetchAll(db, sql: "SELECT id, facility_id FROM patients ORDER BY id").enumerated() {
                for (hour, mood) in (index == 0 ? [(8, 9), (9, 2)] : [(9, index % 10 + 1)]) {
                    try db.execute(sql: """
                        INSERT INTO patient_check_ins (id, facility_id, patient_id, checked_in_at, local_date, timezone, mood)
                        VALUES (?, ?, ?, ?, ?, 'UTC', ?)
                        """, arguments: [RowID.make(), row["facility_id"], row["id"], "\(current.start)T0\(hour):00:00.000Z", current.start, mood])
                }
            }
        }
        let read = try await pair.clinic.database.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT id FROM facilities").flatMap { row in
                try (0..<FederationOutbox.backfillWeeks).map { back in
                    try CatalogueFigures(cipher: pair.clinic.cipher).read(facility: row["id"], week: current.back(back), in: db)
                }
            }
        }
        for f in read {
            for distribution in MetricsCatalogue.distributions {
                #expect(distribution.buckets.reduce(0) { $0 + (f.counts[$1] ?? 0) } == f.counts[distribution.total])
            }
        }
        #expect(read.contains { ($0.counts["census"] ?? 0) > 0 && ($0.counts["check_ins"] ?? 0) > 0 }, "the demo data fills some reported week")
        let patients = try await pair.clinic.database.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM patients")! }
        func total(_ metric: String) -> Int { read.reduce(0) { sum, f in sum + (f.counts[metric] ?? 0) } }
        let lowMoods: Int = 1 + (1..<patients).filter { index in index % 10 + 1 <= 3 }.count
        #expect(total("check_ins") == patients, "one patient-day each")
        #expect(total("mood_1_3") == lowMoods, "the later check-in of a day counts")

        // A replay is a duplicate and changes nothing.
        let replay = try await ingest.receive(clinicID: clinicID, payload: items[0].payload, signature: items[0].signature, origin: RequestOrigin())
        #expect(replay.outcome == .duplicate)
        #expect(try await pair.stored() == after)

        // No payload holds a patient's name, number or date of birth.
        let secrets = try await pair.clinic.database.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT id, patient_number, first_name_enc, last_name_enc, date_of_birth_enc FROM patients")
        }
        for row in secrets {
            let id: String = row["id"]
            let first = try pair.clinic.cipher.openString(row["first_name_enc"], field: .patientsFirstName, rowID: id)
            let last = try pair.clinic.cipher.openString(row["last_name_enc"], field: .patientsLastName, rowID: id)
            let born = try pair.clinic.cipher.openString(optional: row["date_of_birth_enc"], field: .patientsDateOfBirth, rowID: id)
            let words = [id, row["patient_number"] as String, first, last] + (born.map { [$0] } ?? [])
            for item in items { for word in words { #expect(!item.payload.contains(word)) } }
        }
    }

    @Test func wrongCodesCountAgainstTheAddressAndAUsedCodeNeverWorksAgain() async throws {
        let pair = try await FederationPair()
        let peers = FederationPeers(appliance: pair.central)
        let enrollment = try await peers.createEnrollment(pair.superAdmin, facilityName: "Harbor", origin: RequestOrigin())
        let key = SigningKey.generate().publicKey, from = RequestOrigin(ipAddress: "10.0.0.7")
        #expect(try await peers.redeem(code: enrollment.code.lowercased(), publicKey: key, origin: from).clinicID == enrollment.peerID)
        for _ in 1..<pair.central.settings.addressFailureLimit {
            await #expect(throws: FederationError.invalidEnrollmentCode) { _ = try await peers.redeem(code: enrollment.code, publicKey: key, origin: from) }
        }
        await #expect(throws: FederationError.invalidEnrollmentCode) { _ = try await peers.redeem(code: "not a code", publicKey: key, origin: from) }
        await #expect(throws: AuthError.self) { _ = try await peers.redeem(code: enrollment.code, publicKey: key, origin: from) }
        let stored = try await pair.central.database.pool.read { db in
            try Row.fetchOne(db, sql: "SELECT enrollment_status, enrollment_token_bidx FROM federation_peers WHERE id = ?", arguments: [enrollment.peerID])!
        }
        #expect(stored["enrollment_status"] as String == "active" && (stored["enrollment_token_bidx"] as Data?) == nil)
        #expect(!databaseBytes(pair.central.settings).contains(text: enrollment.code))
    }

    @Test func tamperedReusedUnknownAndRevokedPayloadsAreRefusedAndStoreNothing() async throws {
        let pair = try await FederationPair()
        let clinicID = try await pair.enroll()
        _ = try await FederationOutbox(appliance: pair.clinic).prepare()
        let (_, items) = try #require(try await FederationOutbox(appliance: pair.clinic).pending(all: true))
        let ingest = FederationIngest(appliance: pair.central)
        let first = items[0]
        let nothing = try await pair.stored()

        // Tampered: one figure changed, the signature kept.
        let tampered = first.payload.replacingOccurrences(of: #""value":0"#, with: #""value":50"#)
        #expect(tampered != first.payload)
        await #expect(throws: FederationError.badSignature) {
            _ = try await ingest.receive(clinicID: clinicID, payload: tampered, signature: first.signature, origin: RequestOrigin())
        }
        // Unknown clinic.
        await #expect(throws: FederationError.unknownClinic) {
            _ = try await ingest.receive(clinicID: UUID().uuidString.lowercased(), payload: first.payload, signature: first.signature, origin: RequestOrigin())
        }
        // Unknown schema version, signed by the clinic's own key.
        let key = try await pair.clinicKey()
        var future = try FederationPayload.parse(first.payload)
        let futureText = future.canonicalText.replacingOccurrences(of: #""schema_version":3"#, with: #""schema_version":99"#)
        await #expect(throws: FederationError.unknownSchemaVersion(99)) {
            _ = try await ingest.receive(clinicID: clinicID, payload: futureText, signature: key.sign(Array(futureText.utf8)), origin: RequestOrigin())
        }
        #expect(try await pair.stored() == nothing)

        // Stored once; the same sequence with other content, properly signed, is refused.
        _ = try await ingest.receive(clinicID: clinicID, payload: first.payload, signature: first.signature, origin: RequestOrigin())
        let once = try await pair.stored()
        future.facilities[0].name = "Renamed"
        let reused = future.canonicalText
        await #expect(throws: FederationError.sequenceReused) {
            _ = try await ingest.receive(clinicID: clinicID, payload: reused, signature: key.sign(Array(reused.utf8)), origin: RequestOrigin())
        }
        #expect(try await pair.stored() == once)

        // Revoked: even a valid, new payload is refused.
        _ = try await FederationPeers(appliance: pair.central).revoke(pair.superAdmin, peerID: clinicID, origin: RequestOrigin())
        await #expect(throws: FederationError.clinicRevoked) {
            _ = try await ingest.receive(clinicID: clinicID, payload: items[1].payload, signature: items[1].signature, origin: RequestOrigin())
        }
        #expect(try await pair.stored() == once)
        let refusals = try await pair.central.database.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_logs WHERE action = 'federation.payload_refused'")!
        }
        #expect(refusals == 5)
    }

    @Test func aNewerSnapshotReplacesTheOlderAndALateOlderOneChangesNothing() async throws {
        let pair = try await FederationPair()
        let clinicID = try await pair.enroll()
        let key = try await pair.clinicKey()
        let week = ISOWeek(containing: Date())
        func payload(_ sequence: Int, census: Int) -> (String, Data) {
            var f = MetricsCatalogue.Figures()
            f.counts["census"] = census
            f.counts["admissions"] = 0
            f.counts["discharges"] = 0
            // Version 1, as a clinic not yet upgraded sends it.
            let text = FederationPayload(clinicID: clinicID, sequence: sequence, schemaVersion: 1, week: week,
                                         facilities: [.init(ref: "facility-1", name: "Serenity", cells: Suppression.cells(f, version: 1))]).canonicalText
            return (text, key.sign(Array(text.utf8)))
        }
        let ingest = FederationIngest(appliance: pair.central)
        let (newer, newerSignature) = payload(5, census: 30)
        let (older, olderSignature) = payload(4, census: 20)
        #expect(try await ingest.receive(clinicID: clinicID, payload: newer, signature: newerSignature, origin: RequestOrigin()).outcome == .stored)
        #expect(try await ingest.receive(clinicID: clinicID, payload: older, signature: olderSignature, origin: RequestOrigin()).outcome == .superseded)
        let census = try await FederationMetrics(appliance: pair.central).cells(pair.superAdmin, facilityID: nil, metric: "census", from: nil, to: nil, limit: 10)
        #expect(census.map(\.value) == [.count(30)])
        let (newest, newestSignature) = payload(6, census: 0)
        #expect(try await ingest.receive(clinicID: clinicID, payload: newest, signature: newestSignature, origin: RequestOrigin()).outcome == .stored)
        let replaced = try await FederationMetrics(appliance: pair.central).cells(pair.superAdmin, facilityID: nil, metric: "census", from: nil, to: nil, limit: 10)
        #expect(replaced.map(\.value) == [.count(0)], "a full snapshot: the zero replaces the old value")
    }

    @Test func theClinicTrustsOnlyReceiptsSignedByThePinnedCentralAndRefusesPlainHTTPBeyondLoopback() async throws {
        let pair = try await FederationPair()
        let clinicID = try await pair.enroll()
        let central = pair.central
        // Central's real ingest behind the transport; the receipt signed by `signer` (nil: central's own).
        func transport(_ signer: SigningKey?) -> FederationTransport {
            { _, body in
                guard case .object(let fields) = try JSONParser.parse(Array(body)), case .string(let payload)? = fields["payload"],
                      case .string(let signature)? = fields["signature"] else { return (422, Data()) }
                let receipt = try await FederationIngest(appliance: central).receive(clinicID: clinicID, payload: payload,
                                                                                     signature: Data(base64Encoded: signature)!, origin: RequestOrigin())
                let forged = signer.map { $0.sign(FederationReceipt.message(clinicID: clinicID, sequence: receipt.sequence,
                                                                            digest: FederationReceipt.digest(payload))) }
                let answer = JSONValue.object(["outcome": .string(receipt.outcome.rawValue), "sequence": .integer(receipt.sequence),
                                               "receipt_signature": .string((forged ?? receipt.signature).base64EncodedString())])
                return (200, Data(answer.canonicalText.utf8))
            }
        }
        let impostor = try await FederationDelivery(appliance: pair.clinic, transport: transport(SigningKey.generate())).run(prepare: true, all: true)
        #expect(impostor.sent == 0 && impostor.pending == FederationOutbox.reportedPeriods().count && impostor.lastError == "receipt_not_signed_by_central")
        let delivered = try await FederationDelivery(appliance: pair.clinic, transport: transport(nil)).run(prepare: true, all: true)
        #expect(delivered.queued == 0 && delivered.sent == FederationOutbox.reportedPeriods().count && delivered.pending == 0 && delivered.lastError == nil)

        // The pinned address moved to plain http beyond loopback: nothing is sent without federation.allow_plain_http.
        try await pair.clinic.database.pool.write { db in
            try db.execute(sql: "UPDATE federation_peers SET base_url = 'http://10.0.0.5:3000' WHERE role = 'central'")
            try db.execute(sql: "UPDATE patients SET admission_date = date('now') WHERE rowid = (SELECT min(rowid) FROM patients)")
        }
        let refused = try await FederationDelivery(appliance: pair.clinic, transport: { _, _ in
            Issue.record("nothing may be sent over plain http beyond loopback")
            return (500, Data())
        }).run(prepare: true, all: true)
        #expect(refused.sent == 0 && refused.lastError == "plain_http_refused")
    }
}

@Suite struct FederationApprovalTests {
    func admin(_ appliance: Appliance) async throws -> Identity {
        let row = try await appliance.database.pool.read { db in
            try Row.fetchOne(db, sql: "SELECT id, role, facility_id FROM staff WHERE role IN ('admin', 'super_admin') ORDER BY created_at LIMIT 1")!
        }
        return Identity(kind: .staff, subjectID: row["id"], role: StaffRole(rawValue: row["role"]), facilityID: row["facility_id"], sessionID: "test")
    }

    func outbox(_ appliance: Appliance) async throws -> [String] {
        try await appliance.database.pool.read { db in
            try String.fetchAll(db, sql: "SELECT sequence || ':' || status || ':' || hex(signature) FROM federation_outbox ORDER BY sequence")
        }
    }

    @Test func payloadsWaitForAnApprovalBoundToTheirDigests() async throws {
        let pair = try await FederationPair(requireApproval: true)
        _ = try await pair.enroll()
        let admin = try await admin(pair.clinic)
        let approval = FederationApproval(appliance: pair.clinic)

        // The preview stores nothing and shows what the next round queues, byte for byte.
        let preview = try await approval.preview(admin)
        #expect(preview.requireApproval && preview.items.count == FederationOutbox.reportedPeriods().count)
        #expect(preview.items.allSatisfy { $0.status == "due" })
        #expect(try await outbox(pair.clinic).isEmpty)
        let key = try await pair.clinicKey()
        for item in preview.items {
            #expect(SigningKey.verify(item.signature, of: Array(item.payload.utf8), publicKey: key.publicKey))
            #expect(item.digest == FederationReceipt.digest(item.payload).map { String(format: "%02x", $0) }.joined())
        }

        // Queued, they wait: nothing is sent.
        let sent = Mutex(0)
        let transport: FederationTransport = { _, _ in sent.withLock { $0 += 1 }; return (500, Data()) }
        let round = try await FederationDelivery(appliance: pair.clinic, transport: transport).run(prepare: true, all: true)
        #expect(round.queued == FederationOutbox.reportedPeriods().count && round.pending == 0 && sent.withLock { $0 } == 0)
        let queued = try await approval.preview(admin)
        #expect(queued.items.map(\.status) == Array(repeating: "awaiting_approval", count: FederationOutbox.reportedPeriods().count))
        #expect(queued.items.map(\.payload) == preview.items.map(\.payload), "exactly what was previewed")
        let waiting = try await FederationOutbox(appliance: pair.clinic).status(admin)
        #expect(waiting.awaitingApproval == FederationOutbox.reportedPeriods().count && waiting.queueDepth == 0)

        // The current week changes after the preview (eleven crisis alerts today): its old digest no longer approves anything.
        try await pair.clinic.database.pool.write { db in
            for _ in 0..<11 {
                try db.execute(sql: """
                    INSERT INTO crisis_alerts (id, facility_id, patient_id, raised_by_kind, source)
                    SELECT ?, facility_id, id, 'system', 'system' FROM patients ORDER BY id LIMIT 1
                    """, arguments: [RowID.make()])
            }
        }
        let before = try await outbox(pair.clinic)
        let current = try #require(queued.items.first { $0.period == ISOWeek(containing: Date()).name })
        await #expect(throws: FederationError.approvalStale(field: "digests[1]")) {
            _ = try await approval.approve(admin, digests: [queued.items[0].digest, current.digest], origin: RequestOrigin())
        }
        #expect(try await outbox(pair.clinic) == before)
        await #expect(throws: FederationError.invalid(field: "digests[0]", issue: "must be a payload digest of the preview (64 hex digits)")) {
            _ = try await approval.approve(admin, digests: ["not-a-digest"], origin: RequestOrigin())
        }
        await #expect(throws: FederationError.invalid(field: "digests", issue: "must name at least one payload of the preview")) {
            _ = try await approval.approve(admin, digests: [], origin: RequestOrigin())
        }
        #expect(try await outbox(pair.clinic) == before)

        // A new preview, approved as shown: those payloads become pending, the rest keep waiting.
        let again = try await approval.preview(admin)
        let due = again.items.filter { $0.status == "due" }
        #expect(due.contains { $0.period == current.period }, "the current week changed")
        #expect(Set(due.map(\.period)).isSubset(of: [current.period, ISOWeek.day(Date())]), "and at most today besides")
        let changed = try #require(due.first { $0.period == current.period })
        #expect(changed.digest != current.digest && again.items[0].status == "awaiting_approval")
        let approved = try await approval.approve(admin, digests: [again.items[0].digest, changed.digest], origin: RequestOrigin())
        #expect(approved.map(\.digest) == [again.items[0].digest, changed.digest])
        let after = try await FederationOutbox(appliance: pair.clinic).status(admin)
        #expect(after.queueDepth == 2 && after.awaitingApproval == FederationOutbox.reportedPeriods().count - 2)
        let audited = try await pair.clinic.database.pool.read { db in
            try Row.fetchOne(db, sql: "SELECT actor_id, details FROM audit_logs WHERE action = 'federation.approve'")
        }
        #expect((audited?["actor_id"] as String?) == admin.subjectID)
        let approvers = try await pair.clinic.database.pool.read { db in
            try String.fetchAll(db, sql: "SELECT approved_by FROM federation_outbox WHERE status = 'pending'")
        }
        #expect(approvers == [admin.subjectID, admin.subjectID])
    }

    @Test func withoutTheSettingApprovalIsRefusedAndThePreviewStoresNothing() async throws {
        let pair = try await FederationPair()
        _ = try await pair.enroll()
        let admin = try await admin(pair.clinic)
        let preview = try await FederationApproval(appliance: pair.clinic).preview(admin)
        #expect(!preview.requireApproval && preview.items.count == FederationOutbox.reportedPeriods().count)
        await #expect(throws: FederationError.approvalNotRequired) {
            _ = try await FederationApproval(appliance: pair.clinic).approve(admin, digests: [preview.items[0].digest], origin: RequestOrigin())
        }
        #expect(try await outbox(pair.clinic).isEmpty)
        let clinician = Identity(kind: .staff, subjectID: admin.subjectID, role: .counselor, facilityID: admin.facilityID, sessionID: "test")
        await #expect(throws: (any Error).self) { _ = try await FederationApproval(appliance: pair.clinic).preview(clinician) }
    }
}

@Suite struct FederationRollupTests {
    /// Three clinics enrolled on central, each sending one week of census figures.
    func centralWithClinics(_ census: [Int], week: ISOWeek) async throws -> FederationPair {
        let pair = try await FederationPair()
        let peers = FederationPeers(appliance: pair.central)
        for (index, count) in census.enumerated() {
            let key = SigningKey.generate()
            let enrollment = try await peers.createEnrollment(pair.superAdmin, facilityName: "Clinic \(index)", origin: RequestOrigin())
            let clinicID = try await peers.redeem(code: enrollment.code, publicKey: key.publicKey, origin: RequestOrigin()).clinicID
            var f = MetricsCatalogue.Figures()
            f.counts["census"] = count
            f.counts["age_35_44"] = count
            f.counts["cravings_logged"] = 20
            f.intensitySum = 20 * (index + 4)
            let payload = FederationPayload(clinicID: clinicID, sequence: 1, schemaVersion: 2, week: week,
                                            facilities: [.init(ref: "facility-\(index)", name: "Facility \(index)", cells: Suppression.cells(f))])
            let text = payload.canonicalText
            _ = try await FederationIngest(appliance: pair.central).receive(clinicID: clinicID, payload: text, signature: key.sign(Array(text.utf8)),
                                                                            origin: RequestOrigin())
        }
        return pair
    }

    @Test func rollupsSumShownCountsAndWeighMeans() async throws {
        let week = ISOWeek(containing: Date())
        let pair = try await centralWithClinics([20, 0, 30], week: week)
        let rollups = FederationRollups(appliance: pair.central)
        let census = try await rollups.rollups(pair.superAdmin, metric: "census", from: nil, to: nil)
        #expect(census == [.init(metric: "census", period: week.name, periodStart: week.start, value: .count(50),
                                 facilities: 3, clinics: 3, suppressedFacilities: 0)])
        // Means 4, 5 and 6 over 20 cravings each.
        let mean = try await rollups.rollups(pair.superAdmin, metric: "craving_mean_intensity", from: week.start, to: week.start)
        #expect(mean.map(\.value) == [.number(5)])
        #expect(try await rollups.rollups(pair.superAdmin, metric: "census", from: week.back(-1).start, to: nil).isEmpty)
        await #expect(throws: FederationError.self) { _ = try await rollups.rollups(pair.superAdmin, metric: "names", from: nil, to: nil) }
    }

    @Test func theTotalMinusEveryOtherClinicNeverGivesASuppressedCellBack() async throws {
        let week = ISOWeek(containing: Date())
        // A cohort of three at one clinic, among clinics of 20 and 30.
        let pair = try await centralWithClinics([20, 3, 30], week: week)
        let metrics = FederationMetrics(appliance: pair.central)
        let rollups = FederationRollups(appliance: pair.central)
        for metric in ["census", "age_35_44"] {
            let cells = try await metrics.cells(pair.superAdmin, facilityID: nil, metric: metric, from: nil, to: nil, limit: 100)
            #expect(cells.filter { $0.value == .suppressed }.count == 1)
            let shown = cells.compactMap { cell -> Int? in if case .count(let n) = cell.value { return n }; return nil }
            #expect(shown.sorted() == [20, 30])
            let rollup = try #require(try await rollups.rollups(pair.superAdmin, metric: metric, from: nil, to: nil).first)
            // The attack: total minus every other clinic's cell. The total is not given, only who contributed.
            #expect(rollup.value == .suppressed)
            #expect(rollup.facilities == 3 && rollup.clinics == 3 && rollup.suppressedFacilities == 1)
            if case .count(let total) = rollup.value { Issue.record("a roll-up over a suppressed cell gave \(total), so \(total - shown.reduce(0, +)) is recovered") }
        }
        // A mean whose cells and weights are all shown is still rolled up (cravings of 20 at every clinic).
        let mean = try await rollups.rollups(pair.superAdmin, metric: "craving_mean_intensity", from: nil, to: nil)
        #expect(mean.map(\.value) == [.number(5)])
    }
}

@Suite struct FederationNoiseTests {
    @Test func discreteLaplaceDrawsAreCentredSymmetricAndAsSpreadAsTheirEpsilon() {
        for epsilon in [0.5, 1.0, 2.0] {
            var generator = SeededGenerator(seed: 20_261_130)
            let draws = (0..<40_000).map { _ in DiscreteLaplace.sample(epsilon: epsilon, using: &generator) }
            let mean = Double(draws.reduce(0, +)) / Double(draws.count)
            let variance = draws.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(draws.count - 1)
            let expected = DiscreteLaplace.variance(epsilon: epsilon)
            #expect(abs(mean) < 4 * (expected / Double(draws.count)).squareRoot(), "centred at zero (ε = \(epsilon))")
            #expect(abs(variance / expected - 1) < 0.05, "variance \(variance) against \(expected) (ε = \(epsilon))")
            let alpha = exp(-epsilon)
            let zeros = Double(draws.filter { $0 == 0 }.count) / Double(draws.count)
            #expect(abs(zeros - (1 - alpha) / (1 + alpha)) < 0.01, "P(0) (ε = \(epsilon))")
            let above = draws.filter { $0 > 0 }.count, below = draws.filter { $0 < 0 }.count
            #expect(abs(Double(above - below)) / Double(above + below) < 0.03, "symmetric (ε = \(epsilon))")
        }
        var a = SeededGenerator(seed: 7), b = SeededGenerator(seed: 7)
        #expect((0..<100).map { _ in DiscreteLaplace.sample(epsilon: 1, using: &a) } == (0..<100).map { _ in DiscreteLaplace.sample(epsilon: 1, using: &b) })
    }

    func ledger(_ appliance: Appliance) async throws -> [String: [String]] {
        try await appliance.database.pool.read { db in
            var rows: [String: [String]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT * FROM federation_privacy_ledger ORDER BY facility_id, granularity, period_start, metric") {
                let key = "\(row["facility_id"] as String)|\(row["granularity"] as String)|\(row["period_start"] as String)|\(row["metric"] as String)"
                rows[key] = ["\(row["exact_value"] as Int)", "\(row["sent_value"] as Int)", "\(row["draws"] as Int)", "\(row["epsilon_spent"] as Double)"]
            }
            return rows
        }
    }

    func raiseAlerts(_ count: Int, _ appliance: Appliance) async throws {
        try await appliance.database.pool.write { db in
            for _ in 0..<count {
                try db.execute(sql: """
                    INSERT INTO crisis_alerts (id, facility_id, patient_id, raised_by_kind, source)
                    SELECT ?, facility_id, id, 'system', 'system' FROM patients ORDER BY id LIMIT 1
                    """, arguments: [RowID.make()])
            }
        }
    }

    /// A week of a large facility, where every rate, mean and the median is shown without noise.
    func largeWeek() -> MetricsCatalogue.Figures {
        var f = MetricsCatalogue.Figures()
        for metric in MetricsCatalogue.metrics where metric.kind == .count { f.counts[metric.name] = 0 }
        f.openingCensus = 40
        f.counts["census"] = 40
        f.counts["age_35_44"] = 40
        f.counts["check_ins"] = 150
        f.counts["mood_4_6"] = 150
        f.counts["cravings_logged"] = 30
        f.counts["crisis_alerts_raised"] = 12
        f.counts["crisis_alerts_acknowledged"] = 12
        f.patientsInCare = 40
        f.daysInCare = 280
        f.intensitySum = 150
        f.meetingAttendees = 25
        f.dosesScheduled = 300
        f.dosesTaken = 270
        f.acknowledgeMinutes = (1...12).map(Double.init)
        return f
    }

    func facilityID(_ appliance: Appliance) async throws -> String {
        try await appliance.database.pool.read { db in try String.fetchOne(db, sql: "SELECT id FROM facilities ORDER BY id LIMIT 1")! }
    }

    @Test func ratesMeansAndTheMedianAreWithheldWhenCountsAreNoisy() async throws {
        let pair = try await FederationPair(noiseEpsilon: 1)
        let exact = Suppression.cells(largeWeek())
        let derived = exact.filter { MetricsCatalogue.kind(of: $0.metric) != .count }
        #expect(derived.count == 5 && derived.allSatisfy { if case .number = $0.value { return true }; return false }, "shown without noise")
        let ledger = try #require(PrivacyLedger(appliance: pair.clinic))
        let facility = try await facilityID(pair.clinic)
        let week = ISOWeek(containing: Date())
        let sent = try await pair.clinic.database.pool.write { db in try ledger.apply(exact, facility: facility, period: FederationPeriod(week), in: db) }
        #expect(sent.map(\.metric) == exact.map(\.metric))
        for (cell, noisy) in zip(exact, sent) {
            switch cell.value {
            // Computed from exact figures, a rate beside its noisy count would give the exact count back.
            case .number: #expect(noisy.value == .suppressed, "\(cell.metric) is withheld")
            case .count(let n) where n > 0:
                guard case .count(let m) = noisy.value else { Issue.record("\(cell.metric) not sent as a count"); continue }
                #expect(m > Suppression.smallCells.upperBound)
            default: #expect(noisy.value == cell.value)
            }
        }
    }

    /// The noise is keyed by the appliance's master key: central, knowing every public part of a cell, cannot draw it again.
    @Test func theNoiseOfACellDependsOnTheMasterKey() async throws {
        let one = try await FederationPair(noiseEpsilon: 1), other = try await FederationPair(noiseEpsilon: 1)
        let a = try #require(PrivacyLedger(appliance: one.clinic)), b = try #require(PrivacyLedger(appliance: other.clinic))
        let week = FederationPeriod(ISOWeek(containing: Date()))
        let day = try #require(FederationPeriod(day: ISOWeek(containing: Date()).start))
        for period in [week, day] {
            let seed = a.seed(facility: "facility", period: period, metric: "census", draw: 1)
            #expect(seed == a.seed(facility: "facility", period: period, metric: "census", draw: 1), "the preview draws what is sent")
            #expect(seed != b.seed(facility: "facility", period: period, metric: "census", draw: 1), "another key, another draw")
        }
        #expect(a.seed(facility: "facility", period: week, metric: "census", draw: 1) != a.seed(facility: "facility", period: day, metric: "census", draw: 1))
    }

    @Test func noDrawExceedsTheBudgetNotEvenTheFirst() async throws {
        // One draw costs 3, the budget is 2 (the settings file refuses this; the ledger refuses it too).
        let pair = try await FederationPair(noiseEpsilon: 3)
        _ = try await pair.enroll()
        #expect(pair.clinic.settings.federationNoiseBudget == 2)
        let privacy = try #require(PrivacyLedger(appliance: pair.clinic))
        let facility = try await facilityID(pair.clinic)
        await #expect(throws: FederationError.noiseBudgetBelowOneDraw) {
            try await pair.clinic.database.pool.write { db in
                _ = try privacy.apply(Suppression.cells(largeWeek()), facility: facility, period: FederationPeriod(ISOWeek(containing: Date())), in: db)
            }
        }
        // The demo data's counts are all small: eleven alerts today give the round a count to draw for.
        try await raiseAlerts(11, pair.clinic)
        await #expect(throws: FederationError.noiseBudgetBelowOneDraw) { _ = try await FederationOutbox(appliance: pair.clinic).prepare() }
        #expect(try await ledger(pair.clinic).isEmpty, "no epsilon spent")
        let outbox = try await pair.clinic.database.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM federation_outbox")! }
        #expect(outbox == 0, "nothing queued")
        #expect(throws: ConfigurationError(setting: "federation.noise_budget",
                                           message: "must be at least federation.noise_epsilon (3.0), the cost of one draw")) {
            _ = try SettingsLoader.load(file: nil, environment: ["RECOVERY_FEDERATION_NOISE_EPSILON": "3"])
        }
        let loaded = try SettingsLoader.load(file: nil, environment: ["RECOVERY_FEDERATION_NOISE_EPSILON": "3", "RECOVERY_FEDERATION_NOISE_BUDGET": "3"])
        #expect(loaded.federationNoiseEpsilon == 3 && loaded.federationNoiseBudget == 3)
    }

    @Test func reSendingAWeekSpendsBudgetOnlyOnChangedCountsAndStopsWhenItIsSpent() async throws {
        // One draw costs 1; a cell may spend 2 (the default budget).
        let pair = try await FederationPair(noiseEpsilon: 1)
        _ = try await pair.enroll()
        try await raiseAlerts(11, pair.clinic)
        let outbox = FederationOutbox(appliance: pair.clinic)
        #expect(try await outbox.prepare() == FederationOutbox.reportedPeriods().count)
        let first = try await ledger(pair.clinic)
        #expect(!first.isEmpty && first.values.allSatisfy { $0[2] == "1" && $0[3] == "1.0" && Int($0[1])! > 10 })
        // What was sent is the ledger's noisy value, never the exact one unless the noise was zero.
        let (_, items) = try #require(try await outbox.pending(all: true))
        let sent = try #require(try items.map { try FederationPayload.parse($0.payload) }.last { $0.period.granularity == .week })
        let facility = try #require(sent.facilities.first { facility in facility.cells.contains { $0.metric == "crisis_alerts_raised" && $0.value != .count(0) && $0.value != .suppressed } })
        let alerts = try #require(first.first { $0.key.hasPrefix("\(facility.ref)|week|\(sent.period.start)|crisis_alerts_raised") }?.value)
        #expect(facility.cells.first { $0.metric == "crisis_alerts_raised" }?.value == .count(Int(alerts[1])!))

        // Unchanged: nothing queued, nothing spent.
        #expect(try await outbox.prepare() == 0)
        #expect(try await ledger(pair.clinic) == first)

        // The count changes: one new draw for that cell alone, and for today's cell when the day shows it.
        try await raiseAlerts(11, pair.clinic)
        let key = "\(facility.ref)|week|\(sent.period.start)|crisis_alerts_raised"
        let today = "\(facility.ref)|day|\(ISOWeek.day(Date()))|crisis_alerts_raised"
        #expect(try await outbox.prepare() == (first[today] == nil ? 1 : 2))
        let second = try await ledger(pair.clinic)
        #expect(second[key]?[2] == "2" && second[key]?[3] == "2.0" && second[key]?[0] == String(Int(alerts[0])! + 11))
        #expect(second.filter { $0.key != key && $0.key != today } == first.filter { $0.key != key && $0.key != today })

        // Budget spent: the cell keeps its last sent value, so the week is not re-sent.
        try await raiseAlerts(11, pair.clinic)
        #expect(try await outbox.prepare() == 0)
        #expect(try await ledger(pair.clinic) == second)
    }
}
