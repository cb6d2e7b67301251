"""The base of every bounded context's eventsourcing Application.

All contexts share one recorder (one table, one notification sequence) so that projections and the audit
chain see a single total order of events (docs/decisions/0002-one-event-log.md). Aggregates are loaded through
the library; their new events are written by the one EventLog (services/event_log.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, Protocol, TypeVar, runtime_checkable
from uuid import UUID, SafeUUID

from eventsourcing.application import Application
from eventsourcing.persistence import (
    ApplicationRecorder,
    IntegrityError,
    JSONTranscoder,
    Mapper,
    StoredEvent,
    Transcoding,
)

from domain.events import Actor, ActorKind, Aggregate, DomainEvent
from services.authorisation import Principal
from services.event_log import EventLog
from services.ports import Clock

A = TypeVar("A", bound=Aggregate)


class ConcurrencyConflict(Exception):
    """Someone else changed the aggregate since it was loaded; nothing was written."""


class NotFound(Exception):
    """The thing does not exist, or the caller may not know that it exists (another tenant's)."""

    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(f"{what} not found")


class Forbidden(Exception):
    """The caller can see the thing but may not do this to it."""


class ActorAsDict(Transcoding):
    type = Actor
    name = "actor"

    def encode(self, obj: Actor) -> dict[str, Any]:
        return {"kind": obj.kind.value, "id": obj.id, "display_name": obj.display_name, "role": obj.role,
                "auth_method": obj.auth_method, "request_id": obj.request_id}

    def decode(self, data: dict[str, Any]) -> Actor:
        return Actor(ActorKind(data["kind"]), data["id"], data["display_name"], data["role"],
                     data["auth_method"], data["request_id"])


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class UUIDFromHex(Transcoding):
    """The library's `uuid_hex` transcoding (same name, same stored form) with a faster decode. UUID(hex) strips
    and checks prefixes, braces and ranges that our own stored hex never has; building the UUID from its int
    directly halves the cost, and UUIDs are a fifth of decoding an event during catch-up. The result is an
    ordinary UUID (equal, hashable, same str) - tests/services/test_transcoding.py."""

    type = UUID
    name = "uuid_hex"

    def encode(self, obj: UUID) -> str:
        return obj.hex

    def decode(self, data: str) -> UUID:
        u = object.__new__(UUID)
        object.__setattr__(u, "int", int(data, 16))
        object.__setattr__(u, "is_safe", SafeUUID.unknown)
        return u


def register_transcodings(transcoder: JSONTranscoder) -> None:
    transcoder.register(ActorAsDict())
    transcoder.register(DateAsISO())


def build_mapper() -> Mapper[UUID]:
    """A mapper for our events; used by the applications and by projections reading notifications."""
    from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr

    transcoder = JSONTranscoder()
    for t in (UUIDFromHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(t)
    register_transcodings(transcoder)
    return Mapper(transcoder=transcoder)


@runtime_checkable
class ReadsManyAggregates(Protocol):
    """A recorder that reads several aggregates' events in one statement (infra/database.py's recorders)."""

    def select_events_of(self, originator_ids: Sequence[UUID]) -> Sequence[StoredEvent]: ...


class ContextApplication(Application[UUID]):
    """One bounded context's command side, on the shared recorder and event log."""

    def __init__(self, recorder: ApplicationRecorder, clock: Clock, log: EventLog) -> None:
        self._shared_recorder = recorder
        self.clock = clock
        self.event_log = log
        super().__init__(env={"PERSISTENCE_MODULE": "eventsourcing.popo", "IS_SNAPSHOTTING_ENABLED": "n"})

    def construct_recorder(self) -> ApplicationRecorder:
        return self._shared_recorder

    def construct_mapper(self) -> Mapper[UUID]:
        return build_mapper()

    def load(self, cls: type[A], aggregate_id: UUID) -> A | None:
        return self._replay(cls, aggregate_id, list(self.events.get(aggregate_id)))

    def load_many(self, cls: type[A], ids: Sequence[UUID]) -> dict[UUID, A | None]:
        """Several aggregates; in one statement where the recorder can (one round trip, not one per aggregate)."""
        recorder = self._shared_recorder
        if len(ids) < 2 or not isinstance(recorder, ReadsManyAggregates):
            return {i: self.load(cls, i) for i in ids}
        events: dict[UUID, list[Any]] = {i: [] for i in ids}
        for stored in recorder.select_events_of(ids):
            oid = stored.originator_id
            events[oid if isinstance(oid, UUID) else UUID(str(oid))].append(self.mapper.to_domain_event(stored))
        return {i: self._replay(cls, i, events[i]) for i in ids}

    @staticmethod
    def _replay(cls: type[A], aggregate_id: UUID, events: list[Any]) -> A | None:
        if not events:
            return None
        aggregate = cls(aggregate_id)
        for event in events:
            if not isinstance(event, DomainEvent):  # pragma: no cover - foreign event
                raise TypeError(f"unexpected stored event {type(event)!r}")
            aggregate._mutate(event)
        return aggregate

    def commit(self, *aggregates: Aggregate, by: Principal | None) -> int:
        """Writes the pending events of all given aggregates atomically, with their read-model rows, decided on the
        roles of `by` (None: the system itself, as sweeps and the demo seed act); returns the last notification
        id. Raises ConcurrencyConflict if another writer changed one of the aggregates first, and
        event_log.CallerChanged if `by`'s roles have changed since: nothing is written in either case."""
        events = [e for a in aggregates for e in a.collect_events()]
        if not events:
            return 0
        stored = [self.mapper.to_stored_event(e) for e in events]
        try:
            return self.event_log.append(stored, events, by)
        except IntegrityError as e:
            raise ConcurrencyConflict("the record was changed by someone else; reload and try again") from e
