"""Backups, restore and the operations checks against the real binary.

- The restore drill: patients created under load, the server killed with
  SIGKILL, restarted, a backup taken from the running server (`backup --to`)
  while writes go on, restored into a new directory (`restore`), and a server
  started there: every write acknowledged before the kill and before the
  backup began is there, readable, and `audit verify` passes.
- `backup verify` passes on a sound file and refuses an altered one; `restore`
  refuses a directory that holds anything besides the key.
- Scheduled backups: a server with no backup yet writes and verifies one at
  start; GET /api/v1/admin/backups lists it as verified.
- GET /api/v1/ready answers 200 when all is well; with storage.min_free_bytes
  above the disk's free space it answers 503 naming the disk, and writes answer
  507 in the error format while health stays 200.
"""
from __future__ import annotations

import concurrent.futures
import shutil
import signal
import threading
import time
import uuid

import requests

from conftest import run_cli, sqlite3_cli

DIRECTOR = {"email": "director@serenity.example", "password": "SerenityDemo2026!"}
BACKUP_TIMEOUT = 300.0  # seconds: a hang guard for the CLI on a slow machine, not a performance bound


def seeded(data_dir):
    result = run_cli("seed", "--demo", "--data-dir", data_dir)
    assert result.returncode == 0, result.stderr


def sign_in(server) -> dict:
    response = server.request("POST", "/api/v1/auth/staff/login", json=DIRECTOR)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


class PatientWriter:
    """Threads creating patients until stopped; keeps what the server acknowledged (201)."""

    def __init__(self, server, auth, workers: int = 6):
        self.server, self.auth, self.workers = server, auth, workers
        self.acknowledged: dict[str, str] = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers)
        self.futures = []

    def _loop(self, worker: int) -> None:
        while not self.stopping.is_set():
            name = f"Drill{worker}x{uuid.uuid4().hex[:10]}"
            try:
                response = requests.post(self.server.url("/api/v1/patients"), headers=self.auth, timeout=10,
                                         json={"first_name": name, "last_name": "Backup", "date_of_birth": "1985-05-05"})
            except requests.RequestException:
                continue  # the server went away mid-request: not acknowledged
            if response.status_code == 201:
                with self.lock:
                    self.acknowledged[response.json()["patient"]["id"]] = name

    def start(self) -> "PatientWriter":
        self.futures = [self.pool.submit(self._loop, worker) for worker in range(self.workers)]
        return self

    def count(self) -> int:
        with self.lock:
            return len(self.acknowledged)

    def snapshot(self) -> dict[str, str]:
        with self.lock:
            return dict(self.acknowledged)

    def wait_for(self, count: int, limit: float = 120.0) -> None:
        deadline = time.monotonic() + limit
        while self.count() < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert self.count() >= count, f"only {self.count()} patients acknowledged"

    def stop(self) -> dict[str, str]:
        self.stopping.set()
        for future in self.futures:
            future.result(timeout=60)
        self.pool.shutdown()
        return self.snapshot()


