"""Realtime over Socket.IO, with the unmodified python-socketio client against the real server.

- A counselor's socket (default transports: long-polling, then the upgrade to
  WebSocket) receives `message:new` when a REST call posts a message, and
  `message:send` is acknowledged with the stored message; a bad token is refused.
- Two patients and a counselor of only one of them: a patient's socket never
  receives the other patient's events, and the counselor never receives the
  other patient's.
- Crisis: an SOS reaches the counselor's socket as `crisis:alert` within one
  second; the acknowledgement reaches the patient's socket with the first name
  and role of who acknowledged; unacknowledged, the alert escalates after the
  configured time, also when the server restarted in between.
- A revoked session's socket is disconnected at once; a socket that reconnects
  with `since` receives what it missed, from the durable feed, and is told to
  `resync` over REST when some of it is past the feed's window.
- Every event received matches its schema in the AsyncAPI document.
"""
import os
import queue
import subprocess
import threading
import time
import uuid

import jsonschema
import pytest
import requests
import socketio

from conftest import run_cli

DIRECTOR = {"email": "director@serenity.example", "password": "SerenityDemo2026!"}
COUNSELOR = {"email": "counselor@serenity.example", "password": "SerenityDemo2026!"}
THERAPIST = {"email": "therapist@serenity.example", "password": "SerenityDemo2026!"}
PATIENT_PASSWORD = "lantern by the window 42"
WAIT = 10.0


class Events:
    """A python-socketio client that records every event it receives."""

    def __init__(self, server, token, *, transports=None, since=None, name="socket"):
        self.name = name
        self.received: "queue.Queue[tuple[str, object]]" = queue.Queue()
        self.log: list[tuple[str, object]] = []
        self.disconnected = threading.Event()
        self.client = socketio.Client(reconnection=False, request_timeout=10)
        self.client.on("*", self._any)
        self.client.on("disconnect", lambda *args: self.disconnected.set())
        auth = {"token": token, **({"since": since} if since is not None else {})}
        self.client.connect(server.base_url, auth=auth, transports=transports, wait_timeout=10)

    def _any(self, event, *args):
        item = (event, args[0] if args else None)
        self.log.append(item)
        self.received.put(item)

    def next(self, name, timeout=WAIT, where=lambda payload: True):
        """The next event called `name` (others are kept in `log`)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{self.name}: no {name} within {timeout}s; got {[e for e, _ in self.log]}")
            try:
                event, payload = self.received.get(timeout=remaining)
            except queue.Empty:
                continue
            if event == name and where(payload):
                return payload

    def names(self):
        return [event for event, _ in self.log]

    def close(self):
        if self.client.connected:
            self.client.disconnect()


class Clinic:
    """The demo facility: its director, counselor and therapist, and two registered patients, the
    first on the counselor's care team and the second on the therapist's."""

    def __init__(self, data_dir, make_server, env=None):
        seeded = run_cli("seed", "--demo", "--data-dir", data_dir)
        assert seeded.returncode == 0, seeded.stderr
        self.data_dir = data_dir
        self.make_server = make_server
        self.env = env or {}
        self.server = make_server(data_dir, env=self.env, name="realtime")
        self.director = self.staff_token(DIRECTOR)
        self.counselor = self.staff_token(COUNSELOR)
        self.therapist = self.staff_token(THERAPIST)
        self.counselor_id = self.me(self.counselor)["id"]
        self.therapist_id = self.me(self.therapist)["id"]
        self.patient_a, self.token_a = self.new_patient("a", self.counselor_id, "primary_counselor")
        self.patient_b, self.token_b = self.new_patient("b", self.therapist_id, "therapist")
        self.sockets: list[Events] = []

    def restart(self):
        self.server.stop()
        self.server = self.make_server(self.data_dir, env=self.env, name=f"realtime{uuid.uuid4().hex[:6]}")

    def call(self, method, path, token=None, body=None, expect=None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = requests.request(method, self.server.url(path), headers=headers, json=body, timeout=30)
        if expect is not None:
            assert response.status_code == expect, f"{method} {path}: {response.status_code} {response.text}"
        return response

    def staff_token(self, account):
        return self.call("POST", "/api/v1/auth/staff/login", body=account, expect=200).json()["access_token"]

    def me(self, token):
        body = self.call("GET", "/api/v1/auth/me", token, expect=200).json()
        return body.get("user", body)

    def new_patient(self, tag, staff_id, role):
        created = self.call("POST", "/api/v1/patients", self.director,
                            {"first_name": "Realtime", "last_name": tag.upper(), "date_of_birth": "1990-01-01"}, expect=201).json()
        patient_id = created["patient"]["id"]
        self.call("POST", f"/api/v1/patients/{patient_id}/care-team", self.director, {"staff_id": staff_id, "role": role}, expect=201)
        email = f"realtime.{tag}.{uuid.uuid4().hex[:6]}@example.org"
        self.call("POST", "/api/v1/auth/patient/register", None,
                  {"registration_key": created["registration_key"], "password": PATIENT_PASSWORD, "email": email})
        login = self.call("POST", "/api/v1/auth/patient/login", None, {"identifier": email, "password": PATIENT_PASSWORD}, expect=200)
        return patient_id, login.json()["access_token"]

    def socket(self, token, **kwargs):
        events = Events(self.server, token, **kwargs)
        self.sockets.append(events)
        return events

    def close(self):
        for events in self.sockets:
            events.close()

    def care_conversation(self, patient_id, token):
        body = self.call("POST", "/api/v1/conversations", token, {"patient_id": patient_id}, expect=201).json()
        return body["conversation"]["id"]

    def check_in(self, token):
        body = {"local_date": time.strftime("%Y-%m-%d", time.gmtime()), "timezone": "UTC", "mood": 5, "craving": 2,
                "id": str(uuid.uuid4())}
        return self.call("POST", "/api/v1/me/check-ins", token, body)


@pytest.fixture
def clinic(data_dir, make_server):
    clinic = Clinic(data_dir, make_server)
    yield clinic
    clinic.close()


def validate(clinic, name, payload):
    """The payload against the AsyncAPI document's schema of event `name`."""
    document = clinic.call("GET", "/api/v1/asyncapi.json", expect=200).json()
    message = document["components"]["messages"][name]
    jsonschema.validate(payload, message["payload"])


