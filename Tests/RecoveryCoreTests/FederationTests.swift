import Foundation
import GRDB
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
        // Three patients admitted into a census of 40: census and discharges would give admissions back.
        let c = cells(figures(["census": 40, "admissions": 3, "discharges": 12, "check_ins": 3, "cravings_logged": 3],
                              patientsInCare: 40, daysInCare: 250, intensitySum: 21))
        #expect(c["admissions"] == .suppressed)
        #expect(c["census"] == .suppressed && c["discharges"] == .suppressed, "complementary suppression")
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
        let payload = FederationPayload(clinicID: "c", sequence: 1, schemaVersion: 1, week: ISOWeek(containing: Date()),
                                        facilities: [.init(ref: "f", name: "F", cells: Suppression.cells(figures(
                                            ["census": 20, "admissions": 0, "discharges": 0, "check_ins": 140, "cravings_logged": 12],
                                            patientsInCare: 20, daysInCare: 140, intensitySum: 60)))])
        #expect(payload.canonicalText.contains("\"value\":100") && !payload.canonicalText.contains("100.0"))
        #expect(try FederationPayload.parse(payload.canonicalText) == payload)
    }

    @Test func centralRefusesAnUnsuppressedSmallCell() throws {
        let week = ISOWeek(containing: Date())
        var payload = FederationPayload(clinicID: "c", sequence: 1, schemaVersion: 1, week: week,
                                        facilities: [.init(ref: "f", name: "F", cells: Suppression.cells(figures([:])))])
        #expect(try FederationPayload.parse(payload.canonicalText) == payload)
        payload.facilities[0].cells[1].value = .count(4)
        #expect(throws: FederationError.self) { try FederationPayload.parse(payload.canonicalText) }
    }
}

/// A clinic and a central, each a real appliance on its own SQLite file.
struct FederationPair {
    let dir = TemporaryDirectory()
    let clinic: Appliance
    let central: Appliance
    let superAdmin: Identity

    init() async throws {
        var clinicSettings = Settings()
        clinicSettings.dataDirectory = dir.file("clinic")
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
        #expect(queued == FederationOutbox.backfillWeeks)
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
        let futureText = future.canonicalText.replacingOccurrences(of: #""schema_version":1"#, with: #""schema_version":99"#)
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
            let text = FederationPayload(clinicID: clinicID, sequence: sequence, schemaVersion: 1, week: week,
                                         facilities: [.init(ref: "facility-1", name: "Serenity", cells: Suppression.cells(f))]).canonicalText
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
        #expect(impostor.sent == 0 && impostor.pending == FederationOutbox.backfillWeeks && impostor.lastError == "receipt_not_signed_by_central")
        let delivered = try await FederationDelivery(appliance: pair.clinic, transport: transport(nil)).run(prepare: true, all: true)
        #expect(delivered.queued == 0 && delivered.sent == FederationOutbox.backfillWeeks && delivered.pending == 0 && delivered.lastError == nil)

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
