"""Posts in a real browser (issue 24): a runner writes a post and sees the policy's checks as they type (htmx),
saves it, and records it as published; a controversial post waits for a leader who is not its author; a parent's
take-down request reaches the moderator, who records the removal with what the audience was told; compose works
with JavaScript off (the "Check" button); a leader approves with the keyboard alone. Every page state is checked
with axe-core, at 1280 px and at 390 px.

Each test has its own server on a fresh demo trust: they change what the others would see."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from api.container import Container
from api.demo import seed_demo
from infra.settings import Settings
from tests.web.conftest import check_page, serve, sign_in_as, sign_out, web
from tests.web.test_accounts_journey import sign_in_found
from tests.web.test_shell import focus_on

PUBLISHED = "https://www.facebook.com/OakfieldPrimary/posts/2001"


@pytest.fixture
def base_url(tmp_path: Path) -> Iterator[str]:
    c = Container(Settings(database_url=f"sqlite:///{tmp_path / 'socialgov.db'}"))
    seed_demo(c)
    try:
        yield from serve(c)
    finally:
        c.close()


def open_compose(page: Page) -> None:
    """From Home: the account the person runs, its posts, "Write a post"."""
    page.get_by_role("link", name="Posts of Facebook OakfieldPrimary").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Posts")
    page.get_by_role("button", name="Write a post").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Write a post")


def notice(page: Page, text: str) -> None:
    expect(page.locator(".govuk-notification-banner")).to_contain_text(text)


@web
def test_a_runner_sees_the_checks_as_they_type_then_records_the_post_as_published(page: Page) -> None:
    sign_in_found(page, "Sam Patel")
    page.get_by_role("link", name="Posts of Facebook OakfieldPrimary").click()
    expect(page.locator("table")).to_contain_text("Sports day is on Friday")
    check_page(page, "posts-history")
    page.get_by_role("button", name="Write a post").click()
    check_page(page, "posts-compose")
    checks = page.locator("#checks-result")
    text = page.get_by_label("Text of the post")
    text.fill("Well done Cara L. for her reading award! Questions? Text me on 07700 900123")
    expect(checks).to_contain_text("A phone number (07700 900123) is personal contact details")
    expect(checks).to_contain_text("Cara L. may be Cara Lee, who is on the no-publish list")
    expect(checks).to_contain_text("Policy: Ensure that they never disclose personal contact details.")
    check_page(page, "posts-compose-findings")
    text.fill("Year 5 planted the new school garden today. Thank you to every helper!\n- Sam")
    expect(checks).to_contain_text("No problems found")
    page.get_by_role("button", name="Save draft").click()
    notice(page, "Draft saved and checked")
    expect(page.get_by_role("heading", level=1)).to_have_text("Post by Sam Patel")
    check_page(page, "posts-post-draft")
    page.get_by_role("button", name="Record as published").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter the address of the published post")
    check_page(page, "posts-publish-error")
    page.get_by_label("Address of the published post").fill(PUBLISHED)
    page.get_by_role("button", name="Record as published").click()
    notice(page, "Recorded as published")
    expect(page.get_by_role("link", name=PUBLISHED)).to_be_visible()
    check_page(page, "posts-post-published")


@web
def test_a_controversial_post_waits_for_a_leader_who_is_not_its_author(page: Page) -> None:
    sign_in_found(page, "Sam Patel")
    open_compose(page)
    page.get_by_label("Text of the post").fill("Our view on the proposed changes to the school day.\n- Sam")
    page.get_by_label("This post may have controversial implications for the school").check()
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator("main")).to_contain_text("Needs a leader's approval")
    expect(page.get_by_role("button", name="Record as published")).to_have_count(0)
    page.get_by_role("button", name="Send for approval").click()
    notice(page, "Sent to a leader for approval")
    check_page(page, "posts-post-awaiting")
    sign_out(page)
    sign_in_as(page, "Priya Shah")
    expect(page.locator("main")).to_contain_text("Posts awaiting approval")
    page.get_by_role("link", name="Post approvals").click()
    check_page(page, "posts-approvals")
    page.locator("#for-you").get_by_role("link", name=re.compile("Our view on the proposed")).click()
    page.get_by_role("button", name="Approve the post").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Say why the post may go out")
    check_page(page, "posts-approve-error")
    page.get_by_label("Why it may go out").fill("Balanced and factual; the consultation is public")
    page.get_by_role("button", name="Approve the post").click()
    notice(page, "Post approved")
    expect(page.locator("main")).to_contain_text("Approved by Priya Shah")


@web
def test_a_takedown_request_reaches_the_moderator_who_records_the_removal(phone: Page) -> None:
    page = phone
    sign_in_as(page, "Tom Baker")
    expect(page.locator("main")).to_contain_text("Parents' take-down requests")
    check_page(page, "posts-home-moderator-phone")
    page.goto("/posts/takedowns")
    expect(page.locator("main")).to_contain_text("Her daughter is in the background of the class photo")
    check_page(page, "posts-takedowns-phone")
    page.get_by_role("link", name=re.compile("Mrs Lee")).click()
    page.get_by_role("button", name="Record as removed").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Say what the audience was told")
    check_page(page, "posts-remove-error-phone")
    page.get_by_label("Why it was removed").fill("A parent asked: her daughter is in the photo")
    page.get_by_label("What the audience was told").fill("We have removed this post at a family's request.")
    page.get_by_role("button", name="Record as removed").click()
    notice(page, "Recorded as removed")
    expect(page.locator("main")).to_contain_text("We have removed this post at a family's request.")
    check_page(page, "posts-post-removed-phone")
    page.goto("/posts/takedowns")
    expect(page.locator("main")).to_contain_text("No take-down request is open")
    page.goto("/")
    open_compose(page)
    page.get_by_label("Text of the post").fill("Our Ofsted report is out: read it at https://example.com/report")
    expect(page.locator("#checks-result")).to_contain_text("Needs a leader's approval")
    expect(page.locator("#checks-result")).to_contain_text(
        "The link https://example.com/report is not on the trust's list")
    check_page(page, "posts-compose-findings-phone")


@web
def test_compose_checks_and_saves_without_javascript(no_js_page: Page) -> None:
    page = no_js_page
    sign_in_found(page, "Sam Patel")
    open_compose(page)
    page.get_by_label("Text of the post").fill("Send your photos to sam.patel@gmail.com")
    page.get_by_role("button", name="Check").click()
    expect(page.locator("#checks-result")).to_contain_text("An e-mail address (sam.patel@gmail.com)")
    expect(page.get_by_label("Text of the post")).to_have_value("Send your photos to sam.patel@gmail.com")
    check_page(page, "posts-compose-nojs", javascript=False)
    page.get_by_role("button", name="Save draft").click()
    notice(page, "Draft saved and checked")
    expect(page.locator("main")).to_contain_text("This post cannot go out until what the checks found is put right")
    page.get_by_role("link", name=re.compile("Change the post")).click()
    expect(page.get_by_label("Text of the post")).to_have_value("Send your photos to sam.patel@gmail.com")
    check_page(page, "posts-edit-nojs", javascript=False)
    page.get_by_label("Text of the post").fill("Send your photos to the school office")
    page.get_by_role("button", name="Save draft").click()
    notice(page, "Draft updated and checked again")
    expect(page.locator("main")).to_contain_text("No problems found")
    expect(page.get_by_role("button", name="Record as published")).to_be_visible()


@web
def test_a_leader_approves_with_the_keyboard_alone(page: Page) -> None:
    sign_in_as(page, "Priya Shah")
    page.goto("/posts/approvals")
    for _ in range(40):  # the post's link in the queue: its text, shortened
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.innerText || ''").startswith("Our consultation"):
            break
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Post by Sam Patel")
    focus_on(page, "Why it may go out")
    page.keyboard.type("The consultation is public and the wording is neutral")
    focus_on(page, "Approve the post")
    page.keyboard.press("Enter")
    notice(page, "Post approved")
    check_page(page, "posts-approved-keyboard")


@web
def test_a_moderator_sets_the_accounts_posting_rules_and_the_checks_follow_them(page: Page) -> None:
    sign_in_as(page, "Tom Baker")
    page.goto("/accounts")
    page.get_by_role("link", name="Facebook OakfieldPrimary").click()
    page.get_by_role("link", name="change the posting rules").click()
    check_page(page, "posts-rules")
    page.get_by_label("Every post must end by saying who is posting").check()
    page.get_by_label("First approver").select_option(label="Priya Shah")
    page.get_by_label("Second approver").select_option(label="Priya Shah")
    page.get_by_role("button", name="Save the rules").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Choose each approver once")
    check_page(page, "posts-rules-error")
    page.get_by_label("Second approver").select_option(label="No one")
    page.get_by_role("button", name="Save the rules").click()
    notice(page, "Posting rules saved")
    sign_out(page)
    sign_in_found(page, "Sam Patel")
    open_compose(page)
    page.get_by_label("Text of the post").fill("Lovely assembly today")
    expect(page.locator("#checks-result")).to_contain_text("This account asks every post to say who is posting")
    page.get_by_label("Text of the post").fill("Lovely assembly today\n- Sam")
    expect(page.locator("#checks-result")).to_contain_text("No problems found")
    page.get_by_role("button", name="Save draft").click()
    page.get_by_role("button", name="Send for approval").click()
    notice(page, "Sent to a leader for approval")
    expect(page.locator("main")).to_contain_text("It waits for the account's approvers, in order")
