"""School accounts and leavers' handovers in a real browser, as Tom Baker (Oakfield's moderator) keeps them: the
list and an account's page, today's monitoring check, a leaver's handover completed and the credentials rotated,
a reveal with its reason (audited, never cached, hidden again, never in a log or a GET page), an account created
from an approved application, suspend and reinstate with JavaScript off, one journey with the keyboard alone, and
what each role may and may not do. Every page state is checked with axe-core, at 1280 px and at 390 px.

Each test has its own server on a fresh demo trust (plus one approved application waiting for an account): they
change what the others would see, and the browser tests do not always run in the file's order."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from api.container import Container
from api.demo import seed_demo
from domain.application import BusinessCase
from infra.settings import Settings
from services import readmodel as rm
from services.identity import principal_for_person
from tests.web.conftest import check_page, serve, sign_in_as, web
from tests.web.test_shell import focus_on

NEW_PASSWORD = "Rotated-after-Grace-left-7"
DEMO_PASSWORD = "demo-only-Passw0rd!"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Container, str, Path]]:
    """The real app on the demo trust, plus an approved Instagram application no account was created from yet."""
    path = tmp_path / "socialgov.db"
    c = Container(Settings(database_url=f"sqlite:///{path}"))
    seed_demo(c)
    people = person_ids(c)
    sam = principal_for_person(c.engine, people["Sam Patel"], "test")
    priya = principal_for_person(c.engine, people["Priya Shah"], "test")
    assert sam is not None and priya is not None
    school = next(iter(sam.visible_school_ids))
    case = BusinessCase("Share the eco club's work", "Parents and carers", "Newsletter", (sam.id, people["Tom Baker"]),
                        "open", "instagram", "oakfield_eco")
    application = c.applications.submit(sam, school, case)
    c.applications.approve(priya, application, "Both runners trained")
    try:
        for url in serve(c):
            yield c, url, path
    finally:
        c.close()


@pytest.fixture
def base_url(server: tuple[Container, str, Path]) -> str:
    return server[1]


def person_ids(c: Container) -> dict[str, Any]:
    with c.engine.connect() as conn:
        return dict(conn.execute(select(rm.people.c.display_name, rm.people.c.id)).all())


def facebook_account(page: Page) -> str:
    """Opens the Facebook account from the accounts list; returns its page's path."""
    page.goto("/accounts")
    page.get_by_role("link", name="Facebook OakfieldPrimary").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Facebook OakfieldPrimary")
    return re.sub(r"^https?://[^/]+", "", page.url)


def sign_in_found(page: Page, name: str) -> None:
    """Signs in as someone the persona picker finds by name (not one of its named personas)."""
    page.goto("/auth/dev-login?q=" + name.split()[0].lower())
    page.get_by_role("button", name=name, exact=True).click()
    expect(page).to_have_url(re.compile(r"/$"))


