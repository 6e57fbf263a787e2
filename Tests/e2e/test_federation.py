"""Federation against the real binary: two appliances on loopback, a clinic and
central (two data directories, two ports). The clinic enrols with a one-time
code, produces data, syncs; central's super admin reads the metrics. A tampered,
a replayed and a revoked clinic's payload are each refused with nothing stored,
and no payload, nor central's files and logs, holds a patient's name, date of
birth, patient number or note.
"""
from __future__ import annotations

import base64
import datetime
import hashlib
import http.server
import json
import signal
import subprocess
import threading
import time

import requests

from conftest import init_data_dir, run_cli
from test_sign_in import bearer, login, totp

CENTRAL_EMAIL = "root@central.example.org"
CLINIC_EMAIL = "director@harborlight.example.org"
PASSWORD = "tidal harbor lantern 42"
NOTE = "Quillfeather zephyr note about my sister"
CENTRAL_ENV = {"RECOVERY_MODE": "central"}


def central_super_admin(central) -> str:
    first = login(central, CENTRAL_EMAIL, PASSWORD).json()
    assert first.get("mfa_enrolment_required") is True, first  # a super admin always has a second factor
    setup = requests.post(central.url("/api/v1/auth/mfa/enrol/setup"), json={"mfa_token": first["mfa_token"]}, timeout=10).json()
    confirmed = requests.post(central.url("/api/v1/auth/mfa/enrol/confirm"), timeout=10,
                              json={"mfa_token": first["mfa_token"], "code": totp(setup["secret"])})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["user"]["role"] == "super_admin"
    return confirmed.json()["access_token"]


