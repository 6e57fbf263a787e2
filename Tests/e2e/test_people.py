"""Patient access and the audit trail against the real server process.

- An answered read always has a durable audit entry: many concurrent reads,
  then SIGKILL (no clean shutdown), then every answered request id must be in
  audit_logs. The audit writer batches entries (group commit) but answers a
  request only after its batch committed with synchronous=FULL.
- `recovery-server audit verify` passes on a normal run and finds a row
  edited by hand with the sqlite3 shell, and the newest entries (or all)
  removed, against the sealed head file audit.head; a missing head file is
  reported and written at the next start.
- Concurrent requests never stall the server (a synchronous database call on
  the cooperative thread pool once deadlocked it under 64 connections).
"""
import concurrent.futures
import signal
import uuid

import pytest
import requests

from conftest import free_port, run_cli, sqlite3_cli

DIRECTOR = {"email": "director@serenity.example", "password": "SerenityDemo2026!"}


def demo(data_dir, make_server, **kwargs):
    seeded = run_cli("seed", "--demo", "--data-dir", data_dir)
    assert seeded.returncode == 0, seeded.stderr
    server = make_server(data_dir, **kwargs)
    token = requests.post(server.url("/api/v1/auth/staff/login"), json=DIRECTOR, timeout=10).json()["access_token"]
    return server, {"Authorization": f"Bearer {token}"}


def test_every_answered_read_has_a_durable_audit_entry_even_after_a_kill(data_dir, make_server):
    server, auth = demo(data_dir, make_server)
    patients = requests.get(server.url("/api/v1/patients"), headers=auth, timeout=10).json()["data"]
    assert len(patients) == 5
    paths = ["/api/v1/patients?limit=5"] + [f"/api/v1/patients/{p['id']}" for p in patients] + \
            [f"/api/v1/patients/{p['id']}/dashboard" for p in patients]

    def read(i):
        request_id = f"killtest-{i:04d}-{uuid.uuid4().hex[:8]}"
        try:
            r = requests.get(server.url(paths[i % len(paths)]), headers={**auth, "X-Request-Id": request_id}, timeout=10)
            return request_id if r.status_code == 200 else None
        except requests.RequestException:
            return None

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        answered = [rid for rid in pool.map(read, range(160)) if rid]
    server.signal(signal.SIGKILL)
    server.wait_exit()
    assert len(answered) >= 150

    audited = set(sqlite3_cli(data_dir / "recovery.sqlite",
                              "SELECT request_id FROM audit_logs WHERE request_id LIKE 'killtest-%'").split())
    missing = [rid for rid in answered if rid not in audited]
    assert not missing, f"{len(missing)} answered reads have no audit entry: {missing[:5]}"
    batches = int(sqlite3_cli(data_dir / "recovery.sqlite",
                              "SELECT count(DISTINCT substr(occurred_at, 1, 23)) FROM audit_logs WHERE request_id LIKE 'killtest-%'"))
    print(f"{len(answered)} answered reads audited in about {batches} distinct commit times")

    verified = run_cli("audit", "verify", "--data-dir", data_dir)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "intact" in verified.stdout


def test_audit_verify_finds_a_row_edited_by_hand(data_dir, make_server):
    server, auth = demo(data_dir, make_server)
    for _ in range(3):
        assert requests.get(server.url("/api/v1/patients"), headers=auth, timeout=10).status_code == 200
    server.stop()
    assert run_cli("audit", "verify", "--data-dir", data_dir).returncode == 0

    seq = sqlite3_cli(data_dir / "recovery.sqlite", "SELECT max(seq) - 1 FROM audit_logs")
    sqlite3_cli(data_dir / "recovery.sqlite",
                f"DROP TRIGGER audit_logs_no_update; UPDATE audit_logs SET action = 'patient.nothing' WHERE seq = {seq};")
    broken = run_cli("audit", "verify", "--data-dir", data_dir)
    assert broken.returncode == 1
    assert f"entry {seq}" in broken.stderr and "altered" in broken.stderr, broken.stderr


@pytest.mark.parametrize("removed", ["last", "last_three", "all"])
def test_audit_verify_finds_the_newest_entries_removed(data_dir, make_server, removed):
    server, auth = demo(data_dir, make_server)
    for _ in range(3):
        assert requests.get(server.url("/api/v1/patients"), headers=auth, timeout=10).status_code == 200
    server.stop()
    assert (data_dir / "audit.head").exists()
    assert run_cli("audit", "verify", "--data-dir", data_dir).returncode == 0

    database = data_dir / "recovery.sqlite"
    last = int(sqlite3_cli(database, "SELECT max(seq) FROM audit_logs"))
    keep = {"last": last - 1, "last_three": last - 3, "all": 0}[removed]
    sqlite3_cli(database, "DROP TRIGGER audit_logs_no_delete; DROP TRIGGER audit_log_patients_no_delete; "
                          f"DELETE FROM audit_log_patients WHERE audit_seq > {keep}; DELETE FROM audit_logs WHERE seq > {keep};")

    broken = run_cli("audit", "verify", "--data-dir", data_dir)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert f"entry {last}" in broken.stderr and "removed" in broken.stderr, broken.stderr

    refused = run_cli("serve", "--data-dir", data_dir, "--port", str(free_port()), timeout=15)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "audit trail no longer holds entry" in refused.stderr, refused.stderr


def test_audit_head_file_is_written_at_start_when_missing(data_dir, make_server):
    server, auth = demo(data_dir, make_server)
    assert requests.get(server.url("/api/v1/patients"), headers=auth, timeout=10).status_code == 200
    server.stop()
    (data_dir / "audit.head").unlink()

    missing = run_cli("audit", "verify", "--data-dir", data_dir)
    assert missing.returncode == 1 and "there is no" in missing.stderr and "audit.head" in missing.stderr, missing.stderr

    server = make_server(data_dir)
    server.stop()
    assert "there was no audit head file" in server.log() + server.stdout()
    assert run_cli("audit", "verify", "--data-dir", data_dir).returncode == 0
    assert sqlite3_cli(data_dir / "recovery.sqlite", "SELECT count(*) FROM audit_logs WHERE action = 'audit.head_created'") == "1"


def test_concurrent_requests_never_stall_the_server(data_dir, make_server):
    server, auth = demo(data_dir, make_server)
    paths = ["/api/v1/health", "/api/v1/patients?limit=5", "/api/v1/auth/me"]

    def call(i):
        with requests.Session() as s:
            return [s.get(server.url(paths[(i + j) % len(paths)]), headers=auth, timeout=15).status_code for j in range(10)]

    with concurrent.futures.ThreadPoolExecutor(max_workers=48) as pool:
        statuses = [status for batch in pool.map(call, range(48)) for status in batch]
    assert statuses.count(200) == len(statuses) == 480, set(statuses)
    server.assert_still_serving()
