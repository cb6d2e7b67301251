"""Read side of the inbox: set-based sweep candidates, lists with SLA state, and dashboard figures."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import Engine, String, and_, cast, func, literal, or_, select
from sqlalchemy.sql.elements import ColumnElement

from domain.errors import InvalidInput
from domain.sla import SlaPolicy, SlaState, sla_state
from services import readmodel as rm
from services.authorisation import Action, Principal, can
from services.eventstore import NotFound

Row = dict[str, Any]
MAX_DUE_SOON_HOURS = 48


# ----- sweep candidates: one query each, whatever the number of interactions -----
def breach_candidates(engine: Engine, now: datetime) -> list[UUID]:
    t = rm.interactions
    with engine.connect() as conn:
        return list(conn.execute(select(t.c.id).where(
            t.c.breached.is_(False), t.c.due_at < now,
            or_(and_(t.c.first_response_at.is_(None), t.c.status == "open"), t.c.first_response_at > t.c.due_at))
            .order_by(t.c.due_at)).scalars())


def due_soon_candidates(engine: Engine, now: datetime) -> list[tuple[UUID, int]]:
    t, tr = rm.interactions, rm.trusts
    with engine.connect() as conn:
        return [(i, h) for i, h in conn.execute(
            select(t.c.id, tr.c.due_soon_hours).join(tr, tr.c.id == t.c.trust_id)
            .where(t.c.reminded.is_(False), t.c.first_response_at.is_(None), t.c.status == "open", t.c.due_at > now,
                   t.c.due_at <= now + timedelta(hours=MAX_DUE_SOON_HOURS)))]


def lapse_candidates(engine: Engine, checked_before: datetime) -> list[UUID]:
    a = rm.accounts
    with engine.connect() as conn:
        return list(conn.execute(select(a.c.id).where(
            a.c.status == "active", a.c.lapse_flagged.is_(False),
            or_(a.c.last_check_at < checked_before, and_(a.c.last_check_at.is_(None), a.c.created_at < checked_before))
        )).scalars())


def feeds(engine: Engine) -> list[tuple[UUID, UUID, UUID, str]]:
    f = rm.feeds
    with engine.connect() as conn:
        return [(r.trust_id, r.school_id, r.id, r.url) for r in conn.execute(select(f).order_by(f.c.school_id))]


def _emails(engine: Engine, school_id: UUID, roles: tuple[str, ...], extra: list[UUID]) -> list[str]:
    p, ra = rm.people, rm.role_assignments
    with engine.connect() as conn:
        rows = conn.execute(select(p.c.email).join(ra, ra.c.person_id == p.c.id).where(
            or_(and_(ra.c.school_id == school_id, ra.c.role.in_(roles)), p.c.id.in_(extra)),
            p.c.leaving_date.is_(None)).distinct()).scalars()
        return sorted(rows)


def _school_of_interaction(engine: Engine, interaction_id: UUID) -> tuple[UUID, UUID | None]:
    t = rm.interactions
    with engine.connect() as conn:
        row = conn.execute(select(t.c.school_id, t.c.assignee_id).where(t.c.id == interaction_id)).one()
    return row.school_id, row.assignee_id


def breach_recipients(engine: Engine, interaction_id: UUID) -> list[str]:
    """Breach alerts go to the school's moderators and SLT."""
    school_id, _ = _school_of_interaction(engine, interaction_id)
    return _emails(engine, school_id, ("moderator", "slt"), [])


def reminder_recipients(engine: Engine, interaction_id: UUID) -> list[str]:
    """Due-soon reminders go to the assigned moderator (or, unassigned, the school's moderators)."""
    school_id, assignee = _school_of_interaction(engine, interaction_id)
    if assignee is not None:
        return _emails(engine, school_id, (), [assignee])
    return _emails(engine, school_id, ("moderator",), [])


