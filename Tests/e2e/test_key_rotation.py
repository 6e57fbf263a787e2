"""Master-key rotation against the real binary, while the server serves.

Patients with names, a conversation with messages and a document are made;
client threads keep creating and reading patients; `keys rotate` (small
batches) is killed with SIGKILL in the middle of its first pass and run again
to the end; between the runs a scheduled backup waits while the rotation lock
is held and is written, naming both key versions, once it is not. Then: every
acknowledged write reads back, name search finds the patients, `audit verify`
passes, and with the old key file destroyed a restarted server still decrypts
everything (patients, messages, the document). The patients' names appear
nowhere in the database file, its WAL or the logs.

A server whose key file is kept elsewhere (without the new `.v2` beside it)
cannot load the new key: `keys rotate` waits for it, stops resumable with
nothing encrypted under the new key, /api/v1/ready (without naming the file)
and /metrics say so, a backup made meanwhile names both key versions; once the
file is there the server loads it and the rotation resumes, naming the backups
that need the retired key.
"""
from __future__ import annotations

import concurrent.futures
import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import threading
import time
import urllib.parse
import uuid

import requests

from conftest import SERVER_BIN, clean_env, run_cli

DIRECTOR = {"email": "director@serenity.example", "password": "SerenityDemo2026!"}
ROTATE_TIMEOUT = 600.0  # seconds: a hang guard on a slow machine, not a performance bound


class Session:
    """A signed-in client shared by threads. Like the apps, it refreshes its access
    token once on a 401 (tokens signed with the old key version are accepted until the
    rotation ends); the refresh token issued before the rotation must still work."""

    def __init__(self, server):
        self.server = server
        response = server.request("POST", "/api/v1/auth/staff/login", json=DIRECTOR)
        assert response.status_code == 200, response.text
        self.lock = threading.Lock()
        self.access, self.refresh_token = response.json()["access_token"], response.json()["refresh_token"]
        self.refreshes = 0

    @property
    def headers(self) -> dict:
        with self.lock:
            return {"Authorization": f"Bearer {self.access}"}

    def refreshed(self, stale: dict) -> dict:
        with self.lock:
            if stale["Authorization"] == f"Bearer {self.access}":
                response = requests.post(self.server.url("/api/v1/auth/refresh"), json={"refresh_token": self.refresh_token},
                                         timeout=20)
                assert response.status_code == 200, f"the session did not survive: {response.status_code} {response.text}"
                self.access, self.refresh_token = response.json()["access_token"], response.json()["refresh_token"]
                self.refreshes += 1
            return {"Authorization": f"Bearer {self.access}"}

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = self.headers
        response = requests.request(method, self.server.url(path), headers=headers, timeout=20, **kwargs)
        if response.status_code == 401:
            response = requests.request(method, self.server.url(path), headers=self.refreshed(headers), timeout=20, **kwargs)
        return response


def distinctive_name(prefix: str) -> str:
    """A name made of letters only, unlikely anywhere by chance."""
    return prefix + "".join(chr(ord("a") + b % 26) for b in uuid.uuid4().bytes[:8])


class Load:
    """Threads creating patients and reading them back until stopped."""

    def __init__(self, session: Session, workers: int = 3):
        self.session, self.workers = session, workers
        self.acknowledged: dict[str, str] = {}
        self.reads = 0
        self.failed_reads: list[str] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers)
        self.futures = []

    def _loop(self) -> None:
        while not self.stopping.is_set():
            name = distinctive_name("Rotload")
            try:
                response = self.session.call("POST", "/api/v1/patients",
                                             json={"first_name": name, "last_name": "Keyturn", "date_of_birth": "1984-04-04"})
            except requests.RequestException:
                continue
            if response.status_code != 201:
                continue
            patient_id = response.json()["patient"]["id"]
            with self.lock:
                self.acknowledged[patient_id] = name
            read = self.session.call("GET", f"/api/v1/patients/{patient_id}")
            with self.lock:
                self.reads += 1
                if read.status_code != 200 or read.json()["patient"]["first_name"] != name:
                    self.failed_reads.append(f"{patient_id}: {read.status_code}")

    def start(self) -> "Load":
        self.futures = [self.pool.submit(self._loop) for _ in range(self.workers)]
        return self

    def stop(self) -> dict[str, str]:
        self.stopping.set()
        for future in self.futures:
            future.result(timeout=60)
        self.pool.shutdown()
        with self.lock:
            return dict(self.acknowledged)


