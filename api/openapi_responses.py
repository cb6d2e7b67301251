"""What each operation answers, declared in the OpenAPI document from what its route does (decision 0110).

Litestar documents a handler's success answer; the errors come from elsewhere (api/limits.py, api/auth.py, the
exception handlers of api/problems.py, api/middleware.py's idempotency, scim2-server, the token endpoint). This
module is the one place that says, per operation, which of those can answer it: `declare_responses(app)` walks
every route handler in the document once, when the app is built, and sets its `responses` from the handler's
traits (does it take a token? path ids? a body? query parameters? is it a command?) and its protocol (REST speaks
RFC 9457 problem+json, SCIM speaks its own Error (RFC 7644 §3.12) and /oauth/token the error object of RFC 6749
§5.2). tests/contract/test_openapi_schemathesis.py holds the server to it.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.routes import HTTPRoute

PROBLEM_JSON = "application/problem+json"
SCIM_JSON = "application/scim+json"
SCIM_PREFIX = "/scim/v2"
TOKEN_PATH = "/oauth/token"


# ----- the bodies of error answers -----

class FieldProblem(msgspec.Struct):
    field: str
    message: str


class Problem(msgspec.Struct, kw_only=True):
    """RFC 9457 problem details: every error of the REST API and GraphQL's HTTP errors."""

    type: str
    title: str
    status: int
    detail: str | None = None
    errors: list[FieldProblem] | None = None
    conditions: list[str] | None = None


class OAuthError(msgspec.Struct, kw_only=True):
    """RFC 6749 §5.2: the token endpoint's errors."""

    error: str = msgspec.field(name="error")
    error_description: str | None = None


class OAuthToken(msgspec.Struct, kw_only=True):
    """RFC 6749 §5.1: a bearer token issued to an integration client."""

    access_token: str
    token_type: str
    expires_in: int
    scope: str


class ScimError(msgspec.Struct, kw_only=True):
    """RFC 7644 §3.12: every error of /scim/v2."""

    schemas: list[str]
    status: str
    detail: str | None = None
    scimType: str | None = None  # noqa: N815 - the protocol's name


class ScimMeta(msgspec.Struct, kw_only=True):
    resourceType: str | None = None  # noqa: N815
    created: str | None = None
    lastModified: str | None = None  # noqa: N815
    location: str | None = None
    version: str | None = None


class ScimEmail(msgspec.Struct, kw_only=True):
    value: str | None = None
    type: str | None = None
    primary: bool | None = None


class ScimUserExtension(msgspec.Struct, kw_only=True):
    schoolUrn: str | None = None  # noqa: N815
    role: str | None = None


class ScimUser(msgspec.Struct, kw_only=True):
    """A SCIM User as SocialGov returns it (the SocialGov extension names the school and the role)."""

    schemas: list[str]
    id: str | None = None
    userName: str | None = None  # noqa: N815
    displayName: str | None = None  # noqa: N815
    active: bool | None = None
    emails: list[ScimEmail] | None = None
    meta: ScimMeta | None = None
    extension: ScimUserExtension | None = msgspec.field(
        default=None, name="urn:socialgov:params:scim:schemas:extension:2.0:User")


class ScimListResponse(msgspec.Struct, kw_only=True):
    """RFC 7644 §3.4.2: a page of resources."""

    schemas: list[str]
    totalResults: int  # noqa: N815
    startIndex: int | None = None  # noqa: N815
    itemsPerPage: int | None = None  # noqa: N815
    Resources: list[dict[str, Any]] | None = None


class ScimResource(msgspec.Struct, kw_only=True):
    """A SCIM discovery resource: ServiceProviderConfig, a Schema or a ResourceType (RFC 7643 §5-7)."""

    schemas: list[str]
    id: str | None = None


# ----- why each status can be answered -----

WHY = {
    400: "The body is not valid JSON, nests deeper than the limit, or its Content-Length is not a number",
    401: "No bearer token, or it is invalid, expired or revoked",
    403: "The caller's roles or scopes do not allow this",
    404: "No such resource that the caller may see (another school's or trust's is 404 too), or a malformed id",
    409: "The resource's state does not allow this, it already exists, it changed meanwhile, the caller's roles "
         "changed, or a request with the same Idempotency-Key is still being processed",
    412: "If-Match does not name the resource's current version",
    413: "The body is larger than this endpoint takes",
    422: "Invalid fields (one entry per field) or a rule refused the command; or an Idempotency-Key reused with a "
         "different request",
    429: "Too many requests from this address; try again later",
    500: "An internal fault (logged)",
    501: "Not supported by this SCIM service",
    503: "The database is not reachable; try again shortly (Retry-After)",
}


