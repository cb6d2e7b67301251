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

import typing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

import msgspec
from litestar import Litestar, Response
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.enums import MediaType, ParamType
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    RequestBody,
    Schema,
)
from litestar.routes import HTTPRoute
from litestar.typing import FieldDefinition

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator
    from litestar.types import Scope

PROBLEM_JSON = "application/problem+json"
SCIM_JSON = "application/scim+json"
SCIM_PREFIX = "/scim/v2"
TOKEN_PATH = "/oauth/token"  # noqa: S105 - a path, not a secret


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

    error: str
    error_description: str | None = None


class OAuthToken(msgspec.Struct, kw_only=True):
    """RFC 6749 §5.1: a bearer token issued to an integration client."""

    access_token: str
    token_type: str
    expires_in: int
    scope: str


class GraphQLResponse(msgspec.Struct, kw_only=True):
    """A GraphQL answer: data, and errors if any (a document that does not parse or validate is answered so too)."""

    data: dict[str, Any] | None = None
    errors: list[dict[str, Any]] | None = None
    extensions: dict[str, Any] | None = None


class ScimError(msgspec.Struct, kw_only=True):
    """RFC 7644 §3.12: every error of /scim/v2."""

    schemas: list[str]
    status: str
    detail: str | None = None
    scimType: str | None = None


class ScimMeta(msgspec.Struct, kw_only=True):
    resourceType: str | None = None
    created: str | None = None
    lastModified: str | None = None
    location: str | None = None
    version: str | None = None


class ScimEmail(msgspec.Struct, kw_only=True):
    value: str | None = None
    type: str | None = None
    primary: bool | None = None


class ScimUserExtension(msgspec.Struct, kw_only=True):
    schoolUrn: str | None = None
    role: str | None = None


class ScimUser(msgspec.Struct, kw_only=True):
    """A SCIM User as SocialGov returns it (the SocialGov extension names the school and the role)."""

    schemas: list[str]
    id: str | None = None
    userName: str | None = None
    displayName: str | None = None
    active: bool | None = None
    emails: list[ScimEmail] | None = None
    meta: ScimMeta | None = None
    extension: ScimUserExtension | None = msgspec.field(
        default=None, name="urn:socialgov:params:scim:schemas:extension:2.0:User")


class ScimListResponse(msgspec.Struct, kw_only=True):
    """RFC 7644 §3.4.2: a page of resources."""

    schemas: list[str]
    totalResults: int
    startIndex: int | None = None
    itemsPerPage: int | None = None
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
    415: "The body is not JSON (its Content-Type names another format)",
    422: "Invalid fields (one entry per field) or a rule refused the command; or an Idempotency-Key reused with a "
         "different request",
    429: "Too many requests from this address; try again later",
    500: "An internal fault (logged)",
    503: "The database is not reachable; try again shortly (Retry-After)",
}


# ----- request bodies as the server reads them -----

class ClosedStructSchemaPlugin(StructSchemaPlugin):
    """A body struct that refuses unknown fields (`forbid_unknown_fields=True`: 422 naming each) says so in its
    schema, `additionalProperties: false`; litestar leaves that out."""

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: SchemaCreator) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        if field_definition.type_.__struct_config__.forbid_unknown_fields:
            schema.additional_properties = False
        info = msgspec.inspect.type_info(field_definition.type_)
        assert isinstance(info, msgspec.inspect.StructType)
        for f in info.fields:  # the values an `OneOf[Enum]` field takes (api/routes/common.py): litestar drops them
            allowed = _enum_of(f.type)
            prop = (schema.properties or {}).get(f.encode_name)
            if allowed is None or not isinstance(prop, Schema):
                continue
            strings = [m for m in (prop.one_of or [prop]) if isinstance(m, Schema) and m.type == OpenAPIType.STRING]
            for member in strings:
                member.enum = list(allowed)
        return schema


def _enum_of(info: msgspec.inspect.Type) -> list[Any] | None:
    for t in (info, *getattr(info, "types", ())):  # a field that may be null is a union
        if isinstance(t, msgspec.inspect.Metadata) and t.extra_json_schema and "enum" in t.extra_json_schema:
            return list(t.extra_json_schema["enum"])
    return None


def _text(description: str = "") -> Schema:
    return Schema(type=OpenAPIType.STRING, description=description or None)


