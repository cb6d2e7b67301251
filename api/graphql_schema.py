"""GraphQL read side: dashboards and lists over the read model, scoped to the caller's visible schools."""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any
from uuid import UUID

import graphql
import strawberry
from anyio import to_thread
from cross_web import HTTPException
from graphql import GraphQLError
from litestar import Controller, Request, Response
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, SchemaExtension
from strawberry.extensions.max_aliases import create_validator as aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule
from strawberry.litestar import make_graphql_controller
from strawberry.schema.schema import validate_document
from strawberry.types import Info

from api.auth import resolve_principal
from api.container import Container
from api.problems import problem
from domain.errors import InvalidInput
from services import audit, inbox_queries, post_queries, queries
from services.authorisation import Principal
from services.eventstore import NotFound
from services.ports import today_in_london


@strawberry.type(description="Figures shown per school and, summed (percentages averaged), for the trust")
class Figures:
    pending_applications: int
    oldest_pending_hours: float | None
    approved_applications: int
    rejected_applications: int
    people: int
    training_coverage_pct: float | None
    acknowledgement_coverage_pct: float | None
    active_accounts: int
    accounts_short_of_trained_runners: int
    accounts_needing_rotation: int
    accounts_unchecked_24h: int
    pending_handovers: int
    overdue_handovers: int
    open_incidents: int
    incidents_low: int
    incidents_medium: int
    incidents_high: int
    incidents_critical: int
    incidents_awaiting_assessment: int
    incidents_assessment_overdue: int
    police_escalations_30d: int
    open_on_track: int
    open_due_soon: int
    open_breached: int
    compliance_7d_pct: float | None
    compliance_30d_pct: float | None
    breaches_30d: int
    median_first_response_hours: float | None
    monitoring_coverage_7d_pct: float | None
    mentions_awaiting_triage: int
    posts_awaiting_approval: int
    oldest_awaiting_approval_hours: float | None
    posts_published_overriding_advice: int
    posts_removed: int
    open_takedown_requests: int


@strawberry.type
class SchoolDashboard(Figures):
    school_id: strawberry.ID
    school_name: str
    withdrawn_applications: int
    trained_people: int
    acknowledged_people: int


@strawberry.type
class TrustDashboard(Figures):
    trust_id: strawberry.ID
    schools: int
    per_school: list[SchoolDashboard]


@strawberry.type
class Application:
    id: strawberry.ID
    school_id: strawberry.ID
    applicant_id: strawberry.ID
    applicant_name: str
    aim: str
    audience: str
    promotion: str
    runner_ids: list[strawberry.ID]
    visibility: str
    platform: str
    proposed_handle: str
    status: str
    submitted_at: datetime
    decided_at: datetime | None
    reason: str | None
    age_hours: float


@strawberry.type
class ApplicationEdge:
    cursor: str
    node: Application


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class ApplicationConnection:
    edges: list[ApplicationEdge]
    page_info: PageInfo


@strawberry.type
class Runner:
    id: strawberry.ID
    display_name: str


@strawberry.type
class Account:
    id: strawberry.ID
    school_id: strawberry.ID
    platform: str
    handle: str
    url: str | None
    visibility: str
    lead_id: strawberry.ID
    status: str
    credential_version: int
    runners: list[Runner]
    trained_runners: int
    short_of_trained_runners: bool
    rotation_required: bool
    hours_since_check: float | None
    unchecked: bool
    created_at: datetime


@strawberry.type(description="A post on a school account, with the worst severity of its last checks")
class Post:
    id: strawberry.ID
    school_id: strawberry.ID
    account_id: strawberry.ID
    handle: str
    platform: str
    author_id: strawberry.ID
    author_name: str
    text: str
    status: str
    worst: str | None
    submitted_at: datetime | None
    awaiting_hours: float | None
    url: str | None
    published_at: datetime | None
    published_by: str | None
    overridden: list[str]
    override_reason: str | None
    removed_at: datetime | None
    removal_reason: str | None
    told_audience: str | None
    open_takedowns: int
    created_at: datetime


@strawberry.type
class Handover:
    id: strawberry.ID
    school_id: strawberry.ID
    account_id: strawberry.ID
    handle: str
    platform: str
    leaver_id: strawberry.ID
    leaver_name: str
    leaver_was_lead: bool
    leaving_date: date
    due_on: date
    status: str
    overdue: bool
    outcome: str | None
    completed_at: datetime | None


