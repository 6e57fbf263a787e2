"""Helpers shared by the benchmark scripts: a free loopback port, the
server's resident memory, and one wrk run parsed into numbers."""
import re
import socket
import subprocess


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def wrk(args, seconds, script=None, timeout_seconds=None):
    """wrk at 64 connections: requests/s, p50 and p99 in ms, non-2xx count, socket errors.
    timeout_seconds raises wrk's 2 s request timeout (for slow, large requests)."""
    command = ["wrk", "-t2", "-c64", f"-d{seconds}s", "--latency"] + (["-s", script] if script else []) \
        + (["--timeout", f"{timeout_seconds}s"] if timeout_seconds else []) + list(args)
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60).stdout

    def ms(label):
        m = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            return float("nan")
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": float(rps.group(1)) if rps else float("nan"), "p50": ms("50"), "p99": ms("99"),
            "non2xx": int(non2xx.group(1)) if non2xx else 0, "errors": errors.group(1) if errors else "none"}


ADMIN = {"email": "bench.admin@example.org", "password": "bench harbor lantern 42"}
# The demo data set's super admin (README.md), added by `seed --demo`.
SUPER_ADMIN = {"email": "admin@recoversystem.com", "password": "SuperAdmin123!"}


class BenchServer:
    """A release server on a fresh data directory (initialised with ADMIN, no
    second factor; with super_admin, `seed --demo` adds SUPER_ADMIN) on a free
    loopback port; a context manager that stops it and removes the directory."""

    def __init__(self, binary, prefix, super_admin=False):
        import os
        import tempfile
        import time

        import requests
        self.work = tempfile.mkdtemp(prefix=prefix)
        self.data = os.path.join(self.work, "data")
        self.db = os.path.join(self.data, "recovery.sqlite")
        env = dict(os.environ, RECOVERY_LOG_LEVEL="warning")
        subprocess.run([binary, "init", "--data-dir", self.data, "--admin-email", ADMIN["email"],
                        "--admin-password", ADMIN["password"], "--mfa-policy", "none"], check=True, capture_output=True, env=env)
        if super_admin:
            subprocess.run([binary, "seed", "--demo", "--data-dir", self.data], check=True, capture_output=True, env=env)
        self.base = f"http://127.0.0.1:{free_port()}"
        log = open(os.path.join(self.work, "server.log"), "w")
        # Plain HTTP on loopback, as the figures in README.md were measured.
        self.process = subprocess.Popen([binary, "serve", "--data-dir", self.data, "--port", self.base.rsplit(":", 1)[1]],
                                        stdout=log, stderr=log, env=dict(env, RECOVERY_SERVER_TLS_CERT_FILE=""))
        for _ in range(300):
            try:
                if requests.get(self.base + "/api/v1/health", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        self.admin_token = requests.post(self.base + "/api/v1/auth/staff/login", json=ADMIN, timeout=10).json()["access_token"]
        if super_admin:
            self.super_admin_token = requests.post(self.base + "/api/v1/auth/staff/login", json=SUPER_ADMIN, timeout=10).json()["access_token"]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        import shutil
        import signal
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.work, ignore_errors=True)


def arguments(doc, seconds, **extra):
    """The command line every benchmark takes (--binary, --seconds, plus
    `extra` integer options with their defaults), checked: wrk and sqlite3
    installed, a release build present."""
    import argparse
    import os
    import shutil
    import sys
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=os.path.join(root, ".build/release/recovery-server"))
    parser.add_argument("--seconds", type=int, default=seconds)
    for name, default in extra.items():
        parser.add_argument(f"--{name}", type=int, default=default)
    args = parser.parse_args()
    for tool in ("wrk", "sqlite3"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: apt-get install {tool}")
    if not os.path.exists(args.binary):
        sys.exit(f"no binary at {args.binary}: run swift build -c release first")
    return args
