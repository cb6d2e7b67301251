"""Runs projections: reads the shared notification log and applies events in one transaction per batch, which
also moves the projection's tracking position. The tracking row is locked for the batch, so concurrent
catch-ups (several web workers, a CLI rebuild) serialise and each event is applied exactly once.
Works the same on SQLite and PostgreSQL (docs/decisions/0003-projection-runner.md)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Protocol, TypeVar
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, IntegrityError, Mapper, Notification, StoredEvent
from psycopg import sql
from sqlalchemy import Connection, Engine, bindparam, delete, insert, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import IntegrityError as SAIntegrityError

from domain.events import DomainEvent
from services.projections import driver
from services.projections.batch import Batch, Script
from services.provisional import DirectoryMoved
from services.readmodel import POSITION_OF, PROJECTED_TABLES, projection_tracking

_t = projection_tracking
#: The runner's statements on the tracking table, built once (docs/decisions/0022-hot-statements.md).
#: LOCK takes the row's write lock and returns the position under it; MOVE sets the position of named rows.
LOCK = update(_t).where(_t.c.name == bindparam("lock_name")).values(position=_t.c.position).returning(_t.c.position)
CREATE = insert(_t)
#: Executed with one parameter set per row: each projection's carried state is written with its position, so
#: a position never stands beside another position's carry (docs/decisions/0031-tracking-carry.md).
MOVE = update(_t).where(_t.c.name == bindparam("row")).values(position=bindparam("to"), carry=bindparam("carry"))
#: MOVE and the group's lock on SQLite, sent to the driver (services/projections/driver.py; decision 0037).
MOVE_SQLITE = f'UPDATE "{_t.name}" SET position = ?, carry = ? WHERE name = ?'  # noqa: S608 - our table's name
#: MOVE in a PostgreSQL round's script (services/projections/batch.Script): position, names, carries.
MOVE_SCRIPT = sql.SQL("UPDATE {t} SET position = %s, carry = c.carry FROM unnest(%s::text[], %s::text[]) AS "
                      "c(name, carry) WHERE {t}.name = c.name").format(t=sql.Identifier(_t.name)).as_string()


class Projection(Protocol):
    name: str

    def begin(self, b: Batch, position: int, carry: str | None = None) -> None:
        """Called at the start of each batch transaction, with the projection's position read under its lock and,
        where the lock returned it, what `end` carried at that position (a projection may load state it carries
        along, or reuse what it kept if the position is where it left it)."""
        ...

    def handle(self, b: Batch, event: DomainEvent, notification: Notification) -> None: ...

    def end(self, b: Batch, last: int) -> str | None:
        """Called after the batch's rows are written, before the transaction commits; returns what to carry to
        the next batch beside the position (None: nothing)."""
        ...


Progress = Callable[[int, int], None]
T = TypeVar("T")


class Projector:
    def __init__(
        self,
        engine: Engine,
        recorder: ApplicationRecorder,
        mapper: Mapper[UUID],
        projection: Projection,
        batch_size: int = 2000,
    ) -> None:
        self.engine = engine
        self.recorder = recorder
        self.mapper = mapper
        self.projection = projection
        self.batch_size = batch_size
        self.name = projection.name
        self.write_lock: AbstractContextManager[Any] = nullcontext()

    def position(self) -> int:
        with self.engine.connect() as conn:
            pos = conn.execute(POSITION_OF, {"name": self.name}).scalar()
        return int(pos or 0)

    def _lock(self, conn: Connection) -> int:
        """Takes the tracking row's write lock (creating the row once) and returns the position under it."""
        pos = conn.execute(LOCK, {"lock_name": self.name}).scalar()
        if pos is None:
            conn.execute(CREATE, {"name": self.name, "position": 0})
            return 0
        return int(pos)

    def _apply_batch(self, conn: Connection, position: int) -> int:
        """Applies the next batch after `position` on `conn`, moves tracking; returns the new position."""
        notifications = self.recorder.select_notifications(position + 1, self.batch_size)
        if not notifications:
            return position
        batch = Batch(conn)
        self.projection.begin(batch, position)
        for n in notifications:
            event = self.mapper.to_domain_event(n)
            if isinstance(event, DomainEvent):
                self.projection.handle(batch, event, n)
        batch.flush()
        last = notifications[-1].id
        carry = self.projection.end(batch, last)
        conn.execute(MOVE, [{"row": self.name, "to": last, "carry": carry}])
        return last

    ANALYZE_AFTER = 5000

    def _analyze_if_bulk(self, applied: int) -> None:
        """After a bulk catch-up on PostgreSQL, refresh planner statistics so dashboards do not run on the
        estimates of near-empty tables (autovacuum would get there, later)."""
        if applied >= self.ANALYZE_AFTER and self.engine.dialect.name == "postgresql":
            with self.engine.begin() as conn:
                for table in PROJECTED_TABLES:
                    conn.exec_driver_sql(f'ANALYZE "{table.name}"')

    def catch_up(self, until: int | None = None, progress: Progress | None = None) -> int:
        applied = self._catch_up(until, progress)
        self._analyze_if_bulk(applied)
        return applied

    def _catch_up(self, until: int | None = None, progress: Progress | None = None) -> int:
        """Applies every event not yet applied (or at least up to `until`), one transaction per batch.
        Returns how many notification positions it advanced."""
        start = None
        total = (self.recorder.max_notification_id() or 0) if progress is not None else 0
        while True:
            with self.write_lock, self.engine.begin() as conn:
                position = self._lock(conn)
                start = position if start is None else start
                if until is not None and position >= until:
                    return position - start
                new_position = self._apply_batch(conn, position)
            if new_position == position:
                return position - start
            if progress is not None:
                progress(new_position, max(total, new_position))
            if until is not None and new_position >= until:  # read-your-writes: no extra empty round
                return new_position - start

    def rebuild(self, progress: Progress | None = None) -> int:
        """Empties the read model and replays the whole log from zero in one transaction: readers see the old
        tables until the new ones are complete, and a failure leaves the old ones in place."""
        if not getattr(self.projection, "rebuildable", True):
            raise RuntimeError(f"projection {self.name!r} is append-only and is never rebuilt")
        total = self.recorder.max_notification_id() or 0
        with self.write_lock, self.engine.begin() as conn:
            self._lock(conn)
            for table in reversed(PROJECTED_TABLES):
                conn.execute(delete(table))
            position = 0
            while True:
                new_position = self._apply_batch(conn, position)
                if new_position == position:
                    break
                position = new_position
                if progress is not None:
                    progress(position, max(total, position))
        self._analyze_if_bulk(position)
        return position


