"""The web UI in a real browser: the development persona picker, the dashboard per role, and accessibility basics.

The real app runs under uvicorn in a background thread on its own SQLite file with the demo trust; Chromium is the
Debian package (`make browser`), driven by Playwright, which never downloads a browser of its own here.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from litestar.testing import TestClient
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright

from api.app import create_app
from api.container import Container
from api.demo import seed_demo
from infra.settings import Settings

CHROMIUM = os.environ.get("SOCIALGOV_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCHOOLS = ["Oakfield Primary School", "Glenmore High School", "Lough View College"]

browser_test = [pytest.mark.web, pytest.mark.xdist_group("browser")]


def web(fn: Any) -> Any:
    for mark in browser_test:
        fn = mark(fn)
    return fn


# --- the server -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = tmp_path_factory.mktemp("web") / "socialgov.db"
    c = Container(Settings(database_url=f"sqlite:///{path}"))
    seed_demo(c)
    app = create_app(container=c)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))  # a free port, held from here on so nothing can take it first
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the app did not start under uvicorn within 20 s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


# --- the browser ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (apt-get install -y chromium) for the browser tests")
    b = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield b
    b.close()


@pytest.fixture
def page(browser: Browser, base_url: str) -> Iterator[Page]:
    context: BrowserContext = browser.new_context(base_url=base_url, locale="en-GB")
    context.set_default_timeout(10_000)
    pg = context.new_page()
    yield pg
    context.close()


def sign_in_as(page: Page, name: str) -> None:
    expect(page).to_have_url(re.compile(r"/auth/dev-login$"))
    page.get_by_role("button", name=name, exact=True).click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator("header")).to_contain_text(f"Signed in as {name}")


def schools_on_dashboard(page: Page) -> list[str]:
    return [t.strip() for t in page.locator("table tbody").get_by_role("rowheader").all_inner_texts()]


def assert_accessible_basics(page: Page) -> None:
    """WCAG smoke check of what every page must have; not a substitute for an audit."""
    lang = page.locator("html").get_attribute("lang")
    assert lang and lang.strip(), f"{page.url}: <html> has no lang"
    expect(page.locator("h1")).to_have_count(1)
    expect(page).to_have_title(re.compile(r"\S"))
    skip = page.locator("a.skip").first
    expect(skip).to_have_attribute("href", "#main")
    expect(page.locator("#main")).to_have_count(1)
    page.locator("body").focus()
    page.keyboard.press("Tab")
    expect(skip).to_be_focused()  # the skip link is the first stop for keyboard users
    controls = page.locator("form button, form input[type=submit], form input[type=button]")
    assert controls.count() > 0 or "/auth/" not in page.url
    for i in range(controls.count()):
        expect(controls.nth(i)).to_have_accessible_name(re.compile(r"\S"))


# --- tests ------------------------------------------------------------------------------------------------------


@web
def test_trust_admin_sees_every_school_then_slt_sees_only_their_own(page: Page, base_url: str) -> None:
    page.goto("/")
    expect(page).to_have_url(f"{base_url}/auth/dev-login")
    expect(page.get_by_role("heading", level=1)).to_have_text("Development sign-in")

    sign_in_as(page, "Alex Morgan")
    expect(page.get_by_role("heading", level=1)).to_have_text("Trust overview")
    for school in SCHOOLS:
        expect(page.locator("table tbody").get_by_role("rowheader", name=school, exact=True)).to_have_count(1)
    assert sorted(schools_on_dashboard(page)) == sorted(SCHOOLS)

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{base_url}/auth/dev-login")
    page.goto("/")  # the session cookie is really gone: the dashboard sends us back to sign in
    expect(page).to_have_url(f"{base_url}/auth/dev-login")

    sign_in_as(page, "Priya Shah")
    expect(page.get_by_role("heading", level=1)).not_to_have_text("Trust overview")
    expect(page.get_by_role("rowheader", name="Oakfield Primary School", exact=True)).to_have_count(1)
    expect(page.get_by_role("rowheader", name="Glenmore High School")).to_have_count(0)
    expect(page.get_by_text("Glenmore High School")).to_have_count(0)
    assert schools_on_dashboard(page) == ["Oakfield Primary School"]


@web
def test_pages_meet_accessibility_basics(page: Page, tmp_path: Path) -> None:
    page.goto("/")
    assert_accessible_basics(page)  # the persona picker
    sign_in_as(page, "Alex Morgan")
    assert_accessible_basics(page)  # the trust dashboard
    expect(page.locator("table caption")).to_have_count(1)
    shot = tmp_path / "trust-dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 0
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page.get_by_role("button", name="Sign out").click()
    sign_in_as(page, "Priya Shah")
    assert_accessible_basics(page)  # a school dashboard


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
        assert home.headers["location"].endswith("/auth/login")
