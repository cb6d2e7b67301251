"""SCIM 2.0 provisioning (RFC 7643/7644) at /scim/v2 for the trust's HR/MIS or identity provider: Users only.

The protocol is scim2-server's: its framework-free `ScimService` validates requests with scim2-models, applies
PUT and PATCH semantics (mutability, filters in paths), evaluates If-Match, pages and builds every response and
SCIM error; its `ScimHandler` sequences each operation. This module supplies what scim2-server leaves to an
integration: thin Litestar handlers, authentication with our bearer tokens, and a `ScimStorage` that reads
people from the read model and writes through the directory and accounts services (so SCIM gets the same
authorisation, validation, events and audit trail as the REST API). See docs/decisions/0017-scim.md.
"""

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from http import HTTPStatus
from typing import Annotated, Any, cast
from uuid import UUID

import anyio.to_thread
import scim2_models as scim
from eventsourcing.persistence import OperationalError as ESOperationalError
from eventsourcing.persistence import PersistenceError
from litestar import Request, Response, route
from litestar.enums import HttpMethod
from litestar.exceptions import NotAuthorizedException
from litestar.handlers import HTTPRouteHandler
from pydantic import Field
from scim2_models import CaseExact, Mutability, Required, Returned, Uniqueness
from scim2_models.path import CompareOperator, Comparison
from scim2_server.handler import ScimHandler
from scim2_server.requests import ScimRequest
from scim2_server.responses import SCIM_MEDIA_TYPE, ScimResponse
from scim2_server.routing import Operation
from scim2_server.service import ScimService
from scim2_server.storage import ScimStorage, SearchPage
from sqlalchemy import ColumnElement, and_, exists, func, select, true
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import OperationalError as SAOperationalError

from api.auth import resolve_principal
from api.container import Container
from domain.errors import AlreadyExists, FieldError, InvalidInput
from domain.values import SCHOOL_ROLES, Role
from services import readmodel as rm
from services.authorisation import Action, Principal, can
from services.eventstore import ConcurrencyConflict, Forbidden, NotFound
from services.queries import ReadModelLookups

log = logging.getLogger("socialgov.scim")

PREFIX = "/scim/v2"
CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
EXTENSION = "urn:socialgov:params:scim:schemas:extension:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
#: The departure reason a SCIM DELETE records; a person whose departure carries it is gone from SCIM (404).
DELETED_REASON = "Removed by the HR system over SCIM (DELETE /scim/v2/Users)"
DEACTIVATED_REASON = "Deactivated by the HR system over SCIM (active: false)"
#: Most senior first: the role a person shows at a school where they hold several.
ROLE_ORDER = (Role.SLT, Role.MODERATOR, Role.STAFF, Role.VOLUNTEER)
DEFAULT_PAGE_SIZE = 100
MAX_RESULTS = 200


# ----- what we declare: the resource models, published as /Schemas and /ResourceTypes -----

class SocialGovUser(scim.Extension):
    """SocialGov: the school where the person works and their role there."""

    __schema__ = scim.URN(EXTENSION)

    school_urn: Annotated[str | None, Mutability.immutable, CaseExact.true] = None
    """The school's URN (the DfE unique reference number) in this trust. Optional when the trust has one school
    (or the caller may provision at one only). Set when the user is created; a move is made in SocialGov."""

    role: Annotated[str | None, Mutability.immutable] = Field(None, examples=[r.value for r in ROLE_ORDER])
    """The person's role at that school: slt, moderator, staff (the default) or volunteer. Set when the user is
    created; a change of role is made in SocialGov."""


class Email(scim.ComplexAttribute):
    value: Annotated[str | None, Mutability.read_only] = None
    """The person's email address: their userName."""

    type: Annotated[str | None, Mutability.read_only] = None
    """Always 'work'."""

    primary: Annotated[bool | None, Mutability.read_only] = None
    """Always true."""


