"""OpenID Connect sign-in against a real, independent provider: panva/node-oidc-provider (tests/oidc_provider),
started here with Node, with a client for our app, test accounts carrying a `groups` claim, and its development
sign-in form. The app runs under uvicorn on its own SQLite file with the demo trust; httpx plays the browser and
follows every redirect by hand, so each hop (PKCE, state, nonce, cookies) is visible.

The refused-token cases use the provider's test-only switch (server.js) that makes its next token response carry
an ID token with the wrong audience, already expired, signed by another key under the real key id, and so on; the
tokens are otherwise the provider's own, so each refusal is down to the check named, not to anything else.

Needs Node >= 20 and `npm ci --prefix tests/oidc_provider` (make test runs it).
"""

from __future__ import annotations

import html
import json
import logging
import re
import select
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit
from uuid import UUID, uuid4

import httpx
import pytest
import uvicorn
from litestar import Litestar
from litestar.testing import TestClient

from api.app import create_app
from api.container import Container
from api.demo import seed_demo
from api.oidc import (
    OIDC_HANDLERS,
    RateLimiter,
    install,
    map_roles,
    oidc_startup,
    safe_return_to,
    verified_email,
)
from domain.values import Role
from infra.oidc_config import OidcConfig, load_oidc_config, parse_trusts
from infra.sessions import TABLES, IdentityLinks, PendingLogins, SessionStore
from infra.settings import Settings, SettingsError
from services.directory import system_actor
from services.queries import ReadModelLookups

ROOT = Path(__file__).resolve().parents[2]
PROVIDER_DIR = ROOT / "tests" / "oidc_provider"
CLIENT_ID = "socialgov-web"
CLIENT_SECRET = "test-client-secret-0123456789abcdef"
URN = {"oakfield": "100001", "glenmore": "5234567", "lough": "3456789"}

pytestmark = [pytest.mark.xdist_group("oidc")]

ACCOUNTS: dict[str, dict[str, Any]] = {
    "priya": {"email": "priya.shah@oakfield.example", "email_verified": True, "name": "Priya Shah",
              "groups": ["oakfield-slt"]},
    "owen": {"email": "owen.price@oakfield.example", "email_verified": True, "name": "Owen Price",
             "groups": ["oakfield-staff", "glenmore-moderators"]},
    "grace": {"email": "grace.hill@oakfield.example", "email_verified": True, "name": "Grace Hill",
              "groups": ["oakfield-staff"]},  # left the trust in the demo story
    "nia": {"email": "nia.jones@oakfield.example", "email_verified": True, "name": "Nia Jones",
            "groups": ["lough-staff"]},
    "pat": {"email": "pat.visitor@oakfield.example", "email_verified": True, "name": "Pat Visitor",
            "groups": ["parents-association"]},
    "tom": {"email": "tom.baker@oakfield.example", "email_verified": True, "name": "Tom Baker", "groups": []},
    "mallory": {"email": "mallory@elsewhere.example", "email_verified": True, "name": "Mallory",
                "groups": ["oakfield-slt"]},
}


def trust_config(trust_id: UUID, issuer: str, **extra: Any) -> dict[str, Any]:
    return {"trust_id": str(trust_id), "name": "Oakfield Learning Trust", "issuer": issuer, "client_id": CLIENT_ID,
            "client_secret_env": "OAKFIELD_OIDC_SECRET", "scopes": ["openid", "email", "profile", "groups"],
            "allowed_email_domains": ["oakfield.example"],
            "role_mapping": [
                {"claim": "groups", "value": "oakfield-slt", "school_urn": URN["oakfield"], "role": "slt"},
                {"claim": "groups", "value": "oakfield-staff", "school_urn": URN["oakfield"], "role": "staff"},
                {"claim": "groups", "value": "glenmore-moderators", "school_urn": URN["glenmore"], "role": "moderator"},
                {"claim": "groups", "value": "lough-staff", "school_urn": URN["lough"], "role": "staff"},
                {"claim": "groups", "value": "trust-central", "school_urn": "trust", "role": "trust_admin"},
            ], **extra}


# --- the provider -------------------------------------------------------------------------------------------------


