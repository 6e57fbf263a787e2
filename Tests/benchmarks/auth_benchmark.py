#!/usr/bin/env python3
"""Sign-in benchmark: login latency, and whether logins starve other requests.

Starts the real server (release build) on a loopback port with the demo data,
then measures:
  1. sequential staff logins: latency p50/p99 (Argon2id dominates);
  2. 20 concurrent login loops: logins/s and latency p50/p99;
  3. GET /api/v1/health under wrk (64 connections) alone, then while the 20
     login loops run: requests/s and p50/p99, to show that password hashing
     (on its own two-thread pool) does not block the event loops;
  4. the server's resident memory before and after.
Prints numbers; asserts nothing (timings are not tests on shared machines).

Usage: python3 Tests/benchmarks/auth_benchmark.py [--binary PATH] [--seconds N]
Needs: a release build (swift build -c release), wrk (apt-get install wrk), requests.
"""
import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import requests

from benchlib import free_port, rss_mb, wrk

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LOGIN = {"email": "counselor@serenity.example", "password": "SerenityDemo2026!"}


def percentile(values, p):
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1)))))
    return ordered[k]


def login_once(session, base):
    start = time.perf_counter()
    r = session.post(base + "/api/v1/auth/staff/login", json=LOGIN, timeout=30)
    elapsed = (time.perf_counter() - start) * 1000
    if r.status_code != 200:
        raise RuntimeError(f"login answered {r.status_code}: {r.text[:200]}")
    return elapsed


def login_loops(base, threads, stop, latencies):
    def loop():
        with requests.Session() as session:
            while not stop.is_set():
                latencies.append(login_once(session, base))
    workers = [threading.Thread(target=loop, daemon=True) for _ in range(threads)]
    for w in workers:
        w.start()
    return workers


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build/release/recovery-server"))
    parser.add_argument("--seconds", type=int, default=10, help="length of each wrk run and of the concurrent-login run")
    parser.add_argument("--sequential", type=int, default=100, help="number of sequential logins")
    args = parser.parse_args()
    if not os.path.exists(args.binary):
        sys.exit(f"no binary at {args.binary}: run swift build -c release first")
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install wrk")

    data = tempfile.mkdtemp(prefix="recovery-bench-")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, RECOVERY_LOG_LEVEL="warning",
               RECOVERY_AUTH_ADDRESS_FAILURE_LIMIT="10000")
    log = open(os.path.join(data, "server.log"), "w")
    server = subprocess.Popen([args.binary, "serve", "--demo", "--data-dir", data + "/d", "--port", str(port)],
                              stdout=log, stderr=log, env=env)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if requests.get(base + "/api/v1/health", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        else:
            sys.exit("server did not start")
        rss_start = rss_mb(server.pid)

        with requests.Session() as session:
            login_once(session, base)  # warm-up
            sequential = [login_once(session, base) for _ in range(args.sequential)]

        stop, concurrent = threading.Event(), []
        workers = login_loops(base, 20, stop, concurrent)
        time.sleep(args.seconds)
        stop.set()
        for w in workers:
            w.join(timeout=30)

        health_alone = wrk([base + "/api/v1/health"], args.seconds)
        stop, during = threading.Event(), []
        workers = login_loops(base, 20, stop, during)
        time.sleep(1)
        health_loaded = wrk([base + "/api/v1/health"], args.seconds)
        stop.set()
        for w in workers:
            w.join(timeout=30)
        rss_end = rss_mb(server.pid)

        print(f"recovery-server {args.binary}  cores={os.cpu_count()}")
        print(f"sequential staff logins       n={len(sequential):5d}  p50={statistics.median(sequential):7.1f} ms"
              f"  p99={percentile(sequential, 99):7.1f} ms")
        print(f"20 concurrent login loops      n={len(concurrent):5d}  {len(concurrent) / args.seconds:7.1f} logins/s"
              f"  p50={percentile(concurrent, 50):7.1f} ms  p99={percentile(concurrent, 99):7.1f} ms")
        print(f"GET /health alone (wrk c=64)   {health_alone['rps']:9.0f} req/s  p50={health_alone['p50']:6.2f} ms"
              f"  p99={health_alone['p99']:6.2f} ms  non-2xx={health_alone['non2xx']}")
        print(f"GET /health + 20 login loops   {health_loaded['rps']:9.0f} req/s  p50={health_loaded['p50']:6.2f} ms"
              f"  p99={health_loaded['p99']:6.2f} ms  non-2xx={health_loaded['non2xx']}"
              f"  (logins meanwhile: {len(during)})")
        print(f"server RSS                     start={rss_start:.0f} MB  end={rss_end:.0f} MB")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
