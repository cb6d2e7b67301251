"""The web UI's shell in a real browser: the layout and navigation per role, the school switcher, security headers
and CSRF, error pages, and the "Record my training" form end to end (errors, success, keyboard only, no
JavaScript), each page checked with axe-core at desktop width and at 390 px."""

from __future__ import annotations

import gzip
import re
from urllib.parse import urljoin

import httpx
import pytest
from playwright.sync_api import Page, Response, expect

from tests.web.conftest import check_page, sign_in_as, web

ROLES = {"Alex Morgan": "trust-admin", "Priya Shah": "slt", "Morag Campbell": "executive-head",
         "Tom Baker": "moderator", "Owen Price": "staff"}
NAVIGATION = {
    "Alex Morgan": ["Home", "Trust overview", "Settings", "Policy", "Staff", "Integrations", "Audit"],
    "Priya Shah": ["Home", "Applications", "Incidents", "Dashboard", "Post approvals"],
    "Tom Baker": ["Home", "Inbox", "Mentions", "Accounts", "Handovers", "Take-down requests"],
    "Owen Price": ["Home", "My compliance", "Apply", "Report an incident"],
}


def navigation(page: Page) -> list[str]:
    return [t.strip() for t in page.locator(".govuk-service-navigation__list a").all_inner_texts()]


@web
@pytest.mark.parametrize("name", list(ROLES))
def test_home_shows_what_needs_each_role(page: Page, phone: Page, name: str) -> None:
    sign_in_as(page, name)
    expect(page.get_by_role("heading", level=1)).to_have_text("What needs you")
    expect(page.locator(".govuk-service-navigation__service-name")).to_have_text(
        "SocialGov – Oakfield Learning Trust")
    if name in NAVIGATION:
        assert navigation(page) == NAVIGATION[name]
    expect(page.get_by_role("link", name="Home")).to_have_attribute("aria-current", "page")
    check_page(page, f"home-{ROLES[name]}-desktop")
    sign_in_as(phone, name)
    check_page(phone, f"home-{ROLES[name]}-390")


@web
def test_each_role_sees_its_own_work(page: Page) -> None:
    sign_in_as(page, "Priya Shah")
    slt = page.get_by_role("link", name="Applications awaiting your decision")
    expect(slt).to_have_attribute("href", "/applications")
    expect(page.locator("#slt-1-status")).to_have_text("1")
    sign_in_as(page, "Tom Baker")
    expect(page.get_by_role("link", name="Replies past their deadline")).to_have_attribute("href", "/inbox?state=overdue")
    expect(page.get_by_role("link", name="Handovers to complete")).to_be_visible()
    sign_in_as(page, "Owen Price")
    expect(page.get_by_text("Not yet acknowledged")).to_be_visible()
    expect(page.locator("main").get_by_text(re.compile(r"Expired \d"))).to_be_visible()
    expect(page.get_by_text("Awaiting decision")).to_have_count(0)
    expect(page.get_by_role("link", name="Tiktok account oakfield_sport")).to_be_visible()
    sign_in_as(page, "Alex Morgan")
    expect(page.get_by_role("table", name="Schools that need attention")).to_contain_text("Oakfield Primary School")
    expect(page.locator(".app-chart svg[role=img]")).to_have_count(1)


@web
def test_a_person_serving_two_schools_switches_between_them(page: Page, phone: Page) -> None:
    sign_in_as(page, "Morag Campbell")
    switcher = page.get_by_label("School", exact=True)
    expect(switcher).to_have_value(re.compile(r"\S"))
    first = page.locator(".govuk-caption-l").inner_text()
    other = "Oakfield Primary School" if first == "Glenmore High School" else "Glenmore High School"
    switcher.select_option(label=other)
    page.get_by_role("button", name="Change school").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator(".govuk-caption-l")).to_have_text(other)
    page.reload()  # remembered
    expect(page.locator(".govuk-caption-l")).to_have_text(other)
    check_page(page, "home-school-switched-desktop")
    sign_in_as(phone, "Morag Campbell")
    check_page(phone, "home-school-switcher-390")


