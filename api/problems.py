"""RFC 9457 problem+json for every error, naming each invalid field; never a stack trace or a secret."""

from __future__ import annotations

import logging
import re
import typing
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.persistence import OperationalError as ESOperationalError
from eventsourcing.persistence import PersistenceError
from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, NotFoundException, ValidationException
from litestar.utils.scope.state import ScopeState
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from api.web.errors import not_found, wants_page
from domain.errors import AlreadyExists, InvalidInput, InvalidTransition, RuleRefused
from infra.vault import VaultIntegrityError, VaultKeyError
from services.event_log import CallerChanged
from services.eventstore import ConcurrencyConflict, Forbidden, NotFound

log = logging.getLogger("socialgov.api")
PROBLEM = "application/problem+json"
TYPE_BASE = "https://socialgov.example/problems/"


def problem(status: int, kind: str, title: str, detail: str | None = None, headers: dict[str, str] | None = None,
            **extra: Any) -> Response[Any]:
    body: dict[str, Any] = {"type": TYPE_BASE + kind, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="socialgov"'
    return Response(body, status_code=status, media_type=PROBLEM, headers=headers or None)


_FIELD = re.compile(r"`\$\.?([^`]*)`")
_UNKNOWN = re.compile(r"unknown field `([^`]+)`")
_MISSING = re.compile(r"missing required field `([^`]+)`")


def _field_of(message: str, key: str | None) -> str:
    for pattern in (_UNKNOWN, _MISSING):
        m = pattern.search(message)
        if m:
            prefix = _FIELD.search(message)
            base = prefix.group(1) if prefix and prefix.group(1) else ""
            return f"{base}.{m.group(1)}" if base else m.group(1)
    m = _FIELD.search(message)
    if m and m.group(1):
        return m.group(1)
    return key or "body"


def _clean(message: str) -> str:
    return re.sub(r"\s*-\s*at `[^`]*`", "", message).strip()


def _body_type(request: Request[Any, Any, Any]) -> type[msgspec.Struct] | None:
    """The msgspec Struct a route reads its JSON body into, if it does (`data: JSONBody[X]` or `X | None`)."""
    field = request.route_handler.parsed_fn_signature.parameters.get("data")
    annotation = getattr(field, "annotation", None)
    for member in (typing.get_args(annotation) or (annotation,)):
        if isinstance(member, type) and issubclass(member, msgspec.Struct):
            return member
    return None


def every_field_error(struct: type[msgspec.Struct], body: Any) -> list[dict[str, str]]:
    """Every invalid field of a JSON body for `struct`: msgspec stops at the first, so each field is converted on its
    own (DESIGN §5: one entry per invalid field)."""
    if not isinstance(body, dict):
        return [{"field": "body", "message": "must be a JSON object"}]
    info = msgspec.inspect.type_info(struct)
    assert isinstance(info, msgspec.inspect.StructType)
    hints = typing.get_type_hints(struct)
    errors = [{"field": str(name), "message": "is not a field of this request"}
              for name in body if name not in {f.encode_name for f in info.fields} and info.forbid_unknown_fields]
    for f in info.fields:
        if f.encode_name not in body:
            if f.required:
                errors.append({"field": f.encode_name, "message": "is required"})
            continue
        value = body[f.encode_name]
        allowed = _allowed_values(f.type)
        if allowed is not None and isinstance(value, str) and value not in allowed:
            errors.append({"field": f.encode_name, "message": "must be one of " + ", ".join(allowed)})
            continue
        try:
            msgspec.convert(value, hints[f.name], strict=False)
        except msgspec.ValidationError as e:
            inner = _FIELD.search(str(e))
            path = inner.group(1) if inner and inner.group(1) else ""
            errors.append({"field": f"{f.encode_name}{path}" if path.startswith("[") else
                           f"{f.encode_name}.{path}" if path else f.encode_name,
                           "message": _clean(str(e))})
    return errors


def _allowed_values(info: msgspec.inspect.Type) -> list[str] | None:
    """The values a string field's schema lists (api/routes/common.OneOf), if any."""
    for t in (info, *getattr(info, "types", ())):  # a field that may also be null is a union
        if isinstance(t, msgspec.inspect.Metadata) and t.extra_json_schema and "enum" in t.extra_json_schema:
            return [str(v) for v in t.extra_json_schema["enum"]]
    return None


def validation_handler(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    errors = []
    extra = exc.extra if isinstance(exc.extra, list) else []
    struct = _body_type(request) if any(isinstance(i, dict) and i.get("source") == "body" for i in extra) else None
    if struct is not None:  # the body's first error stands for all of them: name every one
        raw = ScopeState.from_scope(request.scope).body  # read already, to find the first error
        try:
            body = msgspec.json.decode(raw) if isinstance(raw, bytes) else None
        except msgspec.DecodeError:
            body = None
        found = every_field_error(struct, body) if body is not None else []
        if found:
            extra = [i for i in extra if not (isinstance(i, dict) and i.get("source") == "body")]
            errors += found
    for item in extra:
        if isinstance(item, dict):
            message = str(item.get("message", "is invalid"))
            key = item.get("key")
            source = item.get("source")
            field = _field_of(message, str(key) if key else None)
            if source in ("query", "path", "header") and key:
                field = str(key)
            errors.append({"field": field, "message": _clean(message)})
    if not errors:
        detail = str(exc.detail)
        if "JSON" in detail or "decode" in detail.lower() or "malformed" in detail.lower():
            return problem(400, "malformed-body", "The request body is not valid JSON", detail=_clean(detail))
        errors.append({"field": _field_of(detail, None), "message": _clean(detail)})
    return problem(422, "invalid-input", "The request has invalid fields",
                   detail="; ".join(f"{e['field']}: {e['message']}" for e in errors), errors=errors)


def domain_handler(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if isinstance(exc, InvalidInput):
        errors = [{"field": e.field, "message": e.message} for e in exc.errors]
        return problem(422, "invalid-input", "The request has invalid fields", detail=str(exc), errors=errors)
    if isinstance(exc, RuleRefused):
        return problem(422, "rule-refused", exc.title, detail="; ".join(exc.conditions),
                       conditions=exc.conditions, errors=[])
    if isinstance(exc, AlreadyExists):
        return problem(409, "already-exists", "Already exists", detail=exc.message,
                       errors=[{"field": exc.field, "message": exc.message}])
    if isinstance(exc, InvalidTransition):
        return problem(409, "invalid-state", "Not allowed in the current state", detail=str(exc))
    if isinstance(exc, ConcurrencyConflict):
        return problem(409, "conflict", "Changed by someone else", detail=str(exc))
    if isinstance(exc, CallerChanged):
        return problem(409, "caller-changed", "Your roles changed", detail=str(exc))
    if isinstance(exc, NotFound):
        return problem(404, "not-found", "Not found", detail=f"{exc.what} not found")
    if isinstance(exc, Forbidden):
        return problem(403, "forbidden", "Not allowed", detail=str(exc))
    raise exc  # pragma: no cover


def _unparsable_path_parameter(request: Request[Any, Any, Any]) -> tuple[str, str] | None:
    """The parameter (and its type) of the route that matches this path but for a value its type cannot parse, such
    as a malformed UUID; the router answered 404 without saying which."""
    segments = [s for s in request.url.path.split("/") if s]
    for route in request.app.routes:
        if len(route.path_components) != len(segments):
            continue
        bad: tuple[str, str] | None = None
        for component, segment in zip(route.path_components, segments, strict=True):
            if isinstance(component, str):
                if component != segment:
                    break
            elif component.parser is not None and bad is None:
                try:
                    component.parser(segment)
                except ValueError:
                    bad = (component.name, "UUID" if component.type is UUID else component.type.__name__)
        else:
            if bad is not None:
                return bad
    return None


def http_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if exc.status_code == 404 and wants_page(request):  # a browser on a path with no page: the web UI's 404
        return not_found(request, exc)
    if isinstance(exc, NotFoundException) and isinstance(exc.__cause__, ValueError):
        bad = _unparsable_path_parameter(request)
        if bad is not None:  # 404 like any id that names nothing the caller can see (decision 0062)
            name, kind = bad
            return problem(404, "not-found", "Not found", detail=f"{name}: is not a valid {kind}",
                           errors=[{"field": name, "message": f"is not a valid {kind}"}])
    if isinstance(exc, NotAuthorizedException):
        return problem(401, "unauthenticated", "Authentication required", detail=str(exc.detail))
    titles = {404: "Not found", 405: "Method not allowed", 413: "Request too large", 429: "Too many requests",
              400: "Bad request", 403: "Not allowed", 415: "Unsupported media type"}
    # The exception's own headers stay: Allow on a 405 (RFC 9110 §15.5.6), Retry-After on a 429.
    return problem(exc.status_code, "http-" + str(exc.status_code), titles.get(exc.status_code, "Error"),
                   detail=str(exc.detail), headers=dict(exc.headers or {}))


def unavailable_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.warning("database unavailable: %s", type(exc).__name__)
    response = problem(503, "unavailable", "Service unavailable",
                       detail="the database is not reachable; try again shortly")
    response.headers["Retry-After"] = "5"
    return response


def _unreachable(exc: Exception) -> bool:
    """The database could not be reached or dropped the connection (503: try again), as opposed to a statement it
    refused, such as a read-model constraint a projection broke (500: a fault to look into)."""
    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated or isinstance(exc, (OperationalError, InterfaceError))
    return isinstance(exc, (ESOperationalError, PersistenceError, ConnectionError))


def internal_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if isinstance(exc, (VaultIntegrityError, VaultKeyError)):
        log.error("vault integrity failure on %s: %s", request.url.path, exc)
        return problem(500, "vault-integrity", "Credential integrity check failed",
                       detail=f"{exc} — the stored credentials were not returned; tell the trust's administrator")
    if _unreachable(exc):
        return unavailable_handler(request, exc)
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(500, "internal", "Internal error", detail="the error has been logged")


SCIM_PREFIX = "/scim/v2/"
SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
TOKEN_PATH = "/oauth/token"  # noqa: S105 - a path, not a secret


def in_protocol(request: Request[Any, Any, Any], response: Response[Any]) -> Response[Any]:
    """An error raised before a protocol's own handler ran (a body limit, a rate limit, a form the token endpoint
    cannot read), in the protocol's own format: SCIM clients get a SCIM Error (RFC 7644 §3.12), OAuth clients the
    error object of RFC 6749 §5.2 for a bad request; the REST API keeps problem+json (decision 0111)."""
    if response.media_type != PROBLEM or not isinstance(response.content, dict):
        return response
    body, path, status = response.content, request.url.path, response.status_code
    if path.startswith(SCIM_PREFIX):
        scim_body = {"schemas": [SCIM_ERROR], "status": str(status), "detail": body.get("detail") or body["title"]}
        return Response(scim_body, status_code=status, media_type="application/scim+json",
                        headers={**response.headers, "Cache-Control": "no-store"})
    if path == TOKEN_PATH and status in (400, 422):
        return Response({"error": "invalid_request", "error_description": body.get("detail") or body["title"]},
                        status_code=400, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})
    return response


def _speaking_the_protocol(handler: Any) -> Any:
    def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        return in_protocol(request, handler(request, exc))

    return handle


EXCEPTION_HANDLERS: dict[Any, Any] = {exc: _speaking_the_protocol(handler) for exc, handler in {
    ValidationException: validation_handler,
    InvalidInput: domain_handler,
    RuleRefused: domain_handler,
    AlreadyExists: domain_handler,
    InvalidTransition: domain_handler,
    ConcurrencyConflict: domain_handler,
    CallerChanged: domain_handler,
    NotFound: domain_handler,
    Forbidden: domain_handler,
    HTTPException: http_handler,
    Exception: internal_handler,
}.items()}
