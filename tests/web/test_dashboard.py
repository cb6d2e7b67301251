"""The school dashboard in a real browser, as Priya Shah (SLT at Oakfield) reads it: today's figures and four charts
(replies within the response time, breaches, training and policy acknowledgement by week), each an SVG with its
data table beside it, checked with axe-core at 1280 px and 390 px; reached and read with the keyboard alone; the
numbers are the demo trust's; and who may not see a school's dashboard gets 404.

The server runs on a fresh demo trust in which Siobhan Kelly (SLT at Lough View) also works as staff at Oakfield, so
she can switch to a school whose dashboard is not hers."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from api.container import Container
from api.demo import seed_demo
from infra.settings import Settings
from services import readmodel as rm
from services.identity import principal_for_person
from services.inbox_queries import daily_series
from tests.web.conftest import check_page, serve, sign_in_as, web

DAYS = 7 * 12 + 7  # more than 12 weeks of days: the first week is a whole one


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Container, str]]:
    path = tmp_path_factory.mktemp("dashboard") / "socialgov.db"
    c = Container(Settings(database_url=f"sqlite:///{path}"))
    seed_demo(c)
    with c.engine.connect() as conn:
        schools = dict(conn.execute(select(rm.schools.c.name, rm.schools.c.id)).all())
        admin_id = conn.execute(select(rm.people.c.id).where(rm.people.c.display_name == "Alex Morgan")).scalar()
    admin = principal_for_person(c.engine, admin_id, "test")
    assert admin is not None
    c.directory.add_staff(admin, schools["Oakfield Primary School"], "Siobhan Kelly",
                          "siobhan.kelly@oakfield.example", ["staff"])
    try:
        for url in serve(c):
            yield c, url
    finally:
        c.close()


@pytest.fixture(scope="module")
def base_url(server: tuple[Container, str]) -> str:
    return server[1]


def table(page: Page, table_id: str) -> list[list[str]]:
    """The rows of a chart's data table, as the cells' text (the row header first)."""
    return [[cell.strip() for cell in row.locator("th, td").all_inner_texts()]
            for row in page.locator(f"#{table_id} tbody tr").all()]


def summary(page: Page) -> dict[str, str]:
    keys = page.locator("#today .govuk-summary-list__key").all_inner_texts()
    values = page.locator("#today .govuk-summary-list__value").all_inner_texts()
    return {k.strip(): v.strip() for k, v in zip(keys, values, strict=True)}


def oakfield_weeks(c: Container) -> dict[str, dict[str, int]]:
    """The inbox's own daily series for Oakfield (the API's /interaction-series), added up into London weeks
    labelled as the dashboard labels them."""
    with c.engine.connect() as conn:
        priya_id = conn.execute(select(rm.people.c.id).where(rm.people.c.display_name == "Priya Shah")).scalar()
        oakfield = conn.execute(select(rm.schools.c.id).where(rm.schools.c.name == "Oakfield Primary School")).scalar()
    priya = principal_for_person(c.engine, priya_id, "test")
    assert priya is not None
    weeks: dict[str, dict[str, int]] = defaultdict(lambda: {"received": 0, "met": 0, "breached": 0})
    for day in daily_series(c.engine, priya, oakfield, c.clock.now(), days=DAYS):
        monday: date = day["day"] - timedelta(days=day["day"].weekday())
        for k in ("received", "met", "breached"):
            weeks[f"{monday.day} {monday:%b %Y}"][k] += day[k]
    return weeks


@web
def test_the_dashboard_shows_the_demo_schools_figures(page: Page, server: tuple[Container, str]) -> None:
    c, _ = server
    sign_in_as(page, "Priya Shah")
    page.get_by_role("link", name="See the school dashboard").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("School dashboard")
    expect(page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Dashboard")) \
        .to_have_attribute("aria-current", "page")
    check_page(page, "dashboard-slt")

    # Oakfield's people who may run an account, not counting Grace Hill (left): Priya Shah, Morag Campbell, Tom Baker,
    # Owen Price, Lucy Ward, Sam Patel, and (in this test) Siobhan Kelly. Lucy was never trained and Owen's training
    # expired; only Tom and Sam have acknowledged the current policy, 2025.2 (Grace had too).
    today = summary(page)
    assert today["People who may run a school account"] == "7"
    assert today["With valid social media training"] == "5 of 7 (71.4%)"
    assert today["Have acknowledged the current policy"] == "2 of 7 (28.6%)"
    training, acknowledged = table(page, "training-data"), table(page, "acknowledged-data")
    assert len(training) == len(acknowledged) == 12
    assert training[-1][1:] == ["7", "5", "71.4%"]
    assert acknowledged[-1][1:] == ["7", "2", "28.6%"]
    # before 2025.2 was published everyone trained had acknowledged 2025.1: the week it changed shows the drop
    shares = [float(r[-1].rstrip("%")) for r in acknowledged if r[-1] != "–"]
    assert max(shares) > 70 and shares[-1] < 40

    # replies: every week's numbers are the inbox's daily series added up (the same messages and SLA states)
    expected = oakfield_weeks(c)
    replies, breaches = table(page, "replies-data"), table(page, "breaches-data")
    assert len(replies) == len(breaches) == 12
    assert sum(int(r[1]) for r in replies) > 40  # the demo's month of messages
    for (week, received, on_time, late, share), (week_b, received_b, n_breaches) in zip(replies, breaches,
                                                                                        strict=True):
        want = expected[week]
        assert week == week_b
        assert (int(received), int(on_time), int(late)) == (want["received"], want["met"], want["breached"]), week
        assert received_b == received and n_breaches == late
        known = int(on_time) + int(late)
        assert share == (f"{round(100 * int(on_time) / known, 1)}%" if known else "–")
    # each chart is a figure with its caption, and an SVG image named after it
    for caption in ("Replies within the response time, by week", "Breaches of the response time, by week",
                    "Valid social media training, by week", "Acknowledgement of the policy then current, by week"):
        figure = page.locator("figure", has=page.locator("figcaption", has_text=caption))
        expect(figure.get_by_role("img", name=re.compile(re.escape(caption)))).to_have_count(1)
        expect(page.locator("table caption", has_text=caption)).to_have_count(1)
    bars = page.locator(".app-chart", has=page.locator("#breaches-data")).locator("svg rect")
    expect(bars).to_have_count(12)


@web
def test_the_dashboard_at_390_px(phone: Page) -> None:
    page = phone
    sign_in_as(page, "Priya Shah")
    page.goto("/dashboard")
    expect(page.get_by_role("heading", level=1)).to_have_text("School dashboard")
    check_page(page, "dashboard-slt-phone")
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth"), \
        "the page is wider than the phone"


def _focused(page: Page) -> dict[str, Any]:
    return dict(page.evaluate("""() => { const e = document.activeElement;
        return {tag: e.tagName, text: (e.innerText || '').trim(), label: e.getAttribute('aria-label') || ''}; }"""))


@web
def test_the_dashboard_with_the_keyboard_alone(page: Page) -> None:
    sign_in_as(page, "Priya Shah")
    for _ in range(30):  # Tab to the navigation's link, then Enter
        page.keyboard.press("Tab")
        if _focused(page)["text"] == "Dashboard":
            break
    else:
        pytest.fail("the Dashboard link was not reached with Tab")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    reached = []
    for _ in range(60):  # every data table's scrolling region takes the focus, in order
        page.keyboard.press("Tab")
        label = _focused(page)["label"]
        if label.endswith("(table)") and label not in reached:
            reached.append(label)
    assert reached == ["Replies within the response time, by week (table)",
                       "Breaches of the response time, by week (table)",
                       "Valid social media training, by week (table)",
                       "Acknowledgement of the policy then current, by week (table)"]
    page.keyboard.press("Shift+Tab")  # and the page scrolls the focused table into view
    check_page(page, "dashboard-keyboard")


@web
def test_who_may_not_see_a_schools_dashboard_gets_404(page: Page) -> None:
    sign_in_as(page, "Lucy Ward")  # staff at Oakfield: no Dashboard link, and the page is 404
    expect(page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Dashboard")).to_have_count(0)
    response = page.goto("/dashboard")
    assert response is not None and response.status == 404
    page.context.clear_cookies()
    # Siobhan Kelly is SLT at Lough View but staff at Oakfield: looking at Oakfield, its dashboard is not hers
    page.goto("/auth/dev-login?q=Siobhan")  # not one of the named personas: found by the picker's search
    page.get_by_role("button", name="Siobhan Kelly", exact=True).click()
    expect(page.locator("header")).to_contain_text("Signed in as Siobhan Kelly")
    page.goto("/dashboard")
    expect(page.locator(".govuk-caption-l")).to_have_text("Lough View College")
    page.get_by_label("School").select_option(label="Oakfield Primary School")
    page.get_by_role("button", name="Change school").click()
    expect(page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Dashboard")).to_have_count(0)
    response = page.goto("/dashboard")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).not_to_have_text("School dashboard")
    expect(page.locator("main")).not_to_contain_text("Replies within the response time")
    check_page(page, "dashboard-404")

