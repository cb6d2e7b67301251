"""Reads of posts: an account's post history, one post, the leaders' approval queue, open take-down requests,
and the dashboard's post figures."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Engine, and_, func, select

from domain.errors import InvalidInput
from domain.post import PostStatus
from services import readmodel as rm
from services.authorisation import Action, Principal, can
from services.eventstore import NotFound

Row = dict[str, Any]
POST_STATUSES = tuple(s.value for s in PostStatus)
#: Counted per school and summed for the trust (with the oldest awaiting approval's age, a maximum).
POST_FIGURES = ("posts_awaiting_approval", "posts_published_overriding_advice", "posts_removed",
                "open_takedown_requests")


def account_for_posts(engine: Engine, principal: Principal, account_id: UUID) -> Row:
    """The account if the caller may see its posts (its runners; the school's leaders, moderators; the trust team),
    else NotFound (another school's account is never disclosed)."""
    a, r = rm.accounts, rm.account_runners
    with rm.read_as(engine, principal) as conn:
        row = conn.execute(select(a.c.id, a.c.school_id, a.c.handle, a.c.platform, a.c.status)
                           .where(a.c.id == account_id)).mappings().first()
        if row is None or row["school_id"] not in principal.visible_school_ids:
            raise NotFound("account")
        runner = conn.execute(select(r.c.person_id).where(r.c.account_id == account_id,
                                                          r.c.person_id == principal.id)).first() is not None
    if not (runner or can(principal, Action.POST_READ, row["school_id"])):
        raise NotFound("account")
    return {**dict(row), "is_runner": runner}


def _post(row: Any, now: datetime) -> Row:
    out = {k: v for k, v in dict(row).items() if k != "trust_id"}
    submitted = out.get("submitted_at")
    out["awaiting_hours"] = (round((now - submitted).total_seconds() / 3600, 1)
                             if submitted is not None and out["status"] == PostStatus.AWAITING_APPROVAL.value else None)
    return out


def list_posts(engine: Engine, principal: Principal, account_id: UUID, now: datetime,
               status: str | None = None) -> list[Row]:
    if status is not None and status not in POST_STATUSES:
        raise InvalidInput.one("status", "must be one of " + ", ".join(POST_STATUSES))
    account = account_for_posts(engine, principal, account_id)
    p, a = rm.posts, rm.accounts
    where = [p.c.account_id == account_id]
    if status is not None:
        where.append(p.c.status == status)
    with rm.read_as(engine, principal) as conn:
        rows = conn.execute(select(p, a.c.handle, a.c.platform).join(a, a.c.id == p.c.account_id).where(*where)
                            .order_by(p.c.created_at.desc(), p.c.id)).mappings().all()
    assert account["id"] == account_id
    return [_post(x, now) for x in rows]


def get_post(engine: Engine, principal: Principal, post_id: UUID, now: datetime) -> Row:
    p, a, t = rm.posts, rm.accounts, rm.post_takedowns
    with rm.read_as(engine, principal) as conn:
        row = conn.execute(select(p, a.c.handle, a.c.platform).join(a, a.c.id == p.c.account_id)
                           .where(p.c.id == post_id)).mappings().first()
        if row is None:
            raise NotFound("post")
        takedowns = conn.execute(select(t).where(t.c.post_id == post_id).order_by(t.c.requested_at)).mappings().all()
    try:
        account_for_posts(engine, principal, row["account_id"])
    except NotFound:
        raise NotFound("post") from None
    return {**_post(row, now), "takedown_requests": [
        {k: v for k, v in dict(x).items() if k not in ("trust_id",)} for x in takedowns]}


def approval_queue(engine: Engine, principal: Principal, now: datetime, school_id: UUID | None = None) -> list[Row]:
    """Posts awaiting approval at the schools where the caller approves posts (or names them as an approver),
    oldest first."""
    schools = [s for s in principal.visible_school_ids if can(principal, Action.POST_READ, s)
               and (school_id is None or s == school_id)]
    if school_id is not None and not schools:
        raise NotFound("school")
    p, a = rm.posts, rm.accounts
    with rm.read_as(engine, principal) as conn:
        rows = conn.execute(select(p, a.c.handle, a.c.platform).join(a, a.c.id == p.c.account_id)
                            .where(rm.in_schools(p.c.school_id, schools),
                                   p.c.status == PostStatus.AWAITING_APPROVAL.value)
                            .order_by(p.c.submitted_at, p.c.id)).mappings().all()
    out = []
    for x in rows:
        if x["school_id"] not in schools:
            continue
        post = _post(x, now)
        approvers = [UUID(i) for i in x["approver_ids"]]
        done = {UUID(d["by_id"]) for d in x["approvals"] if d.get("by_id") and d["decision"] == "approved"}
        remaining = [i for i in approvers if i not in done]
        post["next_approver_id"] = remaining[0] if remaining else None
        post["your_turn"] = (principal.id != x["author_id"]
                             and (principal.id == post["next_approver_id"] if approvers
                                  else can(principal, Action.POST_APPROVE, x["school_id"])))
        out.append(post)
    return out


def open_takedowns(engine: Engine, principal: Principal, school_id: UUID | None = None) -> list[Row]:
    """Parents' take-down requests not yet settled by removing the post: the moderators' and leaders' to act on."""
    schools = [s for s in principal.visible_school_ids if can(principal, Action.POST_REMOVE, s)
               and (school_id is None or s == school_id)]
    t, p, a = rm.post_takedowns, rm.posts, rm.accounts
    if not schools:
        return []
    with rm.read_as(engine, principal) as conn:
        rows = conn.execute(select(t, p.c.url, p.c.text, a.c.handle, a.c.platform)
                            .join(p, p.c.id == t.c.post_id).join(a, a.c.id == t.c.account_id)
                            .where(rm.in_schools(t.c.school_id, schools), t.c.status == "open")
                            .order_by(t.c.requested_at)).mappings().all()
    return [{k: v for k, v in dict(x).items() if k != "trust_id"} for x in rows if x["school_id"] in schools]


def post_figures(engine: Engine, trust_id: UUID, school_ids: list[UUID], now: datetime) -> dict[UUID, Row]:
    """Per school: posts awaiting approval and the oldest one's age in hours, posts published overriding an
    advice finding, posts removed, open take-down requests."""
    p, t = rm.posts, rm.post_takedowns
    figures: dict[UUID, Row] = defaultdict(lambda: {**dict.fromkeys(POST_FIGURES, 0),
                                                    "oldest_awaiting_approval_hours": None})
    with rm.read_figures(engine, trust_id, school_ids) as conn:
        awaiting = conn.execute(select(p.c.school_id, func.count(), func.min(p.c.submitted_at))
                                .where(p.c.trust_id == trust_id, rm.in_schools(p.c.school_id, school_ids),
                                       p.c.status == PostStatus.AWAITING_APPROVAL.value)
                                .group_by(p.c.school_id)).all()
        for school_id, n, oldest in awaiting:
            figures[school_id]["posts_awaiting_approval"] = n
            oldest = rm.UtcDateTime().process_result_value(oldest, conn.dialect)
            if oldest is not None:
                figures[school_id]["oldest_awaiting_approval_hours"] = round((now - oldest).total_seconds() / 3600, 1)
        for school_id, overridden, status in conn.execute(
                select(p.c.school_id, p.c.overridden, p.c.status)
                .where(p.c.trust_id == trust_id, rm.in_schools(p.c.school_id, school_ids),
                       p.c.status.in_([PostStatus.PUBLISHED.value, PostStatus.REMOVED.value]))):
            if overridden:
                figures[school_id]["posts_published_overriding_advice"] += 1
            if status == PostStatus.REMOVED.value:
                figures[school_id]["posts_removed"] += 1
        for school_id, n in conn.execute(select(t.c.school_id, func.count())
                                         .where(and_(t.c.trust_id == trust_id, rm.in_schools(t.c.school_id, school_ids),
                                                     t.c.status == "open")).group_by(t.c.school_id)):
            figures[school_id]["open_takedown_requests"] = n
    return figures


def accounts_run_by(engine: Engine, principal: Principal, school_id: UUID) -> list[Row]:
    """The open accounts at the school that the caller runs (where they write posts)."""
    a, r = rm.accounts, rm.account_runners
    if school_id not in principal.visible_school_ids:
        return []
    with rm.read_as(engine, principal) as conn:
        rows = conn.execute(select(a.c.id, a.c.platform, a.c.handle, a.c.status).join(r, r.c.account_id == a.c.id)
                            .where(r.c.person_id == principal.id, a.c.school_id == school_id,
                                   a.c.status != "closed").order_by(a.c.platform, a.c.handle)).mappings().all()
    return [dict(x) for x in rows]