class User(scim.Resource[scim.AnyExtension]):
    """A person of the trust: staff, volunteer or leader."""

    __schema__ = scim.URN(CORE_USER)

    user_name: Annotated[str | None, Required.true, Mutability.immutable, Uniqueness.server] = None
    """The person's email address: one person per address in a trust (compared case-insensitively)."""

    display_name: Annotated[str | None, Required.true] = None
    """The name SocialGov shows (at most 200 characters)."""

    emails: Annotated[list[Email] | None, Mutability.read_only, Returned.default] = None
    """The userName, as the one work email (values sent by clients are ignored)."""

    active: Annotated[bool | None, Required.true] = None
    """False once the person has left. Setting it to false records their departure today: their roles end and
    every school account they lead or run gets a handover. A leaver cannot be made active again over SCIM."""


AnyUser = User[Any]
USER_TYPE = scim.ResourceType.from_resource(User[SocialGovUser])
BEARER = scim.AuthenticationScheme(
    type=scim.AuthenticationScheme.Type.oauthbearertoken, name="OAuth Bearer Token", primary=True,
    description="Authorization: Bearer <token> of a SocialGov integration client (scope staff:write) or of a "
                "person who may add staff (trust administrator; SLT or moderator for their schools)",
    spec_uri=scim.Reference[scim.External]("https://www.rfc-editor.org/rfc/rfc6750"))
CONFIG = scim.ServiceProviderConfig(
    patch=scim.Patch(supported=True),
    bulk=scim.Bulk(supported=False, max_operations=0, max_payload_size=0),
    filter=scim.Filter(supported=True, max_results=MAX_RESULTS),
    change_password=scim.ChangePassword(supported=False),
    sort=scim.Sort(supported=False),
    etag=scim.ETag(supported=True),
    authentication_schemes=[BEARER],
    pagination=scim.Pagination(index=True, cursor=False,
                               default_pagination_method=scim.Pagination.DefaultPaginationMethod.index,
                               default_page_size=DEFAULT_PAGE_SIZE, max_page_size=MAX_RESULTS),
)
#: Identity providers send attributes SocialGov does not keep (name parts, phone numbers, the enterprise
#: extension, ...): accept and drop them rather than refuse the user. Entra ID's PATCH dialect is accepted too.
POLICY = scim.ScimPolicy(unknown=scim.ScimPolicy.Unknown.ignore,
                         remove_value_as_filter=scim.ScimPolicy.RemoveValue.apply,
                         unmatched_path_filter=scim.ScimPolicy.UnmatchedPathFilter.create)
PROVIDER = scim.ScimProvider(models=[User, SocialGovUser], resource_types=[USER_TYPE], config=CONFIG, policy=POLICY)
UserModel = cast(type[AnyUser], PROVIDER.model_for(USER_TYPE))  # User[SocialGovUser]
SERVICE = ScimService(PROVIDER)
DISCOVERY = frozenset({Operation.service_provider_config, Operation.resource_types, Operation.resource_type,
                       Operation.schemas, Operation.schema})


class Unavailable(scim.SCIMException):
    status = 503
    _default_detail = "The database is not reachable; try again shortly"


# ----- domain errors -> SCIM errors -----

SCIM_FIELDS = {"display_name": "displayName", "email": "userName", "roles": "role", "roles[0]": "role",
               "leaving_date": "active", "person_id": "id"}


def _field_text(errors: Iterable[FieldError]) -> str:
    return "; ".join(f"{SCIM_FIELDS.get(e.field, e.field)}: {e.message}" for e in errors)