def api_token(c: Container, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {c.tokens.issue(person_ids(c)[name], auth_method='test')}"}


# ----- the list and the account page ------------------------------------------------------------------------


@web
def test_the_moderator_sees_the_accounts_and_records_todays_check(page: Page, phone: Page) -> None:
    sign_in_as(page, "Tom Baker")
    page.get_by_role("link", name="Accounts", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Accounts")
    row = page.locator(".govuk-summary-card").filter(has_text="Facebook OakfieldPrimary")
    expect(row).to_contain_text("Grace Hill")  # the lead, who has left
    expect(row).to_contain_text("3, 2 with valid training")
    expect(row).to_contain_text("Credentials to change")
    expect(row).to_contain_text("Not checked today")
    expect(page.get_by_text("1 approved application is waiting for an account.")).to_be_visible()
    check_page(page, "accounts-list-desktop")

    facebook_account(page)
    main = page.locator("main")
    expect(main).to_contain_text("The credentials must be changed: Grace Hill left on")
    expect(main.get_by_role("link", name="Hand the account over from Grace Hill")).to_be_visible()
    runners = page.get_by_role("table", name="3 runners")
    expect(runners.get_by_role("row").filter(has_text="Tom Baker")).to_contain_text("Read policy 2025.2")
    expect(runners.get_by_role("row").filter(has_text="Grace Hill")).to_contain_text("Lead")
    expect(runners.get_by_role("row").filter(has_text="Grace Hill")).to_contain_text(re.compile(r"Left \d"))
    expect(runners.get_by_role("row").filter(has_text="Sam Patel")).to_contain_text(re.compile(r"Valid until \d"))
    expect(main).to_contain_text("Version 1, stored")
    expect(main).not_to_contain_text(DEMO_PASSWORD)
    check_page(page, "account-desktop")

    page.get_by_label("Anything to note about today's check (optional)").fill("x" * 2001)
    page.get_by_role("button", name="Record today's check").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Note must be 2000 characters or fewer")
    expect(page).to_have_title(re.compile(r"^Error: Facebook OakfieldPrimary"))
    check_page(page, "account-check-error-desktop")
    page.get_by_label("Anything to note about today's check (optional)").fill("Two new comments, both answered")
    page.get_by_role("button", name="Record today's check").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Today's monitoring check is recorded")
    expect(main.locator(".govuk-tag", has_text="Checked today")).to_be_visible()
    expect(page.get_by_role("table", name="Checks in the last 7 days")).to_contain_text(
        "Two new comments, both answered")
    check_page(page, "account-checked-desktop")
    page.goto("/accounts")
    expect(page.locator(".govuk-summary-card").filter(has_text="Facebook OakfieldPrimary")).to_contain_text(
        "Checked today")

    sign_in_as(phone, "Tom Baker")
    phone.goto("/accounts")
    check_page(phone, "accounts-list-390")
    facebook_account(phone)
    check_page(phone, "account-390")


# ----- the leaver's handover, then new credentials ---------------------------------------------------------


@web
def test_a_leavers_handover_is_completed_and_the_credentials_rotated(page: Page, phone: Page,
                                                                     server: tuple[Container, str, Path]) -> None:
    sign_in_as(page, "Tom Baker")
    page.get_by_role("link", name="Handovers", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Handovers")
    row = page.locator("#to-finish .govuk-summary-card").filter(has_text="Grace Hill")
    expect(row).to_contain_text("Facebook OakfieldPrimary")
    expect(row).to_contain_text("Overdue")
    check_page(page, "handovers-desktop")
    sign_in_as(phone, "Tom Baker")
    phone.goto("/handovers")
    check_page(phone, "handovers-390")

    row.get_by_role("link", name="Grace Hill: Facebook OakfieldPrimary").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Hand over Facebook OakfieldPrimary")
    handover_url = page.url
    expect(page.locator(".govuk-task-list")).to_contain_text("Cannot start yet")
    check_page(page, "handover-desktop")
    phone.goto(handover_url)
    check_page(phone, "handover-390")

    page.get_by_role("button", name="Complete the handover").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary.get_by_role("link")).to_have_text(["Select how to hand over the account"])
    expect(page).to_have_title(re.compile(r"^Error: Handover of Facebook OakfieldPrimary"))
    check_page(page, "handover-error-desktop")
    summary.get_by_role("link").click()
    expect(page.get_by_label("Hand the lead to Sam Patel")).to_be_focused()  # the first choice: runners first

    page.get_by_label("Hand the lead to Tom Baker").check()
    page.get_by_label("Notes (optional)").fill("Grace handed over the content calendar")
    page.get_by_role("button", name="Complete the handover").click()
    expect(page).to_have_url(handover_url)
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        "Handover completed: Tom Baker now leads Facebook OakfieldPrimary. Now change the credentials")
    expect(page.get_by_role("button", name="Complete the handover")).to_have_count(0)
    expect(page.locator("main")).to_contain_text("Credentials to change")
    expect(page.locator("main")).to_contain_text("Change it on Facebook, then store the new credentials")
    check_page(page, "handover-completed-desktop")

    # Step 2: the leaver's access has ended, the password must change
    page.get_by_role("button", name="Change the credentials").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Change the credentials")
    expect(page.locator("main")).to_contain_text("Grace Hill left on")
    check_page(page, "credentials-form-desktop")
    page.get_by_label("Recovery email address (optional)").fill("it-at-oakfield")
    page.get_by_label("Recovery phone number (optional)").fill("12345")
    page.get_by_label("Recovery codes (optional)").fill("OK-1\n" + "X" * 101)
    page.get_by_role("button", name="Store the new credentials").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary.get_by_role("link")).to_have_text([
        "Enter the sign-in name", "Enter the password",
        "Enter the recovery email address in the correct format, like name@example.com",
        "Enter the recovery phone number in the correct format, like 01632 960 001 or +44 7700 900 982",
        "Enter at most 50 recovery codes, each 100 characters or fewer"])
    for field, message in (("Sign-in name", "Enter the sign-in name"), ("Password", "Enter the password"),
                           ("Recovery phone number (optional)", "Enter the recovery phone number")):
        expect(page.locator(".govuk-form-group--error").filter(has=page.get_by_label(field, exact=True))
               ).to_contain_text(message)
    expect(page.get_by_label("Recovery email address (optional)")).to_have_value("it-at-oakfield")
    expect(page.get_by_label("Recovery codes (optional)")).to_have_value("")  # a secret is never shown back
    check_page(page, "credentials-errors-desktop")
    phone.goto(page.url)
    phone.get_by_role("button", name="Store the new credentials").click()
    check_page(phone, "credentials-errors-390")

    summary.get_by_role("link", name="Enter the password").click()
    expect(page.get_by_label("Password", exact=True)).to_be_focused()
    page.get_by_label("Sign-in name").fill("oakfield.social@oakfield.example")
    page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Recovery email address (optional)").fill("it@oakfield.example")
    page.get_by_label("Recovery phone number (optional)").fill("020 7946 0000")
    page.get_by_label("Recovery codes (optional)").fill("NEW-1111\nNEW-2222")
    page.get_by_label("Why are you changing them? (optional)").fill("Grace Hill has left")
    page.get_by_role("button", name="Store the new credentials").click()
    expect(page).to_have_url(handover_url)
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        "New credentials stored for Facebook OakfieldPrimary (version 2)")
    expect(page.locator("main").locator(".govuk-tag").first).to_have_text("Done")
    expect(page.locator("main")).to_contain_text("This handover is done")
    expect(page.locator("main")).not_to_contain_text(NEW_PASSWORD)
    check_page(page, "handover-done-desktop")
    phone.goto(handover_url)
    check_page(phone, "handover-done-390")

    page.goto("/handovers")
    expect(page.locator("#done .govuk-summary-card")).to_contain_text("Grace Hill")
    expect(page.get_by_text("No handover is waiting.")).to_be_visible()
    facebook_account(page)
    runners = page.get_by_role("table", name="2 runners")
    expect(runners.get_by_role("row").filter(has_text="Tom Baker")).to_contain_text("Lead")
    expect(runners).not_to_contain_text("Grace Hill")
    expect(page.locator("main")).not_to_contain_text("Credentials to change")
    expect(page.locator("main")).to_contain_text("Version 2, stored")