def read_db(db, sql: str) -> str:
    """A read-only query of a running server's database (WAL mode lets it read beside the server)."""
    result = subprocess.run(["sqlite3", "-readonly", "-batch", "-bail", str(db), sql], stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, f"sqlite3 failed on {sql!r}: {result.stderr}"
    return result.stdout.strip()


def central_state(central_dir) -> str:
    """Everything central stored from clinics."""
    return read_db(central_dir / "recovery.sqlite", """
        SELECT 'r', peer_id, sequence, hex(payload_digest) FROM federation_receipts
        UNION ALL SELECT 'c', facility_id, granularity || period_start || metric, quote(value) || suppressed || sequence FROM federation_metric_cells
        ORDER BY 1, 2, 3;""")


def post_payload(central, clinic_id, payload, signature):
    return requests.post(central.url("/api/v1/federation/payloads"), timeout=10,
                         json={"clinic_id": clinic_id, "payload": payload, "signature": signature})


def test_a_clinic_enrols_syncs_and_central_reads_only_aggregates(tmp_path, make_server):
    central_dir, clinic_dir = tmp_path / "central", tmp_path / "clinic"
    made = run_cli("init", "--data-dir", central_dir, "--admin-email", CENTRAL_EMAIL, "--admin-password", PASSWORD,
                   "--facility-name", "Central Office", env=CENTRAL_ENV)
    assert made.returncode == 0, made.stderr
    init_data_dir(clinic_dir, CLINIC_EMAIL, PASSWORD, "--mfa-policy", "none", "--facility-name", "Harbor Light Clinic",
                  "--timezone", "UTC")
    seeded = run_cli("seed", "--demo", "--data-dir", clinic_dir)
    assert seeded.returncode == 0, seeded.stderr
    central = make_server(central_dir, env=CENTRAL_ENV, name="central")
    clinic = make_server(clinic_dir, name="clinic")

    root = central_super_admin(central)
    # Central routes on a clinic, clinic routes on central: not served there.
    assert requests.get(central.url("/api/v1/federation/status"), headers=bearer(root), timeout=10).json()["error"]["code"] == "federation_role"

    created = requests.post(central.url("/api/v1/federation/enrollments"), json={"facility_name": "Harbor Light"},
                            headers=bearer(root), timeout=10)
    assert created.status_code == 201, created.text
    code = created.json()["code"]
    assert code not in (central_dir / "recovery.sqlite").read_bytes().decode("latin-1")

    # Plain http to a non-loopback address is refused before anything is sent.
    refused = run_cli("federation", "enroll", "--data-dir", clinic_dir, "--central", "http://10.255.255.1:3000", "--code", code)
    assert refused.returncode == 1 and "plain http" in refused.stderr, refused.stderr

    enrolled = run_cli("federation", "enroll", "--data-dir", clinic_dir, "--central", central.base_url, "--code", code)
    assert enrolled.returncode == 0, enrolled.stderr
    # The code worked once.
    again = requests.post(central.url("/api/v1/federation/enroll"), timeout=10,
                          json={"code": code, "public_key": base64.b64encode(bytes(32)).decode()})
    assert again.status_code == 400 and again.json()["error"]["code"] == "invalid_enrollment_code"
    peers = requests.get(central.url("/api/v1/federation/peers"), headers=bearer(root), timeout=10).json()["data"]
    assert [(p["name"], p["status"]) for p in peers] == [("Harbor Light", "active")]
    clinic_id = peers[0]["id"]

    # Data on the clinic: three admissions a week ago, twelve today, one registered patient's check-in with a note.
    admin = login(clinic, CLINIC_EMAIL, PASSWORD).json()["access_token"]
    today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    week_ago = (datetime.datetime.now(datetime.timezone.utc).date() - datetime.timedelta(days=7)).isoformat()
    for i in range(3):
        made = requests.post(clinic.url("/api/v1/patients"), headers=bearer(admin), timeout=10, json={
            "first_name": f"Wilhelmina{i}", "last_name": "Featherstonehaugh", "date_of_birth": f"198{i}-06-2{i}",
            "admission_date": week_ago, "level_of_care": "outpatient"})
        assert made.status_code == 201, made.text
    registration_key = None
    for i in range(12):
        made = requests.post(clinic.url("/api/v1/patients"), headers=bearer(admin), timeout=10, json={
            "first_name": f"Ottoline{i}", "last_name": "Brackenridge", "date_of_birth": f"19{60 + i}-03-1{i % 10}",
            "admission_date": today, "level_of_care": "residential"})
        assert made.status_code == 201, made.text
        registration_key = registration_key or made.json()["registration_key"]
    registered = requests.post(clinic.url("/api/v1/auth/patient/register"), timeout=10,
                               json={"registration_key": registration_key, "password": "quiet meadow lantern 77"})
    assert registered.status_code == 201, registered.text
    checked_in = requests.post(clinic.url("/api/v1/me/check-ins"), headers=bearer(registered.json()["access_token"]), timeout=10,
                               json={"local_date": today, "timezone": "UTC", "mood": 6, "craving": 2, "note": NOTE})
    assert checked_in.status_code == 201, checked_in.text

    synced = requests.post(clinic.url("/api/v1/federation/sync"), headers=bearer(admin), timeout=30)
    assert synced.status_code == 200, synced.text
    result = synced.json()
    assert result["queued"] >= 1 and result["sent"] == result["queued"] and result["pending"] == 0, result
    status = requests.get(clinic.url("/api/v1/federation/status"), headers=bearer(admin), timeout=10).json()
    assert status["enrolled"] is True and status["queue_depth"] == 0 and status["last_success_at"], status
    assert status["central_url"].startswith("http://127.0.0.1:")

    # The super admin reads the clinic's week on central.
    facilities = requests.get(central.url("/api/v1/federation/facilities"), headers=bearer(root), timeout=10).json()["data"]
    assert sorted(f["name"] for f in facilities) == ["Harbor Light Clinic", "Serenity Recovery Center"], facilities
    harbor = next(f for f in facilities if f["name"] == "Harbor Light Clinic")
    facility_id = harbor["id"]
    census = requests.get(central.url("/api/v1/federation/metrics"), headers=bearer(root), timeout=10,
                          params={"facility_id": facility_id, "metric": "census", "from": week_ago[:8] + "01"}).json()["data"]
    assert census and census[-1]["value"] >= 15, census
    latest = harbor["latest"]
    assert latest["census"] >= 15 and latest["active_patients"] == "suppressed" and latest["check_ins"] == "suppressed", latest
    # Last week's census of three is suppressed; this week's census minus its movements would give it back, so this
    # week's admissions and discharges are suppressed with it (the census of fifteen stays shown).
    assert census[-2]["value"] == "suppressed" and latest["admissions"] == "suppressed" and latest["discharges"] == "suppressed", \
        (census, latest)
    # Across weeks (last week's census + admissions - discharges = this week's census): every balance central holds
    # with a suppressed cell has both movements suppressed, so no neighbouring week gives a suppressed cell back.
    for facility in facilities:
        weeks: dict[str, dict[str, object]] = {}
        for metric in ("census", "admissions", "discharges"):
            for cell in requests.get(central.url("/api/v1/federation/metrics"), headers=bearer(root), timeout=10,
                                     params={"facility_id": facility["id"], "metric": metric}).json()["data"]:
                weeks.setdefault(cell["period_start"], {})[metric] = cell["value"]
        starts = sorted(weeks)
        assert len(starts) == 8, starts
        for before, week in zip(starts, starts[1:]):
            assert datetime.date.fromisoformat(week) - datetime.date.fromisoformat(before) == datetime.timedelta(days=7)
            balance = [weeks[before]["census"], weeks[week]["census"], weeks[week]["admissions"], weeks[week]["discharges"]]
            if "suppressed" in balance:
                assert balance[2:] == ["suppressed", "suppressed"], (facility["name"], week, balance)
    # The demo facility's five patients: census suppressed in every week.
    serenity = next(f for f in facilities if f["name"] == "Serenity Recovery Center")["latest"]
    assert serenity["census"] == "suppressed", serenity
    bad_query = requests.get(central.url("/api/v1/federation/metrics"), headers=bearer(root), timeout=10, params={"metric": "names"})
    assert bad_query.status_code == 422
    # Version 2's distributions: twelve patients aged 55 to 66 fall in two small age bands, both suppressed; empty bands show 0.
    assert latest["age_55_64"] == latest["age_65_89"] == "suppressed" and latest["age_under_18"] == latest["age_90_plus"] == 0, latest
    assert latest["mood_4_6"] == "suppressed" and sum(latest[b] == "suppressed" for b in ("mood_1_3", "mood_4_6", "mood_7_10")) >= 2, latest
    # Roll-ups across clinics: the demo facility's suppressed census makes the week's total suppressed, so it cannot be subtracted.
    rollups = requests.get(central.url("/api/v1/federation/rollups"), headers=bearer(root), timeout=10, params={"metric": "census"})
    assert rollups.status_code == 200, rollups.text
    week = next(r for r in rollups.json()["data"] if r["period"] == harbor["latest_period"])
    assert week["value"] == "suppressed" and week["facilities"] == 2 and week["suppressed_facilities"] == 1, week
    no_metric = requests.get(central.url("/api/v1/federation/rollups"), headers=bearer(root), timeout=10)
    assert no_metric.status_code == 422 and no_metric.json()["error"]["details"][0]["field"] == "metric", no_metric.text

    # The current week's days, Monday through today, each a full snapshot beside the weeks.
    monday = datetime.date.fromisoformat(today) - datetime.timedelta(days=datetime.date.fromisoformat(today).weekday())
    elapsed = [(monday + datetime.timedelta(days=n)).isoformat() for n in range((datetime.date.fromisoformat(today) - monday).days + 1)]
    # Last week's days are withdrawn: sent with every cell suppressed, so only its weekly cells stay current.
    last_week = [(monday - datetime.timedelta(days=7 - n)).isoformat() for n in range(7)]
    stored = central_state(central_dir)
    for path in ("metrics", "rollups"):
        for name in ("month", "WEEK", "days"):
            bad = requests.get(central.url(f"/api/v1/federation/{path}"), headers=bearer(root), timeout=10,
                               params={"metric": "census", "granularity": name})
            assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "granularity", bad.text
    assert central_state(central_dir) == stored
    days = requests.get(central.url("/api/v1/federation/metrics"), headers=bearer(root), timeout=10,
                        params={"facility_id": facility_id, "granularity": "day"}).json()["data"]
    assert sorted({c["period"] for c in days}) == last_week + elapsed
    assert all(c["granularity"] == "day" and c["period"] == c["period_start"] for c in days)
    assert len(days) == (len(last_week) + len(elapsed)) * len(latest), (len(days), len(elapsed))
    assert all(c["value"] == "suppressed" for c in days if c["period"] in last_week), "a finished week's days are withdrawn"
    today_cells = {c["metric"]: c["value"] for c in days if c["period"] == today}
    assert set(today_cells) == set(latest), "every metric, zeros included"
    # The week's admissions are suppressed (last week's census of three), so no day shows a cell of the balance:
    # the week's admissions are the sum of its days', and Monday's opens with last week's census.
    assert all(c["value"] == "suppressed" for c in days if c["metric"] in ("census", "admissions", "discharges")), days
    assert today_cells["crisis_alerts_raised"] == 0, today_cells
    day_rollups = requests.get(central.url("/api/v1/federation/rollups"), headers=bearer(root), timeout=10,
                               params={"metric": "census", "granularity": "day"}).json()["data"]
    assert [r["period"] for r in day_rollups] == last_week + elapsed, day_rollups
    assert all(r["value"] == "suppressed" and r["facilities"] == 2 for r in day_rollups), day_rollups
    weeks_only = requests.get(central.url("/api/v1/federation/metrics"), headers=bearer(root), timeout=10,
                              params={"facility_id": facility_id, "metric": "census", "granularity": "week"}).json()["data"]
    assert len(weeks_only) == 8 and all(c["granularity"] == "week" and "-W" in c["period"] for c in weeks_only), weeks_only

    # The preview shows nothing left to send; approving is refused while approval is off, and stores nothing.
    preview = requests.get(clinic.url("/api/v1/federation/preview"), headers=bearer(admin), timeout=30).json()
    assert preview == {"require_approval": False, "data": []}, preview
    not_required = requests.post(clinic.url("/api/v1/federation/preview/approve"), headers=bearer(admin), timeout=10,
                                 json={"digests": ["0" * 64]})
    assert not_required.status_code == 409 and not_required.json()["error"]["code"] == "approval_not_required", not_required.text
    bad_digests = requests.post(clinic.url("/api/v1/federation/preview/approve"), headers=bearer(admin), timeout=10, json={"digests": "all"})
    assert bad_digests.status_code == 422 and bad_digests.json()["error"]["details"][0]["field"] == "digests", bad_digests.text

    # What left the clinic: the disclosure log, and the outbox's exact bytes.
    disclosures = requests.get(clinic.url("/api/v1/federation/disclosures"), headers=bearer(admin), timeout=10).json()
    assert disclosures["pagination"]["total"] == result["queued"]
    assert all(d["status"] == "sent" and d["recipient"] == status["central_url"] for d in disclosures["data"])
    rows = read_db(clinic_dir / "recovery.sqlite",
                       "SELECT sequence || '|' || payload || '|' || hex(signature) FROM federation_outbox ORDER BY sequence;")
    sent = [line.split("|") for line in rows.strip().splitlines()]
    assert [int(s[0]) for s in sent] == list(range(1, len(sent) + 1))

    # Every payload and central's database, WAL and log: no name, date of birth, number or note.
    demo_root = login(clinic, "admin@recoversystem.com", "SuperAdmin123!").json()["access_token"]
    patients = requests.get(clinic.url("/api/v1/patients"), headers=bearer(demo_root), params={"limit": 100}, timeout=10).json()["data"]
    assert len(patients) == 20, len(patients)
    secrets = {NOTE}
    for p in patients:
        secrets |= {p["first_name"], p["last_name"], p["date_of_birth"], p["patient_number"], p["id"]} - {None}
    central_files = b"".join((central_dir / name).read_bytes() for name in ("recovery.sqlite", "recovery.sqlite-wal")
                             if (central_dir / name).exists()).decode("latin-1") + central.log()
    assert all(json.loads(payload)["schema_version"] == 3 and '"age_90_plus"' in payload and '"mood_1_3"' in payload
               and '"high_risk_patients"' in payload and '"caseload_1_10"' in payload for _, payload, _ in sent)
    for secret in secrets:
        for _, payload, _ in sent:
            assert secret not in payload, f"a payload holds {secret!r}"
        assert secret not in central_files, f"central holds {secret!r}"

    before = central_state(central_dir)
    sequence, payload, signature_hex = sent[-1]
    signature = base64.b64encode(bytes.fromhex(signature_hex)).decode()
    # Tampered: a figure changed, the signature kept.
    tampered = payload.replace('"value":0', '"value":50', 1)
    assert tampered != payload
    answer = post_payload(central, clinic_id, tampered, signature)
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "bad_signature", answer.text
    # Replayed: the same bytes again are a duplicate and change nothing.
    answer = post_payload(central, clinic_id, payload, signature)
    assert answer.status_code == 200 and answer.json()["outcome"] == "duplicate", answer.text
    assert central_state(central_dir) == before

    # Revoked: the clinic's next payload is refused and nothing is stored.
    revoked = requests.delete(central.url(f"/api/v1/federation/peers/{clinic_id}"), headers=bearer(root), timeout=10)
    assert revoked.status_code == 200 and revoked.json()["peer"]["status"] == "revoked", revoked.text
    more = requests.post(clinic.url("/api/v1/patients"), headers=bearer(admin), timeout=10, json={
        "first_name": "Late", "last_name": "Arrival", "date_of_birth": "1990-01-01", "admission_date": today})
    assert more.status_code == 201, more.text
    after_revoke = requests.post(clinic.url("/api/v1/federation/sync"), headers=bearer(admin), timeout=30).json()
    assert after_revoke["queued"] == 1 and after_revoke["sent"] == 0 and after_revoke["last_error"] == "clinic_revoked", after_revoke
    assert post_payload(central, clinic_id, payload, signature).json()["error"]["code"] == "clinic_revoked"
    assert central_state(central_dir) == before
    status = requests.get(clinic.url("/api/v1/federation/status"), headers=bearer(admin), timeout=10).json()
    assert status["last_error"] == "clinic_revoked"

    refusals = [line for line in central.log().splitlines() if "federation payload refused" in line]
    assert len(refusals) == 3, refusals
    assert all(json.loads(line)["reason"] in ("bad_signature", "clinic_revoked") for line in refusals)
    clinic.assert_still_serving()
    central.assert_still_serving()


def restart_on_same_port(server) -> None:
    """Starts a stopped server again on its old port (the clinic pinned central's URL)."""
    server._spawn()
    assert server._wait_ready(20), server.log()


class HoldingProxy:
    """A loopback HTTP proxy in front of central that can hold central's answer to one
    payload: central has stored it, the clinic has not yet heard back. Killing the clinic
    while an answer is held lands the kill mid-send every time."""

    def __init__(self, target: str):
        self.target = target
        self.hold_sequence: int | None = None
        self.held = threading.Event()
        self.release = threading.Event()
        self.outcomes: list[tuple[int, str]] = []  # (sequence, central's outcome) of every payload forwarded
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (the standard library's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                answer = requests.post(proxy.target + self.path, data=body, timeout=30,
                                       headers={"Content-Type": "application/json"})
                if self.path.endswith("/federation/payloads") and answer.status_code == 200:
                    sequence = answer.json()["sequence"]
                    proxy.outcomes.append((sequence, answer.json()["outcome"]))
                    if sequence == proxy.hold_sequence and not proxy.held.is_set():
                        proxy.held.set()
                        proxy.release.wait(60)
                try:
                    self.send_response(answer.status_code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer.content)))
                    self.end_headers()
                    self.wfile.write(answer.content)
                except OSError:
                    pass  # the clinic is gone

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def enrolled_pair(tmp_path, make_server, *, via_proxy: bool = False, clinic_env: dict | None = None):
    """A central and an enrolled clinic (not yet started); with via_proxy the clinic reaches central through a HoldingProxy."""
    central_dir, clinic_dir = tmp_path / "central", tmp_path / "clinic"
    made = run_cli("init", "--data-dir", central_dir, "--admin-email", CENTRAL_EMAIL, "--admin-password", PASSWORD, env=CENTRAL_ENV)
    assert made.returncode == 0, made.stderr
    init_data_dir(clinic_dir, CLINIC_EMAIL, PASSWORD, "--mfa-policy", "none")
    central = make_server(central_dir, env=CENTRAL_ENV, name="central")
    root = central_super_admin(central)
    code = requests.post(central.url("/api/v1/federation/enrollments"), json={"facility_name": "Clinic"},
                         headers=bearer(root), timeout=10).json()["code"]
    proxy = HoldingProxy(central.base_url) if via_proxy else None
    enrolled = run_cli("federation", "enroll", "--data-dir", clinic_dir, "--central", proxy.url if proxy else central.base_url, "--code", code)
    assert enrolled.returncode == 0, enrolled.stderr
    return central_dir, clinic_dir, central, proxy


