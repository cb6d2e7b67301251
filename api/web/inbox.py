"""The moderators' inbox (DESIGN §4; the policy: respond "within 24 hours, or on the next working day if received
at a weekend") and public mentions to triage. Both lists refresh live: htmx asks for the same URL every 30 s and
the route answers `request.htmx` with just the list, read in one statement (docs/decisions/0096). Every command
is the same service method as the REST API (api/routes/inbox.py).

    GET  /inbox                         interactions in reply-due order; filters state, account; paged
    GET  /inbox/{id}                    the interaction, its due time in UK time with the reason, and its forms
    POST /inbox/{id}/acknowledge        acknowledge receipt (meets the deadline)
    POST /inbox/{id}/respond            record the response
    POST /inbox/{id}/assign             assign to someone
    POST /inbox/{id}/close              close without (further) reply
    POST /inbox/{id}/escalate           escalate to a new incident (then its page)
    GET  /mentions                      public mentions awaiting triage (or triaged), and the school's feeds
    GET  /mentions/{id}                 one mention and the triage form
    POST /mentions/{id}                 ignore, respond or escalate to an incident
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from litestar import Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Template

from api.routes.common import container, now_and_today
from api.web.accounts import platform_name
from api.web.forms import FormReader, command_errors
from api.web.incidents import CATEGORIES
from api.web.render import page, redirect_with_notice
from api.web.session import SignedIn
from domain.sla import LONDON, DueExplanation, SlaPolicy, explain_due
from domain.values import Nation
from services import inbox_queries as iq
from services import queries
from services.authorisation import Action, can
from services.eventstore import NotFound

Row = dict[str, Any]
PER_PAGE = 25
REFRESH_SECONDS = 30

STATES = {"needs_reply": "Needs a reply", "overdue": "Overdue", "due_soon": "Due soon", "on_track": "On track",
          "answered": "Answered", "all": "All, latest first"}
KINDS = {"comment": "Comment", "query": "Query", "complaint": "Complaint", "message": "Message"}
NATIONS = {Nation.ENGLAND: "England", Nation.WALES: "Wales", Nation.SCOTLAND: "Scotland",
           Nation.NORTHERN_IRELAND: "Northern Ireland"}
DECISIONS = {"respond": "Respond", "ignore": "Ignore", "escalate": "Escalate to an incident"}


# ----- the due time, in words -----
def clock_time(moment: datetime | time) -> str:
    """'5pm', '9:05am' (GOV.UK style)."""
    hour = moment.hour % 12 or 12
    minutes = f":{moment.minute:02d}" if moment.minute else ""
    return f"{hour}{minutes}{'am' if moment.hour < 12 else 'pm'}"


def day_name(moment: Any) -> str:
    """'Saturday 29 August 2026'."""
    return f"{moment:%A} {moment.day} {moment:%B %Y}"


def due_words(e: DueExplanation) -> str:
    """'5pm on Tuesday 1 September 2026 (UK time)'."""
    return f"{clock_time(e.due_local)} on {day_name(e.due_local)} (UK time)"


def due_reason(e: DueExplanation) -> str:
    """Why the reply is due then, from the domain's parts (domain/sla.py `explain_due`): 'Received Saturday
    29 August 2026 at 10am, a weekend: due by the end of the next working day (5pm). Monday 31 August 2026 is a
    bank holiday in England (Summer Bank Holiday), which moves it to Tuesday 1 September 2026.'"""
    nation = NATIONS[e.nation]
    received = f"Received {day_name(e.received_local)} at {clock_time(e.received_local)}"
    if e.elapsed:
        return f"{received}, a working day: due {e.response_hours} hours later."
    why = ("a weekend" if e.not_working_because in ("Saturday", "Sunday")
           else f"a bank holiday in {nation} ({e.not_working_because})")
    text = f"{received}, {why}: due by the end of the next working day ({clock_time(e.end_of_day)})."
    if e.skipped:
        days = " and ".join(f"{day_name(s.day)} is a bank holiday in {nation} ({s.holiday})" for s in e.skipped)
        text += f" {days}, which moves it to {day_name(e.due_local)}."
    return text


# ----- the inbox -----
def _school(who: SignedIn) -> UUID:
    if who.school_id is None:
        raise NotFound("school")
    return who.school_id


def _account_label(row: Mapping[str, Any]) -> str:
    return f"{platform_name(row['platform'])} {row['handle']}"


