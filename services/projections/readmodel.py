"""The read-model projection: one tracked projection over every context's handlers."""

from __future__ import annotations

from sqlalchemy import Connection

from domain.events import DomainEvent
from services.projections import accounts, directory
from services.projections.directory import Handler

HANDLERS: dict[type[DomainEvent], Handler] = {**directory.HANDLERS, **accounts.HANDLERS}


class ReadModelProjection:
    name = "directory"  # the tracking row's name, kept from the first release

    def handle(self, conn: Connection, event: DomainEvent) -> None:
        handler = HANDLERS.get(type(event))
        if handler is not None:
            handler(conn, event)
