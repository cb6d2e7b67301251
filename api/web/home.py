"""Home: what needs the signed-in person, by role, from the dashboards' read queries; each item links to the
queue where it is dealt with.

- SLT: applications awaiting their decision (and the oldest's age), incidents awaiting assessment, posts awaiting
  approval;
- moderator: parents' take-down requests against published posts, overdue and due-soon replies, mentions to
  triage, handovers due, accounts short of trained runners,
  credentials to rotate, accounts not checked in 24 hours;
- everyone with a school role: their own compliance (the current policy acknowledged? training valid until?)
  and their applications;
- trust_admin: red flags across the schools, and training coverage of the 12 schools with the lowest (a chart with
  its table).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.response import Template

from api.routes.common import container, now_and_today
from api.web.render import page
from api.web.session import SignedIn
from api.web.templating import hours_as_age
from domain.values import SCHOOL_ROLES, Role
from services import post_queries, queries
from services.application_queries import list_my_applications
from services.authorisation import Action, can

COVERAGE_SCHOOLS = 12  # schools in the trust team's training coverage chart (the lowest first)


def task(title: str, href: str, count: int, hint: str | None = None, urgent: bool = False) -> dict[str, Any]:
    """One row of a GOV.UK task list: `count` things waiting (a red tag when `urgent`), or "None"."""
    status: dict[str, Any] = (
        {"tag": {"text": str(count), "classes": "govuk-tag--red" if urgent else "govuk-tag--blue"}} if count
        else {"text": "None", "classes": "govuk-task-list__status--cannot-start-yet"})
    return {"title": {"text": title}, "href": href, "status": status,
            **({"hint": {"text": hint}} if hint and count else {})}


def slt_tasks(school: dict[str, Any]) -> list[dict[str, Any]]:
    oldest = school["oldest_pending_hours"]
    return [
        task("Applications awaiting your decision", "/applications", school["pending_applications"],
             f"The oldest has waited {hours_as_age(oldest)}" if oldest is not None else None,
             urgent=oldest is not None and oldest > 5 * 24),
        task("Incidents awaiting assessment", "/incidents", school["incidents_awaiting_assessment"],
             f"{school['incidents_assessment_overdue']} past the assessment deadline"
             if school["incidents_assessment_overdue"] else None, urgent=bool(school["incidents_assessment_overdue"])),
        task("Posts awaiting approval", "/posts/approvals", school["posts_awaiting_approval"],
             f"The oldest has waited {hours_as_age(school['oldest_awaiting_approval_hours'])}"
             if school["oldest_awaiting_approval_hours"] is not None else None),
    ]


def moderator_tasks(school: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        task("Parents' take-down requests", "/posts/takedowns", school["open_takedown_requests"],
             "A parent asks for a published post to come down", urgent=True),
        task("Replies past their deadline", "/inbox?state=overdue", school["open_breached"], urgent=True),
        task("Replies due soon", "/inbox?state=due_soon", school["open_due_soon"], "Due within the next few hours"),
        task("Mentions to triage", "/mentions", school["mentions_awaiting_triage"]),
        task("Handovers to complete", "/handovers", school["pending_handovers"],
             f"{school['overdue_handovers']} past the leaver's last day" if school["overdue_handovers"] else None,
             urgent=bool(school["overdue_handovers"])),
        task("Accounts short of trained runners", "/accounts", school["accounts_short_of_trained_runners"],
             "An account needs at least 2 active, trained runners", urgent=True),
        task("Accounts whose credentials must be changed", "/accounts", school["accounts_needing_rotation"],
             "Someone with access has left", urgent=True),
        task("Accounts not checked in the last 24 hours", "/accounts", school["accounts_unchecked_24h"]),
    ]


def trust_tasks(trust: dict[str, Any]) -> list[dict[str, Any]]:
    oldest = trust["oldest_pending_hours"]
    return [
        task("Replies past their deadline", "/trust?sort=overdue_replies", trust["open_breached"], urgent=True),
        task("Handovers past the leaver's last day", "/trust?sort=overdue_handovers", trust["overdue_handovers"],
             urgent=True),
        task("Accounts short of trained runners", "/trust?sort=short_of_runners",
             trust["accounts_short_of_trained_runners"], urgent=True),
        task("Incident assessments past their deadline", "/trust?sort=awaiting_assessment",
             trust["incidents_assessment_overdue"], urgent=True),
        task("Applications awaiting a decision", "/trust", trust["pending_applications"],
             f"The oldest has waited {hours_as_age(oldest)}" if oldest is not None else None),
    ]


def trust_flags(trust: dict[str, Any]) -> list[dict[str, Any]]:
    """Schools with something red, and what it is."""
    out = []
    for s in trust["per_school"]:
        flags = [text for n, text in (
            (s["open_breached"], "replies past their deadline"),
            (s["overdue_handovers"], "handovers overdue"),
            (s["accounts_short_of_trained_runners"], "accounts short of trained runners"),
            (s["accounts_needing_rotation"], "credentials to change"),
            (s["incidents_assessment_overdue"], "incident assessments overdue"),
        ) if n]
        if flags:
            out.append({"school": s["school_name"], "flags": flags})
    return out


def my_compliance(c: Any, who: SignedIn, today: Any) -> dict[str, Any]:
    person = queries.get_person(c.engine, who.principal, who.principal.id, today)
    valid = [t for t in person["training"] if t["valid"]]
    latest = max(person["training"], key=lambda t: t["expires_on"], default=None)
    return {"acknowledged": person["acknowledged_current_policy"], "training_valid": person["training_valid"],
            "training_until": max((t["expires_on"] for t in valid), default=None) if valid else
            (latest["expires_on"] if latest else None)}


@get("/", sync_to_thread=True, include_in_schema=False)
def home(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn]) -> Template:
    who = web_principal
    c = container(request)
    now, today = now_and_today(c)
    roles = who.principal.roles_at(who.school_id)
    context: dict[str, Any] = {"slt": None, "moderator": None, "mine": None, "trust": None}
    if who.school_id is not None and can(who.principal, Action.DASHBOARD_SCHOOL, who.school_id):
        school = queries.school_dashboard(c.engine, who.principal, who.school_id, now, today)
        if Role.SLT in roles:
            context["slt"] = slt_tasks(school)
        if Role.MODERATOR in roles:
            context["moderator"] = moderator_tasks(school)
    if who.school_id is not None and who.principal.school_roles.get(who.school_id, frozenset()) & SCHOOL_ROLES:
        mine = my_compliance(c, who, today)  # every school role may run an account: policy and training matter
        # their own at this school, in SQL: not the school's first 200 filtered here (decision 0091)
        mine["applications"] = list_my_applications(c.engine, who.principal, [who.school_id])
        mine["accounts"] = post_queries.accounts_run_by(c.engine, who.principal, who.school_id)
        context["mine"] = mine
    if Role.TRUST_ADMIN in who.principal.trust_roles:
        trust = queries.trust_dashboard(c.engine, who.principal, now, today)
        context["trust"] = trust
        context["trust_tasks"] = trust_tasks(trust)
        context["trust_flags"] = trust_flags(trust)
        # the schools with the lowest training coverage: twelve bars are readable, 500 are not (and weigh 270 KB)
        lowest = sorted(trust["per_school"], key=lambda s: (s["training_coverage_pct"] is not None,
                                                           s["training_coverage_pct"] or 0, s["school_name"]))
        context["coverage"] = [(s["school_name"], s["training_coverage_pct"]) for s in lowest[:COVERAGE_SCHOOLS]]
        context["coverage_all"] = len(lowest) <= COVERAGE_SCHOOLS
    return page(request, who, "home/home.html", **context)