# ----- revealing the credentials ----------------------------------------------------------------------------


@web
def test_a_reveal_is_recorded_with_its_reason_never_cached_and_hidden_again(
        page: Page, phone: Page, server: tuple[Container, str, Path], caplog: pytest.LogCaptureFixture) -> None:
    c, base_url, db_path = server
    caplog.set_level(logging.DEBUG)
    page.clock.install()  # the page's timers run on a clock the test moves on (the credentials hide after 2 minutes)
    pages_seen: list[str] = []  # every page (GET) the browser loaded: fetched again at the end, none has the secret
    page.on("response", lambda r: pages_seen.append(r.url)
            if r.request.resource_type == "document" and r.request.method == "GET" else None)
    sign_in_as(page, "Tom Baker")
    account_path = facebook_account(page)
    account_id = account_path.rsplit("/", 1)[1]

    page.get_by_role("button", name="Reveal the credentials").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Reveal the credentials")
    check_page(page, "reveal-form-desktop")
    page.get_by_role("button", name="Reveal the credentials").click()
    expect(page.locator(".govuk-error-summary").get_by_role("link")).to_have_text(
        ["Enter why you need to see the credentials"])
    expect(page.locator("#reason-error")).to_contain_text("Enter why you need to see the credentials")
    check_page(page, "reveal-form-error-desktop")

    reason = "Answer a parent's private message about the trip"
    page.get_by_label("Why do you need to see them?").fill(reason)
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/credentials/reveal")) as info:
        page.get_by_role("button", name="Reveal the credentials").click()
    answer = info.value
    assert answer.status == 200
    assert answer.headers["cache-control"] == "no-store" and answer.headers["pragma"] == "no-cache"
    assert DEMO_PASSWORD not in answer.url and reason not in answer.url
    expect(page.get_by_role("heading", level=1)).to_have_text("Credentials")
    main = page.locator("main")
    expect(main).to_contain_text(DEMO_PASSWORD)
    expect(main).to_contain_text("DEMO-2222")
    expect(main).to_contain_text("These are hidden again after 2 minutes")
    expect(main).to_contain_text(f"“{reason}”")
    check_page(page, "revealed-desktop")
    # ... and hidden again 2 minutes later (htmx swaps them for a note)
    page.clock.fast_forward("02:01")
    expect(page.get_by_text("The credentials are hidden again.")).to_be_visible()
    expect(main).not_to_contain_text(DEMO_PASSWORD)
    check_page(page, "revealed-hidden-again-desktop")
    page.get_by_role("button", name="Back to the account").click()
    expect(page).to_have_url(re.compile(account_path + "$"))

    # a plain visit to the fragment, or to the reveal address, shows no secret
    page.goto(f"{account_path}/credentials/hidden")
    expect(page).to_have_url(re.compile(account_path + "$"))
    page.goto(f"{account_path}/credentials/reveal")
    expect(page.get_by_role("heading", level=1)).to_have_text("Reveal the credentials")

    # The audit trail has the reveal, by Tom Baker, with his reason (read as the trust's team)
    audit = httpx.get(urljoin(base_url, "/api/v1/audit/events"), params={"entity_id": account_id},
                      headers=api_token(c, "Alex Morgan"))
    assert audit.status_code == 200
    reveals = [e for e in audit.json()["items"] if e["type"] == "CredentialsRevealed"]
    assert [(e["actor"]["display_name"], e["actor"]["role"], e["reason"], e["data"]["version"])
            for e in reveals] == [("Tom Baker", "moderator", reason, 1)]
    assert DEMO_PASSWORD not in audit.text

    # Sam Patel runs the account: he may reveal too, at 390 px
    sign_in_found(phone, "Sam Patel")
    phone.goto(account_path)
    phone.get_by_role("button", name="Reveal the credentials").click()
    phone.get_by_label("Why do you need to see them?").fill("Post the sports day photos")
    phone.get_by_role("button", name="Reveal the credentials").click()
    expect(phone.locator("main")).to_contain_text(DEMO_PASSWORD)
    check_page(phone, "revealed-390")

    # The secret is in no GET page, no log line and nowhere in the database file (only its ciphertext is)
    assert len(pages_seen) > 5
    for url in pages_seen:
        again = page.request.get(url)
        assert DEMO_PASSWORD not in again.text() and "DEMO-2222" not in again.text(), url
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "/credentials/reveal" in logged  # the reveals were logged, as requests, without what they showed
    assert DEMO_PASSWORD not in logged and "DEMO-2222" not in logged
    for file in db_path.parent.glob(db_path.name + "*"):
        assert DEMO_PASSWORD.encode() not in file.read_bytes()


