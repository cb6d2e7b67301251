"""Read queries for the account application pages (api/web/applications.py): who may be named to run an account
and whether the leadership could approve them today, and a person's own applications. Plain dicts, read through
`read_as` and filtered by what the principal may see.

A runner's facts and eligibility come from services/runners.py.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import Engine, select

from services import readmodel as rm
from services.authorisation import Action, Principal, can
from services.eventstore import Forbidden, NotFound
from services.queries import APPLICATION_FIELDS, get_application
from services.runners import runner_facts, school_runner_ids

Row = dict[str, Any]

#: The most of a person's own applications "my applications" lists (newest first).
MY_APPLICATIONS_LIMIT = 200


def runner_candidates(engine: Engine, principal: Principal, school_id: UUID, today: date) -> list[Row]:
    """Everyone who may be named to run an account at the school (staff, volunteers, moderators and leaders who
    have not left), by name, each with their training, acknowledgement and eligibility. For those who may apply for
    an account there, or read its applications."""
    if school_id not in principal.visible_school_ids:
        raise NotFound("school")
    if not (can(principal, Action.APPLICATION_SUBMIT, school_id) or can(principal, Action.APPLICATION_READ, school_id)):
        raise Forbidden(Action.APPLICATION_SUBMIT.refusal)
    with rm.read_as(engine, principal) as conn:
        ids = school_runner_ids(conn, principal.trust_id, school_id, today)
        return runner_facts(conn, principal.trust_id, school_id, ids, today)


def application_runners(engine: Engine, principal: Principal, application_id: UUID, today: date) -> list[Row]:
    """The runners an application names, in its order, each with their training, acknowledgement and eligibility
    today: the leadership's checklist before approving. For whoever may see the application (404 otherwise)."""
    application = get_application(engine, principal, application_id)
    with rm.read_as(engine, principal) as conn:
        return runner_facts(conn, principal.trust_id, application["school_id"], application["runner_ids"], today)


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
