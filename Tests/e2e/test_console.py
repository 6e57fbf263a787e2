"""The staff console in a real browser: headless Chromium driven by Selenium
against the real server. Sign-in with the enrolment and TOTP second factor,
a new patient's key slip, the dashboard, a message that a second browser sees
arrive without reloading, and a crisis alert raised through the API that is
acknowledged and resolved from the banner. Each page is screenshotted under
.build/console-screenshots/ and checked with axe-core (no serious or critical
violations).

Skipped only when Debian's chromium or chromium-driver is missing (CI installs
both through scripts/prerequisites.sh)."""
from __future__ import annotations

import datetime
import json
import os
import shutil
import time
import uuid
from pathlib import Path

import pytest
import requests

from conftest import ADMIN_EMAIL, ADMIN_PASSWORD, REPO_ROOT
from test_sign_in import totp

CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("E2E_CHROMEDRIVER", "/usr/bin/chromedriver")
SHOTS = REPO_ROOT / ".build" / "console-screenshots"
WAIT = 15  # seconds any one thing may take to appear

pytestmark = pytest.mark.skipif(
    not (Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file()),
    reason=f"chromium ({CHROMIUM}) or chromedriver ({CHROMEDRIVER}) is not installed: apt-get install chromium chromium-driver")

COUNSELOR_EMAIL = "jordan.lee@example.org"
COUNSELOR_PASSWORD = "maple orbit candle 77"


# --------------------------------------------------------------------------- browser helpers


def new_browser(width: int = 1280, height: int = 800):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     f"--window-size={width},{height}", "--lang=en-US"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_window_size(width, height)
    return driver


def wait_for(driver, css: str, *, text: str | None = None, gone: bool = False):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def found(d):
        elements = d.find_elements(By.CSS_SELECTOR, css)
        if gone:
            return not any(e.is_displayed() for e in elements)
        for element in elements:
            if element.is_displayed() and (text is None or text in element.text):
                return element
        return False

    from selenium.common.exceptions import StaleElementReferenceException

    try:  # a live region may be redrawn while it is looked at
        return WebDriverWait(driver, WAIT, ignored_exceptions=(StaleElementReferenceException,)).until(found)
    except Exception:
        logs = driver.get_log("browser")
        pytest.fail(f"{css!r} (text {text!r}, gone={gone}) did not come within {WAIT}s on {driver.current_url}\n"
                    f"page text: {driver.find_element(By.TAG_NAME, 'body').text[:1500]}\nconsole: {logs}")


def fill(driver, element_id: str, value: str) -> None:
    from selenium.webdriver.common.by import By
    element = driver.find_element(By.ID, element_id)
    element.clear()
    element.send_keys(value)


def click(driver, css: str, text: str | None = None) -> None:
    wait_for(driver, css, text=text).click()


def review(driver, name: str) -> None:
    """Screenshot the page and check it with axe-core: no serious or critical violations
    (each page's findings are also written beside its screenshot)."""
    from axe_selenium_python import Axe

    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SHOTS / f"{name}.png"))
    axe = Axe(driver)
    axe.inject()
    results = axe.run()
    (SHOTS / f"{name}.axe.json").write_text(json.dumps(results["violations"], indent=1))
    bad = [v for v in results["violations"] if v.get("impact") in ("serious", "critical")]
    assert not bad, f"{name}: accessibility violations:\n" + "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:5]}" for v in bad)


def no_storage(driver) -> None:
    """Tokens live in memory only: nothing in web storage or cookies."""
    assert driver.execute_script("return localStorage.length + sessionStorage.length") == 0
    assert driver.execute_script("return document.cookie") == ""
    assert driver.get_cookies() == []


# --------------------------------------------------------------------------- API helpers


def api(server, method, path, token=None, **kwargs):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return server.request(method, "/api/v1" + path, headers=headers, **kwargs)


def staff_login(server, email, password, secret=None):
    answer = api(server, "POST", "/auth/staff/login", json={"email": email, "password": password}).json()
    if answer.get("mfa_required"):
        # The browser spent this 30-second step's code; the next step's is accepted for drift.
        answer = api(server, "POST", "/auth/mfa/verify",
                     json={"mfa_token": answer["mfa_token"], "code": totp(secret, time.time() + 30)}).json()
    assert "access_token" in answer, answer
    return answer


# --------------------------------------------------------------------------- the journey


