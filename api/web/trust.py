"""The trust's central team: the overview of every school (red flags first, trends as charts) and a school's
drill-down, the trust's settings. The same read queries and services as GraphQL `trustDashboard` and
`PUT /api/v1/trust/settings`.

    GET  /trust                  per-school table: ?q= (name), ?show=flagged, ?sort=&dir=, ?page= (plain links)
    GET  /trust/schools/{id}     a school's figures, trends and links to what is overdue
    GET  /trust/settings         the trust's SLA hours, due-soon window, end of day, training validity
    POST /trust/settings         changes them (Directory.change_trust_settings)
    GET  /trust/policy           policy versions and who has acknowledged them; the current one's coverage by day
    GET  /trust/policy/new       publish a new version (everyone acknowledges again)
    POST /trust/policy/new       Directory.publish_policy, as POST /api/v1/policy-versions
    GET  /trust/staff            the staff directory: ?q= (name or email), ?school=, ?state=, ?page=
    GET  /trust/integrations     integration clients (never their secrets)
    GET  /trust/integrations/new, POST: register one; the answer to the POST shows its secret, once (no-store)
    GET  /trust/integrations/{id}/revoke, POST: revoke one (its tokens stop working at once)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from litestar import Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from api.routes.common import container, now_and_today
from api.web.forms import FormReader, command_errors
from api.web.render import page, redirect_with_notice
from api.web.session import SignedIn
from domain.integration import Scope
from domain.trust import TrustSettings
from services import queries, trust_queries
from services.authorisation import Action, can
from services.eventstore import NotFound
from services.integrations import list_clients

Row = dict[str, Any]

SORT_LABELS = {"flags": "Red flags", "name": "School", "overdue_replies": "Overdue replies",
               "short_of_runners": "Accounts short of trained runners", "overdue_handovers": "Overdue handovers",
               "awaiting_assessment": "Incidents awaiting assessment", "compliance": "Replies within the SLA (30 days)",
               "training": "Training coverage"}


def _int(value: str | None, default: int) -> int:
    try:
        return int(value or "")
    except ValueError:
        return default


def _chart_rows(trend: list[Row], figure: str) -> list[tuple[str, Any]]:
    return [(f"{r['week_start'].day} {r['week_start']:%b}", r[figure]) for r in trend]


def _count_top(trend: list[Row], figure: str) -> int:
    """The top of a count chart's scale: a multiple of 4, so its five grid lines fall on whole numbers."""
    return max(4, -(-max((int(r[figure] or 0) for r in trend), default=0) // 4) * 4)


def _chart(id: str, caption: str, trend: list[Row], figure: str, kind: str, heading: str) -> dict[str, Any]:
    percent = figure.endswith("_pct")
    return {"id": id, "caption": caption, "rows": _chart_rows(trend, figure), "unit": "%" if percent else "",
            "max": 100 if percent else _count_top(trend, figure), "kind": kind, "value_heading": heading}


def _charts(trend: list[Row]) -> list[dict[str, Any]]:
    """The four trends, each drawn by macros/charts.html with its data table."""
    return [
        _chart("chart-sla", "Replies within the SLA, by week", trend, "within_sla_pct", "line", "Within the SLA"),
        _chart("chart-breaches", "Breaches (replies overdue or late), by week", trend, "breaches", "bar", "Breaches"),
        _chart("chart-training", "Training coverage of staff in runner roles, at each week's end", trend,
               "training_coverage_pct", "line", "Trained"),
        _chart("chart-incidents", "Incidents reported, by week", trend, "incidents_reported", "bar", "Incidents"),
    ]


def _require_trust_team(who: SignedIn) -> None:
    if not can(who.principal, Action.DASHBOARD_TRUST, None):
        raise NotFound("trust overview")


@get("/trust", sync_to_thread=True, include_in_schema=False)
def overview(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn]) -> Template:
    who = web_principal
    _require_trust_team(who)
    c = container(request)
    now, today = now_and_today(c)
    dashboard = queries.trust_dashboard(c.engine, who.principal, now, today)
    params = request.query_params
    q = (params.get("q") or "")[:100]
    show = "flagged" if params.get("show") == "flagged" else "all"
    sort = params.get("sort") or "flags"
    direction = params.get("dir")
    table = trust_queries.school_table(dashboard["per_school"], q, show == "flagged", sort,
                                       None if direction not in ("asc", "desc") else direction == "desc",
                                       _int(params.get("page"), 1))
    base = {k: v for k, v in {"q": q, "show": show if show == "flagged" else "", "sort": table.sort,
                              "dir": "desc" if table.descending else "asc"}.items() if v}

    def link(**changes: Any) -> str:
        merged = {**base, **changes}
        query = urlencode({k: v for k, v in merged.items() if v not in ("", None, 1)})
        return "/trust" + (f"?{query}" if query else "")

    def sort_link(key: str) -> str:
        """A column's sort link: its default direction, or the other one if it is the current sort."""
        default_desc = trust_queries.SORTS[key][1]
        desc = (not table.descending) if table.sort == key else default_desc
        return link(sort=key, dir="desc" if desc else "asc", page=1)

    trend = trust_queries.trends(c.engine, who.principal, now, today)
    return page(request, who, "trust/overview.html", dashboard=dashboard, table=table, q=q, show=show,
                link=link, sort_link=sort_link, sort_labels=SORT_LABELS, charts=_charts(trend),
                red_flags=trust_queries.RED_FLAGS)


@get("/trust/schools/{school_id:uuid}", sync_to_thread=True, include_in_schema=False)
def school_page(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                school_id: FromPath[UUID]) -> Template:
    who = web_principal
    _require_trust_team(who)
    c = container(request)
    now, today = now_and_today(c)
    figures = queries.school_dashboard(c.engine, who.principal, school_id, now, today)
    overdue = trust_queries.overdue_interactions(c.engine, who.principal, school_id, now)
    handovers = queries.list_handovers(c.engine, who.principal, school_id, today, "overdue")
    incidents = queries.list_incidents(c.engine, who.principal, school_id, now, "awaiting_assessment")
    short = queries.list_accounts(c.engine, who.principal, school_id, today, now, "short_of_trained_runners")
    trend = trust_queries.trends(c.engine, who.principal, now, today, school_id)
    return page(request, who, "trust/school.html", figures=figures, overdue=overdue, handovers=handovers,
                incidents=incidents, short=short, charts=_charts(trend))


# ----- settings -----
SETTINGS_LABELS = {"response_hours": "Reply within (hours)", "due_soon_hours": "Due soon window (hours)",
                   "end_of_day": "End of the working day", "training_validity_months": "Training valid for (months)",
                   "assessment_working_days": "Incident assessment due within (working days)"}


def _settings_values(settings: Row) -> dict[str, str]:
    return {k: str(settings[k]) for k in SETTINGS_LABELS}


@get("/trust/settings", sync_to_thread=True, include_in_schema=False)
def settings_page(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn]) -> Template:
    who = web_principal
    if not can(who.principal, Action.TRUST_SETTINGS_CHANGE, None):
        raise NotFound("trust settings")
    current = queries.get_trust_settings(container(request).engine, who.principal)
    form = FormReader(_settings_values(current), labels=SETTINGS_LABELS)
    for name in SETTINGS_LABELS:
        form.text(name)
    return page(request, who, "trust/settings.html", form=form, current=current, labels=SETTINGS_LABELS)


