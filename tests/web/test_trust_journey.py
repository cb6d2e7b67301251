"""The trust's central team in a real browser, as Alex Morgan (the demo trust's admin) works: the overview with the
red flags first, sorted and filtered by plain links, a breach found and followed down to the interaction; the
trust's settings changed, with the error state on the way. Every page state is checked with axe-core at 1280 px
and at 390 px.

Each test has its own server on a fresh demo trust: some change what the others would see."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from api.container import Container
from api.demo import seed_demo
from domain.values import Role
from infra.settings import Settings
from services import queries
from services import readmodel as rm
from services.directory import system_actor
from services.identity import principal_for_person
from tests.web.conftest import check_page, serve, sign_in_as, web
from tests.web.test_shell import focus_on


@pytest.fixture
def base_url(tmp_path: Path) -> Iterator[str]:
    """The demo trust, plus Dana Okafor: staff at Oakfield and the trust's data protection officer."""
    c = Container(Settings(database_url=f"sqlite:///{tmp_path / 'socialgov.db'}"))
    seed_demo(c)
    with c.engine.connect() as conn:
        alex_id = conn.execute(select(rm.people.c.id).where(rm.people.c.display_name == "Alex Morgan")).scalar_one()
    alex = principal_for_person(c.engine, alex_id, "test")
    assert alex is not None
    oakfield = next(s["id"] for s in queries.list_schools(c.engine, alex) if s["name"].startswith("Oakfield"))
    dana = c.directory.add_staff(alex, oakfield, "Dana Okafor", "dana.okafor@oakfield.example", ["staff"]).person_id
    c.directory.assign_trust_role(dana, Role.DPO, system_actor("test"))
    try:
        yield from serve(c)
    finally:
        c.close()


def schools_in_table(page: Page) -> list[str]:
    return [t.strip() for t in page.locator("#schools-table tbody th").all_inner_texts()]


@web
def test_admin_finds_a_breach_and_drills_down_to_the_interaction(page: Page, phone: Page) -> None:
    sign_in_as(page, "Alex Morgan")
    page.get_by_role("link", name="Trust overview").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Trust overview")
    check_page(page, "trust-overview")
    # red flags first: Oakfield has the overdue replies and the incident awaiting assessment
    assert schools_in_table(page)[0] == "Oakfield Primary School"
    oakfield = page.locator("#schools-table tbody tr").first
    overdue = int(oakfield.locator("td").nth(1).inner_text())
    assert overdue > 0
    # every chart has its data table
    for chart in ("chart-sla", "chart-breaches", "chart-training", "chart-incidents"):
        expect(page.locator(f"#{chart}-data tbody tr")).to_have_count(8)
    # sorting by name is a plain link; sorting it again reverses it
    page.locator("#schools-table thead").get_by_role("link", name=re.compile("^School")).click()
    assert schools_in_table(page) == ["Glenmore High School", "Lough View College", "Oakfield Primary School"]
    expect(page.locator("#schools-table th[aria-sort]")).to_have_attribute("aria-sort", "ascending")
    page.locator("#schools-table thead").get_by_role("link", name=re.compile("^School")).click()
    assert schools_in_table(page) == ["Oakfield Primary School", "Lough View College", "Glenmore High School"]
    # filtered by name, and to schools with red flags only (a GET form)
    page.get_by_label("School name").fill("glen")
    page.get_by_role("button", name="Show schools").click()
    assert schools_in_table(page) == ["Glenmore High School"]
    assert "q=glen" in page.url
    page.get_by_label("School name").fill("")
    page.get_by_label("Show").select_option("flagged")
    page.get_by_role("button", name="Show schools").click()
    assert "Oakfield Primary School" in schools_in_table(page)
    check_page(page, "trust-overview-flagged")

    # drill down into Oakfield, to its overdue replies
    page.get_by_role("link", name="Oakfield Primary School").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Oakfield Primary School")
    links = page.locator("#overdue-table tbody a")
    expect(links).to_have_count(overdue)
    href = links.first.get_attribute("href") or ""
    assert re.fullmatch(r"/inbox/[0-9a-f-]{36}", href), href
    check_page(page, "trust-school")

    sign_in_as(phone, "Alex Morgan")
    phone.goto("/trust")
    check_page(phone, "trust-overview-390")
    phone.get_by_role("link", name="Oakfield Primary School").click()
    check_page(phone, "trust-school-390")


