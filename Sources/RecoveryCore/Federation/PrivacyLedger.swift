import CSodium
import Foundation
import GRDB

/// Optional discrete Laplace noise on the counts a clinic sends, with the
/// privacy budget each cell spends kept in `federation_privacy_ledger`.
/// Each count cell (facility, period, metric; a week and its Monday's day are
/// distinct periods) gets a fresh draw only when its
/// exact value changed since the last draw, spending `federation.noise_epsilon`;
/// an unchanged value is sent with the noise it already had (no new spending).
/// A draw that would take the cell's spending beyond `federation.noise_budget`
/// is refused, the first one included: the cell keeps its last sent value, and
/// a cell without one cannot be sent (the round fails; the settings refuse a
/// budget below one draw). Zero is sent as zero, and a noisy count never lands
/// in 1-10 (the small-cell rule is applied to the exact counts first). Rates,
/// means and the median are withheld (sent as `suppressed`): each is computed
/// from exact figures, so beside the noisy counts it would give back what the
/// noise hides (a rate times its unpublished denominator is the exact numerator).
/// Draws are seeded by a keyed BLAKE2b of the cell and its draw number (a key
/// derived from the master key), so the preview shows what is sent.
struct PrivacyLedger {
    let key: [UInt8]
    let epsilon: Double
    let budget: Double

    init?(appliance: Appliance) {
        guard appliance.settings.federationNoiseEpsilon > 0 else { return nil }
        key = appliance.masterKey.derive(.federationNoise)
        epsilon = appliance.settings.federationNoiseEpsilon
        budget = appliance.settings.federationNoiseBudget
    }

    /// The cells with noise on every shown count, the ledger updated in `db`.
    func apply(_ cells: [(metric: String, value: CellValue)], facility: String, period: FederationPeriod,
               in db: Database) throws -> [(metric: String, value: CellValue)] {
        try cells.map { cell in
            if case .number = cell.value { return (cell.metric, .suppressed) }
            guard case .count(let exact) = cell.value, exact > 0 else { return cell }
            let entry = try Row.fetchOne(db, sql: """
                SELECT exact_value, sent_value, draws, epsilon_spent FROM federation_privacy_ledger
                WHERE facility_id = ? AND granularity = ? AND period_start = ? AND metric = ?
                """, arguments: [facility, period.granularity.rawValue, period.start, cell.metric])
            if let entry, entry["exact_value"] as Int == exact { return (cell.metric, .count(entry["sent_value"])) }
            let spent: Double = entry?["epsilon_spent"] ?? 0
            if spent + epsilon > budget + 1e-9 {
                guard let entry else { throw FederationError.noiseBudgetBelowOneDraw }
                return (cell.metric, .count(entry["sent_value"]))
            }
            let draw = (entry?["draws"] as Int? ?? 0) + 1
            var generator = SeededGenerator(seed: seed(facility: facility, period: period, metric: cell.metric, draw: draw))
            let noisy = max(Suppression.smallCells.upperBound + 1, exact + DiscreteLaplace.sample(epsilon: epsilon, using: &generator))
            try db.execute(sql: """
                INSERT INTO federation_privacy_ledger (facility_id, granularity, period_start, metric, exact_value, sent_value, draws,
                                                       epsilon_spent, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (facility_id, granularity, period_start, metric) DO UPDATE SET exact_value = excluded.exact_value,
                  sent_value = excluded.sent_value, draws = excluded.draws, epsilon_spent = excluded.epsilon_spent, updated_at = excluded.updated_at
                """, arguments: [facility, period.granularity.rawValue, period.start, cell.metric, exact, noisy, draw, spent + epsilon, Timestamp.now()])
            return (cell.metric, .count(noisy))
        }
    }

    /// A week's seed names its Monday; a day's names `day:` and the date, so it never equals its week's.
    func seed(facility: String, period: FederationPeriod, metric: String, draw: Int) -> UInt64 {
        let periodName = period.granularity == .week ? period.start : "day:" + period.start
        let message = Array("recovery-federation-noise/v1:\(facility):\(periodName):\(metric):\(draw)".utf8)
        var out = [UInt8](repeating: 0, count: 8)
        let status = crypto_generichash(&out, 8, message, UInt64(message.count), key, key.count)
        precondition(status == 0 && key.count >= 16, "the noise key is a derived key")
        return out.withUnsafeBytes { $0.load(as: UInt64.self) }
    }
}
