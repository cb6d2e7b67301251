"""Authentication: bearer tokens; else the OIDC sign-in's server-side session cookie (writes need its CSRF
token); else, for the web UI's safe requests, the development login's cookie -> Principal."""

from __future__ import annotations

from typing import Any, cast

from litestar import Request
from litestar.exceptions import NotAuthorizedException

from api.oidc import check_csrf, session_for_request
from infra.logs import actor_var, request_id_var
from infra.tokens import InvalidToken, TokenClaims
from services.authorisation import Principal
from services.identity import PRINCIPALS, principal_for_client, principal_for_person

SESSION_COOKIE = "socialgov_session"


def token_from(request: Request[Any, Any, Any], allow_cookie: bool) -> str | None:
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise NotAuthorizedException("use 'Authorization: Bearer <token>'")
        return value.strip()
    if allow_cookie:
        return request.cookies.get(SESSION_COOKIE)
    return None


def cookie_allowed(request: Request[Any, Any, Any]) -> bool:
    """Cookies authenticate only requests that cannot change anything (CSRF): safe methods and GraphQL
    queries (the schema has no mutations)."""
    return request.method in ("GET", "HEAD") or request.url.path == "/graphql"


def _set_actor(request: Request[Any, Any, Any], principal: Principal) -> None:
    actor = f"{principal.kind.value}:{principal.id}"
    actor_var.set(actor)
    request.scope["socialgov.actor"] = actor  # type: ignore[typeddict-unknown-key]


def _claims(container: Any, token: str) -> TokenClaims:
    try:
        return cast(TokenClaims, container.tokens.verify(token))
    except InvalidToken:
        raise NotAuthorizedException("the token is invalid or has expired") from None


def _cache_key(container: Any, claims: TokenClaims) -> tuple[object, ...]:
    """What a bearer token's principal is cached under (it changes with the day: training expires, people leave)."""
    if claims.kind == "client":
        return ("client", claims.subject, claims.scopes)
    return ("person", claims.subject, claims.auth_method, container.today())


def resolve_principal(request: Request[Any, Any, Any], required: bool = True) -> Principal | None:
    container = request.app.state.container
    session = None if request.headers.get("authorization") else session_for_request(request)
    if session is not None:  # the OIDC sign-in's server-side session: it may also write, with its CSRF token
        if not cookie_allowed(request):
            check_csrf(request, session[0])  # 403 unless X-CSRF-Token matches and the request is not cross-site
        person_id, method, rid = session[1].person_id, session[1].auth_method, request_id_var.get()
        principal = PRINCIPALS.get(container.engine, ("person", person_id, method, container.today()),
                                   lambda: principal_for_person(container.engine, person_id, method, rid,
                                                                today=container.today()), rid)
        if principal is None:
            raise NotAuthorizedException("the session's person has no access")
        _set_actor(request, principal)
        return principal
    token = token_from(request, cookie_allowed(request))
    if token is None:
        if required:
            raise NotAuthorizedException("a bearer token is required")
        return None
    claims = _claims(container, token)
    rid = request_id_var.get()
    if claims.kind == "client":
        principal = PRINCIPALS.get(container.engine, _cache_key(container, claims),
                                   lambda: principal_for_client(container.engine, claims.subject, claims.scopes, rid),
                                   rid)
    else:
        principal = PRINCIPALS.get(container.engine, _cache_key(container, claims),
                                   lambda: principal_for_person(container.engine, claims.subject, claims.auth_method,
                                                                rid, today=container.today()), rid)
    if principal is None:
        raise NotAuthorizedException("the token's subject has no access")
    _set_actor(request, principal)
    return principal


def verified_principal(request: Request[Any, Any, Any]) -> Principal:
    principal = resolve_principal(request, required=True)
    assert principal is not None
    return principal