def scim_error(exc: Exception) -> Exception:
    """The SCIM exception for a refusal of the services; anything else is returned unchanged."""
    if isinstance(exc, InvalidInput):
        return scim.InvalidValueException(detail=_field_text(exc.errors))
    if isinstance(exc, AlreadyExists):
        return scim.UniquenessException(detail=exc.message)
    if isinstance(exc, NotFound):
        return scim.NotFoundException(detail=f"{exc.what} not found")
    if isinstance(exc, Forbidden):
        return scim.ForbiddenException(detail=str(exc))
    if isinstance(exc, ConcurrencyConflict):
        return scim.ConflictException(detail="the user was changed by someone else at the same time; read it again "
                                             "and retry")
    if isinstance(exc, (SAOperationalError, ESOperationalError, PersistenceError, DBAPIError, ConnectionError)):
        log.warning("database unavailable: %s", type(exc).__name__)
        return Unavailable()
    return exc


# ----- the storage: people of the caller's trust, read from the read model, written through the services -----

@dataclass(frozen=True)
class Assignment:
    school_id: UUID
    urn: str
    role: str
    school_created: datetime


@dataclass(frozen=True)
class School:
    id: UUID
    urn: str
    name: str


def _uuid(value: str | None) -> UUID | None:
    try:
        return UUID(str(value))
    except ValueError:
        return None


def _same_text(value: str | None) -> str:
    return " ".join(str(value or "").split()).casefold()


def _user_name_eq(search_request: scim.SearchRequest[Any]) -> str | None:
    """The address of a `userName eq "x"` filter (what identity providers send to match a user), else None."""
    scim_filter = search_request.filter
    node = scim_filter.ast if scim_filter is not None else None
    if not isinstance(node, Comparison) or node.op != CompareOperator.eq or not isinstance(node.value, str):
        return None
    attr = str(node.attr_path).casefold()
    return node.value if attr in ("username", f"{CORE_USER}:username".casefold()) else None


