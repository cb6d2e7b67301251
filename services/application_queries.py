"""Read queries for the account application pages (api/web/applications.py): who may be named to run an account
and whether the leadership could approve them today, and a person's own applications. Plain dicts, read through
`read_as` and filtered by what the principal may see.

A runner's facts follow the approval rule (domain/application.py `unmet_approval_conditions`): a runner is
*eligible* when the trust has a current policy version, they hold a role at the school and are not leaving, they
have acknowledged the current version, and their social media training is valid today.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, Engine, or_, select

from domain.values import RUNNER_ROLES
from services import readmodel as rm
from services.authorisation import Action, Principal, can
from services.eventstore import Forbidden, NotFound
from services.queries import APPLICATION_FIELDS, get_application

Row = dict[str, Any]

#: The most of a person's own applications "my applications" lists (newest first).
MY_APPLICATIONS_LIMIT = 200


def _runner_facts(conn: Connection, trust_id: UUID, school_id: UUID, person_ids: Sequence[UUID],
                  today: date) -> list[Row]:
    """The facts about each of `person_ids` (in that order; people of another trust are left out)."""
    p, ra, tr, ack, pv = (rm.people, rm.role_assignments, rm.training_records, rm.acknowledgements,
                          rm.policy_versions)
    ids = list(dict.fromkeys(person_ids))
    if not ids:
        return []
    people = {r.id: r for r in conn.execute(select(p.c.id, p.c.display_name, p.c.leaving_date)
                                            .where(p.c.trust_id == trust_id, p.c.id.in_(ids)))}
    roles: dict[UUID, list[str]] = {}
    for pid, role in conn.execute(select(ra.c.person_id, ra.c.role)
                                  .where(ra.c.school_id == school_id, ra.c.person_id.in_(ids))
                                  .order_by(ra.c.role)):
        roles.setdefault(pid, []).append(role)
    training: dict[UUID, list[tuple[date, date]]] = {}
    for pid, completed_on, expires_on in conn.execute(select(tr.c.person_id, tr.c.completed_on, tr.c.expires_on)
                                                      .where(tr.c.trust_id == trust_id, tr.c.person_id.in_(ids))):
        training.setdefault(pid, []).append((completed_on, expires_on))
    acknowledged: dict[UUID, list[tuple[Any, UUID, str]]] = {}
    for pid, version_id, label, published_at in conn.execute(
            select(ack.c.person_id, ack.c.policy_version_id, pv.c.label, pv.c.published_at)
            .join(pv, pv.c.id == ack.c.policy_version_id)
            .where(ack.c.trust_id == trust_id, ack.c.person_id.in_(ids))):
        acknowledged.setdefault(pid, []).append((published_at, version_id, label))
    current = conn.execute(select(pv.c.id, pv.c.label).join(rm.trusts, rm.trusts.c.current_policy_version_id == pv.c.id)
                           .where(rm.trusts.c.id == trust_id)).first()
    out = []
    for pid in ids:
        person = people.get(pid)
        if person is None:
            continue
        records = training.get(pid, [])
        valid = [expires for completed, expires in records if completed <= today <= expires]
        expired = [expires for _, expires in records if expires < today]
        acks = sorted(acknowledged.get(pid, []), key=lambda a: a[0])
        school_roles = [r for r in roles.get(pid, []) if r in RUNNER_ROLES]
        left = person.leaving_date is not None and person.leaving_date <= today
        row: Row = {
            "id": pid,
            "display_name": person.display_name,
            "roles": [] if left else school_roles,
            "holds_role": bool(school_roles) and not left,
            "leaving_date": person.leaving_date,
            "training_valid_until": max(valid, default=None),
            "training_expired_on": None if valid else max(expired, default=None),
            "current_policy_label": current.label if current else None,
            "acknowledged_current": current is not None and any(a[1] == current.id for a in acks),
            "acknowledged_label": acks[-1][2] if acks else None,
        }
        row["eligible"] = (current is not None and row["holds_role"] and person.leaving_date is None
                           and row["acknowledged_current"] and bool(valid))
        out.append(row)
    return out


def runner_candidates(engine: Engine, principal: Principal, school_id: UUID, today: date) -> list[Row]:
    """Everyone who may be named to run an account at the school (staff, volunteers, moderators and leaders who
    have not left), by name, each with their training, acknowledgement and eligibility. For those who may apply for
    an account there, or read its applications."""
    if school_id not in principal.visible_school_ids:
        raise NotFound("school")
    if not (can(principal, Action.APPLICATION_SUBMIT, school_id) or can(principal, Action.APPLICATION_READ, school_id)):
        raise Forbidden(Action.APPLICATION_SUBMIT.refusal)
    p, ra = rm.people, rm.role_assignments
    with rm.read_as(engine, principal) as conn:
        ids = list(dict.fromkeys(conn.execute(
            select(p.c.id).join(ra, ra.c.person_id == p.c.id)
            .where(p.c.trust_id == principal.trust_id, ra.c.school_id == school_id,
                   ra.c.role.in_([r.value for r in RUNNER_ROLES]),
                   or_(p.c.leaving_date.is_(None), p.c.leaving_date > today))
            .order_by(p.c.display_name, p.c.id)).scalars()))
        return _runner_facts(conn, principal.trust_id, school_id, ids, today)


def application_runners(engine: Engine, principal: Principal, application_id: UUID, today: date) -> list[Row]:
    """The runners an application names, in its order, each with their training, acknowledgement and eligibility
    today: the leadership's checklist before approving. For whoever may see the application (404 otherwise)."""
    application = get_application(engine, principal, application_id)
    with rm.read_as(engine, principal) as conn:
        return _runner_facts(conn, principal.trust_id, application["school_id"], application["runner_ids"], today)


def list_my_applications(engine: Engine, principal: Principal,
                         school_ids: Collection[UUID] | None = None) -> list[Row]:
    """The principal's own applications at the schools they can see (or at `school_ids` of those), newest first,
    each with its school's name."""
    t, s = rm.applications, rm.schools
    schools = principal.visible_school_ids if school_ids is None else (
        frozenset(school_ids) & principal.visible_school_ids)
    if not schools:
        return []
    with rm.read_as(engine, principal) as conn:
        rows = conn.execute(select(t, s.c.name.label("school_name")).join(s, s.c.id == t.c.school_id)
                            .where(t.c.trust_id == principal.trust_id, t.c.applicant_id == principal.id,
                                   t.c.school_id.in_(schools))
                            .order_by(t.c.submitted_at.desc(), t.c.id.desc())
                            .limit(MY_APPLICATIONS_LIMIT)).mappings().all()
    return [{**{k: r[k] for k in APPLICATION_FIELDS}, "runner_ids": [UUID(str(i)) for i in r["runner_ids"]],
             "school_name": r["school_name"]} for r in rows]
