"""Leavers' handovers (the policy: the moderator will "control the process for managing an account after the lead
staff member has left the organisation (closing or transferring)"): the queue, and each handover's two steps —
hand the account over (transfer the lead, remove the leaver as a runner, or close the account: the same service
as POST /api/v1/handovers/{id}/complete), then change the credentials once the leaver's access has ended (the
account's credentials form). A handover is done when both are (services/account_queries.py).

    GET  /handovers           the queue: overdue first (a handover is due on the leaver's leaving date)
    GET  /handovers/{id}      the handover and its two steps
    POST /handovers/{id}      completes it
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from litestar import Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from api.routes.common import container, now_and_today
from api.web.accounts import account_detail, account_name, allowed
from api.web.forms import FormReader, command_errors
from api.web.render import page, redirect_with_notice
from api.web.session import SignedIn
from domain.handover import HandoverOutcome
from services import account_queries
from services.authorisation import Action, can
from services.eventstore import NotFound

Row = dict[str, Any]

CLOSE = HandoverOutcome.ACCOUNT_CLOSED.value
REMOVE = HandoverOutcome.RUNNER_REMOVED.value
LEAD_TO = "lead:"  # + the new lead's id: one flat list of choices, no nested questions


@get("/handovers", sync_to_thread=True, include_in_schema=False)
def handovers_list(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn]) -> Template:
    who = web_principal
    if who.school_id is None:
        raise NotFound("school")
    c = container(request)
    rows = account_queries.handover_queue(c.engine, who.principal, who.school_id, now_and_today(c)[1])
    for row in rows:
        row["account_name"] = account_name(row)
    return page(request, who, "handovers/list.html", handovers=rows,
                to_do=[r for r in rows if not r["done"]], done=[r for r in rows if r["done"]])


def _context(request: Request[Any, Any, Any], who: SignedIn, handover_id: UUID) -> dict[str, Any]:
    """The handover, its account, what the person may do, and (while it is open) the ways to hand it over."""
    c = container(request)
    today = now_and_today(c)[1]
    handover = account_queries.handover_detail(c.engine, who.principal, handover_id, today)
    account = account_detail(request, who, handover["account_id"])
    may_complete = handover["status"] == "open" and account["status"] != "closed" and \
        can(who.principal, Action.HANDOVER_COMPLETE, handover["school_id"])
    choices: list[Row] = []
    ineligible: list[Row] = []
    if may_complete:
        if handover["leaver_was_lead"]:
            people = account_queries.account_candidates(c.engine, who.principal, handover["school_id"], today)
            others = [p for p in people if p["id"] != handover["leaver_id"]]
            runners = {r["id"] for r in account["runners"]}
            # the account's own runners first: they already know it
            others.sort(key=lambda p: (p["id"] not in runners, p["display_name"]))
            choices = [{"value": f"{LEAD_TO}{p['id']}", "text": f"Hand the lead to {p['display_name']}",
                        "hint": "Already runs the account" if p["id"] in runners else "Will also become a runner"}
                       for p in others if p["eligible"]]
            ineligible = [p for p in others if not p["eligible"]]
        else:
            choices = [{"value": REMOVE, "text": f"Remove {handover['leaver_name']} as a runner",
                        "hint": f"{account['lead_name']} keeps the lead"}]
        choices.append({"value": CLOSE, "text": "Close the account", "hint": "It cannot be reopened"})
    return {"handover": handover, "account": account, "may_complete": may_complete, "choices": choices,
            "ineligible": ineligible, "may_store": allowed(who, account)["store"]}


@get("/handovers/{handover_id:uuid}", sync_to_thread=True, include_in_schema=False)
def handover_page(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                  handover_id: FromPath[UUID]) -> Template:
    return page(request, web_principal, "handovers/handover.html", form=None,
                **_context(request, web_principal, handover_id))


@post("/handovers/{handover_id:uuid}", include_in_schema=False)
async def complete_handover(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                            handover_id: FromPath[UUID]) -> Template | Redirect:
    data = await request.form()
    return await sync_to_thread(_complete, request, web_principal, handover_id, data)


def _complete(request: Request[Any, Any, Any], who: SignedIn, handover_id: UUID,
              data: Mapping[str, Any]) -> Template | Redirect:
    context = _context(request, who, handover_id)
    handover, account = context["handover"], context["account"]
    if not context["may_complete"]:
        return redirect_with_notice(f"/handovers/{handover_id}", "This handover is already completed")
    form = FormReader(data, labels={"outcome": "How to hand over the account", "new_lead_id": "New lead",
                                    "reason": "Notes"})
    options = {c["value"]: c["text"] for c in context["choices"]}
    choice = form.choice("outcome", options, "Select how to hand over the account")
    reason = form.text("reason", max_length=1000)
    if not form.errors:
        outcome, new_lead = (HandoverOutcome.LEAD_TRANSFERRED.value, UUID(choice.removeprefix(LEAD_TO))) \
            if choice.startswith(LEAD_TO) else (choice, None)
        form.anchors["new_lead_id"] = "outcome"  # the services' messages about the new lead belong to this choice
        with command_errors(form):
            container(request).accounts.complete_handover(who.principal, handover_id, outcome, new_lead,
                                                          reason or None)
    if form.errors:
        return page(request, who, "handovers/handover.html", status=400, form=form, **context)
    if choice == CLOSE:
        notice = f"Handover completed: {account['name']} is closed"
    elif choice == REMOVE:
        notice = f"Handover completed: {handover['leaver_name']} no longer runs {account['name']}. " \
                 "Now change the credentials."
    else:
        notice = f"Handover completed: {options[choice].removeprefix('Hand the lead to ')} now leads " \
                 f"{account['name']}. Now change the credentials."
    return redirect_with_notice(f"/handovers/{handover_id}", notice)


ROUTES = [handovers_list, handover_page, complete_handover]
