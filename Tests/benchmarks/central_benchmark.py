#!/usr/bin/env python3
"""Central's ingest at organisation scale: CLINICS clinics x WEEKS weekly
metrics payloads into one SQLite file, then the super admin's roll-up reads.

Starts the real server (release build) in `mode: central` on a loopback port
with a fresh data directory (as Tests/e2e/test_federation.py does: `init` with
RECOVERY_MODE=central, the first account is the super admin, who enrols a
TOTP second factor), then:
  1. enrolment: the super admin creates CLINICS one-time codes
     (POST /federation/enrollments) and each simulated clinic redeems its
     code with its own Ed25519 public key (POST /federation/enroll, the body
     `recovery-server federation enroll` sends: canonical {code, public_key});
  2. ingest: every clinic sends WEEKS payloads, one per ISO week ending with
     last week, sequence 1..WEEKS in order, each canonical JSON (keys sorted,
     no spaces) of one facility's full catalogue snapshot signed with the
     clinic's key; the envelope is {clinic_id, payload, signature} as the
     clinic's outbox posts it. Figures are drawn per clinic (census 5 to 120,
     so small clinics' cells are suppressed, with complementary suppression of
     census/admissions/discharges and of rates and means). Payloads are built
     and signed before the clock starts; WORKERS processes x THREADS threads
     send them over keep-alive connections, each clinic's weeks in order from
     one thread, as a clinic's outbox does;
  3. reads (REPS each, p50/p99): one metric of one facility over the year,
     one metric of every facility over the year (the API caps a page at
     10,000 cells and has no offset, so a year of 1,000 facilities is read in
     windows of whole weeks), the first 10,000-cell page alone, and
     GET /federation/facilities (every facility with its latest week).
Prints enrolment and ingest times, payloads/s and per-payload p50/p99, the
database and WAL sizes, the rows stored, the server's memory and the reads'
latencies. Asserts nothing.

The registration throttle counts each code redemption in flight as a failure
against the client address until it succeeds (auth.address_failure_limit,
20 by default, over the window), so redemptions from this one address run at
most ENROL_THREADS (8) at a time. Payloads have no per-address limit.

Usage: python3 Tests/benchmarks/central_benchmark.py [--binary PATH] [--clinics N] [--weeks N]
           [--workers N] [--threads N] [--reps N]
Needs: a release build (swift build -c release), sqlite3, requests, and
PyNaCl for Ed25519 (pip install pynacl; not in Tests/e2e/requirements.txt).
"""
import argparse
import base64
import datetime
import hashlib
import hmac
import http.client
import json
import multiprocessing
import os
import random
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import requests
from nacl.signing import SigningKey

from benchlib import free_port, rss_mb

EMAIL = "root@central.example.org"
PASSWORD = "tidal harbor lantern 42"
ENROL_THREADS = 8
PAGE_LIMIT = 10_000  # the metrics API's largest page
METRICS = ["census", "admissions", "discharges", "active_patients", "check_ins", "check_in_completion_rate",
           "cravings_logged", "craving_mean_intensity", "lapses", "crisis_alerts_raised", "crisis_alerts_acknowledged"]


def totp(secret, at=None):
    """RFC 6238 (HMAC-SHA1, 30 s, 6 digits), as Tests/e2e/test_sign_in.py."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", int((time.time() if at is None else at) // 30)), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


def canonical(value):
    """The server's JSONValue.canonicalText: keys sorted, no spaces; a whole
    number without decimals (100, not 100.0)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def quantile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


# ---- simulated clinics ------------------------------------------------------

def small(n):
    return 1 <= n <= 10


