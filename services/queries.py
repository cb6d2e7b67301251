"""Read-side queries over the read model, always filtered by what the principal may see."""

from __future__ import annotations

import base64
import binascii
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import Engine, Text, and_, bindparam, case, cast, func, or_, select

from domain.errors import InvalidInput
from domain.events import ActorKind
from domain.incident import reference as incident_reference
from domain.values import RUNNER_ROLES
from services import readmodel as rm
from services.authorisation import Action, Principal, can, can_about_person, can_see_incident
from services.eventstore import NotFound
from services.inbox_queries import inbox_figures
from services.post_queries import POST_FIGURES, post_figures

Row = dict[str, Any]

INCIDENT_FIGURES = ("open_incidents", "incidents_low", "incidents_medium", "incidents_high", "incidents_critical",
                    "incidents_awaiting_assessment", "incidents_assessment_overdue", "police_escalations_30d")


class ReadModelLookups:
    """DirectoryLookups answered from the read model."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def school_id_by_urn(self, trust_id: UUID, urn: str) -> UUID | None:
        with self.engine.connect() as conn:
            return conn.execute(select(rm.schools.c.id).where(rm.schools.c.trust_id == trust_id,
                                                              rm.schools.c.urn == urn)).scalar()

    def person_id_by_email(self, trust_id: UUID, email: str) -> UUID | None:
        with self.engine.connect() as conn:
            return conn.execute(select(rm.people.c.id).where(rm.people.c.trust_id == trust_id,
                                                             rm.people.c.email == email.lower())).scalar()


class ReadModelAccountLookups:
    """AccountLookups answered from the read model."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def accounts_of_person(self, person_id: UUID) -> list[UUID]:
        a, r = rm.accounts, rm.account_runners
        with self.engine.connect() as conn:
            rows = conn.execute(select(a.c.id).join(r, r.c.account_id == a.c.id)
                                .where(r.c.person_id == person_id, a.c.status != "closed")
                                .order_by(a.c.created_at, a.c.id)).scalars().all()
        return list(rows)

    def open_handover(self, account_id: UUID, leaver_id: UUID) -> UUID | None:
        h = rm.handovers
        with self.engine.connect() as conn:
            return conn.execute(select(h.c.id).where(h.c.account_id == account_id, h.c.leaver_id == leaver_id,
                                                     h.c.status == "open")).scalar()

    def account_of_application(self, application_id: UUID) -> UUID | None:
        a = rm.accounts
        with self.engine.connect() as conn:
            return conn.execute(select(a.c.id).where(a.c.application_id == application_id).limit(1)).scalar()


# ----- schools -----
def list_schools(engine: Engine, principal: Principal) -> list[Row]:
    # the trust's team sees every school of the trust: a filter on the trust, not a list of 500 ids
    mine = rm.schools.c.trust_id == principal.trust_id if principal.visible_school_ids == principal.trust_school_ids \
        else rm.schools.c.id.in_(principal.visible_school_ids)
    with rm.read_as(engine, principal) as conn:
        rows = conn.execute(select(rm.schools).where(rm.schools.c.trust_id == principal.trust_id, mine)
                            .order_by(rm.schools.c.name)).mappings().all()
    return [dict(r) for r in rows]


def get_school(engine: Engine, principal: Principal, school_id: UUID) -> Row:
    if school_id not in principal.visible_school_ids:
        raise NotFound("school")
    with rm.read_as(engine, principal) as conn:
        row = conn.execute(select(rm.schools).where(rm.schools.c.id == school_id)).mappings().first()
    if row is None:
        raise NotFound("school")
    return dict(row)


# ----- people -----
def list_staff(engine: Engine, principal: Principal, school_id: UUID, today: date) -> list[Row]:
    if school_id not in principal.visible_school_ids:
        raise NotFound("school")
    if not can(principal, Action.STAFF_READ, school_id):
        return []
    ra = rm.role_assignments
    with rm.read_as(engine, principal) as conn:
        rows = conn.execute(select(rm.people.c.id, rm.people.c.display_name, rm.people.c.email, rm.people.c.status,
                                   ra.c.role)
                            .join(ra, ra.c.person_id == rm.people.c.id)
                            .where(ra.c.school_id == school_id,
                                   or_(rm.people.c.leaving_date.is_(None), rm.people.c.leaving_date > today))
                            .order_by(rm.people.c.display_name, rm.people.c.id, ra.c.role)).all()
    out: dict[UUID, Row] = {}
    for pid, name, email, status, role in rows:
        out.setdefault(pid, {"id": pid, "display_name": name, "email": email, "status": status, "roles": []})
        out[pid]["roles"].append(role)
    return list(out.values())


