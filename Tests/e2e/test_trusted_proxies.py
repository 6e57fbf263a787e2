"""Clients behind a reverse proxy: X-Forwarded-For names the client only when
the connection comes from a trusted proxy (server.trusted_proxies)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import ADMIN_EMAIL, ADMIN_PASSWORD, HOST, SERVER_BIN, clean_env, free_port, init_data_dir

LIMIT = 3


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """An initialised data directory whose administrator signs in with a password alone."""
    directory = tmp_path / "data"
    init_data_dir(directory, ADMIN_EMAIL, ADMIN_PASSWORD, "--mfa-policy", "none")
    return directory


def fail_login(server, forwarded_for: str, n: int) -> int:
    response = server.request("POST", "/api/v1/auth/staff/login",
                              headers={"X-Forwarded-For": forwarded_for},
                              json={"email": f"nobody{n}@example.org", "password": "not the password at all"})
    return response.status_code


def session_addresses(server, forwarded_for: str) -> list[str]:
    login = server.request("POST", "/api/v1/auth/staff/login", headers={"X-Forwarded-For": forwarded_for},
                           json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert login.status_code == 200, login.text
    token = login.json()["access_token"]
    sessions = server.get("/api/v1/auth/sessions", headers={"Authorization": f"Bearer {token}"})
    assert sessions.status_code == 200, sessions.text
    return [session["ip_address"] for session in sessions.json()["data"] if session["current"]]


def test_behind_a_trusted_proxy_each_client_has_its_own_failure_count(data_dir, make_server):
    server = make_server(data_dir, name="proxied", env={
        "RECOVERY_SERVER_TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1, ::1",
        "RECOVERY_AUTH_ADDRESS_FAILURE_LIMIT": str(LIMIT),
    })
    # The proxy (127.0.0.1) forwards for 203.0.113.1; what the client claimed sits to the left.
    first = "198.51.100.77, 203.0.113.1"
    assert [fail_login(server, first, n) for n in range(LIMIT)] == [401] * LIMIT
    assert fail_login(server, first, LIMIT) == 429
    # Another client behind the same proxy is not locked out by the first one's failures...
    assert fail_login(server, "203.0.113.2", 10) == 401
    # ...and its session and audit trail carry its own address, not the proxy's.
    assert session_addresses(server, "203.0.113.2, 10.1.2.3") == ["203.0.113.2"]
    # Changing the forged left-hand part does not escape the count.
    assert fail_login(server, "192.0.2.200, 203.0.113.1", 11) == 429


def test_from_an_untrusted_peer_a_forged_header_changes_nothing(data_dir, make_server):
    server = make_server(data_dir, name="direct", env={"RECOVERY_AUTH_ADDRESS_FAILURE_LIMIT": str(LIMIT)})
    assert session_addresses(server, "203.0.113.250") == ["127.0.0.1"]
    statuses = [fail_login(server, f"203.0.113.{n}", n) for n in range(LIMIT + 1)]
    assert statuses == [401] * LIMIT + [429], statuses
    assert fail_login(server, "203.0.113.250", 99) == 429


def test_a_bad_trusted_proxy_entry_stops_startup_naming_the_setting(data_dir):
    for bad in ("10.0.0.0/33", "proxy.lan", "192.168.1.10/24"):
        cmd = [str(SERVER_BIN), "serve", "--data-dir", str(data_dir), "--host", HOST, "--port", str(free_port())]
        result = subprocess.run(cmd, env=clean_env({"RECOVERY_SERVER_TRUSTED_PROXIES": bad, "RECOVERY_SERVER_TLS_CERT_FILE": ""}),
                                stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
        assert result.returncode == 78, (bad, result.stderr)
        assert "server.trusted_proxies" in result.stderr and bad in result.stderr, result.stderr
