"""A school: one tenant of a trust."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from domain.errors import FieldError, InvalidInput
from domain.events import Actor, Aggregate, DomainEvent
from domain.values import Nation

URN_PATTERN = re.compile(r"^\d{6,7}$")


@dataclass(frozen=True, kw_only=True)
class SchoolAdded(DomainEvent):
    name: str
    urn: str
    nation: str
    timezone: str


class School(Aggregate):
    def __init__(self, id: UUID) -> None:
        super().__init__(id)
        self.trust_id: UUID | None = None
        self.name = ""
        self.urn = ""
        self.nation = Nation.ENGLAND
        self.timezone = "Europe/London"

    @classmethod
    def add(cls, id: UUID, trust_id: UUID, name: str, urn: str, nation: str, actor: Actor,
            at: datetime) -> School:
        errors: list[FieldError] = []
        name = " ".join(name.split())
        if not name:
            errors.append(FieldError("name", "must not be empty"))
        if not URN_PATTERN.match(urn.strip()):
            errors.append(FieldError("urn", "must be a unique reference number of 6 or 7 digits"))
        if nation not in {n.value for n in Nation}:
            errors.append(FieldError("nation", "must be one of " + ", ".join(n.value for n in Nation)))
        if errors:
            raise InvalidInput(errors)
        school = cls(id)
        school._trigger(SchoolAdded(originator_id=id, originator_version=1, occurred_at=at, actor=actor,
                                    trust_id=trust_id, school_id=id, name=name, urn=urn.strip(), nation=nation,
                                    timezone="Europe/London"))
        return school

    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, SchoolAdded):
            self.trust_id = event.trust_id
            self.name = event.name
            self.urn = event.urn
            self.nation = Nation(event.nation)
            self.timezone = event.timezone