def test_python_socketio_receives_rest_messages_and_sends_with_ack(clinic):
    counselor = clinic.socket(clinic.counselor, name="counselor")            # polling, then upgrade
    patient = clinic.socket(clinic.token_a, transports=["websocket"], name="patient a")
    conversation = clinic.care_conversation(clinic.patient_a, clinic.counselor)

    posted = clinic.call("POST", f"/api/v1/conversations/{conversation}/messages", clinic.token_a,
                         {"body": "I made it to group today", "client_id": str(uuid.uuid4())}, expect=201).json()["message"]
    arrived = counselor.next("message:new", where=lambda p: p["message"]["id"] == posted["id"])
    assert arrived["message"]["body"] == "I made it to group today" and arrived["conversation_id"] == conversation
    validate(clinic, "message:new", arrived)
    unread = counselor.next("conversation:unread", where=lambda p: p["conversation_id"] == conversation)
    assert unread["unread_count"] == 1 and unread["total_unread"] >= 1
    validate(clinic, "conversation:unread", unread)

    ack = counselor.client.call("message:send", {"conversation_id": conversation, "body": "Proud of you", "client_id": "c-1"},
                                timeout=10)
    assert ack["message"]["body"] == "Proud of you" and ack["message"]["id"]
    again = counselor.client.call("message:send", {"conversation_id": conversation, "body": "Proud of you", "client_id": "c-1"},
                                  timeout=10)
    assert again["message"]["id"] == ack["message"]["id"], "a retried send stores once"
    received = patient.next("message:new", where=lambda p: p["message"]["id"] == ack["message"]["id"])
    assert received["message"]["body"] == "Proud of you"

    bad = counselor.client.call("message:send", {"conversation_id": conversation, "body": ""}, timeout=10)
    assert bad["error"]["details"][0]["field"] == "body"
    listed = clinic.call("GET", f"/api/v1/conversations/{conversation}/messages", clinic.counselor, expect=200).json()["data"]
    assert [m["body"] for m in listed] == ["Proud of you", "I made it to group today"], "the refused send stored nothing"


@pytest.mark.parametrize("transports", [None, ["websocket"]])
def test_a_bad_or_missing_token_is_refused(clinic, transports):
    for auth in ({"token": "not-a-token"}, {}, None):
        client = socketio.Client(reconnection=False)
        refusals = []
        client.on("connect_error", lambda data: refusals.append(data))
        with pytest.raises(socketio.exceptions.ConnectionError):
            client.connect(clinic.server.base_url, auth=auth, transports=transports, wait_timeout=10)
        assert refusals and "unauthenticated" in refusals[0]["message"], refusals
    clinic.server.assert_still_serving()


