"""What a web page shows when something stops it: sign in, not found, not allowed, or a server fault. The
API keeps its problem+json (api/problems.py); these handlers are set on the web routes only (api/web/__init__.py).
Another school's or trust's page answers 404, as the API does (DESIGN §6)."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response
from litestar.exceptions import NotFoundException, PermissionDeniedException, ValidationException
from litestar.response import Redirect, Template

from api.oidc import safe_return_to
from api.web.session import SignInNeeded, dev_login_on, sign_in_url
from services.eventstore import Forbidden, NotFound

log = logging.getLogger("socialgov.web")


def error_page(request: Request[Any, Any, Any], status: int, title: str, *paragraphs: str) -> Template:
    return Template("errors/error.html", status_code=status, headers={"Cache-Control": "no-store"},
                    context={"who": None, "navigation": [], "notice": None, "title": title, "paragraphs": paragraphs})


def sign_in_needed(request: Request[Any, Any, Any], _: SignInNeeded) -> Response[Any]:
    if dev_login_on(request):
        return Redirect(sign_in_url(request), status_code=303)
    here = safe_return_to(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    return Redirect("/auth/login?" + urlencode({"next": here}), status_code=303)


#: Paths whose answers are for programs (problem+json), whatever the Accept header says.
NOT_PAGES = ("/api/", "/scim/", "/graphql", "/oauth/", "/schema", "/static/", "/auth/session")


def wants_page(request: Request[Any, Any, Any]) -> bool:
    """A browser asking for a page: a GET for HTML outside the API's paths (its 404 is a page, not JSON)."""
    return (request.method == "GET" and "text/html" in request.headers.get("accept", "")
            and not request.url.path.startswith(NOT_PAGES))


def not_found(request: Request[Any, Any, Any], _: Exception) -> Response[Any]:
    return error_page(request, 404, "Page not found",
                      "If you typed the web address, check it is correct. If you followed a link, the page may "
                      "belong to a school you do not work with.")


def not_allowed(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    detail = exc.detail if isinstance(exc, PermissionDeniedException) else str(exc)
    log.info("web: 403 on %s %s: %s", request.method, request.url.path, detail)
    return error_page(request, 403, "You cannot do this", str(detail) or "Your role does not allow this.")


def bad_request(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    return error_page(request, 400, "Something in the address or form was not understood",
                      "Go back, reload the page and try again.")


WEB_EXCEPTION_HANDLERS: dict[Any, Any] = {
    SignInNeeded: sign_in_needed,
    NotFound: not_found,
    NotFoundException: not_found,
    Forbidden: not_allowed,
    PermissionDeniedException: not_allowed,
    ValidationException: bad_request,
}
