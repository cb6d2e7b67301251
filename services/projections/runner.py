"""Runs the projections (the read model and the audit chain) over the shared event log.

Each projection has a tracking row holding the position (notification id) of the last event it applied; rows and
position change in one transaction, so each event is applied exactly once and a projection can be rebuilt from
zero. Commands' events are applied in the very transaction that inserts them (services/event_log.py);
`catch_up` applies whatever is not applied yet (at start-up, after a bulk import, from the CLI), and `rebuild`
replays the log from zero. Works the same on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, Mapper, Notification
from sqlalchemy import Connection, Engine, bindparam, delete, insert, select, update

from domain.events import DomainEvent
from services.ports import EventTable
from services.projections.batch import Batch
from services.readmodel import PROJECTED_TABLES, projection_tracking

_t = projection_tracking
#: The projections' tracking rows, locked for the transaction and their positions returned. An UPDATE, so that on
#: SQLite it is a write and takes the database's write lock at once, like the events' INSERT.
LOCK = (update(_t).where(_t.c.name.in_(bindparam("names", expanding=True))).values(position=_t.c.position)
        .returning(_t.c.name, _t.c.position))

MOVE = update(_t).where(_t.c.name.in_(bindparam("names", expanding=True))).values(position=bindparam("to"))
#: A notification with its decoded domain event.
Applied = tuple[Notification, Any]
Progress = Callable[[int, int], None]


class Projection(Protocol):
    name: str
    #: False for the audit chain: a rebuild would launder a tampered event into a fresh chain.
    rebuildable: bool

    def begin(self, b: Batch, position: int) -> None:
        """Called before a run of events is applied, in the transaction that holds the tracking row, with the
        projection's position (the last event it applied)."""
        ...

    def handle(self, b: Batch, event: DomainEvent, notification: Notification) -> None: ...

    def end(self, b: Batch, last: int) -> None:
        """Called after the run's rows are written, before the position moves to `last`."""
        ...


class Projections:
    """Every transaction that moves tracking rows is one of the event table's transactions, so that
    appends and catch-ups queue for one lock, in one order."""

    def __init__(self, engine: Engine, table: EventTable, recorder: ApplicationRecorder, mapper: Mapper[UUID],
                 projections: Sequence[Projection], batch_size: int = 2000) -> None:
        self.engine = engine
        self.table = table
        self.recorder = recorder
        self.mapper = mapper
        self.projections = list(projections)
        self.names = sorted(p.name for p in self.projections)
        self.batch_size = batch_size

    def lock(self, conn: Connection) -> dict[str, int]:
        """Locks every projection's tracking row (creating missing ones at 0); their positions by name."""
        positions = {str(name): int(pos) for name, pos in conn.execute(LOCK, {"names": self.names})}
        for name in self.names:
            if name not in positions:
                conn.execute(insert(_t).values(name=name, position=0))
                positions[name] = 0
        return positions

    def read(self, after: int, before: int | None = None) -> list[Applied]:
        """The next notifications after `after` (at most a batch; only those before `before` if given), decoded."""
        if before is not None and before <= after + 1:
            return []
        stop = before - 1 if before is not None else None
        found = self.recorder.select_notifications(after + 1, self.batch_size, stop=stop)
        return [(n, self.mapper.to_domain_event(n)) for n in found]

    def apply(self, conn: Connection, positions: dict[str, int], events: Sequence[Applied]) -> None:
        """Applies `events` (in log order) to every projection not yet past them, and moves the tracking rows:
        `positions` (from `lock`) is updated to where each projection now stands. One Batch for them all, so that
        their rows and the moves go to the database together."""
        if not events:
            return
        last = events[-1][0].id
        todo = {p.name: [(n, e) for n, e in events if n.id > positions[p.name]] for p in self.projections}
        active = [p for p in self.projections if todo[p.name]]
        if not active:
            return
        batch = Batch(conn, self.table.insert_rows)
        for projection in active:  # first, so that what they read is read before anything is queued
            projection.begin(batch, positions[projection.name])
        for projection in active:
            for n, event in todo[projection.name]:
                if isinstance(event, DomainEvent):
                    projection.handle(batch, event, n)
            projection.end(batch, last)
            positions[projection.name] = last
        batch.then(MOVE, {"names": [p.name for p in active], "to": last})
        with self.table.together(conn):  # the rows and the moves need no answer
            batch.flush()

    def position(self) -> int:
        """How far every projection has got (the lowest of their positions)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(_t.c.position).where(_t.c.name.in_(self.names))).scalars().all()
        return min(rows) if len(rows) == len(self.names) else 0

    def catch_up(self, progress: Progress | None = None) -> int:
        """Applies every event not yet applied, one transaction per batch; returns how many positions it advanced."""
        total = (self.recorder.max_notification_id() or 0) if progress is not None else 0
        start = None
        while True:
            with self.table.alone() as conn:
                positions = self.lock(conn)
                lowest = min(positions.values())
                start = lowest if start is None else start
                events = self.read(lowest)
                self.apply(conn, positions, events)
            if not events:
                return lowest - start
            if progress is not None:
                progress(events[-1][0].id, max(total, events[-1][0].id))

    def rebuild(self, progress: Progress | None = None) -> int:
        """Empties the read model and replays the whole log in one transaction: readers see the old tables until the
        new ones are complete, and a failure leaves the old ones in place. The audit chain is never rebuilt."""
        rebuilt = [p for p in self.projections if p.rebuildable]
        total = self.recorder.max_notification_id() or 0
        with self.table.alone() as conn:
            positions = self.lock(conn)
            for table in reversed(PROJECTED_TABLES):
                conn.execute(delete(table))
            for p in rebuilt:
                positions[p.name] = 0
            position = 0
            while events := self.read(position):  # the chain, already past them, skips them
                position = events[-1][0].id
                self.apply(conn, positions, events)
                if progress is not None:
                    progress(position, max(total, position))
        return position