@web
def test_reveal_with_the_keyboard_alone(page: Page) -> None:
    page.goto("/auth/dev-login")
    focus_on(page, "Tom Baker")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/$"))
    focus_on(page, "Accounts")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Accounts")
    focus_on(page, "Facebook OakfieldPrimary")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Facebook OakfieldPrimary")
    focus_on(page, "Reveal the credentials")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Reveal the credentials")
    focus_on(page, "Why do you need to see them?")
    page.keyboard.type("Keyboard only: reset the profile picture")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Reveal the credentials")).to_be_focused()
    page.keyboard.press("Space")
    expect(page.locator("main")).to_contain_text(DEMO_PASSWORD)
    focus_on(page, "Hide the credentials")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Facebook OakfieldPrimary")
    expect(page.locator("main")).not_to_contain_text(DEMO_PASSWORD)


# ----- creating an account ----------------------------------------------------------------------------------


@web
def test_an_account_is_created_from_an_approved_application(page: Page, phone: Page) -> None:
    sign_in_as(page, "Tom Baker")
    page.goto("/accounts")
    page.get_by_role("button", name="Create an account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Create an account")
    card = page.locator(".govuk-summary-card").filter(has_text="Instagram oakfield_eco")
    expect(card).to_contain_text("Sam Patel, Tom Baker")
    check_page(page, "account-new-desktop")
    sign_in_as(phone, "Tom Baker")
    phone.goto("/accounts/new")
    check_page(phone, "account-new-390")

    card.get_by_role("link", name="Create the account (Instagram oakfield_eco)").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Instagram oakfield_eco")
    expect(page.get_by_label("Sam Patel")).to_be_checked()  # the applicant leads unless told otherwise
    check_page(page, "account-create-desktop")
    page.get_by_label("The account's web address (optional)").fill("http://instagram.com/oakfield_eco")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator(".govuk-error-summary").get_by_role("link")).to_have_text(
        ["Enter the account's web address, starting with https://"])
    expect(page.get_by_label("The account's web address (optional)")).to_have_value(
        "http://instagram.com/oakfield_eco")
    check_page(page, "account-create-error-desktop")
    phone.goto(page.url)
    check_page(phone, "account-create-390")

    page.get_by_label("Tom Baker").check()
    page.get_by_label("The account's web address (optional)").fill("https://www.instagram.com/oakfield_eco")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        "Account created: Instagram oakfield_eco")
    expect(page.get_by_role("heading", level=1)).to_have_text("Instagram oakfield_eco")
    expect(page.locator("main")).to_contain_text("No credentials are stored for this account yet.")
    expect(page.get_by_role("table", name="2 runners").get_by_role("row").filter(has_text="Tom Baker")
           ).to_contain_text("Lead")
    check_page(page, "account-created-desktop")
    created = page.url
    page.goto("/accounts/new")
    expect(page.get_by_text("No approved application is waiting for an account.")).to_be_visible()

    # Store the first credentials of the new account
    page.goto(created)
    page.get_by_role("button", name="Store the credentials").click()
    page.get_by_label("Sign-in name").fill("oakfield_eco")
    page.get_by_label("Password", exact=True).fill("Eco-club-2026!")
    page.get_by_role("button", name="Store the credentials").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("(version 1)")
    expect(page.locator("main")).to_contain_text("Version 1, stored")


