"""Account applications in a real browser (issue 22): a member of staff applies one question a page, naming a
runner who is not trained; the leadership's approval is refused naming that runner; the runner records training
and acknowledges the policy; the leadership approves; the applicant sees it approved. Bad input on every form,
the keyboard alone, JavaScript off, 390 px, and who may see and decide what. axe-core on every page state."""

from __future__ import annotations

import re
from datetime import date, timedelta

from playwright.sync_api import Locator, Page, expect

from tests.web.conftest import check_page, sign_in_as, web
from tests.web.test_shell import focus_on

TOO_LONG = "x" * 2001


def summary(page: Page) -> Locator:
    return page.locator(".govuk-error-summary")


def errors_are(page: Page, *messages: str) -> None:
    """The error summary lists exactly `messages`, and the title says there is an error."""
    expect(summary(page)).to_be_visible()
    expect(summary(page).locator("li")).to_have_text(list(messages))
    expect(page).to_have_title(re.compile(r"^Error: "))


def record_training(page: Page, course: str) -> None:
    """Fills in "Record your training" with a course done a few days ago, and sends it."""
    done = date.today() - timedelta(days=3)
    page.get_by_label("Course name").fill(course)
    page.get_by_label("Day").fill(str(done.day))
    page.get_by_label("Month").fill(str(done.month))
    page.get_by_label("Year").fill(str(done.year))
    page.get_by_role("button", name="Record training").click()


def continue_(page: Page) -> None:
    page.get_by_role("button", name="Continue").click()


def answer_text_question(page: Page, heading: str, missing: str, text: str, shot: str) -> None:
    """A text question: empty shows its error, too long keeps what was typed, then the answer."""
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    check_page(page, f"{shot}-desktop")
    continue_(page)
    errors_are(page, missing)
    box = page.get_by_label(heading)
    box.fill(TOO_LONG)
    continue_(page)
    errors_are(page, re.compile(r"must be 2000 characters or fewer"))
    expect(box).to_have_value(TOO_LONG)  # what was typed is kept
    check_page(page, f"{shot}-errors-desktop")
    summary(page).get_by_role("link").click()
    expect(box).to_be_focused()
    box.fill(text)
    continue_(page)


