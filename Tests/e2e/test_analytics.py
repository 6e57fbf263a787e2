"""Insights, relapse-risk scores and facility figures against the real server
(README "Insights and relapse risk").

- A patient's check-ins and cravings, pushed from the app, give the insights'
  exact numbers and sentences on the facility's calendar; the read is audited.
- The server scores the patient in the background after the push; the score shows
  every factor with its weight, the history keeps it, and crossing the facility's
  threshold raises one risk flag.
- A counselor off the care team gets 403, an unknown patient 404, a patient's token
  403; bad query parameters answer 422 naming the field and the server keeps serving.
- Workload and weekly metrics for the facility's administrator.
- The progress and monthly PDF reports: their text, as poppler's pdftotext reads it,
  holds the insights' sentences and the patient; every page is rendered with pdftoppm
  to .build/report-png/ to be looked at, and each download is audited.
"""
import datetime
import shutil
import subprocess
import time
import uuid
from zoneinfo import ZoneInfo

import requests

from conftest import REPO_ROOT, run_cli, sqlite3_cli

DIRECTOR = {"email": "director@serenity.example", "password": "SerenityDemo2026!"}
COUNSELOR = {"email": "counselor@serenity.example", "password": "SerenityDemo2026!"}
PATIENT_PASSWORD = "lantern by the window 42"


