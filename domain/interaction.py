"""Inbound comments, queries, complaints and messages on a school account, and the response they are owed.

The policy: respond within 24 hours (or on the next working day if received at a weekend), even if only to
acknowledge receipt. The deadline is fixed when the interaction is received (domain/sla.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from domain.errors import FieldError, InvalidInput, InvalidTransition
from domain.events import Actor, Aggregate, DomainEvent


class InteractionKind(StrEnum):
    COMMENT = "comment"
    QUERY = "query"
    COMPLAINT = "complaint"
    MESSAGE = "message"


class InteractionStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True, kw_only=True)
class InteractionReceived(DomainEvent):
    account_id: UUID
    kind: str
    received_at: datetime
    due_at: datetime
    author_handle: str
    excerpt: str
    link: str | None
    external_ref: str | None


@dataclass(frozen=True, kw_only=True)
class InteractionAssigned(DomainEvent):
    assignee_id: UUID


@dataclass(frozen=True, kw_only=True)
class InteractionAcknowledged(DomainEvent):
    by_id: UUID


@dataclass(frozen=True, kw_only=True)
class InteractionResponded(DomainEvent):
    by_id: UUID
    response: str | None


@dataclass(frozen=True, kw_only=True)
class InteractionEscalated(DomainEvent):
    incident_id: UUID


@dataclass(frozen=True, kw_only=True)
class InteractionClosed(DomainEvent):
    pass


@dataclass(frozen=True, kw_only=True)
class ResponseDueSoonReminded(DomainEvent):
    due_at: datetime


@dataclass(frozen=True, kw_only=True)
class ResponseDeadlineMissed(DomainEvent):
    due_at: datetime


class Interaction(Aggregate):
    def __init__(self, id: UUID) -> None:
        super().__init__(id)
        self.trust_id: UUID | None = None
        self.school_id: UUID | None = None
        self.account_id: UUID | None = None
        self.due_at: datetime | None = None
        self.first_response_at: datetime | None = None
        self.assignee_id: UUID | None = None
        self.status = InteractionStatus.OPEN
        self.incident_id: UUID | None = None
        self.breach_recorded = False
        self.reminded = False
        self.excerpt = ""
        self.kind = ""

    @property
    def _ids(self) -> tuple[UUID, UUID]:
        assert self.trust_id is not None and self.school_id is not None
        return self.trust_id, self.school_id

    @property
    def answered(self) -> bool:
        return self.first_response_at is not None

    @classmethod
    def receive(cls, id: UUID, trust_id: UUID, school_id: UUID, account_id: UUID, kind: str, received_at: datetime,
                due_at: datetime, author_handle: str, excerpt: str, link: str | None, external_ref: str | None,
                now: datetime, actor: Actor) -> Interaction:
        errors: list[FieldError] = []
        if kind not in {k.value for k in InteractionKind}:
            errors.append(FieldError("kind", "must be one of " + ", ".join(k.value for k in InteractionKind)))
        if received_at.tzinfo is None:
            errors.append(FieldError("received_at", "must include a UTC offset"))
        elif received_at > now:
            errors.append(FieldError("received_at", "must not be in the future"))
        author = author_handle.strip()
        if not author or len(author) > 200:
            errors.append(FieldError("author_handle", "must be 1-200 characters"))
        text = excerpt.strip()
        if not text or len(text) > 5000:
            errors.append(FieldError("excerpt", "must be 1-5000 characters"))
        if (link is not None and not (link.startswith("https://") or link.startswith("http://"))) or \
                (link is not None and len(link) > 1000):
            errors.append(FieldError("link", "must be an http(s) address of at most 1000 characters"))
        if external_ref is not None and (not external_ref.strip() or len(external_ref) > 200):
            errors.append(FieldError("external_ref", "must be 1-200 characters"))
        if errors:
            raise InvalidInput(errors)
        interaction = cls(id)
        interaction._trigger(InteractionReceived(
            **interaction.header(now, actor, trust_id, school_id), account_id=account_id, kind=kind,
            received_at=received_at, due_at=due_at, author_handle=author, excerpt=text, link=link,
            external_ref=external_ref))
        return interaction

    def _require_open(self) -> None:
        if self.status is not InteractionStatus.OPEN:
            raise InvalidTransition("the interaction is closed")

    def assign(self, assignee_id: UUID, actor: Actor, at: datetime) -> None:
        self._require_open()
        if assignee_id == self.assignee_id:
            return
        self._trigger(InteractionAssigned(**self.header(at, actor, *self._ids), assignee_id=assignee_id))

    def acknowledge(self, by: UUID, actor: Actor, at: datetime) -> None:
        self._require_open()
        self._trigger(InteractionAcknowledged(**self.header(at, actor, *self._ids), by_id=by))

    def respond(self, by: UUID, response: str | None, actor: Actor, at: datetime) -> None:
        self._require_open()
        if response is not None and len(response) > 5000:
            raise InvalidInput.one("response", "must be at most 5000 characters")
        self._trigger(InteractionResponded(**self.header(at, actor, *self._ids), by_id=by,
                                           response=(response or "").strip() or None))

    def escalate(self, incident_id: UUID, reason: str | None, actor: Actor, at: datetime) -> None:
        self._require_open()
        if self.incident_id is not None:
            raise InvalidTransition("the interaction is already escalated")
        self._trigger(InteractionEscalated(**self.header(at, actor, *self._ids), incident_id=incident_id,
                                           reason=reason))

    def close(self, reason: str | None, actor: Actor, at: datetime) -> None:
        self._require_open()
        self._trigger(InteractionClosed(**self.header(at, actor, *self._ids), reason=reason))

    def remind_due_soon(self, actor: Actor, at: datetime) -> bool:
        """Records the due-soon reminder once; False if it was already sent, or nothing is owed any more."""
        if self.reminded or self.answered or self.status is not InteractionStatus.OPEN or self.due_at is None:
            return False
        self._trigger(ResponseDueSoonReminded(**self.header(at, actor, *self._ids), due_at=self.due_at))
        return True

    def record_breach(self, now: datetime, actor: Actor) -> bool:
        """Records the missed deadline exactly once; False if already recorded, answered in time or not yet due."""
        if self.breach_recorded or self.due_at is None or now <= self.due_at:
            return False
        if self.first_response_at is not None and self.first_response_at <= self.due_at:
            return False
        if self.first_response_at is None and self.status is not InteractionStatus.OPEN:
            return False
        self._trigger(ResponseDeadlineMissed(**self.header(now, actor, *self._ids), due_at=self.due_at))
        return True

    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, InteractionReceived):
            self.trust_id, self.school_id, self.account_id = event.trust_id, event.school_id, event.account_id
            self.due_at, self.excerpt, self.kind = event.due_at, event.excerpt, event.kind
        elif isinstance(event, InteractionAssigned):
            self.assignee_id = event.assignee_id
        elif isinstance(event, (InteractionAcknowledged, InteractionResponded)):
            self.first_response_at = self.first_response_at or event.occurred_at
        elif isinstance(event, InteractionEscalated):
            self.incident_id = event.incident_id
        elif isinstance(event, InteractionClosed):
            self.status = InteractionStatus.CLOSED
        elif isinstance(event, ResponseDueSoonReminded):
            self.reminded = True
        elif isinstance(event, ResponseDeadlineMissed):
            self.breach_recorded = True