@web
def test_staff_apply_naming_an_untrained_runner_and_the_leadership_approves_once_they_are_ready(page: Page) -> None:
    # --- Lucy Ward (staff, no training, has not acknowledged the policy) applies
    sign_in_as(page, "Lucy Ward")
    page.get_by_role("link", name="Apply", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Apply for a school social media account")
    check_page(page, "apply-start-desktop")
    page.get_by_role("button", name="Start now").click()

    answer_text_question(page, "What is the aim of the account?", "Enter the aim of the account",
                         "Share the work of the Year 6 eco club", "apply-aim")
    answer_text_question(page, "Who is the account for?", "Enter who the account is for",
                         "Parents and carers of pupils in the eco club", "apply-audience")
    answer_text_question(page, "How will you promote the account?", "Enter how you will promote the account",
                         "The school newsletter", "apply-promotion")

    expect(page.get_by_role("heading", level=1)).to_have_text("Which platform, and what name?")
    handle = page.get_by_label("What name do you propose for the account?")
    handle.fill("eco club!")
    continue_(page)
    errors_are(page, "Select the platform the account will be on",
               "The proposed name must use only letters, numbers, underscores (_), full stops (.) and hyphens (-), "
               "with no spaces")
    expect(handle).to_have_value("eco club!")
    check_page(page, "apply-account-errors-desktop")
    page.get_by_label("Instagram").check()
    handle.fill("oakfield_eco")
    continue_(page)

    expect(page.get_by_role("heading", level=1)).to_have_text("Will the account be open or private?")
    continue_(page)
    errors_are(page, "Select whether the account will be open or private")
    check_page(page, "apply-visibility-errors-desktop")
    page.get_by_label("Private or closed").check()
    continue_(page)

    expect(page.get_by_role("heading", level=1)).to_have_text("Who will run the account?")
    lucy = page.get_by_label("Lucy Ward (you)")
    expect(page.locator(".govuk-checkboxes__item", has=lucy)).to_contain_text(
        "Not eligible yet No training recorded. Has not acknowledged the current policy 2025.2")
    tom = page.locator(".govuk-checkboxes__item", has_text="Tom Baker")
    expect(tom).to_contain_text(re.compile(r"Eligible Trained until \d+ \w+ \d{4} and acknowledged 2025\.2"))
    expect(page.locator(".govuk-checkboxes__item", has_text="Owen Price")).to_contain_text(
        re.compile(r"Training expired \d+ \w+ \d{4}\. Has not acknowledged the current policy 2025\.2 "
                   r"\(acknowledged 2025\.1\)"))
    check_page(page, "apply-runners-desktop")
    lucy.check()
    continue_(page)
    errors_are(page, "Select at least 2 people to run the account")
    expect(page.get_by_label("Lucy Ward (you)")).to_be_checked()  # kept
    check_page(page, "apply-runners-errors-desktop")
    page.get_by_label("Tom Baker").check()
    continue_(page)

    # --- check answers, change one, send
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your answers before sending your application")
    answers = page.locator(".govuk-summary-list")
    expect(answers).to_contain_text("Share the work of the Year 6 eco club")
    expect(answers).to_contain_text("Private or closed")
    expect(answers).to_contain_text("oakfield_eco")
    check_page(page, "apply-check-desktop")
    page.get_by_role("link", name="Change the aim").click()
    expect(page.get_by_label("What is the aim of the account?")).to_have_value("Share the work of the Year 6 eco club")
    page.get_by_label("What is the aim of the account?").fill("Share the work of the eco club")
    continue_(page)
    expect(page).to_have_url(re.compile(r"/applications/new/check$"))  # straight back to check answers
    expect(answers).to_contain_text("Share the work of the eco club")
    page.go_back()  # Back keeps the answers
    expect(page.get_by_label("What is the aim of the account?")).to_have_value("Share the work of the eco club")
    page.go_forward()
    page.get_by_role("button", name="Send application").click()

    expect(page.locator(".govuk-panel")).to_contain_text("Application sent")
    reference = page.locator(".govuk-panel strong").inner_text()
    assert re.fullmatch(r"[0-9A-F]{4}-[0-9A-F]{4}", reference)
    expect(page.locator("main")).to_contain_text("Lucy Ward: No training recorded. Has not acknowledged the current "
                                                 "policy 2025.2")
    check_page(page, "apply-sent-desktop")
    page.get_by_role("link", name="View your applications").last.click()
    card = page.locator(".govuk-summary-card", has_text=reference)
    expect(card).to_contain_text("Instagram: oakfield_eco")
    expect(card).to_contain_text("Awaiting decision")
    check_page(page, "my-applications-desktop")
    application_url = card.get_by_role("link", name=re.compile("^View")).get_attribute("href")
    assert application_url

    # --- Priya Shah (SLT) finds it in the queue; approval is refused, naming Lucy Ward
    sign_in_as(page, "Priya Shah")
    page.get_by_role("link", name="Applications", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Applications for school accounts")
    row = page.locator("tr", has_text=reference)
    expect(row).to_contain_text("Lucy Ward")
    expect(row).to_contain_text(re.compile(r"Waiting \d+ (hours?|days)"))
    names = page.locator("tbody tr td:first-child a").all_inner_texts()
    assert names[0] == "Facebook: FriendsOfOakfield" and names[-1] == "Instagram: oakfield_eco"  # oldest first
    check_page(page, "applications-queue-desktop")
    row.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Instagram account oakfield_eco")
    lucy_card = page.locator(".govuk-summary-card", has_text="Lucy Ward")
    expect(lucy_card).to_contain_text("Not yet")
    expect(lucy_card).to_contain_text("Not recorded")
    expect(lucy_card).to_contain_text("Not acknowledged 2025.2")
    expect(page.locator(".govuk-summary-card", has_text="Tom Baker")).to_contain_text("Acknowledged 2025.2")
    check_page(page, "application-desktop")

    page.get_by_role("button", name="Save decision").click()
    errors_are(page, "Select whether to approve or reject the application")
    page.get_by_label("Reject").check()
    page.get_by_role("button", name="Save decision").click()
    errors_are(page, "Enter the reason for rejecting the application")
    expect(page.get_by_label("Reject")).to_be_checked()
    check_page(page, "application-decision-errors-desktop")
    page.get_by_label("Approve").check()
    page.get_by_label("Reason for your decision").fill("Good case")
    page.get_by_role("button", name="Save decision").click()
    errors_are(page, "This application cannot be approved yet",
               "Lucy Ward has not acknowledged the current policy (2025.2)",
               "Lucy Ward has no social media training on record")
    expect(page.get_by_label("Reason for your decision")).to_have_value("Good case")
    check_page(page, "application-approval-refused-desktop")

    # --- Lucy records her training and acknowledges the policy
    sign_in_as(page, "Lucy Ward")
    page.get_by_role("link", name="My compliance").click()
    tasks = page.locator(".govuk-task-list")
    expect(tasks.locator("li").nth(0)).to_contain_text("Incomplete")
    expect(tasks.locator("li").nth(2)).to_contain_text("Cannot start yet")
    page.get_by_role("link", name="Record your training").click()
    record_training(page, "Safe social media for school staff")
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Training recorded")
    page.get_by_role("link", name="Read and acknowledge the current policy").click()
    expect(page.locator(".govuk-summary-list")).to_contain_text("2025.2")
    expect(page.locator(".govuk-summary-list")).to_contain_text("Adds the rules on tagging pupils in images")
    page.get_by_role("button", name="Confirm").click()
    errors_are(page, "Confirm that you have read and understood the policy")
    check_page(page, "acknowledge-policy-errors-desktop")
    page.get_by_label("I have read and understood the social media policy, version 2025.2").check()
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        "You have acknowledged the social media policy, version 2025.2")
    expect(tasks.locator("li").nth(0)).to_contain_text("Completed")
    expect(tasks.locator("li").nth(1)).to_contain_text("Completed")
    check_page(page, "my-compliance-tasks-done-desktop")

    # --- Priya approves
    sign_in_as(page, "Priya Shah")
    page.goto(application_url)
    expect(page.locator(".govuk-summary-card", has_text="Lucy Ward")).to_contain_text("Yes")
    page.get_by_label("Approve").check()
    page.get_by_role("button", name="Save decision").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(f"Application {reference} approved")
    expect(page.locator("main")).to_contain_text("Approved")
    expect(page.get_by_role("button", name="Save decision")).to_have_count(0)
    check_page(page, "application-approved-desktop")

    # --- Lucy sees it approved
    sign_in_as(page, "Lucy Ward")
    page.get_by_role("link", name="View your applications").click()  # from home
    expect(page.locator(".govuk-summary-card", has_text=reference)).to_contain_text("Approved")
    check_page(page, "my-applications-approved-desktop")


def sign_in_found(page: Page, query: str, name: str) -> None:
    """Signs in as someone who is not among the picker's named personas (found by search)."""
    page.goto(f"/auth/dev-login?q={query}")
    page.locator(".app-persona-list").last.get_by_role("button", name=name, exact=True).click()
    expect(page.locator("header")).to_contain_text(f"Signed in as {name}")


def apply_for(page: Page, aim: str, platform: str, handle: str, runners: list[str],
              visibility: str = "Open") -> str:
    """Goes through "Apply for a school account" with good answers and sends it; returns the reference."""
    page.goto("/applications/new/aim")
    for label, text in (("What is the aim of the account?", aim), ("Who is the account for?", "Parents and carers"),
                        ("How will you promote the account?", "The newsletter")):
        page.get_by_label(label).fill(text)
        continue_(page)
    page.get_by_label(platform, exact=True).check()
    page.get_by_label("What name do you propose for the account?").fill(handle)
    continue_(page)
    page.get_by_label(visibility, exact=True).check()
    continue_(page)
    for name in runners:
        page.get_by_label(re.compile(rf"^\s*{name}( \(you\))?\s*$")).check()
    continue_(page)
    page.get_by_role("button", name="Send application").click()
    expect(page.locator(".govuk-panel")).to_contain_text("Application sent")
    return page.locator(".govuk-panel strong").inner_text()


@web
def test_every_page_and_its_errors_at_390px(phone: Page) -> None:
    page = phone
    sign_in_as(page, "Owen Price")
    page.goto("/applications/new")
    check_page(page, "apply-start-390")
    page.get_by_role("button", name="Start now").click()
    continue_(page)
    errors_are(page, "Enter the aim of the account")
    check_page(page, "apply-aim-errors-390")
    page.get_by_label("What is the aim of the account?").fill("Match reports from the football club")
    continue_(page)
    page.get_by_label("Who is the account for?").fill("Families of the football club")
    continue_(page)
    page.get_by_label("How will you promote the account?").fill("Notices at matches")
    continue_(page)
    page.get_by_label("What name do you propose for the account?").fill("no spaces please")
    continue_(page)
    check_page(page, "apply-account-errors-390")
    page.get_by_label("Facebook").check()
    page.get_by_label("What name do you propose for the account?").fill("OakfieldFootball")
    continue_(page)
    page.get_by_label("Open", exact=True).check()
    continue_(page)
    continue_(page)
    errors_are(page, "Select at least 2 people to run the account")
    check_page(page, "apply-runners-errors-390")
    page.get_by_label("Owen Price (you)").check()
    page.get_by_label("Sam Patel").check()
    continue_(page)
    check_page(page, "apply-check-390")
    page.get_by_role("button", name="Send application").click()
    reference = page.locator(".govuk-panel strong").inner_text()
    check_page(page, "apply-sent-390")
    page.get_by_role("link", name="View your applications").last.click()
    check_page(page, "my-applications-390")

    sign_in_as(page, "Priya Shah")
    page.goto("/applications")
    check_page(page, "applications-queue-390")
    page.locator("tr", has_text=reference).get_by_role("link").click()
    expect(page.locator(".govuk-summary-card", has_text="Owen Price")).to_contain_text(re.compile(r"Expired \d"))
    check_page(page, "application-390")
    page.get_by_label("Approve").check()
    page.get_by_role("button", name="Save decision").click()
    errors_are(page, "This application cannot be approved yet",
               "Owen Price has not acknowledged the current policy (2025.2)",
               re.compile(r"Owen Price's social media training expired on \d{1,2} [A-Z][a-z]+ \d{4}\s*$"))
    check_page(page, "application-approval-refused-390")
    page.get_by_label("Reject").check()
    page.get_by_label("Reason for your decision").fill("We already post match reports on the school page")
    page.get_by_role("button", name="Save decision").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(f"Application {reference} rejected")
    check_page(page, "application-rejected-390")
    page.locator(".govuk-summary-card", has_text="Sam Patel").get_by_role("link", name="View compliance").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Compliance")
    expect(page.locator(".govuk-caption-l")).to_have_text("Sam Patel")

    sign_in_as(page, "Owen Price")
    page.goto("/applications/mine")
    card = page.locator(".govuk-summary-card", has_text=reference)
    expect(card).to_contain_text("Rejected")
    expect(card).to_contain_text("We already post match reports on the school page")
    expect(card.get_by_role("link", name=re.compile("^Withdraw"))).to_have_count(0)


@web
def test_apply_with_the_keyboard_alone(page: Page) -> None:
    page.goto("/auth/dev-login")
    focus_on(page, "Tom Baker")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/$"))
    page.goto("/applications/new")
    focus_on(page, "Start now")
    page.keyboard.press("Enter")
    for heading, text in (("What is the aim of the account?", "Share the choir's concerts"),
                          ("Who is the account for?", "Families and the local community"),
                          ("How will you promote the account?", "Programmes at concerts")):
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        focus_on(page, heading)
        page.keyboard.type(text)
        focus_on(page, "Continue")
        page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Which platform, and what name?")
    focus_on(page, "Facebook")
    page.keyboard.press("ArrowDown")  # arrow keys move through a group of radios and choose
    expect(page.get_by_label("Instagram")).to_be_checked()
    focus_on(page, "What name do you propose for the account?")
    page.keyboard.type("oakfield_choir")
    page.keyboard.press("Enter")  # Enter in a text box sends the form
    expect(page.get_by_role("heading", level=1)).to_have_text("Will the account be open or private?")
    focus_on(page, "Open")
    page.keyboard.press("Space")
    focus_on(page, "Continue")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Who will run the account?")
    focus_on(page, "Tom Baker (you)")
    page.keyboard.press("Space")
    focus_on(page, "Continue")
    page.keyboard.press("Enter")
    errors_are(page, "Select at least 2 people to run the account")
    expect(summary(page)).to_be_focused()  # the error summary takes focus; its link goes to the checkboxes
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_label("Lucy Ward")).to_be_focused()
    focus_on(page, "Sam Patel")
    page.keyboard.press("Space")
    focus_on(page, "Continue")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your answers before sending your application")
    focus_on(page, "Send application")
    page.keyboard.press("Enter")
    expect(page.locator(".govuk-panel")).to_contain_text("Application sent")
    expect(page.locator("main")).to_contain_text("Everyone you named to run the account has acknowledged the current "
                                                 "policy and holds valid social media training")