def get_person(engine: Engine, principal: Principal, person_id: UUID, today: date) -> Row:
    with rm.read_as(engine, principal) as conn:
        person = conn.execute(select(rm.people).where(rm.people.c.id == person_id)).mappings().first()
        if person is None or person.trust_id != principal.trust_id:
            raise NotFound("person")
        roles = conn.execute(select(rm.role_assignments.c.role, rm.role_assignments.c.school_id)
                             .where(rm.role_assignments.c.person_id == person_id)
                             .order_by(rm.role_assignments.c.role)).all()
        schools = frozenset(s for _, s in roles if s is not None)
        if not any(can_about_person(principal, a, person_id, schools, person.trust_id)
                   for a in (Action.STAFF_READ, Action.STAFF_ADD)):  # an HR client reads back what it writes
            raise NotFound("person")
        training = conn.execute(select(rm.training_records).where(rm.training_records.c.person_id == person_id)
                                .order_by(rm.training_records.c.completed_on)).mappings().all()
        acks = conn.execute(select(rm.acknowledgements.c.policy_version_id, rm.acknowledgements.c.acknowledged_at,
                                   rm.policy_versions.c.label)
                            .join(rm.policy_versions,
                                  rm.policy_versions.c.id == rm.acknowledgements.c.policy_version_id)
                            .where(rm.acknowledgements.c.person_id == person_id)
                            .order_by(rm.acknowledgements.c.acknowledged_at)).mappings().all()
        current = conn.execute(select(rm.trusts.c.current_policy_version_id)
                               .where(rm.trusts.c.id == person.trust_id)).scalar()
        declared = conn.execute(select(rm.personal_accounts).where(rm.personal_accounts.c.person_id == person_id)
                                .order_by(rm.personal_accounts.c.declared_at)).mappings().all()
    left = person.leaving_date is not None and today >= person.leaving_date
    return {
        "id": person.id, "display_name": person.display_name, "email": person.email,
        "status": "left" if left else ("leaving" if person.leaving_date else person.status),
        "leaving_date": person.leaving_date,
        "roles": [] if left else [{"role": r, "school_id": s} for r, s in roles],
        "training": [{"id": t.id, "course": t.course, "completed_on": t.completed_on, "expires_on": t.expires_on,
                      "valid": t.completed_on <= today <= t.expires_on} for t in training],
        "training_valid": any(t.completed_on <= today <= t.expires_on for t in training),
        "acknowledgements": [dict(a) for a in acks],
        "acknowledged_current_policy": current is not None and any(a.policy_version_id == current for a in acks),
        "personal_accounts": [{k: v for k, v in dict(d).items() if k not in ("person_id", "trust_id")}
                              for d in declared],
    }


def list_policy_versions(engine: Engine, principal: Principal) -> list[Row]:
    with rm.read_as(engine, principal) as conn:
        rows = conn.execute(select(rm.policy_versions).where(rm.policy_versions.c.trust_id == principal.trust_id)
                            .order_by(rm.policy_versions.c.published_at)).mappings().all()
        current = conn.execute(select(rm.trusts.c.current_policy_version_id)
                               .where(rm.trusts.c.id == principal.trust_id)).scalar()
    return [{**{k: v for k, v in dict(r).items() if k != "trust_id"}, "current": r.id == current} for r in rows]


# ----- applications -----
APPLICATION_FIELDS = ("id", "school_id", "applicant_id", "applicant_name", "aim", "audience", "promotion",
                      "runner_ids", "visibility", "platform", "proposed_handle", "status", "submitted_at",
                      "decided_at", "decided_by", "reason", "version")


def _application(row: Any) -> Row:
    out = {k: row[k] for k in APPLICATION_FIELDS}
    out["runner_ids"] = [UUID(r) for r in row["runner_ids"]]
    return out


def _application_scope(principal: Principal, school_id: UUID) -> Any:
    """Rows of `school_id` the principal may read: all of them with APPLICATION_READ, else their own."""
    t = rm.applications
    if can(principal, Action.APPLICATION_READ, school_id):
        return t.c.school_id == school_id
    if principal.kind is ActorKind.INTEGRATION:
        raise NotFound("applications")
    like = f'%"{principal.id}"%'
    return and_(t.c.school_id == school_id,
                or_(t.c.applicant_id == principal.id, cast(t.c.runner_ids, Text).like(like)))


#: Built once: every command on an application answers with it.
APPLICATION_BY_ID = select(rm.applications).where(rm.applications.c.id == bindparam("id"))


