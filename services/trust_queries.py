"""Read queries for the trust's central team pages: the overview's per-school table (sorted, filtered and paged
over the trust dashboard's cached figures), the weekly trends behind its charts, a school's overdue replies for the
drill-down, the staff directory and the audit trail search. One query per table, never one per row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, and_, case, distinct, func, or_, select

from domain.values import RUNNER_ROLES
from services import readmodel as rm
from services.authorisation import Action, Principal, can
from services.eventstore import NotFound
from services.queries import _minute

Row = dict[str, Any]
LONDON = ZoneInfo("Europe/London")

#: The red flags of a school, in the order the overview shows them: (figure, what it means).
RED_FLAGS = (("open_breached", "Overdue replies"),
             ("accounts_short_of_trained_runners", "Accounts short of trained runners"),
             ("overdue_handovers", "Overdue handovers"),
             ("incidents_awaiting_assessment", "Incidents awaiting assessment"))

#: The overview's sort orders: name -> (figure, largest first?). "flags" (the default) is red flags first.
SORTS: dict[str, tuple[str, bool]] = {
    "flags": ("red_flags", True),
    "name": ("school_name", False),
    "overdue_replies": ("open_breached", True),
    "short_of_runners": ("accounts_short_of_trained_runners", True),
    "overdue_handovers": ("overdue_handovers", True),
    "awaiting_assessment": ("incidents_awaiting_assessment", True),
    "compliance": ("compliance_30d_pct", False),
    "training": ("training_coverage_pct", False),
}
PER_PAGE = 25


@dataclass(frozen=True)
class SchoolTable:
    rows: list[Row]
    total: int          # schools matching the filter
    flagged: int        # of those, schools with at least one red flag
    page: int
    pages: int
    sort: str
    descending: bool


def school_table(per_school: list[Row], query: str = "", flagged_only: bool = False, sort: str = "flags",
                 descending: bool | None = None, page: int = 1, per_page: int = PER_PAGE) -> SchoolTable:
    """The overview's table from the trust dashboard's rows: each row gains `red_flags` (the sum of its flags)
    and `flags` (the names of those it has); filtered by name and by "flagged", sorted (missing figures last,
    then by name), and cut to one page. Pure: no query of its own."""
    sort = sort if sort in SORTS else "flags"
    key, default_desc = SORTS[sort]
    desc = default_desc if descending is None else descending
    needle = query.strip().casefold()
    rows = []
    for r in per_school:
        flags = [label for figure, label in RED_FLAGS if r.get(figure)]
        row = {**r, "red_flags": sum(int(r.get(f) or 0) for f, _ in RED_FLAGS), "flags": flags}
        if needle and needle not in str(r["school_name"]).casefold():
            continue
        rows.append(row)
    flagged = sum(1 for r in rows if r["red_flags"])
    if flagged_only:
        rows = [r for r in rows if r["red_flags"]]
    rows.sort(key=lambda r: str(r["school_name"]).casefold())  # ties: by name
    present = [r for r in rows if r[key] is not None]
    missing = [r for r in rows if r[key] is None]
    present.sort(key=lambda r: str(r[key]).casefold() if key == "school_name" else r[key], reverse=desc)
    rows = present + missing
    pages = max(1, -(-len(rows) // per_page))
    page = min(max(page, 1), pages)
    return SchoolTable(rows[(page - 1) * per_page: page * per_page], len(rows), flagged, page, pages, sort, desc)


# ----- trends -----
#: Replies and incidents per week, until a projected table other than the applications' or the audit trail's
#: changes (as the dashboards' figures), and per minute (what is past its due time).
ACTIVITY: rm.MarkedCache = rm.MarkedCache(rm.FIGURES_CHANGED, 256)
#: Training coverage per week, until people, roles, training or acknowledgements change, and per day.
TRAINING: rm.MarkedCache = rm.MarkedCache(rm.COVERAGE_CHANGED, 256)


def _weeks(today: date, weeks: int) -> list[date]:
    """The first day of each of the last `weeks` seven-day windows, the last one ending today."""
    first = today - timedelta(days=7 * weeks - 1)
    return [first + timedelta(days=7 * i) for i in range(weeks)]


def _london_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=LONDON).astimezone(UTC)


def trends(engine: Engine, principal: Principal, now: datetime, today: date, school_id: UUID | None = None,
           weeks: int = 8) -> list[Row]:
    """Per seven-day window (the last `weeks`, ending today, London days): replies due and met within the SLA,
    breaches (due and unanswered, or answered late), the share within the SLA, incidents reported, and training
    coverage of the staff in runner roles at the window's last day. Three queries, whatever the number of schools."""
    if not can(principal, Action.DASHBOARD_TRUST, None):
        raise NotFound("trust dashboard")
    if school_id is not None and school_id not in principal.visible_school_ids:
        raise NotFound("school")
    trust_id = principal.trust_id
    school_ids = [school_id] if school_id else sorted(principal.visible_school_ids)
    key = (trust_id, tuple(school_ids), today, weeks)
    r1, r2 = ACTIVITY.get_or_compute(engine, ("activity", *key, _minute(now)),
                                     lambda: _activity(engine, trust_id, school_ids, now, today, weeks))
    r3 = TRAINING.get_or_compute(engine, ("training", *key), lambda: _training(engine, trust_id, school_ids, today,
                                                                                  weeks))
    starts = _weeks(today, weeks)
    ends = [d + timedelta(days=6) for d in starts]
    people = int(r3[0] or 0)
    out = []
    for i, start in enumerate(starts):
        met, breached = int(r1[2 * i] or 0), int(r1[2 * i + 1] or 0)
        due = met + breached
        out.append({"week_start": start, "week_end": ends[i], "replies_due": due, "replies_within_sla": met,
                    "breaches": breached, "within_sla_pct": round(100 * met / due, 1) if due else None,
                    "incidents_reported": int(r2[i] or 0),
                    "training_coverage_pct": round(100 * int(r3[1 + i] or 0) / people, 1) if people else None})
    return out