def school_leaders(engine: Engine, account_id: UUID) -> list[str]:
    with engine.connect() as conn:
        school_id = conn.execute(select(rm.accounts.c.school_id).where(rm.accounts.c.id == account_id)).scalar_one()
    return _emails(engine, school_id, ("moderator", "slt"), [])


def interaction_summary(engine: Engine, interaction_id: UUID) -> Row:
    t, a = rm.interactions, rm.accounts
    with engine.connect() as conn:
        row = conn.execute(select(t.c.kind, t.c.author_handle, t.c.excerpt, t.c.due_at, a.c.handle, a.c.platform)
                           .join(a, a.c.id == t.c.account_id).where(t.c.id == interaction_id)).mappings().one()
    return dict(row)


# ----- lists -----
def _policies(conn: Any, trust_id: UUID) -> SlaPolicy:
    row = conn.execute(select(rm.trusts.c.response_hours, rm.trusts.c.due_soon_hours, rm.trusts.c.end_of_day)
                       .where(rm.trusts.c.id == trust_id)).first()
    if row is None:
        return SlaPolicy()
    return SlaPolicy(row.response_hours, row.due_soon_hours, time.fromisoformat(row.end_of_day))


SLA_STATES = tuple(s.value for s in SlaState)


def _interaction(row: Any, policy: SlaPolicy, now: datetime) -> Row:
    out = {k: row[k] for k in ("id", "school_id", "account_id", "kind", "received_at", "due_at", "author_handle",
                               "excerpt", "link", "assignee_id", "first_response_at", "status", "incident_id",
                               "breached", "version")}
    out["sla_state"] = sla_state(row["due_at"], row["first_response_at"], now, policy).value
    if row["status"] != "open" and row["first_response_at"] is None and out["sla_state"] != "breached":
        out["sla_state"] = "closed"
    return out


def list_interactions(engine: Engine, principal: Principal, school_id: UUID, now: datetime,
                      state: str | None = None, limit: int = 500) -> list[Row]:
    if school_id not in principal.visible_school_ids:
        raise NotFound("school")
    if state is not None and state not in SLA_STATES:
        raise InvalidInput.one("sla_state", "must be one of " + ", ".join(SLA_STATES))
    t, r = rm.interactions, rm.account_runners
    where = t.c.school_id == school_id
    if not can(principal, Action.INTERACTION_READ, school_id):
        where = and_(where, t.c.account_id.in_(select(r.c.account_id).where(r.c.person_id == principal.id)))
    with rm.read_as(engine, principal) as conn:
        policy = _policies(conn, principal.trust_id)
        rows = conn.execute(select(t).where(where).order_by(t.c.due_at.desc()).limit(limit)).mappings().all()
    items = [_interaction(x, policy, now) for x in rows]
    return [x for x in items if state is None or x["sla_state"] == state]


def get_interaction(engine: Engine, principal: Principal, interaction_id: UUID, now: datetime) -> Row:
    t = rm.interactions
    with rm.read_as(engine, principal) as conn:
        row = conn.execute(select(t).where(t.c.id == interaction_id)).mappings().first()
        if row is None or row["trust_id"] != principal.trust_id:
            raise NotFound("interaction")
        runner = conn.execute(select(rm.account_runners.c.person_id).where(
            rm.account_runners.c.account_id == row["account_id"],
            rm.account_runners.c.person_id == principal.id)).first() is not None
        policy = _policies(conn, principal.trust_id)
    if not (runner or can(principal, Action.INTERACTION_READ, row["school_id"])
            or can(principal, Action.INTERACTION_RECEIVE, row["school_id"])):
        raise NotFound("interaction")
    return _interaction(row, policy, now)


#: The inbox page's state filter: "needs_reply" (every open, unanswered one) and "all" besides the tags' states.
INBOX_STATES = ("needs_reply", "overdue", "due_soon", "on_track", "answered", "all")


