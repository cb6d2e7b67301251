"""Read queries for the account and handover pages (api/web/accounts.py, api/web/handovers.py). Plain dicts, read
through `read_as` and filtered by what the principal may see, as services/queries.py's are (which they build on).

A person's facts and *eligibility* to run an account come from services/runners.py.

A handover is *done* when it is completed and the credentials no longer need changing because of that leaver: a
version was stored on or after their leaving date (decision 0012), or the account is closed.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, Engine, select

from services import readmodel as rm
from services.authorisation import Action, Principal, can
from services.eventstore import Forbidden, NotFound
from services.ports import LONDON
from services.queries import APPLICATION_FIELDS, get_account, list_accounts, list_handovers
from services.runners import runner_facts, school_runner_ids

Row = dict[str, Any]

#: The days the account page lists monitoring checks for (the policy: "7 days a week, including holidays").
CHECK_DAYS = 7


def checked_on(last_check_at: datetime | None, today: date) -> bool:
    """Was the account checked on `today` (a day in London)?"""
    return last_check_at is not None and last_check_at.astimezone(LONDON).date() == today


# ----- people: who may run an account -----
def account_candidates(engine: Engine, principal: Principal, school_id: UUID, today: date) -> list[Row]:
    """Everyone who may be named to run an account at the school (leaders, moderators, staff and volunteers who
    have not left), by name, each with their training, acknowledgement and eligibility: whom a runner can be added
    from and the lead handed to. For those who may see the school's staff."""
    if school_id not in principal.visible_school_ids:
        raise NotFound("school")
    if not can(principal, Action.STAFF_READ, school_id):
        raise Forbidden(Action.STAFF_READ.refusal)
    with rm.read_as(engine, principal) as conn:
        ids = school_runner_ids(conn, principal.trust_id, school_id, today)
        return runner_facts(conn, principal.trust_id, school_id, ids, today)


# ----- accounts -----
def accounts_overview(engine: Engine, principal: Principal, school_id: UUID, today: date,
                      now: datetime) -> list[Row]:
    """The school's accounts the principal may see (services/queries.py `list_accounts`), each with its lead's
    name and whether it was checked today; open accounts first, then closed ones."""
    rows = list_accounts(engine, principal, school_id, today, now)
    out = []
    for row in rows:
        lead = next((r["display_name"] for r in row["runners"] if r["id"] == row["lead_id"]), None)
        out.append({**row, "lead_name": lead, "checked_today": checked_on(row["last_check_at"], today)})
    return sorted(out, key=lambda r: r["status"] == "closed")


def account_detail(engine: Engine, principal: Principal, account_id: UUID, today: date, now: datetime) -> Row:
    """One account (services/queries.py `get_account`: 404 for whoever may not see it) with what its page shows:

    - `people`: its runners, the lead first, each with their eligibility (only for those who may see the school's
      staff; others get names only, with `eligible` None);
    - `checked_today`, and `checks`: the monitoring checks of the last seven days, newest first, with who made them;
    - `rotations`: why the credentials must be changed (each leaver with access, and from when: `due` once that day
      has come);
    - `open_handovers`: its handovers still to complete (for those who may see handovers)."""
    account = get_account(engine, principal, account_id, today, now)
    school_id = account["school_id"]
    p, mc, rr, h = rm.people, rm.monitoring_checks, rm.rotation_requirements, rm.handovers
    runner_ids = [account["lead_id"], *(r["id"] for r in account["runners"] if r["id"] != account["lead_id"])]
    since = datetime.combine(today - timedelta(days=CHECK_DAYS - 1), datetime.min.time(), LONDON)
    with rm.read_as(engine, principal) as conn:
        if can(principal, Action.STAFF_READ, school_id):
            people = runner_facts(conn, principal.trust_id, school_id, runner_ids, today)
        else:
            names = {r["id"]: r["display_name"] for r in account["runners"]}
            people = [{"id": i, "display_name": names.get(i, ""), "eligible": None} for i in runner_ids]
        checks = conn.execute(select(mc.c.checked_at, mc.c.note, p.c.display_name.label("checked_by"))
                              .join(p, p.c.id == mc.c.checked_by, isouter=True)
                              .where(mc.c.account_id == account_id, mc.c.checked_at >= since)
                              .order_by(mc.c.checked_at.desc())).mappings().all()
        rotations = conn.execute(select(rr.c.leaver_id, rr.c.effective_on, p.c.display_name.label("leaver_name"))
                                 .join(p, p.c.id == rr.c.leaver_id, isouter=True)
                                 .where(rr.c.account_id == account_id)
                                 .order_by(rr.c.effective_on)).mappings().all()
        handovers = [] if not can(principal, Action.HANDOVER_READ, school_id) else conn.execute(
            select(h.c.id, h.c.leaver_name, h.c.leaver_was_lead, h.c.due_on)
            .where(h.c.account_id == account_id, h.c.status == "open").order_by(h.c.due_on)).mappings().all()
    lead = next((x for x in people if x["id"] == account["lead_id"]), None)
    return {
        **account,
        "lead_name": lead["display_name"] if lead else None,
        "people": people,
        "checked_today": checked_on(account["last_check_at"], today),
        "checks": [dict(c) for c in checks],
        "days_checked": len({c["checked_at"].astimezone(LONDON).date() for c in checks}),
        "rotations": [{**dict(r), "due": r["effective_on"] <= today} for r in rotations],
        "open_handovers": [{**dict(x), "overdue": today >= x["due_on"]} for x in handovers],
    }


