"""The read-model projection: one tracked projection over every context's handlers."""

from __future__ import annotations

from eventsourcing.persistence import Notification
from sqlalchemy import insert, update

from domain.events import DomainEvent
from services import readmodel as rm
from services.projections import accounts, audit, directory, inbox, incidents, register
from services.projections.batch import Batch
from services.projections.directory import Handler

HANDLERS: dict[type[DomainEvent], Handler] = {
    **directory.HANDLERS,
    **accounts.HANDLERS,
    **incidents.HANDLERS,
    **inbox.HANDLERS,
    **register.HANDLERS,
}


class ReadModelProjection:
    name = rm.READ_MODEL
    rebuildable = True

    def begin(self, b: Batch, position: int, carry: str | None = None) -> None:
        pass

    def handle(self, b: Batch, event: DomainEvent, notification: Notification) -> None:
        handler = HANDLERS.get(type(event))
        if handler is not None:
            handler(b, event)
        audit.record(b, event, notification.id)

    def end(self, b: Batch, last: int) -> str | None:
        """After the batch is written: if it changed what principals (PrincipalCache) or coverage figures
        (COVERAGE) are made of, say so by moving their tracking rows."""
        t = rm.projection_tracking
        for mark, tables in rm.CHANGE_MARKS.items():
            if b.touched & tables:
                b.sync()  # the batch's rows first: the mark moves in their transaction, and after them
                moved = b.conn.execute(update(t).where(t.c.name == mark).values(position=last))
                if moved.rowcount == 0:
                    b.conn.execute(insert(t).values(name=mark, position=last))
        return None
