"""Interactions, mentions and mention feeds."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from domain import interaction as ia
from domain import mention as me
from domain import school as sc
from domain.events import DomainEvent
from services import readmodel as rm
from services.projections.directory import Handler


def _touch(conn: Connection, e: DomainEvent, **values: Any) -> None:
    conn.execute(update(rm.interactions).where(rm.interactions.c.id == e.originator_id)
                 .values(version=e.originator_version, **values))


def _received(conn: Connection, e: ia.InteractionReceived) -> None:
    conn.execute(insert(rm.interactions).values(
        id=e.originator_id, trust_id=e.trust_id, school_id=e.school_id, account_id=e.account_id, kind=e.kind,
        received_at=e.received_at, due_at=e.due_at, author_handle=e.author_handle, excerpt=e.excerpt, link=e.link,
        assignee_id=None, first_response_at=None, status=ia.InteractionStatus.OPEN.value, incident_id=None,
        reminded=False, breached=False, version=e.originator_version))


def _first_response(conn: Connection, e: Any) -> None:
    current = conn.execute(select(rm.interactions.c.first_response_at)
                           .where(rm.interactions.c.id == e.originator_id)).scalar()
    _touch(conn, e, first_response_at=current or e.occurred_at)


def _assigned(conn: Connection, e: ia.InteractionAssigned) -> None:
    _touch(conn, e, assignee_id=e.assignee_id)


def _escalated(conn: Connection, e: ia.InteractionEscalated) -> None:
    _touch(conn, e, incident_id=e.incident_id)


def _closed(conn: Connection, e: ia.InteractionClosed) -> None:
    _touch(conn, e, status=ia.InteractionStatus.CLOSED.value)


def _reminded(conn: Connection, e: ia.ResponseDueSoonReminded) -> None:
    _touch(conn, e, reminded=True)


def _breached(conn: Connection, e: ia.ResponseDeadlineMissed) -> None:
    _touch(conn, e, breached=True)


def _captured(conn: Connection, e: me.MentionCaptured) -> None:
    conn.execute(insert(rm.mentions).values(
        id=e.originator_id, trust_id=e.trust_id, school_id=e.school_id, source=e.source, title=e.title,
        summary=e.summary, link=e.link, author=e.author, published_at=e.published_at, captured_at=e.occurred_at,
        decision=None, incident_id=None, triaged_at=None))


def _triaged(conn: Connection, e: me.MentionTriaged) -> None:
    conn.execute(update(rm.mentions).where(rm.mentions.c.id == e.originator_id).values(
        decision=e.decision, incident_id=e.incident_id, triaged_at=e.occurred_at))


def _feed(conn: Connection, e: sc.MentionFeedRegistered) -> None:
    conn.execute(insert(rm.feeds).values(id=e.feed_id, trust_id=e.trust_id, school_id=e.originator_id, url=e.url,
                                         title=e.title))


def _feed_removed(conn: Connection, e: sc.MentionFeedRemoved) -> None:
    conn.execute(delete(rm.feeds).where(rm.feeds.c.id == e.feed_id))


HANDLERS: dict[type[DomainEvent], Handler] = {
    ia.InteractionReceived: _received,
    ia.InteractionAssigned: _assigned,
    ia.InteractionAcknowledged: _first_response,
    ia.InteractionResponded: _first_response,
    ia.InteractionEscalated: _escalated,
    ia.InteractionClosed: _closed,
    ia.ResponseDueSoonReminded: _reminded,
    ia.ResponseDeadlineMissed: _breached,
    me.MentionCaptured: _captured,
    me.MentionTriaged: _triaged,
    sc.MentionFeedRegistered: _feed,
    sc.MentionFeedRemoved: _feed_removed,
}