@dataclass
class Provider:
    issuer: str
    process: subprocess.Popen[str]

    def next_id_token(self, mode: str) -> None:
        r = httpx.post(f"{self.issuer}/__test__/id-token-mode", params={"mode": mode})
        assert r.status_code == 200, r.text

    def set_account(self, login: str, claims: dict[str, Any]) -> None:
        assert httpx.post(f"{self.issuer}/__test__/accounts/{login}", json=claims).status_code == 200


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))  # a free port, held from here on so nothing can take it first
    return sock


def start_provider(tmp: Path, redirect_uris: list[str]) -> Provider:
    node = shutil.which("node")
    if node is None:
        pytest.fail("`node` is not on PATH: the OIDC tests sign in against oidc-provider, which needs Node.js >= 20")
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("tests/oidc_provider has no node_modules: run `npm ci --prefix tests/oidc_provider` "
                    "(`make test` does)")
    config = tmp / "provider.json"
    config.write_text(json.dumps({
        "clients": [{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": redirect_uris,
                     "grant_types": ["authorization_code"], "response_types": ["code"],
                     "token_endpoint_auth_method": "client_secret_basic"}],
        "accounts": ACCOUNTS}))
    stderr = (tmp / "provider.log").open("w")
    process = subprocess.Popen([node, str(PROVIDER_DIR / "server.js"), str(config)], cwd=PROVIDER_DIR,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True)
    ready, _, _ = select.select([process.stdout], [], [], 30)
    line = process.stdout.readline() if ready and process.stdout else ""
    if not line:
        process.kill()
        pytest.fail(f"oidc-provider did not start within 30 s: {(tmp / 'provider.log').read_text()[-2000:]}")
    return Provider(json.loads(line)["issuer"], process)


# --- the app --------------------------------------------------------------------------------------------------------


@dataclass
class Stack:
    app_url: str
    provider: Provider
    container: Container
    app: Litestar
    trust_id: UUID
    school_ids: dict[str, UUID]


def ensure_tables(c: Container) -> None:
    """The OIDC tables, until their Alembic migration lands (then this does nothing)."""
    for table in TABLES:
        table.create(c.engine, checkfirst=True)


def with_oidc_routes(app: Litestar) -> Litestar:
    """Registers the OIDC handlers if create_app does not yet (see test_create_app_serves_the_oidc_routes)."""
    paths = {r.path for r in app.routes}
    for handler in OIDC_HANDLERS:
        if not set(handler.paths) & paths:
            app.register(handler)
    return app


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("oidc")
    sock = free_socket()
    app_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    provider = start_provider(tmp, [f"{app_url}/auth/callback"])
    server = None
    thread = None
    try:
        c = Container(Settings(database_url=f"sqlite:///{tmp / 'socialgov.db'}"))
        ensure_tables(c)
        trust_id = seed_demo(c)
        (tmp / "oidc.json").write_text(json.dumps([trust_config(trust_id, provider.issuer)]))
        config = load_oidc_config({"SOCIALGOV_OIDC_CONFIG": str(tmp / "oidc.json"),
                                   "OAKFIELD_OIDC_SECRET": CLIENT_SECRET, "SOCIALGOV_AUTH_RATE_LIMIT": "1000/60"})
        app = with_oidc_routes(create_app(container=c))
        install(app, config)
        lookups = ReadModelLookups(c.engine)
        schools = {k: lookups.school_id_by_urn(trust_id, urn) for k, urn in URN.items()}
        assert all(schools.values())
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn-oidc", daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                pytest.fail("the app did not start under uvicorn within 20 s")
            time.sleep(0.05)
        yield Stack(app_url, provider, c, app, trust_id, schools)  # type: ignore[arg-type]
    finally:
        if server is not None and thread is not None:
            server.should_exit = True
            thread.join(timeout=10)
        sock.close()
        if provider.process.stdin:
            provider.process.stdin.close()  # server.js exits when its stdin closes
        try:
            provider.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            provider.process.kill()


# --- the browser ------------------------------------------------------------------------------------------------------


def browser() -> httpx.Client:
    return httpx.Client(follow_redirects=False, timeout=20)