class PeopleStorage(ScimStorage):
    """The trust's people as SCIM Users, as one caller may see and change them.

    A caller who may add staff trust-wide (the trust administrator; an integration client with staff:write) sees
    every person of the trust; SLT and moderators see the people who hold a role at their schools.
    """

    def __init__(self, c: Container, principal: Principal) -> None:
        self.c = c
        self.principal = principal
        self.trust_wide = can(principal, Action.STAFF_ADD, None)
        self.school_ids = frozenset(s for s in principal.trust_school_ids if can(principal, Action.STAFF_ADD, s))

    # -- reads --
    def _visible(self) -> ColumnElement[bool]:
        p, ra, ae = rm.people, rm.role_assignments, rm.audit_events
        deleted = exists().where(ae.c.originator_id == p.c.id, ae.c.event_type == "DepartureRecorded",
                                 ae.c.reason == DELETED_REASON)
        scope = true() if self.trust_wide else exists().where(ra.c.person_id == p.c.id,
                                                              ra.c.school_id.in_(self.school_ids))
        return and_(p.c.trust_id == self.principal.trust_id, scope, ~deleted)

    def _users(self, *where: ColumnElement[bool], offset: int = 0,
               limit: int | None = None) -> list[scim.Resource[Any]]:
        p = rm.people
        query = select(p).where(self._visible(), *where).order_by(p.c.created_at, p.c.id).offset(offset)
        if limit is not None:
            query = query.limit(limit)
        with self.c.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
            ids = [r["id"] for r in rows]
            if not ids:
                return []
            ra, s, ae = rm.role_assignments, rm.schools, rm.audit_events
            assignments: dict[UUID, list[Assignment]] = {}
            for person_id, school_id, urn, role, created in conn.execute(
                    select(ra.c.person_id, ra.c.school_id, s.c.urn, ra.c.role, s.c.created_at)
                    .join(s, s.c.id == ra.c.school_id).where(ra.c.person_id.in_(ids))):
                assignments.setdefault(person_id, []).append(Assignment(school_id, urn, role, created))
            versions = {pid: (v, at) for pid, v, at in conn.execute(
                select(ae.c.originator_id, func.max(ae.c.originator_version), func.max(ae.c.occurred_at))
                .where(ae.c.originator_id.in_(ids)).group_by(ae.c.originator_id))}
        return [self._user(r, assignments.get(r["id"], []), versions.get(r["id"])) for r in rows]

    def _primary(self, assignments: list[Assignment]) -> Assignment | None:
        """The school and role a person shows: at a school the caller provisions, the earliest-added school first,
        the most senior role there."""
        mine = [a for a in assignments if self.trust_wide or a.school_id in self.school_ids]
        order = {r.value: i for i, r in enumerate(ROLE_ORDER)}
        return min(mine, key=lambda a: (a.school_created, a.urn, order.get(a.role, 99)), default=None)

    def _user(self, row: Any, assignments: list[Assignment], version: tuple[int, Any] | None) -> AnyUser:
        leaving: date | None = row["leaving_date"]
        created: datetime = row["created_at"]
        modified = version[1] if version is not None and version[1] is not None else created
        user = UserModel(
            id=str(row["id"]), external_id=row["external_id"], user_name=row["email"],
            display_name=row["display_name"],
            emails=[Email(value=row["email"], type="work", primary=True)],
            active=leaving is None or self.c.today() < leaving,
            meta=scim.Meta(resource_type="User", created=created, last_modified=modified,
                           version=f'W/"{version[0] if version else 1}"'))
        primary = self._primary(assignments)
        if primary is not None:
            user[SocialGovUser] = SocialGovUser(school_urn=primary.urn, role=primary.role)
        return user

    def _get(self, resource_id: str | None) -> AnyUser:
        person_id = _uuid(resource_id)
        found = self._users(rm.people.c.id == person_id) if person_id else []
        if not found:
            raise scim.NotFoundException(detail=f"User {resource_id} not found")
        return cast(AnyUser, found[0])

    def get(self, resource_type: scim.ResourceType, resource_id: str, *,
            response_parameters: scim.ResponseParameters[Any] | None = None) -> scim.Resource[Any]:
        return self._get(resource_id)

    def search(self, resource_types: list[scim.ResourceType], search_request: scim.SearchRequest[Any], *,
               position: Any = None) -> SearchPage:
        start, count = search_request.start_index_0 or 0, search_request.count
        where: list[ColumnElement[bool]] = []
        scim_filter = search_request.filter
        user_name = _user_name_eq(search_request)
        if user_name is not None:
            where.append(rm.people.c.email == user_name.strip().lower())
        elif scim_filter is not None:
            # Any other filter is evaluated by scim2-models over the caller's people (a trust's staff, not more).
            matching = [u for u in self._users() if scim_filter.match(u)]
            return SearchPage(len(matching), matching[start:None if count is None else start + count])
        with self.c.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(rm.people).where(self._visible(), *where)).scalar()
        page = [] if count == 0 else self._users(*where, offset=start, limit=count)
        return SearchPage(int(total or 0), page)

    # -- writes --
    def _schools(self) -> list[School]:
        s = rm.schools
        with self.c.engine.connect() as conn:
            rows = conn.execute(select(s.c.id, s.c.urn, s.c.name).where(s.c.trust_id == self.principal.trust_id)
                                .order_by(s.c.created_at, s.c.urn)).all()
        return [School(i, u, n) for i, u, n in rows if self.trust_wide or i in self.school_ids]

    def _school(self, resource: scim.Resource[Any]) -> UUID:
        """The school a new user joins: the extension's schoolUrn; else the enterprise extension's organization
        when it names a school (by URN or name); else the only school the caller may provision."""
        schools = self._schools()
        ext = resource[SocialGovUser]
        urn = ext.school_urn if ext is not None else None
        if urn is not None:
            match = [s for s in schools if s.urn == urn.strip()]
            if not match:
                raise scim.InvalidValueException(detail=f"schoolUrn: {urn} is not a school of this trust where you "
                                                        "may add staff")
            return match[0].id
        enterprise = (resource.unknown_attributes or {}).get(ENTERPRISE)
        organization = enterprise.get("organization") if isinstance(enterprise, dict) else None
        if isinstance(organization, str) and organization.strip():
            wanted = organization.strip().casefold()
            match = [s for s in schools if wanted in (s.urn.casefold(), s.name.casefold())]
            if len(match) == 1:
                return match[0].id
        if len(schools) == 1:
            return schools[0].id
        raise scim.InvalidValueException(
            detail=f"schoolUrn: required, as you may add staff at {len(schools)} schools; send "
                   f"{EXTENSION}:schoolUrn with the school's URN")

    @staticmethod
    def _role(resource: scim.Resource[Any]) -> str:
        ext = resource[SocialGovUser]
        role = (ext.role if ext is not None and ext.role else Role.STAFF.value).strip().lower()
        if role not in {r.value for r in SCHOOL_ROLES}:
            raise scim.InvalidValueException(detail="role: must be one of " + ", ".join(r.value for r in ROLE_ORDER))
        return role

    def create(self, resource_type: scim.ResourceType, resource: scim.Resource[Any]) -> scim.Resource[Any]:
        resource = cast(AnyUser, resource)
        user_name = str(resource.user_name or "").strip()
        if not resource.active:
            raise scim.InvalidValueException(
                detail="active: SocialGov records people who work at a school; provision the user once they are "
                       "active (a leaver cannot be re-activated, so an inactive record would block the address)")
        school_id, role = self._school(resource), self._role(resource)
        if ReadModelLookups(self.c.engine).person_id_by_email(self.principal.trust_id, user_name) is not None:
            raise scim.UniquenessException(detail=f"userName: {user_name} is already a person of this trust; "
                                                  'find them with filter=userName eq "..."')
        added = self.c.directory.add_staff(self.principal, school_id, str(resource.display_name or ""), user_name,
                                           [role])
        if resource.external_id:
            self.c.directory.update_identity(self.principal, added.person_id, None, resource.external_id, True)
        return self._get(str(added.person_id))

    def update(self, resource_type: scim.ResourceType, resource: scim.Resource[Any], *,
               expected_version: str | None = None) -> scim.Resource[Any]:
        resource = cast(AnyUser, resource)
        current = self._get(resource.id)
        assert current.meta is not None
        if expected_version is not None and expected_version != current.meta.version:
            raise scim.PreconditionFailedException(detail="the user has changed since that version")
        if str(resource.user_name or "").strip().lower() != current.user_name:
            raise scim.MutabilityException(detail="userName: the email address of a person cannot change")
        renamed = _same_text(resource.display_name) != _same_text(current.display_name)
        new_external = resource.external_id != current.external_id
        if not current.active:  # a leaver: nothing else can change
            if resource.active:
                raise scim.InvalidValueException(detail="active: this person has left; SocialGov cannot re-activate "
                                                        "a leaver")
            return current
        person_id = UUID(str(current.id))
        before, after = current[SocialGovUser], resource[SocialGovUser]
        was = (before.school_urn, before.role) if before is not None else (None, None)
        wants = (after.school_urn, after.role) if after is not None else (None, None)
        assign = was == (None, None) and wants != (None, None)
        if not assign and wants != was:
            raise scim.MutabilityException(detail="schoolUrn, role: moves and changes of role are made in SocialGov; "
                                                  "over SCIM they are set when the user is created")
        if assign and resource.active is False:
            raise scim.InvalidValueException(detail="active: cannot give a role to a user who is leaving")
        if renamed or new_external:
            self.c.directory.update_identity(self.principal, person_id, str(resource.display_name or "")
                                             if renamed else None, resource.external_id, new_external)
        if assign:
            self.c.directory.add_staff(self.principal, self._school(resource), str(resource.display_name or ""),
                                       str(current.user_name), [self._role(resource)])
        if resource.active is False:
            self.c.accounts.record_departure(self.principal, person_id, self.c.today(), DEACTIVATED_REASON)
        return self._get(resource.id)

    def delete(self, resource_type: scim.ResourceType, resource_id: str, *,
               expected_version: str | None = None) -> None:
        current = self._get(resource_id)
        assert current.meta is not None
        if expected_version is not None and expected_version != current.meta.version:
            raise scim.PreconditionFailedException(detail="the user has changed since that version")
        if current.active:
            self.c.accounts.record_departure(self.principal, UUID(str(current.id)), self.c.today(), DELETED_REASON)
        # A person who has already left keeps their record (the departure is the one the model allows).