@web
def test_a_school_the_person_does_not_serve_cannot_be_chosen(page: Page, base_url: str) -> None:
    page.goto("/auth/dev-login?q=isla")
    glenmore_person = page.locator("input[name=person_id]").last.get_attribute("value")
    sign_in_as(page, "Priya Shah")
    response = page.goto(f"/people/{glenmore_person}/compliance")  # another school's person: 404, as the API says
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    check_page(page, "not-found-desktop")
    response = page.goto("/school?school_id=00000000-0000-0000-0000-000000000000&back_to=/")
    assert response is not None and response.status == 404


@web
def test_a_path_with_no_page_answers_with_the_not_found_page(phone: Page, base_url: str) -> None:
    sign_in_as(phone, "Priya Shah")
    response = phone.goto("/no-such-page")
    assert response is not None and response.status == 404
    expect(phone.get_by_role("heading", level=1)).to_have_text("Page not found")
    check_page(phone, "not-found-390")
    api = httpx.get(urljoin(base_url, "/api/v1/no-such-thing"), headers={"Accept": "text/html"})
    assert api.status_code == 404 and api.headers["content-type"].startswith("application/problem+json")


@web
def test_pages_need_a_session(page: Page, base_url: str) -> None:
    for path in ("/", "/my/compliance", "/my/compliance/training"):
        page.goto(path)
        expect(page).to_have_url(f"{base_url}/auth/dev-login")


@web
def test_every_response_carries_the_security_headers(page: Page, base_url: str) -> None:
    response = page.goto("/auth/dev-login")
    assert response is not None
    csp = response.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp)
    assert nonce and csp == (f"default-src 'self'; script-src 'self' 'nonce-{nonce.group(1)}'; style-src 'self'; "
                             "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
                             "frame-ancestors 'none'")
    for script in page.locator("script").all():
        assert script.get_attribute("nonce") == nonce.group(1) or script.get_attribute("nonce") == ""
    assert page.locator("[style]").count() == 0  # no inline style: style-src 'self' forbids it
    again = page.goto("/auth/dev-login")
    assert again is not None and nonce.group(1) not in again.headers["content-security-policy"]  # fresh each time
    for path in ("/api/v1/health", "/static/css/app.css", "/api/v1/schools"):
        r = httpx.get(urljoin(base_url, path))
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"
        assert r.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert "strict-transport-security" not in r.headers  # development: no HSTS


