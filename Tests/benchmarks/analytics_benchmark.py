#!/usr/bin/env python3
"""Analytics on a release build: insights, the monthly PDF report and risk recomputation.

Starts a release server on a fresh data directory (with the demo facility for a second
one), creates 1,000 patients through POST /api/v1/patients (200 in the benchmark facility,
800 in the demo facility), and writes their records straight into SQLite (plain columns
only; no free text): one patient with two years of daily check-ins, a craving a day,
three meetings a week and a daily dose; the others 30 days of check-ins, cravings and
meetings. Then prints:

  1. GET /api/v1/patients/{id}/insights for the two-year patient, sequentially
     (access check, 90 days of records, seven insights, durable audit entry): p50/p99 ms
     (target < 50 ms)
  2. GET /api/v1/facilities/{id}/reports/monthly.pdf for the 200-patient facility
     (read, audit, draw, stream): seconds per report (target < 2 s) and its size
  3. `recovery-server risk recompute` for all 1,000 active patients: milliseconds
     (target < 1 s), first pass (stores every score) and second (nothing changed)

Usage: python3 Tests/benchmarks/analytics_benchmark.py [--binary PATH] [--patients N]
"""
import concurrent.futures
import datetime
import os
import statistics
import subprocess
import time

import requests

from benchlib import BenchServer, arguments