@get("/inbox", sync_to_thread=True, include_in_schema=False)
def inbox_list(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
               state_: Annotated[str, QueryParameter(name="state")] = "needs_reply", account: FromQuery[str] = "",
               page_number: FromQuery[int] = 1) -> Template:
    """The list; an htmx request (the live refresh) gets only the list, read in one statement."""
    who, c = web_principal, container(request)
    school = _school(who)
    state = state_ if state_ in STATES else "needs_reply"
    account_id = _uuid(account)
    page_number = max(1, page_number)
    result = iq.inbox_page(c.engine, who.principal, school, c.clock.now(), state, account_id, page_number, PER_PAGE)
    for item in result["items"]:
        item["account_name"] = _account_label(item)
        item["kind_name"] = KINDS.get(item["kind"], item["kind"].capitalize())
    params = {"state": state, **({"account": str(account_id)} if account_id else {})}
    context = {"result": result, "state": state, "state_name": STATES[state], "account_id": account_id,
               "refresh_url": "/inbox?" + urlencode({**params, "page_number": page_number}),
               "previous_url": "/inbox?" + urlencode({**params, "page_number": page_number - 1}),
               "next_url": "/inbox?" + urlencode({**params, "page_number": page_number + 1}),
               "refreshed_at": c.clock.now(), "refresh_seconds": REFRESH_SECONDS}
    if request.htmx:  # type: ignore[attr-defined]
        return Template("inbox/_list.html", headers={"Cache-Control": "no-store", "Vary": "HX-Request"},
                        context={"who": who, **context})
    accounts = queries.incident_account_choices(c.engine, who.principal, school) or [
        {"id": i["account_id"], "platform": i["platform"], "handle": i["handle"]} for i in result["items"]]
    account_choices = sorted({a["id"]: _account_label(a) for a in accounts}.items(), key=lambda kv: kv[1])
    return page(request, who, "inbox/list.html", states=STATES, account_choices=account_choices, **context)


def _uuid(value: str) -> UUID | None:
    try:
        return UUID(value) if value else None
    except ValueError:
        return None


def _interaction_context(request: Request[Any, Any, Any], who: SignedIn, interaction_id: UUID) -> Row:
    c = container(request)
    now, today = now_and_today(c)
    item = iq.get_interaction(c.engine, who.principal, interaction_id, now)
    school = queries.get_school(c.engine, who.principal, item["school_id"])
    trust = queries.get_trust_settings(c.engine, who.principal)
    policy = SlaPolicy(trust["response_hours"], trust["due_soon_hours"], time.fromisoformat(trust["end_of_day"]))
    explanation = explain_due(item["received_at"], Nation(school["nation"]), policy)
    if explanation.due_local != item["due_at"].astimezone(LONDON):
        explanation = None  # the trust's settings changed since it was received: its due time stands, unexplained
    accounts = {a["id"]: a for a in queries.incident_account_choices(c.engine, who.principal, item["school_id"])}
    account = accounts.get(item["account_id"])
    people = {p["id"]: p["display_name"] for p in queries.list_staff(c.engine, who.principal, item["school_id"],
                                                                       today)}
    people.setdefault(who.principal.id, who.principal.display_name)
    item["kind_name"] = KINDS.get(item["kind"], item["kind"].capitalize())
    item["account_name"] = _account_label(account) if account else "a school account"
    item["assignee_name"] = people.get(item["assignee_id"]) if item["assignee_id"] else None
    is_open = item["status"] == "open"
    return {"item": item, "explanation": explanation,
            "due_words": due_words(explanation) if explanation else
            f"{clock_time(item['due_at'].astimezone(LONDON))} on {day_name(item['due_at'].astimezone(LONDON))} "
            "(UK time)",
            "due_reason": due_reason(explanation) if explanation else None,
            "may_handle": is_open and item["incident_id"] is None,
            "unanswered": item["first_response_at"] is None,
            "people": sorted(people.items(), key=lambda kv: kv[1]),
            "categories": {k.value: v for k, v in CATEGORIES.items()},
            "may_escalate": is_open and item["incident_id"] is None}


@get("/inbox/{interaction_id:uuid}", sync_to_thread=True, include_in_schema=False)
def interaction_page(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                     interaction_id: FromPath[UUID]) -> Template:
    return page(request, web_principal, "inbox/interaction.html", form=None,
                **_interaction_context(request, web_principal, interaction_id))


LABELS = {"response": "Your response", "assignee_id": "Assign to", "close_reason": "Why close it",
          "title": "Incident title", "category": "Category", "escalate_reason": "Why escalate"}