def _activity(engine: Engine, trust_id: UUID, school_ids: list[UUID], now: datetime, today: date,
              weeks: int) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """Per week: replies due and answered in time, and not (two columns a week); incidents reported."""
    starts = _weeks(today, weeks)
    bounds = [_london_midnight(d) for d in [*starts, today + timedelta(days=1)]]
    t, inc = rm.interactions, rm.incidents
    answered_in_time = and_(t.c.first_response_at.is_not(None), t.c.first_response_at <= t.c.due_at)
    replies = []
    for i in range(weeks):
        in_week = and_(t.c.due_at >= bounds[i], t.c.due_at < bounds[i + 1], t.c.due_at <= now)
        replies += [func.sum(case((and_(in_week, answered_in_time), 1), else_=0)),
                    func.sum(case((and_(in_week, ~answered_in_time), 1), else_=0))]
    reported = [func.sum(case((and_(inc.c.reported_at >= bounds[i], inc.c.reported_at < bounds[i + 1]), 1), else_=0))
                for i in range(weeks)]
    with rm.read_figures(engine, trust_id, school_ids) as conn:
        r1 = conn.execute(select(*replies).where(t.c.trust_id == trust_id, rm.in_schools(t.c.school_id, school_ids),
                                                 t.c.due_at >= bounds[0], t.c.due_at < bounds[-1])).one()
        r2 = conn.execute(select(*reported).where(inc.c.trust_id == trust_id,
                                                  rm.in_schools(inc.c.school_id, school_ids),
                                                  inc.c.reported_at >= bounds[0])).one()
    return tuple(r1), tuple(r2)


