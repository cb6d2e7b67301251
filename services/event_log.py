"""The event log's one write path: every command's events are inserted, and projected into the read model and the
audit chain, in one transaction (docs/decisions/0044-one-write-path.md).

    route → service (authorise, load aggregates, ask the domain) → EventLog.append → answer

`append` runs top to bottom in a transaction in which no one else appends (services/ports.EventTable):

1. insert the events (a version someone else took first raises IntegrityError: nothing is written, 409);
2. lock the projections' tracking rows and apply any events written before ours and not yet applied;
3. confirm that the caller still has the roles the command was decided on (else CallerChanged: nothing written);
4. apply our events, move the tracking rows, commit.

So once a command has answered, its events are in the read model (read-your-writes), and a command that fails
at any step writes nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import Notification, StoredEvent
from sqlalchemy.exc import DBAPIError

from services.authorisation import Principal
from services.identity import still_has_access
from services.ports import EventTable
from services.projections.runner import Projections


class CallerChanged(Exception):
    """The caller's roles changed (or their access ended) after the command was decided: nothing was written."""

    def __init__(self) -> None:
        super().__init__("your roles changed while this was being saved, so nothing was saved: please try again")


class EventLog:
    def __init__(self, table: EventTable, projections: Projections) -> None:
        self.table = table
        self.projections = projections

    def append(self, stored: Sequence[StoredEvent], events: Sequence[Any], by: Principal | None) -> int:
        """Writes and projects `stored` (mapped from the domain `events`), decided on `by`'s roles (None: the system
        itself); returns the last notification id. Tried once more on a fresh connection if the pooled one was dead
        (the database restarted): nothing was written by the first try."""
        try:
            return self._append(stored, events, by)
        except DBAPIError as e:
            if not e.connection_invalidated:
                raise
            return self._append(stored, events, by)

    def _append(self, stored: Sequence[StoredEvent], events: Sequence[Any], by: Principal | None) -> int:
        with self.table.appending() as conn:
            ids = self.table.insert(conn, stored)
            positions = self.projections.lock(conn)
            self.projections.apply(conn, positions, self._earlier(positions, ids[0]))
            if by is not None and not still_has_access(conn, by):
                raise CallerChanged()
            self.projections.apply(conn, positions, [
                (Notification(id=i, originator_id=s.originator_id, originator_version=s.originator_version,
                              topic=s.topic, state=s.state), e) for i, s, e in zip(ids, stored, events, strict=True)])
        return ids[-1]

    def _earlier(self, positions: dict[str, int], first: int) -> list[Any]:
        """Events written before `first` that some projection has not applied yet (written by a bulk import, or
        before a projection was added); usually none."""
        lowest = min(positions.values())
        earlier = []
        while lowest < first - 1 and (more := self.projections.read(lowest, before=first)):
            earlier += more
            lowest = more[-1][0].id
        return earlier