@post("/trust/settings", include_in_schema=False)
async def change_settings(request: Request[Any, Any, Any],
                          web_principal: NamedDependency[SignedIn]) -> Template | Redirect:
    data = await request.form()
    return await sync_to_thread(_change_settings, request, web_principal, data)


def _whole_number(form: FormReader, name: str, missing: str) -> int:
    text = form.text(name, missing=missing, max_length=10)
    if text and not text.isdigit():
        form.errors[name] = f"{SETTINGS_LABELS[name]} must be a whole number, like 24"
    return int(text) if text.isdigit() else 0


def _change_settings(request: Request[Any, Any, Any], who: SignedIn, data: Mapping[str, Any]) -> Template | Redirect:
    if not can(who.principal, Action.TRUST_SETTINGS_CHANGE, None):
        raise NotFound("trust settings")
    c = container(request)
    current = queries.get_trust_settings(c.engine, who.principal)
    form = FormReader(data, labels=SETTINGS_LABELS)
    response = _whole_number(form, "response_hours", "Enter how many hours a school has to reply")
    due_soon = _whole_number(form, "due_soon_hours", "Enter how many hours before the deadline a reply is due soon")
    end_of_day = form.text("end_of_day", missing="Enter the end of the working day, like 17:00", max_length=5)
    validity = _whole_number(form, "training_validity_months", "Enter how many months training stays valid")
    assessment = _whole_number(form, "assessment_working_days",
                               "Enter how many working days an incident's assessment is due within")
    if not form.errors:
        with command_errors(form):
            c.directory.change_trust_settings(who.principal, TrustSettings(response, due_soon, end_of_day, validity,
                                                                           assessment))
        if "response_hours" in form.errors.get("due_soon_hours", ""):  # the domain's wording names the field
            form.errors["due_soon_hours"] = "Due soon window (hours) must be less than the reply time"
    if form.errors:
        return page(request, who, "trust/settings.html", status=400, form=form, current=current,
                    labels=SETTINGS_LABELS)
    return redirect_with_notice("/trust/settings", "Trust settings saved")