def _hours_after(engine: Engine, now: datetime, hours: Any) -> ColumnElement[Any]:
    """`now` + `hours` (a column) hours, in SQL: the due-soon line comes from each row's trust settings."""
    at = literal(now, rm.UtcDateTime())
    if engine.dialect.name == "postgresql":
        return at + func.make_interval(0, 0, 0, 0, hours)
    # SQLite keeps UTC datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff' text, which datetime() reads and compares
    return func.datetime(at, literal("+") + cast(hours, String) + literal(" hours"))


def inbox_page(engine: Engine, principal: Principal, school_id: UUID, now: datetime, state: str = "needs_reply",
               account_id: UUID | None = None, page: int = 1, per_page: int = 25) -> Row:
    """One page of a school's inbox in reply-due order, each item with its SLA state and account, in ONE statement
    whatever the page size (the live refresh runs this every 30 s; docs/decisions/0096). `state`: one of
    INBOX_STATES; "answered" and "all" list the latest first. Returns {"items", "page", "has_next"}: a page more is read
    by one row (no count of every match: that would read them all)."""
    if school_id not in principal.visible_school_ids:
        raise NotFound("school")
    if state not in INBOX_STATES:
        raise InvalidInput.one("state", "must be one of " + ", ".join(INBOX_STATES))
    if page < 1:
        raise InvalidInput.one("page", "must be 1 or more")
    t, a, tr, p, r = rm.interactions, rm.accounts, rm.trusts, rm.people, rm.account_runners
    unanswered = and_(t.c.first_response_at.is_(None), t.c.status == "open")
    due_soon_line = _hours_after(engine, now, tr.c.due_soon_hours)
    at = literal(now, rm.UtcDateTime())
    where: list[ColumnElement[bool]] = [t.c.school_id == school_id, t.c.trust_id == principal.trust_id]
    if not can(principal, Action.INTERACTION_READ, school_id):
        where.append(t.c.account_id.in_(select(r.c.account_id).where(r.c.person_id == principal.id)))
    if account_id is not None:
        where.append(t.c.account_id == account_id)
    by_state: dict[str, list[ColumnElement[bool]]] = {
        "needs_reply": [unanswered], "overdue": [unanswered, t.c.due_at < at],
        "due_soon": [unanswered, t.c.due_at >= at, t.c.due_at < due_soon_line],
        "on_track": [unanswered, t.c.due_at >= due_soon_line],
        "answered": [t.c.first_response_at.is_not(None)], "all": []}
    where += by_state[state]
    # unanswered: the reply due soonest first; answered and all: the latest first (both follow the index)
    order = [t.c.due_at.desc(), t.c.id.desc()] if state in ("answered", "all") else [t.c.due_at, t.c.id]
    query = (select(t.c.id, t.c.account_id, t.c.kind, t.c.received_at, t.c.due_at, t.c.author_handle, t.c.excerpt,
                    t.c.assignee_id, t.c.first_response_at, t.c.status, t.c.incident_id, a.c.handle, a.c.platform,
                    p.c.display_name.label("assignee_name"), tr.c.response_hours, tr.c.due_soon_hours,
                    tr.c.end_of_day)
             .join(a, a.c.id == t.c.account_id).join(tr, tr.c.id == t.c.trust_id)
             .outerjoin(p, p.c.id == t.c.assignee_id)
             .where(*where).order_by(*order).limit(per_page + 1).offset((page - 1) * per_page))
    with rm.read_as(engine, principal) as conn:
        rows = conn.execute(query).mappings().all()
    items = []
    for row in rows[:per_page]:
        policy = SlaPolicy(row["response_hours"], row["due_soon_hours"], time.fromisoformat(row["end_of_day"]))
        item = {k: v for k, v in row.items() if k not in ("response_hours", "due_soon_hours", "end_of_day")}
        item["sla_state"] = sla_state(row["due_at"], row["first_response_at"], now, policy).value
        if row["status"] != "open" and row["first_response_at"] is None and item["sla_state"] != "breached":
            item["sla_state"] = "closed"
        items.append(item)
    return {"items": items, "page": page, "has_next": len(rows) > per_page}


