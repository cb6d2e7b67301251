"""Staff's compliance as a task list in a real browser (issue 22): read and acknowledge the current policy, record
training, declare personal social media accounts (with the policy's disclaimer question), each task's status;
every error named, what was typed kept, JavaScript off, 390 px, axe-core on every page state."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.web.conftest import check_page, sign_in_as, web
from tests.web.test_applications_journey import errors_are, summary


def task(page: Page, n: int) -> tuple[str, str]:
    """The n-th task's title and status, as shown."""
    item = page.locator(".govuk-task-list__item").nth(n)
    return (item.locator(".govuk-task-list__name-and-hint a, .govuk-task-list__name-and-hint > div").first
            .inner_text().strip(), item.locator(".govuk-task-list__status").inner_text().strip())


@web
def test_each_task_shows_its_status(page: Page, phone: Page) -> None:
    sign_in_as(page, "Owen Price")  # training expired, acknowledged only the earlier policy version
    page.get_by_role("link", name="My compliance").click()
    assert [task(page, i) for i in range(3)] == [
        ("Read and acknowledge the current policy", "Incomplete"),
        ("Record your training", "Incomplete"),
        ("Declare your personal social media accounts", "Cannot start yet")]
    expect(page.locator("#compliance-2-hint")).to_have_text(re.compile(r"^\s*Your training expired on \d+ \w+ \d{4}\s*$"))
    expect(page.locator(".govuk-task-list__item").nth(2).get_by_role("link")).to_have_count(0)
    check_page(page, "compliance-tasks-desktop")
    sign_in_as(phone, "Owen Price")
    phone.goto("/my/compliance")
    check_page(phone, "compliance-tasks-390")

    sign_in_as(page, "Tom Baker")  # trained, acknowledged 2025.2, nothing declared
    page.goto("/my/compliance")
    assert [task(page, i)[1] for i in range(3)] == ["Completed", "Completed", "Incomplete"]
    expect(page.locator("#compliance-1-hint")).to_have_text(re.compile(r"^\s*Version 2025\.2, acknowledged \d+ \w+ \d{4}\s*$"))
    page.get_by_role("link", name="Read and acknowledge the current policy").click()
    expect(page.locator("main")).to_contain_text(re.compile(r"You acknowledged version 2025\.2 on \d"))
    expect(page.get_by_role("button", name="Confirm")).to_have_count(0)
    check_page(page, "acknowledge-policy-done-desktop")


@web
def test_acknowledge_the_current_policy(page: Page, phone: Page) -> None:
    sign_in_as(page, "Owen Price")
    page.goto("/my/compliance")
    page.get_by_role("link", name="Read and acknowledge the current policy").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Read and acknowledge the social media policy")
    expect(page.locator(".govuk-summary-list")).to_contain_text("2025.2")
    check_page(page, "acknowledge-policy-desktop")
    sign_in_as(phone, "Owen Price")
    phone.goto("/my/compliance/policy")
    phone.get_by_role("button", name="Confirm").click()
    errors_are(phone, "Confirm that you have read and understood the policy")
    check_page(phone, "acknowledge-policy-errors-390")

    token = page.locator("input[name=csrf_token]").first.get_attribute("value") or ""
    stale = page.request.post("/my/compliance/policy", form={"csrf_token": token, "confirm": "yes",
                                                              "policy_version_id": "an-older-version"})
    assert stale.status == 400 and "A new version of the policy has been published" in stale.text()

    page.get_by_label("I have read and understood the social media policy, version 2025.2").check()
    page.get_by_role("button", name="Confirm").click()
    expect(page).to_have_url(re.compile(r"/my/compliance$"))
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("version 2025.2")
    assert task(page, 0)[1] == "Completed" and task(page, 2)[1] == "Incomplete"  # declaring can start now
    expect(page.locator(".app-timeline")).to_contain_text("Policy 2025.2 acknowledged")


