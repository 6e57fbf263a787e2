"""Authentication against the real server process with real HTTP clients.

Covers the acceptance of the authentication work: the original design's own
curl examples, the whole staff -> patient journey, racing registrations, the
per-address limit, and that no key, password or token is ever stored or
logged in plain text.
"""
import concurrent.futures
import json
import re
import subprocess

import requests

from conftest import run_cli, sqlite3_cli

DEMO_ADMIN = {"email": "admin@recoversystem.com", "password": "SuperAdmin123!"}
KEY_PATTERN = re.compile(r"^[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}$")


def curl(*args):
    result = subprocess.run(["curl", "-sS", "-w", "\n%{http_code}", *args], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    body, _, status = result.stdout.rpartition("\n")
    return int(status), body


def demo_server(data_dir, make_server, **kwargs):
    seeded = run_cli("seed", "--demo", "--data-dir", data_dir)
    assert seeded.returncode == 0, seeded.stderr
    return make_server(data_dir, **kwargs)


def demo_facility_id(data_dir):
    return sqlite3_cli(data_dir / "recovery.sqlite", "SELECT id FROM facilities WHERE name = 'Serenity Recovery Center'").strip()


def test_the_original_designs_curl_examples_work_against_the_demo(data_dir, make_server):
    server = demo_server(data_dir, make_server)
    base = f"http://localhost:{server.port}"

    status, body = curl(f"{base}/api/v1/health")
    assert status == 200 and json.loads(body)["status"] == "ok"

    status, body = curl("-X", "POST", f"{base}/api/v1/auth/staff/login", "-H", "Content-Type: application/json",
                        "-d", '{"email":"admin@recoversystem.com","password":"SuperAdmin123!"}')
    assert status == 200, body
    login = json.loads(body)
    assert login["token_type"] == "Bearer" and login["user"]["role"] == "super_admin"

    facility = demo_facility_id(data_dir)
    status, body = curl("-X", "POST", f"{base}/api/v1/patients", "-H", f"Authorization: Bearer {login['access_token']}",
                        "-H", "Content-Type: application/json",
                        "-d", json.dumps({"facility_id": facility, "first_name": "Test", "last_name": "Patient",
                                          "date_of_birth": "1985-03-15"}))
    assert status == 201, body
    created = json.loads(body)
    assert KEY_PATTERN.match(created["registration_key"])
    assert created["patient"]["facility_id"] == facility
    assert "SECURITY" in server.log()


def test_staff_to_patient_journey_over_http(data_dir, make_server):
    server = demo_server(data_dir, make_server)
    s = requests.Session()
    staff = s.post(server.url("/api/v1/auth/staff/login"),
                   json={"email": "Counselor@Serenity.example", "password": "SerenityDemo2026!"}, timeout=10)
    assert staff.status_code == 200, staff.text
    bearer = {"Authorization": f"Bearer {staff.json()['access_token']}"}

    created = s.post(server.url("/api/v1/patients"), headers=bearer, timeout=10,
                     json={"first_name": "Quinn", "last_name": "Harlow", "date_of_birth": "1994-09-09"})
    assert created.status_code == 201, created.text
    key = created.json()["registration_key"]

    registered = s.post(server.url("/api/v1/auth/patient/register"), timeout=10,
                        json={"registration_key": key.lower(), "password": "lantern over the bay 5", "email": "quinn@example.org"})
    assert registered.status_code == 201, registered.text
    reuse = s.post(server.url("/api/v1/auth/patient/register"), timeout=10,
                   json={"registration_key": key, "password": "lantern over the bay 6"})
    assert reuse.status_code == 400 and reuse.json()["error"]["code"] == "invalid_registration_key"

    login = s.post(server.url("/api/v1/auth/patient/login"), timeout=10,
                   json={"identifier": "QUINN@example.org", "password": "lantern over the bay 5"})
    assert login.status_code == 200
    refresh1 = login.json()["refresh_token"]
    rotated = s.post(server.url("/api/v1/auth/refresh"), json={"refresh_token": refresh1}, timeout=10)
    assert rotated.status_code == 200
    access2 = rotated.json()["access_token"]
    assert s.get(server.url("/api/v1/auth/me"), headers={"Authorization": f"Bearer {access2}"}, timeout=10).status_code == 200
    assert s.post(server.url("/api/v1/auth/refresh"), json={"refresh_token": refresh1}, timeout=10).status_code == 401
    assert s.get(server.url("/api/v1/auth/me"), headers={"Authorization": f"Bearer {access2}"}, timeout=10).status_code == 401

    again = s.post(server.url("/api/v1/auth/patient/login"), timeout=10,
                   json={"identifier": created.json()["patient"]["patient_number"], "password": "lantern over the bay 5"})
    access3 = {"Authorization": f"Bearer {again.json()['access_token']}"}
    assert s.post(server.url("/api/v1/auth/logout"), headers=access3, timeout=10).status_code == 204
    refused = s.get(server.url("/api/v1/auth/me"), headers=access3, timeout=10)
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == "Bearer"

    # A logged-out token stays refused after a restart.
    server.stop()
    restarted = make_server(data_dir, name="restarted")
    assert requests.get(restarted.url("/api/v1/auth/me"), headers=access3, timeout=10).status_code == 401


def test_racing_registrations_with_one_key_let_exactly_one_through(data_dir, make_server):
    server = demo_server(data_dir, make_server)
    token = requests.post(server.url("/api/v1/auth/staff/login"), timeout=10,
                          json={"email": "counselor@serenity.example", "password": "SerenityDemo2026!"}).json()["access_token"]
    key = requests.post(server.url("/api/v1/patients"), headers={"Authorization": f"Bearer {token}"}, timeout=10,
                        json={"first_name": "Rae", "last_name": "Lindqvist", "date_of_birth": "2000-01-01"}).json()["registration_key"]

    def register(i):
        return requests.post(server.url("/api/v1/auth/patient/register"), timeout=30,
                             json={"registration_key": key, "password": f"racing registration {i:02d}"}).status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(register, range(16)))
    assert statuses.count(201) == 1, statuses
    assert statuses.count(400) == 15, statuses
    used = sqlite3_cli(data_dir / "recovery.sqlite", "SELECT count(*) FROM registration_keys WHERE used_at IS NOT NULL").strip()
    assert used == "1"


