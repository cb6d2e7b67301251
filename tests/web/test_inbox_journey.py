"""The moderators' inbox and mentions in a real browser, as Tom Baker (Oakfield's moderator) works them on Tuesday
1 September 2026 at 2:30pm: a comment received on Saturday 29 August is due at the end of Tuesday (Monday 31
August is England's Late Summer Bank Holiday), shows that reason, and goes from Due soon to Answered; a public
mention is escalated to an incident; the inbox with the keyboard alone; the forms with JavaScript off; the live
refresh answers htmx with just the list. Every page state is checked with axe-core, at 1280 px and at 390 px.

Each test has its own server on a fresh demo trust seeded at that moment (api/demo.py `_seed_inbox_today`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from api.container import Container
from api.demo import seed_demo
from infra.clock import SettableClock
from infra.settings import Settings
from services import readmodel as rm
from services.identity import principal_for_person
from tests.web.conftest import check_page, serve, sign_in_as, web
from tests.web.test_accounts_journey import sign_in_found
from tests.web.test_shell import focus_on

NOW = datetime(2026, 9, 1, 13, 30, tzinfo=UTC)  # Tuesday, 2:30pm in London (BST)
SATURDAY = "Comment from @saturday_parent"
DUE = "5pm on Tuesday 1 September 2026 (UK time)"
REASON = ("Received Saturday 29 August 2026 at 10am, a weekend: due by the end of the next working day (5pm). "
          "Monday 31 August 2026 is a bank holiday in England (Late Summer Bank Holiday), which moves it to Tuesday "
          "1 September 2026.")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Container, str]]:
    c = Container(Settings(database_url=f"sqlite:///{tmp_path / 'socialgov.db'}"), clock=SettableClock(NOW))
    seed_demo(c)
    try:
        for url in serve(c):
            yield c, url
    finally:
        c.close()


@pytest.fixture
def base_url(server: tuple[Container, str]) -> str:
    return server[1]


def card(page: Page, title: str):  # type: ignore[no-untyped-def]
    return page.locator(".govuk-summary-card").filter(has=page.get_by_role("link", name=re.compile(re.escape(title))))


def tab_to_link(page: Page, starts: str, presses: int = 80) -> None:
    """Tabs forward until the focused element's text starts with `starts`."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        if page.evaluate("() => (document.activeElement.innerText || '').trim()").startswith(starts):
            return
    pytest.fail(f"{starts!r} was not reached with Tab")


@web
def test_a_saturday_comment_shows_its_due_time_and_reason_and_goes_from_due_soon_to_answered(
        page: Page, phone: Page) -> None:
    sign_in_as(page, "Tom Baker")
    page.get_by_role("link", name="Inbox").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Inbox")
    expect(card(page, SATURDAY)).to_contain_text("Due soon")
    expect(card(page, "Complaint from @upset_parent")).to_contain_text("Overdue")
    expect(card(page, "Message from @grandad_joe")).to_contain_text("On track")
    # reply due first: the overdue complaint comes before the Saturday comment
    titles = page.locator(".govuk-summary-card__title").all_inner_texts()
    assert titles.index(next(t for t in titles if "@upset_parent" in t)) < \
        titles.index(next(t for t in titles if "@saturday_parent" in t))
    check_page(page, "inbox-desktop")

    card(page, SATURDAY).get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Comment from @saturday_parent")
    expect(page.locator("#sla-state")).to_have_text("Due soon")
    expect(page.locator("main")).to_contain_text(DUE)
    expect(page.locator("#due-reason")).to_have_text(REASON)
    check_page(page, "interaction-desktop")

    page.get_by_role("button", name="Record the response").click()  # nothing typed
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter your response")
    check_page(page, "interaction-error-desktop")

    page.get_by_role("button", name="Acknowledge").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Acknowledged")
    expect(page.locator("#sla-state")).to_have_text("Answered")
    expect(page.locator("main")).to_contain_text("1 September 2026 at 2:30pm")
    check_page(page, "interaction-answered-desktop")

    page.goto("/inbox")
    expect(page.locator("main")).not_to_contain_text("@saturday_parent")
    page.get_by_label("State").select_option("answered")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"state=answered"))
    expect(card(page, SATURDAY)).to_contain_text("Answered")
    check_page(page, "inbox-answered-desktop")
    page.get_by_role("link", name=re.compile("Next")).click()  # a month of answered replies: more than a page
    expect(page.get_by_role("heading", name="Answered, page 2")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("Previous"))).to_have_attribute(
        "href", "/inbox?state=answered&page_number=1")

    sign_in_as(phone, "Tom Baker")
    phone.goto("/inbox")
    check_page(phone, "inbox-390")
    card(phone, "Query from @new_family").get_by_role("link").click()
    expect(phone.locator("#sla-state")).to_have_text("Due soon")
    check_page(phone, "interaction-390")


