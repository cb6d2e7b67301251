"""Who is signed in on a web page, and the CSRF check on every form they send (decision 0051).

A page's visitor is known by a session cookie: the OpenID Connect sign-in's server-side session (api/oidc.py), or,
in development only, the persona picker's signed cookie. Every page under `/` (not `/api`) that needs someone
signed in takes the dependency `web_principal` (a `SignedIn`):

- a GET with no live session redirects to sign-in (`SignInNeeded`, handled in api/web/errors.py);
- a POST must also carry the session's CSRF token in the form field `csrf_token`, and must not say it came from
  another site (Sec-Fetch-Site / Origin); otherwise 403. Templates put the token in with `csrf_field()`.

The API's bearer-token routes never read these cookies for writes (api/auth.py `cookie_allowed`).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from litestar import Request
from litestar.concurrency import sync_to_thread
from litestar.exceptions import PermissionDeniedException

from api.oidc import DEV_COOKIE, oidc_runtime, same_origin, session_for_request
from api.routes.common import container
from infra.logs import actor_var, request_id_var
from infra.tokens import InvalidToken
from services import queries
from services.authorisation import Principal
from services.identity import principal_for_person

CSRF_FIELD = "csrf_token"
SCHOOL_COOKIE = "socialgov_school"  # the school a person serving several has chosen to look at (not a secret)


class SignInNeeded(Exception):
    """No live session: the page sends the browser to sign in (and back here afterwards)."""


@dataclass(frozen=True)
class School:
    id: UUID
    name: str


@dataclass(frozen=True)
class SignedIn:
    """The person on the page: their principal, the CSRF token their forms carry, their trust's name, the schools
    they serve (every school of the trust for the trust's team) and the one they are looking at now."""

    principal: Principal
    csrf_token: str
    trust_name: str
    schools: tuple[School, ...]
    school: School | None

    @property
    def school_id(self) -> UUID | None:
        return self.school.id if self.school else None


def dev_login_on(request: Request[Any, Any, Any]) -> bool:
    settings = container(request).settings
    return not settings.is_production and bool(settings.dev_login)


def sign_in_url(request: Request[Any, Any, Any]) -> str:
    return "/auth/dev-login" if dev_login_on(request) else "/auth/login"


def _dev_csrf_token(secret_key: str, cookie: str) -> str:
    """The development cookie's CSRF token: bound to that cookie (one per sign-in) by the app's secret key."""
    key = hashlib.sha256(b"socialgov web csrf\0" + secret_key.encode()).digest()
    return hmac.new(key, cookie.encode(), hashlib.sha256).hexdigest()


def _session(request: Request[Any, Any, Any]) -> tuple[UUID, str, str] | None:
    """(person id, how they signed in, CSRF token) of the request's live session, if any."""
    found = session_for_request(request)
    if found is not None:
        token, session = found
        return session.person_id, session.auth_method, oidc_runtime(request.app).sessions.csrf_token(token)
    raw = request.cookies.get(DEV_COOKIE)
    if not raw or not dev_login_on(request):
        return None
    c = container(request)
    try:
        claims = c.tokens.verify(raw)
    except InvalidToken:
        return None
    if claims.kind != "person":
        return None
    return claims.subject, claims.auth_method, _dev_csrf_token(c.settings.secret_key, raw)


def signed_in(request: Request[Any, Any, Any]) -> SignedIn:
    """The signed-in person (blocking: run in a worker thread), or SignInNeeded."""
    found = _session(request)
    if found is None:
        raise SignInNeeded()
    person_id, auth_method, csrf_token = found
    c = container(request)
    principal = principal_for_person(c.engine, person_id, auth_method, request_id_var.get(), today=c.today())
    if principal is None:  # left, deactivated, or no role any more
        raise SignInNeeded()
    actor = f"{principal.kind.value}:{principal.id}"
    actor_var.set(actor)
    request.scope["socialgov.actor"] = actor  # type: ignore[typeddict-unknown-key]
    schools = tuple(School(r["id"], r["name"]) for r in queries.list_schools(c.engine, principal))
    chosen = request.cookies.get(SCHOOL_COOKIE, "")
    school = next((s for s in schools if str(s.id) == chosen), schools[0] if schools else None)
    trust_name = str(queries.get_trust_settings(c.engine, principal)["name"])
    return SignedIn(principal, csrf_token, trust_name, schools, school)


async def web_principal(request: Request[Any, Any, Any]) -> SignedIn:
    """Dependency for web pages: the signed-in person; for a POST, only with the session's CSRF token."""
    who = await sync_to_thread(signed_in, request)
    if request.method not in ("GET", "HEAD"):
        sent = (await request.form()).get(CSRF_FIELD)
        if same_origin(request) is False or not isinstance(sent, str) or not hmac.compare_digest(
                who.csrf_token, sent):
            raise PermissionDeniedException("This form has expired or did not come from SocialGov. Go back, "
                                            "reload the page and try again.")
    return who