def retry_on_disconnect(round_: Callable[[], T]) -> T:
    """Runs one projection transaction, once more if its pooled connection turned out dead (the database
    restarted): SQLAlchemy has then discarded the pool, so the second attempt connects afresh. Repeating is safe,
    since rows and position commit together or not at all."""
    try:
        return round_()
    except DBAPIError as e:
        if not e.connection_invalidated:
            raise
        return round_()


#: PostgreSQL (migration 0010): a batch's events inserted under the events table's lock, then the group's tracking
#: rows locked, in one call (decision 0032). The ids come back as rows with only `notification_id` set.
APPEND = "SELECT * FROM socialgov_append(%b, %b::bigint[], %b::text[], %b::bytea[], %b::text[])"
#: PostgreSQL: the group's tracking rows locked in one statement, always in name order (no deadlock between
#: groups); SQLite has no FOR UPDATE and needs none, since its first write locks the whole database.
LOCK_GROUP = (select(_t.c.name, _t.c.position, _t.c.carry).where(_t.c.name.in_(bindparam("names", expanding=True)))
              .order_by(_t.c.name).with_for_update())
LOCK_GROUP_SQLITE = (f'UPDATE "{_t.name}" SET position = position WHERE name IN ({{marks}}) '  # noqa: S608
                     "RETURNING name, position, carry")  # our table's name; {marks}: "?" marks