def delivered_exactly_once(clinic_dir, central_dir) -> list[str]:
    """Every payload of the clinic's outbox is sent, and central holds each sequence once with the same bytes' digest."""
    outbox = read_db(clinic_dir / "recovery.sqlite", "SELECT sequence || ':' || status || ':' || payload FROM federation_outbox ORDER BY sequence;")
    rows = [line.split(":", 2) for line in outbox.splitlines()]
    assert rows and all(status == "sent" for _, status, _ in rows), [r[:2] for r in rows]
    receipts = read_db(central_dir / "recovery.sqlite", "SELECT sequence || ':' || lower(hex(payload_digest)) FROM federation_receipts ORDER BY sequence;")
    expected = [f"{sequence}:{hashlib.blake2b(payload.encode(), digest_size=32).hexdigest()}" for sequence, _, payload in rows]
    assert receipts.splitlines() == expected  # every payload exactly once, byte for byte
    return [sequence for sequence, _, _ in rows]


def test_payloads_wait_out_an_outage_and_arrive_once_after_a_restart(tmp_path, make_server):
    central_dir, clinic_dir, central, _ = enrolled_pair(tmp_path, make_server)
    # The clinic's background task sends, every 5 s, what has waited out its backoff (it queues only hourly).
    clinic = make_server(clinic_dir, name="clinic")
    admin = login(clinic, CLINIC_EMAIL, PASSWORD).json()["access_token"]

    central.stop()
    today = datetime.datetime.now(datetime.timezone.utc).date()
    made = requests.post(clinic.url("/api/v1/patients"), headers=bearer(admin), timeout=10, json={
        "first_name": "Perpetua", "last_name": "Winterbourne", "date_of_birth": "1971-07-07", "admission_date": today.isoformat()})
    assert made.status_code == 201, made.text
    down = requests.post(clinic.url("/api/v1/federation/sync"), headers=bearer(admin), timeout=60).json()
    assert down["sent"] == 0 and down["pending"] >= 1 and down["last_error"] == "central_unreachable", down
    status = requests.get(clinic.url("/api/v1/federation/status"), headers=bearer(admin), timeout=10).json()
    assert status["queue_depth"] == down["pending"] and status["last_error"] == "central_unreachable", status

    # Still down, the clinic produces two more periods: a patient admitted two weeks ago changes that week and the next
    # (and this week's age bands).
    earlier = (today - datetime.timedelta(days=14)).isoformat()
    made = requests.post(clinic.url("/api/v1/patients"), headers=bearer(admin), timeout=10, json={
        "first_name": "Aurelian", "last_name": "Thistlewood", "date_of_birth": "1980-02-02", "admission_date": earlier})
    assert made.status_code == 201, made.text
    later = requests.post(clinic.url("/api/v1/federation/sync"), headers=bearer(admin), timeout=60).json()
    assert later["queued"] == 3 and later["sent"] == 0 and later["pending"] == down["pending"] + 3, later

    # The clinic restarts too: the outbox is in its database.
    clinic.stop()
    clinic.start()
    admin = login(clinic, CLINIC_EMAIL, PASSWORD).json()["access_token"]
    restart_on_same_port(central)

    # The background task delivers once the backoff (15-30 s after one failure) has passed.
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        status = requests.get(clinic.url("/api/v1/federation/status"), headers=bearer(admin), timeout=10).json()
        if status["queue_depth"] == 0 and status["last_error"] is None:
            break
        time.sleep(1)
    assert status["queue_depth"] == 0 and status["last_success_at"], status
    sequences = delivered_exactly_once(clinic_dir, central_dir)
    assert len(sequences) == later["pending"]
    # Central shows each week's newest snapshot: admissions suppressed in the week with one and in the two weeks after
    # it, whose balances open with a suppressed census of one; the older weeks' zeros show.
    weeks = read_db(central_dir / "recovery.sqlite",
                    "SELECT count(DISTINCT period_start) || ':' || sum(metric = 'admissions' AND suppressed) FROM federation_metric_cells "
                    "WHERE granularity = 'week';")
    assert weeks == "8:3", weeks
    central.assert_still_serving()