def test_restore_drill_after_a_kill_keeps_every_acknowledged_write(data_dir, make_server, tmp_path):
    seeded(data_dir)
    documents = data_dir / "documents" / "7f"
    documents.mkdir(parents=True)
    (documents / "7f3a9c0d1e2b4a5c").write_bytes(b"\x01sealed document bytes" * 1000)

    first = make_server(data_dir, name="before-kill")
    writer = PatientWriter(first, sign_in(first)).start()
    writer.wait_for(60)
    first.signal(signal.SIGKILL)
    first.wait_exit()
    before_kill = writer.stop()

    second = make_server(data_dir, name="after-kill")
    auth = sign_in(second)
    writer = PatientWriter(second, auth, workers=3).start()
    writer.wait_for(10)
    before_backup = {**before_kill, **writer.snapshot()}
    backup_file = tmp_path / "drill.backup"
    started = time.monotonic()
    result = run_cli("backup", "--data-dir", data_dir, "--to", backup_file, timeout=BACKUP_TIMEOUT)
    elapsed = time.monotonic() - started
    during = writer.stop()
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(during) > len(before_backup) - len(before_kill), "writes went on during the backup"
    print(f"backup while writing: {backup_file.stat().st_size} bytes, command {elapsed:.2f} s: {result.stdout.strip()}")
    second.stop()

    verified = run_cli("backup", "verify", backup_file, "--data-dir", data_dir, timeout=BACKUP_TIMEOUT)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "chain intact" in verified.stdout

    restored_dir = tmp_path / "restored"
    restored_dir.mkdir(mode=0o700)
    shutil.copy2(data_dir / "master.key", restored_dir / "master.key")
    restored = run_cli("restore", backup_file, "--data-dir", restored_dir, timeout=BACKUP_TIMEOUT)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert (restored_dir / "documents" / "7f" / "7f3a9c0d1e2b4a5c").read_bytes() == b"\x01sealed document bytes" * 1000

    audit = run_cli("audit", "verify", "--data-dir", restored_dir)
    assert audit.returncode == 0, audit.stdout + audit.stderr

    third = make_server(restored_dir, name="restored")
    auth = sign_in(third)
    stored = set(sqlite3_cli(restored_dir / "recovery.sqlite", "SELECT id FROM patients").split())
    missing = [pid for pid in before_backup if pid not in stored]
    assert not missing, f"{len(missing)} acknowledged patients are not in the restored box: {missing[:5]}"
    for pid, name in list(before_backup.items())[::max(1, len(before_backup) // 25)]:
        response = third.get(f"/api/v1/patients/{pid}", headers=auth)
        assert response.status_code == 200, response.text
        assert response.json()["patient"]["first_name"] == name
    assert third.get("/api/v1/ready").status_code == 200


def test_backup_verify_refuses_an_altered_file_and_restore_a_used_directory(data_dir, make_server, tmp_path):
    server = make_server(data_dir)
    backup_file = tmp_path / "one.backup"
    result = run_cli("backup", "--data-dir", data_dir, "--to", backup_file, timeout=BACKUP_TIMEOUT)
    assert result.returncode == 0, result.stderr
    again = run_cli("backup", "--data-dir", data_dir, "--to", backup_file, timeout=BACKUP_TIMEOUT)
    assert again.returncode == 1 and "refusing to overwrite" in again.stderr, again.stderr

    altered = tmp_path / "altered.backup"
    data = bytearray(backup_file.read_bytes())
    data[len(data) // 2] ^= 0x40
    altered.write_bytes(bytes(data))
    refused = run_cli("backup", "verify", altered, "--data-dir", data_dir, timeout=BACKUP_TIMEOUT)
    assert refused.returncode == 1 and "damaged or was altered" in refused.stderr, refused.stdout + refused.stderr

    used = run_cli("restore", backup_file, "--data-dir", data_dir)
    assert used.returncode == 1 and "is not empty" in used.stderr, used.stderr
    server.assert_still_serving()


def test_the_server_writes_verifies_and_lists_its_own_backups(data_dir, make_server):
    seeded(data_dir)
    server = make_server(data_dir, env={"RECOVERY_BACKUP_SCHEDULE": "every 90 minutes"})
    auth = sign_in(server)
    deadline = time.monotonic() + BACKUP_TIMEOUT
    listing = {}
    while time.monotonic() < deadline:
        listing = server.get("/api/v1/admin/backups", headers=auth).json()
        if listing["data"] and listing["data"][0]["state"] in ("verified", "failed"):
            break
        time.sleep(0.2)
    assert listing["data"] and listing["data"][0]["state"] == "verified", listing
    entry = listing["data"][0]
    assert listing["schedule"] == "every 90 minutes"
    assert entry["counts"]["patients"] == 5 and entry["bytes"] > 0
    assert listing["newest_verified_at"] == entry["created_at"]
    backup_file = data_dir / "backups" / entry["file"]
    assert oct(backup_file.stat().st_mode & 0o777) == "0o600"
    verified = run_cli("backup", "verify", backup_file, "--data-dir", data_dir, timeout=BACKUP_TIMEOUT)
    assert verified.returncode == 0, verified.stdout + verified.stderr

    # A counselor's role does not carry appliance.operate.
    counselor = server.request("POST", "/api/v1/auth/staff/login",
                               json={"email": "counselor@serenity.example", "password": "SerenityDemo2026!"}).json()
    refused = server.get("/api/v1/admin/backups", headers={"Authorization": f"Bearer {counselor['access_token']}"})
    assert refused.status_code == 403, refused.text


def test_ready_answers_503_and_writes_507_when_the_disk_is_nearly_full(data_dir, make_server):
    server = make_server(data_dir, name="roomy")
    ready = server.get("/api/v1/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == "ready"
    server.stop()

    full = make_server(data_dir, name="full", env={"RECOVERY_STORAGE_MIN_FREE_BYTES": "1099511627776"})
    ready = full.get("/api/v1/ready")
    assert ready.status_code == 503, ready.text
    disk = [check for check in ready.json()["checks"] if check["name"] == "disk"][0]
    assert not disk["ok"] and "storage.min_free_bytes" in disk["reason"]
    write = full.request("POST", "/api/v1/auth/staff/login", json=DIRECTOR)
    assert write.status_code == 507, write.text
    assert write.json()["error"]["code"] == "insufficient_storage"
    assert full.get("/api/v1/health").status_code == 200
