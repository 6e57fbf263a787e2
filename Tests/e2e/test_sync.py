"""Offline sync of the patient app against the real server process.

- A batch of 500 mixed items pushed twice, and once cut at a random point and
  retried: exactly 500 records are stored, and paging through the pull returns
  each once.
- Random invalid items (bad ranges, wrong types, oversized notes, future dates,
  another patient's id, unknown triggers) are each rejected with a reason naming
  the field while the valid items of the same batch are stored.
- Free text (notes, journal bodies, coping strategies) never appears in plain
  text in the database file, the WAL or the log.
- A single POST is the same as a one-item push: 201, then 200 duplicate;
  bad input answers 422 naming the field and stores nothing.
"""
import random
import uuid
from datetime import datetime, timedelta, timezone

import requests

from conftest import run_cli, sqlite3_cli

DIRECTOR = {"email": "director@serenity.example", "password": "SerenityDemo2026!"}
PATIENT_PASSWORD = "lantern by the window 42"
TABLES = ["patient_check_ins", "patient_cravings", "meeting_attendance", "medication_doses", "goal_progress", "journal_entries"]


class Clinic:
    """The demo facility, its director, and one registered patient."""

    def __init__(self, data_dir, make_server):
        seeded = run_cli("seed", "--demo", "--data-dir", data_dir)
        assert seeded.returncode == 0, seeded.stderr
        self.db = data_dir / "recovery.sqlite"
        self.server = make_server(data_dir)
        token = requests.post(self.url("/api/v1/auth/staff/login"), json=DIRECTOR, timeout=10).json()["access_token"]
        self.staff = {"Authorization": f"Bearer {token}"}
        self.patient_id, self.patient = self.new_patient("sync.patient@example.org")
        prescribed = self.post(f"/api/v1/patients/{self.patient_id}/medications", self.staff,
                               {"name": "Naltrexone", "dose": "50 mg", "schedule": {"times": ["08:00"]}})
        assert prescribed.status_code == 201, prescribed.text
        self.medication_id = prescribed.json()["medication"]["id"]
        goal = self.post(f"/api/v1/patients/{self.patient_id}/goals", self.staff, {"title": "Walk every morning"})
        assert goal.status_code == 201, goal.text
        self.goal_id = goal.json()["goal"]["id"]

    def url(self, path):
        return self.server.url(path)

    def post(self, path, headers, body):
        return requests.post(self.url(path), headers=headers, json=body, timeout=30)

    def get(self, path, headers):
        return requests.get(self.url(path), headers=headers, timeout=30)

    def new_patient(self, email):
        created = self.post("/api/v1/patients", self.staff, {"first_name": "Sync", "last_name": "Tester", "date_of_birth": "1991-03-03"})
        assert created.status_code == 201, created.text
        body = created.json()
        registered = self.post("/api/v1/auth/patient/register", {},
                               {"registration_key": body["registration_key"], "password": PATIENT_PASSWORD, "email": email})
        assert registered.status_code in (200, 201), registered.text
        login = self.post("/api/v1/auth/patient/login", {}, {"identifier": email, "password": PATIENT_PASSWORD})
        assert login.status_code == 200, login.text
        return body["patient"]["id"], {"Authorization": f"Bearer {login.json()['access_token']}"}

    def push(self, items, headers=None):
        response = self.post("/api/v1/sync/push", headers or self.patient, {"items": items})
        assert response.status_code == 200, response.text
        return response.json()["results"]

    def stored(self):
        return sum(int(sqlite3_cli(self.db, f"SELECT count(*) FROM {t} WHERE patient_id = '{self.patient_id}'")) for t in TABLES)

    def pull_all(self):
        changes, cursor = [], None
        while True:
            params = {"limit": 97, **({"since": cursor} if cursor else {})}
            page = requests.get(self.url("/api/v1/sync/pull"), headers=self.patient, params=params, timeout=30)
            assert page.status_code == 200, page.text
            body = page.json()
            changes += body["changes"]
            cursor = body["cursor"]
            if not body["has_more"]:
                return changes, cursor