@web
def test_apply_with_javascript_off(no_js_page: Page) -> None:
    page = no_js_page
    sign_in_found(page, "isla", "Isla Ross")
    page.goto("/applications/new")
    page.get_by_role("button", name="Start now").click()
    continue_(page)
    expect(summary(page)).to_contain_text("Enter the aim of the account")
    check_page(page, "apply-aim-errors-no-js", javascript=False)
    page.get_by_label("What is the aim of the account?").fill("Glenmore science club news")
    continue_(page)
    page.get_by_label("Who is the account for?").fill("Pupils' families")
    continue_(page)
    page.get_by_label("How will you promote the account?").fill("Assemblies")
    continue_(page)
    page.get_by_label("Bluesky").check()
    page.get_by_label("What name do you propose for the account?").fill("glenmore.science")
    continue_(page)
    page.get_by_label("Private or closed").check()
    continue_(page)
    expect(page.get_by_label("Tom Baker")).to_have_count(0)  # Oakfield's people are not Glenmore's
    page.get_by_label("Isla Ross (you)").check()
    page.get_by_label("Euan Fraser").check()
    continue_(page)
    check_page(page, "apply-check-no-js", javascript=False)
    page.get_by_role("button", name="Send application").click()
    expect(page.locator(".govuk-panel")).to_contain_text("Application sent")
    check_page(page, "apply-sent-no-js", javascript=False)
    page.get_by_role("link", name="View your applications").last.click()
    expect(page.locator(".govuk-summary-card", has_text="glenmore.science")).to_contain_text("Awaiting decision")


