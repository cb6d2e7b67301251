"""Interactions, mentions and mention feeds."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from domain import interaction as ia
from domain import mention as me
from domain import school as sc
from domain.events import DomainEvent
from services import readmodel as rm
from services.projections.batch import Batch
from services.projections.directory import Handler


def _touch(b: Batch, e: DomainEvent, **values: Any) -> None:
    b.update(rm.interactions, e.originator_id, version=e.originator_version, **values)


def _received(b: Batch, e: ia.InteractionReceived) -> None:
    b.insert(
        rm.interactions,
        id=e.originator_id,
        trust_id=e.trust_id,
        school_id=e.school_id,
        account_id=e.account_id,
        kind=e.kind,
        received_at=e.received_at,
        due_at=e.due_at,
        author_handle=e.author_handle,
        excerpt=e.excerpt,
        link=e.link,
        assignee_id=None,
        first_response_at=None,
        status=ia.InteractionStatus.OPEN.value,
        incident_id=None,
        reminded=False,
        breached=False,
        version=e.originator_version,
    )


def _first_response(b: Batch, e: Any) -> None:
    current = b.execute(
        select(rm.interactions.c.first_response_at).where(rm.interactions.c.id == e.originator_id)
    ).scalar()
    _touch(b, e, first_response_at=current or e.occurred_at)


def _assigned(b: Batch, e: ia.InteractionAssigned) -> None:
    _touch(b, e, assignee_id=e.assignee_id)


def _escalated(b: Batch, e: ia.InteractionEscalated) -> None:
    _touch(b, e, incident_id=e.incident_id)


def _closed(b: Batch, e: ia.InteractionClosed) -> None:
    _touch(b, e, status=ia.InteractionStatus.CLOSED.value)


def _reminded(b: Batch, e: ia.ResponseDueSoonReminded) -> None:
    _touch(b, e, reminded=True)


def _breached(b: Batch, e: ia.ResponseDeadlineMissed) -> None:
    _touch(b, e, breached=True)


def _captured(b: Batch, e: me.MentionCaptured) -> None:
    b.insert(
        rm.mentions,
        id=e.originator_id,
        trust_id=e.trust_id,
        school_id=e.school_id,
        source=e.source,
        title=e.title,
        summary=e.summary,
        link=e.link,
        author=e.author,
        published_at=e.published_at,
        captured_at=e.occurred_at,
        decision=None,
        incident_id=None,
        triaged_at=None,
    )


def _triaged(b: Batch, e: me.MentionTriaged) -> None:
    b.update(rm.mentions, e.originator_id, decision=e.decision, incident_id=e.incident_id, triaged_at=e.occurred_at)


def _feed(b: Batch, e: sc.MentionFeedRegistered) -> None:
    b.insert(rm.feeds, id=e.feed_id, trust_id=e.trust_id, school_id=e.originator_id, url=e.url, title=e.title)


def _feed_removed(b: Batch, e: sc.MentionFeedRemoved) -> None:
    b.execute(delete(rm.feeds).where(rm.feeds.c.id == e.feed_id))


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
