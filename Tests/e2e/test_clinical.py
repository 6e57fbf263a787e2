"""Clinical records against the real server process (README "Clinical records").

- A treatment plan's lifecycle: template -> plan -> sign -> an edit makes
  version 2 as a draft -> version 1 unchanged and readable; the patient's
  acknowledgement recorded.
- A PHQ-9 with item 9 above 0 is flagged and raises a crisis alert.
- A 20 MiB document uploaded in pieces (chunked) downloads byte-identical; its
  bytes and its title appear nowhere in plain text under the data directory;
  the server's memory grows by less than 10 MiB while it streams in and out.
- A patient cannot download a document not made visible to them.
- An executable renamed .pdf (415), an upload over documents.max_bytes (413)
  and a connection cut mid-upload each leave no file and no row behind.
"""
import hashlib
import os
import socket
import threading
import time
from pathlib import Path

import requests

from conftest import run_cli, sqlite3_cli

DIRECTOR = {"email": "director@serenity.example", "password": "SerenityDemo2026!"}
PATIENT_PASSWORD = "lantern by the window 42"
CHUNK = 65_536


class Clinic:
    def __init__(self, data_dir, make_server, env=None):
        seeded = run_cli("seed", "--demo", "--data-dir", data_dir)
        assert seeded.returncode == 0, seeded.stderr
        self.data_dir = data_dir
        self.db = data_dir / "recovery.sqlite"
        self.server = make_server(data_dir, env=env)
        token = requests.post(self.url("/api/v1/auth/staff/login"), json=DIRECTOR, timeout=10).json()["access_token"]
        self.staff = {"Authorization": f"Bearer {token}"}
        created = self.post("/api/v1/patients", {"first_name": "Clinical", "last_name": "Tester", "date_of_birth": "1988-04-04"})
        assert created.status_code == 201, created.text
        body = created.json()
        self.patient_id = body["patient"]["id"]
        email = "clinical.patient@example.org"
        registered = requests.post(self.url("/api/v1/auth/patient/register"), timeout=10,
                                   json={"registration_key": body["registration_key"], "password": PATIENT_PASSWORD, "email": email})
        assert registered.status_code in (200, 201), registered.text
        login = requests.post(self.url("/api/v1/auth/patient/login"), json={"identifier": email, "password": PATIENT_PASSWORD}, timeout=10)
        self.patient = {"Authorization": f"Bearer {login.json()['access_token']}"}

    def url(self, path):
        return self.server.url(path)

    def post(self, path, body, headers=None):
        return requests.post(self.url(path), headers=headers or self.staff, json=body, timeout=30)

    def patch(self, path, body, headers=None):
        return requests.patch(self.url(path), headers=headers or self.staff, json=body, timeout=30)

    def get(self, path, headers=None):
        return requests.get(self.url(path), headers=headers or self.staff, timeout=30)

    def documents_on_disk(self):
        folder = self.data_dir / "documents"
        return sorted(os.listdir(folder)) if folder.exists() else []

    def document_rows(self):
        return int(sqlite3_cli(self.db, "SELECT count(*) FROM documents"))


def pattern(size):
    yield b"%PDF-1.7\n"
    left, counter = size - 9, 0
    while left > 0:
        piece = hashlib.sha256(counter.to_bytes(8, "big")).digest() * (CHUNK // 32)
        piece = piece[:min(CHUNK, left)]
        counter += 1
        left -= len(piece)
        yield piece


def multipart(boundary, fields, file_pieces, filename="document.pdf"):
    for name, value in fields.items():
        yield f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n".encode()
    yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
           f"Content-Type: application/pdf\r\n\r\n").encode()
    yield from file_pieces
    yield f"\r\n--{boundary}--\r\n".encode()


