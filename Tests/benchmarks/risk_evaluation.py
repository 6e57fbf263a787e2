#!/usr/bin/env python3
"""Evaluates the relapse-risk score on a SYNTHETIC cohort (no real patient data).

Generates patient-weeks whose signals and next-week lapses follow assumed effect sizes
(below), scores every one with the real scorer (`recovery-server risk score`, the same
model the server uses), and prints the AUC, calibration by decile of predicted risk, the
Brier score and per-subgroup results. Every figure printed is SYNTHETIC: it shows that the
score behaves as the model card says on data built to resemble the literature, not how it
performs on real patients.

The generator's effects are assumptions of the size the cited studies report (A-CHESS,
Chih et al. 2014: AUC 0.83 cross-validated; EMA, Wyant, Curtin et al. 2024: AUC 0.89-0.93,
past use and self-efficacy strongest, craving and stress near-term). They deliberately
differ from the scorer's weights and include a factor the scorer cannot see, so the
evaluation is not the model scoring its own formula.

Subgroups: `sparse` patients skip about half of their check-ins (missing signals),
`under_reporting` patients report cravings at half their strength (the kind of gap that
made the published models worse for some groups), `residential` vs `outpatient` differ in
base rate only.

Usage: python3 Tests/benchmarks/risk_evaluation.py [--binary PATH] [--weeks N] [--seed N]
"""
import argparse
import json
import math
import random
import subprocess

# The generator's "true" effects (log-odds per unit of each signal's value), ASSUMED.
TRUE_EFFECTS = {
    "reported_use_14d": 1.9, "prior_lapses_90d": 0.45, "low_confidence_7d": 1.5, "craving_intensity_7d": 1.2,
    "craving_frequency_7d": 0.3, "stress_7d": 0.9, "negative_mood_7d": 0.6, "missed_check_ins_7d": 0.8,
    "halt_7d": 0.4, "short_sleep_7d": 0.5, "meeting_drop_off": 0.6, "medication_nonadherence_14d": 0.9,
    "transition_period": 0.3,
}
UNSEEN_EFFECT = 0.5      # a per-patient vulnerability the signals do not show
BASE = {"residential": -5.0, "outpatient": -4.5}


def clamp(x, lo=0.0, hi=1.0):
    return max(lo, min(hi, x))


def patient_week(rng):
    setting = "residential" if rng.random() < 0.35 else "outpatient"
    sparse = rng.random() < 0.25
    under = rng.random() < 0.2
    z = rng.gauss(0, 1)                      # vulnerability: drives every signal a little
    use = 1.0 if rng.random() < 1 / (1 + math.exp(-(-1.8 + 0.9 * z))) else 0.0
    craving = clamp(0.35 + 0.15 * z + rng.gauss(0, 0.15) + 0.15 * use)
    s = {
        "reported_use_14d": use,
        "prior_lapses_90d": float(min(3, max(0, int(round(rng.gauss(0.4 + 0.5 * z, 0.8)))))),
        "low_confidence_7d": clamp(0.35 + 0.15 * z + rng.gauss(0, 0.15)),
        "craving_intensity_7d": craving,
        "craving_frequency_7d": clamp(craving * 1.5 + rng.gauss(0, 0.2), 0, 2),
        "stress_7d": clamp(0.4 + 0.12 * z + rng.gauss(0, 0.15)),
        "negative_mood_7d": clamp(0.4 + 0.12 * z + rng.gauss(0, 0.15)),
        "missed_check_ins_7d": clamp(round(7 * clamp(0.15 + 0.1 * z + rng.gauss(0, 0.1))) / 7),
        "halt_7d": clamp(0.2 + 0.1 * z + rng.gauss(0, 0.1)),
        "short_sleep_7d": clamp(0.2 + 0.1 * z + rng.gauss(0, 0.15)),
        "meeting_drop_off": clamp(rng.gauss(0.1 + 0.15 * z, 0.2)),
        "medication_nonadherence_14d": clamp(rng.gauss(0.1 + 0.08 * z, 0.1)),
        "transition_period": 1.0 if rng.random() < 0.3 else 0.0,
    }
    logit = BASE[setting] + sum(TRUE_EFFECTS[k] * v for k, v in s.items()) + UNSEEN_EFFECT * z
    lapse = rng.random() < 1 / (1 + math.exp(-logit))
    seen = dict(s)
    if under:
        seen["craving_intensity_7d"] = s["craving_intensity_7d"] / 2
        seen["craving_frequency_7d"] = s["craving_frequency_7d"] / 2
    if sparse:
        seen["missed_check_ins_7d"] = clamp(s["missed_check_ins_7d"] + 0.5)
        for k in ("low_confidence_7d", "stress_7d", "negative_mood_7d", "halt_7d", "short_sleep_7d"):
            if rng.random() < 0.5:
                seen[k] = None
    groups = [setting, "sparse" if sparse else "regular", "under_reporting" if under else "reporting"]
    return seen, lapse, groups


