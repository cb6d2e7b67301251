"""Runs projections: reads the shared notification log and applies events in one transaction per batch, which
also moves the projection's tracking position. The tracking row is locked for the batch, so concurrent
catch-ups (several web workers, a CLI rebuild) serialise and each event is applied exactly once.
Works the same on SQLite and PostgreSQL (docs/decisions/0003-projection-runner.md)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, Mapper, Notification
from sqlalchemy import Connection, Engine, delete, insert, select, update

from domain.events import DomainEvent
from services.projections.batch import Batch
from services.readmodel import PROJECTED_TABLES, projection_tracking


class Projection(Protocol):
    name: str

    def begin(self, b: Batch) -> None:
        """Called at the start of each batch transaction (a projection may load state it carries along)."""
        ...

    def handle(self, b: Batch, event: DomainEvent, notification: Notification) -> None: ...


Progress = Callable[[int, int], None]


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
            pos = conn.execute(
                select(projection_tracking.c.position).where(projection_tracking.c.name == self.name)
            ).scalar()
        return int(pos or 0)

    def _relax_durability(self, conn: Connection) -> None:
        """Projection commits need not wait for the disk on PostgreSQL: the events are durable, and a lost tail of
        projection work is re-applied from the log at the next catch-up (position and rows commit together)."""
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")

    def _lock(self, conn: Connection) -> int:
        """Takes the tracking row's write lock (creating the row once) and returns the position under it."""
        result = conn.execute(
            update(projection_tracking)
            .where(projection_tracking.c.name == self.name)
            .values(position=projection_tracking.c.position)
        )
        if result.rowcount == 0:
            conn.execute(insert(projection_tracking).values(name=self.name, position=0))
        pos = conn.execute(
            select(projection_tracking.c.position).where(projection_tracking.c.name == self.name)
        ).scalar_one()
        return int(pos)

    def _apply_batch(self, conn: Connection, position: int) -> int:
        """Applies the next batch after `position` on `conn`, moves tracking; returns the new position."""
        notifications = self.recorder.select_notifications(position + 1, self.batch_size)
        if not notifications:
            return position
        batch = Batch(conn)
        self.projection.begin(batch)
        for n in notifications:
            event = self.mapper.to_domain_event(n)
            if isinstance(event, DomainEvent):
                self.projection.handle(batch, event, n)
        batch.flush()
        last = notifications[-1].id
        conn.execute(update(projection_tracking).where(projection_tracking.c.name == self.name).values(position=last))
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
                self._relax_durability(conn)
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


class ProjectorGroup:
    """Several projections over the same log caught up in one transaction: the read-your-writes path of every
    command (read model and audit chain) reads the new notifications once and commits once."""

    def __init__(self, projectors: list[Projector]) -> None:
        self.projectors = projectors
        first = projectors[0]
        self.engine, self.recorder, self.mapper = first.engine, first.recorder, first.mapper
        self.write_lock: AbstractContextManager[Any] = nullcontext()

    def catch_up(self, until: int) -> None:
        while True:
            with self.write_lock, self.engine.begin() as conn:
                self.projectors[0]._relax_durability(conn)
                positions = [p._lock(conn) for p in self.projectors]  # always in the same order: no deadlock
                start = min(positions)
                if start >= until:
                    return
                notifications = self.recorder.select_notifications(start + 1, self.projectors[0].batch_size)
                if not notifications:
                    return
                events = [(n, self.mapper.to_domain_event(n)) for n in notifications]
                last = notifications[-1].id
                for projector, position in zip(self.projectors, positions, strict=True):
                    if position >= last:
                        continue
                    batch = Batch(conn)
                    projector.projection.begin(batch)
                    for n, event in events:
                        if n.id > position and isinstance(event, DomainEvent):
                            projector.projection.handle(batch, event, n)
                    batch.flush()
                    conn.execute(update(projection_tracking).where(projection_tracking.c.name == projector.name)
                                 .values(position=last))
            if last >= until:
                return