def upload(clinic, fields, pieces, filename="document.pdf"):
    boundary = "e2e-boundary-5c1d"
    headers = {**clinic.staff, "Content-Type": f"multipart/form-data; boundary={boundary}"}
    return requests.post(clinic.url(f"/api/v1/patients/{clinic.patient_id}/documents"), headers=headers,
                         data=multipart(boundary, fields, pieces, filename), timeout=120)


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def test_plan_lifecycle_template_plan_sign_version_two_and_acknowledgement(data_dir, make_server):
    clinic = Clinic(data_dir, make_server)
    template = clinic.post("/api/v1/treatment-plan-templates", {"name": "Outpatient", "content": {"problems": [
        {"title": "Opioid use disorder", "goals": [{"title": "Stable on medication", "target_days": 60, "objectives": [
            {"title": "Daily dose taken", "target_days": 14, "responsible_role": "patient",
             "interventions": [{"title": "Weekly check-in", "responsible_role": "nurse", "frequency": "weekly"}]}]}]}]}})
    assert template.status_code == 201, template.text
    plan = clinic.post(f"/api/v1/patients/{clinic.patient_id}/treatment-plans",
                       {"title": "Initial plan", "template_id": template.json()["template"]["id"], "start_date": "2026-12-01"})
    assert plan.status_code == 201, plan.text
    v1 = plan.json()["treatment_plan"]
    assert v1["version"] == 1 and v1["status"] == "draft"
    assert v1["content"]["problems"][0]["goals"][0]["target_date"] == "2027-01-30"

    signed = clinic.post(f"/api/v1/treatment-plans/{v1['id']}/sign", {})
    assert signed.status_code == 200, signed.text
    signed_v1 = signed.json()["treatment_plan"]

    edited = clinic.patch(f"/api/v1/treatment-plans/{v1['id']}", {"title": "Plan after review", "review_date": "2027-03-01"})
    assert edited.status_code == 201, edited.text
    v2 = edited.json()["treatment_plan"]
    assert v2["version"] == 2 and v2["status"] == "draft" and v2["plan_id"] == v1["id"] and v2["id"] != v1["id"]

    again = clinic.get(f"/api/v1/treatment-plans/{v1['id']}").json()["treatment_plan"]
    assert {k: v for k, v in again.items() if k != "is_newest"} == {k: v for k, v in signed_v1.items() if k != "is_newest"}
    versions = clinic.get(f"/api/v1/treatment-plans/{v2['id']}/versions").json()["data"]
    assert [v["version"] for v in versions] == [1, 2]
    # The database itself refuses a change to the signed row.
    refused = run_cli_sql(clinic.db, f"UPDATE treatment_plans SET review_date = '2030-01-01' WHERE id = '{v1['id']}'")
    assert "immutable" in refused

    mine = clinic.get("/api/v1/me/treatment-plans", clinic.patient).json()["data"]
    assert [p["id"] for p in mine] == [v1["id"]]
    ack = clinic.post(f"/api/v1/me/treatment-plans/{v1['id']}/acknowledge", {}, clinic.patient)
    assert ack.status_code == 200 and ack.json()["treatment_plan"]["acknowledged_at"], ack.text
    assert clinic.get(f"/api/v1/treatment-plans/{v1['id']}").json()["treatment_plan"]["acknowledged_at"]


def run_cli_sql(db, sql):
    import subprocess
    result = subprocess.run(["sqlite3", str(db), sql], capture_output=True, text=True, timeout=30)
    return result.stdout + result.stderr


def test_phq9_item_nine_raises_the_flag_and_a_crisis_alert(data_dir, make_server):
    clinic = Clinic(data_dir, make_server)
    before = clinic.get("/api/v1/crisis-alerts?status=all").json()["pagination"]["total"]
    answered = clinic.post("/api/v1/me/assessments", {"instrument": "phq9", "answers": [1, 1, 1, 1, 1, 1, 1, 1, 1]}, clinic.patient)
    assert answered.status_code == 201, answered.text
    assessment = answered.json()["assessment"]
    assert assessment["total"] == 9 and assessment["band"] == "mild"
    assert assessment["flags"][0]["code"] == "suicidal_ideation" and assessment["flags"][0]["level"] == "crisis"
    alerts = clinic.get("/api/v1/crisis-alerts?status=all").json()
    assert alerts["pagination"]["total"] == before + 1
    assert alerts["data"][0]["id"] == assessment["crisis_alert_id"] and alerts["data"][0]["source"] == "system"
    listed = clinic.get(f"/api/v1/patients/{clinic.patient_id}/assessments?instrument=phq9").json()
    assert listed["trends"]["phq9"]["items"][8][0]["value"] == 1