@web
def test_declare_a_personal_account_that_names_the_school(page: Page, phone: Page) -> None:
    sign_in_as(page, "Tom Baker")
    page.goto("/my/compliance")
    page.get_by_role("link", name="Declare your personal social media accounts").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Declare a personal social media account")
    check_page(page, "declare-account-desktop")

    page.get_by_role("button", name="Continue").click()
    errors_are(page, "Select the platform", "Enter the account's name or handle",
               "Select yes if the account names or identifies the school")
    check_page(page, "declare-account-errors-desktop")
    summary(page).get_by_role("link", name="Select the platform").click()
    expect(page.get_by_label("Facebook")).to_be_focused()
    page.get_by_label("Instagram").check()
    page.get_by_label("The account's name or handle").fill("tom baker teaches")
    page.get_by_label("Yes", exact=True).check()
    page.get_by_role("button", name="Continue").click()
    errors_are(page, "The account's name or handle must not contain spaces")
    expect(page.get_by_label("The account's name or handle")).to_have_value("tom baker teaches")  # kept
    expect(page.get_by_label("Instagram")).to_be_checked()
    expect(page.get_by_label("Yes")).to_be_checked()
    sign_in_as(phone, "Tom Baker")
    phone.goto("/my/compliance/personal-accounts")
    phone.get_by_role("button", name="Continue").click()
    check_page(phone, "declare-account-errors-390")

    # it names the school: the disclaimer question, with the policy's words, on a page of its own
    page.get_by_label("The account's name or handle").fill("@tombaker_teaches")
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/my/compliance/personal-accounts/disclaimer$"))
    expect(page.locator(".govuk-caption-l")).to_have_text("Instagram @tombaker_teaches")
    expect(page.locator(".govuk-inset-text")).to_contain_text("you must make clear with an appropriate disclaimer")
    check_page(page, "declare-disclaimer-desktop")
    page.get_by_role("button", name="Declare account").click()
    errors_are(page, "Select yes if the profile says that your views are your own")
    check_page(page, "declare-disclaimer-errors-desktop")
    page.get_by_role("link", name="Back").click()  # the first page keeps its answers
    expect(page.get_by_label("The account's name or handle")).to_have_value("@tombaker_teaches")
    page.get_by_role("button", name="Continue").click()
    phone.goto("/my/compliance/personal-accounts/disclaimer")
    check_page(phone, "declare-disclaimer-390")
    page.get_by_label("No, not yet").check()
    page.get_by_role("button", name="Declare account").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        "Personal account declared: Instagram @tombaker_teaches. Add a disclaimer to its profile")
    assert task(page, 2) == ("Declare your personal social media accounts", "Completed")
    expect(page.locator("#compliance-3-hint")).to_have_text(re.compile(r"^\s*1 account declared; 1 needs a disclaimer\s*$"))
    expect(page.locator("main")).to_contain_text("Names the school, no disclaimer")
    check_page(page, "compliance-declared-desktop")
    phone.goto("/my/compliance")
    check_page(phone, "compliance-declared-390")
    phone.goto("/my/compliance/personal-accounts/disclaimer")  # used up: back to the start of the form
    expect(phone).to_have_url(re.compile(r"/my/compliance/personal-accounts$"))


@web
def test_declare_personal_accounts_without_javascript(no_js_page: Page) -> None:
    page = no_js_page
    sign_in_as(page, "Lucy Ward")
    page.goto("/my/compliance/personal-accounts")
    page.get_by_label("Another platform").check()
    page.get_by_label("The account's name or handle").fill("lucyward")
    page.get_by_label("No", exact=True).check()  # does not name the school: declared straight away
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        "Personal account declared: Another platform lucyward")
    expect(page.locator("main")).to_contain_text("Does not name the school")
    page.goto("/my/compliance/personal-accounts")
    page.get_by_label("Facebook").check()
    page.get_by_label("The account's name or handle").fill("lucy.ward.teacher")
    page.get_by_label("Yes", exact=True).check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Yes", exact=True).check()
    page.get_by_role("button", name="Declare account").click()
    expect(page.locator("main")).to_contain_text("Names the school, with a disclaimer")
    check_page(page, "compliance-declared-no-js", javascript=False)