@web
def test_a_form_without_its_csrf_token_is_refused(page: Page) -> None:
    sign_in_as(page, "Owen Price")
    form = {"course": "Forged", "completed_on-day": "1", "completed_on-month": "2", "completed_on-year": "2026"}
    assert page.request.post("/my/compliance/training", form=form).status == 403
    assert page.request.post("/my/compliance/training", form=form | {"csrf_token": "wrong"}).status == 403
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    cross_site = page.request.post("/my/compliance/training", form=form | {"csrf_token": token or ""},
                                   headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
    assert cross_site.status == 403
    page.goto("/my/compliance")
    expect(page.get_by_text("Forged")).to_have_count(0)


@web
def test_record_training_shows_every_error_then_records_it(page: Page, phone: Page) -> None:
    sign_in_as(page, "Owen Price")
    page.get_by_role("link", name="My compliance").click()
    check_page(page, "my-compliance-desktop")
    page.get_by_role("link", name="Record your training").click()  # a task of the task list
    expect(page.get_by_role("heading", level=1)).to_have_text("Record your training")
    check_page(page, "record-training-desktop")

    page.get_by_label("Month").fill("13")
    page.get_by_role("button", name="Record training").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_focused()  # govuk-frontend moves focus to the summary
    expect(summary.get_by_role("link")).to_have_text(["Enter the name of the course",
                                                      "The date you completed the course must include a day and year"])
    expect(page).to_have_title(re.compile(r"^Error: Record your training"))
    expect(page.get_by_label("Month")).to_have_value("13")  # what was typed is kept
    check_page(page, "record-training-errors-desktop")
    summary.get_by_role("link", name="Enter the name of the course").click()
    expect(page.get_by_label("Course name")).to_be_focused()

    page.get_by_label("Course name").fill("Safer social media for schools")
    page.get_by_label("Day").fill("31")
    page.get_by_label("Month").fill("2")
    page.get_by_label("Year").fill("2026")
    page.get_by_role("button", name="Record training").click()
    expect(summary.get_by_role("link")).to_have_text(["The date you completed the course must be a real date"])
    expect(page.get_by_label("Course name")).to_have_value("Safer social media for schools")

    page.get_by_label("Day").fill("2")
    page.get_by_label("Year").fill("2099")
    page.get_by_role("button", name="Record training").click()
    expect(summary.get_by_role("link")).to_have_text(["The date you completed the course must be today or in the "
                                                      "past"])
    sign_in_as(phone, "Owen Price")
    phone.goto("/my/compliance/training")
    phone.get_by_role("button", name="Record training").click()
    check_page(phone, "record-training-errors-390")

    page.get_by_label("Year").fill("2026")
    page.get_by_role("button", name="Record training").click()
    expect(page).to_have_url(re.compile(r"/my/compliance$"))
    banner = page.locator(".govuk-notification-banner--success")
    expect(banner).to_contain_text("Training recorded: Safer social media for schools")
    expect(page.locator(".app-timeline")).to_contain_text("Safer social media for schools")
    check_page(page, "my-compliance-recorded-desktop")
    page.reload()
    expect(page.locator(".govuk-notification-banner--success")).to_have_count(0)  # said once
    phone.goto("/my/compliance")
    check_page(phone, "my-compliance-390")


@web
def test_record_training_with_the_keyboard_alone(page: Page) -> None:
    page.goto("/auth/dev-login")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()  # the first stop
    focus_on(page, "Lucy Ward")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/$"))
    focus_on(page, "Record training")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Record your training")
    focus_on(page, "Course name")
    page.keyboard.type("Keyboard course")
    page.keyboard.press("Tab")
    page.keyboard.type("3")
    page.keyboard.press("Tab")
    page.keyboard.type("3")
    page.keyboard.press("Tab")
    page.keyboard.type("2026")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Record training")).to_be_focused()
    page.keyboard.press("Space")
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Keyboard course")


def focus_on(page: Page, name: str, presses: int = 60) -> None:
    """Tabs forward until the focused control's accessible text is `name` (a keyboard user's journey)."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        label = page.evaluate("""() => { const e = document.activeElement;
            return (e.labels && e.labels[0] ? e.labels[0].innerText : e.innerText || '').trim(); }""")
        if label == name:
            return
    pytest.fail(f"{name!r} was not reached with Tab in {presses} presses")


@web
def test_the_training_form_works_without_javascript(no_js_page: Page) -> None:
    page = no_js_page
    sign_in_as(page, "Owen Price")
    page.goto("/my/compliance/training")
    page.get_by_role("button", name="Record training").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter the name of the course")
    check_page(page, "record-training-errors-no-js", javascript=False)
    page.get_by_label("Course name").fill("No script needed")
    page.get_by_label("Day").fill("1")
    page.get_by_label("Month").fill("3")
    page.get_by_label("Year").fill("2026")
    page.get_by_role("button", name="Record training").click()
    expect(page).to_have_url(re.compile(r"/my/compliance$"))
    expect(page.locator(".govuk-notification-banner")).to_contain_text("No script needed")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/auth/dev-login$"))


@web
def test_a_page_with_all_its_assets_weighs_under_150_kb_compressed(page: Page) -> None:
    sign_in_as(page, "Alex Morgan")
    responses: list[Response] = []
    page.on("response", lambda r: responses.append(r))  # bodies are read afterwards, not inside the event
    page.reload()
    page.wait_for_load_state("load")
    sizes = {r.url: len(gzip.compress(r.body(), 6)) for r in responses if r.status == 200}
    assert any(u.endswith("/static/css/app.css") for u in sizes) and any(u.endswith("/app.js") for u in sizes)
    total = sum(sizes.values())
    assert total <= 150 * 1024, f"first load is {total / 1024:.0f} KB compressed: {sizes}"
