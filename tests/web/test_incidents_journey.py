"""Incidents in a real browser, from report to police referral: Owen Price (staff) reports one with a screenshot;
Priya Shah (SLT) assesses it, refers it to the police with a crime reference, records what was hidden and what the
audience was told, and downloads the evidence bundle, which verifies offline with infra/bundle_verifier.py and the
trust's public key. Every page state is checked with axe-core at 1280 px and 390 px; one journey is done with the
keyboard alone and one report is sent with JavaScript off."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from infra.bundle_verifier import verify_bundle
from tests.web.conftest import ROOT, check_page, sign_in_as, web
from tests.web.test_shell import focus_on

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7V\xbd\xfa\x00\x00\x00\x00IEND\xaeB`\x82")
REFERENCE = re.compile(r"INC-[0-9A-F]{4}-[0-9A-F]{4}")


def yesterday() -> datetime:
    return datetime.now(ZoneInfo("Europe/London")) - timedelta(days=1)


def summary_links(page: Page) -> list[str]:
    return page.locator(".govuk-error-summary").get_by_role("link").all_inner_texts()


def fill_report(page: Page, title: str) -> None:
    page.get_by_label("Harassment").check()
    page.get_by_label("Facebook: OakfieldPrimary").check()
    page.get_by_label("Summary", exact=True).fill(title)
    page.get_by_label("What happened", exact=True).fill("A parent's comments call Mr Baker a liar and name a pupil.")
    day = yesterday()
    page.get_by_label("Day").fill(str(day.day))
    page.get_by_label("Month").fill(str(day.month))
    page.get_by_label("Year").fill(str(day.year))
    page.get_by_label("Time", exact=True).fill("6:30pm")
    page.get_by_label("Person 1: name").fill("Parent of a Year 5 pupil")
    page.get_by_label("Person 1: who they are").select_option(label="Parent or carer")


@web
def test_staff_report_an_incident_with_evidence_and_the_leader_refers_it_to_the_police(
        page: Page, phone: Page, tmp_path: Path) -> None:
    # --- Owen Price reports it -------------------------------------------------------------------------------
    sign_in_as(page, "Owen Price")
    page.get_by_role("link", name="Report an incident").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Report an incident")
    check_page(page, "incident-report-desktop")

    page.get_by_label("Month").fill("13")
    page.get_by_label("Person 2: name").fill("Someone")
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_title(re.compile(r"^Error: Report an incident"))
    assert summary_links(page) == [
        "Select the type of incident", "Enter a summary of what happened", "Describe what happened",
        "The date it happened must include a day and year", "Enter the time it happened",
        "Select who person 2 is"]
    expect(page.get_by_label("Month")).to_have_value("13")  # what was typed is kept
    expect(page.locator("#title-error")).to_contain_text("Enter a summary of what happened")  # beside the field
    check_page(page, "incident-report-errors-desktop")
    page.locator(".govuk-error-summary").get_by_role("link", name="Select the type of incident").click()
    expect(page.get_by_label("Bullying")).to_be_focused()

    page.get_by_label("Person 2: name").fill("")
    fill_report(page, "Abusive comments about Mr Baker")
    page.get_by_label("Time", exact=True).fill("25:99")
    page.get_by_role("button", name="Continue").click()
    assert summary_links(page) == ["Enter the time as 18:30 or 6:30pm"]
    page.get_by_label("Time", exact=True).fill("6:30pm")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Check your answers before sending your report")
    answers = page.locator(".govuk-summary-list")
    expect(answers).to_contain_text("Harassment")
    expect(answers).to_contain_text("Facebook: OakfieldPrimary")
    expect(answers).to_contain_text(f"{yesterday().day} {yesterday():%B %Y} at 6:30pm")
    expect(answers).to_contain_text("Parent of a Year 5 pupil (parent or carer)")
    check_page(page, "incident-check-desktop")
    page.get_by_role("button", name="Change your answers").click()  # back to the questions, answers kept
    expect(page.get_by_label("Summary", exact=True)).to_have_value("Abusive comments about Mr Baker")
    expect(page.get_by_label("Harassment")).to_be_checked()
    page.get_by_role("button", name="Continue").click()

    page.get_by_label("Evidence file").set_input_files(
        files=[{"name": "run.exe", "mimeType": "application/x-msdownload", "buffer": b"MZ"}])
    page.get_by_role("button", name="Send report").click()
    expect(page).to_have_title(re.compile(r"^Error: Check your answers"))
    assert summary_links(page) == ["The evidence file must be an image (PNG, JPEG, GIF or WebP), PDF, text, CSV, "
                                   "JSON, email, MP4 video or MP3 audio file"]
    check_page(page, "incident-check-errors-desktop")
    page.get_by_label("Evidence file").set_input_files(
        files=[{"name": "screenshot.png", "mimeType": "image/png", "buffer": PNG}])
    page.get_by_label("What the file shows (optional)").fill("The comments as they appeared")
    page.get_by_role("button", name="Send report").click()

    panel = page.locator(".govuk-panel")
    expect(panel).to_contain_text("Incident reported")
    reference = REFERENCE.search(panel.inner_text())
    assert reference, panel.inner_text()
    expect(page.get_by_text("Your evidence file screenshot.png is attached")).to_be_visible()
    check_page(page, "incident-reported-desktop")
    incident_url = page.get_by_role("link", name="View the incident").get_attribute("href")
    assert incident_url

    # --- Priya Shah assesses it and refers it to the police ---------------------------------------------------
    sign_in_as(page, "Priya Shah")
    page.get_by_role("link", name="Incidents", exact=True).click()
    queue = page.locator(".app-incident-list")
    first = queue.locator(".app-incident-list__item").first
    expect(first).to_contain_text("Awaiting assessment")  # awaiting assessment first
    mine = queue.locator(".app-incident-list__item", has_text="Abusive comments about Mr Baker")
    expect(mine).to_contain_text(reference.group())  # the same reference wherever it appears
    expect(mine).to_contain_text("Not assessed")
    expect(queue.locator(".app-incident-list__item").last).to_contain_text("Police: CR/104233/26")
    check_page(page, "incidents-queue-desktop")
    page.get_by_label("Show").select_option(label="Referred to the police")
    page.get_by_role("button", name="Show incidents").click()
    expect(page.locator(".app-incident-list__item")).to_have_count(1)
    check_page(page, "incidents-queue-police-desktop")

    page.goto(incident_url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Abusive comments about Mr Baker")
    expect(page.locator(".govuk-caption-l")).to_contain_text(reference.group())
    expect(page.get_by_role("region", name="Evidence")).to_contain_text("screenshot.png")
    check_page(page, "incident-new-desktop")

    page.get_by_role("link", name="Make the initial assessment").click()
    page.get_by_role("button", name="Save the assessment").click()
    assert summary_links(page) == ["Select the risk level", "Select yes if there is a safeguarding concern",
                                   "Enter the immediate actions taken"]
    check_page(page, "incident-assessment-errors-desktop")
    page.get_by_label("High").check()
    page.get_by_label("Yes").check()
    page.get_by_label("Immediate actions").fill("Comments hidden; DSL informed")
    page.get_by_label("Tom Baker").check()
    page.get_by_role("button", name="Save the assessment").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Assessment recorded: risk high")
    expect(page.get_by_role("link", name="Make the initial assessment")).to_have_count(0)  # done: not offered

    page.get_by_role("link", name="Refer to the police").click()
    page.get_by_label("Day").fill("40")
    page.get_by_role("button", name="Record the police referral").click()
    assert summary_links(page) == ["Enter the crime reference the police gave you",
                                   "Enter the officer's name and number",
                                   "The date you referred it must include a month and year"]
    check_page(page, "incident-police-errors-desktop")
    page.get_by_label("Crime reference").fill("CR/555123/26")
    page.get_by_label("Officer").fill("PC 1234 Jones")
    today = datetime.now(ZoneInfo("Europe/London"))
    page.get_by_label("Day").fill(str(today.day))
    page.get_by_label("Month").fill(str(today.month))
    page.get_by_label("Year").fill(str(today.year))
    page.get_by_role("button", name="Record the police referral").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        "Referred to the police: crime reference CR/555123/26")
    expect(page.locator("#incident-summary")).to_contain_text("CR/555123/26")

    page.get_by_role("link", name="Record a moderation action").click()
    page.get_by_role("button", name="Record the action").click()
    assert summary_links(page) == ["Select what you did", "Enter the post, comment or user it was done to",
                                   "Enter what you told the audience, and why"]
    check_page(page, "incident-moderation-errors-desktop")
    page.get_by_label("Hide it").check()
    page.get_by_label("What it was done to").fill("two comments by the parent")
    page.get_by_label("What you told the audience").fill("We hid comments that named a pupil.")
    page.get_by_role("button", name="Record the action").click()
    actions = page.get_by_role("region", name="Moderation actions")
    expect(actions).to_contain_text("Hidden: two comments by the parent")
    expect(actions).to_contain_text("We hid comments that named a pupil.")
    expect(actions).to_contain_text("Priya Shah (SLT)")

    page.get_by_role("link", name="Record a parent take-down step").click()
    page.get_by_label("Asked the parent or carer to remove the post").check()
    page.get_by_label("Parent or carer", exact=True).fill("Parent of a Year 5 pupil")
    page.get_by_role("button", name="Record the step").click()
    expect(page.get_by_role("region", name="Parents' take-down steps")).to_contain_text("Parent of a Year 5 pupil")
    check_page(page, "incident-referred-desktop")
    timeline = page.locator(".app-timeline__title").all_inner_texts()
    assert timeline[:4] == ["Asked the parent or carer to remove the post", "Hidden: two comments by the parent",
                            "Referred to the police", "Investigator named"]  # newest first
    assert timeline[-2:] == ["Evidence added", "Incident reported"]

    # --- the evidence bundle, downloaded and verified offline -------------------------------------------------
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the evidence bundle").click()
    bundle = tmp_path / download.value.suggested_filename
    download.value.save_as(bundle)
    assert download.value.suggested_filename == f"{reference.group()}-evidence-bundle.zip"
    key = page.request.get("/api/v1/trust/public-key")
    assert key.ok
    (tmp_path / "trust.pem").write_bytes(key.body())
    assert verify_bundle(bundle.read_bytes(), key.body()) == []
    with zipfile.ZipFile(bundle) as z:
        assert "screenshot.png" in " ".join(z.namelist())
        assert "CR/555123/26" in z.read("chronology.json").decode()
        assert "We hid comments that named a pupil." in z.read("chronology.json").decode()
    offline = subprocess.run([sys.executable, str(ROOT / "infra" / "bundle_verifier.py"), str(bundle),
                              "--public-key", str(tmp_path / "trust.pem")], capture_output=True, text=True,
                             cwd=tmp_path)
    assert offline.returncode == 0 and offline.stdout.startswith("OK"), offline.stdout + offline.stderr
    page.reload()
    expect(page.locator(".app-timeline__title").first).to_have_text("Evidence bundle downloaded")

    # --- the same pages at 390 px ---------------------------------------------------------------------------
    sign_in_as(phone, "Priya Shah")
    phone.goto("/incidents")
    check_page(phone, "incidents-queue-390")
    phone.goto(incident_url)
    check_page(phone, "incident-referred-390")
    phone.goto(incident_url + "/police-referral")
    phone.get_by_role("button", name="Record the police referral").click()
    check_page(phone, "incident-police-errors-390")
    sign_in_as(phone, "Owen Price")
    phone.goto("/incidents/new")
    phone.get_by_role("button", name="Continue").click()
    check_page(phone, "incident-report-errors-390")


@web
def test_who_may_do_what_on_an_incident(page: Page) -> None:
    sign_in_as(page, "Priya Shah")
    page.goto("/incidents?incident_state=police")
    page.get_by_role("link", name="Threats to a teacher under the sports day post").click()
    police_incident = page.url
    sign_in_as(page, "Tom Baker")  # the moderator named as investigator: moderation, not police referral
    page.goto(police_incident)
    expect(page.get_by_role("link", name="Record a moderation action")).to_be_visible()
    expect(page.get_by_role("link", name="Refer to the police")).to_have_count(0)
    expect(page.get_by_role("button", name="Download the evidence bundle")).to_have_count(0)
    response = page.goto(police_incident + "/police-referral")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("You cannot do this")
    expect(page.locator("main")).to_contain_text("Only the school's leaders can refer it to the police on this "
                                                 "incident.")
    check_page(page, "incident-form-forbidden-desktop")
    assert page.request.get(police_incident + "/evidence-bundle").status == 404
    page.goto("/auth/dev-login?q=isla")  # another school's staff (found with the picker's search)
    page.get_by_role("button", name="Isla Ross", exact=True).click()
    expect(page.locator("header")).to_contain_text("Signed in as Isla Ross")
    response = page.goto(police_incident)
    assert response is not None and response.status == 404
    check_page(page, "incident-not-found-desktop")


@web
def test_a_leader_assesses_an_incident_with_the_keyboard_alone(page: Page) -> None:
    page.goto("/auth/dev-login")
    focus_on(page, "Priya Shah", presses=80)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/$"))
    focus_on(page, "Incidents awaiting assessment")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Incidents")
    focus_on(page, "Photo of pupils shared in a parents' group")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Photo of pupils shared in a parents' group")
    focus_on(page, "Make the initial assessment")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Initial assessment")
    focus_on(page, "Low")
    page.keyboard.press("ArrowRight")  # radios: the arrows move and choose
    page.keyboard.press("ArrowRight")
    expect(page.get_by_label("High")).to_be_checked()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Yes")).to_be_focused()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Immediate actions")).to_be_focused()
    page.keyboard.type("Asked the parent to remove the photo; DSL informed")
    focus_on(page, "Tom Baker")
    page.keyboard.press("Space")
    focus_on(page, "Save the assessment")
    page.keyboard.press("Enter")
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Assessment recorded: risk high")
    expect(page.locator("#incident-summary")).to_contain_text("a safeguarding concern")
    expect(page.locator("#incident-summary")).to_contain_text("Tom Baker")


@web
def test_a_report_is_sent_with_javascript_off(no_js_page: Page) -> None:
    page = no_js_page
    sign_in_as(page, "Lucy Ward")
    page.goto("/incidents/new")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Select the type of incident")
    check_page(page, "incident-report-errors-no-js", javascript=False)
    fill_report(page, "Journalist asked about a pupil")
    page.get_by_label("Contact from a journalist").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".govuk-summary-list")).to_contain_text("Contact from a journalist")
    page.get_by_label("Evidence file").set_input_files(
        files=[{"name": "email.txt", "mimeType": "text/plain", "buffer": b"From: reporter@news.example"}])
    page.get_by_role("button", name="Send report").click()
    expect(page.locator(".govuk-panel")).to_contain_text(REFERENCE)
    check_page(page, "incident-reported-no-js", javascript=False)
    page.get_by_role("link", name="View the incident").click()
    expect(page.get_by_role("region", name="Evidence")).to_contain_text("email.txt")
    expect(page.get_by_role("link", name="Make the initial assessment")).to_have_count(0)  # staff: not hers to do

