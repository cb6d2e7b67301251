"""The audit side of the log: a searchable copy of every event (who, when, why, what it touched), and the
append-only hash chain over the whole event log."""

from __future__ import annotations

from dataclasses import fields
from datetime import date, datetime
from enum import Enum
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification
from sqlalchemy import bindparam, select

from domain.chain import GENESIS, chain_link
from domain.events import Actor, DomainEvent
from services import readmodel as rm
from services.projections.batch import Batch

HEADER = {"originator_id", "originator_version", "occurred_at", "actor", "trust_id", "school_id", "reason"}


_SCALARS = (str, int, float, bool, type(None))


def _plain(value: Any) -> Any:
    if type(value) in _SCALARS:  # most fields: nothing to convert
        return value
    if isinstance(value, (UUID, date, datetime)):
        return value.isoformat() if not isinstance(value, UUID) else str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def actor_dict(actor: Actor) -> dict[str, Any]:
    return {
        "kind": actor.kind.value,
        "id": str(actor.id) if actor.id else None,
        "display_name": actor.display_name,
        "role": actor.role,
        "auth_method": actor.auth_method,
        "request_id": actor.request_id,
    }


_DATA_FIELDS: dict[type[DomainEvent], tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {}


def _data_fields(event_type: type[DomainEvent]) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """An event type's own fields (not the header every event has), and among them those that may name one
    entity (`*_id`, `*_to`, `*_by`) or several (`*_ids`); computed once per type."""
    found = _DATA_FIELDS.get(event_type)
    if found is None:
        names = tuple(f.name for f in fields(event_type) if f.name not in HEADER)
        found = _DATA_FIELDS[event_type] = (names, tuple(n for n in names if n.endswith(("_id", "_to", "_by"))),
                                            tuple(n for n in names if n.endswith("_ids")))
    return found


def related_ids(event: DomainEvent) -> set[UUID]:
    """The entities an event touches: its aggregate and every id it names (but not its tenant)."""
    ids = {event.originator_id}
    _, one, many = _data_fields(type(event))
    for name in one:
        value = getattr(event, name)
        if isinstance(value, UUID):
            ids.add(value)
    for name in many:
        value = getattr(event, name)
        if isinstance(value, list):
            ids.update(v for v in value if isinstance(v, UUID))
    return ids


def record(b: Batch, event: DomainEvent, position: int) -> None:
    data = {name: _plain(getattr(event, name)) for name in _data_fields(type(event))[0]}
    b.append(
        rm.audit_events,
        position=position,
        originator_id=event.originator_id,
        originator_version=event.originator_version,
        event_type=type(event).__name__,
        trust_id=event.trust_id,
        school_id=event.school_id,
        occurred_at=event.occurred_at,
        actor=actor_dict(event.actor),
        reason=event.reason,
        data=data,
    )
    for entity_id in sorted(related_ids(event)):
        b.append(rm.audit_entities, entity_id=entity_id, position=position)


LINK_AT = select(rm.audit_chain.c.link).where(rm.audit_chain.c.position == bindparam("position"))


class ChainProjection:
    """Appends one link per event. Never rebuilt: a rebuild would launder a tampered event into a fresh chain."""

    name = "audit_chain"
    rebuildable = False

    def __init__(self) -> None:
        self._prev = GENESIS

    def begin(self, b: Batch, position: int) -> None:
        """The link at the chain's position (the last event it linked), read in the transaction that holds the
        chain's tracking row."""
        last = b.execute(LINK_AT, {"position": position}).scalar() if position else None
        self._prev = last or GENESIS

    def end(self, b: Batch, last: int) -> None:
        pass

    def handle(self, b: Batch, event: DomainEvent, notification: Notification) -> None:
        link = chain_link(
            self._prev,
            notification.id,
            str(notification.originator_id),
            notification.originator_version,
            notification.topic,
            bytes(notification.state),
        )
        b.append(rm.audit_chain, position=notification.id, link=link)
        self._prev = link
