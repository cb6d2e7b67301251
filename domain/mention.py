"""Proactive monitoring: public mentions of the school, captured from feeds or pushed by an integration, then
triaged (ignore / respond / escalate to an incident)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from domain.errors import FieldError, InvalidInput, InvalidTransition
from domain.events import Actor, Aggregate, DomainEvent

MENTION_NAMESPACE = uuid.UUID("6f1c2a7e-5d1b-4c8e-9a57-0d2f4b3c9e11")


def mention_id(school_id: UUID, key: str) -> UUID:
    """Deterministic id per school and feed guid/link: the same item captured twice is the same mention."""
    return uuid.uuid5(MENTION_NAMESPACE, f"{school_id}|{key.strip()}")


class Triage(StrEnum):
    IGNORE = "ignore"
    RESPOND = "respond"
    ESCALATE = "escalate"


@dataclass(frozen=True, kw_only=True)
class MentionCaptured(DomainEvent):
    source: str
    key: str
    title: str
    summary: str
    link: str | None
    author: str | None
    published_at: datetime | None


@dataclass(frozen=True, kw_only=True)
class MentionTriaged(DomainEvent):
    decision: str
    incident_id: UUID | None


class Mention(Aggregate):
    def __init__(self, id: UUID) -> None:
        super().__init__(id)
        self.trust_id: UUID | None = None
        self.school_id: UUID | None = None
        self.title = ""
        self.triaged = False

    @classmethod
    def capture(cls, trust_id: UUID, school_id: UUID, source: str, key: str, title: str, summary: str,
                link: str | None, author: str | None, published_at: datetime | None, actor: Actor,
                at: datetime) -> Mention:
        errors: list[FieldError] = []
        if not key.strip() or len(key) > 1000:
            errors.append(FieldError("key", "needs a guid or link of at most 1000 characters"))
        title = " ".join(title.split())[:500]
        if not title:
            errors.append(FieldError("title", "must not be empty"))
        if link is not None and not (link.startswith("http://") or link.startswith("https://")):
            errors.append(FieldError("link", "must be an http(s) address"))
        if published_at is not None and published_at.tzinfo is None:
            errors.append(FieldError("published_at", "must include a UTC offset"))
        if errors:
            raise InvalidInput(errors)
        mention = cls(mention_id(school_id, key))
        mention._trigger(MentionCaptured(**mention.header(at, actor, trust_id, school_id), source=source[:1000],
                                         key=key.strip(), title=title, summary=summary.strip()[:5000], link=link,
                                         author=(author or "").strip()[:200] or None, published_at=published_at))
        return mention

    def triage(self, decision: str, incident_id: UUID | None, note: str | None, actor: Actor, at: datetime) -> None:
        if self.triaged:
            raise InvalidTransition("the mention is already triaged")
        if decision not in {t.value for t in Triage}:
            raise InvalidInput.one("decision", "must be one of " + ", ".join(t.value for t in Triage))
        assert self.trust_id is not None and self.school_id is not None
        self._trigger(MentionTriaged(**self.header(at, actor, self.trust_id, self.school_id), decision=decision,
                                     incident_id=incident_id, reason=(note or "").strip() or None))

    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, MentionCaptured):
            self.trust_id, self.school_id, self.title = event.trust_id, event.school_id, event.title
        elif isinstance(event, MentionTriaged):
            self.triaged = True