@web
def test_overview_is_for_the_trust_team_only(page: Page) -> None:
    sign_in_as(page, "Tom Baker")
    expect(page.get_by_role("link", name="Trust overview")).to_have_count(0)
    response = page.goto("/trust")
    assert response is not None and response.status == 404
    response = page.goto("/trust/settings")
    assert response is not None and response.status == 404


@web
def test_admin_changes_the_settings_after_an_error(page: Page, phone: Page) -> None:
    sign_in_as(page, "Alex Morgan")
    page.get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Trust settings")
    expect(page.get_by_label("Reply within (hours)")).to_have_value("24")
    check_page(page, "trust-settings")
    page.get_by_label("Reply within (hours)").fill("twelve")
    page.get_by_label("Due soon window (hours)").fill("30")
    page.get_by_label("End of the working day").fill("25:99")
    page.get_by_role("button", name="Save settings").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Reply within (hours) must be a whole number")
    expect(page).to_have_title(re.compile("^Error: Trust settings"))
    expect(page.get_by_label("Reply within (hours)")).to_have_value("twelve")  # what was typed is kept
    check_page(page, "trust-settings-error")
    # the service's own refusals, each on its field
    page.get_by_label("Reply within (hours)").fill("12")
    page.get_by_role("button", name="Save settings").click()
    expect(summary).to_contain_text("Due soon window (hours) must be less than the reply time")
    expect(summary).to_contain_text("End of the working day must be a time of day")
    summary.get_by_role("link", name=re.compile("^End of the working day")).click()
    expect(page.get_by_label("End of the working day")).to_be_focused()
    page.get_by_label("Due soon window (hours)").fill("3")
    page.get_by_label("End of the working day").fill("16:30")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Trust settings saved")
    expect(page.get_by_label("Reply within (hours)")).to_have_value("12")
    expect(page.get_by_label("End of the working day")).to_have_value("16:30")
    check_page(page, "trust-settings-saved")
    sign_in_as(phone, "Alex Morgan")
    phone.goto("/trust/settings")
    check_page(phone, "trust-settings-390")


@web
def test_admin_publishes_a_policy_version_and_sees_who_acknowledged_it(page: Page, phone: Page) -> None:
    sign_in_as(page, "Alex Morgan")
    page.get_by_role("link", name="Policy").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Social media policy")
    versions = page.locator("#versions-table tbody tr")
    expect(versions).to_have_count(2)
    expect(versions.first).to_contain_text("2025.2")
    expect(versions.first).to_contain_text("Current")
    expect(page.locator("#chart-reack-data tbody tr").first).to_be_visible()
    check_page(page, "trust-policy")
    page.get_by_role("button", name="Publish a new version").click()
    page.get_by_role("button", name="Publish version").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter the version")
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter what changed in this version")
    check_page(page, "trust-policy-new-error")
    page.get_by_label("Version").fill("2026.1")
    page.get_by_label("What changed").fill("Adds the rules on livestreaming")
    page.get_by_role("button", name="Publish version").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Version 2026.1 published")
    expect(versions).to_have_count(3)
    expect(versions.first).to_contain_text("2026.1")
    expect(versions.first).to_contain_text("0 (0.0%)")  # nobody has acknowledged it yet
    check_page(page, "trust-policy-published")
    sign_in_as(phone, "Alex Morgan")
    phone.goto("/trust/policy")
    check_page(phone, "trust-policy-390")


@web
def test_staff_directory_is_searchable_and_filtered(page: Page, phone: Page) -> None:
    sign_in_as(page, "Alex Morgan")
    page.get_by_role("link", name="Staff").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Staff")
    check_page(page, "trust-staff")
    page.get_by_label("Name or email").fill("lucy")
    page.get_by_role("button", name="Find staff").click()
    rows = page.locator("#staff-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Lucy Ward")
    expect(rows.first).to_contain_text("Not recorded")
    expect(rows.first).to_contain_text("Not acknowledged")
    page.get_by_label("Name or email").fill("")
    page.get_by_label("Show").select_option("untrained")
    page.locator("#school").select_option(label="Glenmore High School")
    page.get_by_role("button", name="Find staff").click()
    names = [t.split("\n")[0] for t in page.locator("#staff-table tbody th").all_inner_texts()]
    assert names == ["Callum Reid"], names
    check_page(page, "trust-staff-filtered")
    sign_in_as(phone, "Alex Morgan")
    phone.goto("/trust/staff")
    check_page(phone, "trust-staff-390")


