"""The read-model projection: one tracked projection over every context's handlers."""

from __future__ import annotations

from eventsourcing.persistence import Notification

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

    def begin(self, b: Batch) -> None:
        pass

    def handle(self, b: Batch, event: DomainEvent, notification: Notification) -> None:
        handler = HANDLERS.get(type(event))
        if handler is not None:
            handler(b, event)
        audit.record(b, event, notification.id)
