"""End-to-end tests of the foundation: init / migrate / seed / serve, configuration,
the HTTP error conventions, graceful shutdown and data protection at rest.

Each test drives the real binary and asserts what an operator or API client would notice.
"""

from __future__ import annotations

import base64
import json
import re
import signal
import socket
import stat
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    HOST,
    REPO_ROOT,
    SERVER_BIN,
    assert_no_crash_signature,
    clean_env,
    free_port,
    init_data_dir,
    log_records,
    port_is_listening,
    run_cli,
    sha256,
    sqlite3_cli,
)

SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def assert_error_envelope(response, status: int, code: str) -> dict:
    """The response is the documented error envelope with this status and code."""
    assert response.status_code == status, f"{response.status_code} {response.text[:500]}"
    assert response.headers.get("Content-Type", "").startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == {"error", "request_id"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], body
    assert isinstance(body["error"]["details"], list), body
    request_id = response.headers.get("X-Request-Id")
    assert request_id, f"no X-Request-Id header: {response.headers}"
    assert body["request_id"] == request_id, (body, request_id)
    return body


def run_serve_expecting_exit(args: list[str], *, env: dict[str, str] | None = None,
                             timeout: float = 10.0) -> tuple[subprocess.CompletedProcess, int]:
    """Runs `serve` that is expected to refuse to start. Returns (result, port).
    If it is still running after `timeout` it is treated as having started serving."""
    port = free_port()
    cmd = [str(SERVER_BIN), "serve", "--host", HOST, "--port", str(port), *args]
    proc = subprocess.Popen(cmd, env=clean_env(env), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        listening = port_is_listening(port)
        proc.send_signal(signal.SIGTERM)
        try:
            stdout, stderr = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            stdout, stderr = proc.communicate(timeout=5)
        pytest.fail(f"serve {args} was expected to refuse to start but was still running after {timeout}s "
                    f"(listening on its port: {listening})\nstderr:\n{stderr}")
    return subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr), port


# =========================================================================== init + serve


def test_init_then_serve_reports_healthy_database(server):
    response = server.get("/api/v1/health")
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers.get("X-Request-Id"), response.headers
    body = response.json()
    assert body["status"] == "ok", body
    assert body["mode"] == "clinic", body
    database = body["database"]
    assert database["ok"] is True, body
    assert isinstance(database["expected_schema_version"], int) and database["expected_schema_version"] >= 1, body
    assert database["schema_version"] == database["expected_schema_version"], body
    assert isinstance(body["uptime_seconds"], int) and body["uptime_seconds"] >= 0, body

    # The version the API reports is the binary's --version.
    version = run_cli("--version")
    assert version.returncode == 0
    assert body["version"] == version.stdout.strip(), (body["version"], version.stdout)

    # Browsers must treat responses as data and never cache PHI.
    assert response.headers.get("X-Content-Type-Options") == "nosniff", response.headers
    assert "no-store" in response.headers.get("Cache-Control", ""), response.headers


def test_init_creates_private_data_dir_and_key(tmp_path):
    directory = tmp_path / "fresh" / "data"
    result = init_data_dir(directory)
    assert "BACK THIS FILE UP" in result.stdout, result.stdout
    assert ADMIN_PASSWORD not in result.stdout + result.stderr, "init echoed the password it was given"

    key = directory / "master.key"
    database = directory / "recovery.sqlite"
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700, oct(directory.stat().st_mode)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600, oct(key.stat().st_mode)
    assert key.stat().st_size == 32
    assert database.is_file()
    for path in directory.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, f"{path.name} is readable by others"


def test_init_without_password_prints_a_generated_one(tmp_path):
    result = run_cli("init", "--data-dir", tmp_path / "data", "--admin-email", ADMIN_EMAIL)
    assert result.returncode == 0, result.stderr
    match = re.search(r"admin password[^:]*:\s*(\S.*)$", result.stdout, re.MULTILINE)
    assert match, f"no generated password in init output:\n{result.stdout}"
    assert len(match.group(1).strip()) >= 12, match.group(1)