def authorize(stack: Stack, client: httpx.Client, login: str, path: str = "/auth/login") -> str:
    """Starts signing in at the app and goes through the provider's pages; returns the callback URL the provider
    sends the browser back to (not yet visited)."""
    r = client.get(stack.app_url + path)
    assert r.status_code == 302, r.text
    location = r.headers["location"]
    assert location.startswith(stack.provider.issuer + "/"), location
    for _ in range(10):
        r = client.get(location)
        if r.status_code == 200 and 'name="login"' in r.text:  # the provider's sign-in form
            action = html.unescape(re.search(r'<form[^>]*action="([^"]+)"', r.text).group(1))  # type: ignore[union-attr]
            r = client.post(urljoin(location, action), data={"prompt": "login", "login": login, "password": "x"})
        assert r.status_code in (302, 303), f"{r.status_code} at {location}: {r.text[:500]}"
        location = urljoin(location, r.headers["location"])
        if location.startswith(stack.app_url + "/auth/callback"):
            return location
    raise AssertionError("the provider never sent the browser back")


def sign_in(stack: Stack, client: httpx.Client, login: str) -> httpx.Response:
    return client.get(authorize(stack, client, login))


def session_cookie(client: httpx.Client) -> str | None:
    return client.cookies.get("socialgov_sid")


def schools_seen(stack: Stack, client: httpx.Client) -> set[str]:
    r = client.get(stack.app_url + "/api/v1/schools")
    assert r.status_code == 200, r.text
    return {s["urn"] for s in r.json()["items"]}


def me(stack: Stack, client: httpx.Client) -> dict[str, Any]:
    r = client.get(stack.app_url + "/auth/session")
    assert r.status_code == 200, r.text
    return dict(r.json())


# --- the wiring ---------------------------------------------------------------------------------------------------------


def test_create_app_serves_the_oidc_routes(tmp_path: Path) -> None:
    c = Container(Settings(database_url=f"sqlite:///{tmp_path / 'wiring.db'}"))
    try:
        app = create_app(container=c)
        paths = {r.path for r in app.routes}
        missing = sorted({p for h in OIDC_HANDLERS for p in h.paths} - paths)
        assert not missing, (f"create_app does not serve {missing}: add `*OIDC_HANDLERS` (from api.oidc) to "
                             "route_handlers and `oidc_startup` to on_startup in api/app.py")
    finally:
        c.close()


# --- signing in -----------------------------------------------------------------------------------------------------------


def test_sign_in_with_pkce_maps_groups_to_roles_and_the_session_authenticates(stack: Stack) -> None:
    with browser() as client:
        assert client.get(stack.app_url + "/api/v1/schools").status_code == 401
        r = client.get(stack.app_url + "/auth/login?next=/api/v1/schools")
        assert r.status_code == 302
        request = parse_qs(urlsplit(r.headers["location"]).query)
        assert request["response_type"] == ["code"] and request["client_id"] == [CLIENT_ID]
        assert request["code_challenge_method"] == ["S256"] and len(request["code_challenge"][0]) >= 43
        assert "code_verifier" not in request  # the verifier stays on the server
        assert len(request["state"][0]) >= 32 and len(request["nonce"][0]) >= 32
        assert request["scope"][0].split() == ["openid", "email", "profile", "groups"]
        assert request["redirect_uri"] == [stack.app_url + "/auth/callback"]

        r = sign_in(stack, client, "priya")
        assert r.status_code == 303, r.text
        assert r.headers["location"] == "/"  # the ?next of the *first* login: this flow started afresh
        cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("socialgov_sid="))
        attrs = {a.strip().split("=")[0].lower() for a in cookie.split(";")[1:]}
        assert {"httponly", "path", "samesite", "max-age"} <= attrs and "samesite=lax" in cookie.lower()
        token = session_cookie(client)
        assert token and len(token) >= 40

        assert schools_seen(stack, client) == {URN["oakfield"]}  # slt at Oakfield only
        who = me(stack, client)
        assert who["display_name"] == "Priya Shah" and who["auth_method"] == "oidc"
        assert who["person_id"] == str(ReadModelLookups(stack.container.engine)
                                       .person_id_by_email(stack.trust_id, "priya.shah@oakfield.example"))
        home = client.get(stack.app_url + "/")
        assert home.status_code == 200 and "Signed in as <strong>Priya Shah</strong>" in home.text
        # The database holds only a hash of the session token.
        with stack.container.engine.connect() as conn:
            stored = [row[0] for row in conn.exec_driver_sql("select id_hash from auth_sessions")]
        assert token not in stored and len(stored) >= 1


