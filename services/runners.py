"""Who may run a school account: each person's roles at the school, training, acknowledgement of the current
policy and eligibility today — the facts the application pages, the account pages and the handovers show.

A person is *eligible* to run an account by the rule the model applies when the leadership approves runners or a
moderator names a runner or lead (domain/application.py `unmet_approval_conditions`): the trust has a current
policy version, they hold a role at the school and are not leaving, they have acknowledged the current version,
and their social media training is valid today.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, or_, select

from domain.values import RUNNER_ROLES
from services import readmodel as rm

Row = dict[str, Any]


def school_runner_ids(conn: Connection, trust_id: UUID, school_id: UUID, today: date) -> list[UUID]:
    """Everyone who may be named to run an account at the school (leaders, moderators, staff and volunteers who
    have not left by `today`), by name."""
    p, ra = rm.people, rm.role_assignments
    return list(dict.fromkeys(conn.execute(
        select(p.c.id).join(ra, ra.c.person_id == p.c.id)
        .where(p.c.trust_id == trust_id, ra.c.school_id == school_id,
               ra.c.role.in_([r.value for r in RUNNER_ROLES]),
               or_(p.c.leaving_date.is_(None), p.c.leaving_date > today))
        .order_by(p.c.display_name, p.c.id)).scalars()))


def runner_facts(conn: Connection, trust_id: UUID, school_id: UUID, person_ids: Sequence[UUID],
                 today: date) -> list[Row]:
    """Each of `person_ids` (in that order; people of another trust are left out) with their roles at the school,
    training, acknowledgement of the current policy (and the last version they acknowledged) and eligibility today.
    Five queries, whatever the number of people."""
    p, ra, tr, ack, pv = (rm.people, rm.role_assignments, rm.training_records, rm.acknowledgements,
                          rm.policy_versions)
    ids = list(dict.fromkeys(person_ids))
    if not ids:
        return []
    people = {r.id: r for r in conn.execute(select(p.c.id, p.c.display_name, p.c.leaving_date)
                                            .where(p.c.trust_id == trust_id, p.c.id.in_(ids)))}
    roles: dict[UUID, list[str]] = {}
    for pid, role in conn.execute(select(ra.c.person_id, ra.c.role)
                                  .where(ra.c.school_id == school_id, ra.c.person_id.in_(ids)).order_by(ra.c.role)):
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
        acks = sorted(acknowledged.get(pid, []), key=lambda a: (a[0], a[1]))  # versions published in one instant:
        # by id, time-ordered (UUIDv7), so that the last acknowledged is the same on every read
        left = person.leaving_date is not None and person.leaving_date <= today
        school_roles = [] if left else [r for r in roles.get(pid, []) if r in RUNNER_ROLES]
        row: Row = {
            "id": pid,
            "display_name": person.display_name,
            "roles": school_roles,
            "holds_role": bool(school_roles),
            "leaving_date": person.leaving_date,
            "left": left,
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