def list_mentions(engine: Engine, principal: Principal, school_id: UUID, status: str | None = None) -> list[Row]:
    if school_id not in principal.visible_school_ids or not can(principal, Action.MENTION_READ, school_id):
        raise NotFound("school")
    if status not in (None, "awaiting_triage", "triaged"):
        raise InvalidInput.one("status", "must be awaiting_triage or triaged")
    m = rm.mentions
    query = select(m).where(m.c.school_id == school_id)
    if status == "awaiting_triage":
        query = query.where(m.c.decision.is_(None))
    elif status == "triaged":
        query = query.where(m.c.decision.is_not(None))
    with rm.read_as(engine, principal) as conn:
        rows = conn.execute(query.order_by(m.c.captured_at.desc(), m.c.id).limit(500)).mappings().all()
    return [{k: v for k, v in dict(r).items() if k != "trust_id"} for r in rows]


def get_mention(engine: Engine, principal: Principal, mention_id: UUID) -> Row:
    m = rm.mentions
    with rm.read_as(engine, principal) as conn:
        row = conn.execute(select(m).where(m.c.id == mention_id)).mappings().first()
    if row is None or row["school_id"] not in principal.visible_school_ids or not (
            can(principal, Action.MENTION_READ, row["school_id"]) or can(principal, Action.MENTION_CAPTURE,
                                                                          row["school_id"])):
        raise NotFound("mention")
    return {k: v for k, v in dict(row).items() if k != "trust_id"}


# ----- dashboards -----
INBOX_FIGURES = ("open_on_track", "open_due_soon", "open_breached", "compliance_7d_pct", "compliance_30d_pct",
                 "breaches_30d", "median_first_response_hours", "monitoring_coverage_7d_pct",
                 "mentions_awaiting_triage")


def inbox_figures(engine: Engine, trust_id: UUID, school_ids: list[UUID], now: datetime) -> dict[UUID, Row]:
    t, a, c, m = rm.interactions, rm.accounts, rm.monitoring_checks, rm.mentions
    since = now - timedelta(days=30)
    conv = rm.UtcDateTime()
    out: dict[UUID, Row] = {}
    with rm.read_figures(engine, trust_id, school_ids) as conn:
        policy = _policies(conn, trust_id)
        rows = conn.execute(select(t.c.school_id, t.c.due_at, t.c.first_response_at, t.c.received_at, t.c.status,
                                   t.c.breached)
                            .where(t.c.trust_id == trust_id, rm.in_schools(t.c.school_id, school_ids),
                                   or_(t.c.due_at >= since, and_(t.c.first_response_at.is_(None),
                                                                 t.c.status == "open")))).all()
        accounts = conn.execute(select(a.c.id, a.c.school_id).where(a.c.trust_id == trust_id,
                                                                   rm.in_schools(a.c.school_id, school_ids),
                                                                   a.c.status == "active")).all()
        checks = conn.execute(select(c.c.account_id, c.c.checked_at).where(
            c.c.trust_id == trust_id, rm.in_schools(c.c.school_id, school_ids),
            c.c.checked_at >= now - timedelta(days=7))).all()
        mentions = conn.execute(select(m.c.school_id).where(m.c.trust_id == trust_id,
                                                            rm.in_schools(m.c.school_id, school_ids),
                                                            m.c.decision.is_(None))).scalars().all()
    per: dict[UUID, list[Any]] = defaultdict(list)
    for r in rows:
        per[r.school_id].append(r)
    days_checked: dict[UUID, set[date]] = defaultdict(set)
    for account_id, checked_at in checks:
        days_checked[account_id].add(conv.process_result_value(checked_at, engine.dialect).date())  # type: ignore[union-attr]
    for school_id in school_ids:
        f: Row = dict.fromkeys(INBOX_FIGURES, 0)
        first_hours = []
        due7 = met7 = due30 = met30 = 0
        for r in per.get(school_id, []):
            due = conv.process_result_value(r.due_at, engine.dialect)
            first = conv.process_result_value(r.first_response_at, engine.dialect)
            received = conv.process_result_value(r.received_at, engine.dialect)
            assert due is not None and received is not None
            state = sla_state(due, first, now, policy)
            if first is None and r.status == "open":
                f[f"open_{state.value}"] = f.get(f"open_{state.value}", 0) + 1
            if since <= due <= now:
                due30 += 1
                met30 += int(state is SlaState.MET)
                if due >= now - timedelta(days=7):
                    due7 += 1
                    met7 += int(state is SlaState.MET)
                if state in (SlaState.BREACHED, SlaState.MET_LATE):
                    f["breaches_30d"] += 1
            if first is not None and received >= since:
                first_hours.append((first - received).total_seconds() / 3600)
        f["compliance_7d_pct"] = round(100 * met7 / due7, 1) if due7 else None
        f["compliance_30d_pct"] = round(100 * met30 / due30, 1) if due30 else None
        f["median_first_response_hours"] = round(statistics.median(first_hours), 1) if first_hours else None
        school_accounts = [acc for acc, s in accounts if s == school_id]
        f["monitoring_coverage_7d_pct"] = (round(100 * sum(min(len(days_checked[x]), 7) for x in school_accounts)
                                                 / (7 * len(school_accounts)), 1) if school_accounts else None)
        f["mentions_awaiting_triage"] = sum(1 for s in mentions if s == school_id)
        f.pop("open_met", None)
        f.pop("open_met_late", None)
        out[school_id] = f
    return out