def test_next_path_is_kept_and_open_redirects_are_not(stack: Stack) -> None:
    with browser() as client:
        r = client.get(authorize(stack, client, "priya", "/auth/login?next=/api/v1/schools"))
        assert r.status_code == 303 and r.headers["location"] == "/api/v1/schools"
    with browser() as client:
        r = client.get(authorize(stack, client, "priya", "/auth/login?next=//evil.example/x"))
        assert r.headers["location"] == "/"


def test_groups_grant_roles_then_revoke_them_and_the_subject_outlives_an_email_change(stack: Stack) -> None:
    with browser() as client:
        assert sign_in(stack, client, "owen").status_code == 303
        assert schools_seen(stack, client) == {URN["oakfield"], URN["glenmore"]}  # + moderator at Glenmore
        first = me(stack, client)["person_id"]
    # The provider drops his Glenmore group and changes his email: he is still found (by subject), and the role
    # the mapping gave him is taken away again; the Oakfield staff role stays.
    stack.provider.set_account("owen", {**ACCOUNTS["owen"], "email": "o.price@oakfield.example",
                                        "groups": ["oakfield-staff"]})
    try:
        with browser() as client:
            assert sign_in(stack, client, "owen").status_code == 303
            assert me(stack, client)["person_id"] == first
            assert schools_seen(stack, client) == {URN["oakfield"]}
    finally:
        stack.provider.set_account("owen", ACCOUNTS["owen"])


def test_unknown_person_whose_claims_map_is_created_with_those_roles(stack: Stack) -> None:
    lookups = ReadModelLookups(stack.container.engine)
    assert lookups.person_id_by_email(stack.trust_id, "nia.jones@oakfield.example") is None
    with browser() as client:
        assert sign_in(stack, client, "nia").status_code == 303
        assert schools_seen(stack, client) == {URN["lough"]}
        who = me(stack, client)
    assert who["display_name"] == "Nia Jones"
    assert str(lookups.person_id_by_email(stack.trust_id, "nia.jones@oakfield.example")) == who["person_id"]


@pytest.mark.parametrize(("login", "why"), [
    ("pat", "groups that map to no role"),
    ("tom", "a directory role, but no claim that maps to one"),
    ("mallory", "an email outside the trust's domains"),
    ("grace", "a mapped group, but she has left the trust"),
])
def test_no_mapped_role_gets_the_no_access_page(stack: Stack, login: str, why: str) -> None:
    with browser() as client:
        r = sign_in(stack, client, login)
        assert r.status_code == 403, f"{why}: {r.status_code} {r.text[:300]}"
        assert r.headers["content-type"].startswith("text/html")
        assert '<h1 class="govuk-heading-l">You do not have access to SocialGov</h1>' in r.text
        assert 'lang="en-GB"' in r.text and "Sign in with a different account" in r.text
        assert session_cookie(client) is None
        assert client.get(stack.app_url + "/api/v1/schools").status_code == 401


# --- refusals ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("mode", "reason"), [
    ("wrong-audience", "aud"),
    ("expired", "ExpiredTokenError"),
    ("bad-signature", "BadSignatureError"),
    ("wrong-issuer", "iss"),
    ("wrong-nonce", "nonce"),
    ("alg-none", "id_token rejected"),
])
def test_bad_id_tokens_are_refused_and_logged_without_secrets(stack: Stack, mode: str, reason: str,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="socialgov.auth")
    with browser() as client:
        callback = authorize(stack, client, "priya")
        stack.provider.next_id_token(mode)
        r = client.get(callback)
        assert r.status_code == 401, f"{mode}: {r.status_code} {r.text[:300]}"
        assert r.headers["content-type"].startswith("text/html")
        assert "could not verify" in r.text
        assert session_cookie(client) is None
        assert client.get(stack.app_url + "/api/v1/schools").status_code == 401
    refusals = [rec.getMessage() for rec in caplog.records if rec.name == "socialgov.auth"
                and "sign-in refused" in rec.getMessage()]
    assert refusals and reason in refusals[-1], refusals
    params = parse_qs(urlsplit(callback).query)
    for secret in (params["code"][0], params["state"][0], CLIENT_SECRET, "eyJ"):
        assert secret not in caplog.text


