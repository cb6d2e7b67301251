"""Posts and parents' take-down requests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from domain import post as po
from domain.events import DomainEvent
from domain.post_checks import Severity
from services import readmodel as rm
from services.projections.batch import Batch, person_name
from services.projections.directory import Handler

ORDER = [Severity.BLOCKS.value, Severity.NEEDS_LEADER.value, Severity.ADVICE.value]


def _touch(b: Batch, e: DomainEvent, **values: Any) -> None:
    b.update(rm.posts, e.originator_id, version=e.originator_version, updated_at=e.occurred_at, **values)


def _current(b: Batch, e: DomainEvent, column: str) -> Any:
    queued = b.row(rm.posts, e.originator_id)
    if queued is not None and column in queued:
        return queued[column]
    return b.execute(select(rm.posts.c[column]).where(rm.posts.c.id == e.originator_id)).scalar()


def _by(e: DomainEvent) -> dict[str, Any]:
    return {"by": e.actor.display_name, "by_id": str(e.actor.id) if e.actor.id else None, "role": e.actor.role,
            "at": e.occurred_at.isoformat()}


def _drafted(b: Batch, e: po.PostDrafted) -> None:
    b.insert(rm.posts, id=e.originator_id, trust_id=e.trust_id, school_id=e.school_id, account_id=e.account_id,
             author_id=e.author_id, author_name=person_name(b, e.author_id, e.actor), text=e.content["text"],
             content=e.content, revision=1, status=po.PostStatus.DRAFT.value, findings=[], worst=None,
             approval_because=[], approver_ids=[], approvals=[], submitted_at=None, returned_reason=None, url=None,
             published_at=None, published_by=None, overridden=[], override_reason=None, removed_at=None,
             removed_by=None, removal_reason=None, told_audience=None, open_takedowns=0, created_at=e.occurred_at,
             updated_at=e.occurred_at, version=e.originator_version)


def _revised(b: Batch, e: po.PostRevised) -> None:
    _touch(b, e, text=e.content["text"], content=e.content, revision=(_current(b, e, "revision") or 0) + 1,
           status=po.PostStatus.DRAFT.value, approver_ids=[], approval_because=[], submitted_at=None)


def _checked(b: Batch, e: po.PostChecked) -> None:
    present = {f["severity"] for f in e.findings}
    _touch(b, e, findings=e.findings, worst=next((s for s in ORDER if s in present), None))


def _submitted(b: Batch, e: po.PostSubmitted) -> None:
    _touch(b, e, status=po.PostStatus.AWAITING_APPROVAL.value, approver_ids=[str(a) for a in e.approver_ids],
           approval_because=e.because, submitted_at=e.occurred_at, returned_reason=None)


def _approved(b: Batch, e: po.PostApproved) -> None:
    approvals = [*(_current(b, e, "approvals") or []), {"decision": "approved", "reason": e.reason, **_by(e)}]
    values: dict[str, Any] = {"approvals": approvals}
    if e.complete:
        values["status"] = po.PostStatus.APPROVED.value
    _touch(b, e, **values)


def _returned(b: Batch, e: po.PostReturned) -> None:
    approvals = [*(_current(b, e, "approvals") or []), {"decision": "returned", "reason": e.reason, **_by(e)}]
    _touch(b, e, status=po.PostStatus.RETURNED.value, approvals=approvals, returned_reason=e.reason)


def _published(b: Batch, e: po.PostPublished) -> None:
    _touch(b, e, status=po.PostStatus.PUBLISHED.value, url=e.url, published_at=e.published_at,
           published_by=person_name(b, e.published_by, e.actor), overridden=e.overridden, override_reason=e.reason)


def _removed(b: Batch, e: po.PostRemoved) -> None:
    _touch(b, e, status=po.PostStatus.REMOVED.value, removed_at=e.occurred_at, removed_by=e.actor.display_name,
           removal_reason=e.reason, told_audience=e.told_audience, open_takedowns=0)
    t = rm.post_takedowns
    for request_id in b.execute(select(t.c.id).where(t.c.post_id == e.originator_id, t.c.status == "open")).scalars():
        b.update(t, request_id, status="closed")


def _takedown(b: Batch, e: po.TakedownRequested) -> None:
    account_id = _current(b, e, "account_id")
    b.insert(rm.post_takedowns, id=e.request_id, post_id=e.originator_id, trust_id=e.trust_id, school_id=e.school_id,
             account_id=account_id, parent_name=e.parent_name, contact=e.contact, concern=e.concern,
             requested_at=e.occurred_at, recorded_by=e.actor.display_name, status="open")
    _touch(b, e, open_takedowns=(_current(b, e, "open_takedowns") or 0) + 1)


HANDLERS: dict[type[DomainEvent], Handler] = {
    po.PostDrafted: _drafted,
    po.PostRevised: _revised,
    po.PostChecked: _checked,
    po.PostSubmitted: _submitted,
    po.PostApproved: _approved,
    po.PostReturned: _returned,
    po.PostPublished: _published,
    po.PostRemoved: _removed,
    po.TakedownRequested: _takedown,
}