_SCIM_SCHEMAS = Schema(type=OpenAPIType.ARRAY, items=_text(), min_items=1, description="The message's schema URNs")
SCIM_USER_IN = Schema(
    type=OpenAPIType.OBJECT, required=["schemas", "userName", "displayName"],
    properties={"schemas": _SCIM_SCHEMAS, "userName": _text("The person's email address"),
                "displayName": _text("The name SocialGov shows"), "active": Schema(type=OpenAPIType.BOOLEAN),
                "urn:socialgov:params:scim:schemas:extension:2.0:User": Schema(
                    type=OpenAPIType.OBJECT, properties={"schoolUrn": _text(), "role": _text()})},
    description="A SCIM User (RFC 7643 §4.1); attributes SocialGov does not keep are accepted and dropped")
SCIM_PATCH_IN = Schema(
    type=OpenAPIType.OBJECT, required=["schemas", "Operations"],
    properties={"schemas": _SCIM_SCHEMAS, "Operations": Schema(type=OpenAPIType.ARRAY, items=Schema(
        type=OpenAPIType.OBJECT, required=["op"],
        properties={"op": Schema(type=OpenAPIType.STRING, enum=["add", "remove", "replace"]), "path": _text(),
                    "value": Schema()}))},
    description="A SCIM PatchOp (RFC 7644 §3.5.2)")
SCIM_SEARCH_IN = Schema(  # scim2-server reads a search without `schemas` as a SearchRequest too
    type=OpenAPIType.OBJECT,
    properties={"schemas": _SCIM_SCHEMAS, "filter": _text('e.g. userName eq "a@b.org"'),
                "startIndex": Schema(type=OpenAPIType.INTEGER), "count": Schema(type=OpenAPIType.INTEGER),
                "attributes": Schema(type=OpenAPIType.ARRAY, items=_text()),
                "excludedAttributes": Schema(type=OpenAPIType.ARRAY, items=_text())},
    description="A SCIM SearchRequest (RFC 7644 §3.4.3); attributes it does not know are ignored")


def _scim_body(schema: Schema) -> type[Operation]:
    """The SCIM handlers hand their raw body to scim2-server, so litestar cannot see it: declare it."""

    @dataclass
    class ScimBodyOperation(Operation):
        def __post_init__(self) -> None:
            self.request_body = RequestBody(content={SCIM_JSON: OpenAPIMediaType(schema=schema)}, required=True)

    return ScimBodyOperation


GRAPHQL_IN = Schema(
    type=OpenAPIType.OBJECT, required=["query"],
    properties={"query": Schema(type=OpenAPIType.STRING, min_length=1,
                                description="A GraphQL document (queries only; the schema has no mutations)"),
                "variables": Schema(type=[OpenAPIType.OBJECT, OpenAPIType.NULL]),
                "operationName": Schema(type=[OpenAPIType.STRING, OpenAPIType.NULL])},
    description="GraphQL over HTTP: a JSON object with the query")


@dataclass
class GraphQLPostOperation(Operation):
    """Strawberry reads the body itself: declare it."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(content={"application/json": OpenAPIMediaType(schema=GRAPHQL_IN)},
                                        required=True)


@dataclass
class GraphiQLOperation(Operation):
    """GET /graphql answers JSON to a query and, outside production, the GraphiQL page to a browser."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        if isinstance(ok, OpenAPIResponse) and ok.content is not None:
            ok.content["text/html"] = OpenAPIMediaType(schema=_text("The GraphiQL page (not in production)"))


IDEMPOTENCY_KEY = Parameter(
    name="Idempotency-Key", param_in=ParamType.HEADER, required=False,
    schema=Schema(type=OpenAPIType.STRING, max_length=200),
    description="Run this command once per caller and key: a retry with the same key and request gets the first "
                "answer again; the same key with another request is 422; while the first runs, 409 "
                "(api/middleware.py)")


@dataclass
class IdempotentOperation(Operation):
    """A REST command (POST) honours Idempotency-Key; the middleware reads it, so litestar cannot see it."""

    def __post_init__(self) -> None:
        self.parameters = [*(self.parameters or []), IDEMPOTENCY_KEY]


#: Operations anyone may call: no token, or (GraphQL) a token optional.
ANONYMOUS: list[dict[str, list[str]]] = [{}]


def _problem(status: int) -> ResponseSpec:
    return ResponseSpec(Problem, description=WHY[status], media_type=PROBLEM_JSON, generate_examples=False)


