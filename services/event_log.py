"""The event log's one write path: every command's events are inserted, and projected into the read model and the
audit chain, in one transaction (docs/decisions/0044-one-write-path.md).

    route → service (authorise, load aggregates, ask the domain) → EventLog.append → answer

`append` writes the command's events top to bottom in a transaction in which no one else appends
(services/ports.EventTable), together with any other commands appending at the same moment:

1. insert the events (a version someone else took first raises IntegrityError: nothing is written, 409);
2. lock the projections' tracking rows and apply any events written before ours and not yet applied;
3. confirm that the caller still has the roles the command was decided on (else CallerChanged: nothing written);
4. apply our events, move the tracking rows, commit.

So once a command has answered, its events are in the read model (read-your-writes), and a command that fails
at any step writes nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from eventsourcing.persistence import Notification, StoredEvent
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from services.authorisation import Principal
from services.identity import still_have_access
from services.ports import EventTable
from services.projections.runner import Projections


class CallerChanged(Exception):
    """The caller's roles changed (or their access ended) after the command was decided: nothing was written."""

    def __init__(self) -> None:
        super().__init__("your roles changed while this was being saved, so nothing was saved: please try again")


@dataclass(frozen=True)
class Command:
    """One command's events, stored (`stored`) and as the domain gave them (`events`), and whom it was decided on."""

    stored: Sequence[StoredEvent]
    events: Sequence[Any]
    by: Principal | None


class EventLog:
    def __init__(self, table: EventTable, projections: Projections) -> None:
        self.table = table
        self.projections = projections

    def append(self, stored: Sequence[StoredEvent], events: Sequence[Any], by: Principal | None) -> int:
        """Writes and projects `stored` (mapped from the domain `events`), decided on `by`'s roles (None: the system
        itself); returns the last notification id. Tried once more on a fresh connection if the pooled one was dead
        (the database restarted): nothing was written by the first try."""
        command = Command(stored, events, by)
        try:
            return self.table.write(command, self._write)
        except DBAPIError as e:
            if not e.connection_invalidated:
                raise
            return self.table.write(command, self._write)

    def _write(self, conn: Connection, commands: Sequence[Command]) -> list[int]:
        """Writes `commands` (those appending at the same moment: usually one) in `conn`'s transaction; returns
        each one's last notification id. Raises, writing nothing, if any one fails (then each is written alone)."""
        stored = [s for c in commands for s in c.stored]
        events = [e for c in commands for e in c.events]
        ids = self.table.insert(conn, stored)
        positions = self.projections.lock(conn)
        self.projections.apply(conn, positions, self._earlier(positions, ids[0]))
        if not still_have_access(conn, [c.by for c in commands if c.by is not None]):
            raise CallerChanged()
        self.projections.apply(conn, positions, [
            (Notification(id=i, originator_id=s.originator_id, originator_version=s.originator_version,
                          topic=s.topic, state=s.state), e) for i, s, e in zip(ids, stored, events, strict=True)])
        return [ids[end - 1] for end in accumulate(len(c.stored) for c in commands)]

    def _earlier(self, positions: dict[str, int], first: int) -> list[Any]:
        """Events written before `first` that some projection has not applied yet (written by a bulk import, or
        before a projection was added); usually none."""
        lowest = min(positions.values())
        earlier = []
        while lowest < first - 1 and (more := self.projections.read(lowest, before=first)):
            earlier += more
            lowest = more[-1][0].id
        return earlier