# ----- policy versions -----
def _require(who: SignedIn, action: Action, what: str) -> None:
    if not can(who.principal, action, None):
        raise NotFound(what)


@get("/trust/policy", sync_to_thread=True, include_in_schema=False)
def policy_page(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn]) -> Template:
    who = web_principal
    _require(who, Action.POLICY_PUBLISH, "policy versions")
    c = container(request)
    coverage = trust_queries.policy_coverage(c.engine, who.principal, now_and_today(c)[1])
    rows = [(f"{d['day'].day} {d['day']:%b}", d["coverage_pct"]) for d in coverage["over_time"]]
    return page(request, who, "trust/policy.html", coverage=coverage, chart_rows=rows)


POLICY_LABELS = {"label": "Version", "summary": "What changed"}


@get("/trust/policy/new", sync_to_thread=True, include_in_schema=False)
def new_policy_page(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn]) -> Template:
    _require(web_principal, Action.POLICY_PUBLISH, "policy versions")
    return page(request, web_principal, "trust/policy_new.html", form=None)


@post("/trust/policy/new", include_in_schema=False)
async def publish_policy(request: Request[Any, Any, Any],
                         web_principal: NamedDependency[SignedIn]) -> Template | Redirect:
    data = await request.form()
    return await sync_to_thread(_publish_policy, request, web_principal, data)


def _publish_policy(request: Request[Any, Any, Any], who: SignedIn, data: Mapping[str, Any]) -> Template | Redirect:
    _require(who, Action.POLICY_PUBLISH, "policy versions")
    form = FormReader(data, labels=POLICY_LABELS)
    label = form.text("label", missing="Enter the version, like 2026.1", max_length=100)
    summary = form.text("summary", missing="Enter what changed in this version", max_length=2000)
    if not form.errors:
        with command_errors(form):
            container(request).directory.publish_policy(who.principal, label, summary)
    if form.errors:
        return page(request, who, "trust/policy_new.html", status=400, form=form)
    return redirect_with_notice("/trust/policy", f"Version {label} published: everyone must now acknowledge it")


# ----- staff directory -----
@get("/trust/staff", sync_to_thread=True, include_in_schema=False)
def staff_page(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn]) -> Template:
    who = web_principal
    _require_trust_team(who)
    c = container(request)
    params = request.query_params
    q = (params.get("q") or "")[:100]
    state = params.get("state") or ""
    state = state if state in trust_queries.STAFF_STATES else ""
    school = next((s for s in who.schools if str(s.id) == params.get("school")), None)
    found = trust_queries.staff_directory(c.engine, who.principal, now_and_today(c)[1], q,
                                          school.id if school else None, state, _int(params.get("page"), 1))
    base = {"q": q, "school": str(school.id) if school else "", "state": state}

    def link(**changes: Any) -> str:
        query = urlencode({k: v for k, v in {**base, **changes}.items() if v not in ("", None, 1)})
        return "/trust/staff" + (f"?{query}" if query else "")

    return page(request, who, "trust/staff.html", found=found, q=q, state=state, school=school,
                states=trust_queries.STAFF_STATES, link=link)


# ----- integration clients -----
SCOPES = {Scope.STAFF_WRITE.value: "Staff joiners and leavers (HR)", Scope.PUPILS_WRITE.value:
          "Pupils' image consent (MIS)", Scope.INTERACTIONS_WRITE.value: "Comments, queries and messages received",
          Scope.MENTIONS_WRITE.value: "Public mentions of a school", Scope.READ.value: "Read the trust's data"}