def test_second_init_changes_nothing(data_dir):
    files = [data_dir / name for name in ("master.key", "recovery.sqlite", "recovery.sqlite-wal")]
    before = {path.name: sha256(path) for path in files if path.exists()}
    assert {"master.key", "recovery.sqlite"} <= set(before)

    result = run_cli("init", "--data-dir", data_dir, "--admin-email", "someone.else@example.org",
                     "--admin-password", "another long passphrase 99", "--facility-name", "Other Clinic")

    assert result.returncode == 0, result.stderr
    assert "already initialised" in result.stdout, result.stdout
    after = {path.name: sha256(path) for path in files if path.exists()}
    assert after == before


def test_serve_without_master_key_refuses_clearly(data_dir):
    key = data_dir / "master.key"
    key.unlink()
    database_before = sha256(data_dir / "recovery.sqlite")

    started = time.monotonic()
    result, port = run_serve_expecting_exit(["--data-dir", str(data_dir)])

    assert time.monotonic() - started < 10
    assert result.returncode == 1, f"exit {result.returncode} (negative = killed by a signal)\n{result.stderr}"
    assert "master key" in result.stderr.lower(), result.stderr
    assert_no_crash_signature(result.stdout, result.stderr)
    assert not key.exists(), "serve created a new master key instead of refusing"
    assert sha256(data_dir / "recovery.sqlite") == database_before
    assert not port_is_listening(port)


def test_serve_refuses_database_without_key_check(data_dir):
    """Only a database whose init never finished lacks the key check; serve must not take any key for it."""
    database = data_dir / "recovery.sqlite"
    sqlite3_cli(database, "DELETE FROM settings WHERE scope = 'box' AND key = 'master_key_check';")
    key_before = sha256(data_dir / "master.key")
    settings_before = sqlite3_cli(database, "SELECT scope, key, value FROM settings ORDER BY 1, 2;")

    result, port = run_serve_expecting_exit(["--data-dir", str(data_dir)])

    assert result.returncode == 1, f"exit {result.returncode}\n{result.stderr}"
    assert "key check" in result.stderr and "never completely initialised" in result.stderr, result.stderr
    assert_no_crash_signature(result.stdout, result.stderr)
    # Nothing written: no key check taken from the key at hand, no key made.
    assert sqlite3_cli(database, "SELECT scope, key, value FROM settings ORDER BY 1, 2;") == settings_before
    assert sha256(data_dir / "master.key") == key_before
    assert not port_is_listening(port)


def test_serve_refuses_database_from_newer_version(data_dir):
    database = data_dir / "recovery.sqlite"
    sqlite3_cli(database, "INSERT INTO grdb_migrations (identifier) VALUES ('9999_future');")

    result, port = run_serve_expecting_exit(["--data-dir", str(data_dir)])

    assert result.returncode == 1, result.stderr
    assert "newer" in result.stderr and "9999_future" in result.stderr, result.stderr
    assert_no_crash_signature(result.stdout, result.stderr)
    assert not port_is_listening(port)

    migrate = run_cli("migrate", "--data-dir", data_dir)
    assert migrate.returncode == 1, migrate.stdout + migrate.stderr
    assert "newer" in migrate.stderr, migrate.stderr
    # Never downgraded: the newer version's record is still there.
    assert sqlite3_cli(database, "SELECT count(*) FROM grdb_migrations WHERE identifier = '9999_future';") == "1"


