"""The pupils' image-consent register, fed by the school's MIS with a bulk upsert: good rows land, bad rows are
reported by row and field, unchanged rows write nothing (a repeated call is idempotent)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder
from sqlalchemy import Engine, select

from domain.errors import FieldError
from domain.pupil import Pupil, PupilRecord, pupil_id
from services import readmodel as rm
from services.authorisation import Action, Principal, can
from services.event_log import EventLog
from services.eventstore import ContextApplication, Forbidden, NotFound
from services.ports import Clock

MAX_ROWS = 20_000


@dataclass
class UpsertResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[FieldError] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "rejected": len({e.field.split("]")[0] for e in self.errors}),
                "errors": [{"field": e.field, "message": e.message} for e in self.errors]}


class ConsentRegister(ContextApplication):
    name = "pupils"

    def __init__(self, recorder: ApplicationRecorder, clock: Clock, log: EventLog, engine: Engine) -> None:
        super().__init__(recorder, clock, log)
        self.engine = engine

    def upsert(self, principal: Principal, school_id: UUID, rows: list[PupilRecord]) -> UpsertResult:
        if school_id not in principal.visible_school_ids:
            raise NotFound("school")
        if not can(principal, Action.PUPILS_WRITE, school_id):
            raise Forbidden("only the MIS integration or the trust team updates the pupil register")
        result = UpsertResult()
        if len(rows) > MAX_ROWS:
            result.errors.append(FieldError("pupils", f"at most {MAX_ROWS} pupils per call"))
            return result
        t = rm.pupils
        with self.engine.connect() as conn:
            current = {r.pupil_ref: r for r in conn.execute(select(t).where(t.c.school_id == school_id))}
        seen: set[str] = set()
        changed: list[Pupil] = []
        actor = principal.actor(Action.PUPILS_WRITE, school_id)
        now = self.clock.now()
        for i, row in enumerate(rows):
            problems = row.errors(i)
            ref = row.pupil_ref.strip()
            if ref in seen:
                problems.append(FieldError(f"pupils[{i}].pupil_ref", "appears twice in this call"))
            if problems:
                result.errors.extend(problems)
                continue
            seen.add(ref)
            existing = current.get(ref)
            record = None if existing is None else PupilRecord(
                existing.pupil_ref, existing.name, existing.year_group, existing.consent_school_accounts,
                existing.consent_website, existing.consent_press, existing.no_publish)
            pupil = Pupil.at(pupil_id(school_id, ref), record, existing.version if existing else 0)
            if pupil.update(principal.trust_id, school_id, row, actor, now):
                changed.append(pupil)
                if existing is None:
                    result.created += 1
                else:
                    result.updated += 1
            else:
                result.unchanged += 1
        if changed:
            self.commit(*changed, by=principal)
        return result


def list_pupils(engine: Engine, principal: Principal, school_id: UUID) -> list[dict[str, Any]]:
    if school_id not in principal.visible_school_ids or not can(principal, Action.PUPILS_READ, school_id):
        raise NotFound("school")
    t = rm.pupils
    with engine.connect() as conn:
        rows = conn.execute(select(t).where(t.c.school_id == school_id).order_by(t.c.year_group, t.c.name)).mappings()
        return [{k: v for k, v in dict(r).items() if k not in ("trust_id",)} for r in rows]
