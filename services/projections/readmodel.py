"""The read-model projection: one tracked projection over every context's handlers."""

from __future__ import annotations

import functools
from typing import Any

from eventsourcing.persistence import Notification
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from domain.events import DomainEvent
from services import readmodel as rm
from services.projections import accounts, audit, directory, inbox, incidents, posts, register
from services.projections.batch import Batch
from services.projections.directory import Handler

HANDLERS: dict[type[DomainEvent], Handler] = {
    **directory.HANDLERS,
    **accounts.HANDLERS,
    **incidents.HANDLERS,
    **inbox.HANDLERS,
    **register.HANDLERS,
    **posts.HANDLERS,
}


@functools.cache
def _set_position(dialect: str) -> Any:
    """INSERT a tracking row, or set the position of the one already there (built once)."""
    t = rm.projection_tracking
    statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(t)
    return statement.on_conflict_do_update(index_elements=[t.c.name], set_={"position": statement.excluded.position})


class ReadModelProjection:
    name = rm.READ_MODEL
    rebuildable = True

    def begin(self, b: Batch, position: int) -> None:
        pass

    def handle(self, b: Batch, event: DomainEvent, notification: Notification) -> None:
        handler = HANDLERS.get(type(event))
        if handler is not None:
            handler(b, event)
        audit.record(b, event, notification.id)

    def end(self, b: Batch, last: int) -> None:
        """After the batch is written: if it changed what principals (PrincipalCache) or cached figures (COVERAGE,
        FIGURES) are made of, say so by moving their change marks, in the same transaction."""
        moved = [{"name": mark, "position": last} for mark, tables in rm.CHANGE_MARKS.items() if b.touched & tables]
        if moved:
            b.then(_set_position(b.conn.dialect.name), moved)
