"""The staff console in a real browser: headless Chromium driven by Selenium
against the real server. Sign-in with the enrolment and TOTP second factor,
a new patient's key slip, the dashboard with its insights, relapse risk and
PDF reports, editing a treatment plan, an assessment and a consent (with the
API's field errors shown at their fields), menus per role, a message that a
second browser sees arrive without reloading, and a crisis alert raised
through the API that is acknowledged and resolved from the banner. Each page
is screenshotted under .build/console-screenshots/ and checked with axe-core
(no serious or critical violations, and all content inside landmarks).

Skipped only when Debian's chromium or chromium-driver is missing (CI installs
both through scripts/prerequisites.sh)."""
from __future__ import annotations

import datetime
import json
import math
import os
import shutil
import subprocess
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
    bad = [v for v in results["violations"] if v.get("impact") in ("serious", "critical") or v["id"] == "region"]
    assert not bad, f"{name}: accessibility violations:\n" + "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:5]}" for v in bad)


def set_value(driver, css: str, value: str) -> None:
    """Sets a control's value as typed (date inputs take their text in the browser's locale format otherwise)."""
    element = wait_for(driver, css)
    driver.execute_script("arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('change'))", element, value)


def choose(driver, css: str, value: str) -> None:
    from selenium.webdriver.support.ui import Select
    Select(wait_for(driver, css)).select_by_value(value)


def field_error(driver, control_css: str) -> str:
    """The error shown for a control: it is marked invalid and described by the message beside it."""
    from selenium.webdriver.common.by import By
    wait_for(driver, control_css + "[aria-invalid='true']")
    control = driver.find_element(By.CSS_SELECTOR, control_css)
    error_id = control.get_attribute("id") + "-error"
    assert error_id in (control.get_attribute("aria-describedby") or "").split(), control.get_attribute("aria-describedby")
    return wait_for(driver, f"#{error_id}").text


def downloaded(folder: Path, name: str) -> bytes:
    target = folder / name
    deadline = time.monotonic() + WAIT
    while not target.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert target.exists(), f"{name} was not downloaded: {sorted(p.name for p in folder.iterdir())}"
    return target.read_bytes()