def test_replayed_state_is_refused(stack: Stack) -> None:
    with browser() as client:
        callback = authorize(stack, client, "priya")
        assert client.get(callback).status_code == 303
        client.cookies.clear()
        replay = client.get(callback)
        assert replay.status_code == 400
        assert "already been used" in replay.text
        assert session_cookie(client) is None


def test_state_from_another_browser_is_refused(stack: Stack) -> None:
    """Login CSRF: a callback link made in the attacker's browser does not sign the victim in."""
    with browser() as attacker, browser() as victim:
        callback = authorize(stack, attacker, "mallory")
        r = victim.get(callback)
        assert r.status_code == 400 and "did not start in this browser" in r.text
        assert session_cookie(victim) is None


def test_unknown_state_and_provider_errors_are_clear_4xx(stack: Stack) -> None:
    with browser() as client:
        r = client.get(stack.app_url + "/auth/callback", params={"state": "made-up", "code": "x"})
        assert r.status_code == 400 and '<h1 class="govuk-heading-l">Sign-in failed</h1>' in r.text
        callback = authorize(stack, client, "priya")
        params = parse_qs(urlsplit(callback).query)
        r = client.get(stack.app_url + "/auth/callback", params={"state": params["state"][0],
                                                                  "iss": params["iss"][0], "error": "access_denied"})
        assert r.status_code == 401 and "cancelled" in r.text


# --- the session: CSRF and logout ----------------------------------------------------------------------------------------


def test_cookie_writes_need_the_csrf_token_and_the_same_site(stack: Stack) -> None:
    school = stack.school_ids["oakfield"]
    url = f"{stack.app_url}/api/v1/schools/{school}/staff"
    body = {"display_name": "Rhys Evans", "email": "rhys.evans@oakfield.example", "roles": ["staff"]}
    with browser() as client:
        assert sign_in(stack, client, "priya").status_code == 303
        csrf = me(stack, client)["csrf_token"]
        assert client.post(url, json=body).status_code == 403  # cookie alone
        assert client.post(url, json=body, headers={"X-CSRF-Token": "forged"}).status_code == 403
        assert client.post(url, json=body, headers={"X-CSRF-Token": csrf, "Origin": "https://evil.example"}
                           ).status_code == 403
        assert client.post(url, json=body, headers={"X-CSRF-Token": csrf, "Sec-Fetch-Site": "cross-site"}
                           ).status_code == 403
        r = client.post(url, json=body, headers={"X-CSRF-Token": csrf, "Origin": stack.app_url,
                                                 "Sec-Fetch-Site": "same-origin"})
        assert r.status_code == 201, r.text
        # A token is tied to its session: another session's token does not work.
    with browser() as other:
        assert sign_in(stack, other, "priya").status_code == 303
        assert other.post(url, json=body | {"email": "x.y@oakfield.example"},
                          headers={"X-CSRF-Token": csrf}).status_code == 403


def test_logout_ends_the_session_on_the_server(stack: Stack) -> None:
    with browser() as client:
        assert sign_in(stack, client, "priya").status_code == 303
        token = session_cookie(client)
        assert token
        assert client.post(stack.app_url + "/auth/logout", headers={"Sec-Fetch-Site": "cross-site"}
                           ).status_code == 403  # another site cannot sign you out
        assert schools_seen(stack, client) == {URN["oakfield"]}
        r = client.post(stack.app_url + "/auth/logout", headers={"Origin": stack.app_url})
        assert r.status_code == 303 and r.headers["location"] == "/auth/signed-out"
        assert session_cookie(client) is None
        signed_out = client.get(stack.app_url + "/auth/signed-out")
        assert signed_out.status_code == 200 and "You have signed out" in signed_out.text
    with browser() as thief:  # the old cookie value is dead, not just forgotten by the browser
        thief.cookies.set("socialgov_sid", token)
        assert thief.get(stack.app_url + "/api/v1/schools").status_code == 401


