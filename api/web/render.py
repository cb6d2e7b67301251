"""Rendering a page in the layout: the navigation for the visitor's roles, and the one-time notice a redirect
leaves for the next page ("Training recorded")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from litestar import Request
from litestar.datastructures import Cookie
from litestar.response import Redirect, Template

from api.web.session import SignedIn
from domain.values import Role

NOTICE_COOKIE = "socialgov_notice"


@dataclass(frozen=True)
class NavItem:
    text: str
    href: str
    roles: frozenset[Role]


_SLT = frozenset({Role.SLT})
_MODERATOR = frozenset({Role.MODERATOR})
_STAFF = frozenset({Role.STAFF, Role.VOLUNTEER})
_TRUST = frozenset({Role.TRUST_ADMIN})
_EVERYONE = frozenset(Role)

#: The service navigation, in order; a person sees the items of the roles they hold at the school they are looking
#: at (and their trust roles).
NAVIGATION = (
    NavItem("Home", "/", _EVERYONE),
    NavItem("Applications", "/applications", _SLT),
    NavItem("Incidents", "/incidents", _SLT),
    NavItem("Dashboard", "/dashboard", _SLT),
    NavItem("Post approvals", "/posts/approvals", _SLT),
    NavItem("Inbox", "/inbox", _MODERATOR),
    NavItem("Mentions", "/mentions", _MODERATOR),
    NavItem("Accounts", "/accounts", _MODERATOR),
    NavItem("Handovers", "/handovers", _MODERATOR),
    NavItem("Take-down requests", "/posts/takedowns", _MODERATOR),
    NavItem("My compliance", "/my/compliance", _STAFF),
    NavItem("Apply", "/applications/new", _STAFF),
    NavItem("Report an incident", "/incidents/new", _STAFF),
    NavItem("Trust overview", "/trust", _TRUST),
    NavItem("Settings", "/trust/settings", _TRUST),
    NavItem("Policy", "/trust/policy", _TRUST),
    NavItem("Staff", "/trust/staff", _TRUST),
    NavItem("Integrations", "/trust/integrations", _TRUST),
    NavItem("Audit", "/audit", frozenset({Role.TRUST_ADMIN, Role.DPO})),
)


def navigation(who: SignedIn, path: str) -> list[dict[str, Any]]:
    """govukServiceNavigation's items for this person; the one for `path` is marked current."""
    roles = who.principal.roles_at(who.school_id)
    items = [n for n in NAVIGATION if n.roles & roles]
    # the deepest link that `path` is under is the current one ("/applications/new" is not "/applications")
    matches = [n.href for n in items if path == n.href or (n.href != "/" and path.startswith(n.href + "/"))]
    current = max(matches, key=len, default=None)
    return [{"text": n.text, "href": n.href, "current": n.href == current} for n in items]


def page(request: Request[Any, Any, Any], who: SignedIn | None, template: str, status: int = 200,
         **context: Any) -> Template:
    """`template` (which extends layout.html) for `who`, with the navigation and any notice left for this page."""
    notice = request.cookies.get(NOTICE_COOKIE)
    gone = Cookie(key=NOTICE_COOKIE, value="", max_age=0, path="/", httponly=True, samesite="lax")
    cookies = [gone] if notice else []
    return Template(template, status_code=status, cookies=cookies, headers={"Cache-Control": "no-store"},
                    context={"who": who, "navigation": navigation(who, request.url.path) if who else [],
                             "notice": unquote(notice)[:300] if notice else None, **context})


def redirect_with_notice(url: str, notice: str) -> Redirect:
    """303 to `url` (a GET), which shows `notice` in a success banner once (POST -> redirect -> GET)."""
    return Redirect(url, status_code=303, cookies=[Cookie(key=NOTICE_COOKIE, value=quote(notice), max_age=120, path="/",
                                                          httponly=True, samesite="lax")])