def nav_labels(driver) -> list[str]:
    from selenium.webdriver.common.by import By
    wait_for(driver, "#nav a")
    return [a.text.split("\n")[0].strip() for a in driver.find_elements(By.CSS_SELECTOR, "#nav a")]


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
        icon = requests.get(server.base_url + "/console/favicon.svg", timeout=WAIT)
        assert icon.status_code == 200 and icon.headers["Content-Type"].startswith("image/svg+xml")
        assert not [e for e in admin_browser.get_log("browser") if "404" in e["message"] or "favicon" in e["message"]]
        review(admin_browser, "01-sign-in")
        no_storage(admin_browser)
        fill(admin_browser, "email", ADMIN_EMAIL)
        fill(admin_browser, "password", ADMIN_PASSWORD)
        click(admin_browser, "button[type=submit]", "Sign in")
        secret = wait_for(admin_browser, "#totp-secret").text.strip()
        assert len(secret) >= 32
        enrol_qr = admin_browser.find_element(By.CSS_SELECTOR, "#totp-qr svg")
        assert enrol_qr.find_elements(By.TAG_NAME, "path") and enrol_qr.find_element(By.TAG_NAME, "title").get_attribute("textContent")
        review(admin_browser, "02-enrol-authenticator")
        fill(admin_browser, "code", totp(secret))
        click(admin_browser, "button[type=submit]", "Confirm")
        codes = wait_for(admin_browser, "#recovery-codes").find_elements(By.TAG_NAME, "li")
        assert len(codes) == 10
        review(admin_browser, "03-recovery-codes")
        click(admin_browser, "button", "Continue to the console")
        wait_for(admin_browser, "h1", text="Patients")
        assert nav_labels(admin_browser) == ["Patients", "Messages", "Announcements", "Audit", "Federation", "Backups"]
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

        # The server scores the patient from the new records (its scorer reads the change feed every few seconds).
        deadline = time.monotonic() + 4 * WAIT
        while (risk := api(server, "GET", f"/patients/{patient_id}/risk", admin_token).json()["risk"]) is None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert risk is not None, "the patient was not scored"

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

        # Insights: the API's seven, each with its sentence, in its order.
        insights = api(server, "GET", f"/patients/{patient_id}/insights", admin_token).json()["insights"]
        assert len(insights) == 7
        wait_for(admin_browser, "#insights li")
        items = admin_browser.find_elements(By.CSS_SELECTOR, "#insights li")
        assert [i.get_attribute("data-kind") for i in items] == [x["kind"] for x in insights]
        for item, insight in zip(items, insights):
            assert insight["sentence"] in item.text
        # Relapse risk: the latest score, its level and every factor.
        risk = api(server, "GET", f"/patients/{patient_id}/risk", admin_token).json()["risk"]
        shown = wait_for(admin_browser, "#risk-score").text
        assert f"{math.floor(risk['score'] + 0.5)} of 100" in shown and risk["level"] in shown
        factor_rows = admin_browser.find_elements(By.CSS_SELECTOR, "#risk tbody tr")
        assert len(factor_rows) == len(risk["factors"]) == 13
        assert {r.find_element(By.TAG_NAME, "td").text for r in factor_rows} == {f["factor"].replace("_", " ") for f in risk["factors"]}
        admin_browser.execute_script("document.getElementById('risk').scrollIntoView()")
        review(admin_browser, "07a-insights-and-risk")

        # Reports: fetched with the token in a header and saved from memory; the PDFs are the server's.
        downloads = SHOTS / "downloads"
        downloads.mkdir(parents=True, exist_ok=True)
        admin_browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
        progress_audits = len(api(server, "GET", "/audit-logs?action=report.progress", admin_token).json()["data"])
        set_value(admin_browser, "#report-from", "2030-01-10")
        set_value(admin_browser, "#report-to", "2030-01-01")
        click(admin_browser, "#progress-report button[type=submit]")
        assert "before from" in field_error(admin_browser, "#report-to")
        today_text = datetime.date.today().isoformat()
        first_text = (datetime.date.today() - datetime.timedelta(days=29)).isoformat()
        set_value(admin_browser, "#report-from", first_text)
        set_value(admin_browser, "#report-to", today_text)
        click(admin_browser, "#progress-report button[type=submit]")
        number = api(server, "GET", f"/patients/{patient_id}", admin_token).json()["patient"]["patient_number"]
        pdf = downloaded(downloads, f"progress-{number}-{first_text}-{today_text}.pdf")
        assert pdf.startswith(b"%PDF-")
        assert not admin_browser.find_elements(By.CSS_SELECTOR, "#progress-report .field-error")
        if shutil.which("pdftotext"):
            text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
            assert "Okonkwo" in text
        audits = api(server, "GET", "/audit-logs?action=report.progress", admin_token).json()["data"]
        assert len(audits) > progress_audits and any(a.get("patient_id") == patient_id for a in audits)
        month = today_text[:7]
        set_value(admin_browser, "#report-month", month)
        click(admin_browser, "#monthly-report button[type=submit]")
        assert downloaded(downloads, f"monthly-{month}.pdf").startswith(b"%PDF-")
        urls = admin_browser.execute_script("return performance.getEntriesByType('resource').map((e) => e.name)")
        report_urls = [u for u in urls if ".pdf" in u]
        assert len(report_urls) >= 2, urls
        assert not [u for u in urls if "token" in u.lower() or "eyJ" in u], "a token in an address"

        # A treatment plan: a missing title is shown at the title, and nothing is stored.
        click(admin_browser, "button", "New treatment plan")
        plan_form = "form.editor[id^=plan]"
        wait_for(admin_browser, f"{plan_form} input[data-field='title']")
        click(admin_browser, f"{plan_form} button[type=submit]", "Create plan")
        assert field_error(admin_browser, f"{plan_form} input[data-field='title']")
        review(admin_browser, "07b-plan-field-error")
        assert api(server, "GET", f"/patients/{patient_id}/treatment-plans", admin_token).json()["data"] == []
        title_input = admin_browser.find_element(By.CSS_SELECTOR, f"{plan_form} input[data-field='title']")
        title_input.send_keys("Stabilise sleep and routine")
        admin_browser.find_element(By.CSS_SELECTOR, f"{plan_form} .problem input").send_keys("Poor sleep")
        admin_browser.find_element(By.CSS_SELECTOR, f"{plan_form} .problem textarea[id$=goals]").send_keys("Sleep seven hours\nNo screens after 22:00")
        click(admin_browser, f"{plan_form} button[type=submit]", "Create plan")
        wait_for(admin_browser, "#treatment-plans table", text="Stabilise sleep and routine")
        plans = api(server, "GET", f"/patients/{patient_id}/treatment-plans", admin_token).json()["data"]
        assert [p["title"] for p in plans] == ["Stabilise sleep and routine"]
        assert [g["title"] for g in plans[0]["content"]["problems"][0]["goals"]] == ["Sleep seven hours", "No screens after 22:00"]
        # Changed while a draft (the same version), signed, then changed again: the next version, a draft.
        click(admin_browser, "#treatment-plans button", "Change Stabilise sleep and routine")
        title_input = wait_for(admin_browser, f"{plan_form} input[data-field='title']")
        title_input.clear()
        title_input.send_keys("Sleep and daily routine")
        click(admin_browser, f"{plan_form} button[type=submit]", "Save changes")
        wait_for(admin_browser, "#treatment-plans table", text="Sleep and daily routine")
        plan = api(server, "GET", f"/patients/{patient_id}/treatment-plans", admin_token).json()["data"][0]
        assert (plan["title"], plan["version"], plan["signed"]) == ("Sleep and daily routine", 1, False)
        assert [g["title"] for g in plan["content"]["problems"][0]["goals"]] == ["Sleep seven hours", "No screens after 22:00"]
        click(admin_browser, "#treatment-plans button", "Sign Sleep and daily routine")
        wait_for(admin_browser, "#treatment-plans table", text="signed")
        assert api(server, "GET", f"/patients/{patient_id}/treatment-plans", admin_token).json()["data"][0]["signed"] is True
        click(admin_browser, "#treatment-plans button", "Change Sleep and daily routine")
        goals = wait_for(admin_browser, f"{plan_form} .problem textarea[id$=goals]")
        goals.send_keys("\nWalk every morning")
        click(admin_browser, f"{plan_form} button[type=submit]", "Save changes")
        from selenium.webdriver.support.ui import WebDriverWait
        WebDriverWait(admin_browser, WAIT).until(lambda d: d.execute_script(
            "return [...document.querySelectorAll('#treatment-plans tbody tr')].map((r) => r.cells[1].textContent).join()") == "2")
        plan = api(server, "GET", f"/patients/{patient_id}/treatment-plans", admin_token).json()["data"][0]
        assert (plan["version"], plan["signed"]) == (2, False)
        assert [g["title"] for g in plan["content"]["problems"][0]["goals"]][-1] == "Walk every morning"

        # Each goal keeps its own objectives, target date and recovery-goal link when another is removed or renamed.
        linked = api(server, "POST", f"/patients/{patient_id}/goals", admin_token, json={"title": "Stay sober through the holidays"})
        assert linked.status_code == 201, linked.text
        goals_in = [
            {"title": "Name my triggers", "target_date": "2030-01-10", "patient_goal_id": linked.json()["goal"]["id"],
             "objectives": [{"title": "List five triggers", "status": "met", "responsible_role": "patient",
                             "interventions": [{"title": "Trigger worksheet", "frequency": "weekly"}]}]},
            {"title": "Build a support network", "target_date": "2030-02-20",
             "objectives": [{"title": "Attend two mutual-help meetings", "status": "not_met"},
                            {"title": "Name a sponsor", "status": "open"}]},
            {"title": "Plan for high-risk days", "target_date": "2030-03-30",
             "objectives": [{"title": "Write a holiday coping plan", "status": "partially_met", "responsible_role": "counselor"}]},
        ]
        made = api(server, "POST", f"/patients/{patient_id}/treatment-plans", admin_token, json={
            "title": "Relapse prevention", "content": {"problems": [{"title": "Relapse risk", "goals": goals_in}]}})
        assert made.status_code == 201, made.text
        first = made.json()["treatment_plan"]
        assert api(server, "POST", f"/treatment-plans/{first['id']}/sign", admin_token).status_code == 200
        signed = api(server, "GET", f"/treatment-plans/{first['id']}", admin_token).json()["treatment_plan"]
        stored = signed["content"]["problems"][0]["goals"]
        assert [len(g["objectives"]) for g in stored] == [1, 2, 1]
        admin_browser.execute_script("location.hash = '#/patients'")
        wait_for(admin_browser, "main h1", text="Patients")
        admin_browser.execute_script("location.hash = arguments[0]", f"#/patients/{patient_id}")
        click(admin_browser, "#treatment-plans button", "Change Relapse prevention")
        goal_inputs = f"{plan_form} .goal input"
        wait_for(admin_browser, goal_inputs)
        labels = lambda: [admin_browser.find_element(By.CSS_SELECTOR, f"label[for='{i.get_attribute('id')}']").text
                          for i in admin_browser.find_elements(By.CSS_SELECTOR, goal_inputs)]
        assert labels() == ["Goal 1", "Goal 2", "Goal 3"]
        # A goal's title left empty is shown at that goal, and nothing is stored.
        first_goal = admin_browser.find_elements(By.CSS_SELECTOR, goal_inputs)[0]
        first_goal.clear()
        click(admin_browser, f"{plan_form} button[type=submit]", "Save changes")
        assert field_error(admin_browser, f"{plan_form} .goal input[data-field='content.problems[0].goals[0].title']")
        essentials = lambda v: (v["version"], v["signed"], v["title"], v["content"])
        assert [essentials(v) for v in api(server, "GET", f"/treatment-plans/{first['id']}/versions", admin_token).json()["data"]] == [essentials(signed)]
        first_goal.send_keys("Name and write down my triggers")
        # Removing the middle goal names its objectives first; "Keep it" keeps it, "Yes" removes exactly that goal.
        click(admin_browser, f"{plan_form} .goal button", "Remove goal 2")
        question = wait_for(admin_browser, f"{plan_form} .goal p", text="Build a support network")
        assert "“Attend two mutual-help meetings”, “Name a sponsor”" in question.text
        review(admin_browser, "07c-plan-remove-goal")
        click(admin_browser, f"{plan_form} .goal button", "Keep it")
        assert labels() == ["Goal 1", "Goal 2", "Goal 3"]
        click(admin_browser, f"{plan_form} .goal button", "Remove goal 2")
        click(admin_browser, f"{plan_form} .goal button", "Yes, remove “Build a support network”")
        assert labels() == ["Goal 1", "Goal 2"]
        assert admin_browser.switch_to.active_element.get_attribute("value") == "Plan for high-risk days"
        admin_browser.find_element(By.CSS_SELECTOR, f"{plan_form} textarea[id$=new-goals]").send_keys("Sleep before midnight")
        click(admin_browser, f"{plan_form} button[type=submit]", "Save changes")
        wait_for(admin_browser, "#treatment-plans table", text="Relapse prevention")
        WebDriverWait(admin_browser, WAIT).until(lambda d: not d.find_elements(By.CSS_SELECTOR, plan_form))
        versions = api(server, "GET", f"/treatment-plans/{first['id']}/versions", admin_token).json()["data"]
        assert [(v["version"], v["signed"]) for v in versions] == [(1, True), (2, False)]
        assert essentials(versions[0]) == essentials(signed)
        kept = versions[1]["content"]["problems"][0]["goals"]
        assert kept == [{**stored[0], "title": "Name and write down my triggers"}, stored[2], {"title": "Sleep before midnight", "objectives": []}]

        # An assessment: unanswered items are shown at the items, nothing is stored; answered, the server scores it.
        choose(admin_browser, "#assessment-instrument", "gad7")
        wait_for(admin_browser, "#assessment-item-7")
        click(admin_browser, "#assessment-form button[type=submit]", "Record assessment")
        wait_for(admin_browser, "#assessment-items .field-error", text="item 1")
        assert "assessment-items-error" in admin_browser.find_element(By.ID, "assessment-items").get_attribute("aria-describedby")
        assert api(server, "GET", f"/patients/{patient_id}/assessments", admin_token).json()["data"] == []
        for item in range(1, 8):
            choose(admin_browser, f"#assessment-item-{item}", "1")
        click(admin_browser, "#assessment-form button[type=submit]", "Record assessment")
        wait_for(admin_browser, "#assessments table", text="GAD7")
        recorded = api(server, "GET", f"/patients/{patient_id}/assessments", admin_token).json()["data"]
        assert [(a["instrument"], a["answers"], a["total"], a["band"]) for a in recorded] == [("gad7", [1] * 7, 7, "mild")]
        assert "mild" in admin_browser.find_element(By.CSS_SELECTOR, "#assessments table").text

        # A consent: without an expiry the API names expires_at, shown there; with the condition it is recorded, then revoked.
        fill(admin_browser, "consent-recipient", "Dr. Amara Osei, County Health")
        choose(admin_browser, "#consent-purpose", "care_coordination")
        click(admin_browser, "label[for='consent-scope-progress']")
        fill(admin_browser, "consent-signer", "Marisol Okonkwo")
        click(admin_browser, "#consent-form button[type=submit]", "Record consent")
        assert "expiry_condition" in field_error(admin_browser, "#consent-expires")
        review(admin_browser, "07c-consent-field-error")
        assert api(server, "GET", f"/patients/{patient_id}/consents", admin_token).json()["data"] == []
        fill(admin_browser, "consent-condition", "End of outpatient treatment")
        click(admin_browser, "#consent-form button[type=submit]", "Record consent")
        wait_for(admin_browser, "#consents table", text="Dr. Amara Osei")
        consents = api(server, "GET", f"/patients/{patient_id}/consents", admin_token).json()["data"]
        assert [(c["recipient"], c["purpose"], c["information_scope"], c["expiry_condition"], c["status"]) for c in consents] == [
            ("Dr. Amara Osei, County Health", "care_coordination", ["progress"], "End of outpatient treatment", "active")]
        assert not admin_browser.find_elements(By.CSS_SELECTOR, "#consent-form [aria-invalid='true']")
        click(admin_browser, "#consents button", "Revoke consent for Dr. Amara Osei")
        click(admin_browser, "#consents button", "Yes, revoke")
        wait_for(admin_browser, "#consents td", text="revoked")
        assert api(server, "GET", f"/patients/{patient_id}/consents", admin_token).json()["data"][0]["status"] == "revoked"
        review(admin_browser, "07d-clinical-records")

        # A document uploaded on the dashboard, then downloaded: the same bytes come back.
        letter = SHOTS / "referral-letter.txt"
        letter.write_text("Referral: evening IOP from Monday; contact the intake nurse.\n")
        admin_browser.find_element(By.ID, "document-file").send_keys(str(letter))
        fill(admin_browser, "document-title", "Referral letter")
        click(admin_browser, "button[type=submit]", "Upload document")
        wait_for(admin_browser, "#documents table", text="Referral letter")
        stored = api(server, "GET", f"/patients/{patient_id}/documents", admin_token).json()["data"]
        assert [d["title"] for d in stored] == ["Referral letter"] and stored[0]["content_type"].startswith("text/plain")
        click(admin_browser, "#documents button", "Download Referral letter")
        assert downloaded(downloads, "referral-letter.txt") == letter.read_bytes()
        review(admin_browser, "07-documents")
        admin_browser.set_window_size(820, 1180)  # a tablet, portrait
        review(admin_browser, "08-dashboard-tablet")
        assert admin_browser.execute_script("return document.documentElement.scrollWidth <= document.documentElement.clientWidth"), \
            "the dashboard is wider than a tablet"
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
        # A staff thread started in the console: without a colleague the API names participant_ids, shown there.
        click(admin_browser, "nav a", "Messages")
        wait_for(admin_browser, f"label[for='thread-person-{counselor_id}']")
        before = api(server, "GET", "/conversations?limit=100", admin_token).json()["data"]
        click(admin_browser, "#thread-form button[type=submit]", "Start thread")
        wait_for(admin_browser, "#thread-people .field-error", text="at least one other staff member")
        assert "thread-people-error" in admin_browser.find_element(By.ID, "thread-people").get_attribute("aria-describedby")
        review(admin_browser, "08a-new-staff-thread")
        assert api(server, "GET", "/conversations?limit=100", admin_token).json()["data"] == before
        fill(admin_browser, "thread-title", "Shift handover")
        click(admin_browser, f"label[for='thread-person-{counselor_id}']")
        click(admin_browser, "#thread-form button[type=submit]", "Start thread")
        wait_for(admin_browser, "#message-body")
        conversation_id = admin_browser.current_url.rsplit("/", 1)[1]
        made = api(server, "GET", f"/conversations/{conversation_id}", admin_token).json()["conversation"]
        assert made["kind"] == "staff" and made["title"] == "Shift handover"
        assert counselor_id in {p["id"] for p in made["participants"]}

        counselor_browser = new_browser()
        counselor_browser.get(server.base_url + "/")
        fill(counselor_browser, "email", COUNSELOR_EMAIL)
        fill(counselor_browser, "password", COUNSELOR_PASSWORD)
        click(counselor_browser, "button[type=submit]", "Sign in")
        wait_for(counselor_browser, "h1", text="Patients")
        # Menus per role: a counselor is offered only what the role may use; another page, by its address, says so.
        assert nav_labels(counselor_browser) == ["Patients", "Messages", "Announcements"]
        for page, title in [("audit", "Audit trail"), ("backups", "Backups")]:
            counselor_browser.execute_script("location.hash = arguments[0]", f"#/{page}")
            wait_for(counselor_browser, "#not-for-role", text="Your role (counselor) cannot use this page")
            assert wait_for(counselor_browser, "main h1").text == title
        review(counselor_browser, "10a-page-not-for-the-role")
        assert not api(server, "GET", f"/audit-logs?action=route.denied&actor_id={counselor_id}", admin_token).json()["data"], \
            "the console asked the API for a page the role cannot use"
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
