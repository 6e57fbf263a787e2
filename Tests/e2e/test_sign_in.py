"""Sign-in hardening against the real server: authenticator apps set up from the
shown secret, administrator-set passwords replaced first, the demo data set kept
off boxes with records and warned about, idle sessions ending between refreshes.
"""
import base64
import hashlib
import hmac
import re
import struct
import time
import urllib.parse

import requests

from conftest import ADMIN_EMAIL, ADMIN_PASSWORD, init_data_dir, run_cli, sqlite3_cli

DEMO_ACCOUNTS = ["admin@recoversystem.com", "director@serenity.example", "counselor@serenity.example",
                 "therapist@serenity.example", "nurse@serenity.example", "frontdesk@serenity.example"]


def totp(shown_secret: str, at: float | None = None) -> str:
    """RFC 6238 (HMAC-SHA1, 30 s, 6 digits) from the base32 text a person types into an app."""
    key = base64.b32decode(shown_secret + "=" * (-len(shown_secret) % 8))
    counter = int((time.time() if at is None else at) // 30)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def login(server, email, password):
    return requests.post(server.url("/api/v1/auth/staff/login"), json={"email": email, "password": password}, timeout=10)


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_an_authenticator_app_set_up_from_the_shown_secret_signs_in(server):
    # init's default policy asks the first administrator to enrol at first sign-in.
    first = login(server, ADMIN_EMAIL, ADMIN_PASSWORD).json()
    assert first["mfa_enrolment_required"] is True, first
    setup = requests.post(server.url("/api/v1/auth/mfa/enrol/setup"), json={"mfa_token": first["mfa_token"]}, timeout=10).json()
    secret = setup["secret"]
    assert re.fullmatch(r"[A-Z2-7]+", secret), secret
    query = urllib.parse.parse_qs(urllib.parse.urlparse(setup["otpauth_uri"]).query)
    assert query["secret"] == [secret]

    confirmed = requests.post(server.url("/api/v1/auth/mfa/enrol/confirm"), timeout=10,
                              json={"mfa_token": first["mfa_token"], "code": totp(secret)})
    assert confirmed.status_code == 200, confirmed.text
    assert len(confirmed.json()["recovery_codes"]) == 10
    assert requests.get(server.url("/api/v1/auth/me"), headers=bearer(confirmed.json()["access_token"]), timeout=10).status_code == 200

    # The next sign-in, with the code of the next 30 s step (this step's is spent).
    second = login(server, ADMIN_EMAIL, ADMIN_PASSWORD).json()
    assert second["mfa_required"] is True and second["mfa_enrolment_required"] is False
    verified = requests.post(server.url("/api/v1/auth/mfa/verify"), timeout=10,
                             json={"mfa_token": second["mfa_token"], "code": totp(secret, time.time() + 30)})
    assert verified.status_code == 200, verified.text
    assert verified.json()["password_change_required"] is False


def test_a_staff_member_created_with_a_password_must_change_it_first(tmp_path, make_server):
    directory = tmp_path / "data"
    init_data_dir(directory, ADMIN_EMAIL, ADMIN_PASSWORD, "--mfa-policy", "none")
    server = make_server(directory)
    admin = login(server, ADMIN_EMAIL, ADMIN_PASSWORD).json()["access_token"]
    created = requests.post(server.url("/api/v1/staff"), headers=bearer(admin), timeout=10,
                            json={"email": "new.counselor@example.org", "first_name": "Ari", "last_name": "Lund",
                                  "role": "counselor", "password": "given at the front desk 1"})
    assert created.status_code == 201, created.text

    signed_in = login(server, "new.counselor@example.org", "given at the front desk 1").json()
    assert signed_in["password_change_required"] is True
    token = signed_in["access_token"]
    refused = requests.get(server.url("/api/v1/patients"), headers=bearer(token), timeout=10)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "password_change_required"
    assert requests.get(server.url("/api/v1/auth/me"), headers=bearer(token), timeout=10).status_code == 200

    # Still restricted after a restart.
    server.stop()
    server = make_server(directory, name="restarted")
    assert requests.get(server.url("/api/v1/patients"), headers=bearer(token), timeout=10).status_code == 403
    changed = requests.post(server.url("/api/v1/auth/change-password"), headers=bearer(token), timeout=10,
                            json={"current_password": "given at the front desk 1", "new_password": "my very own passphrase 2"})
    assert changed.status_code == 204, changed.text
    assert requests.get(server.url("/api/v1/patients"), headers=bearer(token), timeout=10).status_code == 200


def test_seed_demo_refuses_a_box_with_records_and_writes_nothing(tmp_path, make_server):
    directory = tmp_path / "data"
    init_data_dir(directory, ADMIN_EMAIL, ADMIN_PASSWORD, "--mfa-policy", "none")
    server = make_server(directory)
    admin = login(server, ADMIN_EMAIL, ADMIN_PASSWORD).json()["access_token"]
    created = requests.post(server.url("/api/v1/patients"), headers=bearer(admin), timeout=10,
                            json={"first_name": "Real", "last_name": "Person", "date_of_birth": "1980-02-02"})
    assert created.status_code == 201, created.text
    server.stop()

    database = directory / "recovery.sqlite"
    count = "SELECT (SELECT count(*) FROM facilities), (SELECT count(*) FROM staff), (SELECT count(*) FROM patients), (SELECT count(*) FROM settings);"
    before = sqlite3_cli(database, count)
    seeded = run_cli("seed", "--demo", "--data-dir", directory)
    assert seeded.returncode == 1, seeded.stdout + seeded.stderr
    assert "1 patients" in seeded.stderr and "Nothing was written" in seeded.stderr, seeded.stderr
    assert sqlite3_cli(database, count) == before


def test_serve_warns_about_every_demo_account_with_its_documented_password(data_dir, make_server):
    assert run_cli("seed", "--demo", "--data-dir", data_dir).returncode == 0
    assert sqlite3_cli(data_dir / "recovery.sqlite", "SELECT count(*) FROM settings WHERE key = 'super_admin_mfa_required';") == "0"
    server = make_server(data_dir)
    warnings = [line for line in server.log().splitlines() if "SECURITY" in line]
    for account in DEMO_ACCOUNTS:
        assert any(account in line for line in warnings), f"no warning for {account}:\n{server.log()}"

    # The demo super admin signs in with a password alone; once it is changed, the box's
    # policy applies to it like any super admin: a second factor.
    token = login(server, DEMO_ACCOUNTS[0], "SuperAdmin123!").json()["access_token"]
    changed = requests.post(server.url("/api/v1/auth/change-password"), headers=bearer(token), timeout=10,
                            json={"current_password": "SuperAdmin123!", "new_password": "no longer the demo one 3"})
    assert changed.status_code == 204, changed.text
    assert login(server, DEMO_ACCOUNTS[0], "no longer the demo one 3").json()["mfa_enrolment_required"] is True
    server.stop()

    restarted = make_server(data_dir, name="restarted")
    warnings = [line for line in restarted.log().splitlines() if "SECURITY" in line]
    assert not any(DEMO_ACCOUNTS[0] in line for line in warnings), warnings
    assert all(any(account in line for line in warnings) for account in DEMO_ACCOUNTS[1:]), warnings


def test_requests_keep_a_session_alive_past_the_idle_limit_and_an_idle_one_ends(tmp_path, make_server):
    directory = tmp_path / "data"
    init_data_dir(directory, ADMIN_EMAIL, ADMIN_PASSWORD, "--mfa-policy", "none")
    # One idle minute, while access tokens last 15: only the idle check can end a session.
    server = make_server(directory, env={"RECOVERY_AUTH_STAFF_IDLE_TIMEOUT_MINUTES": "1"})
    active = login(server, ADMIN_EMAIL, ADMIN_PASSWORD).json()
    idle = login(server, ADMIN_EMAIL, ADMIN_PASSWORD).json()
    deadline = time.monotonic() + 75
    while time.monotonic() < deadline:
        assert requests.get(server.url("/api/v1/auth/me"), headers=bearer(active["access_token"]), timeout=10).status_code == 200
        time.sleep(10)
    # Never refreshed for 75 s, but in use: the refresh succeeds.
    refreshed = requests.post(server.url("/api/v1/auth/refresh"), json={"refresh_token": active["refresh_token"]}, timeout=10)
    assert refreshed.status_code == 200, refreshed.text
    # No request for 75 s: its still unexpired token is refused, and so is its refresh.
    assert requests.get(server.url("/api/v1/auth/me"), headers=bearer(idle["access_token"]), timeout=10).status_code == 401
    assert requests.post(server.url("/api/v1/auth/refresh"), json={"refresh_token": idle["refresh_token"]}, timeout=10).status_code == 401