# =========================================================================== configuration


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize("case", ["port_not_a_number", "unknown_mode", "unknown_key_in_file", "file_not_json"])
def test_bad_configuration_stops_startup_naming_the_setting(case, data_dir, tmp_path):
    env: dict[str, str] = {}
    args = ["--data-dir", str(data_dir)]
    if case == "port_not_a_number":
        env["RECOVERY_SERVER_PORT"] = "abc"
        expected = "server.port"
    elif case == "unknown_mode":
        env["RECOVERY_MODE"] = "hospital"
        expected = "mode"
    elif case == "unknown_key_in_file":
        args += ["--config", str(_write(tmp_path / "typo.json", json.dumps({"sever": {"port": 1}})))]
        expected = "sever"
    else:
        args += ["--config", str(_write(tmp_path / "broken.json", "server:\n  port: 3000\n"))]
        expected = "not valid JSON"

    result, port = run_serve_expecting_exit(args, env=env)

    assert result.returncode == 78, f"exit {result.returncode}\n{result.stderr}"
    assert "configuration error" in result.stderr, result.stderr
    assert expected in result.stderr, result.stderr
    if case != "file_not_json":
        assert f"configuration error in {expected}" in result.stderr, result.stderr
    assert "serving" not in result.stdout + result.stderr
    assert_no_crash_signature(result.stdout, result.stderr)
    assert not port_is_listening(port)


# =========================================================================== bad requests


def test_unknown_route_gets_404_envelope(server):
    response = server.get("/api/v1/no-such-endpoint")
    assert_error_envelope(response, 404, "route_not_found")
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    server.assert_still_serving()


def test_wrong_method_gets_405_with_allow(server):
    response = server.request("POST", "/api/v1/health", json={})
    assert_error_envelope(response, 405, "method_not_allowed")
    allowed = {method.strip() for method in response.headers.get("Allow", "").split(",")}
    assert "GET" in allowed and "POST" not in allowed, response.headers
    server.assert_still_serving()


def test_oversized_body_gets_413_envelope(server):
    body = b"{" + b" " * (2 * 1024 * 1024) + b"}"  # 2 MiB, over the 1 MiB default limit
    response = server.request("POST", "/api/v1/health", data=body,
                              headers={"Content-Type": "application/json"}, timeout=30)
    assert_error_envelope(response, 413, "body_too_large")
    server.assert_still_serving()


def test_over_long_url_path_is_refused_without_harm(server):
    response = server.get("/api/v1/" + "x" * 10_000)
    assert_error_envelope(response, 404, "route_not_found")
    server.assert_still_serving()

    # Beyond what the HTTP parser accepts: a 4xx (of whatever form), never a crash.
    response = server.get("/api/v1/" + "x" * 100_000)
    assert 400 <= response.status_code < 500, response.status_code
    server.assert_still_serving()


def _raw_exchange(port: int, payload: bytes, timeout: float = 5.0) -> bytes:
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.sendall(payload)
        received = b""
        try:
            while len(received) < 65536:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                received += chunk
        except (socket.timeout, ConnectionResetError):
            pass
        return received


@pytest.mark.parametrize("payload", [
    bytes(range(256)) * 20 + b"\r\n\r\n",                              # binary noise
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(200),      # a TLS ClientHello
    b"THIS IS NOT HTTP AT ALL\r\n\r\n",                                 # a text protocol
    b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",  # malformed header
], ids=["binary", "tls_hello", "text", "negative_length"])
def test_garbage_on_the_socket_does_not_hurt_the_server(server, payload):
    reply = _raw_exchange(server.port, payload)
    if reply:
        assert reply.startswith(b"HTTP/1.1 4"), reply[:200]
    server.assert_still_serving()


def test_client_request_id_is_echoed_only_when_safe(server):
    response = server.get("/api/v1/no-such-endpoint", headers={"X-Request-Id": "abc12345-def"})
    body = assert_error_envelope(response, 404, "route_not_found")
    assert response.headers["X-Request-Id"] == "abc12345-def"
    assert body["request_id"] == "abc12345-def"

    for unsafe in ("abc<script>12345", "abc12345 def", "short", "x" * 200, "abc12345\u00e9def"):
        response = server.get("/api/v1/no-such-endpoint", headers={"X-Request-Id": unsafe.encode()})
        body = assert_error_envelope(response, 404, "route_not_found")
        replaced = response.headers["X-Request-Id"]
        assert replaced != unsafe and SAFE_REQUEST_ID.match(replaced), (unsafe, replaced)
        assert body["request_id"] == replaced
    server.assert_still_serving()

    # The echoed id is what ties a client's report to the server log.
    server.stop()
    ids = [record.get("request_id") for record in log_records(server.log())]
    assert "abc12345-def" in ids, server.log()
    assert "abc<script>12345" not in server.log()


