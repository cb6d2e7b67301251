"""The development persona picker: named personas first, a search that stays small at any scale, and nothing of
it in production."""

from __future__ import annotations

import base64
import re
import secrets
from pathlib import Path
from uuid import uuid4

from litestar.testing import TestClient
from playwright.sync_api import Page, expect

from api.app import create_app
from api.container import Container
from api.demo import seed_demo, seed_scale
from infra.settings import Settings
from tests.web.conftest import check_page, sign_in_as, sign_out, web

SCHOOLS = ["Oakfield Primary School", "Glenmore High School", "Lough View College"]


@web
def test_trust_admin_sees_every_school_then_slt_sees_only_their_own(page: Page, base_url: str) -> None:
    page.goto("/")
    expect(page).to_have_url(f"{base_url}/auth/dev-login")
    expect(page.get_by_role("heading", level=1)).to_have_text("Development sign-in")

    sign_in_as(page, "Alex Morgan")
    expect(page.get_by_role("heading", level=1)).to_have_text("What needs you")
    coverage = page.get_by_role("table", name="Staff with valid training, by school")
    for school in SCHOOLS:
        expect(coverage.get_by_role("rowheader", name=school, exact=True)).to_have_count(1)

    sign_out(page)
    page.goto("/")  # the session cookie is really gone: the page sends us back to sign in
    expect(page).to_have_url(f"{base_url}/auth/dev-login")

    sign_in_as(page, "Priya Shah")
    expect(page.locator("main")).to_contain_text("Oakfield Primary School")
    expect(page.get_by_text("Glenmore High School")).to_have_count(0)
    expect(page.get_by_label("School")).to_have_count(0)  # one school: no switcher


@web
def test_the_picker_lists_the_demo_people_and_finds_others(page: Page, phone: Page) -> None:
    page.goto("/auth/dev-login")
    named = page.locator(".app-persona-list").first.get_by_role("button")
    expect(named).to_have_text(["Alex Morgan", "Priya Shah", "Morag Campbell", "Tom Baker", "Owen Price",
                                "Lucy Ward"])
    check_page(page, "dev-login-desktop")
    page.get_by_label("Name or email address").fill("isla")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"/auth/dev-login\?q=isla$"))
    expect(page.get_by_role("heading", name="1 person found")).to_be_visible()
    check_page(page, "dev-login-search-desktop")
    page.get_by_label("Name or email address").fill("nobody-like-this")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", name="No one found")).to_be_visible()
    phone.goto("/auth/dev-login?q=oakfield")
    check_page(phone, "dev-login-search-390")


def test_the_search_shows_at_most_25_people_at_scale(tmp_path: Path) -> None:
    c = Container(Settings(database_url=f"sqlite:///{tmp_path / 'scale.db'}"))
    seed_demo(c)
    seed_scale(c, 1, people_per_school=40, applications_per_school=10)  # a school of synthetic people, "Person 0-1", ...
    c.projections.catch_up()
    with TestClient(create_app(container=c), raise_server_exceptions=False) as client:
        first = client.get("/auth/dev-login")
        assert first.status_code == 200
        assert first.text.count('name="person_id"') == 6  # only the named personas until someone searches
        found = client.get("/auth/dev-login", params={"q": "person"})
        assert found.text.count('name="person_id"') == 6 + 25
        assert "25 people found" in found.text
        email = client.get("/auth/dev-login", params={"q": "priya.shah@"})
        assert "1 person found" in email.text
    c.close()


def test_dev_login_does_not_exist_in_production(tmp_path: Path) -> None:
    settings = Settings(env="production", database_url=f"sqlite:///{tmp_path / 'prod.db'}",
                        master_key=base64.b64encode(secrets.token_bytes(32)).decode(), secret_key="x" * 40,
                        dev_login=False)
    settings.validate()  # a configuration production would accept
    c = Container(settings)
    with TestClient(create_app(settings, c), raise_server_exceptions=False) as client:
        assert client.get("/auth/dev-login").status_code == 404
        assert client.post("/auth/dev-login", data={"person_id": "00000000-0000-0000-0000-000000000000"}
                           ).status_code == 404
        home = client.get("/", follow_redirects=False)
        assert home.status_code in (302, 303, 307)
        assert home.headers["location"].startswith("/auth/login")
        assert home.headers["strict-transport-security"].startswith("max-age=")
        # a development cookie means nothing in production
        client.cookies.set("socialgov_session", c.tokens.issue(uuid4()))
        assert client.get("/my/compliance", follow_redirects=False).status_code == 303
    c.close()
