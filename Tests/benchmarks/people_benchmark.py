#!/usr/bin/env python3
"""Patient reads under load: the list and the dashboard, with 5,000 patients.

Starts the real server (release build) on a loopback port with a fresh data
directory, creates 5,000 patients through POST /api/v1/patients (PHI
encrypted, each with a registration key and an audit entry), then runs wrk at
64 connections against
  1. GET /api/v1/patients?limit=50   (50 rows decrypted, one durable audit entry), as the
     facility admin and as the super admin (the demo data set's, added by `seed --demo`;
     the demo facility's five patients join the 5,000 in the super admin's list)
  2. GET /api/v1/patients/{id}/dashboard  (random patient per request; one durable audit entry)
and prints requests/s, latency p50/p99, the super admin's list throughput as a
share of the facility admin's, how many audit entries each run wrote, and the
server's memory. Asserts nothing.

Usage: python3 Tests/benchmarks/people_benchmark.py [--binary PATH] [--patients N] [--seconds N]
Needs: a release build (swift build -c release), wrk, requests.
"""
import concurrent.futures
import json
import os
import subprocess
import time

import requests

from benchlib import BenchServer, arguments, rss_mb, wrk



def sqlite(db, sql):
    return subprocess.run(["sqlite3", str(db), sql], capture_output=True, text=True, timeout=60).stdout.strip()


def main():
    args = arguments(__doc__, 15, patients=5000)

    with BenchServer(args.binary, "recovery-people-bench-", super_admin=True) as bench:
        base, data, token = bench.base, bench.data, bench.admin_token
        server, work = bench.process, bench.work
        auth = {"Authorization": f"Bearer {token}"}

        started = time.perf_counter()
        def create(i):
            with requests.Session() as s:
                ids = []
                for j in range(i, args.patients, 8):
                    r = s.post(base + "/api/v1/patients", headers=auth, timeout=30, json={
                        "first_name": f"Given{j}", "last_name": f"Family{j % 997}", "date_of_birth": f"19{50 + j % 50}-0{1 + j % 9}-1{j % 9}",
                        "email": f"patient{j}@example.org", "phone": f"+1 555 {j:07d}", "level_of_care": "iop",
                        "admission_date": "2026-10-01", "sobriety_date": "2026-09-15"})
                    r.raise_for_status()
                    ids.append(r.json()["patient"]["id"])
                return ids
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            ids = [pid for chunk in pool.map(create, range(8)) for pid in chunk]
        load_seconds = time.perf_counter() - started

        script = os.path.join(work, "dashboard.lua")
        with open(script, "w") as f:
            f.write("ids = {" + ",".join(json.dumps(i) for i in ids[:2000]) + "}\n")
            f.write(f'request = function()\n  local id = ids[math.random(#ids)]\n'
                    f'  return wrk.format("GET", "/api/v1/patients/" .. id .. "/dashboard", {{["Authorization"] = "Bearer {token}"}})\nend\n')
        db = os.path.join(data, "recovery.sqlite")
        counts = [int(sqlite(db, "SELECT count(*) FROM audit_logs"))]
        listing = wrk(["-H", f"Authorization: Bearer {token}", base + "/api/v1/patients?limit=50"], args.seconds)
        counts.append(int(sqlite(db, "SELECT count(*) FROM audit_logs")))
        super_listing = wrk(["-H", f"Authorization: Bearer {bench.super_admin_token}", base + "/api/v1/patients?limit=50"], args.seconds)
        counts.append(int(sqlite(db, "SELECT count(*) FROM audit_logs")))
        dashboard = wrk([base], args.seconds, script)
        counts.append(int(sqlite(db, "SELECT count(*) FROM audit_logs")))
        rss = rss_mb(server.pid)

        print(f"recovery-server {args.binary}  cores={os.cpu_count()}  patients={len(ids)} (created in {load_seconds:.1f} s,"
              f" {len(ids) / load_seconds:.0f}/s through POST /patients)")
        runs = (("GET /patients?limit=50 (admin)", listing), ("GET /patients?limit=50 (super admin)", super_listing),
                ("GET /patients/{id}/dashboard", dashboard))
        for (name, result), entries in zip(runs, [b - a for a, b in zip(counts, counts[1:])]):
            print(f"{name:38s} {result['rps']:8.0f} req/s  p50={result['p50']:6.2f} ms  p99={result['p99']:6.2f} ms"
                  f"  non-2xx={result['non2xx']}  socket errors: {result['errors']}  audit entries written: {entries}")
        print(f"super admin's list / facility admin's list: {super_listing['rps'] / listing['rps']:.2f}")
        print(f"server RSS after the runs: {rss:.0f} MB")



if __name__ == "__main__":
    main()