def cells(rng, census_before, size):
    """One facility's week, suppressed as the clinic's Suppression.cells does."""
    admissions = max(0, int(rng.gauss(size / 8, size / 16 + 1)))
    discharges = max(0, min(census_before + admissions, int(rng.gauss(size / 8, size / 16 + 1))))
    census = census_before + admissions - discharges
    in_care = census_before + admissions
    days = sum(rng.randint(1, 7) for _ in range(admissions)) + census_before * 7 - discharges * rng.randint(0, 3)
    days = max(days, in_care)
    active = int(in_care * rng.uniform(0.5, 0.95))
    check_ins = min(days, int(active * rng.uniform(2.5, 6.5)))
    cravings = int(active * rng.uniform(0.3, 2.0))
    intensity = sum(rng.randint(1, 10) for _ in range(cravings))
    lapses = int(cravings * rng.uniform(0.02, 0.15))
    raised = rng.choice([0, 0, 0, 0, 1, 2]) if size < 60 else rng.randint(0, 14)
    acknowledged = int(raised * rng.uniform(0.7, 1.0))
    counts = {"census": census, "admissions": admissions, "discharges": discharges, "active_patients": active,
              "check_ins": check_ins, "cravings_logged": cravings, "lapses": lapses,
              "crisis_alerts_raised": raised, "crisis_alerts_acknowledged": acknowledged}
    values = {k: ("suppressed" if small(v) else v) for k, v in counts.items()}
    if any(values[k] == "suppressed" for k in ("census", "admissions", "discharges")):
        for k in ("census", "admissions", "discharges"):
            values[k] = "suppressed"
    if days == 0:
        values["check_in_completion_rate"] = None
    elif small(check_ins) or small(in_care) or small(days):
        values["check_in_completion_rate"] = "suppressed"
    else:
        values["check_in_completion_rate"] = round(min(100.0, check_ins * 100 / days), 1)
    if cravings == 0:
        values["craving_mean_intensity"] = None
    elif small(cravings):
        values["craving_mean_intensity"] = "suppressed"
    else:
        values["craving_mean_intensity"] = round(intensity * 10 / cravings) / 10
    for k in ("check_in_completion_rate", "craving_mean_intensity"):
        # canonical JSON writes a whole rate or mean as an integer (100, not 100.0), as the server does
        if isinstance(values[k], float) and values[k].is_integer():
            values[k] = int(values[k])
    return census, [{"metric": m, "value": values[m]} for m in METRICS]


def iso_weeks(count):
    """The last `count` complete ISO weeks, oldest first: (start, end, name)."""
    today = datetime.datetime.now(datetime.timezone.utc).date()
    this_monday = today - datetime.timedelta(days=today.weekday())
    weeks = []
    for back in range(count, 0, -1):
        monday = this_monday - datetime.timedelta(weeks=back)
        year, week, _ = monday.isocalendar()
        weeks.append((monday.isoformat(), (monday + datetime.timedelta(days=6)).isoformat(), f"{year:04d}-W{week:02d}"))
    return weeks


def clinic_bodies(clinic_id, seed, name, weeks):
    """Every envelope one clinic sends, in sequence order."""
    rng = random.Random(seed)
    key = SigningKey(hashlib.sha256(f"clinic-{seed}".encode()).digest())
    # Most clinics are mid-sized; about a fifth are small enough that most cells are suppressed.
    size = rng.choice([rng.randint(5, 14)] * 1 + [rng.randint(15, 120)] * 4)
    census = size
    ref = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    bodies = []
    for sequence, (start, end, week) in enumerate(weeks, 1):
        census, facility_cells = cells(rng, census, size)
        payload = canonical({"clinic_id": clinic_id, "sequence": sequence, "schema_version": 1,
                             "period": {"start": start, "end": end, "week": week},
                             "facilities": [{"facility_ref": ref, "name": name, "cells": facility_cells}]})
        signature = key.sign(payload.encode()).signature
        bodies.append(canonical({"clinic_id": clinic_id, "payload": payload,
                                 "signature": base64.b64encode(signature).decode()}).encode())
    return bodies


def public_key(seed):
    return base64.b64encode(bytes(SigningKey(hashlib.sha256(f"clinic-{seed}".encode()).digest()).verify_key)).decode()


# ---- the sending side -------------------------------------------------------