def sign_in_found(page: Page, name: str) -> None:
    """Signs in as someone the persona picker finds by name (not one of its named personas)."""
    page.goto("/auth/dev-login?q=" + name.split()[0].lower())
    page.get_by_role("button", name=name, exact=True).click()
    expect(page).to_have_url(re.compile(r"/$"))


@web
def test_audit_search_and_verify_the_chain(page: Page, phone: Page) -> None:
    sign_in_as(page, "Alex Morgan")
    page.get_by_role("link", name="Audit").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit trail")
    expect(page.locator("#audit-table tbody tr")).to_have_count(50)  # the latest events, a page of them
    check_page(page, "audit")
    # a bad date and a bad id: the error summary names both, and what was typed stays
    # (a browser's date box never sends an impossible date; an edited or bookmarked address can)
    page.goto("/audit?entity=not-an-id&from=2026-02-30&person=")
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Entity id must be an id like")
    expect(summary).to_contain_text("From must be a real date")
    expect(page.get_by_label("Entity id")).to_have_value("not-an-id")
    check_page(page, "audit-error")
    # by person and event type
    page.goto("/audit")
    page.get_by_label("Person").fill("Grace Hill")
    page.get_by_label("Event type").select_option(label="Monitoring check recorded")
    page.get_by_role("button", name="Search the audit trail").click()
    expect(page).to_have_url(re.compile(r"person=Grace"))  # the results page has loaded
    rows = page.locator("#audit-table tbody tr")
    expect(rows.first).to_contain_text("Monitoring check recorded")
    assert all("Monitoring check recorded" in t for t in rows.all_inner_texts())
    # by school: only Glenmore's events
    page.goto("/audit")
    page.locator("#school").select_option(label="Glenmore High School")
    page.get_by_role("button", name="Search the audit trail").click()
    school_cells = page.locator("#audit-table tbody td:nth-child(4)")
    expect(school_cells.first).to_have_text("Glenmore High School")  # the results page has loaded
    schools = {t.strip() for t in school_cells.all_inner_texts()}
    assert schools == {"Glenmore High School"}, schools
    # one entity's trail, oldest page last
    page.locator("#audit-table tbody a").first.click()
    assert "entity=" in page.url
    expect(rows.first).to_be_visible()
    check_page(page, "audit-results")
    # verify the chain
    page.get_by_role("button", name="Verify the chain").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("The chain verifies")
    expect(page.locator(".govuk-summary-list")).to_contain_text("Your trust's events checked")
    check_page(page, "audit-verified")
    sign_in_as(phone, "Alex Morgan")
    phone.goto("/audit")
    check_page(phone, "audit-390")
    phone.goto("/audit/verify")
    check_page(phone, "audit-verified-390")


@web
def test_the_dpo_reads_the_audit_trail_but_not_the_trust_settings(page: Page) -> None:
    sign_in_found(page, "Dana Okafor")
    page.get_by_role("link", name="Audit").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit trail")
    expect(page.get_by_role("link", name="Settings")).to_have_count(0)
    response = page.goto("/trust/settings")
    assert response is not None and response.status == 404
    response = page.goto("/trust/integrations")
    assert response is not None and response.status == 404