def upload_document(server, auth, patient_id: str, body: bytes) -> str:
    boundary = "rotation-boundary-7a"
    parts = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nIntake summary\r\n"
             f"--{boundary}\r\nContent-Disposition: form-data; name=\"type\"\r\n\r\nother\r\n"
             f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"intake.pdf\"\r\n"
             f"Content-Type: application/pdf\r\n\r\n").encode() + body + f"\r\n--{boundary}--\r\n".encode()
    response = requests.post(server.url(f"/api/v1/patients/{patient_id}/documents"), data=parts, timeout=60,
                             headers={**auth, "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert response.status_code == 201, response.text
    return response.json()["document"]["id"]


def check_everything_reads(session: Session, patients: dict[str, str], conversation: str, messages: list[str],
                           document: str, document_bytes: bytes) -> None:
    for patient_id, name in patients.items():
        response = session.call("GET", f"/api/v1/patients/{patient_id}")
        assert response.status_code == 200, response.text
        assert response.json()["patient"]["first_name"] == name
    listed = session.call("GET", f"/api/v1/conversations/{conversation}/messages")
    assert listed.status_code == 200, listed.text
    assert set(messages) <= {m["body"] for m in listed.json()["data"]}
    content = session.call("GET", f"/api/v1/documents/{document}/content")
    assert content.status_code == 200 and content.content == document_bytes


def test_rotation_killed_midway_resumes_and_the_old_key_can_be_destroyed(data_dir, make_server, tmp_path):
    assert run_cli("seed", "--demo", "--data-dir", data_dir).returncode == 0
    server = make_server(data_dir, name="before")
    session = Session(server)
    auth = session.headers

    named: dict[str, str] = {}
    for _ in range(4):
        first, last = distinctive_name("Zyx"), distinctive_name("Qor")
        response = server.request("POST", "/api/v1/patients", headers=auth,
                                  json={"first_name": first, "last_name": last, "date_of_birth": "1979-09-09"})
        assert response.status_code == 201, response.text
        named[response.json()["patient"]["id"]] = first + " " + last
    some_patient = next(iter(named))
    conversation = server.request("POST", "/api/v1/conversations", headers=auth, json={"patient_id": some_patient})
    assert conversation.status_code == 201, conversation.text
    conversation_id = conversation.json()["conversation"]["id"]
    messages = [f"Rotation check message {n}" for n in range(3)]
    for body in messages:
        sent = server.request("POST", f"/api/v1/conversations/{conversation_id}/messages", headers=auth,
                              json={"body": body, "client_id": str(uuid.uuid4())})
        assert sent.status_code == 201, sent.text
    document_bytes = b"%PDF-1.7\n" + hashlib.sha256(b"rotation").digest() * 9000
    document = upload_document(server, auth, some_patient, document_bytes)

    def search_finds_each_named_patient():
        for patient_id, name in named.items():
            found = session.call("GET", "/api/v1/patients?search=" + urllib.parse.quote(name))
            assert found.status_code == 200, found.text
            assert [p["id"] for p in found.json()["data"]] == [patient_id], found.text

    search_finds_each_named_patient()
    load = Load(session).start()
    time.sleep(1.0)

    # First run: killed in the middle of its first pass.
    rotate = subprocess.Popen([str(SERVER_BIN), "keys", "rotate", "--batch-size", "2", "--data-dir", str(data_dir)],
                              env=clean_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines, waited = [], []
    for line in rotate.stdout:
        # It may first wait (a second at most) for the server to load the new key.
        (waited if line.startswith("waiting ") else lines).append(line)
        if len(lines) == 6:
            break
    rotate.send_signal(signal.SIGKILL)
    rotate.wait(timeout=30)
    first_output = "".join(waited + lines) + rotate.stdout.read() + rotate.stderr.read()
    assert len(lines) == 6 and all(line.startswith("first_pass 1->2") for line in lines), first_output
    status = run_cli("keys", "status", "--data-dir", data_dir)
    assert status.returncode == 0, status.stderr
    assert "rotation 1->2: first_pass" in status.stdout and "unfinished" in status.stdout, status.stdout

    # A scheduled backup falls due (the one written at start is removed). While a run holds the
    # rotation lock (taken here as `keys rotate` takes it) it waits, and /metrics shows it waiting;
    # with no run holding it the unfinished rotation does not hold it back: it names both key versions.
    for leftover in (data_dir / "backups").iterdir():
        shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
    with open(data_dir / "master.key.rotation-lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        wait_for(lambda: (metric(server, "recovery_backup_deferred_seconds") or 0) > 0, timeout=60, what="the backup to be deferred")
        assert session.call("GET", "/api/v1/admin/backups").json()["data"] == []
    written = wait_for(lambda: [b for b in session.call("GET", "/api/v1/admin/backups").json()["data"] if b["state"] == "verified"],
                       timeout=60, what="the backup once no run holds the lock")
    assert written[0]["key_versions"] == [1, 2], written
    assert metric(server, "recovery_backup_deferred_seconds") == 0

    # Second run: resumes and finishes while the load goes on.
    started = time.monotonic()
    resumed = run_cli("keys", "rotate", "--data-dir", data_dir, timeout=ROTATE_TIMEOUT)
    elapsed = time.monotonic() - started
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert ", resumed" in resumed.stdout and "key rotation finished: version 2 is current" in resumed.stdout, resumed.stdout
    time.sleep(2.0)  # the server notices the end within a second
    acknowledged = load.stop()
    print(f"rotation resumed and finished in {elapsed:.1f} s under load; {len(acknowledged)} patients created, "
          f"{load.reads} read back during it, {session.refreshes} token refresh(es)")
    assert acknowledged, "the load wrote nothing"
    assert not load.failed_reads, load.failed_reads[:5]

    check_everything_reads(session, {**named_first(named), **acknowledged}, conversation_id, messages, document, document_bytes)
    for patient_id, name in named.items():
        found = session.call("GET", "/api/v1/patients?search=" + urllib.parse.quote(name))
        assert found.status_code == 200, found.text
        assert [p["id"] for p in found.json()["data"]] == [patient_id]
    audit = run_cli("audit", "verify", "--data-dir", data_dir)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    server.stop()

    # The old key file destroyed: the box runs on version 2 alone.
    os.remove(data_dir / "master.key")
    status = run_cli("keys", "status", "--data-dir", data_dir)
    assert "version 1: retired, key file" in status.stdout and "absent" in status.stdout, status.stdout
    assert "version 2: current" in status.stdout and "finished" in status.stdout, status.stdout
    audit = run_cli("audit", "verify", "--data-dir", data_dir)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    after = make_server(data_dir, name="after")
    session.server = after
    check_everything_reads(session, {**named_first(named), **acknowledged}, conversation_id, messages, document, document_bytes)
    for patient_id, name in named.items():
        found = session.call("GET", "/api/v1/patients?search=" + urllib.parse.quote(name))
        assert [p["id"] for p in found.json()["data"]] == [patient_id]
    after.stop()

    # No name in clear anywhere on disk or in the logs.
    names = [part for full in named.values() for part in full.split()] + list(acknowledged.values())[:50]
    haystacks = [data_dir / "recovery.sqlite", data_dir / "recovery.sqlite-wal", *tmp_path.glob("*.log")]
    outputs = first_output + resumed.stdout + resumed.stderr + status.stdout + status.stderr
    for name in names:
        assert name not in outputs
        for path in haystacks:
            if path.exists():
                assert name.encode() not in path.read_bytes(), f"{name} in {path.name}"


def named_first(named: dict[str, str]) -> dict[str, str]:
    """The first names of the named patients, by id."""
    return {patient_id: full.split()[0] for patient_id, full in named.items()}


def wait_for(condition, timeout: float = 20.0, what: str = "condition"):
    """Polls `condition` until it answers something truthy (a hang guard, not a performance bound)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = condition()
        if answer:
            return answer
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def metric(server, name: str) -> float | None:
    for line in server.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def test_a_server_that_cannot_load_the_new_key_holds_the_rotation_back(data_dir, make_server, tmp_path):
    assert run_cli("seed", "--demo", "--data-dir", data_dir).returncode == 0
    # The server's key file lives elsewhere, alone: it will not find master.key.v2 beside it.
    keys = tmp_path / "mounted-keys"
    keys.mkdir(mode=0o700)
    shutil.copy2(data_dir / "master.key", keys / "master.key")
    os.chmod(keys / "master.key", 0o600)
    server = make_server(data_dir, name="keys-elsewhere", env={"RECOVERY_KEY_FILE": str(keys / "master.key")})
    session = Session(server)
    assert server.get("/api/v1/ready").status_code == 200
    # The scheduled backup missed at start (schedule daily 02:00), made under version 1.
    backups = wait_for(lambda: [b for b in session.call("GET", "/api/v1/admin/backups").json()["data"] if b["state"] == "verified"],
                       what="the backup written at start")
    assert backups[0]["key_versions"] == [1], backups
    wait_for(lambda: metric(server, "recovery_master_key_version") == 1, what="the key version metric")

    refused = run_cli("keys", "rotate", "--wait-seconds", "3", "--data-dir", data_dir, timeout=ROTATE_TIMEOUT)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "waiting up to 3 s for the running server" in refused.stdout, refused.stdout
    assert "has not loaded master key version 2" in refused.stderr and "it holds version 1" in refused.stderr, refused.stderr
    assert str(keys / "master.key.v2") in refused.stderr, refused.stderr
    assert "run `keys rotate` again" in refused.stderr, refused.stderr

    ready = server.get("/api/v1/ready")
    assert ready.status_code == 503, ready.text
    check = next(c for c in ready.json()["checks"] if c["name"] == "master_key_reload")
    # /ready is public: it says what failed, not which file; the log and `keys status` name it.
    assert not check["ok"] and "a key version could not be loaded" in check["reason"], check
    assert str(keys) not in ready.text and str(data_dir) not in ready.text and "master.key" not in ready.text, ready.text
    assert str(keys / "master.key.v2") in server.log()
    assert metric(server, "recovery_master_key_reload_failing") == 1
    assert "master key reload failed" in server.log()
    status = run_cli("keys", "status", "--data-dir", data_dir)
    assert "server: running" in status.stdout and "holds version 1" in status.stdout, status.stdout
    assert str(keys / "master.key.v2") in status.stdout, status.stdout
    assert "rotation 1->2: first_pass" in status.stdout and ", 0 rows," in status.stdout, status.stdout

    # It keeps serving under version 1 meanwhile.
    name = distinctive_name("Heldback")
    created = session.call("POST", "/api/v1/patients", json={"first_name": name, "last_name": "Waiting", "date_of_birth": "1980-08-08"})
    assert created.status_code == 201, created.text
    patient_id = created.json()["patient"]["id"]

    # A backup made now, mid-rotation, needs both key versions and says so.
    during = tmp_path / "during.backup"
    backup = run_cli("backup", "--to", during, "--data-dir", data_dir)
    assert backup.returncode == 0, backup.stdout + backup.stderr
    assert "a master-key rotation (1->2) was running" in backup.stdout and "versions 1 and 2" in backup.stdout, backup.stdout

    # The key file is put where the server looks: it loads it, and the rotation resumes.
    shutil.copy2(data_dir / "master.key.v2", keys / "master.key.v2")
    os.chmod(keys / "master.key.v2", 0o600)
    wait_for(lambda: server.get("/api/v1/ready").status_code == 200, what="the server to load version 2")
    assert metric(server, "recovery_master_key_reload_failing") == 0
    assert metric(server, "recovery_master_key_version") == 2
    finished = run_cli("keys", "rotate", "--wait-seconds", "30", "--data-dir", data_dir, timeout=ROTATE_TIMEOUT)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert ", resumed" in finished.stdout and "key rotation finished: version 2 is current" in finished.stdout, finished.stdout
    assert f"needs {data_dir / 'master.key'} to be verified" in finished.stdout, finished.stdout
    assert backups[0]["file"] in finished.stdout, finished.stdout

    read = session.call("GET", f"/api/v1/patients/{patient_id}")
    assert read.status_code == 200 and read.json()["patient"]["first_name"] == name, read.text
    server.stop()
    status = run_cli("keys", "status", "--data-dir", data_dir)
    assert "server: not running" in status.stdout, status.stdout
    verified = run_cli("backup", "verify", during, "--data-dir", data_dir)
    assert verified.returncode == 0, verified.stdout + verified.stderr