class NoStorage(ScimStorage):
    """For the discovery endpoints, which read no resource."""

    def get(self, resource_type: scim.ResourceType, resource_id: str, *,
            response_parameters: scim.ResponseParameters[Any] | None = None) -> scim.Resource[Any]:
        raise scim.NotFoundException

    def search(self, resource_types: list[scim.ResourceType], search_request: scim.SearchRequest[Any], *,
               position: Any = None) -> SearchPage:
        raise scim.NotFoundException

    def create(self, resource_type: scim.ResourceType, resource: scim.Resource[Any]) -> scim.Resource[Any]:
        raise scim.NotFoundException

    def update(self, resource_type: scim.ResourceType, resource: scim.Resource[Any], *,
               expected_version: str | None = None) -> scim.Resource[Any]:
        raise scim.NotFoundException

    def delete(self, resource_type: scim.ResourceType, resource_id: str, *,
               expected_version: str | None = None) -> None:
        raise scim.NotFoundException


# ----- HTTP: Litestar handlers that hand each request to scim2-server -----

def _principal(request: Request[Any, Any, Any]) -> Principal:
    """Bearer tokens only (never the web session cookie); the same resolution as the REST API."""
    if not request.headers.get("authorization"):
        raise scim.UnauthorizedException(detail="a bearer token is required")
    try:
        principal = resolve_principal(request, required=True)
    except NotAuthorizedException as exc:
        raise scim.UnauthorizedException(detail=str(exc.detail)) from None
    assert principal is not None
    if not (can(principal, Action.STAFF_ADD, None)
            or any(can(principal, Action.STAFF_ADD, s) for s in principal.trust_school_ids)):
        raise scim.ForbiddenException(detail="provisioning needs a caller who may add staff (scope staff:write)")
    return principal