class ProjectorGroup:
    """Several projections over the same log caught up in one transaction: the read-your-writes path of every
    command (read model and audit chain) reads the new notifications once and commits once.

    The notifications are read, and decoded, before the tracking rows are locked, from where this group last
    left them: another process waiting for the lock meanwhile waits only for rows to be written. Under the lock
    the read-ahead is trimmed to what the rows' positions still need, or read again if it does not cover them
    (docs/decisions/0022-hot-statements.md)."""

    def __init__(self, projectors: list[Projector]) -> None:
        self.projectors = projectors
        first = projectors[0]
        self.engine, self.recorder, self.mapper = first.engine, first.recorder, first.mapper
        self.write_lock: AbstractContextManager[Any] = nullcontext()
        self.names = [p.name for p in projectors]
        self._sqlite = self.engine.dialect.name == "sqlite"
        #: The position this group last reached in this process; None until it has locked once.
        self._hint: int | None = None
        #: How many rounds used their read-ahead as it was (tests/services/test_group_commit.py).
        self.stats = {"read_ahead_used": 0, "script_sends": 0, "script_statements": 0, "appended": 0,
                      "append_backlog": 0}
        #: The tracking row of the directory's change mark that `append` confirms principals against, and who
        #: hears where it stood after each append (decision 0033); set by the composition root.
        self.mark: str | None = None
        self.on_mark: Callable[[int], None] | None = None
        #: SQLite: inserts stored events in a transaction of this group's engine and returns their ids (the event
        #: store's `insert_events_in`, decision 0035); PostgreSQL's `socialgov_append` does it in the database.
        self.insert: Callable[[Connection, Sequence[StoredEvent]], list[int]] | None = None

    def catch_up(self, until: int) -> int:
        """Brings every projection of the group to at least `until`; returns the position they all reached."""
        while True:
            reached = retry_on_disconnect(lambda: self._round(until))
            if reached >= until:
                return reached

    def _read(self, after: int) -> list[tuple[Notification, Any]]:
        notifications = self.recorder.select_notifications(after + 1, self.projectors[0].batch_size)
        return [(n, self.mapper.to_domain_event(n)) for n in notifications]

    def _lock(self, conn: Connection) -> tuple[list[int], list[str | None]]:
        """Locks every projection's tracking row (creating missing ones); their positions and what each carries,
        in projector order."""
        return self._in_order(conn, self._lock_rows(conn, self.names))

    def _lock_rows(self, conn: Connection, names: list[str]) -> list[tuple[Any, ...]]:
        """Locks the named tracking rows; returns (name, position, carry) of those that exist."""
        if self._sqlite:  # on the driver's connection, as Batch writes on SQLite (decision 0037)
            return driver.run(conn, LOCK_GROUP_SQLITE.format(marks=", ".join("?" * len(names))), names)
        return [tuple(r) for r in conn.execute(LOCK_GROUP, {"names": names})]

    def _in_order(self, conn: Connection, rows: Iterable[Any]) -> tuple[list[int], list[str | None]]:
        """Locked tracking rows (name, position, carry) as positions and carries in projector order; a row not
        created yet is created (and locked) here, at position 0 with nothing carried."""
        found = {str(name): (int(pos), carry) for name, pos, carry in rows}
        return ([found[p.name][0] if p.name in found else p._lock(conn) for p in self.projectors],
                [found[p.name][1] if p.name in found else None for p in self.projectors])

    def _round(self, until: int) -> int:
        """One transaction: applies the next batch to every projection of the group; returns the position they
        all reached (at least `until` when there is nothing more to do)."""
        hint = self._hint
        ahead = self._read(hint) if hint is not None and hint < until else None
        with self.write_lock, self.engine.begin() as conn:
            positions, carries = self._lock(conn)
            start = min(positions)
            if start >= until:
                self._hint = start
                return start
            if ahead and hint is not None and hint <= start and ahead[-1][0].id > start:
                events = [(n, e) for n, e in ahead if n.id > start]  # read ahead from at or before the rows
                self.stats["read_ahead_used"] += 1
            else:
                events = self._read(start)
            if not events:
                self._hint = start
                return max(start, until)  # nothing (yet) to read up to `until`: as before, do not spin
            last = self._apply(conn, positions, carries, events)
        self._hint = last
        return last

    def _apply(self, conn: Connection, positions: list[int], carries: list[str | None],
               events: list[tuple[Notification, Any]]) -> int:
        """Applies `events` to every projection not yet past them, moves the tracking rows and, on PostgreSQL,
        commits: the transaction's last statement. Returns the position reached."""
        last = events[-1][0].id
        moved: list[str] = []
        carried: list[str | None] = []
        script = Script(conn) if conn.dialect.name == "postgresql" else None
        for projector, position, carry in zip(self.projectors, positions, carries, strict=True):
            if position >= last:
                continue
            batch = Batch(conn, script, self.stats)
            projector.projection.begin(batch, position, carry)
            for n, event in events:
                if n.id > position and isinstance(event, DomainEvent):
                    projector.projection.handle(batch, event, n)
            batch.flush()
            carried.append(projector.projection.end(batch, last))
            moved.append(projector.name)
        if script is not None:  # the round's writes and the move in one round trip
            script.add(MOVE_SCRIPT, [last, moved, carried])
            script.run(commit=True)  # the last statement of the transaction: the block's commit is a no-op
            self.stats["script_sends"] += script.sends
            self.stats["script_statements"] += script.statements
        else:  # rows this transaction already holds; on the driver's connection (Batch on SQLite does the same)
            driver.run_many(conn, MOVE_SQLITE, [(last, c, n) for n, c in zip(moved, carried, strict=True)])
        return last

    def append(self, stored: Sequence[StoredEvent], events: Sequence[Any], marks: frozenset[int] = frozenset()
               ) -> tuple[list[int], int]:
        """Inserts `stored` and projects it, with any events other writers committed before it that are not yet
        projected, in the same transaction (decision 0030; on SQLite, decision 0035). Returns the events'
        notification ids and the position the group reached. The insert's table lock is held to the commit, so no
        one can commit events in between, and the events are projected from memory rather than read back.

        Given `marks`, the directory's change mark is confirmed under the lock to be each of them before anything
        is projected, else the transaction rolls back and DirectoryMoved is raised (decision 0033). Projections of
        the directory hold the read model's tracking row, which this transaction holds, so the mark cannot move
        before the commit."""
        return retry_on_disconnect(lambda: self._append(stored, events, marks))

    def _insert_and_lock(self, conn: Connection, stored: Sequence[StoredEvent]
                         ) -> tuple[list[int], list[int], list[str | None], int]:
        """The events inserted under the events table's lock, then the tracking rows locked: on PostgreSQL one call
        of `socialgov_append` (migration 0010; decision 0032); on SQLite, whose first write locks the whole
        database, the insert and then the group's lock statement. Returns the ids, in the order given, the rows'
        positions and carries in projector order, and the position of the directory's change mark (0 if it has
        never moved)."""
        names = self.names if self.mark is None else [*self.names, self.mark]
        if self.insert is not None:
            ids = self.insert(conn, stored)
            tracking = self._lock_rows(conn, names)
        else:
            params = ([e.originator_id for e in stored], [e.originator_version for e in stored],
                      [e.topic for e in stored], [e.state for e in stored], names)
            try:
                rows = conn.exec_driver_sql(APPEND, params).all()
            except SAIntegrityError as e:
                raise IntegrityError(e.orig) from e
            ids = sorted(int(r[0]) for r in rows if r[0] is not None)
            tracking = [tuple(r[1:]) for r in rows if r[1] is not None]
        positions, carries = self._in_order(conn, (r for r in tracking if r[0] != self.mark))
        mark = next((int(r[1]) for r in tracking if r[0] == self.mark), 0)
        return ids, positions, carries, mark

    def _append(self, stored: Sequence[StoredEvent], events: Sequence[Any], marks: frozenset[int]
                ) -> tuple[list[int], int]:
        with self.write_lock, self.engine.begin() as conn:
            ids, positions, carries, mark = self._insert_and_lock(conn, stored)
            if self.mark is not None and self.on_mark is not None:
                self.on_mark(mark)  # a committed position, read under the lock: the process may go by it
            start = min(positions)
            # Events other writers committed before this insert took the lock and no projection has applied yet
            # (ids are not dense: a rolled-back insert leaves a hole). Nothing after them can be visible.
            earlier = self._read(start) if start < ids[0] - 1 else []
            # Those may change the directory before this batch: a principal is confirmed only with none waiting.
            if marks and (earlier or marks != {mark}):
                raise DirectoryMoved(None if earlier else mark)
            if len(earlier) >= self.projectors[0].batch_size:  # a long backlog: commit, leave it to catch-up rounds
                self.stats["append_backlog"] += 1
                return ids, start
            mine = [(Notification(id=i, originator_id=s.originator_id, originator_version=s.originator_version,
                                  topic=s.topic, state=s.state), e)
                    for i, s, e in zip(ids, stored, events, strict=True)]
            last = self._apply(conn, positions, carries, earlier + mine)
            self.stats["appended"] += 1
        self._hint = last
        return ids, last