CLIENT_LABELS = {"name": "Name", "scopes": "What it may do", "reason": "Reason"}


def _client(request: Request[Any, Any, Any], who: SignedIn, client_id: UUID) -> Row:
    found = next((x for x in list_clients(container(request).engine, who.principal) if x["id"] == client_id), None)
    if found is None:
        raise NotFound("integration client")
    return found


@get("/trust/integrations", sync_to_thread=True, include_in_schema=False)
def integrations_page(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn]) -> Template:
    _require(web_principal, Action.CLIENT_MANAGE, "integration clients")
    clients = list_clients(container(request).engine, web_principal.principal)
    return page(request, web_principal, "trust/integrations.html", clients=clients[::-1], scopes=SCOPES)


@get("/trust/integrations/new", sync_to_thread=True, include_in_schema=False)
def new_integration_page(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn]) -> Template:
    _require(web_principal, Action.CLIENT_MANAGE, "integration clients")
    return page(request, web_principal, "trust/integration_new.html", form=None, scopes=SCOPES, chosen=[])


@post("/trust/integrations/new", include_in_schema=False)
async def register_integration(request: Request[Any, Any, Any],
                               web_principal: NamedDependency[SignedIn]) -> Template:
    data = await request.form()
    chosen = [s for s in data.getall("scopes", []) if isinstance(s, str)] if hasattr(data, "getall") else []
    return await sync_to_thread(_register_integration, request, web_principal, data, chosen)


def _register_integration(request: Request[Any, Any, Any], who: SignedIn, data: Mapping[str, Any],
                          chosen: list[str]) -> Template:
    _require(who, Action.CLIENT_MANAGE, "integration clients")
    form = FormReader(data, labels=CLIENT_LABELS)
    name = form.text("name", missing="Enter a name for the integration, like the HR system's", max_length=200)
    scopes = [s for s in chosen if s in SCOPES]
    form.anchors["scopes"] = "scopes"
    if not scopes:
        form.errors["scopes"] = "Select what the integration may do"
    created = None
    if not form.errors:
        with command_errors(form):
            created = container(request).integrations.register(who.principal, name, scopes)
    if created is None:
        return page(request, who, "trust/integration_new.html", status=400, form=form, scopes=SCOPES, chosen=chosen)
    client_id, secret = created
    # the only time the secret is shown: this answer (never a GET page, never stored, never cached)
    return page(request, who, "trust/integration_created.html", client_id=client_id, secret=secret, name=name,
                granted=[SCOPES[s] for s in sorted(set(scopes))])


@get("/trust/integrations/{client_id:uuid}/revoke", sync_to_thread=True, include_in_schema=False)
def revoke_integration_page(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                            client_id: FromPath[UUID]) -> Template:
    _require(web_principal, Action.CLIENT_MANAGE, "integration clients")
    return page(request, web_principal, "trust/integration_revoke.html", form=None,
                client=_client(request, web_principal, client_id))


@post("/trust/integrations/{client_id:uuid}/revoke", include_in_schema=False)
async def revoke_integration(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                             client_id: FromPath[UUID]) -> Template | Redirect:
    data = await request.form()
    return await sync_to_thread(_revoke_integration, request, web_principal, client_id, data)


def _revoke_integration(request: Request[Any, Any, Any], who: SignedIn, client_id: UUID,
                        data: Mapping[str, Any]) -> Template | Redirect:
    _require(who, Action.CLIENT_MANAGE, "integration clients")
    client = _client(request, who, client_id)
    if client["revoked"]:
        return redirect_with_notice("/trust/integrations", f"{client['name']} was already revoked")
    form = FormReader(data, labels=CLIENT_LABELS)
    reason = form.text("reason", max_length=1000)
    if not form.errors:
        with command_errors(form):
            container(request).integrations.revoke(who.principal, client_id, reason or None)
    if form.errors:
        return page(request, who, "trust/integration_revoke.html", status=400, form=form, client=client)
    return redirect_with_notice("/trust/integrations", f"{client['name']} revoked: its tokens no longer work")


ROUTES = [overview, school_page, settings_page, change_settings, policy_page, new_policy_page, publish_policy,
          staff_page, integrations_page, new_integration_page, register_integration, revoke_integration_page,
          revoke_integration]