def _scim_request(request: Request[Any, Any, Any], body: bytes) -> ScimRequest:
    path = request.scope["path"]
    return ScimRequest(
        method=request.method, base_url=str(request.base_url).rstrip("/") + PREFIX,
        path=path[len(PREFIX):] if path.startswith(PREFIX) else path,
        query=dict(request.query_params.items()), headers=list(request.headers.items()), body=body)


def serve(request: Request[Any, Any, Any], body: bytes) -> ScimResponse:
    """One SCIM request, start to finish. Runs in a worker thread (the services are synchronous)."""
    scim_request = _scim_request(request, body)
    try:
        with PROVIDER:
            operation = SERVICE.match(scim_request).operation
        if operation in DISCOVERY:  # the schemas are public and the same for every trust
            storage: ScimStorage = NoStorage()
        else:
            principal = _principal(request)
            scim_request.subject = principal
            storage = PeopleStorage(request.app.state.container, principal)
        return ScimHandler(SERVICE, storage).handle(scim_request)
    except Exception as exc:
        mapped = scim_error(exc)
        if not isinstance(mapped, scim.SCIMException):
            log.exception("unhandled SCIM error on %s %s", request.method, request.url.path)
        response = SERVICE.error_response(mapped)
        if isinstance(mapped, Unavailable):
            response.headers["Retry-After"] = "5"
        return response


def to_litestar(response: ScimResponse) -> Response[bytes]:
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-type"}
    headers["Cache-Control"] = "no-store"
    no_body = response.body is None or response.status in (HTTPStatus.NO_CONTENT, HTTPStatus.NOT_MODIFIED)
    content = b"" if no_body else json.dumps(response.body).encode()
    return Response(content, status_code=int(response.status), media_type=SCIM_MEDIA_TYPE, headers=headers)


