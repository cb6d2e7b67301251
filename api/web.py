"""Server-rendered web UI: the dashboard page and the development persona picker."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import anyio
from litestar import Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body
from litestar.response import Redirect, Template

from api.auth import SESSION_COOKIE, resolve_principal
from api.oidc import AUTH_EXCEPTION_HANDLERS, AUTH_GUARDS, logout_response
from api.routes.common import container, now_and_today
from services import queries
from services.authorisation import Action, can
from services.identity import personas, principal_for_person


def _dev_only(request: Request[Any, Any, Any]) -> None:
    c = container(request)
    if c.settings.is_production or not c.settings.dev_login:
        raise NotFoundException()


@get("/", sync_to_thread=True, include_in_schema=False)
def home(request: Request[Any, Any, Any]) -> Response[Any]:
    c = container(request)
    try:
        principal = resolve_principal(request, required=False)
    except Exception:  # noqa: BLE001 - an expired cookie just means: sign in again
        principal = None
    if principal is None:
        dev = not c.settings.is_production and c.settings.dev_login
        return Redirect("/auth/dev-login" if dev else "/auth/login")
    now, today = now_and_today(c)
    trust = None
    if can(principal, Action.DASHBOARD_TRUST, None):
        trust = queries.trust_dashboard(c.engine, principal, now, today)
        schools = trust["per_school"]
    else:
        schools = [queries.school_dashboard(c.engine, principal, s, now, today)
                   for s in sorted(principal.visible_school_ids, key=str) if can(principal, Action.DASHBOARD_SCHOOL, s)]
    return Template("home.html", context={"principal": principal, "trust": trust, "schools": schools})


@get("/auth/dev-login", include_in_schema=False, guards=AUTH_GUARDS, exception_handlers=AUTH_EXCEPTION_HANDLERS)
async def dev_login_page(request: Request[Any, Any, Any]) -> Template:
    # async on purpose: Litestar 2.25 re-registers the handlers already on a path when another joins it (the POST
    # below), and wraps a sync_to_thread handler a second time, so a sync GET here returned an un-awaited coroutine.
    _dev_only(request)
    people = await anyio.to_thread.run_sync(personas, container(request).engine)
    return Template("dev_login.html", context={"personas": people, "principal": None})


@post("/auth/dev-login", sync_to_thread=True, include_in_schema=False, guards=AUTH_GUARDS,
      exception_handlers=AUTH_EXCEPTION_HANDLERS)
def dev_login(request: Request[Any, Any, Any],
              data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]) -> Response[Any]:
    _dev_only(request)
    c = container(request)
    try:
        person_id = UUID(data.get("person_id", ""))
    except ValueError:
        raise NotFoundException("no such persona") from None
    if principal_for_person(c.engine, person_id, "dev", today=c.today()) is None:
        raise NotFoundException("no such persona")
    response: Response[Any] = Redirect("/")
    response.set_cookie(SESSION_COOKIE, c.tokens.issue(person_id, auth_method="dev"), httponly=True,
                        samesite="lax", secure=c.settings.is_production, path="/")
    return response


@post("/auth/logout", sync_to_thread=True, include_in_schema=False, guards=AUTH_GUARDS,
      exception_handlers=AUTH_EXCEPTION_HANDLERS)
def logout(request: Request[Any, Any, Any]) -> Response[Any]:
    """Ends the OIDC session server-side (then the signed-out page) or the development cookie (then '/');
    refused when the browser says the request came from another site (CSRF)."""
    return logout_response(request)