@web
def test_integration_client_secret_is_shown_once_then_revoked(page: Page, phone: Page, base_url: str) -> None:
    sign_in_as(page, "Alex Morgan")
    page.get_by_role("link", name="Integrations").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Integration clients")
    check_page(page, "trust-integrations-empty")
    page.get_by_role("button", name="Add an integration client").click()
    page.get_by_role("button", name="Add client").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Enter a name for the integration")
    expect(summary).to_contain_text("Select what the integration may do")
    check_page(page, "trust-integration-new-error")
    page.get_by_label("Name").fill("Arbor HR")
    page.get_by_label("Staff joiners and leavers (HR)").check()
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Add client").click()
    assert answer.value.headers.get("cache-control") == "no-store"
    expect(page.get_by_role("heading", level=1)).to_contain_text("Integration client added")
    secret = page.locator("#client-secret").inner_text().strip()
    client_id = page.locator("#client-id").inner_text().strip()
    assert len(secret) >= 40
    check_page(page, "trust-integration-created")
    # the secret works, for what the client was given
    token = httpx.post(f"{base_url}/oauth/token", data={"grant_type": "client_credentials", "client_id": client_id,
                                                        "client_secret": secret})
    assert token.status_code == 200, token.text
    assert token.json()["scope"] == "staff:write"
    # never again: not on the list, not on reloading the list
    page.get_by_role("link", name="Back to integration clients").click()
    expect(page.locator("#clients-table")).to_contain_text("Arbor HR")
    assert secret not in page.content()
    check_page(page, "trust-integrations")
    sign_in_as(phone, "Alex Morgan")
    phone.goto("/trust/integrations")
    check_page(phone, "trust-integrations-390")
    # revoke: its secret stops working
    page.get_by_role("link", name="Revoke Arbor HR").click()
    check_page(page, "trust-integration-revoke")
    page.get_by_label("Reason (optional)").fill("Moving to a new HR system")
    page.get_by_role("button", name="Revoke client").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Arbor HR revoked")
    expect(page.locator("#clients-table")).to_contain_text("Revoked")
    again = httpx.post(f"{base_url}/oauth/token", data={"grant_type": "client_credentials", "client_id": client_id,
                                                        "client_secret": secret})
    assert again.status_code in (400, 401), again.text


@web
def test_every_error_and_result_state_at_390_px(phone: Page) -> None:
    sign_in_as(phone, "Alex Morgan")
    phone.goto("/trust/settings")
    phone.get_by_label("Reply within (hours)").fill("0")
    phone.get_by_role("button", name="Save settings").click()
    expect(phone.locator(".govuk-error-summary")).to_contain_text("Reply within (hours) must be between 1 and 168")
    check_page(phone, "trust-settings-error-390")
    phone.goto("/trust/policy/new")
    phone.get_by_role("button", name="Publish version").click()
    check_page(phone, "trust-policy-new-error-390")
    phone.goto("/trust/integrations/new")
    phone.get_by_role("button", name="Add client").click()
    check_page(phone, "trust-integration-new-error-390")
    phone.get_by_label("Name").fill("MIS consent feed")
    phone.get_by_label("Pupils' image consent (MIS)").check()
    phone.get_by_role("button", name="Add client").click()
    check_page(phone, "trust-integration-created-390")
    phone.goto("/trust/integrations")
    phone.get_by_role("link", name="Revoke MIS consent feed").click()
    check_page(phone, "trust-integration-revoke-390")
    phone.goto("/trust/staff?state=untrained")
    check_page(phone, "trust-staff-filtered-390")
    phone.goto("/trust?show=flagged&sort=name&dir=desc")
    check_page(phone, "trust-overview-flagged-390")
    phone.goto("/trust?q=nothing-matches")
    expect(phone.get_by_text("No school matches.")).to_be_visible()
    check_page(phone, "trust-overview-empty-390")
    phone.goto("/audit?person=grace&type=MonitoringCheckRecorded")
    check_page(phone, "audit-results-390")
    phone.goto("/audit?entity=nope")
    check_page(phone, "audit-error-390")


@web
def test_overview_sorted_and_drilled_down_with_the_keyboard_alone(page: Page) -> None:
    sign_in_as(page, "Alex Morgan")
    page.goto("/trust")
    focus_on(page, "Overdue replies")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"sort=overdue_replies"))
    expect(page.locator("#schools-table th[aria-sort]")).to_contain_text("Overdue replies")
    focus_on(page, "Oakfield Primary School", presses=80)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Oakfield Primary School")
    focus_on(page, "Comment from @ex_pupil: “Well done to the choir”", presses=80)


@web
def test_settings_and_filters_work_without_javascript(no_js_page: Page) -> None:
    page = no_js_page
    sign_in_as(page, "Alex Morgan")
    page.goto("/trust")
    page.get_by_label("Show").select_option("flagged")
    page.get_by_role("button", name="Show schools").click()
    assert schools_in_table(page) == ["Oakfield Primary School"]
    page.goto("/trust/settings")
    page.get_by_label("Training valid for (months)").fill("24")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Trust settings saved")
    expect(page.get_by_label("Training valid for (months)")).to_have_value("24")
    check_page(page, "trust-settings-no-js", javascript=False)