# ----- runners, the lead, suspend and reinstate -------------------------------------------------------------


@web
def test_runners_and_the_lead_follow_the_policy(page: Page, phone: Page) -> None:
    sign_in_as(page, "Tom Baker")
    account_path = facebook_account(page)
    page.get_by_role("button", name="Add a runner").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Who will help run Facebook OakfieldPrimary?")
    expect(page.locator("main")).to_contain_text("Nobody else at the school can run the account at the moment")
    page.get_by_text("Why is someone not listed?").click()
    expect(page.locator("main")).to_contain_text("Lucy Ward: no social media training on record")
    expect(page.locator("main")).to_contain_text("Priya Shah: has not read policy 2025.2")
    check_page(page, "runner-add-none-eligible-desktop")

    page.goto(account_path)
    page.get_by_role("link", name="Remove Sam Patel").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Remove Sam Patel as a runner?")
    check_page(page, "runner-remove-desktop")
    page.get_by_role("button", name="Remove runner").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Runner removal refused")
    expect(summary).to_contain_text("an active account needs at least 2 runners with valid training; it would have 1 "
                                    "(Tom Baker)")
    check_page(page, "runner-remove-refused-desktop")
    sign_in_as(phone, "Tom Baker")
    phone.goto(page.url)
    check_page(phone, "runner-remove-390")

    page.goto(account_path)
    page.get_by_role("button", name="Hand the lead to someone else").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Who will lead the account instead of Grace Hill?")
    page.get_by_role("button", name="Hand over the lead").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Select who will lead the account")
    check_page(page, "lead-error-desktop")
    page.get_by_label("Sam Patel").check()
    page.get_by_role("button", name="Hand over the lead").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        "Sam Patel now leads Facebook OakfieldPrimary")
    page.get_by_role("link", name="Change the lead").click()
    page.get_by_label("Tom Baker").check()
    page.get_by_role("button", name="Hand over the lead").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        "Tom Baker now leads Facebook OakfieldPrimary")