def test_revoking_a_persons_sessions_signs_them_out(stack: Stack) -> None:
    with browser() as client:
        assert sign_in(stack, client, "nia").status_code == 303
        who = me(stack, client)
        store = SessionStore(stack.container.engine, stack.container.settings.secret_key)
        assert store.revoke_person(UUID(who["person_id"])) >= 1
        assert client.get(stack.app_url + "/api/v1/schools").status_code == 401


# --- production cookies, rate limiting and configuration (no browser needed) ------------------------------------------


def test_production_cookies_are_secure_and_host_prefixed(stack: Stack, tmp_path: Path) -> None:
    import base64
    import secrets

    settings = Settings(env="production", database_url=f"sqlite:///{tmp_path / 'prod.db'}",
                        master_key=base64.b64encode(secrets.token_bytes(32)).decode(), secret_key="p" * 40,
                        dev_login=False)
    c = Container(settings)
    ensure_tables(c)
    app = with_oidc_routes(create_app(settings, c))
    install(app, OidcConfig(parse_trusts([trust_config(stack.trust_id, stack.provider.issuer)],
                                         {"OAKFIELD_OIDC_SECRET": CLIENT_SECRET})))
    with TestClient(app, base_url="https://socialgov.test", raise_server_exceptions=False) as client:
        r = client.get("/auth/login", follow_redirects=False)
        assert r.status_code == 302
        cookie = next(h for h in r.headers.get_list("set-cookie") if "socialgov_login" in h)
        assert cookie.startswith("__Host-socialgov_login=") and "Secure" in cookie and "HttpOnly" in cookie
        assert "Path=/" in cookie and "Domain" not in cookie
        # In production only the __Host- cookie counts: a plain one (which a subdomain could plant) is ignored.
        _, person = c.directory.register_trust("Prod Trust", "Ada Admin", "ada@prod.example", system_actor("test"))
        token = SessionStore(c.engine, settings.secret_key).create(person, stack.trust_id, "oidc", datetime.now(UTC))
        client.cookies.set("socialgov_sid", token)
        assert client.get("/auth/session").status_code == 401
        client.cookies.clear()
        client.cookies.set("__Host-socialgov_sid", token)
        assert client.get("/auth/session").status_code == 200
    c.close()


def test_auth_endpoints_are_rate_limited(tmp_path: Path) -> None:
    c = Container(Settings(database_url=f"sqlite:///{tmp_path / 'rl.db'}"))
    ensure_tables(c)
    app = with_oidc_routes(create_app(container=c))
    install(app, OidcConfig(rate_limit=3, rate_window_seconds=60))
    with TestClient(app, raise_server_exceptions=False) as client:
        assert [client.get("/auth/signed-out").status_code for _ in range(3)] == [200, 200, 200]
        r = client.get("/auth/login", follow_redirects=False)
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert r.headers["content-type"].startswith("application/problem+json")
        assert client.post("/auth/logout", follow_redirects=False).status_code == 429
        assert client.get("/api/v1/schools").status_code == 401  # only /auth/* is limited here
    c.close()


def test_sign_in_without_configuration_says_so(tmp_path: Path) -> None:
    c = Container(Settings(database_url=f"sqlite:///{tmp_path / 'none.db'}"))
    app = with_oidc_routes(create_app(container=c))
    install(app, OidcConfig())
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/auth/login", follow_redirects=False)
        assert r.status_code == 503 and '<h1 class="govuk-heading-l">Single sign-on is not set up</h1>' in r.text
    c.close()


def test_rate_limiter_refills() -> None:
    now = [0.0]
    limiter = RateLimiter(2, 10, clock=lambda: now[0])
    assert [limiter.hit("a"), limiter.hit("a")] == [0.0, 0.0]
    assert limiter.hit("a") == pytest.approx(5.0)
    assert limiter.hit("b") == 0.0  # per address
    now[0] = 5.0
    assert limiter.hit("a") == 0.0