@web
def test_withdraw_an_application_with_a_reason(page: Page, phone: Page) -> None:
    sign_in_as(page, "Lucy Ward")
    reference = apply_for(page, "Year 2 class blog", "Threads", "oakfield_year2", ["Lucy Ward", "Tom Baker"])
    page.goto("/applications/mine")
    page.locator(".govuk-summary-card", has_text=reference).get_by_role("link", name=re.compile("^Withdraw")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Withdraw your application for the Threads account oakfield_year2")
    check_page(page, "withdraw-desktop")
    reason = page.get_by_label("Why are you withdrawing it? (optional)")
    reason.fill("y" * 1001)
    page.get_by_role("button", name="Withdraw application").click()
    errors_are(page, "Your reason must be 1000 characters or fewer")
    expect(reason).to_have_value("y" * 1001)
    check_page(page, "withdraw-errors-desktop")
    sign_in_as(phone, "Lucy Ward")
    phone.goto(page.url)
    check_page(phone, "withdraw-390")
    reason.fill("The class teacher will use the school page")
    page.get_by_role("button", name="Withdraw application").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(f"Application {reference} withdrawn")
    card = page.locator(".govuk-summary-card", has_text=reference)
    expect(card).to_contain_text("Withdrawn")
    expect(card).to_contain_text("The class teacher will use the school page")
    back = page.request.post(f"{card.get_by_role('link', name=re.compile('^View')).get_attribute('href')}/withdraw",
                             form={"csrf_token": page.locator("input[name=csrf_token]").first.get_attribute("value")
                                   or "", "reason": ""})
    assert back.status == 400 and "cannot withdraw an application that is withdrawn" in back.text()


@web
def test_the_queue_filters_by_status_oldest_first(page: Page) -> None:
    sign_in_as(page, "Priya Shah")
    page.goto("/applications")
    page.get_by_label("Show").select_option(label="Rejected")
    page.get_by_role("button", name="Show applications").click()
    expect(page).to_have_url(re.compile(r"/applications\?status=rejected$"))
    expect(page.locator("tbody")).to_contain_text("TikTok: oakfield_sport")
    expect(page.locator("tbody")).not_to_contain_text("Awaiting decision")
    expect(page.locator("tbody")).to_contain_text(re.compile(r"Decided \d"))
    check_page(page, "applications-queue-rejected-desktop")
    page.get_by_label("Show").select_option(label="All applications")
    page.get_by_role("button", name="Show applications").click()
    expect(page.locator("tbody tr")).not_to_have_count(0)
    expect(page.locator("tbody tr").first).to_contain_text("Facebook: OakfieldPrimary")  # the oldest


@web
def test_who_may_see_and_decide_what(page: Page, base_url: str) -> None:
    sign_in_as(page, "Morag Campbell")  # executive head: Glenmore is her first school
    page.goto("/applications")
    glenmore = page.locator("tr", has_text="glenmore_arts").get_by_role("link").get_attribute("href")
    assert glenmore
    sign_in_as(page, "Priya Shah")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value") or ""
    response = page.goto(glenmore)  # another school's application
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    for path in ("/sent", "/withdraw"):
        again = page.goto(glenmore + path)
        assert again is not None and again.status == 404
    assert page.request.post(glenmore + "/decision", form={"csrf_token": token, "decision": "approve"}).status == 404

    # the applicant cannot approve their own: Priya applies, sees no decision form, and a forged one is refused
    reference = apply_for(page, "Head's blog for families", "LinkedIn", "oakfield_head", ["Tom Baker", "Sam Patel"])
    page.get_by_role("link", name="View your applications").last.click()
    own = page.locator(".govuk-summary-card", has_text=reference).get_by_role("link", name=re.compile("^View"))
    own.click()
    expect(page.get_by_role("button", name="Save decision")).to_have_count(0)
    expect(page.locator(".govuk-inset-text")).to_contain_text("You made this application")
    refused = page.request.post(page.url + "/decision", form={"csrf_token": token, "decision": "approve"})
    assert refused.status == 400 and "The applicant cannot approve their own application" in refused.text()

    # staff see their own applications, not the queue, and not an application they have no part in
    sign_in_as(page, "Lucy Ward")
    page.goto("/applications")
    expect(page).to_have_url(re.compile(r"/applications/mine$"))
    sign_in_as(page, "Priya Shah")
    page.goto("/applications")
    friends = page.locator("tr", has_text="FriendsOfOakfield").get_by_role("link").get_attribute("href")
    sign_in_as(page, "Lucy Ward")
    response = page.goto(f"{friends}")
    assert response is not None and response.status == 404
    response = page.goto(f"{friends}/withdraw")
    assert response is not None and response.status == 404
    sign_in_found(page, "sam", "Sam Patel")  # the applicant: sees it, may withdraw, may not decide
    page.goto(f"{friends}")
    expect(page.get_by_role("link", name="Withdraw this application")).to_be_visible()
    sign_in_as(page, "Tom Baker")  # a moderator reads applications but does not decide them
    page.goto(f"{friends}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Facebook account FriendsOfOakfield")
    expect(page.get_by_role("button", name="Save decision")).to_have_count(0)
    token = page.locator("input[name=csrf_token]").first.get_attribute("value") or ""
    assert page.request.post(f"{friends}/decision", form={"csrf_token": token, "decision": "approve"}).status == 403