def test_a_clinic_day_in_the_console(server):
    from selenium.webdriver.common.by import By

    shutil.rmtree(SHOTS, ignore_errors=True)
    admin_browser = new_browser()
    counselor_browser = None
    try:
        # Sign-in: the first administrator must enrol an authenticator.
        admin_browser.get(server.base_url + "/")
        wait_for(admin_browser, "#email")
        review(admin_browser, "01-sign-in")
        no_storage(admin_browser)
        fill(admin_browser, "email", ADMIN_EMAIL)
        fill(admin_browser, "password", ADMIN_PASSWORD)
        click(admin_browser, "button[type=submit]", "Sign in")
        secret = wait_for(admin_browser, "#totp-secret").text.strip()
        assert len(secret) >= 32
        review(admin_browser, "02-enrol-authenticator")
        fill(admin_browser, "code", totp(secret))
        click(admin_browser, "button[type=submit]", "Confirm")
        codes = wait_for(admin_browser, "#recovery-codes").find_elements(By.TAG_NAME, "li")
        assert len(codes) == 10
        review(admin_browser, "03-recovery-codes")
        click(admin_browser, "button", "Continue to the console")
        wait_for(admin_browser, "h1", text="Patients")
        review(admin_browser, "04-patient-list")
        no_storage(admin_browser)

        admin = staff_login(server, ADMIN_EMAIL, ADMIN_PASSWORD, secret)
        admin_token = admin["access_token"]

        # A new patient and the key slip.
        click(admin_browser, "a.button", "New patient")
        wait_for(admin_browser, "#first_name")
        review(admin_browser, "05-new-patient")
        fill(admin_browser, "first_name", "Marisol")
        fill(admin_browser, "last_name", "Okonkwo")
        admin_browser.find_element(By.ID, "date_of_birth").send_keys("04021988")
        fill(admin_browser, "program", "Evening IOP")
        click(admin_browser, "button[type=submit]", "Create patient")
        shown_key = wait_for(admin_browser, "#registration-key").text.strip()
        qr = admin_browser.find_element(By.CSS_SELECTOR, "#registration-qr svg")
        assert qr.find_elements(By.TAG_NAME, "path"), "the QR code has no modules"
        assert admin_browser.find_element(By.CSS_SELECTOR, "#registration-qr svg title").get_attribute("textContent")
        review(admin_browser, "06-key-slip")
        no_storage(admin_browser)
        assert shown_key not in admin_browser.current_url

        # The key on the slip is the one the API issued: the patient registers with it.
        registered = api(server, "POST", "/auth/patient/register",
                         json={"registration_key": shown_key, "password": "quiet river stone 19"})
        assert registered.status_code == 201, registered.text
        patient_token = registered.json()["access_token"]
        patient_id = registered.json()["patient"]["id"]

        # A week of the patient's records for the charts.
        today = datetime.date.today()
        for days_ago, mood in [(6, 3), (4, 5), (2, 6), (1, 7)]:
            day = (today - datetime.timedelta(days=days_ago)).isoformat()
            answer = api(server, "POST", "/me/check-ins", patient_token,
                         json={"id": str(uuid.uuid4()), "local_date": day, "timezone": "UTC", "mood": mood, "craving": 9 - mood})
            assert answer.status_code in (200, 201), answer.text
        for hours_ago, intensity in [(50, 8), (26, 5), (3, 4)]:
            at = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=hours_ago)).isoformat(timespec="seconds")
            answer = api(server, "POST", "/me/cravings", patient_token,
                         json={"id": str(uuid.uuid4()), "occurred_at": at.replace("+00:00", "Z"), "intensity": intensity})
            assert answer.status_code in (200, 201), answer.text

        # The dashboard, found through the list's search.
        click(admin_browser, "a.button", "Done")
        wait_for(admin_browser, "h1", text="Marisol Okonkwo")
        click(admin_browser, "nav a", "Patients")
        fill(admin_browser, "search", "Okonkwo")
        click(admin_browser, "button[type=submit]", "Search")
        click(admin_browser, "#patient-results a", "Okonkwo, Marisol")
        wait_for(admin_browser, "h1", text="Marisol Okonkwo")
        mood_chart = wait_for(admin_browser, "figure.chart svg polyline")
        assert len(mood_chart.get_attribute("points").split()) == 4
        assert len(admin_browser.find_elements(By.CSS_SELECTOR, "figure.chart svg rect.bar")) >= 2
        review(admin_browser, "07-dashboard")

        # A document uploaded on the dashboard, then downloaded: the same bytes come back.
        letter = SHOTS / "referral-letter.txt"
        letter.write_text("Referral: evening IOP from Monday; contact the intake nurse.\n")
        admin_browser.find_element(By.ID, "document-file").send_keys(str(letter))
        fill(admin_browser, "document-title", "Referral letter")
        click(admin_browser, "button[type=submit]", "Upload document")
        wait_for(admin_browser, "#documents table", text="Referral letter")
        stored = api(server, "GET", f"/patients/{patient_id}/documents", admin_token).json()["data"]
        assert [d["title"] for d in stored] == ["Referral letter"] and stored[0]["content_type"].startswith("text/plain")
        downloads = SHOTS / "downloads"
        downloads.mkdir(parents=True, exist_ok=True)
        admin_browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
        click(admin_browser, "#documents button", "Download Referral letter")
        fetched = downloads / "referral-letter.txt"
        deadline = time.monotonic() + WAIT
        while not fetched.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert fetched.read_bytes() == letter.read_bytes()
        review(admin_browser, "07-documents")
        admin_browser.set_window_size(820, 1180)  # a tablet, portrait
        review(admin_browser, "08-dashboard-tablet")
        admin_browser.set_window_size(1280, 800)

        # Messaging: a counselor in a second browser sees the message arrive.
        created = api(server, "POST", "/staff", admin_token, json={
            "email": COUNSELOR_EMAIL, "first_name": "Jordan", "last_name": "Lee", "role": "counselor", "password": "temporary pass 1234"})
        assert created.status_code == 201, created.text
        counselor_id = created.json()["staff"]["id"]
        first = staff_login(server, COUNSELOR_EMAIL, "temporary pass 1234")
        changed = api(server, "POST", "/auth/change-password", first["access_token"],
                      json={"current_password": "temporary pass 1234", "new_password": COUNSELOR_PASSWORD})
        assert changed.status_code in (200, 204), changed.text
        conversation = api(server, "POST", "/conversations", admin_token,
                           json={"kind": "staff", "participant_ids": [counselor_id], "title": "Shift handover"})
        assert conversation.status_code == 201, conversation.text
        conversation_id = conversation.json()["conversation"]["id"]

        counselor_browser = new_browser()
        counselor_browser.get(server.base_url + "/")
        fill(counselor_browser, "email", COUNSELOR_EMAIL)
        fill(counselor_browser, "password", COUNSELOR_PASSWORD)
        click(counselor_browser, "button[type=submit]", "Sign in")
        wait_for(counselor_browser, "h1", text="Patients")
        click(counselor_browser, "nav a", "Messages")
        wait_for(counselor_browser, "#conversation-list a", text="Shift handover")

        click(admin_browser, "nav a", "Messages")
        click(admin_browser, "#conversation-list a", "Shift handover")
        wait_for(admin_browser, "#message-body")
        fill(admin_browser, "message-body", "Marisol's key slip is printed and handed over.")
        click(admin_browser, "button[type=submit]", "Send")
        wait_for(admin_browser, "#thread li", text="key slip is printed")
        review(admin_browser, "09-messages-sender")

        # Without reloading: the unread count in the list and the badge, then the thread itself.
        wait_for(counselor_browser, "#conversation-list a", text="(1 unread)")
        assert wait_for(counselor_browser, "#unread-badge").text == "1"
        click(counselor_browser, "#conversation-list a", "Shift handover")
        wait_for(counselor_browser, "#thread li", text="key slip is printed")
        wait_for(counselor_browser, "#unread-badge", gone=True)
        fill(admin_browser, "message-body", "She starts group on Monday.")
        click(admin_browser, "button[type=submit]", "Send")
        wait_for(counselor_browser, "#thread li", text="starts group on Monday")
        review(counselor_browser, "10-messages-receiver")

        # A crisis alert raised through the API (the patient's SOS) reaches the banner.
        sos = api(server, "POST", "/me/crisis", patient_token, json={"message": "I am not safe tonight"})
        assert sos.status_code == 201, sos.text
        alert_id = sos.json()["alert"]["id"]
        item = wait_for(admin_browser, f"#crisis-banner li[data-alert-id='{alert_id}']")
        assert "I am not safe tonight" in item.text and "Okonkwo" in item.text
        review(admin_browser, "11-crisis-banner")
        click(admin_browser, f"#crisis-banner li[data-alert-id='{alert_id}'] button", "Acknowledge")
        wait_for(admin_browser, f"#crisis-banner li[data-alert-id='{alert_id}']", text="acknowledged")
        alert = api(server, "GET", f"/crisis-alerts/{alert_id}", admin_token).json()["alert"]
        assert alert["status"] == "acknowledged" and alert["acknowledged_by"] == admin["user"]["id"]
        mine = api(server, "GET", "/me/crisis-alerts?status=all", patient_token).json()["data"]
        assert [a["status"] for a in mine if a["id"] == alert_id] == ["acknowledged"]

        note = admin_browser.find_element(By.CSS_SELECTOR, f"#crisis-banner li[data-alert-id='{alert_id}'] input")
        note.send_keys("Called the patient; safety plan reviewed, on-call counselor visiting.")
        click(admin_browser, f"#crisis-banner li[data-alert-id='{alert_id}'] button[type=submit]", "Resolve")
        wait_for(admin_browser, "#crisis-banner", gone=True)
        assert api(server, "GET", f"/crisis-alerts/{alert_id}", admin_token).json()["alert"]["status"] == "resolved"

        # The facility's running: an announcement published from the console, the audit trail, federation, backups.
        click(admin_browser, "nav a", "Announcements")
        fill(admin_browser, "announcement-title", "Fire drill Thursday")
        fill(admin_browser, "announcement-body", "The building's fire drill is at 10:00 on Thursday.")
        click(admin_browser, "button[type=submit]", "Publish")
        wait_for(admin_browser, "main table", text="Fire drill Thursday")
        review(admin_browser, "12-announcements")
        click(admin_browser, "nav a", "Audit")
        wait_for(admin_browser, "main table", text="crisis_alert")
        review(admin_browser, "13-audit-trail")
        click(admin_browser, "nav a", "Federation")
        wait_for(admin_browser, "main dl", text="Enrolled")
        review(admin_browser, "14-federation")
        click(admin_browser, "nav a", "Backups")
        wait_for(admin_browser, "main p", text="Schedule")
        review(admin_browser, "15-backups")

        # Signing out forgets the session: the page is the sign-in form again and the session has ended.
        click(admin_browser, "#sign-out")
        wait_for(admin_browser, "#email")
        no_storage(admin_browser)
        assert admin_browser.execute_script("return document.body.innerText").find("Okonkwo") == -1
        server.assert_still_serving()
    finally:
        admin_browser.quit()
        if counselor_browser is not None:
            counselor_browser.quit()