@web
def test_the_live_refresh_answers_htmx_with_just_the_list(page: Page, server: tuple[Container, str]) -> None:
    c, _ = server
    sign_in_as(page, "Tom Baker")
    page.goto("/inbox")
    live = page.locator("#inbox-list")
    expect(live).to_have_attribute("hx-trigger", "every 30s")
    refresh = live.get_attribute("hx-get")
    assert refresh is not None and refresh.startswith("/inbox?state=needs_reply")
    fragment = page.request.get(refresh, headers={"HX-Request": "true"})
    body = fragment.text()
    assert fragment.ok and body.lstrip().startswith("<div id=\"inbox-list\"") and "<html" not in body
    assert "@saturday_parent" in body and fragment.headers["cache-control"] == "no-store"
    full = page.request.get(refresh).text()
    assert "<html" in full and "@saturday_parent" in full
    # something new arrives: the next refresh has it
    with c.engine.connect() as conn:
        tom, school, account = conn.execute(
            select(rm.people.c.id, rm.accounts.c.school_id, rm.accounts.c.id)
            .join(rm.accounts, rm.accounts.c.handle == "OakfieldPrimary")
            .where(rm.people.c.display_name == "Tom Baker")).one()
    moderator = principal_for_person(c.engine, tom, "test")
    assert moderator is not None
    c.inbox.receive(moderator, school, account, "query", c.clock.now(), "@just_now", "Is it non-uniform day?",
                    None, None, None)
    assert "@just_now" in page.request.get(refresh, headers={"HX-Request": "true"}).text()
    # another school's moderator: Oakfield's interaction and mention pages are not found (404, not 403)
    href = page.get_by_role("link", name=re.compile("@saturday_parent")).get_attribute("href")
    page.goto("/mentions")
    mention = page.get_by_role("link", name="Oakfield pupils win regional quiz").get_attribute("href")
    assert href is not None and mention is not None
    mentions = page.request.get("/mentions?status=awaiting_triage", headers={"HX-Request": "true"}).text()
    assert mentions.lstrip().startswith("<div id=\"mentions-list\"") and "<html" not in mentions
    sign_in_found(page, "Euan Fraser")
    assert page.request.get(href).status == 404 and page.request.get(mention).status == 404
    page.goto("/inbox")
    expect(page.locator("main")).not_to_contain_text("@saturday_parent")


@web
def test_a_mention_is_escalated_to_an_incident(page: Page, phone: Page) -> None:
    sign_in_as(page, "Tom Baker")
    page.get_by_role("link", name="Mentions").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mentions")
    expect(page.locator("#mentions-list")).to_have_attribute("hx-trigger", "every 30s")
    check_page(page, "mentions-desktop")
    page.get_by_role("link", name="Parents discuss Oakfield parking").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Parents discuss Oakfield parking")
    check_page(page, "mention-desktop")
    page.get_by_role("button", name="Save the triage").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Select what to do with the mention")
    check_page(page, "mention-error-desktop")
    page.get_by_label("Escalate to an incident").check()
    page.get_by_label("Category of the incident").select_option(label="Harassment")
    page.get_by_label("Notes (optional)").fill("Names a member of staff")
    page.get_by_role("button", name="Save the triage").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Escalated")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Public mention: Parents discuss Oakfield parking")
    check_page(page, "mention-escalated-incident-desktop")
    page.goto("/mentions?status=triaged")
    expect(card(page, "Parents discuss Oakfield parking")).to_contain_text("Escalate to an incident")
    check_page(page, "mentions-triaged-desktop")
    sign_in_as(phone, "Tom Baker")
    phone.goto("/mentions")
    check_page(phone, "mentions-390")
    phone.get_by_role("link", name="Oakfield pupils win regional quiz").click()
    check_page(phone, "mention-390")
    phone.get_by_label("Escalate to an incident").check()
    phone.get_by_role("button", name="Save the triage").click()  # no category for the incident
    expect(phone.locator(".govuk-error-summary")).to_contain_text("Select a category for the incident")
    check_page(phone, "mention-error-390")


@web
def test_the_inbox_with_the_keyboard_alone(page: Page) -> None:
    page.goto("/auth/dev-login")
    focus_on(page, "Tom Baker")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/$"))
    focus_on(page, "Inbox")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Inbox")
    focus_on(page, "State")
    page.keyboard.press("ArrowDown")  # Needs a reply -> Overdue
    expect(page.get_by_label("State")).to_have_value("overdue")
    focus_on(page, "Show")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"state=overdue"))
    tab_to_link(page, "Complaint from @upset_parent")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Complaint from @upset_parent")
    expect(page.locator("#sla-state")).to_have_text("Overdue")
    focus_on(page, "Your response")
    page.keyboard.type("Sorry for the wait: the office will call you today.")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Record the response")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Response recorded")
    expect(page.locator("#sla-state")).to_have_text("Answered late")


@web
def test_the_forms_work_without_javascript(no_js_page: Page) -> None:
    page = no_js_page
    sign_in_as(page, "Tom Baker")
    page.goto("/inbox")
    page.get_by_label("State").select_option("due_soon")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"state=due_soon"))
    card(page, "Query from @new_family").get_by_role("link").click()
    page.get_by_label("Assign to").select_option(label="Tom Baker")
    page.get_by_role("button", name="Assign").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Assigned to Tom Baker")
    page.get_by_role("button", name="Escalate").click()  # nothing chosen
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter a title for the incident")
    expect(page.locator(".govuk-error-summary")).to_contain_text("Select a category")
    check_page(page, "interaction-error-nojs", javascript=False)
    page.get_by_label("Your response").fill("Our admissions page has the form: oakfield.example/admissions")
    page.get_by_role("button", name="Record the response").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Response recorded")
    expect(page.locator("#sla-state")).to_have_text("Answered")
    page.get_by_label("Incident title").fill("Parent asks for pupils' details")
    page.get_by_label("Category").select_option(label="Data protection breach")
    page.get_by_role("button", name="Escalate").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Escalated")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Parent asks for pupils' details")
    page.go_back()
    page.reload()
    expect(page.locator("main")).to_contain_text("This was escalated to an incident")
    page.goto("/mentions")
    page.get_by_role("link", name="Oakfield pupils win regional quiz").click()
    page.get_by_label("Ignore it").check()
    page.get_by_role("button", name="Save the triage").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Mention triaged: ignore")
    check_page(page, "mentions-after-triage-nojs", javascript=False)