async def dispatch(request: Request[Any, Any, Any]) -> Response[bytes]:
    body = await request.body()
    return to_litestar(await anyio.to_thread.run_sync(partial(serve, request, body)))


ALL = [HttpMethod.GET, HttpMethod.POST, HttpMethod.PUT, HttpMethod.PATCH, HttpMethod.DELETE]


def _endpoint(path: str, methods: list[HttpMethod], summary: str | None = None) -> HTTPRouteHandler:
    """A Litestar handler passing `methods` on `path` to scim2-server. Without a summary it is left out of the
    OpenAPI document: it only lets scim2-server answer the other methods (405) and unknown paths (404)."""

    async def scim_endpoint(request: Request[Any, Any, Any]) -> Response[bytes]:
        return await dispatch(request)

    async def scim_delete(request: Request[Any, Any, Any]) -> Response[None]:  # documented as 204, no body
        return cast(Response[None], await dispatch(request))

    words = ["ById" if p.startswith("{") else p.strip(".")[:1].upper() + p.strip(".")[1:]
             for p in path.split("/") if p]
    operation_id = f"scim{methods[0].value.title()}{''.join(words)}" if summary else None
    # The status is the response's; this one is what the OpenAPI document gives as the success (a created user is
    # 201, a removed one 204; api/openapi_responses.py declares the rest).
    status = 201 if methods == [HttpMethod.POST] and path == "/Users" else 204 if methods == [HttpMethod.DELETE] \
        else 200
    return route(PREFIX + path, http_method=methods, summary=summary, operation_id=operation_id, tags=["scim"],
                 status_code=status,
                 include_in_schema=summary is not None, media_type=SCIM_MEDIA_TYPE)(
        scim_delete if status == 204 else scim_endpoint)


def _documented(path: str, spec: dict[HttpMethod, str]) -> list[HTTPRouteHandler]:
    handlers = [_endpoint(path, [method], summary) for method, summary in spec.items()]
    others = [m for m in ALL if m not in spec]
    return [*handlers, _endpoint(path, others)] if others else handlers


SCIM_HANDLERS: list[HTTPRouteHandler] = [
    *_documented("/ServiceProviderConfig", {HttpMethod.GET: "SCIM: what this service supports (no token needed)"}),
    *_documented("/Schemas", {HttpMethod.GET: "SCIM: the User schema and the SocialGov extension (no token needed)"}),
    *_documented("/Schemas/{schema_id:str}", {HttpMethod.GET: "SCIM: one schema (no token needed)"}),
    *_documented("/ResourceTypes", {HttpMethod.GET: "SCIM: the resource types, User only (no token needed)"}),
    *_documented("/ResourceTypes/{resource_type_id:str}", {HttpMethod.GET: "SCIM: one resource type"}),
    *_documented("/Users", {
        HttpMethod.GET: "SCIM: list or find users (filter, e.g. userName eq \"a@b.org\"; startIndex, count)",
        HttpMethod.POST: "SCIM: add a person with a role at a school"}),
    *_documented("/Users/.search", {HttpMethod.POST: "SCIM: search users with a SearchRequest body"}),
    *_documented("/Users/{user_id:str}", {
        HttpMethod.GET: "SCIM: one user (the id is the SocialGov person id)",
        HttpMethod.PUT: "SCIM: replace a user (active: false records their departure today)",
        HttpMethod.PATCH: "SCIM: change a user (replace active with false records their departure today)",
        HttpMethod.DELETE: "SCIM: remove a user: records their departure today; the user is then gone from SCIM"}),
    *_documented("/.search", {HttpMethod.POST: "SCIM: search every resource type (Users only)"}),
    _endpoint("/{rest:path}", ALL),
]
