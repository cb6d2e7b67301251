"""The base of every stored event: who did it, for which tenant, when and why.

Events are the public record. Name them in the past tense and never change a stored event's meaning.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TypedDict
from uuid import UUID


class ActorKind(StrEnum):
    PERSON = "person"
    INTEGRATION = "integration"
    SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    """Who performed an action: a person, an integration client, or the system itself."""

    kind: ActorKind
    id: UUID | None
    display_name: str
    role: str | None
    auth_method: str
    request_id: str | None = None

    @classmethod
    def system(cls, reason: str = "system", request_id: str | None = None) -> Actor:
        return cls(ActorKind.SYSTEM, None, reason, None, "internal", request_id)


@dataclass(frozen=True, kw_only=True)
class DomainEvent:
    """Fields every event carries. `originator_id`/`originator_version` make it storable by the event store."""

    originator_id: UUID
    originator_version: int
    occurred_at: datetime
    actor: Actor
    trust_id: UUID
    school_id: UUID | None
    reason: str | None = None


class EventHeader(TypedDict):
    originator_id: UUID
    originator_version: int
    occurred_at: datetime
    actor: Actor
    trust_id: UUID
    school_id: UUID | None


class Aggregate:
    """A plain event-sourced aggregate: commands append events through `_trigger`, `apply` mutates state."""

    def __init__(self, id: UUID) -> None:
        self.id = id
        self.version = 0
        self.pending: list[DomainEvent] = []

    def apply(self, event: DomainEvent) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _mutate(self, event: DomainEvent) -> None:
        self.apply(event)
        self.version = event.originator_version

    def _trigger(self, event: DomainEvent) -> None:
        self._mutate(event)
        self.pending.append(event)

    def collect_events(self) -> list[DomainEvent]:
        events, self.pending = self.pending, []
        return events

    def next_version(self) -> int:
        return self.version + 1

    def header(self, at: datetime, actor: Actor, trust_id: UUID, school_id: UUID | None) -> EventHeader:
        """The common fields of this aggregate's next event."""
        return EventHeader(originator_id=self.id, originator_version=self.next_version(), occurred_at=at,
                           actor=actor, trust_id=trust_id, school_id=school_id)