def test_role_mapping_rules() -> None:
    trust = parse_trusts([{
        "trust_id": "00000000-0000-0000-0000-000000000001", "issuer": "https://login.example/tenant/v2.0",
        "client_id": "c", "client_secret": "s",
        "role_mapping": [
            {"claim": "groups", "value": "g1", "school_urn": "100001", "role": "slt"},
            {"claim": "roles", "value": "DPO", "school_urn": "trust", "role": "dpo"},
            {"claim": "email_domain", "value": "Oakfield.example", "school_urn": "100001", "role": "staff"},
            {"claim": "realm_access.roles", "value": "moderator", "school_urn": "5234567", "role": "moderator"},
        ]}])[0]
    assert map_roles(trust, {"groups": ["g1", "g2"]}) == {("100001", Role.SLT)}
    assert map_roles(trust, {"groups": "g1"}) == {("100001", Role.SLT)}
    assert map_roles(trust, {"roles": ["DPO"], "email": "a@OAKFIELD.example"}) == {(None, Role.DPO),
                                                                                 ("100001", Role.STAFF)}
    assert map_roles(trust, {"email": "a@oakfield.example", "email_verified": False}) == set()
    assert map_roles(trust, {"realm_access": {"roles": ["moderator"]}}) == {("5234567", Role.MODERATOR)}
    assert map_roles(trust, {"groups": ["G1"]}) == set()  # group ids are case-sensitive
    assert verified_email({"email": "X@Y.example"}) == "x@y.example"
    assert trust.managed_pairs() == {("100001", Role.SLT), (None, Role.DPO), ("100001", Role.STAFF),
                                     ("5234567", Role.MODERATOR)}


@pytest.mark.parametrize(("change", "message"), [
    ({"issuer": "http://idp.example"}, "issuer must be an https:// URL"),
    ({"trust_id": "nope"}, "trust_id must be a UUID"),
    ({"role_mapping": [{"claim": "groups", "value": "x", "school_urn": "trust", "role": "slt"}]},
     "slt is a school role"),
    ({"role_mapping": [{"claim": "groups", "value": "x", "school_urn": "100001", "role": "trust_admin"}]},
     "trust_admin is a trust-wide role"),
    ({"role_mapping": [{"claim": "groups", "value": "x", "school_urn": "oak", "role": "staff"}]}, "URN"),
    ({"role_mapping": [{"claim": "groups", "value": "x", "school_urn": "100001", "role": "head"}]}, "role must be"),
    ({"client_secret": ""}, "client_secret must be a non-empty string"),
    ({"colour": "blue"}, "unknown field(s) colour"),
    ({"allowed_email_domains": ["not a domain"]}, "allowed_email_domains"),
])
def test_configuration_errors_name_the_field_and_never_the_secret(change: dict[str, Any], message: str) -> None:
    base = {"trust_id": "00000000-0000-0000-0000-000000000001", "issuer": "https://idp.example",
            "client_id": "c", "client_secret": "very-secret-value"}
    with pytest.raises(SettingsError, match=re.escape(message)) as e:
        parse_trusts([base | change], {}, source="oidc.json")
    assert "very-secret-value" not in str(e.value)
    assert "oidc.json: trust [0]" in str(e.value)


def test_configuration_file_and_secret_from_environment(tmp_path: Path) -> None:
    path = tmp_path / "oidc.json"
    path.write_text(json.dumps({"trusts": [{"trust_id": "00000000-0000-0000-0000-000000000002",
                                            "issuer": "https://idp.example", "client_id": "c",
                                            "client_secret_env": "MY_SECRET"}]}))
    config = load_oidc_config({"SOCIALGOV_OIDC_CONFIG": str(path), "MY_SECRET": "from-env",
                               "SOCIALGOV_SESSION_HOURS": "4", "SOCIALGOV_AUTH_RATE_LIMIT": "10/30"})
    assert config.trusts[0].client_secret == "from-env" and "from-env" not in repr(config)
    assert (config.session_hours, config.rate_limit, config.rate_window_seconds) == (4, 10, 30)
    assert config.trusts[0].scopes == ("openid", "email", "profile")
    with pytest.raises(SettingsError, match="MY_SECRET is not set"):
        load_oidc_config({"SOCIALGOV_OIDC_CONFIG": str(path)})
    path.write_text("{not json")
    with pytest.raises(SettingsError, match="not valid JSON"):
        load_oidc_config({"SOCIALGOV_OIDC_CONFIG": str(path)})
    assert load_oidc_config({}).trusts == ()