def ago(**delta):
    return (datetime.now(timezone.utc) - timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def mixed_item(clinic, index, note=None):
    """One valid item; check-ins fall on distinct days (index = days back)."""
    kind = ["check_in", "craving", "meeting_attendance", "medication_dose", "goal_progress", "journal_entry"][index % 6]
    data = {
        "check_in": lambda: {"local_date": (datetime.now(timezone.utc) - timedelta(days=index + 1)).strftime("%Y-%m-%d"),
                             "timezone": "UTC", "mood": 1 + index % 10, "craving": index % 11, "stress": 4, "confidence": 6,
                             "used_since_last": index % 31 == 0, "halt": {"tired": True}, "sleep_hours": 7.5, "note": note},
        "craving": lambda: {"occurred_at": ago(minutes=index + 5), "intensity": 1 + index % 10, "duration_minutes": 20,
                            "triggers": ["stress", "places"][: 1 + index % 2], "coping_strategy": note, "acted_on": False},
        "meeting_attendance": lambda: {"meeting_kind": "aa", "attended_at": ago(hours=index + 1), "note": note},
        "medication_dose": lambda: {"medication_id": clinic.medication_id, "status": "taken", "taken_at": ago(minutes=index + 1)},
        "goal_progress": lambda: {"goal_id": clinic.goal_id, "progress_percent": index % 100, "note": note},
        "journal_entry": lambda: {"written_at": ago(minutes=index + 1), "body": note or f"entry {index}", "shared_with_care_team": index % 2 == 0},
    }[kind]()
    return {"id": str(uuid.uuid4()), "type": kind, "op": "upsert", "client_updated_at": ago(seconds=1), "data": data}


def test_a_batch_pushed_twice_and_cut_and_retried_is_stored_exactly_once(data_dir, make_server):
    clinic = Clinic(data_dir, make_server)
    batch = [mixed_item(clinic, i) for i in range(500)]
    first = clinic.push(batch)
    assert [r["status"] for r in first] == ["stored"] * 500, [r for r in first if r["status"] != "stored"][:3]
    again = clinic.push(batch)
    assert [r["status"] for r in again] == ["duplicate"] * 500
    assert clinic.stored() == 500

    # A second batch cut off at a random point (the app never saw the answer), then sent whole.
    second = [mixed_item(clinic, 500 + i) for i in range(500)]
    cut = random.randint(1, 499)
    clinic.push(second[:cut])
    retried = clinic.push(second)
    assert sum(r["status"] == "duplicate" for r in retried) == cut
    assert sum(r["status"] == "stored" for r in retried) == 500 - cut
    assert clinic.stored() == 1000

    changes, cursor = clinic.pull_all()
    app_written = [c["id"] for c in changes if c["type"] in {"check_in", "craving", "meeting_attendance", "medication_dose",
                                                              "goal_progress", "journal_entry"}]
    assert len(app_written) == 1000 and set(app_written) == {item["id"] for item in batch + second}
    assert {c["type"] for c in changes} >= {"medication", "goal"}, "the care team's records reach the app too"
    # The answered cursor is the end: nothing more after it.
    after = clinic.get(f"/api/v1/sync/pull?since={cursor}", clinic.patient).json()
    assert after["changes"] == [] and after["has_more"] is False
    clinic.server.assert_still_serving()


BREAKERS = [
    ("mood", lambda item: item["type"] == "check_in" and (item["data"].update(mood=11) or True)),
    ("mood", lambda item: item["type"] == "check_in" and (item["data"].update(mood="great") or True)),
    ("sleep_hours", lambda item: item["type"] == "check_in" and (item["data"].update(sleep_hours=-2) or True)),
    ("local_date", lambda item: item["type"] == "check_in" and (item["data"].update(local_date="2999-12-31") or True)),
    ("note", lambda item: item["type"] == "check_in" and (item["data"].update(note="x" * 2001) or True)),
    ("intensity", lambda item: item["type"] == "craving" and (item["data"].update(intensity=0) or True)),
    ("triggers", lambda item: item["type"] == "craving" and (item["data"].update(triggers=["astrology"]) or True)),
    ("triggers", lambda item: item["type"] == "craving" and (item["data"].update(triggers="stress") or True)),
    ("occurred_at", lambda item: item["type"] == "craving" and (item["data"].update(occurred_at="2999-01-01T00:00:00Z") or True)),
    ("attended_at", lambda item: item["type"] == "meeting_attendance" and (item["data"].update(attended_at="yesterday") or True)),
    ("meeting_kind", lambda item: item["type"] == "meeting_attendance" and (item["data"].update(meeting_kind="book_club") or True)),
    ("status", lambda item: item["type"] == "medication_dose" and (item["data"].update(status="maybe") or True)),
    ("medication_id", lambda item: item["type"] == "medication_dose" and (item["data"].update(medication_id=str(uuid.uuid4())) or True)),
    ("progress_percent", lambda item: item["type"] == "goal_progress" and (item["data"].update(progress_percent=101) or True)),
    ("body", lambda item: item["type"] == "journal_entry" and (item["data"].update(body="y" * 20001) or True)),
    ("shared_with_care_team", lambda item: item["type"] == "journal_entry" and (item["data"].update(shared_with_care_team="yes") or True)),
    ("patient_id", lambda item: item["data"].update(patient_id=str(uuid.uuid4())) or True),
    ("id", lambda item: item.update(id="12345") or True),
    ("type", lambda item: item.update(type="horoscope") or True),
    ("op", lambda item: item.update(op="merge") or True),
    ("client_updated_at", lambda item: item.update(client_updated_at="25:99") or True),
]


def test_random_invalid_items_are_rejected_with_a_reason_and_the_rest_stored(data_dir, make_server):
    clinic = Clinic(data_dir, make_server)
    rng = random.Random()
    index = 0
    for _ in range(8):
        items, expected = [], {}
        for position in range(40):
            item = mixed_item(clinic, index)
            index += 1
            if rng.random() < 0.5:
                for _attempt in range(20):
                    field, breaker = rng.choice(BREAKERS)
                    if breaker(item):
                        expected[position] = field
                        break
            items.append(item)
        before = clinic.stored()
        results = clinic.push(items)
        assert len(results) == len(items)
        for position, result in enumerate(results):
            if position in expected:
                assert result["status"] == "rejected", (expected[position], result)
                assert result["reason"].startswith(expected[position] + ":"), (expected[position], result)
            else:
                assert result["status"] == "stored", result
        assert clinic.stored() - before == len(items) - len(expected)
    clinic.server.assert_still_serving()


def test_free_text_never_reaches_the_database_wal_or_log_in_plain_text(data_dir, make_server):
    clinic = Clinic(data_dir, make_server)
    markers = [f"quarry-party-worry-{i}-{uuid.uuid4().hex[:6]}" for i in range(24)]
    results = clinic.push([mixed_item(clinic, i, note=markers[i]) for i in range(24)])
    assert all(r["status"] == "stored" for r in results), results
    single = clinic.post("/api/v1/me/journal", clinic.patient, {"written_at": ago(minutes=1), "body": "lighthouse-secret-entry"})
    assert single.status_code == 201, single.text
    # The care team reads them back decrypted (journal: only shared entries).
    check_ins = clinic.get(f"/api/v1/patients/{clinic.patient_id}/check-ins?limit=100", clinic.staff).json()["data"]
    assert markers[0] in {c["note"] for c in check_ins}
    journal = clinic.get(f"/api/v1/patients/{clinic.patient_id}/journal?limit=100", clinic.staff).json()["data"]
    assert all(entry["shared_with_care_team"] for entry in journal)
    raw = b"".join(p.read_bytes() for p in data_dir.iterdir() if p.name.startswith("recovery.sqlite"))
    assert (data_dir / "recovery.sqlite-wal").exists()
    log = clinic.server.log()
    for marker in markers + ["lighthouse-secret-entry", "Naltrexone", "Walk every morning"]:
        assert marker.encode() not in raw, f"{marker} in the database file or WAL"
        assert marker not in log, f"{marker} in the log"


def test_a_single_post_is_a_one_item_push_and_bad_input_stores_nothing(data_dir, make_server):
    clinic = Clinic(data_dir, make_server)
    body = {"id": str(uuid.uuid4()), "occurred_at": ago(minutes=3), "intensity": 9, "triggers": ["stress"], "acted_on": True}
    created = clinic.post("/api/v1/me/cravings", clinic.patient, body)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "stored" and created.json()["record"]["intensity"] == 9
    again = clinic.post("/api/v1/me/cravings", clinic.patient, body)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    flags = clinic.get(f"/api/v1/patients/{clinic.patient_id}/flags?status=open", clinic.staff).json()["data"]
    assert sorted(f["kind"] for f in flags) == ["high_craving", "lapse"]

    before = clinic.stored()
    for bad, field in [({**body, "id": str(uuid.uuid4()), "intensity": 11}, "intensity"),
                       ({**body, "id": str(uuid.uuid4()), "triggers": ["astrology"]}, "triggers"),
                       ({**body, "id": "abc"}, "id"),
                       ({"occurred_at": ago(minutes=1)}, "intensity")]:
        refused = clinic.post("/api/v1/me/cravings", clinic.patient, bad)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["details"][0]["field"] == field, refused.text
    assert clinic.stored() == before

    # Another patient cannot reuse the id, nor see the record.
    _, other = clinic.new_patient("second.patient@example.org")
    taken = clinic.post("/api/v1/me/cravings", other, {**body, "intensity": 2})
    assert taken.status_code == 409, taken.text
    assert clinic.get("/api/v1/me/cravings", other).json()["data"] == []
    # Staff tokens cannot use the patient's routes.
    assert clinic.post("/api/v1/sync/push", clinic.staff, {"items": [body]}).status_code == 403
