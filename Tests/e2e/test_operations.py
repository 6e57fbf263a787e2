"""Metrics and the service unit, against the real binary.

- GET /metrics answers Prometheus text from loopback without a token: request
  counts by route template and status, latency histograms, group-commit batch
  sizes, the waits for a reader connection (counted per read), the master-key
  version and reload state, the WAL size, sockets, the federation queue, backup age and free disk.
  From another address (here an X-Forwarded-For through a trusted proxy) it
  needs an administrator's token (401 without, 403 for a counselor), unless
  the address is in metrics.allowed_addresses.
- config/recovery-appliance.service runs as its own user with a state
  directory and the hardening options the README promises.
"""
from __future__ import annotations

import configparser
import re
import shutil
import subprocess

import requests

from conftest import REPO_ROOT, run_cli

DIRECTOR = {"email": "director@serenity.example", "password": "SerenityDemo2026!"}
COUNSELOR = {"email": "counselor@serenity.example", "password": "SerenityDemo2026!"}


def token(server, who) -> dict:
    response = server.request("POST", "/api/v1/auth/staff/login", json=who)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of the first sample of `name` whose labels include `labels`."""
    for line in text.splitlines():
        if not line.startswith(name):
            continue
        match = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$", line)
        if not match or match.group(1) != name:
            continue
        found = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', match.group(3) or ""))
        if all(found.get(key) == value for key, value in labels.items()):
            return float(match.group(4))
    return None


def test_metrics_from_loopback_describe_requests_and_storage(data_dir, make_server):
    assert run_cli("seed", "--demo", "--data-dir", data_dir).returncode == 0
    server = make_server(data_dir, env={"RECOVERY_BACKUP_SCHEDULE": "off"})
    auth = token(server, DIRECTOR)
    patients = server.get("/api/v1/patients", headers=auth).json()["data"]
    for patient in patients:
        assert server.get(f"/api/v1/patients/{patient['id']}", headers=auth).status_code == 200
    assert server.get("/api/v1/patients/not-a-uuid", headers=auth).status_code in (400, 404, 422)

    response = server.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain")
    text = response.text
    routes = set(re.findall(r'http_route="([^"]*)"', text))
    detail = [route for route in routes if route.startswith("/api/v1/patients/") and "dashboard" not in route and route.count("/") == 4]
    assert detail, sorted(routes)
    # A route template, never a patient's id.
    assert not any(patient["id"] in text for patient in patients)
    assert sample(text, "hb_requests", http_route=detail[0], http_response_status_code="200") >= len(patients)
    assert sample(text, "http_server_request_duration_count", http_route=detail[0], http_response_status_code="200") >= len(patients)
    assert sample(text, "recovery_group_commit_batch_size_count") >= 1
    assert sample(text, "recovery_wal_bytes") is not None
    assert sample(text, "recovery_realtime_sockets") == 0
    assert sample(text, "recovery_federation_queue") == 0
    assert sample(text, "recovery_backup_age_seconds") == -1
    assert sample(text, "recovery_backup_deferred_seconds") == 0
    assert sample(text, "recovery_disk_free_bytes") > 0
    assert sample(text, "recovery_master_key_version") == 1
    assert sample(text, "recovery_master_key_reload_failing") == 0
    # Each read waits for a reader connection, and each wait is counted.
    waits = sample(text, "recovery_reader_pool_wait_seconds_count")
    assert waits is not None and waits >= len(patients), waits
    assert sample(text, "recovery_reader_pool_wait_seconds_sum") >= 0
    for patient in patients:
        assert server.get(f"/api/v1/patients/{patient['id']}", headers=auth).status_code == 200
    assert sample(server.get("/metrics").text, "recovery_reader_pool_wait_seconds_count") >= waits + len(patients)


def test_metrics_from_elsewhere_need_a_token_or_an_allowed_address(data_dir, make_server):
    assert run_cli("seed", "--demo", "--data-dir", data_dir).returncode == 0
    proxied = {"RECOVERY_SERVER_TRUSTED_PROXIES": "127.0.0.1", "RECOVERY_BACKUP_SCHEDULE": "off"}
    server = make_server(data_dir, name="proxied", env=proxied)
    away = {"X-Forwarded-For": "10.1.2.3"}
    assert server.get("/metrics", headers=away).status_code == 401
    assert server.get("/metrics", headers={**away, **token(server, COUNSELOR)}).status_code == 403
    assert server.get("/metrics", headers={**away, **token(server, DIRECTOR)}).status_code == 200
    server.stop()

    allowed = make_server(data_dir, name="allowed", env={**proxied, "RECOVERY_METRICS_ALLOWED_ADDRESSES": "10.1.2.0/24"})
    assert allowed.get("/metrics", headers=away).status_code == 200
    assert allowed.get("/metrics", headers={"X-Forwarded-For": "10.9.9.9"}).status_code == 401


def test_the_service_unit_runs_sandboxed_as_its_own_user():
    unit_file = REPO_ROOT / "config" / "recovery-appliance.service"
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str
    unit.read_string(unit_file.read_text())
    service = unit["Service"]
    assert service["User"] == "recovery" and service["Group"] == "recovery"
    assert service["StateDirectory"] == "recovery-appliance" and service["StateDirectoryMode"] == "0700"
    for option, value in {"ProtectSystem": "strict", "ProtectHome": "true", "PrivateTmp": "true", "NoNewPrivileges": "true",
                          "PrivateDevices": "true", "RestrictSUIDSGID": "true", "UMask": "0077"}.items():
        assert service.get(option) == value, f"{option}={service.get(option)}"
    assert service["CapabilityBoundingSet"] == ""
    assert "recovery-server serve" in service["ExecStart"]
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    if shutil.which("systemd-analyze"):
        checked = subprocess.run(["systemd-analyze", "verify", str(unit_file)], capture_output=True, text=True, timeout=60)
        problems = [line for line in checked.stderr.splitlines() if "recovery-appliance.service" in line
                    and "Command /usr/local/bin/recovery-server" not in line and "is not executable" not in line]
        assert not problems, checked.stderr