def test_the_console_signs_out_after_the_servers_idle_limit(data_dir, make_server):
    """HIPAA automatic logoff: with no request for the staff idle limit the console signs out."""
    server = make_server(data_dir, env={"RECOVERY_AUTH_STAFF_IDLE_TIMEOUT_MINUTES": "1"})
    # The administrator enrols over the API and adds a counselor (who needs no second factor under init's policy).
    challenge = api(server, "POST", "/auth/staff/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).json()
    setup = api(server, "POST", "/auth/mfa/enrol/setup", json={"mfa_token": challenge["mfa_token"]}).json()
    tokens = api(server, "POST", "/auth/mfa/enrol/confirm", json={"mfa_token": challenge["mfa_token"], "code": totp(setup["secret"])}).json()
    made = api(server, "POST", "/staff", tokens["access_token"], json={
        "email": COUNSELOR_EMAIL, "first_name": "Jordan", "last_name": "Lee", "role": "counselor", "password": "temporary pass 1234"})
    assert made.status_code == 201, made.text
    first = staff_login(server, COUNSELOR_EMAIL, "temporary pass 1234")
    assert api(server, "POST", "/auth/change-password", first["access_token"],
               json={"current_password": "temporary pass 1234", "new_password": COUNSELOR_PASSWORD}).status_code in (200, 204)

    browser = new_browser()
    try:
        browser.get(server.base_url + "/")
        fill(browser, "email", COUNSELOR_EMAIL)
        fill(browser, "password", COUNSELOR_PASSWORD)
        click(browser, "button[type=submit]", "Sign in")
        wait_for(browser, "h1", text="Patients")
        from selenium.webdriver.support.ui import WebDriverWait
        from selenium.webdriver.common.by import By
        # The limit is one minute; the console checks every ten seconds. Bounded by the work, not a threshold.
        WebDriverWait(browser, 100).until(lambda d: "without activity" in d.find_element(By.TAG_NAME, "body").text)
        assert browser.find_element(By.ID, "email").is_displayed()
        no_storage(browser)
    finally:
        browser.quit()