def get_application(engine: Engine, principal: Principal, application_id: UUID) -> Row:
    with rm.read_as(engine, principal) as conn:
        row = conn.execute(APPLICATION_BY_ID, {"id": application_id}).mappings().first()
    if row is None or row["school_id"] not in principal.visible_school_ids:
        raise NotFound("application")
    involved = principal.id == row["applicant_id"] or str(principal.id) in row["runner_ids"]
    if not (involved or can(principal, Action.APPLICATION_READ, row["school_id"])):
        raise NotFound("application")
    return _application(row)


@dataclass(frozen=True)
class Page:
    items: list[Row]
    next_cursor: str | None


def encode_cursor(submitted_at: datetime, id: UUID) -> str:
    return base64.urlsafe_b64encode(f"{submitted_at.isoformat()}|{id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        at, id_ = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return datetime.fromisoformat(at), UUID(id_)
    except (ValueError, binascii.Error, UnicodeDecodeError) as e:
        raise InvalidInput.one("after", "is not a cursor this API returned") from e


APPLICATION_STATUSES = ("submitted", "approved", "rejected", "withdrawn")


def list_applications(engine: Engine, principal: Principal, school_id: UUID, status: str | None = None,
                      limit: int = 50, after: str | None = None) -> Page:
    if school_id not in principal.visible_school_ids:
        raise NotFound("school")
    if status is not None and status not in APPLICATION_STATUSES:
        raise InvalidInput.one("status", "must be one of " + ", ".join(APPLICATION_STATUSES))
    if not 1 <= limit <= 200:
        raise InvalidInput.one("limit", "must be between 1 and 200")
    t = rm.applications
    query = select(t).where(_application_scope(principal, school_id))
    if status is not None:
        query = query.where(t.c.status == status)
    if after is not None:
        at, id_ = decode_cursor(after)
        query = query.where(or_(t.c.submitted_at > at, and_(t.c.submitted_at == at, t.c.id > id_)))
    with rm.read_as(engine, principal) as conn:
        rows = conn.execute(query.order_by(t.c.submitted_at, t.c.id).limit(limit + 1)).mappings().all()
    items = [_application(r) for r in rows[:limit]]
    nxt = encode_cursor(rows[limit - 1]["submitted_at"], rows[limit - 1]["id"]) if len(rows) > limit else None
    return Page(items, nxt)


# ----- dashboards -----
def _school_figures(engine: Engine, trust_id: UUID, school_ids: list[UUID], now: datetime,
                    today: date) -> dict[UUID, Row]:
    t = rm.applications
    figures: dict[UUID, Row] = defaultdict(lambda: {
        "pending_applications": 0, "oldest_pending_hours": None, "approved_applications": 0,
        "rejected_applications": 0, "withdrawn_applications": 0, "people": 0, "trained_people": 0,
        "acknowledged_people": 0})
    counts = rm.school_application_counts
    with rm.read_figures(engine, trust_id, school_ids) as conn:
        for school_id, status, n in conn.execute(  # counters kept by the projection: a row per school and status
                select(counts.c.school_id, counts.c.status, counts.c.n)
                .where(counts.c.trust_id == trust_id, rm.in_schools(counts.c.school_id, school_ids))):
            figures[school_id][f"{'pending' if status == 'submitted' else status}_applications"] = n
        pending = [sid for sid in school_ids if figures[sid]["pending_applications"]]
        if pending:  # the oldest pending application per school: one probe of (school_id, status, submitted_at)
            schools = rm.schools
            # ORDER BY ... LIMIT 1, not min(): under row-level security PostgreSQL cannot turn min() into one index
            # probe and reads every pending row of the school (225 ms instead of 11 at 500 schools, decision 0100)
            oldest_q = (select(t.c.submitted_at).where(t.c.school_id == schools.c.id, t.c.status == "submitted")
                        .order_by(t.c.submitted_at).limit(1).scalar_subquery())
            for school_id, oldest in conn.execute(select(schools.c.id, oldest_q)
                                                  .where(schools.c.trust_id == trust_id,
                                                         rm.in_schools(schools.c.id, pending))):
                if oldest is not None:
                    oldest = rm.UtcDateTime().process_result_value(oldest, conn.dialect)
                    assert oldest is not None
                    figures[school_id]["oldest_pending_hours"] = round((now - oldest).total_seconds() / 3600, 1)
    coverage = COVERAGE.get_or_compute(engine, ("coverage", trust_id, tuple(school_ids), today),
                                       lambda: _coverage(engine, trust_id, school_ids, today))
    for school_id, (people, trained, acknowledged) in coverage.items():
        figures[school_id].update(people=people, trained_people=trained, acknowledged_people=acknowledged)
    others = FIGURES.get_or_compute(engine, ("figures", trust_id, tuple(school_ids), _minute(now), today),
                                    lambda: _other_figures(engine, trust_id, school_ids, today, now))
    for school_id, extra in others:
        figures[school_id].update(extra)
    empty = _account_figures_empty()
    for school_id in school_ids:
        f = figures[school_id]
        f.update({k: v for k, v in empty.items() if k not in f})
        f.setdefault("oldest_awaiting_approval_hours", None)
    figures = {school_id: figures[school_id] for school_id in school_ids}  # rm.in_schools may fetch more
    for f in figures.values():
        people = f["people"]
        f["training_coverage_pct"] = round(100 * f["trained_people"] / people, 1) if people else None
        f["acknowledgement_coverage_pct"] = round(100 * f["acknowledged_people"] / people, 1) if people else None
    return figures


def _other_figures(engine: Engine, trust_id: UUID, school_ids: list[UUID], today: date,
                   now: datetime) -> list[tuple[UUID, Row]]:
    """Accounts, incidents and inbox per school, in the order they are merged."""
    return [*_account_figures(engine, trust_id, school_ids, today, now).items(),
            *_incident_figures(engine, trust_id, school_ids, now).items(),
            *inbox_figures(engine, trust_id, school_ids, now).items(),
            *post_figures(engine, trust_id, school_ids, now).items()]


def _coverage(engine: Engine, trust_id: UUID, school_ids: list[UUID], today: date) -> dict[UUID, tuple[int, int, int]]:
    """Per school: staff in runner roles who have not left, how many of them hold valid training, and how many
    have acknowledged the trust's current policy; one pass over the members for all three."""
    ra, tr, ack = rm.role_assignments, rm.training_records, rm.acknowledgements
    with rm.read_figures(engine, trust_id, school_ids) as conn:
        current = conn.execute(select(rm.trusts.c.current_policy_version_id).where(rm.trusts.c.id == trust_id)).scalar()
        members = (select(ra.c.school_id, ra.c.person_id)
                   .join(rm.people, rm.people.c.id == ra.c.person_id)
                   .where(ra.c.trust_id == trust_id, rm.in_schools(ra.c.school_id, school_ids),
                          ra.c.role.in_([r.value for r in RUNNER_ROLES]),
                          or_(rm.people.c.leaving_date.is_(None), rm.people.c.leaving_date > today))
                   .distinct().subquery())
        trained = (select(tr.c.person_id).where(tr.c.person_id == members.c.person_id, tr.c.completed_on <= today,
                                                tr.c.expires_on >= today).exists())
        acknowledged = (select(ack.c.person_id).where(ack.c.person_id == members.c.person_id,
                                                      ack.c.policy_version_id == current).exists())
        rows = conn.execute(select(members.c.school_id, func.count(), func.sum(case((trained, 1), else_=0)),
                                   func.sum(case((acknowledged, 1), else_=0)))
                            .group_by(members.c.school_id)).all()
    wanted = set(school_ids)
    return {school_id: (n, int(n_trained or 0), int(n_acked or 0) if current is not None else 0)
            for school_id, n, n_trained, n_acked in rows if school_id in wanted}


def _account_figures_empty() -> Row:
    return {"active_accounts": 0, "accounts_short_of_trained_runners": 0, "accounts_needing_rotation": 0,
            "accounts_unchecked_24h": 0, "pending_handovers": 0, "overdue_handovers": 0,
            **dict.fromkeys(INCIDENT_FIGURES, 0), **dict.fromkeys(POST_FIGURES, 0)}


ACCOUNT_TOTALS = tuple(_account_figures_empty())
INBOX_COUNTS = ("open_on_track", "open_due_soon", "open_breached", "breaches_30d", "mentions_awaiting_triage")


def _mean(values: list[Any]) -> float | None:
    present = [v for v in values if v is not None]
    return round(sum(present) / len(present), 1) if present else None


#: Dashboard figures change only when the read model moves on, or as time passes (ages, overdue flags): reused per
#: caller (visibility differs) and minute while the read model stands still, one cheap query instead of a dozen
#: aggregate ones for the trust team refreshing the overview.
DASHBOARDS: rm.MarkedCache = rm.MarkedCache(rm.READ_MODEL, 512)
#: Coverage figures per trust and set of schools, until people, roles, training or acknowledgements change or
#: the day turns (training expires by the day): most commands (applications, messages, incidents) leave them.
COVERAGE: rm.MarkedCache = rm.MarkedCache(rm.COVERAGE_CHANGED, 512)
#: Account, incident and inbox figures per trust, set of schools and minute (ages and overdue flags), until a
#: projected table other than the applications' or the audit trail's changes.
FIGURES: rm.MarkedCache = rm.MarkedCache(rm.FIGURES_CHANGED, 512)


def _minute(now: datetime) -> datetime:
    """Dashboards show ages and overdue flags: a cached one is good for the rest of its minute."""
    return now.replace(second=0, microsecond=0)


def _who(principal: Principal) -> tuple[Any, ...]:
    """What decides what a caller sees (not the request id)."""
    return (principal.kind, principal.id, principal.trust_id, principal.visible_school_ids, principal.trust_roles,
            tuple(sorted((str(k), tuple(sorted(v))) for k, v in principal.school_roles.items())), principal.scopes)


def school_dashboard(engine: Engine, principal: Principal, school_id: UUID, now: datetime, today: date) -> Row:
    return DASHBOARDS.get_or_compute(engine, ("school", _who(principal), school_id, _minute(now)),
                                     lambda: _school_dashboard(engine, principal, school_id, now, today))


def trust_dashboard(engine: Engine, principal: Principal, now: datetime, today: date) -> Row:
    return DASHBOARDS.get_or_compute(engine, ("trust", _who(principal), _minute(now)),
                                     lambda: _trust_dashboard(engine, principal, now, today))


def _school_dashboard(engine: Engine, principal: Principal, school_id: UUID, now: datetime, today: date) -> Row:
    school = get_school(engine, principal, school_id)
    if not can(principal, Action.DASHBOARD_SCHOOL, school_id):
        raise NotFound("school")
    figures = _school_figures(engine, principal.trust_id, [school_id], now, today)[school_id]
    return {"school_id": school_id, "school_name": school["name"], **figures}


def _trust_dashboard(engine: Engine, principal: Principal, now: datetime, today: date) -> Row:
    if not can(principal, Action.DASHBOARD_TRUST, None):
        raise NotFound("trust dashboard")
    schools = list_schools(engine, principal)
    ids = [s["id"] for s in schools]
    figures = _school_figures(engine, principal.trust_id, ids, now, today)
    rows = [{"school_id": s["id"], "school_name": s["name"], **figures[s["id"]]} for s in schools]
    people = sum(r["people"] for r in rows)
    pending = [r["oldest_pending_hours"] for r in rows if r["oldest_pending_hours"] is not None]
    awaiting = [r["oldest_awaiting_approval_hours"] for r in rows if r["oldest_awaiting_approval_hours"] is not None]
    totals = {
        "schools": len(rows),
        "pending_applications": sum(r["pending_applications"] for r in rows),
        "oldest_pending_hours": max(pending) if pending else None,
        "oldest_awaiting_approval_hours": max(awaiting) if awaiting else None,
        "approved_applications": sum(r["approved_applications"] for r in rows),
        "rejected_applications": sum(r["rejected_applications"] for r in rows),
        **{k: sum(r[k] for r in rows) for k in ACCOUNT_TOTALS},
        **{k: sum(r[k] for r in rows) for k in INBOX_COUNTS},
        **{k: _mean([r[k] for r in rows]) for k in ("compliance_7d_pct", "compliance_30d_pct",
                                                    "monitoring_coverage_7d_pct", "median_first_response_hours")},
        "people": people,
        "training_coverage_pct": round(100 * sum(r["trained_people"] for r in rows) / people, 1) if people else None,
        "acknowledgement_coverage_pct": (round(100 * sum(r["acknowledged_people"] for r in rows) / people, 1)
                                         if people else None),
    }
    return {"trust_id": principal.trust_id, **totals, "per_school": rows}


def get_trust_settings(engine: Engine, principal: Principal) -> Row:
    t = rm.trusts
    with rm.read_as(engine, principal) as conn:
        row = conn.execute(select(t.c.id, t.c.name, t.c.response_hours, t.c.due_soon_hours, t.c.end_of_day,
                                  t.c.training_validity_months, t.c.assessment_working_days,
                                  t.c.current_policy_version_id).where(t.c.id == principal.trust_id)).mappings().first()
    if row is None:
        raise NotFound("trust")
    return dict(row)


# ----- accounts -----
ACCOUNT_STATES = ("active", "suspended", "closed", "short_of_trained_runners", "rotation_required", "unchecked")
UNCHECKED_AFTER = timedelta(hours=24)


def _trained_runner_counts(conn: Any, account_filter: Any, today: date) -> dict[UUID, int]:
    r, tr, p = rm.account_runners, rm.training_records, rm.people
    # a probe of each runner's own records (by person_id), not every valid record of the database made distinct
    trained = (select(tr.c.person_id).where(tr.c.person_id == r.c.person_id, tr.c.completed_on <= today,
                                            tr.c.expires_on >= today).exists())
    rows = conn.execute(
        select(r.c.account_id, func.count())
        .join(p, p.c.id == r.c.person_id)
        .where(account_filter, trained, or_(p.c.leaving_date.is_(None), p.c.leaving_date > today))
        .group_by(r.c.account_id))
    return {a: n for a, n in rows}


def _rotation_due(conn: Any, account_filter: Any, today: date) -> set[UUID]:
    t = rm.rotation_requirements
    return set(conn.execute(select(t.c.account_id).where(account_filter, t.c.effective_on <= today)).scalars())


def _account_rows(engine: Engine, caller: Principal, where: Any, runner_filter: Any, rotation_filter: Any,
                  today: date, now: datetime) -> list[Row]:
    a, r, p = rm.accounts, rm.account_runners, rm.people
    with rm.read_as(engine, caller) as conn:
        rows = conn.execute(select(a).where(where).order_by(a.c.created_at, a.c.id)).mappings().all()
        trained = _trained_runner_counts(conn, runner_filter, today)
        rotation = _rotation_due(conn, rotation_filter, today)
        runners: dict[UUID, list[Row]] = defaultdict(list)
        for account_id, person_id, name in conn.execute(
                select(r.c.account_id, r.c.person_id, p.c.display_name).join(p, p.c.id == r.c.person_id)
                .where(runner_filter).order_by(p.c.display_name)):
            runners[account_id].append({"id": person_id, "display_name": name})
    out = []
    for row in rows:
        n = trained.get(row["id"], 0)
        checked = row["last_check_at"]
        out.append({
            **{k: row[k] for k in ("id", "school_id", "application_id", "platform", "handle", "url", "visibility",
                                   "lead_id", "status", "status_reason", "credential_version",
                                   "credentials_stored_at", "last_check_at", "created_at", "version")},
            "runners": runners.get(row["id"], []),
            "trained_runners": n,
            "short_of_trained_runners": row["status"] == "active" and n < 2,
            "rotation_required": row["id"] in rotation,
            "hours_since_check": round((now - checked).total_seconds() / 3600, 1) if checked else None,
            "unchecked": row["status"] == "active" and (checked is None or now - checked > UNCHECKED_AFTER),
        })
    return out


def list_accounts(engine: Engine, principal: Principal, school_id: UUID, today: date, now: datetime,
                  state: str | None = None) -> list[Row]:
    if school_id not in principal.visible_school_ids:
        raise NotFound("school")
    if state is not None and state not in ACCOUNT_STATES:
        raise InvalidInput.one("state", "must be one of " + ", ".join(ACCOUNT_STATES))
    a, r = rm.accounts, rm.account_runners
    where = a.c.school_id == school_id
    if not can(principal, Action.ACCOUNT_READ, school_id):
        mine = select(r.c.account_id).where(r.c.person_id == principal.id)
        where = and_(where, a.c.id.in_(mine))
    rows = _account_rows(engine, principal, where, r.c.school_id == school_id,
                         rm.rotation_requirements.c.school_id == school_id, today, now)
    if state in ("active", "suspended", "closed"):
        return [x for x in rows if x["status"] == state]
    if state is not None:
        return [x for x in rows if x[state]]
    return rows


def get_account(engine: Engine, principal: Principal, account_id: UUID, today: date, now: datetime) -> Row:
    a, r = rm.accounts, rm.account_runners
    rows = _account_rows(engine, principal, a.c.id == account_id, r.c.account_id == account_id,
                         rm.rotation_requirements.c.account_id == account_id, today, now)
    if not rows or rows[0]["school_id"] not in principal.visible_school_ids:
        raise NotFound("account")
    row = rows[0]
    is_runner = any(x["id"] == principal.id for x in row["runners"])
    if not (is_runner or can(principal, Action.ACCOUNT_READ, row["school_id"])):
        raise NotFound("account")
    return row


HANDOVER_STATUSES = ("open", "completed", "overdue")


def list_handovers(engine: Engine, principal: Principal, school_id: UUID, today: date,
                   status: str | None = None) -> list[Row]:
    if school_id not in principal.visible_school_ids or not can(principal, Action.HANDOVER_READ, school_id):
        raise NotFound("school")
    if status is not None and status not in HANDOVER_STATUSES:
        raise InvalidInput.one("status", "must be one of " + ", ".join(HANDOVER_STATUSES))
    h, a = rm.handovers, rm.accounts
    with rm.read_as(engine, principal) as conn:
        rows = conn.execute(select(h, a.c.handle, a.c.platform).join(a, a.c.id == h.c.account_id)
                            .where(h.c.school_id == school_id).order_by(h.c.due_on, h.c.id)).mappings().all()
    out = [{**{k: v for k, v in dict(x).items() if k != "trust_id"},
            "overdue": x["status"] == "open" and today >= x["due_on"]} for x in rows]
    if status == "overdue":
        return [x for x in out if x["overdue"]]
    return [x for x in out if status is None or x["status"] == status]


def get_handover(engine: Engine, principal: Principal, handover_id: UUID, today: date) -> Row:
    h = rm.handovers
    with rm.read_as(engine, principal) as conn:
        school_id = conn.execute(select(h.c.school_id).where(h.c.id == handover_id)).scalar()
    if school_id is None:
        raise NotFound("handover")
    found = [x for x in list_handovers(engine, principal, school_id, today) if x["id"] == handover_id]
    if not found:
        raise NotFound("handover")
    return found[0]


def _account_figures(engine: Engine, trust_id: UUID, school_ids: list[UUID], today: date,
                     now: datetime) -> dict[UUID, Row]:
    a, r, h = rm.accounts, rm.account_runners, rm.handovers
    figures: dict[UUID, Row] = defaultdict(lambda: {
        "active_accounts": 0, "accounts_short_of_trained_runners": 0, "accounts_needing_rotation": 0,
        "accounts_unchecked_24h": 0, "pending_handovers": 0, "overdue_handovers": 0})
    with rm.read_figures(engine, trust_id, school_ids) as conn:
        accounts = conn.execute(select(a.c.id, a.c.school_id, a.c.last_check_at)
                                .where(a.c.trust_id == trust_id, rm.in_schools(a.c.school_id, school_ids),
                                       a.c.status == "active")).all()
        trained = _trained_runner_counts(conn, and_(r.c.trust_id == trust_id, rm.in_schools(r.c.school_id, school_ids)),
                                         today)
        rotation = _rotation_due(conn, and_(rm.rotation_requirements.c.trust_id == trust_id,
                                            rm.in_schools(rm.rotation_requirements.c.school_id, school_ids)), today)
        for school_id, due_on in conn.execute(select(h.c.school_id, h.c.due_on)
                                              .where(h.c.trust_id == trust_id,
                                                     rm.in_schools(h.c.school_id, school_ids), h.c.status == "open")):
            figures[school_id]["pending_handovers"] += 1
            figures[school_id]["overdue_handovers"] += int(today >= due_on)
    for account_id, school_id, checked in accounts:
        f = figures[school_id]
        f["active_accounts"] += 1
        f["accounts_short_of_trained_runners"] += int(trained.get(account_id, 0) < 2)
        f["accounts_needing_rotation"] += int(account_id in rotation)
        checked = rm.UtcDateTime().process_result_value(checked, engine.dialect) if checked else None
        f["accounts_unchecked_24h"] += int(checked is None or now - checked > UNCHECKED_AFTER)
    return figures


# ----- incidents -----
INCIDENT_FIELDS = ("id", "school_id", "title", "category", "description", "happened_at", "reported_at",
                   "reporter_id", "reporter_name", "involved", "account_id", "post_ref", "interaction_id",
                   "restricted", "status", "risk_level", "safeguarding_concern", "assessed_at", "assessment_due_at",
                   "police_referred_at", "crime_reference", "agencies", "evidence_count", "resolved_at", "outcome",
                   "version")
INCIDENT_STATES = ("open", "resolved", "awaiting_assessment", "assessment_overdue", "police")


def _incident_row(row: Any, now: datetime) -> Row:
    out = {k: row[k] for k in INCIDENT_FIELDS}
    out["reference"] = incident_reference(row["id"])
    out["named_slt_ids"] = [UUID(x) for x in row["named_slt_ids"]]
    out["investigator_ids"] = [UUID(x) for x in row["investigator_ids"]]
    out["awaiting_assessment"] = row["status"] == "open" and row["assessed_at"] is None
    out["assessment_overdue"] = out["awaiting_assessment"] and now > row["assessment_due_at"]
    return out


def incident_visible(principal: Principal, row: Any) -> bool:
    """Whether the caller may see the incident in this read-model row (see `can_see_incident`)."""
    return can_see_incident(principal, row["school_id"], row["restricted"],
                            frozenset(UUID(x) for x in row["named_slt_ids"]), row["reporter_id"],
                            frozenset(UUID(x) for x in row["investigator_ids"]))


def list_incidents(engine: Engine, principal: Principal, school_id: UUID, now: datetime,
                   state: str | None = None) -> list[Row]:
    if school_id not in principal.visible_school_ids:
        raise NotFound("school")
    if state is not None and state not in INCIDENT_STATES:
        raise InvalidInput.one("state", "must be one of " + ", ".join(INCIDENT_STATES))
    t = rm.incidents
    with rm.read_as(engine, principal) as conn:
        rows = conn.execute(select(t).where(t.c.school_id == school_id)
                            .order_by(t.c.reported_at.desc(), t.c.id)).mappings().all()
    out = [_incident_row(r, now) for r in rows if incident_visible(principal, r)]
    if state in ("open", "resolved"):
        return [x for x in out if x["status"] == state]
    if state == "police":
        return [x for x in out if x["police_referred_at"] is not None]
    if state is not None:
        return [x for x in out if x[state]]
    return out


def get_incident(engine: Engine, principal: Principal, incident_id: UUID, now: datetime) -> Row:
    t = rm.incidents
    with rm.read_as(engine, principal) as conn:
        row = conn.execute(select(t).where(t.c.id == incident_id)).mappings().first()
        if row is None or row["trust_id"] != principal.trust_id or not incident_visible(principal, row):
            raise NotFound("incident")
        evidence = conn.execute(select(rm.evidence_files).where(rm.evidence_files.c.incident_id == incident_id)
                                .order_by(rm.evidence_files.c.added_at)).mappings().all()
    out = _incident_row(row, now)
    out["evidence"] = [{k: e[k] for k in ("id", "filename", "content_type", "size", "sha256", "description",
                                          "added_at", "added_by")} for e in evidence]
    # what was done, oldest first: each with who did it (name and role) and when (decision 0057)
    out["moderation_actions"] = [{**m, "at": datetime.fromisoformat(m["at"])} for m in row["moderation_actions"]]
    out["takedown_steps"] = [{**t, "at": datetime.fromisoformat(t["at"])} for t in row["takedown_steps"]]
    return out


def incident_account_choices(engine: Engine, principal: Principal, school_id: UUID) -> list[Row]:
    """The school's accounts (not closed) that an incident may be about, for anyone who may report one there:
    id, platform and handle only (the accounts are public; who runs them is not said)."""
    if school_id not in principal.visible_school_ids:
        raise NotFound("school")
    if not can(principal, Action.INCIDENT_REPORT, school_id):
        return []
    a = rm.accounts
    with rm.read_as(engine, principal) as conn:
        rows = conn.execute(select(a.c.id, a.c.platform, a.c.handle)
                            .where(a.c.school_id == school_id, a.c.status != "closed")
                            .order_by(a.c.platform, a.c.handle)).mappings().all()
    return [dict(r) for r in rows]




def _incident_figures(engine: Engine, trust_id: UUID, school_ids: list[UUID], now: datetime) -> dict[UUID, Row]:
    t = rm.incidents
    figures: dict[UUID, Row] = defaultdict(lambda: dict.fromkeys(INCIDENT_FIGURES, 0))
    with rm.read_figures(engine, trust_id, school_ids) as conn:
        rows = conn.execute(select(t.c.school_id, t.c.status, t.c.risk_level, t.c.assessed_at, t.c.assessment_due_at,
                                   t.c.police_referred_at)
                            .where(t.c.trust_id == trust_id, rm.in_schools(t.c.school_id, school_ids),
                                   or_(t.c.status == "open", t.c.police_referred_at >= now - timedelta(days=30))))
        conv = rm.UtcDateTime()
        for school_id, status, risk, assessed, due, police in rows:
            f = figures[school_id]
            police = conv.process_result_value(police, engine.dialect)
            if police is not None and police >= now - timedelta(days=30):
                f["police_escalations_30d"] += 1
            if status != "open":
                continue
            f["open_incidents"] += 1
            if risk:
                f[f"incidents_{risk}"] += 1
            if assessed is None:
                f["incidents_awaiting_assessment"] += 1
                due = conv.process_result_value(due, engine.dialect)
                f["incidents_assessment_overdue"] += int(due is not None and now > due)
    return figures