def daily_series(engine: Engine, principal: Principal, school_id: UUID | None, now: datetime,
                 days: int = 30) -> list[Row]:
    """Per London day: interactions received, answered on time, breached; for charts."""
    from zoneinfo import ZoneInfo

    london = ZoneInfo("Europe/London")
    schools = list(principal.visible_school_ids) if school_id is None else [school_id]
    if school_id is not None and school_id not in principal.visible_school_ids:
        raise NotFound("school")
    t = rm.interactions
    start = (now.astimezone(london) - timedelta(days=days - 1)).date()
    series = {start + timedelta(days=i): {"received": 0, "met": 0, "breached": 0} for i in range(days)}
    with rm.read_as(engine, principal) as conn:
        policy = _policies(conn, principal.trust_id)
        rows = conn.execute(select(t.c.received_at, t.c.due_at, t.c.first_response_at).where(
            t.c.trust_id == principal.trust_id, t.c.school_id.in_(schools),
            t.c.received_at >= datetime.combine(start, time(0), tzinfo=london))).mappings().all()
    for r in rows:
        day = r["received_at"].astimezone(london).date()
        if day not in series:
            continue
        series[day]["received"] += 1
        state = sla_state(r["due_at"], r["first_response_at"], now, policy)
        series[day]["met"] += int(state is SlaState.MET)
        series[day]["breached"] += int(state in (SlaState.BREACHED, SlaState.MET_LATE))
    return [{"day": d, **v} for d, v in sorted(series.items())]


def school_feeds(engine: Engine, principal: Principal, school_id: UUID) -> list[Row]:
    """The RSS/Atom feeds polled for mentions of the school, for those who may read its mentions."""
    if school_id not in principal.visible_school_ids or not can(principal, Action.MENTION_READ, school_id):
        raise NotFound("school")
    f = rm.feeds
    with rm.read_as(engine, principal) as conn:
        rows = conn.execute(select(f.c.id, f.c.url, f.c.title).where(f.c.school_id == school_id)
                            .order_by(f.c.title, f.c.id)).mappings().all()
    return [dict(r) for r in rows]