def test_killing_the_clinic_mid_send_duplicates_nothing(tmp_path, make_server):
    central_dir, clinic_dir, central, proxy = enrolled_pair(tmp_path, make_server, via_proxy=True)
    try:
        clinic = make_server(clinic_dir, name="clinic")
        admin = login(clinic, CLINIC_EMAIL, PASSWORD).json()["access_token"]
        # Central's answer to the third of the payloads (eight weeks, last week's seven days withdrawn, then this
        # week's days through today) is held: central has stored it, the clinic has not heard.
        payloads = 8 + 7 + datetime.datetime.now(datetime.timezone.utc).date().weekday() + 1
        proxy.hold_sequence = 3
        errors: list[Exception] = []

        def sync():
            try:
                requests.post(clinic.url("/api/v1/federation/sync"), headers=bearer(admin), timeout=60)
            except requests.RequestException as error:
                errors.append(error)

        syncing = threading.Thread(target=sync)
        syncing.start()
        assert proxy.held.wait(30), "the third payload never reached central"
        clinic.signal(signal.SIGKILL)
        clinic.wait_exit()
        proxy.release.set()
        syncing.join(30)
        assert errors, "the sync answered although the clinic was killed mid-send"
        stored_before = read_db(central_dir / "recovery.sqlite", "SELECT group_concat(sequence) FROM federation_receipts;")
        assert stored_before == "1,2,3", stored_before
        assert read_db(clinic_dir / "recovery.sqlite", "SELECT group_concat(status) FROM (SELECT status FROM federation_outbox ORDER BY sequence);") \
            == "sent,sent," + ",".join(["pending"] * (payloads - 2))

        # Restarted, the clinic sends the rest (its background task or this sync, one round at a time): the one central
        # already stored answers `duplicate` and nothing is queued anew.
        clinic.start()
        admin = login(clinic, CLINIC_EMAIL, PASSWORD).json()["access_token"]
        resumed = requests.post(clinic.url("/api/v1/federation/sync"), headers=bearer(admin), timeout=60).json()
        assert resumed["queued"] == 0 and resumed["pending"] == 0 and resumed["last_error"] is None, resumed
        assert proxy.outcomes.count((3, "duplicate")) == 1 and [o for o in proxy.outcomes if o[1] == "stored"] == [(s, "stored") for s in range(1, payloads + 1)]
        assert delivered_exactly_once(clinic_dir, central_dir) == [str(s) for s in range(1, payloads + 1)]
        assert read_db(central_dir / "recovery.sqlite", "SELECT count(*) FROM federation_metric_cells;") == \
            read_db(central_dir / "recovery.sqlite", "SELECT count(*) FROM (SELECT DISTINCT facility_id, granularity, period_start, metric FROM federation_metric_cells);")
        assert read_db(central_dir / "recovery.sqlite", "SELECT count(DISTINCT period_start) FROM federation_metric_cells WHERE granularity = 'week';") == "8"
        central.assert_still_serving()
    finally:
        proxy.close()