# =========================================================================== graceful shutdown


def _read_http_response(sock: socket.socket, deadline: float) -> bytes:
    data = b""
    while time.monotonic() < deadline:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            chunk = sock.recv(4096)
        except socket.timeout:
            break
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
        head, sep, rest = data.partition(b"\r\n\r\n")
        if sep:
            match = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            if match and len(rest) >= int(match.group(1)):
                break
    return data


def test_sigterm_lets_an_in_flight_request_finish(server, data_dir):
    """A request is in flight once its head has arrived (before that, SwiftNIO
    counts the connection as idle and closes it on shutdown, as nginx does).
    Here the head arrives before SIGTERM and the body only after it."""
    body = json.dumps({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).encode()
    with socket.create_connection((HOST, server.port), timeout=10) as sock:
        sock.sendall(b"POST /api/v1/auth/staff/login HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: e2e-inflight\r\n"
                     b"Content-Type: application/json\r\nConnection: close\r\n"
                     + f"Content-Length: {len(body)}\r\n\r\n".encode() + body[:10])
        time.sleep(0.3)
        server.signal(signal.SIGTERM)
        time.sleep(0.3)
        # ...the rest of the body comes afterwards, well within server.shutdown_grace_seconds (10 s).
        try:
            sock.sendall(body[10:])
        except (BrokenPipeError, ConnectionResetError) as exc:
            pytest.fail(f"server dropped the in-flight connection on SIGTERM ({exc!r})\n{server.log()}")
        response = _read_http_response(sock, time.monotonic() + 10)

    assert response, ("the server closed the connection of the in-flight request without any response "
                      f"after SIGTERM\n--- log ---\n{server.log()}")
    assert response.startswith(b"HTTP/1.1 200"), (
        f"in-flight request got {response[:200]!r} instead of 200 after SIGTERM\n--- log ---\n{server.log()}")
    answer = json.loads(response.partition(b"\r\n\r\n")[2])
    assert answer.get("mfa_required") is True or "access_token" in answer, answer

    server.wait_exit()
    server.assert_clean_exit()
    assert sqlite3_cli(data_dir / "recovery.sqlite", "PRAGMA integrity_check;") == "ok"


def test_sigterm_with_idle_keepalive_connection_stops_promptly(server, data_dir):
    with socket.create_connection((HOST, server.port), timeout=10) as sock:
        sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert _read_http_response(sock, time.monotonic() + 10).startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        server.signal(signal.SIGTERM)
        server.wait_exit(timeout=8)  # an idle connection must not hold shutdown for the whole grace period
        assert time.monotonic() - started < 8
    server.assert_clean_exit()
    assert sqlite3_cli(data_dir / "recovery.sqlite", "PRAGMA integrity_check;") == "ok"


# =========================================================================== data protection


DISTINCT_EMAIL = "rosalind.featherstonehaugh@harborlight.org"
DISTINCT_PASSWORD = "quiet meadow violin 77 harbor"
# From Sources/RecoveryCore/Demo/DemoData.swift (fictional people, PHI by DESIGN.md's definition).
DEMO_PATIENT_NAMES = ["John Doe", "Maria Gonzalez", "Tyrone Jackson", "Emily Nguyen", "Robert Smith"]
DEMO_PATIENT_BIRTH_DATES = ["1985-03-15", "1992-07-02", "1979-11-30", "2001-01-19", "1968-05-08"]
DEMO_STAFF = ["Dana Whitfield", "Marcus Bell", "Priya Raman", "Luis Ortega", "Amy Chen"]
DEMO_STAFF_EMAILS = ["director@serenity.example", "counselor@serenity.example", "therapist@serenity.example",
                     "nurse@serenity.example", "frontdesk@serenity.example"]
DEMO_SUPER_ADMIN = "admin@recoversystem.com"
DEMO_SUPER_PASSWORD = "SuperAdmin123!"
DEMO_STAFF_PASSWORD = "SerenityDemo2026!"


def _forbidden_values() -> list[str]:
    values = [DISTINCT_EMAIL, DISTINCT_PASSWORD, "Featherstonehaugh", "Rosalind Featherstonehaugh",
              DEMO_SUPER_PASSWORD, DEMO_SUPER_ADMIN, DEMO_STAFF_PASSWORD]
    values += DEMO_PATIENT_NAMES + DEMO_PATIENT_BIRTH_DATES + DEMO_STAFF + DEMO_STAFF_EMAILS
    # Last names on their own (the short ones, e.g. "Doe", would match ciphertext by chance).
    values += [name.split()[-1] for name in DEMO_PATIENT_NAMES + DEMO_STAFF if len(name.split()[-1]) >= 5]
    return values


def _find(haystack: bytes, needle: str | bytes) -> bool:
    needle_bytes = needle.encode() if isinstance(needle, str) else needle
    return needle_bytes.lower() in haystack.lower()


def _at_rest(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())
            if path.name.startswith("recovery.sqlite") and not path.name.endswith("-shm")}