def _command(request: Request[Any, Any, Any], who: SignedIn, interaction_id: UUID, action: str,
             data: Mapping[str, Any]) -> Template | Redirect:
    c = container(request)
    context = _interaction_context(request, who, interaction_id)
    form = FormReader(data, labels=LABELS)
    url = f"/inbox/{interaction_id}"
    if action == "acknowledge":
        with command_errors(form):
            c.inbox.acknowledge(who.principal, interaction_id)
        notice = "Acknowledged: the reply is no longer owed"
    elif action == "respond":
        response = form.text("response", "Enter your response", max_length=2000)
        if not form.errors:
            with command_errors(form):
                c.inbox.respond(who.principal, interaction_id, response)
        notice = "Response recorded"
    elif action == "assign":
        people = dict(context["people"])
        choice = form.choice("assignee_id", {str(k): v for k, v in people.items()}, "Select who to assign it to")
        if not form.errors:
            with command_errors(form):
                c.inbox.assign(who.principal, interaction_id, UUID(choice))
        notice = f"Assigned to {people.get(_uuid(choice), '')}"
    elif action == "close":
        reason = form.text("close_reason", max_length=1000)
        with command_errors(form):
            c.inbox.close_interaction(who.principal, interaction_id, reason or None)
        notice = "Closed"
    else:
        title = form.text("title", "Enter a title for the incident", max_length=200)
        category = form.choice("category", context["categories"], "Select a category")
        reason = form.text("escalate_reason", max_length=1000)
        incident_id = None
        if not form.errors:
            with command_errors(form):
                incident_id = c.inbox.escalate(who.principal, interaction_id, title, category, reason or None)
        if not form.errors and incident_id is not None:
            return redirect_with_notice(f"/incidents/{incident_id}", "Escalated: the incident is reported")
    if form.errors:
        return page(request, who, "inbox/interaction.html", status=400, form=form, **context)
    return redirect_with_notice(url, notice)


def _post(action: str) -> Any:
    @post(f"/inbox/{{interaction_id:uuid}}/{action}", include_in_schema=False, name=f"inbox-{action}")
    async def handler(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                      interaction_id: FromPath[UUID]) -> Template | Redirect:
        data = await request.form()
        return await sync_to_thread(_command, request, web_principal, interaction_id, action, data)
    return handler


COMMANDS = [_post(a) for a in ("acknowledge", "respond", "assign", "close", "escalate")]


# ----- mentions -----
@get("/mentions", sync_to_thread=True, include_in_schema=False)
def mentions_list(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                  status: FromQuery[str] = "awaiting_triage") -> Template:
    who, c = web_principal, container(request)
    school = _school(who)
    status = status if status in ("awaiting_triage", "triaged") else "awaiting_triage"
    mentions = iq.list_mentions(c.engine, who.principal, school, status)
    context = {"mentions": mentions, "mention_status": status, "refresh_url": f"/mentions?status={status}",
               "refresh_seconds": REFRESH_SECONDS, "refreshed_at": c.clock.now(), "decisions": DECISIONS}
    if request.htmx:  # type: ignore[attr-defined]
        return Template("mentions/_list.html", headers={"Cache-Control": "no-store", "Vary": "HX-Request"},
                        context={"who": who, **context})
    feeds = iq.school_feeds(c.engine, who.principal, school)
    return page(request, who, "mentions/list.html", feeds=feeds, **context)


def _mention_context(request: Request[Any, Any, Any], who: SignedIn, mention_id: UUID) -> Row:
    c = container(request)
    mention = iq.get_mention(c.engine, who.principal, mention_id)
    return {"mention": mention, "decisions": DECISIONS, "categories": {k.value: v for k, v in CATEGORIES.items()},
            "may_triage": mention["decision"] is None and can(who.principal, Action.MENTION_TRIAGE,
                                                               mention["school_id"])}


@get("/mentions/{mention_id:uuid}", sync_to_thread=True, include_in_schema=False)
def mention_page(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                 mention_id: FromPath[UUID]) -> Template:
    return page(request, web_principal, "mentions/mention.html", form=None,
                **_mention_context(request, web_principal, mention_id))


@post("/mentions/{mention_id:uuid}", include_in_schema=False)
async def triage_mention(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                         mention_id: FromPath[UUID]) -> Template | Redirect:
    data = await request.form()
    return await sync_to_thread(_triage, request, web_principal, mention_id, data)


def _triage(request: Request[Any, Any, Any], who: SignedIn, mention_id: UUID,
            data: Mapping[str, Any]) -> Template | Redirect:
    context = _mention_context(request, who, mention_id)
    if not context["may_triage"]:
        return redirect_with_notice(f"/mentions/{mention_id}", "This mention is already triaged")
    form = FormReader(data, labels={"decision": "What to do", "category": "Category", "note": "Notes"})
    decision = form.choice("decision", DECISIONS, "Select what to do with the mention")
    category = None
    if decision == "escalate":
        category = form.choice("category", context["categories"], "Select a category for the incident")
    note = form.text("note", max_length=1000)
    incident_id = None
    if not form.errors:
        with command_errors(form):
            incident_id = container(request).inbox.triage(who.principal, mention_id, decision, note or None,
                                                          category)
    if form.errors:
        return page(request, who, "mentions/mention.html", status=400, form=form, **context)
    if incident_id is not None:
        return redirect_with_notice(f"/incidents/{incident_id}", "Escalated: the incident is reported")
    return redirect_with_notice("/mentions", f"Mention triaged: {DECISIONS[decision].lower()}")


ROUTES = [inbox_list, interaction_page, *COMMANDS, mentions_list, mention_page, triage_mention]
