"""A post on a school account: drafted and checked here, approved by a leader where it needs one, then recorded
as published (SocialGov never posts to the platforms itself), and removed with a reason told to the audience.
Parents' take-down requests are recorded against a published post (docs/decisions/0080-post-lifecycle.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from domain.errors import FieldError, InvalidInput, InvalidTransition, RuleRefused
from domain.events import Actor, Aggregate, DomainEvent
from domain.post_checks import Draft, Finding, Media, PostingRules, Severity, SharedMaterial

MAX_TEXT = 5000
MAX_REASON = 2000


class PostStatus(StrEnum):
    DRAFT = "draft"
    AWAITING_APPROVAL = "awaiting_approval"
    RETURNED = "returned"
    APPROVED = "approved"
    PUBLISHED = "published"
    REMOVED = "removed"


def draft_errors(draft: Draft) -> list[FieldError]:
    """Every invalid field of a draft at once."""
    errors = []
    if not draft.text.strip():
        errors.append(FieldError("text", "enter the text of the post"))
    elif len(draft.text) > MAX_TEXT:
        errors.append(FieldError("text", f"must be at most {MAX_TEXT} characters"))
    if len(draft.media) > 20:
        errors.append(FieldError("media", "at most 20 items"))
    for i, m in enumerate(draft.media):
        if not m.description.strip() or len(m.description) > 500:
            errors.append(FieldError(f"media[{i}].description", "describe the photo or video (1-500 characters)"))
        for j, ref in enumerate(m.tagged_pupil_refs):
            if not ref.strip() or len(ref) > 50:
                errors.append(FieldError(f"media[{i}].tagged_pupil_refs[{j}]", "must be a pupil reference"))
    for i, link in enumerate(draft.links):
        if not link.strip() or len(link) > 2000 or " " in link.strip():
            errors.append(FieldError(f"links[{i}]", "must be a web address"))
    for i, s in enumerate(draft.shared):
        if not s.description.strip() or len(s.description) > 500:
            errors.append(FieldError(f"shared[{i}].description", "describe the shared material (1-500 characters)"))
    return errors


def _draft_fields(draft: Draft) -> dict[str, Any]:
    return {"text": draft.text, "controversial": draft.controversial,
            "media": [{"description": m.description, "has_people": m.has_people,
                       "tagged_pupil_refs": list(m.tagged_pupil_refs)} for m in draft.media],
            "links": list(draft.links),
            "shared": [{"description": s.description, "source": s.source, "permission": s.permission}
                       for s in draft.shared]}


def draft_from(data: dict[str, Any]) -> Draft:
    return Draft(text=data["text"], controversial=bool(data["controversial"]),
                 media=tuple(Media(m["description"], bool(m["has_people"]), tuple(m["tagged_pupil_refs"]))
                             for m in data["media"]),
                 links=tuple(data["links"]),
                 shared=tuple(SharedMaterial(s["description"], s["source"], s["permission"]) for s in data["shared"]))


@dataclass(frozen=True, kw_only=True)
class PostDrafted(DomainEvent):
    account_id: UUID
    author_id: UUID
    content: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class PostRevised(DomainEvent):
    content: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class PostChecked(DomainEvent):
    revision: int
    findings: list[dict[str, Any]]


@dataclass(frozen=True, kw_only=True)
class PostSubmitted(DomainEvent):
    """Sent for approval: by the listed approvers in order, or (empty) by any leader of the school but the author."""

    approver_ids: list[UUID]
    because: list[str]


@dataclass(frozen=True, kw_only=True)
class PostApproved(DomainEvent):
    approver_id: UUID
    complete: bool


@dataclass(frozen=True, kw_only=True)
class PostReturned(DomainEvent):
    returned_by: UUID


@dataclass(frozen=True, kw_only=True)
class PostPublished(DomainEvent):
    url: str
    published_by: UUID
    published_at: datetime
    overridden: list[str]


@dataclass(frozen=True, kw_only=True)
class PostRemoved(DomainEvent):
    removed_by: UUID
    told_audience: str | None


@dataclass(frozen=True, kw_only=True)
class TakedownRequested(DomainEvent):
    request_id: UUID
    parent_name: str
    contact: str | None
    concern: str


def _reason(reason: str | None, field: str, what: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise InvalidInput.one(field, what)
    if len(text) > MAX_REASON:
        raise InvalidInput.one(field, f"must be at most {MAX_REASON} characters")
    return text


@dataclass(frozen=True)
class Takedown:
    request_id: UUID
    parent_name: str
    contact: str | None
    concern: str
    requested_at: datetime


class Post(Aggregate):
    def __init__(self, id: UUID) -> None:
        super().__init__(id)
        self.trust_id: UUID | None = None
        self.school_id: UUID | None = None
        self.account_id: UUID | None = None
        self.author_id: UUID | None = None
        self.draft = Draft("")
        self.revision = 0
        self.status = PostStatus.DRAFT
        self.checked_revision: int | None = None
        self.findings: list[dict[str, Any]] = []
        self.approver_ids: list[UUID] = []
        self.approved_by: list[UUID] = []
        self.url: str | None = None
        self.takedowns: list[Takedown] = []

    # ----- commands -----
    @classmethod
    def start(cls, id: UUID, trust_id: UUID, school_id: UUID, account_id: UUID, author_id: UUID, draft: Draft,
              actor: Actor, at: datetime) -> Post:
        errors = draft_errors(draft)
        if errors:
            raise InvalidInput(errors)
        post = cls(id)
        post._trigger(PostDrafted(**post.header(at, actor, trust_id, school_id), account_id=account_id,
                                  author_id=author_id, content=_draft_fields(draft)))
        return post

    def _h(self, at: datetime, actor: Actor) -> Any:
        assert self.trust_id is not None
        return self.header(at, actor, self.trust_id, self.school_id)

    def revise(self, draft: Draft, actor: Actor, at: datetime) -> None:
        """A new revision; approval already given or asked for no longer stands (the text it was for changed)."""
        if self.status in (PostStatus.PUBLISHED, PostStatus.REMOVED):
            raise InvalidTransition(f"the post is {self.status.value}: it can no longer be changed")
        errors = draft_errors(draft)
        if errors:
            raise InvalidInput(errors)
        self._trigger(PostRevised(**self._h(at, actor), content=_draft_fields(draft)))

    def record_check(self, findings: list[Finding], actor: Actor, at: datetime) -> None:
        self._trigger(PostChecked(**self._h(at, actor), revision=self.revision,
                                  findings=[f.as_dict() for f in findings]))

    def submit(self, findings: list[Finding], posting: PostingRules, actor: Actor, at: datetime) -> bool:
        """Records the checks; sends the post for approval if it needs one (True), else it is ready to publish.
        Refused while a finding blocks it."""
        if self.status not in (PostStatus.DRAFT, PostStatus.RETURNED):
            raise InvalidTransition(f"the post is {self.status.value}: only a draft can be submitted")
        self.record_check(findings, actor, at)
        blocking = [f.message for f in findings if f.severity is Severity.BLOCKS]
        if blocking:
            raise RuleRefused("the post cannot go out until these are put right", blocking)
        because = [f.message for f in findings if f.severity is Severity.NEEDS_LEADER]
        if posting.approver_ids:
            because.append("this account needs approval of every post")
        if not because:
            return False
        self._trigger(PostSubmitted(**self._h(at, actor), approver_ids=list(posting.approver_ids), because=because))
        return True

    @property
    def next_approver(self) -> UUID | None:
        """Who must approve next, where the account names its approvers in order."""
        remaining = [a for a in self.approver_ids if a not in self.approved_by]
        return remaining[0] if remaining else None

    def approve(self, approver_id: UUID, is_leader: bool, reason: str | None, actor: Actor, at: datetime) -> None:
        if self.status is not PostStatus.AWAITING_APPROVAL:
            raise InvalidTransition(f"the post is {self.status.value}: it is not awaiting approval")
        text = _reason(reason, "reason", "say why the post may go out")
        conditions = []
        if approver_id == self.author_id:
            conditions.append("the author of a post cannot approve it")
        if self.approver_ids:
            if approver_id not in self.approver_ids:
                conditions.append("you are not one of this account's approvers")
            elif approver_id != self.next_approver:
                conditions.append("the account's approvers approve in order: it is another approver's turn")
        elif not is_leader:
            conditions.append("only a leader of the school approves posts")
        if conditions:
            raise RuleRefused("you cannot approve this post", conditions)
        complete = not self.approver_ids or [a for a in self.approver_ids
                                             if a not in self.approved_by and a != approver_id] == []
        self._trigger(PostApproved(**self._h(at, actor), approver_id=approver_id, complete=complete, reason=text))

    def return_to_author(self, by: UUID, reason: str | None, actor: Actor, at: datetime) -> None:
        if self.status is not PostStatus.AWAITING_APPROVAL:
            raise InvalidTransition(f"the post is {self.status.value}: it is not awaiting approval")
        if by == self.author_id:
            raise RuleRefused("you cannot return this post", ["the author of a post cannot decide on it"])
        text = _reason(reason, "reason", "say what the author should change")
        self._trigger(PostReturned(**self._h(at, actor), returned_by=by, reason=text))

    def publish(self, url: str, by: UUID, published_at: datetime, findings: list[Finding],
                posting: PostingRules, reason: str | None, actor: Actor, at: datetime) -> None:
        """Records that the runner published it, with the post's URL. The checks run again on what is published:
        a blocking finding refuses; one needing a leader refuses unless a leader approved; advice the runner
        overrides needs a reason."""
        if self.status not in (PostStatus.DRAFT, PostStatus.RETURNED, PostStatus.APPROVED):
            raise InvalidTransition(f"the post is {self.status.value}: it cannot be published")
        errors = []
        clean_url = url.strip()
        if not clean_url.lower().startswith(("https://", "http://")) or len(clean_url) > 2000 or " " in clean_url:
            errors.append(FieldError("url", "enter the address of the published post, starting https://"))
        if published_at > at:
            errors.append(FieldError("published_at", "cannot be in the future"))
        advice = sorted({f.code for f in findings if f.severity is Severity.ADVICE})
        text = (reason or "").strip()
        if advice and not text:
            errors.append(FieldError("reason", "say why the advice (" + ", ".join(advice) + ") does not apply"))
        if errors:
            raise InvalidInput(errors)
        conditions = [f.message for f in findings if f.severity is Severity.BLOCKS]
        needs_leader = [f.message for f in findings if f.severity is Severity.NEEDS_LEADER]
        if (needs_leader or posting.approver_ids) and self.status is not PostStatus.APPROVED:
            conditions.extend(needs_leader or ["this account needs approval of every post"])
            conditions.append("a leader of the school who is not the author must approve it first")
        if conditions:
            raise RuleRefused("the post cannot be recorded as published", conditions)
        self.record_check(findings, actor, at)
        self._trigger(PostPublished(**self._h(at, actor), url=clean_url, published_by=by,
                                    published_at=published_at, overridden=advice, reason=text or None))

    def remove(self, by: UUID, reason: str | None, told_audience: str | None, actor: Actor, at: datetime) -> None:
        if self.status is not PostStatus.PUBLISHED:
            raise InvalidTransition(f"the post is {self.status.value}: only a published post can be removed")
        errors = []
        if not (reason or "").strip():
            errors.append(FieldError("reason", "say why the post was removed"))
        if not (told_audience or "").strip():
            errors.append(FieldError("told_audience", "say what the audience was told about the removal"))
        if errors:
            raise InvalidInput(errors)
        self._trigger(PostRemoved(**self._h(at, actor), removed_by=by, told_audience=(told_audience or "").strip(),
                                  reason=(reason or "").strip()))

    def request_takedown(self, request_id: UUID, parent_name: str, contact: str | None, concern: str,
                         actor: Actor, at: datetime) -> None:
        if self.status is not PostStatus.PUBLISHED:
            raise InvalidTransition(f"the post is {self.status.value}: only a published post can be taken down")
        errors = []
        if not parent_name.strip() or len(parent_name) > 200:
            errors.append(FieldError("parent_name", "enter the parent's name (1-200 characters)"))
        if contact is not None and len(contact) > 200:
            errors.append(FieldError("contact", "must be at most 200 characters"))
        if not concern.strip() or len(concern) > MAX_REASON:
            errors.append(FieldError("concern", f"say what the parent asks and why (1-{MAX_REASON} characters)"))
        if errors:
            raise InvalidInput(errors)
        self._trigger(TakedownRequested(**self._h(at, actor), request_id=request_id, parent_name=parent_name.strip(),
                                        contact=(contact or "").strip() or None, concern=concern.strip()))

    # ----- state -----
    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, PostDrafted):
            self.trust_id, self.school_id = event.trust_id, event.school_id
            self.account_id, self.author_id = event.account_id, event.author_id
            self.draft, self.revision = draft_from(event.content), 1
        elif isinstance(event, PostRevised):
            self.draft, self.revision = draft_from(event.content), self.revision + 1
            self.status, self.approver_ids, self.approved_by = PostStatus.DRAFT, [], []
        elif isinstance(event, PostChecked):
            self.checked_revision, self.findings = event.revision, event.findings
        elif isinstance(event, PostSubmitted):
            self.status, self.approver_ids, self.approved_by = PostStatus.AWAITING_APPROVAL, event.approver_ids, []
        elif isinstance(event, PostApproved):
            self.approved_by.append(event.approver_id)
            if event.complete:
                self.status = PostStatus.APPROVED
        elif isinstance(event, PostReturned):
            self.status, self.approved_by = PostStatus.RETURNED, []
        elif isinstance(event, PostPublished):
            self.status, self.url = PostStatus.PUBLISHED, event.url
        elif isinstance(event, PostRemoved):
            self.status = PostStatus.REMOVED
        elif isinstance(event, TakedownRequested):
            self.takedowns.append(Takedown(event.request_id, event.parent_name, event.contact, event.concern,
                                           event.occurred_at))