def test_a_20_mib_document_streams_in_and_out_encrypted_with_little_memory(data_dir, make_server):
    clinic = Clinic(data_dir, make_server)
    size = 20 * 1_048_576
    expected = hashlib.sha256(b"".join(pattern(size))).hexdigest()
    title = "Zephyrine discharge summary 7731"
    warm = upload(clinic, {"title": "warm", "type": "other"}, pattern(3 * CHUNK))
    assert warm.status_code == 201, warm.text
    clinic.get(f"/api/v1/documents/{warm.json()['document']['id']}/content")
    pid = clinic.server.proc.pid
    time.sleep(0.3)
    baseline, peak, stop = rss_mib(pid), [0.0], threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], rss_mib(pid))
            time.sleep(0.01)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        made = upload(clinic, {"title": title, "type": "discharge_summary", "patient_visible": "false"}, pattern(size), "zephyrine.pdf")
        assert made.status_code == 201, made.text
        document = made.json()["document"]
        digest, got = hashlib.sha256(), 0
        with requests.get(clinic.url(f"/api/v1/documents/{document['id']}/content"), headers=clinic.staff, stream=True, timeout=120) as r:
            assert r.status_code == 200 and r.headers["Content-Type"] == "application/pdf"
            for piece in r.iter_content(CHUNK):
                digest.update(piece)
                got += len(piece)
    finally:
        stop.set()
        sampler.join()
    assert got == size and digest.hexdigest() == expected == document["sha256"]
    growth = peak[0] - baseline
    print(f"RSS while streaming 20 MiB: baseline {baseline:.1f} MiB, peak {peak[0]:.1f} MiB, growth {growth:.1f} MiB")
    assert growth < 10, f"RSS grew by {growth:.1f} MiB"

    # Neither the bytes nor the title anywhere under the data directory in plain text.
    probe = b"".join(pattern(size))[1_000_000:1_000_064]
    for path in Path(data_dir).rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert probe not in content and title.encode() not in content, path
            assert b"zephyrine" not in content.lower(), path

    # The patient cannot download it: it is not visible to them.
    assert clinic.get(f"/api/v1/me/documents/{document['id']}/content", clinic.patient).status_code == 404
    assert clinic.get("/api/v1/me/documents", clinic.patient).json()["data"] == []


def test_executable_oversized_and_cut_uploads_leave_nothing(data_dir, make_server):
    clinic = Clinic(data_dir, make_server, env={"RECOVERY_DOCUMENTS_MAX_BYTES": str(1_048_576)})
    elf = b"\x7fELF\x02\x01\x01\x00" + bytes(8) + b"\x02\x00\x3e\x00" + bytes(4_000)
    exe = upload(clinic, {"title": "Report", "type": "other"}, [elf], "report.pdf")
    assert exe.status_code == 415 and exe.json()["error"]["code"] == "unsupported_document_type", exe.text

    # Over the limit, sent in pieces with no declared length: 413 as soon as the limit
    # is passed (the client may see the connection closed while it is still sending).
    try:
        big = upload(clinic, {"title": "Report", "type": "other"}, pattern(2 * 1_048_576))
        assert big.status_code == 413, big.text
    except requests.ConnectionError:
        pass
    # Over the limit by its declared length: refused before it is read.
    boundary = "declared-boundary"
    declared = requests.post(clinic.url(f"/api/v1/patients/{clinic.patient_id}/documents"), timeout=30,
                             headers={**clinic.staff, "Content-Type": f"multipart/form-data; boundary={boundary}"},
                             data=b"".join(multipart(boundary, {"title": "R", "type": "other"}, pattern(2 * 1_048_576))))
    assert declared.status_code == 413 and declared.json()["error"]["code"] == "body_too_large", declared.text

    # A connection cut in the middle of the file.
    boundary = "cut-boundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nCut\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"type\"\r\n\r\nother\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n\r\n").encode()
    body = head + b"".join(pattern(400_000))
    request = (f"POST /api/v1/patients/{clinic.patient_id}/documents HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               f"Authorization: {clinic.staff['Authorization']}\r\n"
               f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {len(body) + 600_000}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", clinic.server.port), timeout=10) as s:
        s.sendall(request + body)
        time.sleep(0.5)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and clinic.documents_on_disk():
        time.sleep(0.1)

    assert clinic.documents_on_disk() == []
    assert clinic.document_rows() == 0
    clinic.server.assert_still_serving()
