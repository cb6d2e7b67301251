"""Authentication: bearer tokens; else the OIDC sign-in's server-side session cookie (writes need its CSRF
token); else, for the web UI's safe requests, the development login's cookie -> Principal."""

from __future__ import annotations

import functools
import inspect
from typing import Any, cast

from litestar import Request
from litestar.concurrency import sync_to_thread
from litestar.exceptions import NotAuthorizedException
from litestar.handlers import HTTPRouteHandler

from api.oidc import check_csrf, session_for_request
from infra.logs import actor_var, request_id_var
from infra.tokens import InvalidToken, TokenClaims
from services.authorisation import Principal
from services.identity import PRINCIPALS, principal_for_client, principal_for_person
from services.provisional import PENDING, DirectoryMoved, Pending

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
        principal = principal_for_person(container.engine, session[1].person_id, session[1].auth_method,
                                         request_id_var.get(), today=container.today())
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


def provisional_principal(request: Request[Any, Any, Any]) -> Principal | None:
    """A bearer token's principal from the cache at the last change mark this process knows of, with no query
    (decision 0033); None where that is not to be had: a session, or nothing cached there."""
    header = request.headers.get("authorization")
    if not header:
        return None
    container = request.app.state.container
    claims = _claims(container, cast(str, token_from(request, False)))
    principal = PRINCIPALS.provisional(container.engine, _cache_key(container, claims), request_id_var.get())
    if principal is not None:
        _set_actor(request, principal)
    return principal


async def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    """The caller. A route that confirms its caller at commit (`authorised_at_commit`) gets a provisional
    principal when one is cached, on the event loop with no query; otherwise the principal is resolved, and its
    mark checked, in a worker thread."""
    if request.route_handler.opt.get(AT_COMMIT):
        principal = provisional_principal(request)
        if principal is not None:
            STATS["provisional"] += 1
            return principal
    return await sync_to_thread(verified_principal, request)


AT_COMMIT = "authorised_at_commit"
#: Requests that took a provisional principal, and commands run again because theirs proved stale (tests).
STATS = {"provisional": 0, "rerun": 0}


def authorised_at_commit(route: HTTPRouteHandler) -> HTTPRouteHandler:
    """Marks a command route whose caller may be a provisional principal, confirmed when the command commits
    (services/provisional.py; decision 0033). Only for handlers that write nothing before their first commit,
    since a command whose principal turns out stale runs again with the caller resolved afresh:

    - its commit refused with DirectoryMoved (nothing was written);
    - or it ended without committing (a refusal, a no-op) and the change mark has moved since: its answer may
      rest on roles the caller no longer has, or lack ones just given.

    Use above the route decorator: `@authorised_at_commit` then `@post(...)`. The route becomes async: a
    synchronous handler runs in a worker thread, an async one (services/deferred.py) on the loop."""
    fn = route.fn
    if not {"request", "principal"} <= set(inspect.signature(fn).parameters):
        raise TypeError(f"{fn.__qualname__}: a route authorised at commit takes `request` and `principal`")
    run = fn if inspect.iscoroutinefunction(fn) else functools.partial(sync_to_thread, fn)

    @functools.wraps(fn)
    async def handler(*args: Any, **kwargs: Any) -> Any:
        principal: Principal = kwargs["principal"]
        if not principal.provisional or principal.directory_mark is None:
            return await run(*args, **kwargs)
        request: Request[Any, Any, Any] = kwargs["request"]
        pending = Pending(principal.directory_mark)
        token = PENDING.set(pending)  # a worker thread running `fn` sees it too: the context is copied
        try:
            result = await run(*args, **kwargs)
        except DirectoryMoved:
            pass
        except Exception:
            if pending.confirmed or not await sync_to_thread(_moved, request, pending):
                raise
        else:
            if pending.confirmed or not await sync_to_thread(_moved, request, pending):
                return result
        finally:
            PENDING.reset(token)
        STATS["rerun"] += 1
        return await run(*args, **{**kwargs, "principal": await sync_to_thread(verified_principal, request)})

    route.opt[AT_COMMIT] = True
    route.sync_to_thread = None  # the wrapper is async; it runs a synchronous `fn` in a thread itself
    return route(handler)


def _moved(request: Request[Any, Any, Any], pending: Pending) -> bool:
    """Whether the directory's change mark has moved from where the provisional principal was resolved."""
    return bool(PRINCIPALS.read_mark(request.app.state.container.engine) != pending.mark)