def _problem(status: int) -> ResponseSpec:
    return ResponseSpec(Problem, description=WHY[status], media_type=PROBLEM_JSON, generate_examples=False)


def _scim(status: int) -> ResponseSpec:
    return ResponseSpec(ScimError, description=WHY[status], media_type=SCIM_JSON, generate_examples=False)


def _query_parameters(handler: HTTPRouteHandler, path_parameters: set[str]) -> set[str]:
    skip = {"data", "request", "principal", "self", *path_parameters, *handler.resolve_dependencies()}
    return set(handler.parsed_fn_signature.parameters) - skip


def rest_statuses(handler: HTTPRouteHandler, path_parameters: set[str]) -> set[int]:
    """The error statuses a REST handler can answer, from what it does."""
    params = handler.parsed_fn_signature.parameters
    statuses = {400, 413, 503}  # every body is limited (api/limits.py); every route here reads the database
    if "principal" in params:  # api/auth.verified_principal; then services.authorisation
        statuses |= {401, 403}
    if path_parameters:  # an id the caller cannot see, or not a UUID (decision 0062)
        statuses.add(404)
    if "data" in params or _query_parameters(handler, path_parameters):
        statuses.add(422)
    if handler.http_methods - {"GET", "HEAD"}:  # a command: domain rules, state, concurrency, Idempotency-Key
        statuses |= {404, 409, 422}
    return statuses


def scim_responses(handler: HTTPRouteHandler, path: str) -> dict[int, ResponseSpec]:
    method = next(iter(handler.http_methods))
    discovery = not path.startswith(SCIM_PREFIX + "/Users") and not path.startswith(SCIM_PREFIX + "/.search")
    statuses = {400, 413, 503} if discovery else {400, 401, 403, 413, 503}
    if "{" in path or not discovery:
        statuses.add(404)
    responses: dict[int, ResponseSpec] = {}
    if method == "DELETE":
        responses[204] = ResponseSpec(None, description="Removed")
        statuses |= {409, 412}
    elif (method == "GET" and path.endswith("/Users")) or path.endswith(".search"):
        responses[200] = ResponseSpec(ScimListResponse, description="A page of users", media_type=SCIM_JSON,
                                      generate_examples=False)
    elif discovery and not path.endswith("}"):
        responses[200] = ResponseSpec(ScimResource if path.endswith("Config") else ScimListResponse,
                                      description="What the service supports", media_type=SCIM_JSON,
                                      generate_examples=False)
    elif discovery:
        responses[200] = ResponseSpec(ScimResource, description="One schema or resource type",
                                      media_type=SCIM_JSON, generate_examples=False)
    elif method == "POST":
        responses[201] = ResponseSpec(ScimUser, description="The user, created", media_type=SCIM_JSON,
                                      generate_examples=False)
        statuses.add(409)
    else:
        responses[200] = ResponseSpec(ScimUser, description="The user", media_type=SCIM_JSON,
                                      generate_examples=False)
        if method in ("PUT", "PATCH"):
            statuses |= {409, 412}
    for status in sorted(statuses):
        responses[status] = _scim(status)
    return responses


def token_responses() -> dict[int, ResponseSpec]:
    return {
        200: ResponseSpec(OAuthToken, description="A bearer token", generate_examples=False),
        400: ResponseSpec(OAuthError, description="invalid_request, unsupported_grant_type or invalid_scope",
                          generate_examples=False),
        401: ResponseSpec(OAuthError, description="invalid_client: unknown client, wrong secret, or revoked",
                          generate_examples=False),
        413: _problem(413), 429: _problem(429), 503: _problem(503),
    }


def responses_for(handler: HTTPRouteHandler, route: HTTPRoute) -> dict[int, ResponseSpec]:
    path = route.path_format
    if path.startswith(SCIM_PREFIX):
        return scim_responses(handler, path)
    if path == TOKEN_PATH:
        return token_responses()
    if path == "/api/v1/health":  # no token, no database; its body is limited like every other
        return {status: _problem(status) for status in (400, 413)}
    if path == "/api/v1/ready":
        return {status: _problem(status) for status in (400, 413, 503)}
    if path == "/graphql":
        return {status: _problem(status) for status in (400, 413)}
    declared = {status: _problem(status) for status in sorted(rest_statuses(handler, set(route.path_parameters)))}
    if "reveal" in path:  # the vault refuses to return credentials whose integrity check fails
        declared[500] = _problem(500)
    return declared


def declare_responses(app: Litestar) -> None:
    """Set every documented handler's error responses (litestar builds the document from them on first request)."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if handler.resolve_include_in_schema():
                handler.responses = {**responses_for(handler, route), **(handler.responses or {})}