def test_no_secrets_or_phi_at_rest_or_in_logs(tmp_path, make_server):
    directory = tmp_path / "data"
    init_data_dir(directory, DISTINCT_EMAIL, DISTINCT_PASSWORD,
                  "--admin-first-name", "Rosalind", "--admin-last-name", "Featherstonehaugh")
    snapshots: list[tuple[str, dict[str, bytes]]] = [("after init", _at_rest(directory))]

    seed = run_cli("seed", "--demo", "--data-dir", directory)
    assert seed.returncode == 0, seed.stderr
    snapshots.append(("after seed --demo", _at_rest(directory)))

    server = make_server(directory, name="phi")
    marker = "phi-scan-" + uuid.uuid4().hex[:12]
    # Realistic traffic, including PHI and secrets where a careless server would log them.
    server.get("/api/v1/health", headers={"X-Request-Id": marker})
    server.get("/api/v1/openapi.json")
    server.get("/api/v1/patients", params={"last_name": "Gonzalez", "email": DISTINCT_EMAIL})
    server.get(f"/api/v1/patients/Maria%20Gonzalez/{DISTINCT_EMAIL}")
    # Logins (right and wrong) write sessions and attempt records; a 404 on builds without auth.
    for email, password in [(DISTINCT_EMAIL, DISTINCT_PASSWORD), (DISTINCT_EMAIL, DISTINCT_PASSWORD + "x"),
                            (DEMO_SUPER_ADMIN, DEMO_SUPER_PASSWORD), (DEMO_STAFF_EMAILS[1], DEMO_STAFF_PASSWORD)]:
        login = server.request("POST", "/api/v1/auth/staff/login", json={"email": email, "password": password})
        if login.status_code == 200 and "access_token" in login.json():
            server.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"})
    server.request("POST", "/api/v1/health", headers={"Authorization": f"Bearer {DISTINCT_PASSWORD}",
                                                      "X-Patient": "Tyrone Jackson 1979-11-30"})
    snapshots.append(("while serving", _at_rest(directory)))
    server.stop()
    snapshots.append(("after shutdown", _at_rest(directory)))

    log = server.log_path.read_bytes() + server.stdout_path.read_bytes()
    key = (directory / "master.key").read_bytes()
    forbidden: list[str | bytes] = _forbidden_values() + [key, key.hex(), base64.b64encode(key)]

    # The scan must be able to fail: real data is there, business data is stored plain,
    # and the log was captured.
    final = snapshots[-1][1]
    assert len(final["recovery.sqlite"]) > 100_000, {name: len(data) for name, data in final.items()}
    assert _find(final["recovery.sqlite"], "Serenity Recovery Center"), "facility name not found: scan is broken"
    assert _find(log, marker), "request id not found in the log: scan is broken"

    leaks = []
    for moment, files in snapshots:
        for name, data in files.items():
            leaks += [f"{moment}: {name} contains {value!r}" for value in forbidden if _find(data, value)]
    demo_accounts = [DEMO_SUPER_ADMIN] + DEMO_STAFF_EMAILS
    for value in forbidden:
        if value in demo_accounts:
            continue  # checked below
        if _find(log, value):
            leaks.append(f"server log contains {value!r}")

    # The one deliberate mention of the public demo accounts: the SECURITY warnings naming them.
    for line in log.decode(errors="replace").splitlines():
        for account in demo_accounts:
            if account in line.lower() and "SECURITY" not in line:
                leaks.append(f"server log mentions {account} outside the SECURITY warning: {line}")

    assert not leaks, "\n".join(leaks)