@web
def test_suspend_and_reinstate_work_without_javascript(no_js_page: Page) -> None:
    page = no_js_page
    sign_in_as(page, "Tom Baker")
    account_path = facebook_account(page)
    page.get_by_role("link", name="Suspend the account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Suspend the account")
    page.get_by_role("button", name="Suspend account").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter the reason")
    expect(page).to_have_title(re.compile(r"^Error: Suspend the account"))
    check_page(page, "suspend-error-no-js", javascript=False)
    page.get_by_label("Reason").fill("A parent's complaint is being looked into")
    page.get_by_role("button", name="Suspend account").click()
    expect(page).to_have_url(re.compile(account_path + "$"))
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Account suspended: Facebook OakfieldPrimary")
    expect(page.locator("main")).to_contain_text("Suspended: A parent's complaint is being looked into")
    check_page(page, "account-suspended-no-js", javascript=False)
    page.get_by_role("link", name="Reinstate the account").click()
    page.get_by_role("button", name="Reinstate account").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Account reinstated")
    expect(page.get_by_role("link", name="Suspend the account")).to_be_visible()


@web
def test_the_suspend_and_close_forms_pass_axe(page: Page, phone: Page) -> None:
    sign_in_as(page, "Tom Baker")
    account_path = facebook_account(page)
    for change in ("suspend", "close"):
        page.goto(f"{account_path}/{change}")
        check_page(page, f"account-{change}-desktop")
        page.get_by_role("button", name=f"{change.capitalize()} account").click()
        expect(page.locator(".govuk-error-summary")).to_contain_text("Enter the reason")
        check_page(page, f"account-{change}-error-desktop")
    sign_in_as(phone, "Tom Baker")
    phone.goto(f"{account_path}/close")
    check_page(phone, "account-close-390")


# ----- who may do what --------------------------------------------------------------------------------------


@web
def test_each_role_sees_only_what_it_may_do(page: Page, base_url: str) -> None:
    sign_in_as(page, "Tom Baker")
    account_path = facebook_account(page)

    sign_in_as(page, "Priya Shah")  # leadership: may manage the account, not see or store its credentials
    page.goto(account_path)
    expect(page.get_by_role("button", name="Add a runner")).to_be_visible()
    expect(page.get_by_role("button", name="Reveal the credentials")).to_have_count(0)
    expect(page.get_by_role("button", name="Change the credentials")).to_have_count(0)
    check_page(page, "account-slt-desktop")
    response = page.goto(f"{account_path}/credentials")
    assert response is not None and response.status == 403
    expect(page.locator("main")).to_contain_text("you cannot store this account's credentials")
    check_page(page, "account-credentials-forbidden-desktop")

    sign_in_found(page, "Sam Patel")  # a runner: may check and reveal, nothing else
    page.goto(account_path)
    expect(page.get_by_role("button", name="Reveal the credentials")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Record"))).to_be_visible()
    expect(page.get_by_role("button", name="Add a runner")).to_have_count(0)
    expect(page.get_by_role("link", name="Suspend the account")).to_have_count(0)
    # colleagues' training is for those who manage staff: a runner sees their names only
    expect(page.get_by_role("columnheader", name="Social media training")).to_have_count(0)
    expect(page.locator("main").get_by_role("listitem").filter(has_text="Grace Hill")).to_contain_text("Lead")
    check_page(page, "account-runner-desktop")
    response = page.goto(f"{account_path}/suspend")
    assert response is not None and response.status == 403

    for outsider in ("Owen Price", "Alex Morgan"):
        sign_in_as(page, outsider)
        response = page.goto(f"{account_path}/credentials/reveal")
        assert response is not None and response.status in (403, 404)
    sign_in_as(page, "Owen Price")  # staff who does not run it: no such page
    response = page.goto(account_path)
    assert response is not None and response.status == 404

    sign_in_found(page, "Euan Fraser")  # another school's moderator
    for path in (account_path, "/handovers/" + "0" * 8 + "-0000-0000-0000-000000000000"):
        response = page.goto(path)
        assert response is not None and response.status == 404
    page.goto("/handovers")
    expect(page.get_by_text("No handover is waiting.")).to_be_visible()
    check_page(page, "handovers-empty-desktop")