def sqlite(db, sql):
    r = subprocess.run(["sqlite3", "-cmd", ".timeout 10000", str(db)], input=sql, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError(r.stderr)
    return r.stdout.strip()


def main():
    args = arguments(__doc__, 0, patients=1000)
    with BenchServer(args.binary, "recovery-analytics-bench-", super_admin=True) as bench:
        base, db = bench.base, bench.db
        admin = {"Authorization": f"Bearer {bench.admin_token}"}
        root = {"Authorization": f"Bearer {bench.super_admin_token}"}
        facility = sqlite(db, "SELECT facility_id FROM staff WHERE role = 'admin' ORDER BY created_at LIMIT 1")
        demo = sqlite(db, f"SELECT id FROM facilities WHERE id <> '{facility}' LIMIT 1")
        local = 200

        def create(i):
            ids = []
            with requests.Session() as s:
                for j in range(i, args.patients, 8):
                    body = {"first_name": f"Given{j}", "last_name": f"Family{j}", "date_of_birth": "1980-01-01",
                            "level_of_care": "residential" if j % 3 == 0 else "iop", "admission_date": "2026-01-05"}
                    if j >= local:
                        body["facility_id"] = demo
                    r = s.post(base + "/api/v1/patients", headers=admin if j < local else root, json=body, timeout=30)
                    r.raise_for_status()
                    ids.append((j, r.json()["patient"]["id"]))
            return ids
        started = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            ids = dict(pair for chunk in pool.map(create, range(8)) for pair in chunk)
        print(f"recovery-server {args.binary}  cores={os.cpu_count()}  patients={len(ids)} created in {time.perf_counter() - started:.1f} s")

        today = datetime.date.today()
        sqlite(db, "UPDATE patients SET status = 'active' WHERE deleted_at IS NULL;")
        long_patient = ids[0]
        fac_of = lambda j: facility if j < local else demo
        # Two years of daily records for one patient.
        sqlite(db, f"""
            CREATE TEMP TABLE d(n INTEGER);
            WITH RECURSIVE r(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM r WHERE n < 729) INSERT INTO d SELECT n FROM r;
            INSERT INTO patient_check_ins (id, facility_id, patient_id, checked_in_at, local_date, timezone, mood, craving, stress, confidence,
                used_since_last, halt_hungry, halt_angry, halt_lonely, halt_tired, sleep_hours)
              SELECT lower(hex(randomblob(16))), '{facility}', '{long_patient}', strftime('%Y-%m-%dT20:00:00.000Z', 'now', '-' || n || ' days'),
                     date('now', '-' || n || ' days'), 'UTC', 1 + abs(random()) % 10, abs(random()) % 11, abs(random()) % 11, abs(random()) % 11,
                     n % 97 = 0, n % 5 = 0, n % 7 = 0, n % 3 = 0, n % 2 = 0, 4 + abs(random()) % 5 FROM d;
            INSERT INTO patient_cravings (id, facility_id, patient_id, occurred_at, intensity, triggers, acted_on)
              SELECT lower(hex(randomblob(16))), '{facility}', '{long_patient}',
                     strftime('%Y-%m-%dT', 'now', '-' || n || ' days') || printf('%02d', abs(random()) % 24) || ':15:00.000Z',
                     1 + abs(random()) % 10, CASE n % 3 WHEN 0 THEN '["stress"]' WHEN 1 THEN '["loneliness","people"]' ELSE '[]' END, n % 101 = 0 FROM d;
            INSERT INTO meeting_attendance (id, facility_id, patient_id, meeting_kind, attended_at)
              SELECT lower(hex(randomblob(16))), '{facility}', '{long_patient}', 'aa', strftime('%Y-%m-%dT18:00:00.000Z', 'now', '-' || n || ' days')
              FROM d WHERE n % 7 IN (1, 3, 5);
            INSERT INTO patient_medications (id, facility_id, patient_id, name_enc) VALUES ('bench-med', '{facility}', '{long_patient}', x'00');
            INSERT INTO medication_doses (id, facility_id, patient_id, medication_id, scheduled_for, taken_at, status)
              SELECT lower(hex(randomblob(16))), '{facility}', '{long_patient}', 'bench-med', strftime('%Y-%m-%dT08:00:00.000Z', 'now', '-' || n || ' days'),
                     strftime('%Y-%m-%dT08:05:00.000Z', 'now', '-' || n || ' days'), CASE WHEN n % 9 = 0 THEN 'late' ELSE 'taken' END FROM d;
        """)
        # 30 days for everyone else.
        values = ",".join(f"('{pid}', '{fac_of(j)}')" for j, pid in ids.items() if j != 0)
        sqlite(db, f"""
            CREATE TEMP TABLE p(id TEXT, facility_id TEXT);
            INSERT INTO p VALUES {values};
            CREATE TEMP TABLE d(n INTEGER);
            WITH RECURSIVE r(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM r WHERE n < 29) INSERT INTO d SELECT n FROM r;
            INSERT INTO patient_check_ins (id, facility_id, patient_id, checked_in_at, local_date, timezone, mood, craving, stress, confidence,
                used_since_last, halt_tired, sleep_hours)
              SELECT lower(hex(randomblob(16))), p.facility_id, p.id, strftime('%Y-%m-%dT20:00:00.000Z', 'now', '-' || n || ' days'),
                     date('now', '-' || n || ' days'), 'UTC', 1 + abs(random()) % 10, abs(random()) % 11, abs(random()) % 11, abs(random()) % 11,
                     abs(random()) % 40 = 0, n % 2, 4 + abs(random()) % 5 FROM p, d WHERE abs(random()) % 10 < 8;
            INSERT INTO patient_cravings (id, facility_id, patient_id, occurred_at, intensity, triggers, acted_on)
              SELECT lower(hex(randomblob(16))), p.facility_id, p.id, strftime('%Y-%m-%dT19:30:00.000Z', 'now', '-' || n || ' days'),
                     1 + abs(random()) % 10, '["stress"]', abs(random()) % 30 = 0 FROM p, d WHERE n % 3 = 0;
            INSERT INTO meeting_attendance (id, facility_id, patient_id, meeting_kind, attended_at)
              SELECT lower(hex(randomblob(16))), p.facility_id, p.id, 'na', strftime('%Y-%m-%dT18:00:00.000Z', 'now', '-' || n || ' days')
              FROM p, d WHERE n % 7 = 2;
        """)
        print("records:", sqlite(db, "SELECT (SELECT count(*) FROM patient_check_ins) || ' check-ins, ' || (SELECT count(*) FROM patient_cravings)"
                                     " || ' cravings, ' || (SELECT count(*) FROM meeting_attendance) || ' meetings, ' || (SELECT count(*) FROM medication_doses) || ' doses'"))

        with requests.Session() as s:
            url = f"{base}/api/v1/patients/{long_patient}/insights"
            for _ in range(5):
                s.get(url, headers=admin, timeout=30).raise_for_status()
            times = []
            for _ in range(100):
                t = time.perf_counter()
                r = s.get(url, headers=admin, timeout=30)
                times.append((time.perf_counter() - t) * 1000)
                r.raise_for_status()
            times.sort()
            print(f"1. insights, patient with {r.json() and 730} days of daily records: p50 {statistics.median(times):.1f} ms,"
                  f" p99 {times[98]:.1f} ms, max {times[-1]:.1f} ms (100 sequential requests; target < 50 ms)")

            month = today.strftime("%Y-%m")
            url = f"{base}/api/v1/facilities/{facility}/reports/monthly.pdf?month={month}"
            runs, size = [], 0
            for _ in range(5):
                t = time.perf_counter()
                r = s.get(url, headers=admin, timeout=60)
                r.raise_for_status()
                runs.append(time.perf_counter() - t)
                size = len(r.content)
            pages = subprocess.run(["pdfinfo", "-"], input=r.content, capture_output=True).stdout.decode(errors="replace")
            pages = next((line.split()[-1] for line in pages.splitlines() if line.startswith("Pages:")), "?")
            print(f"2. monthly report {month}, {local} patients: {min(runs):.2f} s best, {statistics.median(runs):.2f} s median of 5"
                  f" ({size / 1024:.0f} KiB, {pages} pages; target < 2 s)")

        for label in ("first pass", "second pass (nothing changed)"):
            out = subprocess.run([args.binary, "risk", "recompute", "--data-dir", bench.data], capture_output=True, text=True,
                                 env=dict(os.environ, RECOVERY_LOG_LEVEL="warning"), check=True).stdout.strip()
            print(f"3. risk recompute, {label}: {out} (target < 1,000 ms)")


if __name__ == "__main__":
    main()
