"""The base of every bounded context's eventsourcing Application.

All contexts share one recorder (one table, one notification sequence) so that projections and the audit
chain see a single total order of events (docs/decisions/0002-one-event-log.md).
"""

from __future__ import annotations

import asyncio
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
from services.deferred import DEFERRED, DeferredCommit
from services.group_commit import AfterSave as AfterSave
from services.group_commit import GroupCommit, SharedCatchUp
from services.ports import Clock
from services.provisional import PENDING, Pending

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
    """One bounded context's command side, on the shared recorder."""

    def __init__(self, recorder: ApplicationRecorder, clock: Clock, after_save: AfterSave | None = None) -> None:
        self._shared_recorder = recorder
        self.clock = clock
        self.after_save = after_save
        #: Writes commands' events, sharing transactions with concurrent commands; the composition root gives
        #: every context the same one.
        self.committer = GroupCommit(recorder)
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

    def commit(self, *aggregates: Aggregate, project: bool = True) -> int:
        """Saves the pending events of all given aggregates atomically; returns the last notification id.
        With project=False the caller catches the read side up once after a run of commits (sweeps)."""
        events = [e for a in aggregates for e in a.collect_events()]
        if not events:
            return 0
        stored = [self.mapper.to_stored_event(e) for e in events]
        deferral = DEFERRED.get()
        if deferral is not None:  # run on the event loop: the caller awaits the write (services/deferred.py)
            deferral.add(DeferredCommit(self, stored, events, project))
            return 0
        pending = PENDING.get()  # a provisional principal: its first commit confirms it (decision 0033)
        try:
            last = self.committer.commit(stored, events, project and self.after_save is not None, _mark(pending))
        except IntegrityError as e:
            raise _conflict() from e
        if pending is not None:
            pending.confirmed = True
        if project and self.after_save is not None:
            self.after_save(last)
        return last

    async def commit_deferred(self, deferred: DeferredCommit) -> int:
        """`commit`'s write for a call run on the event loop (services/deferred.py): awaited, never blocking it.
        Catching the read side up, if the write did not already, is left to a worker thread."""
        pending = PENDING.get()
        project = deferred.project and self.after_save is not None
        try:
            last = await self.committer.commit_soon(deferred.stored, deferred.events, project, _mark(pending))
        except IntegrityError as e:
            raise _conflict() from e
        if pending is not None:
            pending.confirmed = True
        if project and self.after_save is not None:
            if not (isinstance(self.after_save, SharedCatchUp) and self.after_save.covers(last)):
                await asyncio.to_thread(self.after_save, last)
        return last

    def project_up_to(self, last: int) -> None:
        if last and self.after_save is not None:
            self.after_save(last)


def _mark(pending: Pending | None) -> int | None:
    """The directory change mark a commit must confirm: its provisional principal's, until a commit has."""
    return pending.mark if pending is not None and not pending.confirmed else None


def _conflict() -> ConcurrencyConflict:
    return ConcurrencyConflict("the record was changed by someone else; reload and try again")