def test_a_patient_never_receives_another_patients_events(clinic):
    counselor = clinic.socket(clinic.counselor, name="counselor")
    patient_a = clinic.socket(clinic.token_a, name="patient a")
    patient_b = clinic.socket(clinic.token_b, name="patient b")
    therapist = clinic.socket(clinic.therapist, name="therapist")
    conversation_a = clinic.care_conversation(clinic.patient_a, clinic.counselor)
    conversation_b = clinic.care_conversation(clinic.patient_b, clinic.therapist)

    clinic.call("POST", f"/api/v1/conversations/{conversation_a}/messages", clinic.counselor, {"body": "for A only"}, expect=201)
    clinic.call("POST", f"/api/v1/conversations/{conversation_b}/messages", clinic.therapist, {"body": "for B only"}, expect=201)
    assert clinic.check_in(clinic.token_a).status_code == 201
    assert clinic.check_in(clinic.token_b).status_code == 201
    clinic.call("POST", "/api/v1/me/crisis", clinic.token_b, {"message": "B needs help"}, expect=201)

    patient_a.next("message:new", where=lambda p: p["conversation_id"] == conversation_a)
    patient_b.next("message:new", where=lambda p: p["conversation_id"] == conversation_b)
    counselor.next("checkin:new", where=lambda p: p["patient_id"] == clinic.patient_a)
    therapist.next("checkin:new", where=lambda p: p["patient_id"] == clinic.patient_b)
    therapist.next("crisis:alert", where=lambda p: p["patient_id"] == clinic.patient_b)
    clinic.call("POST", "/api/v1/announcements", clinic.director,
                {"title": "Group moved", "body": "Room 2 today.", "audience": "patients"}, expect=201)
    announced = patient_a.next("announcement:new")
    validate(clinic, "announcement:new", announced)
    patient_b.next("announcement:new")
    time.sleep(1.0)  # anything wrongly sent would have arrived by now

    def mentions(events, needle):
        return [(name, payload) for name, payload in events.log if needle in repr(payload)]

    assert not mentions(patient_a, clinic.patient_b) and not mentions(patient_a, conversation_b), patient_a.log
    assert not mentions(patient_b, clinic.patient_a) and not mentions(patient_b, conversation_a), patient_b.log
    assert not mentions(counselor, clinic.patient_b) and not mentions(counselor, conversation_b), counselor.log
    assert not mentions(therapist, clinic.patient_a) and not mentions(therapist, conversation_a), therapist.log
    assert "checkin:new" not in patient_a.names() and "crisis:alert" not in patient_b.names()
    assert "announcement:new" not in counselor.names(), "an announcement for patients reached staff"


def test_crisis_sos_reaches_the_counselor_within_a_second_and_the_acknowledgement_reaches_the_patient(clinic):
    counselor = clinic.socket(clinic.counselor, name="counselor")
    patient = clinic.socket(clinic.token_a, name="patient a")
    started = time.monotonic()
    ack = patient.client.call("crisis:trigger", {"message": "I am not safe tonight"}, timeout=10)
    alert_id = ack["alert"]["id"]
    alert = counselor.next("crisis:alert", timeout=5, where=lambda p: p["alert_id"] == alert_id)
    latency = time.monotonic() - started
    assert latency < 1.0, f"crisis:alert took {latency:.3f}s"
    assert alert["patient_id"] == clinic.patient_a and alert["message"] == "I am not safe tonight"
    validate(clinic, "crisis:alert", alert)
    opened = clinic.call("GET", "/api/v1/crisis-alerts?status=open", clinic.counselor, expect=200).json()["data"]
    assert alert_id in [a["id"] for a in opened]

    clinic.call("POST", f"/api/v1/crisis-alerts/{alert_id}/acknowledge", clinic.counselor, expect=200)
    told = patient.next("crisis:acknowledged", where=lambda p: p["alert_id"] == alert_id)
    assert set(told["acknowledged_by"]) == {"first_name", "role"} and told["acknowledged_by"]["role"] == "counselor"
    assert "patient_number" not in told and "acknowledged_at" in told
    validate(clinic, "crisis:acknowledged", told)
    assert "I am not safe tonight" not in repr(told)

    clinic.call("POST", f"/api/v1/crisis-alerts/{alert_id}/resolve", clinic.counselor, {"note": "Safety plan reviewed"}, expect=200)
    patient.next("crisis:resolved", where=lambda p: p["alert_id"] == alert_id)