def login(server, account):
    r = requests.post(server.url("/api/v1/auth/staff/login"), json=account, timeout=10)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_insights_risk_and_facility_figures(data_dir, make_server):
    assert run_cli("seed", "--demo", "--data-dir", data_dir).returncode == 0
    server = make_server(data_dir)
    staff = login(server, DIRECTOR)
    counselor = login(server, COUNSELOR)
    facility = requests.get(server.url("/api/v1/auth/me"), headers=staff, timeout=10).json()
    facility_id = facility.get("facility_id") or facility.get("user", {}).get("facility_id") or facility.get("staff", {}).get("facility_id")
    assert facility_id, facility
    zone = requests.get(server.url(f"/api/v1/facilities/{facility_id}"), headers=staff, timeout=10).json()["facility"]["timezone"]
    # Thresholds: a risk flag from 30.
    r = requests.patch(server.url(f"/api/v1/facilities/{facility_id}/recovery-settings"), headers=staff, json={"risk_flag_threshold": 30}, timeout=10)
    assert r.status_code == 200 and r.json()["risk_flag_threshold"] == 30, r.text

    created = requests.post(server.url("/api/v1/patients"), headers=staff, timeout=10,
                            json={"first_name": "Analytic", "last_name": "Person", "date_of_birth": "1990-01-01"}).json()
    patient_id = created["patient"]["id"]
    email = "analytic.person@example.org"
    registered = requests.post(server.url("/api/v1/auth/patient/register"), timeout=10,
                               json={"registration_key": created["registration_key"], "password": PATIENT_PASSWORD, "email": email})
    assert registered.status_code in (200, 201), registered.text
    patient = {"Authorization": f"Bearer {registered.json()['access_token']}"}

    # Three check-ins on the facility's last three days (moods 3, 5, 7, all tired), and four cravings at 19:30 local time today or before.
    local = datetime.datetime.now(ZoneInfo(zone))
    today = local.date()
    items = []
    for back, mood in ((2, 3), (1, 5), (0, 7)):
        items.append({"id": str(uuid.uuid4()), "type": "check_in", "op": "upsert",
                      "data": {"local_date": (today - datetime.timedelta(days=back)).isoformat(), "timezone": zone, "mood": mood,
                               "craving": 8, "stress": 8, "confidence": 2, "halt": {"tired": True}}})
    evening = local.replace(hour=19, minute=30, second=0, microsecond=0)
    if evening > local:
        evening -= datetime.timedelta(days=1)
    for back in range(4):
        at = (evening - datetime.timedelta(days=back)).astimezone(datetime.timezone.utc)
        items.append({"id": str(uuid.uuid4()), "type": "craving", "op": "upsert",
                      "data": {"occurred_at": at.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "intensity": 7, "triggers": ["stress"],
                               "acted_on": back == 0}})
    pushed = requests.post(server.url("/api/v1/sync/push"), headers=patient, json={"items": items}, timeout=10)
    assert pushed.status_code == 200, pushed.text
    assert all(result["status"] == "stored" for result in pushed.json()["results"]), pushed.text

    r = requests.get(server.url(f"/api/v1/patients/{patient_id}/insights"), headers=staff, timeout=10)
    assert r.status_code == 200, r.text
    insights = {i["kind"]: i for i in r.json()["insights"]}
    assert r.json()["as_of"] == today.isoformat()
    mood = insights["mood_trend"]
    assert mood["values"]["slope_7d"] == 2 and mood["values"]["mean_7d"] == 5
    assert mood["sentence"].startswith("Mood is rising over the last 7 days (+2.00 a day, average 5.0 from 3 check-ins)")
    weekend = [evening - datetime.timedelta(days=b) for b in range(4)]
    weekdays = sum(1 for d in weekend if d.isoweekday() <= 5)
    kind = "weekdays" if weekdays >= 4 - weekdays else "weekends"
    peak = max(weekdays, 4 - weekdays)
    assert insights["craving_pattern"]["values"]["by_hour"][19] == 4
    assert insights["craving_pattern"]["sentence"].startswith(f"Cravings were logged most often between 18:00 and 21:00 on {kind} ({peak} of 4)")
    assert insights["top_triggers"]["sentence"] == "The triggers named most often were stress (4), across 4 cravings; 1 was acted on."
    assert insights["halt_frequency"]["sentence"] == "Of 3 check-ins in the last 30 days, 3 reported feeling tired (100 %)."
    assert insights["check_in_streaks"]["values"]["current_streak"] == 3
    db = data_dir / "recovery.sqlite"
    assert int(sqlite3_cli(db, f"SELECT count(*) FROM audit_logs WHERE action = 'patient.insights' AND patient_id = '{patient_id}'")) == 1

    # The background scorer picks the push up within seconds.
    deadline, risk = time.monotonic() + 30, None
    while time.monotonic() < deadline:
        risk = requests.get(server.url(f"/api/v1/patients/{patient_id}/risk"), headers=staff, timeout=10).json()["risk"]
        if risk:
            break
        time.sleep(0.5)
    assert risk, "no risk score within 30 s"
    factors = {f["factor"]: f for f in risk["factors"]}
    assert factors["reported_use_14d"] == {"factor": "reported_use_14d", "value": 1, "weight": 1.6, "contribution": 1.6}
    assert factors["craving_frequency_7d"]["value"] == round(4 / 7, 4)
    assert risk["score"] >= 30 and risk["level"] in ("moderate", "high", "critical")
    history = requests.get(server.url(f"/api/v1/patients/{patient_id}/risk/history"), headers=staff, timeout=10).json()["data"]
    assert [h["id"] for h in history][:1] == [risk["id"]]
    flags = requests.get(server.url(f"/api/v1/patients/{patient_id}/flags"), headers=staff, timeout=10).json()["data"]
    assert sum(1 for f in flags if f["kind"] == "risk") == 1

    # Refusals and bad input.
    assert requests.get(server.url(f"/api/v1/patients/{patient_id}/insights"), headers=counselor, timeout=10).status_code == 403
    assert requests.get(server.url(f"/api/v1/patients/{uuid.uuid4()}/insights"), headers=staff, timeout=10).status_code == 404
    assert requests.get(server.url(f"/api/v1/patients/{patient_id}/risk"), headers=patient, timeout=10).status_code == 403
    before = sqlite3_cli(db, "SELECT count(*) FROM risk_scores")
    for path, field in ((f"/api/v1/patients/{patient_id}/risk/history?limit=9999", "limit"),
                        (f"/api/v1/facilities/{facility_id}/metrics?from=2026-02-31", "from"),
                        (f"/api/v1/facilities/{facility_id}/metrics?from=2026-03-10&to=2026-03-01", "to")):
        r = requests.get(server.url(path), headers=staff, timeout=10)
        assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == field, (path, r.text)
    assert sqlite3_cli(db, "SELECT count(*) FROM risk_scores") == before
    server.assert_still_serving()

    # Facility figures for the administrator only.
    workload = requests.get(server.url(f"/api/v1/facilities/{facility_id}/workload"), headers=staff, timeout=10)
    assert workload.status_code == 200 and any(w["role"] == "counselor" and w["active_patients"] >= 1 for w in workload.json()["data"])
    assert requests.get(server.url(f"/api/v1/facilities/{facility_id}/workload"), headers=counselor, timeout=10).status_code == 403
    metrics = requests.get(server.url(f"/api/v1/facilities/{facility_id}/metrics"), headers=staff, timeout=10)
    assert metrics.status_code == 200, metrics.text
    weeks = metrics.json()["data"]
    assert len(weeks) in (12, 13) and sum(w["check_ins"] for w in weeks) >= 3
    assert sum(w["cravings"] for w in weeks) >= 4

    # The PDF reports, read back as text and rendered to PNG for review.
    png_dir = REPO_ROOT / ".build" / "report-png"
    shutil.rmtree(png_dir, ignore_errors=True)
    png_dir.mkdir(parents=True)
    month = today.strftime("%Y-%m")
    reports = {
        "progress": f"/api/v1/patients/{patient_id}/reports/progress.pdf?from={(today - datetime.timedelta(days=29)).isoformat()}&to={today.isoformat()}",
        "monthly": f"/api/v1/facilities/{facility_id}/reports/monthly.pdf?month={month}",
    }
    texts = {}
    for name, path in reports.items():
        r = requests.get(server.url(path), headers=staff, timeout=30)
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/pdf"), (name, r.status_code, r.text[:200])
        assert r.content.startswith(b"%PDF-") and b"%%EOF" in r.content[-64:]
        pdf = png_dir / f"{name}.pdf"
        pdf.write_bytes(r.content)
        texts[name] = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), str(png_dir / name)], check=True)
        assert list(png_dir.glob(f"{name}-*.png")), name
    progress = " ".join(texts["progress"].split())
    assert "Progress report" in progress and "Analytic Person" in progress
    assert "The triggers named most often were stress (4), across 4 cravings; 1 was acted on." in progress
    monthly = " ".join(texts["monthly"].split())
    assert f"Monthly report {month}" in monthly
    assert "cravings were logged and 1 lapse reported" in monthly, monthly
    # The patient's row: check-in days, mean mood, cravings, lapses, meetings, risk level.
    assert f"Person, Analytic 3 5.0 4 1 0 {risk['level']}" in monthly, monthly
    assert int(sqlite3_cli(db, f"SELECT count(*) FROM audit_logs WHERE action = 'report.progress' AND patient_id = '{patient_id}'")) == 1
    assert int(sqlite3_cli(db, f"SELECT count(*) FROM audit_logs WHERE action = 'report.monthly' AND facility_id = '{facility_id}'")) == 1