def auc(scores, outcomes):
    """Mann-Whitney AUC with ties counted half."""
    pairs = sorted(zip(scores, outcomes))
    pos = sum(outcomes)
    neg = len(outcomes) - pos
    if pos == 0 or neg == 0:
        return float("nan")
    rank_sum, i = 0.0, 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        mean_rank = (i + j + 1) / 2
        rank_sum += mean_rank * sum(1 for k in range(i, j) if pairs[k][1])
        i = j
    return (rank_sum - pos * (pos + 1) / 2) / (pos * neg)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=".build/debug/recovery-server")
    parser.add_argument("--weeks", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    cohort = [patient_week(rng) for _ in range(args.weeks)]
    lines = "".join(json.dumps(seen) + "\n" for seen, _, _ in cohort)
    out = subprocess.run([args.binary, "risk", "score"], input=lines, capture_output=True, text=True, check=True).stdout.splitlines()
    scores = [json.loads(line)["score"] for line in out]
    assert len(scores) == len(cohort)
    outcomes = [lapse for _, lapse, _ in cohort]
    print(f"SYNTHETIC cohort: {len(cohort)} patient-weeks, seed {args.seed}, next-week lapse rate {sum(outcomes) / len(outcomes):.3f}")
    print(f"SYNTHETIC AUC (all): {auc(scores, outcomes):.3f}")
    brier = sum((s / 100 - o) ** 2 for s, o in zip(scores, outcomes)) / len(scores)
    print(f"SYNTHETIC Brier score: {brier:.4f}")
    print("SYNTHETIC calibration by decile of predicted risk (mean predicted vs observed lapse rate):")
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    for d in range(10):
        idx = order[d * len(order) // 10:(d + 1) * len(order) // 10]
        predicted = sum(scores[i] for i in idx) / len(idx) / 100
        observed = sum(outcomes[i] for i in idx) / len(idx)
        print(f"  decile {d + 1:2d}: n={len(idx):5d}  predicted {predicted:.3f}  observed {observed:.3f}")
    print("SYNTHETIC per subgroup:")
    for group in ("residential", "outpatient", "regular", "sparse", "reporting", "under_reporting"):
        idx = [i for i, (_, _, g) in enumerate(cohort) if group in g]
        s = [scores[i] for i in idx]
        o = [outcomes[i] for i in idx]
        print(f"  {group:16s} n={len(idx):5d}  lapse rate {sum(o) / len(o):.3f}  mean predicted {sum(s) / len(s) / 100:.3f}"
              f"  AUC {auc(s, o):.3f}")
    for threshold in (40, 60):
        flagged = [i for i in range(len(scores)) if scores[i] >= threshold]
        hits = sum(outcomes[i] for i in flagged)
        print(f"SYNTHETIC at a flag threshold of {threshold}: {len(flagged) / len(scores):.3f} of weeks flagged,"
              f" sensitivity {hits / max(1, sum(outcomes)):.3f}, positive predictive value {hits / max(1, len(flagged)):.3f}")


if __name__ == "__main__":
    main()
