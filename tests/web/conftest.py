"""The browser test harness: the real app under uvicorn (a thread, its own SQLite file, the demo trust), Debian's
Chromium driven by Playwright, and `check_page`, which runs axe-core on the page (WCAG 2.2 AA rules) and saves a
full-page screenshot to var/screenshots/<name>.png.

    @web
    def test_something(page: Page) -> None:          # a desktop-sized page (1280 px); `phone` is 390 px wide
        page.goto("/")
        sign_in_as(page, "Priya Shah")
        check_page(page, "home-slt")                 # 0 axe violations, and a screenshot to look at

`no_js_page` is a desktop page with JavaScript turned off. axe-core comes from frontend/node_modules
(`npm ci --prefix frontend`, which `make test` runs).
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from api.app import create_app
from api.container import Container
from api.demo import seed_demo
from infra.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("SOCIALGOV_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
AXE = ROOT / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
SCREENSHOTS = ROOT / "var" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

browser_test = [pytest.mark.web, pytest.mark.xdist_group("browser")]


def web(fn: Any) -> Any:
    """Marks a browser test (real Chromium; all of them run in one xdist worker)."""
    for mark in browser_test:
        fn = mark(fn)
    return fn


# --- the server -------------------------------------------------------------------------------------------------


def serve(c: Container) -> Iterator[str]:
    """Serves the real app for `c` under uvicorn in a thread; yields its base URL."""
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


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real app on its own SQLite file with the demo trust, for the test module."""
    path = tmp_path_factory.mktemp("web") / "socialgov.db"
    c = Container(Settings(database_url=f"sqlite:///{path}"))
    seed_demo(c)
    try:
        yield from serve(c)
    finally:
        c.close()


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


def _page(browser: Browser, base_url: str, viewport: dict[str, int], javascript: bool = True) -> Iterator[Page]:
    context = browser.new_context(base_url=base_url, locale="en-GB", viewport=viewport,
                                  java_script_enabled=javascript)
    context.set_default_timeout(10_000)
    page = context.new_page()
    csp_errors: list[str] = []
    page.on("console", lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None)
    yield page
    context.close()
    assert not csp_errors, f"the page broke its Content-Security-Policy: {csp_errors}"


@pytest.fixture
def page(browser: Browser, base_url: str) -> Iterator[Page]:
    """A desktop-sized page (1280 px wide)."""
    yield from _page(browser, base_url, DESKTOP)


@pytest.fixture
def phone(browser: Browser, base_url: str) -> Iterator[Page]:
    """A phone-sized page (390 px wide)."""
    yield from _page(browser, base_url, PHONE)


@pytest.fixture
def no_js_page(browser: Browser, base_url: str) -> Iterator[Page]:
    """A desktop page with JavaScript turned off: forms must work without it."""
    yield from _page(browser, base_url, DESKTOP, javascript=False)


# --- helpers ----------------------------------------------------------------------------------------------------


def sign_in_as(page: Page, name: str) -> None:
    """Signs in with the development persona picker (from wherever the page is) and lands on Home."""
    if not page.url.endswith("/auth/dev-login"):
        page.goto("/auth/dev-login")
    page.get_by_role("button", name=name, exact=True).click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator("header")).to_contain_text(f"Signed in as {name}")


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/auth/dev-login$"))


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.2 AA violations on the page as it is now."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci --prefix frontend` (make test does)")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # evaluated by Playwright (CDP), so the page's CSP does not apply and nothing is added to the page's HTML
        page.evaluate(AXE.read_text())
    result = page.evaluate("(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS)
    return list(result["violations"])


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} [{v['helpUrl']}]")
        for node in v["nodes"][:5]:
            lines.append(f"    at {json.dumps(node['target'])}: {node.get('failureSummary', '').splitlines()[-1:]}")
    return "\n".join(lines)


def check_page(page: Page, name: str, javascript: bool = True) -> None:
    """Saves a full-page screenshot to var/screenshots/<name>.png, then asserts axe-core finds no WCAG 2.2 AA
    violation (listing each one readably if it does), and that the page has one <h1>, a title and a lang.
    With `javascript=False` (a `no_js_page`) axe cannot run in the page: only the screenshot and the rest."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    if javascript:
        violations = axe_violations(page)
        assert not violations, f"{name}: axe-core found {len(violations)} violation(s) on {page.url}:\n" + \
            describe(violations)
    expect(page.locator("h1")).to_have_count(1)
    expect(page).to_have_title(re.compile(r"\S – SocialGov$"))
    assert (page.locator("html").get_attribute("lang") or "").strip()