def test_an_unacknowledged_alert_escalates_also_across_a_restart(data_dir, make_server):
    clinic = Clinic(data_dir, make_server, env={"RECOVERY_CRISIS_ESCALATE_AFTER_SECONDS": "10"})
    try:
        raised_at = time.monotonic()
        alert_id = clinic.call("POST", "/api/v1/me/crisis", clinic.token_a, {}, expect=201).json()["alert"]["id"]
        clinic.restart()
        director = clinic.socket(clinic.staff_token(DIRECTOR), name="director")
        escalated = director.next("crisis:escalated", timeout=25, where=lambda p: p["alert_id"] == alert_id)
        assert escalated["escalation_level"] == 1
        assert time.monotonic() - raised_at >= 9.5
        validate(clinic, "crisis:escalated", escalated)
        timeline = clinic.call("GET", f"/api/v1/crisis-alerts/{alert_id}", clinic.director, expect=200).json()
        steps = [step["event"] for step in timeline["alert"]["timeline"]]
        assert steps[:2] == ["created", "escalated"]
    finally:
        clinic.close()


def test_a_revoked_session_is_disconnected_at_once(clinic):
    counselor = clinic.socket(clinic.counselor, name="counselor")
    clinic.call("POST", "/api/v1/auth/logout", clinic.counselor, expect=204)
    assert counselor.disconnected.wait(5), "the socket of a logged-out session stayed connected"


def test_a_reconnecting_socket_resumes_from_the_feed(clinic):
    conversation = clinic.care_conversation(clinic.patient_a, clinic.counselor)
    first = clinic.socket(clinic.counselor, name="counselor")
    clinic.call("POST", f"/api/v1/conversations/{conversation}/messages", clinic.token_a, {"body": "one"}, expect=201)
    seen = first.next("message:new")
    first.close()
    for body in ("two", "three"):
        clinic.call("POST", f"/api/v1/conversations/{conversation}/messages", clinic.token_a, {"body": body}, expect=201)
    resumed = clinic.socket(clinic.counselor, since=seen["event_id"], name="resumed")
    bodies = [resumed.next("message:new")["message"]["body"] for _ in range(2)]
    assert bodies == ["two", "three"]
    assert "resync" not in resumed.names()


def test_a_socket_resuming_from_before_the_feeds_window_is_told_to_resync(clinic):
    conversation = clinic.care_conversation(clinic.patient_a, clinic.counselor)
    first = clinic.socket(clinic.counselor, name="counselor")
    clinic.call("POST", f"/api/v1/conversations/{conversation}/messages", clinic.token_a, {"body": "one"}, expect=201)
    seen = first.next("message:new")
    first.close()
    sent = [clinic.call("POST", f"/api/v1/conversations/{conversation}/messages", clinic.token_a, {"body": body},
                        expect=201).json()["message"]["id"] for body in ("two", "three")]
    # what the hourly pruning does to events past the 7-day window, done now to those up to "two"
    pruned = subprocess.run(["sqlite3", os.path.join(clinic.data_dir, "recovery.sqlite"), ".timeout 5000",
                             "DELETE FROM realtime_events WHERE seq <= "
                             f"(SELECT max(seq) FROM realtime_events WHERE subject_id = '{sent[0]}')"], capture_output=True, text=True)
    assert pruned.returncode == 0, pruned.stderr
    resumed = clinic.socket(clinic.counselor, since=seen["event_id"], name="resumed")
    notice = resumed.next("resync")
    validate(clinic, "resync", notice)
    assert notice["since"] == seen["event_id"]
    assert resumed.next("message:new")["message"]["body"] == "three"
    assert resumed.names().index("resync") < resumed.names().index("message:new")


def test_asyncapi_document_is_served(clinic):
    document = clinic.call("GET", "/api/v1/asyncapi.json", expect=200).json()
    assert document["asyncapi"].startswith("3.")
    for name in ("message:new", "conversation:unread", "crisis:alert", "crisis:acknowledged", "announcement:new", "checkin:new"):
        assert name in document["components"]["messages"]
