"""Signing in and out, and choosing the school to look at.

    GET  /auth/dev-login[?q=]   development only: the demo's named personas, and a search (at most 25 people)
    POST /auth/dev-login        development only: sign in as a persona (a signed cookie)
    POST /auth/logout           sign out (the OIDC session or the development cookie); needs the CSRF token
    GET  /school?school_id&back_to  remember the school a person serving several is looking at (a cookie), go back
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Request, Response, get, post
from litestar.concurrency import sync_to_thread
from litestar.datastructures import Cookie
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import Body, FromQuery, QueryParameter
from litestar.response import Redirect, Template

from api.oidc import AUTH_EXCEPTION_HANDLERS, AUTH_GUARDS, DEV_COOKIE, logout_response, safe_return_to, same_origin
from api.routes.common import container
from api.web.session import CSRF_FIELD, SCHOOL_COOKIE, dev_login_on, signed_in
from services.identity import find_personas, principal_for_person

#: The demo trust's people a newcomer tries first (api/demo.py), with what each shows.
DEMO_PERSONAS = {
    "alex.morgan@oakfield.example": "The trust's central team: every school",
    "priya.shah@oakfield.example": "Senior leadership at Oakfield Primary: decides applications, assesses incidents",
    "morag.campbell@oakfield.example": "Executive head: senior leadership at two schools",
    "tom.baker@oakfield.example": "Moderator at Oakfield Primary: accounts, inbox, handovers",
    "owen.price@oakfield.example": "Staff at Oakfield Primary whose training has expired",
    "lucy.ward@oakfield.example": "Staff at Oakfield Primary with no training recorded",
}


def _dev_only(request: Request[Any, Any, Any]) -> None:
    if not dev_login_on(request):
        raise NotFoundException()


def _named_personas(request: Request[Any, Any, Any]) -> list[dict[str, object]]:
    c = container(request)
    found = [p for email in DEMO_PERSONAS for p in find_personas(c.engine, email, c.today(), limit=1)
             if p["email"] == email]
    return [{**p, "about": DEMO_PERSONAS[str(p["email"])]} for p in found]


@get("/auth/dev-login", include_in_schema=False, guards=AUTH_GUARDS, exception_handlers=AUTH_EXCEPTION_HANDLERS)
async def dev_login_page(request: Request[Any, Any, Any],
                         q: Annotated[str, QueryParameter(max_length=100)] = "") -> Template:
    # async on purpose: Litestar 2.25 re-registers the handlers already on a path when another joins it (the POST
    # below), and wraps a sync_to_thread handler a second time, so a sync GET here returned an un-awaited coroutine.
    _dev_only(request)
    c = container(request)
    named = await sync_to_thread(_named_personas, request)
    results = await sync_to_thread(find_personas, c.engine, q, c.today()) if q.strip() else None
    return Template("signin/dev_login.html", headers={"Cache-Control": "no-store"},
                    context={"who": None, "navigation": [], "notice": None, "named": named, "q": q,
                             "results": results})


@post("/auth/dev-login", sync_to_thread=True, include_in_schema=False, guards=AUTH_GUARDS,
      exception_handlers=AUTH_EXCEPTION_HANDLERS)
def dev_login(request: Request[Any, Any, Any],
              data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]) -> Response[Any]:
    _dev_only(request)
    if same_origin(request) is False:
        raise PermissionDeniedException("sign-in must come from the SocialGov page")
    c = container(request)
    try:
        person_id = UUID(data.get("person_id", ""))
    except ValueError:
        raise NotFoundException("no such persona") from None
    if principal_for_person(c.engine, person_id, "dev", today=c.today()) is None:
        raise NotFoundException("no such persona")
    response: Response[Any] = Redirect("/", status_code=303)
    response.set_cookie(DEV_COOKIE, c.tokens.issue(person_id, auth_method="dev"), httponly=True,
                        samesite="lax", secure=c.settings.is_production, path="/")
    response.set_cookie(SCHOOL_COOKIE, "", max_age=0, path="/")  # the last person's choice is not theirs
    return response


@post("/auth/logout", include_in_schema=False, guards=AUTH_GUARDS, exception_handlers=AUTH_EXCEPTION_HANDLERS)
async def logout(request: Request[Any, Any, Any]) -> Response[Any]:
    """Ends the OIDC session (then the signed-out page) or the development cookie (then sign-in). api/oidc.py
    refuses it (403) when the browser says the form came from another site or, lacking Fetch Metadata and Origin,
    without the session's CSRF token (the layout's sign-out form sends it)."""
    token = (await request.form()).get(CSRF_FIELD)
    response = await sync_to_thread(logout_response, request, token if isinstance(token, str) else None)
    response.delete_cookie(SCHOOL_COOKIE, path="/")
    return response


@get("/school", sync_to_thread=True, include_in_schema=False)
def choose_school(request: Request[Any, Any, Any], school_id: FromQuery[str],
                  back_to: FromQuery[str] = "/") -> Response[Any]:
    """A plain GET form (works without JavaScript): only a school the person serves is remembered."""
    who = signed_in(request)
    if not any(str(s.id) == school_id for s in who.schools):
        raise NotFoundException()
    return Redirect(safe_return_to(back_to), status_code=303,
                    cookies=[Cookie(key=SCHOOL_COOKIE, value=school_id, path="/", httponly=True, samesite="lax",
                                    secure=container(request).settings.is_production)])
