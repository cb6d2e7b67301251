"""A pupil on the school's image-consent register, fed by the MIS: who may appear on school accounts, the
website or in the press, and who must never be published."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.errors import FieldError
from domain.events import Actor, Aggregate, DomainEvent

PUPIL_NAMESPACE = uuid.UUID("1c0b5f0e-8a4e-4f57-9b2a-6d2b1f3e5a77")


def pupil_id(school_id: UUID, pupil_ref: str) -> UUID:
    return uuid.uuid5(PUPIL_NAMESPACE, f"{school_id}|{pupil_ref}")


@dataclass(frozen=True)
class PupilRecord:
    pupil_ref: str
    name: str
    year_group: str
    consent_school_accounts: bool
    consent_website: bool
    consent_press: bool
    no_publish: bool

    def errors(self, row: int) -> list[FieldError]:
        out = []
        if not self.pupil_ref.strip() or len(self.pupil_ref) > 50:
            out.append(FieldError(f"pupils[{row}].pupil_ref", "must be 1-50 characters"))
        if not self.name.strip() or len(self.name) > 200:
            out.append(FieldError(f"pupils[{row}].name", "must be 1-200 characters"))
        if not self.year_group.strip() or len(self.year_group) > 20:
            out.append(FieldError(f"pupils[{row}].year_group", "must be 1-20 characters"))
        if self.no_publish and (self.consent_school_accounts or self.consent_website or self.consent_press):
            out.append(FieldError(f"pupils[{row}].no_publish", "a no-publish pupil cannot also have image consent"))
        return out


@dataclass(frozen=True, kw_only=True)
class PupilRecordUpdated(DomainEvent):
    """The MIS's current record of the pupil (the whole record: each update replaces the previous)."""

    pupil_ref: str
    name: str
    year_group: str
    consent_school_accounts: bool
    consent_website: bool
    consent_press: bool
    no_publish: bool


class Pupil(Aggregate):
    def __init__(self, id: UUID) -> None:
        super().__init__(id)
        self.record: PupilRecord | None = None

    @classmethod
    def at(cls, id: UUID, record: PupilRecord | None, version: int) -> Pupil:
        """The pupil as the read model last saw it (version-checked on save, so a stale view is refused)."""
        pupil = cls(id)
        pupil.record, pupil.version = record, version
        return pupil

    def update(self, trust_id: UUID, school_id: UUID, record: PupilRecord, actor: Actor, at: datetime) -> bool:
        """Records the MIS's record if it differs from the current one; False if unchanged (idempotent)."""
        clean = PupilRecord(record.pupil_ref.strip(), " ".join(record.name.split()), record.year_group.strip(),
                            record.consent_school_accounts, record.consent_website, record.consent_press,
                            record.no_publish)
        if clean == self.record:
            return False
        fields: dict[str, Any] = asdict(clean)
        self._trigger(PupilRecordUpdated(**self.header(at, actor, trust_id, school_id), **fields))
        return True

    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, PupilRecordUpdated):
            self.record = PupilRecord(event.pupil_ref, event.name, event.year_group, event.consent_school_accounts,
                                      event.consent_website, event.consent_press, event.no_publish)