def send_worker(port, clinics, threads, out):
    """One process: `threads` threads, each a keep-alive connection sending whole
    clinics' weeks in order. Puts (latencies in seconds, outcome counts)."""
    queue = list(clinics)
    lock = threading.Lock()
    latencies, outcomes = [], {}

    def run():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        mine, counts = [], {}
        while True:
            with lock:
                if not queue:
                    break
                bodies = queue.pop()
            for body in bodies:
                started = time.perf_counter()
                connection.request("POST", "/api/v1/federation/payloads", body=body,
                                   headers={"Content-Type": "application/json"})
                answer = connection.getresponse()
                text = answer.read()
                mine.append(time.perf_counter() - started)
                outcome = json.loads(text).get("outcome") if answer.status == 200 else f"{answer.status} {text[:120]!r}"
                counts[outcome] = counts.get(outcome, 0) + 1
        with lock:
            latencies.extend(mine)
            for k, v in counts.items():
                outcomes[k] = outcomes.get(k, 0) + v

    pool = [threading.Thread(target=run) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    out.put((latencies, outcomes))


# ---- the server -------------------------------------------------------------

class Central:
    def __init__(self, binary):
        self.work = tempfile.mkdtemp(prefix="central-bench-")
        self.data = os.path.join(self.work, "data")
        self.db = os.path.join(self.data, "recovery.sqlite")
        self.env = dict(os.environ, RECOVERY_LOG_LEVEL="warning", RECOVERY_MODE="central", RECOVERY_SERVER_TLS_CERT_FILE="")
        subprocess.run([binary, "init", "--data-dir", self.data, "--admin-email", EMAIL, "--admin-password", PASSWORD,
                        "--facility-name", "Central Office"], check=True, capture_output=True, env=self.env)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(os.path.join(self.work, "server.log"), "w")
        self.process = subprocess.Popen([binary, "serve", "--data-dir", self.data, "--port", str(self.port)],
                                        stdout=self.log, stderr=self.log, env=self.env)
        for _ in range(300):
            try:
                if requests.get(self.base + "/api/v1/health", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.session = requests.Session()
        first = self.session.post(self.base + "/api/v1/auth/staff/login", json={"email": EMAIL, "password": PASSWORD}, timeout=30).json()
        setup = self.session.post(self.base + "/api/v1/auth/mfa/enrol/setup", json={"mfa_token": first["mfa_token"]}, timeout=30).json()
        self.secret = setup["secret"]
        self.last_code_at = time.time()
        confirmed = self.session.post(self.base + "/api/v1/auth/mfa/enrol/confirm", timeout=30,
                                      json={"mfa_token": first["mfa_token"], "code": totp(self.secret)}).json()
        self.token = confirmed["access_token"]

    def sign_in_again(self):
        """A fresh access token (15 minutes) with a TOTP code of a later step than the last one used."""
        wait = 31 - (time.time() - self.last_code_at)
        if wait > 0:
            time.sleep(wait)
        first = self.session.post(self.base + "/api/v1/auth/staff/login", json={"email": EMAIL, "password": PASSWORD}, timeout=30).json()
        self.last_code_at = time.time()
        self.token = self.session.post(self.base + "/api/v1/auth/mfa/verify", timeout=30,
                                       json={"mfa_token": first["mfa_token"], "code": totp(self.secret)}).json()["access_token"]

    def get(self, path, **params):
        return self.session.get(self.base + path, params=params, headers={"Authorization": f"Bearer {self.token}"}, timeout=300)

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.work, ignore_errors=True)


def cpu_seconds(pid):
    """A process's user + system CPU time so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def mib(path):
    return os.path.getsize(path) / 2**20 if os.path.exists(path) else 0.0


def sql(db, query):
    return subprocess.run(["sqlite3", "-readonly", "-batch", db, query], capture_output=True, text=True, timeout=600).stdout.strip()


def timed(reps, call):
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - started)
    return times, result


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=os.path.join(root, ".build/release/recovery-server"))
    parser.add_argument("--clinics", type=int, default=1000)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--workers", type=int, default=4, help="sending processes")
    parser.add_argument("--threads", type=int, default=4, help="threads (connections) per sending process")
    parser.add_argument("--reps", type=int, default=20, help="repetitions of each read")
    args = parser.parse_args()
    if not shutil.which("sqlite3"):
        sys.exit("sqlite3 is missing: apt-get install sqlite3")
    if not os.path.exists(args.binary):
        sys.exit(f"no binary at {args.binary}: run swift build -c release first")

    central = Central(args.binary)
    try:
        print(f"central on {central.base}, {args.clinics} clinics x {args.weeks} weeks, "
              f"{args.workers} sending processes x {args.threads} connections, {os.cpu_count()} cores, "
              f"load average {os.getloadavg()[0]:.2f} at start")

        # 1. Enrolment: codes by the super admin, redeemed by each clinic with its key.
        auth = {"Authorization": f"Bearer {central.token}"}
        names = [f"Clinic {i:04d} Recovery Center" for i in range(args.clinics)]
        started = time.perf_counter()
        codes = []
        create_times = []
        for name in names:
            t = time.perf_counter()
            answer = central.session.post(central.base + "/api/v1/federation/enrollments", json={"facility_name": name}, headers=auth, timeout=30)
            create_times.append(time.perf_counter() - t)
            codes.append(answer.json()["code"])
        created = time.perf_counter() - started

        clinic_ids = [None] * args.clinics
        redeem_times = []
        next_index = iter(range(args.clinics))
        lock = threading.Lock()

        def redeem():
            session = requests.Session()
            while True:
                with lock:
                    i = next(next_index, None)
                if i is None:
                    return
                body = canonical({"code": codes[i], "public_key": public_key(i)})
                t = time.perf_counter()
                answer = session.post(central.base + "/api/v1/federation/enroll", data=body,
                                      headers={"Content-Type": "application/json"}, timeout=30)
                with lock:
                    redeem_times.append(time.perf_counter() - t)
                if answer.status_code == 201:
                    clinic_ids[i] = answer.json()["clinic_id"]
                else:
                    print(f"  redemption {i}: {answer.status_code} {answer.text[:200]}")

        started = time.perf_counter()
        pool = [threading.Thread(target=redeem) for _ in range(ENROL_THREADS)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        redeemed = time.perf_counter() - started
        enrolled = sum(1 for c in clinic_ids if c)
        print(f"enrolment: {args.clinics} codes created in {created:.1f} s (sequential, p50 {quantile(create_times, .5) * 1000:.1f} ms, "
              f"p99 {quantile(create_times, .99) * 1000:.1f} ms); {enrolled} redeemed in {redeemed:.1f} s "
              f"({ENROL_THREADS} threads, {enrolled / redeemed:.0f}/s, p50 {quantile(redeem_times, .5) * 1000:.1f} ms, "
              f"p99 {quantile(redeem_times, .99) * 1000:.1f} ms)")

        # 2. Ingest: payloads built and signed first, then sent.
        weeks = iso_weeks(args.weeks)
        started = time.perf_counter()
        clinics = [clinic_bodies(clinic_ids[i], i, names[i], weeks) for i in range(args.clinics) if clinic_ids[i]]
        total = sum(len(c) for c in clinics)
        sizes = [len(b) for c in clinics for b in c]
        print(f"built and signed {total} payloads in {time.perf_counter() - started:.1f} s "
              f"(envelope {statistics.mean(sizes):.0f} bytes on average), weeks {weeks[0][2]} to {weeks[-1][2]}")
        rss_before = rss_mb(central.process.pid)
        out = multiprocessing.Queue()
        slices = [clinics[i::args.workers] for i in range(args.workers)]
        senders = [multiprocessing.Process(target=send_worker, args=(central.port, s, args.threads, out)) for s in slices]
        server_cpu, client_cpu = cpu_seconds(central.process.pid), os.times()
        started = time.perf_counter()
        for p in senders:
            p.start()
        results = [out.get() for _ in senders]
        elapsed = time.perf_counter() - started
        for p in senders:
            p.join()
        server_cpu = cpu_seconds(central.process.pid) - server_cpu
        client_cpu = sum(os.times()[2:4]) - sum(client_cpu[2:4])
        latencies = [x for r in results for x in r[0]]
        outcomes = {}
        for _, counts in results:
            for k, v in counts.items():
                outcomes[k] = outcomes.get(k, 0) + v
        print(f"ingest: {len(latencies)} payloads in {elapsed:.1f} s = {len(latencies) / elapsed:.0f} payloads/s; "
              f"per payload p50 {quantile(latencies, .5) * 1000:.1f} ms, p99 {quantile(latencies, .99) * 1000:.1f} ms, "
              f"max {max(latencies) * 1000:.0f} ms; outcomes {outcomes}")
        print(f"CPU during ingest: server {server_cpu:.1f} s ({server_cpu / elapsed:.2f} cores, "
              f"{server_cpu / max(1, len(latencies)) * 1000:.2f} ms per payload), sending processes {client_cpu:.1f} s "
              f"({client_cpu / elapsed:.2f} cores)")
        print(f"server memory: {rss_before:.0f} MB RSS before ingest, {rss_mb(central.process.pid):.0f} MB after")
        print(f"database after ingest: {mib(central.db):.1f} MiB + WAL {mib(central.db + '-wal'):.1f} MiB")
        print("rows: " + sql(central.db, "SELECT (SELECT count(*) FROM federation_receipts) || ' receipts, ' || "
                                         "(SELECT count(*) FROM federation_facilities) || ' facilities, ' || "
                                         "(SELECT count(*) FROM federation_metric_cells) || ' metric cells (' || "
                                         "(SELECT count(*) FROM federation_metric_cells WHERE suppressed = 1) || ' suppressed), ' || "
                                         "(SELECT count(*) FROM audit_logs) || ' audit entries';"))
        print("pages: " + sql(central.db, "SELECT group_concat(name || ' ' || round(sum_bytes / 1048576.0, 1) || ' MiB', ', ') FROM "
                                          "(SELECT name, sum(pgsize) AS sum_bytes FROM dbstat GROUP BY name ORDER BY sum_bytes DESC LIMIT 6);")
              or "pages: (sqlite3 without dbstat)")

        # 3. Reads.
        central.sign_in_again()
        first, last = weeks[0][0], weeks[-1][0]
        facility = central.get("/api/v1/federation/facilities").json()["data"][0]["id"]
        facilities = sum(1 for c in clinic_ids if c)
        per_page = max(1, PAGE_LIMIT // max(1, facilities))  # whole weeks per request

        def year_of_one_metric():
            cells, requests_made = 0, 0
            for i in range(0, len(weeks), per_page):
                window = weeks[i:i + per_page]
                answer = central.get("/api/v1/federation/metrics", metric="census", **{"from": window[0][0], "to": window[-1][0]},
                                     limit=PAGE_LIMIT)
                cells += len(answer.json()["data"])
                requests_made += 1
            return cells, requests_made

        reads = [
            ("one facility, census, a year", lambda: (len(central.get("/api/v1/federation/metrics", facility_id=facility, metric="census",
                                                                        **{"from": first, "to": last}).json()["data"]), 1)),
            ("every facility, census, a year", year_of_one_metric),
            ("every facility, census, first 10,000-cell page", lambda: (len(central.get("/api/v1/federation/metrics", metric="census",
                                                                                          **{"from": first, "to": last}, limit=PAGE_LIMIT).json()["data"]), 1)),
            ("GET /federation/facilities (latest week of each)", lambda: (len(central.get("/api/v1/federation/facilities").json()["data"]), 1)),
        ]
        for label, call in reads:
            call()  # warm
            times, (rows, made) = timed(args.reps, call)
            print(f"read {label}: {rows} rows in {made} request(s), p50 {quantile(times, .5) * 1000:.1f} ms, "
                  f"p99 {quantile(times, .99) * 1000:.1f} ms ({args.reps} runs)")
        print(f"server memory after the reads: {rss_mb(central.process.pid):.0f} MB RSS; "
              f"database {mib(central.db):.1f} MiB + WAL {mib(central.db + '-wal'):.1f} MiB")
    finally:
        central.stop()


if __name__ == "__main__":
    main()