def test_failed_registrations_are_limited_per_address(data_dir, make_server):
    server = demo_server(data_dir, make_server, env={"RECOVERY_AUTH_ADDRESS_FAILURE_LIMIT": "4"})
    statuses = [requests.post(server.url("/api/v1/auth/patient/register"), timeout=10,
                              json={"registration_key": f"AAAA-BBBB-CCC{c}", "password": "guessing keys here"}).status_code
                for c in "DEFG"]
    assert statuses == [400, 400, 400, 400]
    blocked = requests.post(server.url("/api/v1/auth/patient/register"), timeout=10,
                            json={"registration_key": "AAAA-BBBB-CCCH", "password": "guessing keys here"})
    assert blocked.status_code == 429
    assert 0 < int(blocked.headers["Retry-After"]) <= 15 * 60
    failures = sqlite3_cli(data_dir / "recovery.sqlite",
                           "SELECT count(*) FROM audit_logs WHERE action = 'auth.registration_failed'").strip()
    assert failures == "4"
    server.assert_still_serving()


def test_no_key_password_or_token_is_stored_or_logged(data_dir, make_server):
    server = demo_server(data_dir, make_server, env={"RECOVERY_LOG_LEVEL": "trace"})
    secrets = [DEMO_ADMIN["password"], "SerenityDemo2026!", "mountain ash tree 12"]
    s = requests.Session()
    login = s.post(server.url("/api/v1/auth/staff/login"), json=DEMO_ADMIN, timeout=10).json()
    secrets += [login["access_token"], login["refresh_token"]]
    bearer = {"Authorization": f"Bearer {login['access_token']}"}
    created = s.post(server.url("/api/v1/patients"), headers=bearer, timeout=10,
                     json={"facility_id": demo_facility_id(data_dir), "first_name": "Wren", "last_name": "Abernathy-Quist",
                           "date_of_birth": "1999-12-12", "email": "wren.aq@example.org"}).json()
    key = created["registration_key"]
    secrets += [key, key.replace("-", ""), "Abernathy-Quist", "wren.aq@example.org"]
    reg = s.post(server.url("/api/v1/auth/patient/register"), timeout=10,
                 json={"registration_key": key, "password": "mountain ash tree 12"}).json()
    secrets += [reg["access_token"], reg["refresh_token"]]
    rotated = s.post(server.url("/api/v1/auth/refresh"), json={"refresh_token": reg["refresh_token"]}, timeout=10).json()
    secrets += [rotated["refresh_token"]]
    s.post(server.url("/api/v1/auth/staff/login"), json={"email": "admin@recoversystem.com", "password": "wrong password here"}, timeout=10)
    server.stop()

    raw = b"".join(p.read_bytes() for p in data_dir.iterdir() if p.name.startswith("recovery.sqlite"))
    log = server.log()
    assert len(raw) > 100_000 and b"Serenity Recovery Center" in raw, "the search must see the database's plain data"
    assert "/api/v1/auth/patient/register" in log, "the search must see the access log"
    for secret in secrets:
        assert secret.encode() not in raw, f"a secret is in the database files: {secret[:6]}..."
        assert secret not in log, f"a secret is in the log: {secret[:6]}..."