@strawberry.type
class IncidentSummary:
    id: strawberry.ID
    school_id: strawberry.ID
    title: str
    category: str
    status: str
    restricted: bool
    risk_level: str | None
    safeguarding_concern: bool | None
    reported_at: datetime
    reporter_name: str
    assessment_due_at: datetime
    awaiting_assessment: bool
    assessment_overdue: bool
    police_referred_at: datetime | None
    crime_reference: str | None
    evidence_count: int


@strawberry.type
class InteractionItem:
    id: strawberry.ID
    school_id: strawberry.ID
    account_id: strawberry.ID
    kind: str
    received_at: datetime
    due_at: datetime
    author_handle: str
    excerpt: str
    link: str | None
    assignee_id: strawberry.ID | None
    first_response_at: datetime | None
    status: str
    sla_state: str
    incident_id: strawberry.ID | None


@strawberry.type
class SeriesPoint:
    day: date
    received: int
    met: int
    breached: int


@strawberry.type
class AuditActor:
    kind: str
    id: str | None
    display_name: str
    role: str | None
    auth_method: str
    request_id: str | None


@strawberry.type
class AuditEvent:
    position: int
    entity_id: strawberry.ID
    version: int
    type: str
    occurred_at: datetime
    school_id: strawberry.ID | None
    actor: AuditActor
    reason: str | None
    data: strawberry.scalars.JSON