def _training(engine: Engine, trust_id: UUID, school_ids: list[UUID], today: date, weeks: int) -> tuple[Any, ...]:
    """People in runner roles (not left), then per week how many of them held valid training on its last day."""
    ra, tr, p = rm.role_assignments, rm.training_records, rm.people
    members = (select(ra.c.person_id).join(p, p.c.id == ra.c.person_id)
               .where(ra.c.trust_id == trust_id, rm.in_schools(ra.c.school_id, school_ids),
                      ra.c.role.in_([r.value for r in RUNNER_ROLES]),
                      or_(p.c.leaving_date.is_(None), p.c.leaving_date > today))
               .distinct().subquery())
    ends = [d + timedelta(days=6) for d in _weeks(today, weeks)]
    trained = [func.count(distinct(case((and_(tr.c.completed_on <= d, tr.c.expires_on >= d), members.c.person_id))))
               for d in ends]
    with rm.read_figures(engine, trust_id, school_ids) as conn:
        return tuple(conn.execute(select(func.count(distinct(members.c.person_id)), *trained)
                                  .select_from(members.outerjoin(tr, tr.c.person_id == members.c.person_id))).one())


# ----- a school's drill-down -----
def overdue_interactions(engine: Engine, principal: Principal, school_id: UUID, now: datetime,
                         limit: int = 50) -> list[Row]:
    """The school's open interactions past their reply time and not answered, the longest overdue first."""
    if school_id not in principal.visible_school_ids or not can(principal, Action.DASHBOARD_SCHOOL, school_id):
        raise NotFound("school")
    t, a = rm.interactions, rm.accounts
    with rm.read_as(engine, principal) as conn:
        rows = conn.execute(select(t.c.id, t.c.kind, t.c.received_at, t.c.due_at, t.c.author_handle, t.c.excerpt,
                                   a.c.platform, a.c.handle)
                            .join(a, a.c.id == t.c.account_id)
                            .where(t.c.school_id == school_id, t.c.status == "open",
                                   t.c.first_response_at.is_(None), t.c.due_at < now)
                            .order_by(t.c.due_at, t.c.id).limit(limit)).mappings().all()
    return [{**dict(r), "overdue_hours": round((now - r["due_at"]).total_seconds() / 3600, 1)} for r in rows]


# ----- policy versions and re-acknowledgement -----
def _members(trust_id: UUID, today: date) -> Any:
    """People in runner roles at any school of the trust who have not left (the coverage figures' population)."""
    ra, p = rm.role_assignments, rm.people
    return (select(ra.c.person_id).join(p, p.c.id == ra.c.person_id)
            .where(ra.c.trust_id == trust_id, ra.c.role.in_([r.value for r in RUNNER_ROLES]),
                   or_(p.c.leaving_date.is_(None), p.c.leaving_date > today))
            .distinct().subquery())


def policy_coverage(engine: Engine, principal: Principal, today: date, days: int = 30) -> Row:
    """Every policy version with how many of the staff in runner roles have acknowledged it, and, for the current
    version, the share acknowledged at the end of each day since it was published (the last `days` at most)."""
    if not can(principal, Action.POLICY_PUBLISH, None):
        raise NotFound("policy versions")
    pv, ack, t = rm.policy_versions, rm.acknowledgements, rm.trusts
    members = _members(principal.trust_id, today)
    with rm.read_in(engine, principal.trust_id, None) as conn:
        current = conn.execute(select(t.c.current_policy_version_id).where(t.c.id == principal.trust_id)).scalar()
        versions = conn.execute(select(pv.c.id, pv.c.label, pv.c.summary, pv.c.published_at)
                                .where(pv.c.trust_id == principal.trust_id)
                                .order_by(pv.c.published_at.desc())).mappings().all()
        people = int(conn.execute(select(func.count()).select_from(members)).scalar() or 0)
        counts: dict[UUID, int] = dict(conn.execute(select(ack.c.policy_version_id, func.count())
                                   .join(members, members.c.person_id == ack.c.person_id)
                                   .where(ack.c.trust_id == principal.trust_id)
                                   .group_by(ack.c.policy_version_id)).all())
        times = list(conn.execute(select(ack.c.acknowledged_at).join(members, members.c.person_id == ack.c.person_id)
                                  .where(ack.c.policy_version_id == current)).scalars()) if current else []
    rows = [{**dict(v), "current": v["id"] == current, "acknowledged": int(counts.get(v["id"], 0)),
             "coverage_pct": round(100 * int(counts.get(v["id"], 0)) / people, 1) if people else None}
            for v in versions]
    over_time: list[Row] = []
    now_version = next((r for r in rows if r["current"]), None)
    if now_version is not None:
        first = max(now_version["published_at"].astimezone(LONDON).date(), today - timedelta(days=days - 1))
        ack_days = sorted(x.astimezone(LONDON).date() for x in times)
        for i in range((today - first).days + 1):
            day = first + timedelta(days=i)
            n = sum(1 for d in ack_days if d <= day)
            over_time.append({"day": day, "acknowledged": n,
                              "coverage_pct": round(100 * n / people, 1) if people else None})
    return {"people": people, "versions": rows, "current": now_version, "over_time": over_time}


