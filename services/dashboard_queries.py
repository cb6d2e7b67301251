"""Weekly series for a school's dashboard charts (the web UI's /dashboard): replies within the SLA and breaches per
week, and training and policy-acknowledgement coverage at the end of each week. A fixed number of queries per
series whatever the school's size (the rows are counted here); the answers are cached like the dashboard's figures.

Weeks are London weeks, Monday to Sunday, the current one last. A message counts in the week it was received;
its state is the SLA's (domain/sla.py) now: answered in time (`met`), or late or past its deadline unanswered
(`met_late`, `breached`, together "breaches"), or still within its time. Coverage at a week's end (today for the
current week) is over the people who were then members in a role that may run an account and had not left;
"trained" is a training record valid on that day, "acknowledged" an acknowledgement, by that day, of the policy
version current then (the latest published by that day). Role changes are not dated in the read model: people are
counted in today's roles from the day their record was created.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from domain.sla import SlaState, sla_state
from domain.values import RUNNER_ROLES
from services import readmodel as rm
from services.authorisation import Action, Principal, can
from services.eventstore import NotFound
from services.inbox_queries import _policies
from services.queries import COVERAGE, DASHBOARDS, _minute, _who

Row = dict[str, Any]
LONDON = ZoneInfo("Europe/London")
WEEKS = 12


def week_starts(today: date, weeks: int = WEEKS) -> list[date]:
    """The Mondays of the last `weeks` London weeks, oldest first; the last is this week's."""
    monday = today - timedelta(days=today.weekday())
    return [monday - timedelta(weeks=weeks - 1 - i) for i in range(weeks)]


def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _check(principal: Principal, school_id: UUID) -> None:
    if school_id not in principal.visible_school_ids or not can(principal, Action.DASHBOARD_SCHOOL, school_id):
        raise NotFound("school")


def weekly_replies(engine: Engine, principal: Principal, school_id: UUID, now: datetime,
                   weeks: int = WEEKS) -> list[Row]:
    """Per week: messages received, answered within the SLA, breaches (answered late or past their deadline
    unanswered), and the share answered in time of those whose outcome is known."""
    _check(principal, school_id)
    return DASHBOARDS.get_or_compute(engine, ("weekly-replies", _who(principal), school_id, _minute(now), weeks),
                                     lambda: _weekly_replies(engine, principal, school_id, now, weeks))


def _weekly_replies(engine: Engine, principal: Principal, school_id: UUID, now: datetime, weeks: int) -> list[Row]:
    starts = week_starts(now.astimezone(LONDON).date(), weeks)
    counts = {w: {"received": 0, "on_time": 0, "breaches": 0} for w in starts}
    t = rm.interactions
    with rm.read_as(engine, principal) as conn:
        policy = _policies(conn, principal.trust_id)
        rows = conn.execute(select(t.c.received_at, t.c.due_at, t.c.first_response_at).where(
            t.c.school_id == school_id, t.c.received_at >= datetime.combine(starts[0], time(0), tzinfo=LONDON))).all()
    for received, due, first in rows:
        day = received.astimezone(LONDON).date()
        week = counts.get(day - timedelta(days=day.weekday()))
        if week is None:
            continue
        state = sla_state(due, first, now, policy)
        week["received"] += 1
        week["on_time"] += int(state is SlaState.MET)
        week["breaches"] += int(state in (SlaState.BREACHED, SlaState.MET_LATE))
    return [{"week_start": w, **c, "on_time_pct": _pct(c["on_time"], c["on_time"] + c["breaches"])}
            for w, c in counts.items()]


def weekly_coverage(engine: Engine, principal: Principal, school_id: UUID, today: date,
                    weeks: int = WEEKS) -> list[Row]:
    """Per week, at its end (today for this week): the people who may run an account, how many held valid
    training, and how many had acknowledged the policy version current then."""
    _check(principal, school_id)
    return COVERAGE.get_or_compute(engine, ("weekly-coverage", principal.trust_id, school_id, today, weeks),
                                   lambda: _weekly_coverage(engine, principal, school_id, today, weeks))


def _weekly_coverage(engine: Engine, principal: Principal, school_id: UUID, today: date, weeks: int) -> list[Row]:
    ra, p, tr, ack, pv = rm.role_assignments, rm.people, rm.training_records, rm.acknowledgements, rm.policy_versions
    members_q = (select(p.c.id).join(ra, ra.c.person_id == p.c.id)
                 .where(ra.c.school_id == school_id, ra.c.role.in_([r.value for r in RUNNER_ROLES])).distinct())
    with rm.read_as(engine, principal) as conn:
        members = conn.execute(select(p.c.id, p.c.created_at, p.c.leaving_date)
                               .where(p.c.id.in_(members_q.scalar_subquery()))).all()
        training = conn.execute(select(tr.c.person_id, tr.c.completed_on, tr.c.expires_on)
                                .where(tr.c.person_id.in_(members_q.scalar_subquery()))).all()
        acks = conn.execute(select(ack.c.person_id, ack.c.policy_version_id, ack.c.acknowledged_at)
                            .where(ack.c.person_id.in_(members_q.scalar_subquery()))).all()
        versions = conn.execute(select(pv.c.id, pv.c.published_at).where(pv.c.trust_id == principal.trust_id)
                                .order_by(pv.c.published_at)).all()
    trained_spans: dict[UUID, list[tuple[date, date]]] = defaultdict(list)
    for person_id, completed, expires in training:
        trained_spans[person_id].append((completed, expires))
    acked: dict[tuple[UUID, UUID], date] = {
        (person_id, version): at.astimezone(LONDON).date() for person_id, version, at in acks}
    out = []
    for start in week_starts(today, weeks):
        day = min(start + timedelta(days=6), today)
        current = [v for v, published in versions if published.astimezone(LONDON).date() <= day]
        version = current[-1] if current else None
        people = [m for m, created, leaving in members
                  if created.astimezone(LONDON).date() <= day and (leaving is None or leaving > day)]
        trained = sum(1 for m in people if any(c <= day <= e for c, e in trained_spans.get(m, ())))
        acknowledged = sum(1 for m in people if version is not None and acked.get((m, version), date.max) <= day)
        out.append({"week_start": start, "on": day, "people": len(people), "trained": trained,
                    "trained_pct": _pct(trained, len(people)), "acknowledged": acknowledged,
                    "acknowledged_pct": _pct(acknowledged, len(people))})
    return out