# =========================================================================== demo mode


def test_serve_demo_creates_seeds_once_and_warns(tmp_path, make_server):
    directory = tmp_path / "demo"

    first = make_server(None, args=["--demo", "--data-dir", str(directory)], name="demo1")
    assert first.get("/api/v1/health").json()["database"]["ok"] is True
    first.stop()
    log = first.log()
    assert "created demo appliance" in log, log
    assert "SECURITY" in log and DEMO_SUPER_ADMIN in log, log
    patients = sqlite3_cli(directory / "recovery.sqlite", "SELECT count(*) FROM patients;")
    staff = sqlite3_cli(directory / "recovery.sqlite", "SELECT count(*) FROM staff;")
    assert int(patients) == len(DEMO_PATIENT_NAMES)

    second = make_server(None, args=["--demo", "--data-dir", str(directory)], name="demo2")
    assert second.get("/api/v1/health").status_code == 200
    second.stop()
    log = second.log()
    assert "created demo appliance" not in log, log
    assert "SECURITY" in log, "the warning must repeat while the demo password is unchanged"
    assert sqlite3_cli(directory / "recovery.sqlite", "SELECT count(*) FROM patients;") == patients
    assert sqlite3_cli(directory / "recovery.sqlite", "SELECT count(*) FROM staff;") == staff


def test_plain_init_does_not_warn_about_demo_account(server):
    server.stop()
    assert "SECURITY" not in server.log(), server.log()


# =========================================================================== migrate / help


def test_migrate_on_initialised_dir_reports_up_to_date(data_dir):
    # Compared as SQL, not bytes: opening a GRDB DatabasePool with an empty WAL
    # creates and drops a table (GRDB issue 102), which rewrites a page.
    before = sqlite3_cli(data_dir / "recovery.sqlite", ".dump")
    result = run_cli("migrate", "--data-dir", data_dir)
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout, result.stdout
    assert "applied" not in result.stdout, result.stdout
    assert sqlite3_cli(data_dir / "recovery.sqlite", ".dump") == before


def test_migrate_on_empty_dir_says_to_run_init(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_cli("migrate", "--data-dir", empty)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "init" in result.stderr, result.stderr
    assert_no_crash_signature(result.stdout, result.stderr)
    assert list(empty.iterdir()) == [], "migrate created files in an uninitialised directory"


@pytest.mark.parametrize("subcommand, expected", [
    ([], ["init", "serve", "master key"]),
    (["init"], ["master key", "offline storage", "--admin-email", "changes nothing"]),
    (["migrate"], ["migration", "newer", "--data-dir"]),
    (["serve"], ["SIGTERM", "--port", "--demo", "master key"]),
    (["seed"], ["--demo", "Serenity Recovery Center", "real patients"]),
], ids=["main", "init", "migrate", "serve", "seed"])
def test_help_is_meaningful(subcommand, expected):
    result = run_cli(*subcommand, "--help")
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())  # help is wrapped at 80 columns
    assert "USAGE:" in text
    for phrase in expected:
        assert phrase in text, f"{phrase!r} missing from `{' '.join(subcommand)} --help`:\n{result.stdout}"