def _scim(status: int) -> ResponseSpec:
    return ResponseSpec(ScimError, description=WHY[status], media_type=SCIM_JSON, generate_examples=False)


def _query_parameters(handler: HTTPRouteHandler, path_parameters: set[str]) -> set[str]:
    skip = {"data", "request", "principal", "self", *path_parameters, *handler.resolve_dependencies()}
    return set(handler.parsed_fn_signature.parameters) - skip


def _types(annotation: Any) -> set[Any]:
    return {annotation, *typing.get_args(annotation)}


def rest_statuses(handler: HTTPRouteHandler, path_parameters: set[str]) -> set[int]:
    """The error statuses a REST handler can answer, from what it does."""
    params = handler.parsed_fn_signature.parameters
    statuses = {400, 413, 503}  # every body is limited (api/limits.py); every route here reads the database
    if "principal" in params:  # api/auth.verified_principal; then services.authorisation
        statuses |= {401, 403}
    query = _query_parameters(handler, path_parameters)
    if path_parameters or any(UUID in _types(params[name].annotation) for name in query):
        statuses.add(404)  # an id the caller cannot see (or not a UUID: decision 0062)
    if "data" in params or query:
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
    if method in ("POST", "PUT", "PATCH"):
        statuses.add(415)  # a body that is not JSON
    if path.endswith("{user_id}"):
        statuses.add(412)  # If-Match, whatever the method
        if method == "GET":
            responses[304] = ResponseSpec(None, description="If-None-Match names the current version")
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
    # GraphQL: a token is optional, but a bad one is 401. GET serves only GraphiQL, outside production (queries by
    # GET are off): else 404.
    if path == "/graphql":
        errors = (400, 401, 404, 413, 503) if "GET" in handler.http_methods else (400, 401, 413, 503)
        return {200: ResponseSpec(GraphQLResponse, description="The result", generate_examples=False),
                **{status: _problem(status) for status in errors}}
    declared = {status: _problem(status) for status in sorted(rest_statuses(handler, set(route.path_parameters)))}
    if "reveal" in path:  # the vault refuses to return credentials whose integrity check fails
        declared[500] = _problem(500)
    return declared


def _options_allowing(methods: str) -> Any:
    def options_handler(scope: Scope) -> Response[None]:
        return Response(content=None, status_code=204, headers={"Allow": methods}, media_type=MediaType.TEXT)

    return options_handler


def declare_responses(app: Litestar) -> None:
    """Set every documented handler's error responses (litestar builds the document from them on first request).

    And answer OPTIONS truthfully: litestar builds a path's automatic OPTIONS handler with the route it registered
    first, so `Allow` lists only the first method of a path whose methods come from several handlers (GET and POST
    /api/v1/schools: "OPTIONS, POST"). Each such handler is given the path's every (documented) method."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        documented = {m for h in route.route_handlers if h.resolve_include_in_schema() for m in h.http_methods}
        for handler in route.route_handlers:  # a SCIM path's undocumented methods are scim2-server's 405s
            if handler.handler_name == "options_handler" and handler.http_methods == {"OPTIONS"}:
                handler._fn = _options_allowing(", ".join(sorted((documented or route.methods) | {"OPTIONS"})))
        for handler in route.route_handlers:
            if handler.resolve_include_in_schema():
                handler.responses = {**responses_for(handler, route), **(handler.responses or {})}
                _declare_access_and_body(handler, route.path_format)


def _declare_access_and_body(handler: HTTPRouteHandler, path: str) -> None:
    method = next(iter(handler.http_methods))
    if path in ("/api/v1/health", "/api/v1/ready", TOKEN_PATH) or (
            path.startswith(SCIM_PREFIX) and not path.startswith((SCIM_PREFIX + "/Users", SCIM_PREFIX + "/.search"))):
        handler.security = ANONYMOUS  # the token endpoint authenticates the client by its own fields
    if path == "/graphql":
        handler.security = [{}, {"bearer": []}]  # without a token, a query sees nothing that needs one
        handler.operation_class = GraphiQLOperation if method == "GET" else GraphQLPostOperation
    if path.startswith("/api/v1/") and method == "POST":
        handler.operation_class = IdempotentOperation
    if path.startswith(SCIM_PREFIX) and method in ("POST", "PUT", "PATCH"):
        body = SCIM_SEARCH_IN if path.endswith(".search") else SCIM_PATCH_IN if method == "PATCH" else SCIM_USER_IN
        handler.operation_class = _scim_body(body)