# ----- creating an account from an approved application -----
def applications_awaiting_account(engine: Engine, principal: Principal, school_id: UUID) -> list[Row]:
    """The school's approved applications no account has been created from yet, oldest decision first, each with
    its runners' names. For those who may read the school's applications (others get none)."""
    if school_id not in principal.visible_school_ids:
        raise NotFound("school")
    if not can(principal, Action.APPLICATION_READ, school_id):
        return []
    t, a, p = rm.applications, rm.accounts, rm.people
    with rm.read_as(engine, principal) as conn:
        rows = conn.execute(select(t).where(t.c.school_id == school_id, t.c.status == "approved",
                                            ~t.c.id.in_(select(a.c.application_id).where(a.c.school_id == school_id)))
                            .order_by(t.c.decided_at, t.c.id)).mappings().all()
        ids = {UUID(str(i)) for r in rows for i in r["runner_ids"]}
        names = dict(conn.execute(select(p.c.id, p.c.display_name).where(p.c.id.in_(ids))).all()) if ids else {}
    out = []
    for r in rows:
        runner_ids = [UUID(str(i)) for i in r["runner_ids"]]
        out.append({**{k: r[k] for k in APPLICATION_FIELDS}, "runner_ids": runner_ids,
                    "runners": [{"id": i, "display_name": names.get(i, "")} for i in runner_ids]})
    return out


def application_for_account(engine: Engine, principal: Principal, application_id: UUID, today: date) -> Row:
    """An application a moderator is creating an account from: its fields, its runners with their eligibility
    today (an account is created only if each still qualifies), and `account_id` if an account was already made
    from it. 404 for an application the principal may not read."""
    t, a = rm.applications, rm.accounts
    with rm.read_as(engine, principal) as conn:
        row = conn.execute(select(t).where(t.c.id == application_id)).mappings().first()
        if row is None or row["school_id"] not in principal.visible_school_ids \
                or not can(principal, Action.APPLICATION_READ, row["school_id"]):
            raise NotFound("application")
        runner_ids = [UUID(str(i)) for i in row["runner_ids"]]
        people = runner_facts(conn, principal.trust_id, row["school_id"], runner_ids, today)
        account_id = conn.execute(select(a.c.id).where(a.c.application_id == application_id).limit(1)).scalar()
    return {**{k: row[k] for k in APPLICATION_FIELDS}, "runner_ids": runner_ids, "people": people,
            "account_id": account_id}


# ----- handovers -----
def _with_rotation(conn: Connection, rows: list[Row], account_ids: set[UUID], today: date) -> list[Row]:
    """Handover rows with `account_status`, `credentials_changed` (no rotation is pending for that leaver on that
    account any more, or the account is closed), `rotation_possible` (the leaving date has come: a version stored
    before it would not count) and `done`."""
    a, rr = rm.accounts, rm.rotation_requirements
    if not account_ids:
        return []
    status = dict(conn.execute(select(a.c.id, a.c.status).where(a.c.id.in_(account_ids))).all())
    pending = {(account_id, leaver_id) for account_id, leaver_id in conn.execute(
        select(rr.c.account_id, rr.c.leaver_id).where(rr.c.account_id.in_(account_ids)))}
    out = []
    for row in rows:
        closed = status.get(row["account_id"]) == "closed"
        changed = closed or (row["account_id"], row["leaver_id"]) not in pending
        out.append({**row, "account_status": status.get(row["account_id"]), "credentials_changed": changed,
                    "rotation_possible": today >= row["leaving_date"],
                    "done": row["status"] == "completed" and changed})
    return out


def handover_queue(engine: Engine, principal: Principal, school_id: UUID, today: date) -> list[Row]:
    """The school's handovers (services/queries.py `list_handovers`: for those who may see them) in the order a
    moderator works through them: open ones by due date (the overdue first), then completed ones whose credentials
    still need changing, then the done ones, the latest first."""
    rows = list_handovers(engine, principal, school_id, today)
    with rm.read_as(engine, principal) as conn:
        rows = _with_rotation(conn, rows, {r["account_id"] for r in rows}, today)
    open_ = [r for r in rows if r["status"] == "open"]
    waiting = [r for r in rows if r["status"] == "completed" and not r["done"]]
    done = sorted((r for r in rows if r["done"]), key=lambda r: r["completed_at"], reverse=True)
    return open_ + waiting + done


def handover_detail(engine: Engine, principal: Principal, handover_id: UUID, today: date) -> Row:
    """One handover as `handover_queue` shows it (404 for whoever may not see it)."""
    h = rm.handovers
    with rm.read_as(engine, principal) as conn:
        school_id = conn.execute(select(h.c.school_id).where(h.c.id == handover_id)).scalar()
    if school_id is None or school_id not in principal.visible_school_ids \
            or not can(principal, Action.HANDOVER_READ, school_id):
        raise NotFound("handover")
    found = [r for r in handover_queue(engine, principal, school_id, today) if r["id"] == handover_id]
    if not found:
        raise NotFound("handover")
    return found[0]