def test_return_paths_stay_on_this_site() -> None:
    assert safe_return_to("/api/v1/schools?x=1") == "/api/v1/schools?x=1"
    for bad in (None, "", "https://evil.example/", "//evil.example", "/\\evil.example", "javascript:alert(1)",
                "/auth/login", "/x\r\nSet-Cookie: a=b"):
        assert safe_return_to(bad) == "/"


def test_startup_hook_reads_the_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "broken.json"
    path.write_text(json.dumps([{"trust_id": "x"}]))
    monkeypatch.setenv("SOCIALGOV_OIDC_CONFIG", str(path))
    c = Container(Settings(database_url=f"sqlite:///{tmp_path / 'startup.db'}"))
    try:
        with pytest.raises(SettingsError, match="trust_id must be a UUID"):
            oidc_startup(create_app(container=c))
    finally:
        c.close()


def test_sessions_expire_when_idle_and_at_their_end(container: Container) -> None:
    """On both databases (the conftest container: SQLite and PostgreSQL)."""
    ensure_tables(container)
    store = SessionStore(container.engine, "k" * 40, lifetime=timedelta(hours=8), idle=timedelta(minutes=30))
    t0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    person, trust = uuid4(), uuid4()
    token = store.create(person, trust, "oidc", t0)
    assert store.get(token, t0 + timedelta(minutes=29)) is not None  # and touched
    assert store.get(token, t0 + timedelta(minutes=58)) is not None  # 29 min after the last use
    assert store.get(token, t0 + timedelta(minutes=89)) is None  # idle 31 min: gone for good
    assert store.get(token, t0 + timedelta(minutes=90)) is None
    long = store.create(person, trust, "oidc", t0)
    for minutes in range(20, 8 * 60, 20):
        assert store.get(long, t0 + timedelta(minutes=minutes)) is not None
    assert store.get(long, t0 + timedelta(hours=8)) is None  # the absolute end, however busy
    assert store.csrf_valid(token, store.csrf_token(token)) and not store.csrf_valid(token, None)
    assert store.csrf_token(token) != store.csrf_token(long)
    assert store.get("", t0) is None and store.get("x" * 500, t0) is None


def test_a_pending_sign_in_is_taken_once_and_subjects_link_one_to_one(container: Container) -> None:
    ensure_tables(container)
    t0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    pending = PendingLogins(container.engine, ttl=timedelta(minutes=10))
    trust = uuid4()
    pending.put("state-1", "browser-1", trust, "nonce", "v" * 64, "/", t0)
    got = pending.take("state-1", t0 + timedelta(minutes=1))
    assert got is not None and got.nonce == "nonce" and got.started_by("browser-1") and not got.started_by("b2")
    assert pending.take("state-1", t0 + timedelta(minutes=1)) is None  # replay
    pending.put("state-2", "browser-1", trust, "nonce", "v" * 64, "/", t0)
    assert pending.take("state-2", t0 + timedelta(minutes=10)) is None  # expired
    links = IdentityLinks(container.engine)
    alice, bob = uuid4(), uuid4()
    assert links.link(trust, "https://idp", "sub-a", alice, "a@x.example", t0)
    assert links.link(trust, "https://idp", "sub-a", alice, "a@x.example", t0)  # idempotent
    assert not links.link(trust, "https://idp", "sub-a", bob, None, t0)  # a subject is one person
    assert not links.link(trust, "https://idp", "sub-b", alice, None, t0)  # a person has one subject per issuer
    assert links.person_for(trust, "https://idp", "sub-a") == alice
    assert links.subject_for(trust, "https://idp", alice) == "sub-a"
    assert links.person_for(uuid4(), "https://idp", "sub-a") is None  # per trust