def _ids(row: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    return {k: (strawberry.ID(str(v)) if (k.endswith("_id") or k == "id") and v is not None else v)
            for k, v in row.items() if k in fields}


def _school(row: dict[str, Any]) -> SchoolDashboard:
    fields = {f.name for f in dataclasses.fields(SchoolDashboard)}
    return SchoolDashboard(**{k: (strawberry.ID(str(v)) if k == "school_id" else v)
                              for k, v in row.items() if k in fields})


def _ctx(info: Info) -> tuple[Container, Principal]:
    principal = info.context["principal"]
    if principal is None:
        raise GraphQLError("authentication required", extensions={"code": "UNAUTHENTICATED"})
    return info.context["container"], principal


def _uuid(value: str, field: str) -> UUID:
    try:
        return UUID(str(value))
    except ValueError:
        raise GraphQLError(f"{field} is not a UUID", extensions={"code": "BAD_USER_INPUT", "field": field}) from None


async def _run(fn: Any, *args: Any) -> Any:
    try:
        return await to_thread.run_sync(fn, *args)
    except NotFound as e:
        raise GraphQLError(f"{e.what} not found", extensions={"code": "NOT_FOUND"}) from None
    except InvalidInput as e:
        raise GraphQLError(str(e), extensions={"code": "BAD_USER_INPUT",
                                               "errors": [{"field": x.field, "message": x.message}
                                                          for x in e.errors]}) from None


@strawberry.type
class Query:
    @strawberry.field(description="Per-school figures for the whole trust (trust team and DPO)")
    async def trust_dashboard(self, info: Info) -> TrustDashboard:
        c, p = _ctx(info)
        row = await _run(queries.trust_dashboard, c.engine, p, c.clock.now(), today_in_london(c.clock))
        per_school = [_school(r) for r in row["per_school"]]
        totals = {k: v for k, v in row.items() if k not in ("per_school", "trust_id")}
        return TrustDashboard(**totals, trust_id=strawberry.ID(str(row["trust_id"])), per_school=per_school)

    @strawberry.field(description="One school's figures")
    async def school_dashboard(self, info: Info, school_id: strawberry.ID) -> SchoolDashboard:
        c, p = _ctx(info)
        row = await _run(queries.school_dashboard, c.engine, p, _uuid(school_id, "schoolId"), c.clock.now(),
                         today_in_london(c.clock))
        return _school(row)

    @strawberry.field(description="Applications at a school, oldest first, with cursor pagination")
    async def applications(self, info: Info, school_id: strawberry.ID, status: str | None = None,
                           first: int = 50, after: str | None = None) -> ApplicationConnection:
        c, p = _ctx(info)
        page = await _run(queries.list_applications, c.engine, p, _uuid(school_id, "schoolId"), status, first, after)
        now = c.clock.now()
        edges = [ApplicationEdge(cursor=queries.encode_cursor(r["submitted_at"], r["id"]), node=Application(
            id=strawberry.ID(str(r["id"])), school_id=strawberry.ID(str(r["school_id"])),
            applicant_id=strawberry.ID(str(r["applicant_id"])), applicant_name=r["applicant_name"], aim=r["aim"],
            audience=r["audience"], promotion=r["promotion"],
            runner_ids=[strawberry.ID(str(x)) for x in r["runner_ids"]], visibility=r["visibility"],
            platform=r["platform"], proposed_handle=r["proposed_handle"], status=r["status"],
            submitted_at=r["submitted_at"], decided_at=r["decided_at"], reason=r["reason"],
            age_hours=round(((r["decided_at"] or now) - r["submitted_at"]).total_seconds() / 3600, 1)))
            for r in page.items]
        return ApplicationConnection(edges=edges, page_info=PageInfo(has_next_page=page.next_cursor is not None,
                                                                     end_cursor=page.next_cursor))


    @strawberry.field(description="Accounts of a school; state: active, suspended, closed, "
                                  "short_of_trained_runners, rotation_required, unchecked")
    async def accounts(self, info: Info, school_id: strawberry.ID, state: str | None = None) -> list[Account]:
        c, p = _ctx(info)
        rows = await _run(queries.list_accounts, c.engine, p, _uuid(school_id, "schoolId"),
                          today_in_london(c.clock), c.clock.now(), state)
        return [Account(**{**_ids(r, Account.__annotations__),
                           "runners": [Runner(id=strawberry.ID(str(x["id"])), display_name=x["display_name"])
                                       for x in r["runners"]]}) for r in rows]

    @strawberry.field(description="Handovers of a school; status: open, completed, overdue")
    async def handovers(self, info: Info, school_id: strawberry.ID, status: str | None = None) -> list[Handover]:
        c, p = _ctx(info)
        rows = await _run(queries.list_handovers, c.engine, p, _uuid(school_id, "schoolId"),
                          today_in_london(c.clock), status)
        return [Handover(**_ids(r, Handover.__annotations__)) for r in rows]


    @strawberry.field(description="An account's posts, newest first; status: draft, awaiting_approval, returned, "
                                  "approved, published, removed")
    async def posts(self, info: Info, account_id: strawberry.ID, status: str | None = None) -> list[Post]:
        c, p = _ctx(info)
        rows = await _run(post_queries.list_posts, c.engine, p, _uuid(account_id, "accountId"), c.clock.now(), status)
        return [Post(**_ids(r, Post.__annotations__)) for r in rows]

    @strawberry.field(description="Incidents the caller may see; state: open, resolved, awaiting_assessment, "
                                  "assessment_overdue, police")
    async def incidents(self, info: Info, school_id: strawberry.ID, state: str | None = None) -> list[IncidentSummary]:
        c, p = _ctx(info)
        rows = await _run(queries.list_incidents, c.engine, p, _uuid(school_id, "schoolId"), c.clock.now(), state)
        return [IncidentSummary(**_ids(r, IncidentSummary.__annotations__)) for r in rows]

    @strawberry.field(description="Interactions of a school; slaState: on_track, due_soon, breached, met, met_late")
    async def interactions(self, info: Info, school_id: strawberry.ID,
                           sla_state: str | None = None) -> list[InteractionItem]:
        c, p = _ctx(info)
        rows = await _run(inbox_queries.list_interactions, c.engine, p, _uuid(school_id, "schoolId"), c.clock.now(),
                          sla_state)
        return [InteractionItem(**_ids(r, InteractionItem.__annotations__)) for r in rows]

    @strawberry.field(description="Per UK day: interactions received, answered on time, breached (charts)")
    async def interaction_series(self, info: Info, school_id: strawberry.ID | None = None,
                                 days: int = 30) -> list[SeriesPoint]:
        c, p = _ctx(info)
        sid = _uuid(school_id, "schoolId") if school_id else None
        rows = await _run(inbox_queries.daily_series, c.engine, p, sid, c.clock.now(), min(max(days, 1), 366))
        return [SeriesPoint(**r) for r in rows]

    @strawberry.field(description="Every event touching an entity, in order, with actor, time and reason")
    async def audit_trail(self, info: Info, entity_id: strawberry.ID) -> list[AuditEvent]:
        c, p = _ctx(info)
        rows = await _run(lambda: audit.audit_events(c.engine, p, entity_id=_uuid(entity_id, "entityId")))
        return [AuditEvent(**{**_ids({k: v for k, v in r.items() if k != "actor"}, AuditEvent.__annotations__),
                              "actor": AuditActor(**r["actor"])}) for r in rows]


EXPECTED_CODES = {"NOT_FOUND", "BAD_USER_INPUT", "UNAUTHENTICATED"}
log = logging.getLogger("socialgov.graphql")


class Schema(strawberry.Schema):
    """Logs unexpected errors only, with their trace. A 'not found' or bad input is an answer, not a fault; a
    document that does not parse or validate is the client's mistake: one line at INFO, however many errors."""

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        refused = [e for e in errors if e.original_error is None and (e.extensions or {}).get("code") is None]
        if refused:
            log.info("GraphQL request refused (%d errors): %.200s", len(refused), refused[0].message)
        unexpected = [e for e in errors if e.original_error is not None
                      and (e.extensions or {}).get("code") not in EXPECTED_CODES]
        if unexpected:
            super().process_errors(unexpected, execution_context)


#: Limits on a document (decision 0061), after the body's (api/limits.py: size, JSON depth). Our deepest field is
#: four levels down and a dashboard query is about a hundred tokens; introspection is bounded by graphql-core's
#: MaxIntrospectionDepthRule, which the depth limit leaves to it.
MAX_DOCUMENT_BYTES = 32 * 1024
MAX_TOKENS = 1000
MAX_DEPTH = 10
MAX_ALIASES = 20

#: The rules are built once, so that a document validated before is found in the validation cache (a rule class
#: built per request, as QueryDepthLimiter and MaxAliasesLimiter do, is a new cache key each time).
LIMIT_RULES = [depth_rule(MAX_DEPTH, None), aliases_rule(MAX_ALIASES)]

#: Parsing and validating the same document again costs about as much as a cached dashboard; clients send the
#: same few queries, so both are remembered (by document text; validation depends on nothing else here).
_parse = functools.lru_cache(maxsize=256)(graphql.parse)
_validate = functools.lru_cache(maxsize=256)(validate_document)


class ParseAndValidateInAThread(SchemaExtension):
    """Parses and validates in a worker thread, so that a document at the limits (up to about 0.2 s of
    validation) holds no other request up on the event loop; refuses a document over MAX_DOCUMENT_BYTES unread."""

    async def on_parse(self) -> AsyncIterator[None]:
        c = self.execution_context
        if c.query is not None and len(c.query.encode()) > MAX_DOCUMENT_BYTES:
            raise GraphQLError(f"the document is larger than {MAX_DOCUMENT_BYTES:,} bytes")
        c.graphql_document = await to_thread.run_sync(functools.partial(_parse, c.query, **c.parse_options))
        yield

    async def on_validate(self) -> AsyncIterator[None]:
        c = self.execution_context
        c.pre_execution_errors = await to_thread.run_sync(_validate, c.schema._schema, c.graphql_document,
                                                          c.validation_rules)
        yield


schema = Schema(query=Query, extensions=[lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
                                         lambda: AddValidationRules(LIMIT_RULES),
                                         ParseAndValidateInAThread])


async def graphql_context(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """In production every request needs a token, introspection included (decision 0061): no anonymous caller gets
    a document parsed. In development the schema stays open to GraphiQL; data needs a token everywhere."""
    container = request.app.state.container
    required = container.settings.is_production
    principal = await to_thread.run_sync(lambda: resolve_principal(request, required=required))
    return {"container": container, "principal": principal}


def graphql_controller(production: bool) -> type[Controller]:
    """POST /graphql (queries by GET are off: the body's limits would not apply to them)."""
    base = make_graphql_controller(schema, path="/graphql", context_getter=graphql_context,
                                   graphql_ide=None if production else "graphiql", allow_queries_via_get=False)

    class GraphQL(base):  # type: ignore[valid-type,misc]
        def decode_json(self, data: str | bytes) -> object:
            """Strawberry's JSON hook: a body that is not a JSON object is the client's mistake (400), not ours.
            A body's depth was checked before (api/limits.py); a query string's `variables` were not, hence the
            RecursionError."""
            try:
                value = json.loads(data)
            except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested too deep for the parser
                raise HTTPException(400, "the body is not JSON text in UTF-8") from None
            if not isinstance(value, dict):
                raise HTTPException(400, "the body must be a JSON object with a `query` member")
            for member, kinds, what in (("query", (str,), "a string"), ("operationName", (str,), "a string"),
                                        ("variables", (dict,), "an object"), ("extensions", (dict,), "an object")):
                if value.get(member) is not None and not isinstance(value[member], kinds):
                    raise HTTPException(400, f"`{member}` must be {what}")  # GraphQL over HTTP §6.4.1
            return value

        async def execute_request(self, request: Request[Any, Any, Any], context: Any,
                                  root_value: Any) -> Response[Any]:
            """Strawberry answers a malformed request in plain text; ours are problem+json like the REST API's."""
            try:
                return await self.run(request, context=context, root_value=root_value)
            except HTTPException as e:
                return problem(e.status_code, "graphql-request", "Bad GraphQL request", detail=e.reason)

    return GraphQL
