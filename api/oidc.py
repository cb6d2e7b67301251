"""Single sign-on with each trust's OpenID Connect provider (authlib): authorization code + PKCE, state and nonce.

    GET  /auth/login[?trust=<id>][&next=/path]   start: a pending sign-in is stored server-side (state, nonce,
                                                 PKCE verifier, bound to this browser by a cookie); redirect to
                                                 the provider's authorization endpoint from its discovery document
    GET  /auth/callback?code&state[&iss]         finish: the state is taken once (a replay finds nothing), the code
                                                 is exchanged with the verifier, the ID token's signature (provider's
                                                 JWKS), issuer, audience, expiry and nonce are checked; the person
                                                 is matched by subject, then by email; claims set their roles; a
                                                 server-side session starts
    POST /auth/logout                            (api/web.py) ends the session: see `logout_response`
    GET  /auth/signed-out                        the page after signing out
    GET  /auth/session                           JSON: who is signed in and the CSRF token for cookie writes

A person whose claims map to no role sees a 'no access' page (403), never an error. Every refusal is logged with
a reason and never with a token, code, state, nonce, verifier or secret. All /auth/* answers are rate limited per
client address. Decisions: docs/decisions/0018-oidc.md.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit
from uuid import UUID

import httpx
from authlib.common.security import generate_token
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from litestar import Litestar, Request, Response, get
from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException, TooManyRequestsException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromQuery, QueryParameter
from litestar.response import Redirect, Template
from sqlalchemy import select

from domain.errors import InvalidInput
from domain.events import Actor, ActorKind
from domain.person import Person
from domain.values import Role
from infra.logs import request_id_var
from infra.oidc_config import OidcConfig, TrustOidc, load_oidc_config
from infra.sessions import IdentityLinks, PendingLogins, Session, SessionStore
from services import readmodel as rm
from services.eventstore import ConcurrencyConflict
from services.identity import principal_for_person
from services.ids import new_id
from services.ports import today_in_london
from services.queries import ReadModelLookups

with warnings.catch_warnings():
    # authlib 1.9 prefers the `httpx2` distribution and warns when it falls back to httpx (what we ship).
    import authlib.deprecate

    warnings.simplefilter("ignore", authlib.deprecate.AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import OAuth2Client, OAuthError

log = logging.getLogger("socialgov.auth")

SID_COOKIE = "socialgov_sid"
SID_COOKIE_SECURE = "__Host-socialgov_sid"  # __Host-: Secure, Path=/, no Domain: no subdomain can plant one
LOGIN_COOKIE = "socialgov_login"
LOGIN_COOKIE_SECURE = "__Host-socialgov_login"
DEV_COOKIE = "socialgov_session"  # api.auth.SESSION_COOKIE (the development persona picker's JWT)
CSRF_HEADER = "x-csrf-token"
AUTH_METHOD = "oidc"
#: Only asymmetric signatures: 'none' and HMAC (keyed with the client secret) are never accepted.
ID_TOKEN_ALGS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
LEEWAY_SECONDS = 60
HTTP_TIMEOUT = 10.0


class SignInRefused(Exception):
    """A sign-in that must not complete. `reason` goes to the log; `message` to the person."""

    def __init__(self, status: int, reason: str, message: str, title: str = "Sign-in failed") -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.message = message
        self.title = title


class NoAccess(SignInRefused):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(403, reason, message, "You do not have access to SocialGov")


# --- the provider: discovery document and keys -------------------------------------------------------------------


class ProviderDirectory:
    """Discovery documents and JWKS per issuer, cached; keys are re-fetched when a token names an unknown kid."""

    def __init__(self, ttl: float = 3600.0, min_refresh: float = 30.0) -> None:
        self.ttl = ttl
        self.min_refresh = min_refresh
        self._lock = threading.Lock()
        self._metadata: dict[str, tuple[float, dict[str, Any]]] = {}
        self._keys: dict[str, tuple[float, KeySet]] = {}

    @staticmethod
    def _get_json(url: str) -> dict[str, Any]:
        try:
            response = httpx.get(url, timeout=HTTP_TIMEOUT, follow_redirects=False,
                                 headers={"accept": "application/json"})
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as e:
            raise SignInRefused(502, f"provider unreachable: {type(e).__name__} on {urlsplit(url).path}",
                                "Your organisation's sign-in service could not be reached. Try again in a "
                                "few minutes.", "Sign-in service unavailable") from None
        if not isinstance(body, dict):
            raise SignInRefused(502, f"provider sent a non-object on {urlsplit(url).path}",
                                "Your organisation's sign-in service answered unexpectedly.",
                                "Sign-in service unavailable")
        return body

    def metadata(self, issuer: str) -> dict[str, Any]:
        now = time.monotonic()
        with self._lock:
            cached = self._metadata.get(issuer)
        if cached and now - cached[0] < self.ttl:
            return cached[1]
        doc = self._get_json(issuer.rstrip("/") + "/.well-known/openid-configuration")
        if doc.get("issuer") != issuer:  # OpenID Connect Discovery 1.0, section 4.3: exactly the configured issuer
            raise SignInRefused(502, "discovery document names another issuer",
                                "Your organisation's sign-in service is misconfigured (issuer mismatch).",
                                "Sign-in service misconfigured")
        for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(doc.get(key), str) or urlsplit(doc[key]).scheme not in ("https", "http"):
                raise SignInRefused(502, f"discovery document lacks {key}",
                                    "Your organisation's sign-in service is misconfigured.",
                                    "Sign-in service misconfigured")
            if urlsplit(doc[key]).scheme == "http" and urlsplit(issuer).scheme == "https":
                raise SignInRefused(502, f"discovery document has a plain-http {key}",
                                    "Your organisation's sign-in service is misconfigured.",
                                    "Sign-in service misconfigured")
        with self._lock:
            self._metadata[issuer] = (now, doc)
        return doc

    def keys(self, issuer: str, metadata: dict[str, Any], refresh: bool = False) -> KeySet:
        now = time.monotonic()
        with self._lock:
            cached = self._keys.get(issuer)
        if cached and (now - cached[0] < self.ttl) and not (refresh and now - cached[0] >= self.min_refresh):
            return cached[1]
        raw = self._get_json(metadata["jwks_uri"])
        try:
            keys = KeySet.import_key_set(raw)  # type: ignore[arg-type]
        except (JoseError, ValueError, KeyError, TypeError):
            raise SignInRefused(502, "provider JWKS unusable", "Your organisation's sign-in service sent keys "
                                "SocialGov cannot use.", "Sign-in service misconfigured") from None
        with self._lock:
            self._keys[issuer] = (now, keys)
        return keys


def verify_id_token(id_token: str, *, trust: TrustOidc, metadata: dict[str, Any], keys: KeySet, nonce: str,
                    now: int, access_token: str | None = None, refetch_keys: Any = None,
                    leeway: int = LEEWAY_SECONDS) -> dict[str, Any]:
    """The ID token's claims once its signature (the provider's keys, asymmetric algorithms only), issuer,
    audience (exactly our client), expiry, issue time, nonce, azp and at_hash have been checked; else SignInRefused."""
    offered = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = [a for a in ID_TOKEN_ALGS if a in offered]
    if not algorithms:
        raise SignInRefused(502, "provider offers no asymmetric ID token algorithm",
                            "Your organisation's sign-in service is misconfigured.", "Sign-in service misconfigured")
    try:
        try:
            token = jwt.decode(id_token, keys, algorithms=algorithms)
        except InvalidKeyIdError:
            if refetch_keys is None:
                raise
            token = jwt.decode(id_token, refetch_keys(), algorithms=algorithms)
        options: dict[str, Any] = {
            "iss": {"essential": True, "value": trust.issuer},
            "aud": {"essential": True, "value": trust.client_id},
            "sub": {"essential": True},
            "exp": {"essential": True},
            "iat": {"essential": True},
            "nonce": {"essential": True, "value": nonce},
        }
        claims = CodeIDToken(token.claims, token.header, options,
                             {"nonce": nonce, "client_id": trust.client_id, "access_token": access_token})
        claims.validate(now=now, leeway=leeway)
        aud = claims["aud"]
        if isinstance(aud, list) and set(aud) != {trust.client_id}:
            raise SignInRefused(401, "id_token: untrusted additional audiences", _UNVERIFIED)
        if not isinstance(claims["sub"], str) or not 0 < len(claims["sub"]) <= 255:
            raise SignInRefused(401, "id_token: unusable subject", _UNVERIFIED)
        return dict(claims)
    except JoseError as e:
        raise SignInRefused(401, f"id_token rejected: {type(e).__name__}: {e.description or e.error}",
                            _UNVERIFIED) from None
    except (ValueError, TypeError, KeyError) as e:
        raise SignInRefused(401, f"id_token malformed: {type(e).__name__}", _UNVERIFIED) from None


_UNVERIFIED = ("SocialGov could not verify the answer from your organisation's sign-in service, so you have not "
               "been signed in. Start again; if it keeps happening, tell your trust's IT team.")


# --- claims -> roles ---------------------------------------------------------------------------------------------


def verified_email(claims: dict[str, Any]) -> str | None:
    """The email claim, lower-cased, unless the provider says it is unverified."""
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email or claims.get("email_verified") is False:
        return None
    return email.strip().lower()


def claim_values(claims: dict[str, Any], name: str) -> list[str]:
    if name == "email_domain":
        email = verified_email(claims)
        return [email.rsplit("@", 1)[1]] if email else []
    current: Any = claims
    for part in name.split("."):
        current = current.get(part) if isinstance(current, dict) else None
    items = current if isinstance(current, list) else [current]
    out = []
    for item in items:
        if isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, (str, int)):
            out.append(str(item))
    return out


def map_roles(trust: TrustOidc, claims: dict[str, Any]) -> set[tuple[str | None, Role]]:
    """(school URN or None for the trust, role) for every rule the claims satisfy."""
    granted: set[tuple[str | None, Role]] = set()
    for rule in trust.role_mapping:
        values = claim_values(claims, rule.claim)
        if rule.claim == "email_domain":
            values = [v.lower() for v in values]
            matches = rule.value.lower() in values
        else:
            matches = rule.value in values
        if matches:
            granted.add((rule.school_urn, rule.role))
    return granted


def display_name(claims: dict[str, Any], email: str | None) -> str:
    name = claims.get("name")
    if not isinstance(name, str) or not name.strip():
        parts = [claims.get("given_name"), claims.get("family_name")]
        name = " ".join(p for p in parts if isinstance(p, str) and p.strip())
    if not name and email:
        name = email.split("@", 1)[0].replace(".", " ").title()
    return " ".join(str(name or "Unnamed user").split())[:200]


# --- the runtime: configuration and stores, one per app ---------------------------------------------------------


class RateLimiter:
    """A token bucket per client address: `limit` requests, refilled evenly over `window` seconds."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.rate = limit / window
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> float:
        """0 if allowed; otherwise the seconds until the next request would be."""
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.limit), now))
            tokens = min(float(self.limit), tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                if len(self._buckets) > 10_000:
                    self._prune(now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.rate

    def _prune(self, now: float) -> None:
        full = [k for k, (t, last) in self._buckets.items() if t + (now - last) * self.rate >= self.limit]
        for k in full:
            del self._buckets[k]


@dataclass
class OidcRuntime:
    container: Any
    config: OidcConfig
    providers: ProviderDirectory = field(default_factory=ProviderDirectory)

    def __post_init__(self) -> None:
        c = self.container
        self.sessions = SessionStore(c.engine, c.settings.secret_key, timedelta(hours=self.config.session_hours),
                                     timedelta(minutes=self.config.session_idle_minutes))
        self.pending = PendingLogins(c.engine)
        self.links = IdentityLinks(c.engine)
        self.limiter = RateLimiter(self.config.rate_limit, self.config.rate_window_seconds)
        self.lookups = ReadModelLookups(c.engine)
        self.admit_lock = threading.Lock()

    def now(self) -> datetime:
        now = self.container.clock.now()
        assert isinstance(now, datetime)
        return now


_runtime_lock = threading.Lock()


def oidc_runtime(app: Litestar) -> OidcRuntime:
    """The app's OIDC runtime, built from the environment the first time it is needed (or at startup)."""
    runtime = getattr(app.state, "oidc", None)
    if runtime is None:
        with _runtime_lock:
            runtime = getattr(app.state, "oidc", None)
            if runtime is None:
                runtime = OidcRuntime(app.state.container, load_oidc_config())
                app.state.oidc = runtime
    assert isinstance(runtime, OidcRuntime)
    return runtime


def install(app: Litestar, config: OidcConfig) -> OidcRuntime:
    """Uses `config` instead of the environment's (tests, embedding)."""
    runtime = OidcRuntime(app.state.container, config)
    app.state.oidc = runtime
    return runtime


def oidc_startup(app: Litestar) -> None:
    """on_startup hook: reads and validates SOCIALGOV_OIDC_CONFIG now, so a broken file stops the app starting."""
    runtime = oidc_runtime(app)
    settings = runtime.container.settings
    if settings.is_production and not runtime.config.trusts:
        log.warning("no trust is configured for single sign-on (SOCIALGOV_OIDC_CONFIG): nobody can sign in to "
                    "the web UI")
    for trust in runtime.config.trusts:
        if settings.is_production and (trust.redirect_uri is None or not trust.redirect_uri.startswith("https://")):
            log.warning("trust %s has no https redirect_uri in SOCIALGOV_OIDC_CONFIG: the callback URL is derived "
                        "from each request, which behind a proxy may not be the one registered", trust.trust_id)


# --- cookies, sessions and CSRF (used by api/auth.py and api/web.py) ----------------------------------------------


def secure_cookies(request: Request[Any, Any, Any]) -> bool:
    return bool(request.app.state.container.settings.is_production) or request.url.scheme == "https"


def _read_cookie(request: Request[Any, Any, Any], plain: str, prefixed: str) -> str | None:
    if request.app.state.container.settings.is_production:
        return request.cookies.get(prefixed)
    return request.cookies.get(prefixed) or request.cookies.get(plain)


def _set_cookie(request: Request[Any, Any, Any], response: Response[Any], plain: str, prefixed: str, value: str,
                max_age: int) -> None:
    secure = secure_cookies(request)
    response.set_cookie(prefixed if secure else plain, value, max_age=max_age, path="/", secure=secure,
                        httponly=True, samesite="lax")


def _clear_cookie(request: Request[Any, Any, Any], response: Response[Any], plain: str, prefixed: str) -> None:
    if prefixed in request.cookies:
        response.set_cookie(prefixed, "", max_age=0, path="/", secure=True, httponly=True, samesite="lax")
    if plain in request.cookies:
        response.set_cookie(plain, "", max_age=0, path="/", secure=False, httponly=True, samesite="lax")


def session_for_request(request: Request[Any, Any, Any]) -> tuple[str, Session] | None:
    """The live server-side session the request's cookie names, if any."""
    token = _read_cookie(request, SID_COOKIE, SID_COOKIE_SECURE)
    if not token:
        return None
    runtime = oidc_runtime(request.app)
    session = runtime.sessions.get(token, runtime.now())
    return (token, session) if session is not None else None


def same_origin(request: Request[Any, Any, Any]) -> bool | None:
    """True/False when the browser told us (Sec-Fetch-Site, else Origin); None when it did not."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site == "same-origin"
    origin = request.headers.get("origin")
    if origin is not None:
        return origin != "null" and urlsplit(origin).netloc == request.headers.get("host", "")
    return None


def check_csrf(request: Request[Any, Any, Any], token: str) -> None:
    """A write authenticated by the session cookie must carry the session's CSRF token in X-CSRF-Token and must
    not come from another site; else 403."""
    if same_origin(request) is False:
        log.warning("csrf: cross-site %s %s refused", request.method, request.url.path)
        raise PermissionDeniedException("cross-site request refused (CSRF protection)")
    if not oidc_runtime(request.app).sessions.csrf_valid(token, request.headers.get(CSRF_HEADER)):
        log.warning("csrf: %s %s without a valid X-CSRF-Token refused", request.method, request.url.path)
        raise PermissionDeniedException("a cookie-authenticated write needs the X-CSRF-Token header from "
                                        "GET /auth/session (CSRF protection)")


def csrf_token_for(request: Request[Any, Any, Any]) -> str | None:
    """The CSRF token for the request's session (for templates: a hidden csrf_token field or a meta tag)."""
    found = session_for_request(request)
    return oidc_runtime(request.app).sessions.csrf_token(found[0]) if found else None


def logout_response(request: Request[Any, Any, Any], form_token: str | None = None) -> Response[Any]:
    """POST /auth/logout: ends the server-side session and clears every session cookie. Refused (403) when the
    browser says the form came from another site or, lacking Fetch Metadata and Origin, without the CSRF token."""
    found = session_for_request(request)
    origin_ok = same_origin(request)
    token_ok = bool(found) and oidc_runtime(request.app).sessions.csrf_valid(
        found[0] if found else "", form_token or request.headers.get(CSRF_HEADER))
    if origin_ok is False or (origin_ok is None and not token_ok and (found or DEV_COOKIE in request.cookies)):
        log.warning("csrf: logout without same-origin evidence refused")
        raise PermissionDeniedException("sign-out must come from a SocialGov page (CSRF protection)")
    raw = _read_cookie(request, SID_COOKIE, SID_COOKIE_SECURE)
    if raw:
        oidc_runtime(request.app).sessions.revoke(raw)
    response: Response[Any] = Redirect("/auth/signed-out" if found else "/", status_code=303)
    _clear_cookie(request, response, SID_COOKIE, SID_COOKIE_SECURE)
    if DEV_COOKIE in request.cookies:
        response.delete_cookie(DEV_COOKIE, path="/")
    if found:
        log.info("signed out: person=%s", found[1].person_id)
    return response


# --- rate limiting (guard for every /auth/* handler) -------------------------------------------------------------


def client_address(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    return connection.client.host if connection.client else "unknown"


def auth_rate_limit(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    wait = oidc_runtime(connection.app).limiter.hit(client_address(connection))
    if wait > 0:
        log.warning("rate limit: %s %s from %s refused", connection.scope.get("method"), connection.url.path,
                    client_address(connection))
        raise TooManyRequestsException("too many sign-in requests from your address; wait and try again",
                                       headers={"Retry-After": str(max(1, math.ceil(wait)))})


def _too_many(request: Request[Any, Any, Any], exc: TooManyRequestsException) -> Response[Any]:
    return Response({"type": "https://socialgov.example/problems/rate-limited", "title": "Too many requests",
                     "status": 429, "detail": str(exc.detail)}, status_code=429, media_type="application/problem+json",
                    headers=dict(exc.headers or {}))


AUTH_GUARDS = [auth_rate_limit]
AUTH_EXCEPTION_HANDLERS: dict[Any, Any] = {TooManyRequestsException: _too_many}


# --- pages -------------------------------------------------------------------------------------------------------

_PAGE = """{% extends "base.html" %}
{% block title %}{{ title }}{% endblock %}
{% block main %}
<h1 class="govuk-heading-l">{{ title }}</h1>
{% for p in paragraphs %}<p class="govuk-body">{{ p }}</p>
{% endfor %}
{% if trusts %}<ul class="govuk-list trusts">
{% for t in trusts %}  <li><a class="govuk-link" href="{{ t.href }}">{{ t.label }}</a></li>
{% endfor %}</ul>{% endif %}
{% if link %}<p class="govuk-body"><a class="govuk-link" href="{{ link.href }}">{{ link.text }}</a></p>{% endif %}
{% endblock %}"""


def page(title: str, *paragraphs: str, status: int = 200, link: tuple[str, str] | None = None,
         trusts: list[dict[str, str]] | None = None) -> Template:
    return Template(template_str=_PAGE, status_code=status,
                    headers={"Cache-Control": "no-store"},
                    context={"title": title, "paragraphs": paragraphs, "principal": None, "trusts": trusts or [],
                             "link": {"href": link[0], "text": link[1]} if link else None})


def safe_return_to(value: str | None) -> str:
    """A local path to go back to after signing in; anything else (other sites, //host, \\, auth pages) is '/'."""
    if not value or len(value) > 500 or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    if any(ch in value for ch in "\\\r\n\t") or not value.isprintable() or value.startswith("/auth/"):
        return "/"
    parts = urlsplit(value)
    return value if not parts.scheme and not parts.netloc else "/"


def _redirect_uri(request: Request[Any, Any, Any], trust: TrustOidc) -> str:
    return trust.redirect_uri or str(request.url.with_replacements(path="/auth/callback", query=""))


def _oauth_client(trust: TrustOidc, redirect_uri: str) -> OAuth2Client:
    return OAuth2Client(client_id=trust.client_id, client_secret=trust.client_secret,
                        token_endpoint_auth_method=trust.token_endpoint_auth_method, scope=" ".join(trust.scopes),
                        redirect_uri=redirect_uri, code_challenge_method="S256", timeout=HTTP_TIMEOUT,
                        follow_redirects=False)


def _refuse(request: Request[Any, Any, Any], refusal: SignInRefused, trust: TrustOidc | None) -> Response[Any]:
    log.warning("sign-in refused (%s): %s; trust=%s issuer=%s client=%s", refusal.status, refusal.reason,
                trust.trust_id if trust else None, trust.issuer if trust else None, client_address(request))
    if isinstance(refusal, NoAccess):
        response: Response[Any] = page(refusal.title, refusal.message,
                                       "If you think you should have access, ask your school's SocialGov "
                                       "administrator or your trust's central team to add you to the right group "
                                       "in your organisation's directory, then sign in again.",
                                       status=403, link=("/auth/login", "Sign in with a different account"))
    else:
        response = page(refusal.title, refusal.message, status=refusal.status,
                        link=("/auth/login", "Start signing in again"))
    return response  # the login cookie stays: a forged callback must not end the browser's own pending sign-in


# --- handlers ----------------------------------------------------------------------------------------------------


@get("/auth/login", sync_to_thread=True, include_in_schema=False, guards=AUTH_GUARDS,
     exception_handlers=AUTH_EXCEPTION_HANDLERS)
def login(request: Request[Any, Any, Any], trust: FromQuery[str | None] = None,
          next: FromQuery[str | None] = None) -> Response[Any]:
    runtime = oidc_runtime(request.app)
    trusts = runtime.config.trusts
    return_to = safe_return_to(next)
    if not trusts:
        return page("Single sign-on is not set up",
                    "This SocialGov installation has no organisation sign-in configured yet. Tell your trust's IT "
                    "team (SOCIALGOV_OIDC_CONFIG).", status=503)
    chosen: TrustOidc | None = None
    if trust is not None:
        try:
            chosen = runtime.config.trust(UUID(trust))
        except ValueError:
            chosen = None
        if chosen is None:
            return page("Unknown organisation", "That organisation does not sign in here.", status=404,
                        link=("/auth/login", "Choose your organisation"))
    elif len(trusts) == 1:
        chosen = trusts[0]
    else:
        options = [{"label": t.label, "href": "/auth/login?" + urlencode({"trust": str(t.trust_id), "next": return_to})}
                   for t in sorted(trusts, key=lambda t: t.label)]
        return page("Sign in to SocialGov", "Choose your organisation to sign in with its account.", trusts=options)
    try:
        metadata = runtime.providers.metadata(chosen.issuer)
    except SignInRefused as refusal:
        return _refuse(request, refusal, chosen)
    browser = _read_cookie(request, LOGIN_COOKIE, LOGIN_COOKIE_SECURE) or generate_token(43)
    if len(browser) > 100:
        browser = generate_token(43)
    state, nonce, verifier = generate_token(43), generate_token(43), generate_token(64)
    redirect_uri = _redirect_uri(request, chosen)
    with _oauth_client(chosen, redirect_uri) as client:
        url, _ = client.create_authorization_url(metadata["authorization_endpoint"], state=state,
                                                 code_verifier=verifier, nonce=nonce)
    runtime.pending.put(state, browser, chosen.trust_id, nonce, verifier, return_to, runtime.now())
    response: Response[Any] = Redirect(url, status_code=302, headers={"Cache-Control": "no-store"})
    _set_cookie(request, response, LOGIN_COOKIE, LOGIN_COOKIE_SECURE, browser, int(runtime.pending.ttl.total_seconds()))
    return response


@get("/auth/callback", sync_to_thread=True, include_in_schema=False, guards=AUTH_GUARDS,
     exception_handlers=AUTH_EXCEPTION_HANDLERS)
def callback(request: Request[Any, Any, Any], oauth_state: Annotated[str | None, QueryParameter(name="state")] = None,
             code: FromQuery[str | None] = None, error: FromQuery[str | None] = None,
             iss: FromQuery[str | None] = None) -> Response[Any]:
    runtime = oidc_runtime(request.app)
    now = runtime.now()
    pending = runtime.pending.take(oauth_state or "", now)
    trust = runtime.config.trust(pending.trust_id) if pending else None
    try:
        if pending is None or trust is None:
            raise SignInRefused(400, "unknown, expired or already used state",
                                "This sign-in link has expired or has already been used. Start again.")
        if not pending.started_by(_read_cookie(request, LOGIN_COOKIE, LOGIN_COOKIE_SECURE)):
            raise SignInRefused(400, "state was issued to another browser",
                                "This sign-in did not start in this browser. Start again.")
        metadata = runtime.providers.metadata(trust.issuer)
        if (iss is not None and iss != trust.issuer) or (
                iss is None and metadata.get("authorization_response_iss_parameter_supported") is True):
            raise SignInRefused(400, "authorization response from another issuer (RFC 9207)",
                                "The answer did not come from your organisation's sign-in service. Start again.")
        if error:
            cancelled = error in ("access_denied", "login_required", "interaction_required", "consent_required")
            raise SignInRefused(401, f"provider returned error={error[:40]!r}",
                                "Sign-in was cancelled or refused by your organisation's sign-in service."
                                if cancelled else "Your organisation's sign-in service refused the sign-in.")
        if not code:
            raise SignInRefused(400, "no authorization code", "The sign-in answer was incomplete. Start again.")
        token = _exchange(trust, metadata, code, pending.code_verifier, _redirect_uri(request, trust))
        claims = verify_id_token(str(token.get("id_token") or ""), trust=trust, metadata=metadata,
                                 keys=runtime.providers.keys(trust.issuer, metadata), nonce=pending.nonce,
                                 now=int(now.timestamp()), access_token=token.get("access_token"),
                                 refetch_keys=lambda: runtime.providers.keys(trust.issuer, metadata, refresh=True))
        person_id = admit(runtime, trust, claims)
    except SignInRefused as refusal:
        return _refuse(request, refusal, trust)
    old = _read_cookie(request, SID_COOKIE, SID_COOKIE_SECURE)
    if old:
        runtime.sessions.revoke(old)  # a fresh session id at every sign-in (no fixation)
    session = runtime.sessions.create(person_id, trust.trust_id, AUTH_METHOD, now, trust.issuer, claims["sub"])
    log.info("signed in: person=%s trust=%s method=oidc", person_id, trust.trust_id)
    response: Response[Any] = Redirect(pending.return_to if pending else "/", status_code=303,
                                       headers={"Cache-Control": "no-store"})
    _set_cookie(request, response, SID_COOKIE, SID_COOKIE_SECURE, session,
                int(runtime.sessions.lifetime.total_seconds()))
    _clear_cookie(request, response, LOGIN_COOKIE, LOGIN_COOKIE_SECURE)
    if DEV_COOKIE in request.cookies:
        response.delete_cookie(DEV_COOKIE, path="/")
    return response


def _exchange(trust: TrustOidc, metadata: dict[str, Any], code: str, verifier: str,
              redirect_uri: str) -> dict[str, Any]:
    try:
        with _oauth_client(trust, redirect_uri) as client:
            token = client.fetch_token(metadata["token_endpoint"], grant_type="authorization_code", code=code,
                                       code_verifier=verifier, redirect_uri=redirect_uri)
    except OAuthError as e:
        raise SignInRefused(401, f"token endpoint refused the code: {str(e.error)[:60]}", _UNVERIFIED) from None
    except (httpx.HTTPError, ValueError) as e:
        raise SignInRefused(502, f"token endpoint failed: {type(e).__name__}",
                            "Your organisation's sign-in service could not be reached. Try again in a few minutes.",
                            "Sign-in service unavailable") from None
    if not isinstance(token, dict) or not token.get("id_token"):
        raise SignInRefused(401, "token response without an id_token", _UNVERIFIED)
    return dict(token)


@get("/auth/signed-out", sync_to_thread=False, include_in_schema=False, guards=AUTH_GUARDS,
     exception_handlers=AUTH_EXCEPTION_HANDLERS)
def signed_out() -> Template:
    return page("You have signed out", "You have signed out of SocialGov. Your organisation account may still be "
                "signed in on this device: close the browser if it is shared.", link=("/auth/login", "Sign in again"))


@get("/auth/session", sync_to_thread=True, include_in_schema=False, guards=AUTH_GUARDS,
     exception_handlers=AUTH_EXCEPTION_HANDLERS)
def session_info(request: Request[Any, Any, Any]) -> Response[Any]:
    found = session_for_request(request)
    if found is None:
        return Response({"type": "https://socialgov.example/problems/unauthenticated",
                         "title": "Authentication required", "status": 401, "detail": "no session"},
                        status_code=401, media_type="application/problem+json")
    token, session = found
    runtime = oidc_runtime(request.app)
    c = runtime.container
    principal = principal_for_person(c.engine, session.person_id, session.auth_method, today=c.today())
    if principal is None:
        runtime.sessions.revoke(token)
        return Response({"type": "https://socialgov.example/problems/unauthenticated",
                         "title": "Authentication required", "status": 401, "detail": "no access"},
                        status_code=401, media_type="application/problem+json")
    return Response({"person_id": str(session.person_id), "display_name": principal.display_name,
                     "trust_id": str(session.trust_id), "auth_method": session.auth_method,
                     "expires_at": session.expires_at.isoformat(), "csrf_token": runtime.sessions.csrf_token(token)},
                    headers={"Cache-Control": "no-store"})


OIDC_HANDLERS = [login, callback, signed_out, session_info]


# --- matching the person and applying the claims' roles ---------------------------------------------------------


def _resolve(runtime: OidcRuntime, trust: TrustOidc,
             pairs: Iterable[tuple[str | None, Role]]) -> set[tuple[UUID | None, Role]]:
    out: set[tuple[UUID | None, Role]] = set()
    for urn, role in pairs:
        if urn is None:
            out.add((None, role))
            continue
        school_id = runtime.lookups.school_id_by_urn(trust.trust_id, urn)
        if school_id is None:
            log.warning("oidc role mapping names URN %s, which is not a school of trust %s: rule ignored", urn,
                        trust.trust_id)
        else:
            out.add((school_id, role))
    return out


def admit(runtime: OidcRuntime, trust: TrustOidc, claims: dict[str, Any]) -> UUID:
    """The person these verified claims sign in as, with their roles brought in line with the claims; or NoAccess.

    Matching: the (trust, issuer, subject) link first, then the verified email within the trust (and the link is
    made). Someone unknown is created when the claims grant a role and the trust allows provisioning. The mapping
    owns the (school, role) pairs it names: sign-in grants those the claims give and revokes those they no longer
    give; roles granted any other way are left alone.
    """
    subject = str(claims["sub"])
    email = verified_email(claims)
    if trust.allowed_email_domains and (email is None or email.rsplit("@", 1)[1] not in trust.allowed_email_domains):
        raise NoAccess("email domain not allowed for this trust",
                       "Your account is not one of your trust's accounts. Sign in with your school or trust "
                       "account.")
    with runtime.admit_lock:
        for attempt in range(3):
            try:
                return _admit(runtime, trust, claims, subject, email)
            except ConcurrencyConflict:
                if attempt == 2:
                    raise SignInRefused(503, "directory busy (concurrency conflict)", "Please try again.",
                                        "Try again") from None
    raise AssertionError("unreachable")  # pragma: no cover


def _admit(runtime: OidcRuntime, trust: TrustOidc, claims: dict[str, Any], subject: str, email: str | None) -> UUID:
    c = runtime.container
    now = runtime.now()
    desired = _resolve(runtime, trust, map_roles(trust, claims))
    managed = _resolve(runtime, trust, trust.managed_pairs())
    actor = Actor(ActorKind.SYSTEM, None, f"single sign-on ({trust.label})", None, AUTH_METHOD, request_id_var.get())
    person_id = runtime.links.person_for(trust.trust_id, trust.issuer, subject)
    linked = person_id is not None
    if person_id is None and email:
        person_id = runtime.lookups.person_id_by_email(trust.trust_id, email)
        if person_id is not None:
            other = runtime.links.subject_for(trust.trust_id, trust.issuer, person_id)
            if other is not None and other != subject:
                raise NoAccess("email matches a person linked to another subject",
                               "Your email address belongs to a SocialGov user who signs in with a different "
                               "account. Sign in with that account.")
    if person_id is None:
        if not desired:
            raise NoAccess("claims map to no role (unknown person)", _NO_ROLE)
        if not trust.provision or not email:
            raise NoAccess("unknown person and provisioning is off or no verified email", _NOT_KNOWN)
        person_id = _provision(c, trust, claims, email, desired, actor, now)
    else:
        with c.engine.connect() as conn:
            row = conn.execute(select(rm.people.c.trust_id, rm.people.c.status, rm.people.c.leaving_date)
                               .where(rm.people.c.id == person_id)).first()
        today = today_in_london(c.clock)
        if row is None or row.trust_id != trust.trust_id:
            raise NoAccess("linked person not found in this trust", _NOT_KNOWN)
        if row.status != "active" or (row.leaving_date is not None and today >= row.leaving_date):
            raise NoAccess("person has left or is inactive", _NO_ROLE)
        _sync_roles(c, person_id, desired, managed, actor, now)
    if not linked and not runtime.links.link(trust.trust_id, trust.issuer, subject, person_id, email, now):
        raise NoAccess("subject or person already linked to someone else", _NOT_KNOWN)
    if linked:
        runtime.links.touch(trust.trust_id, trust.issuer, subject, now)
    if not desired:
        raise NoAccess("claims map to no role", _NO_ROLE)
    if principal_for_person(c.engine, person_id, AUTH_METHOD, today=c.today()) is None:
        raise NoAccess("no principal after sign-in", _NO_ROLE)
    return person_id


_NO_ROLE = ("You signed in, but your organisation account is not given any role in SocialGov (no school or trust "
            "role is mapped from your groups).")
_NOT_KNOWN = "You signed in, but SocialGov does not know you yet."


def _provision(c: Any, trust: TrustOidc, claims: dict[str, Any], email: str,
               desired: set[tuple[UUID | None, Role]], actor: Actor, now: datetime) -> UUID:
    first_school = next((s for s, _ in sorted(desired, key=lambda p: (p[0] is None, str(p[0]))) if s), None)
    try:
        person = Person.register(new_id(), trust.trust_id, display_name(claims, email), email, actor, now,
                                 first_school)
    except InvalidInput:
        raise NoAccess("claims unusable for a new person (name/email)", _NOT_KNOWN) from None
    for school_id, role in sorted(desired, key=lambda p: (str(p[0]), p[1].value)):
        person.assign_role(role, school_id, actor, now)
    c.directory.commit(person, by=None)  # the identity provider acts, not a caller
    log.info("provisioned person=%s in trust=%s from single sign-on", person.id, trust.trust_id)
    return UUID(str(person.id))


def _sync_roles(c: Any, person_id: UUID, desired: set[tuple[UUID | None, Role]],
                managed: set[tuple[UUID | None, Role]], actor: Actor, now: datetime) -> None:
    person = c.directory.load(Person, person_id)
    if person is None:
        raise NoAccess("person not in the event store", _NOT_KNOWN)
    held = {(a.school_id, a.role) for a in person.roles}
    for school_id, role in sorted(desired - held, key=lambda p: (str(p[0]), p[1].value)):
        person.assign_role(role, school_id, actor, now)
    for school_id, role in sorted((managed & held) - desired, key=lambda p: (str(p[0]), p[1].value)):
        person.revoke_role(role, school_id, actor, now, "no longer given by the organisation's sign-in claims")
    c.directory.commit(person, by=None)