# ----- the staff directory -----
STAFF_STATES = {"": "Everyone", "untrained": "Without valid training", "unacknowledged":
                "Not acknowledged the current policy"}
STAFF_PER_PAGE = 25
ROLE_NAMES = {"trust_admin": "Trust central team", "dpo": "Data protection officer", "slt": "Senior leadership",
              "moderator": "Moderator", "staff": "Staff", "volunteer": "Volunteer"}


def staff_directory(engine: Engine, principal: Principal, today: date, query: str = "", school_id: UUID | None = None,
                    state: str = "", page: int = 1, per_page: int = STAFF_PER_PAGE) -> Row:
    """The trust's people who have not left, by name: a page of them (found by name or email, at a school, without
    valid training or without the current policy acknowledged) with their schools and roles, training and
    acknowledgement. One query for the page and its count, one each for the page's roles, training and
    acknowledgements."""
    if not can(principal, Action.DASHBOARD_TRUST, None):
        raise NotFound("staff directory")
    if school_id is not None and school_id not in principal.visible_school_ids:
        raise NotFound("school")
    p, ra, tr, ack, t = rm.people, rm.role_assignments, rm.training_records, rm.acknowledgements, rm.trusts
    valid = select(tr.c.person_id).where(tr.c.person_id == p.c.id, tr.c.completed_on <= today,
                                         tr.c.expires_on >= today).exists()
    with rm.read_in(engine, principal.trust_id, None) as conn:
        current = conn.execute(select(t.c.current_policy_version_id).where(t.c.id == principal.trust_id)).scalar()
        acked = select(ack.c.person_id).where(ack.c.person_id == p.c.id, ack.c.policy_version_id == current).exists()
        where = [p.c.trust_id == principal.trust_id, or_(p.c.leaving_date.is_(None), p.c.leaving_date > today)]
        needle = query.strip().lower()
        if needle:
            like = f"%{needle.replace('%', '').replace('_', '')}%"
            where.append(or_(func.lower(p.c.display_name).like(like), p.c.email.like(like)))
        if school_id is not None:
            where.append(p.c.id.in_(select(ra.c.person_id).where(ra.c.school_id == school_id)))
        if state == "untrained":
            where.append(~valid)
        elif state == "unacknowledged":
            where.append(~acked)
        total = int(conn.execute(select(func.count()).select_from(p).where(*where)).scalar() or 0)
        pages = max(1, -(-total // per_page))
        page = min(max(page, 1), pages)
        people = conn.execute(select(p.c.id, p.c.display_name, p.c.email, p.c.leaving_date).where(*where)
                              .order_by(func.lower(p.c.display_name), p.c.id)
                              .offset((page - 1) * per_page).limit(per_page)).mappings().all()
        ids = [x["id"] for x in people]
        roles = conn.execute(select(ra.c.person_id, ra.c.role, rm.schools.c.name)
                             .outerjoin(rm.schools, rm.schools.c.id == ra.c.school_id)
                             .where(ra.c.person_id.in_(ids)).order_by(rm.schools.c.name, ra.c.role)).all()
        training = conn.execute(select(tr.c.person_id, func.max(tr.c.expires_on))
                                .where(tr.c.person_id.in_(ids), tr.c.completed_on <= today)
                                .group_by(tr.c.person_id)).all()
        acks = set(conn.execute(select(ack.c.person_id).where(ack.c.person_id.in_(ids),
                                                              ack.c.policy_version_id == current)).scalars())
    by_person: dict[UUID, list[str]] = {}
    for pid, role, school in roles:
        name = ROLE_NAMES.get(role, role)
        by_person.setdefault(pid, []).append(f"{name} at {school}" if school else f"{name} (every school)")
    expires = dict(training)
    rows = [{**dict(x), "roles": by_person.get(x["id"], []), "training_until": expires.get(x["id"]),
             "training_valid": expires.get(x["id"]) is not None and expires[x["id"]] >= today,
             "acknowledged_current": x["id"] in acks} for x in people]
    return {"rows": rows, "total": total, "page": page, "pages": pages}


# ----- the audit trail search -----
AUDIT_PER_PAGE = 50


def event_types() -> list[str]:
    """The names of every event the domain records, for the search's choice of event type."""
    from domain.events import DomainEvent

    found: set[str] = set()
    stack: list[type] = [DomainEvent]
    while stack:
        cls = stack.pop()
        subclasses: list[type] = cls.__subclasses__()
        for sub in subclasses:
            found.add(sub.__name__)
            stack.append(sub)
    return sorted(found)


@dataclass(frozen=True)
class AuditSearch:
    person: str = ""                 # a name or email: events by or about the people it finds
    school_id: UUID | None = None
    entity_id: UUID | None = None
    since: date | None = None
    until: date | None = None
    event_type: str = ""


def search_audit(engine: Engine, principal: Principal, search: AuditSearch, page: int = 1,
                 per_page: int = AUDIT_PER_PAGE) -> Row:
    """The trust's audit trail, newest first, a page at a time: by person (events they did or that name them),
    school, entity, dates (London days, inclusive) and event type. Trust team and DPO only."""
    if not can(principal, Action.AUDIT_READ, None):
        raise NotFound("audit")
    if search.school_id is not None and search.school_id not in principal.trust_school_ids:
        raise NotFound("school")
    a, e, p = rm.audit_events, rm.audit_entities, rm.people
    where: list[Any] = [a.c.trust_id == principal.trust_id]
    people: list[Row] = []
    with rm.read_in(engine, principal.trust_id, None) as conn:
        if search.person.strip():
            like = f"%{search.person.strip().lower().replace('%', '').replace('_', '')}%"
            people = [dict(r) for r in conn.execute(
                select(p.c.id, p.c.display_name).where(p.c.trust_id == principal.trust_id,
                                                        or_(func.lower(p.c.display_name).like(like),
                                                            p.c.email.like(like)))
                .order_by(p.c.display_name).limit(20)).mappings()]
            ids = [r["id"] for r in people]
            where.append(or_(a.c.position.in_(select(e.c.position).where(e.c.entity_id.in_(ids))),
                             a.c.actor["id"].as_string().in_([str(i) for i in ids])))
        if search.school_id is not None:
            where.append(a.c.school_id == search.school_id)
        if search.entity_id is not None:
            where.append(a.c.position.in_(select(e.c.position).where(e.c.entity_id == search.entity_id)))
        if search.since is not None:
            where.append(a.c.occurred_at >= _london_midnight(search.since))
        if search.until is not None:
            where.append(a.c.occurred_at < _london_midnight(search.until + timedelta(days=1)))
        if search.event_type:
            where.append(a.c.event_type == search.event_type)
        rows = conn.execute(select(a).where(*where).order_by(a.c.position.desc())
                            .offset((max(page, 1) - 1) * per_page).limit(per_page + 1)).mappings().all()
        schools = dict(conn.execute(select(rm.schools.c.id, rm.schools.c.name)
                                    .where(rm.schools.c.trust_id == principal.trust_id)).all())
    items = [{"position": r["position"], "entity_id": r["originator_id"], "type": r["event_type"],
              "occurred_at": r["occurred_at"], "school": schools.get(r["school_id"]) if r["school_id"] else None,
              "actor": r["actor"], "reason": r["reason"], "data": r["data"]} for r in rows[:per_page]]
    return {"items": items, "page": max(page, 1), "has_next": len(rows) > per_page, "people": people}
