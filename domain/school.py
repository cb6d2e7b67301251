"""A school: one tenant of a trust."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from domain.errors import FieldError, InvalidInput
from domain.events import Actor, Aggregate, DomainEvent
from domain.values import Nation

URN_PATTERN = re.compile(r"^\d{6,7}$")


@dataclass(frozen=True, kw_only=True)
class SchoolAdded(DomainEvent):
    name: str
    urn: str
    nation: str
    timezone: str


@dataclass(frozen=True, kw_only=True)
class MentionFeedRegistered(DomainEvent):
    feed_id: UUID
    url: str
    title: str


@dataclass(frozen=True, kw_only=True)
class MentionFeedRemoved(DomainEvent):
    feed_id: UUID


class School(Aggregate):
    def __init__(self, id: UUID) -> None:
        super().__init__(id)
        self.trust_id: UUID | None = None
        self.name = ""
        self.urn = ""
        self.nation = Nation.ENGLAND
        self.timezone = "Europe/London"
        self.feeds: dict[UUID, str] = {}

    @classmethod
    def add(cls, id: UUID, trust_id: UUID, name: str, urn: str, nation: str, actor: Actor,
            at: datetime) -> School:
        errors: list[FieldError] = []
        name = " ".join(name.split())
        if not name:
            errors.append(FieldError("name", "must not be empty"))
        if not URN_PATTERN.match(urn.strip()):
            errors.append(FieldError("urn", "must be a unique reference number of 6 or 7 digits"))
        if nation not in {n.value for n in Nation}:
            errors.append(FieldError("nation", "must be one of " + ", ".join(n.value for n in Nation)))
        if errors:
            raise InvalidInput(errors)
        school = cls(id)
        school._trigger(SchoolAdded(originator_id=id, originator_version=1, occurred_at=at, actor=actor,
                                    trust_id=trust_id, school_id=id, name=name, urn=urn.strip(), nation=nation,
                                    timezone="Europe/London"))
        return school

    def register_feed(self, feed_id: UUID, url: str, title: str, actor: Actor, at: datetime) -> None:
        """An RSS/Atom feed of public posts about the school (an alert or search feed), polled for mentions."""
        errors: list[FieldError] = []
        url = url.strip()
        if not (url.startswith("https://") or url.startswith("http://")) or len(url) > 1000:
            errors.append(FieldError("url", "must be an http(s) feed address of at most 1000 characters"))
        elif url in self.feeds.values():
            errors.append(FieldError("url", "this feed is already registered"))
        title = " ".join(title.split())
        if not title or len(title) > 200:
            errors.append(FieldError("title", "must be 1-200 characters"))
        if errors:
            raise InvalidInput(errors)
        assert self.trust_id is not None
        self._trigger(MentionFeedRegistered(**self.header(at, actor, self.trust_id, self.id), feed_id=feed_id,
                                            url=url, title=title))

    def remove_feed(self, feed_id: UUID, actor: Actor, at: datetime) -> None:
        if feed_id not in self.feeds:
            raise InvalidInput.one("feed_id", "is not a feed of this school")
        assert self.trust_id is not None
        self._trigger(MentionFeedRemoved(**self.header(at, actor, self.trust_id, self.id), feed_id=feed_id))

    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, MentionFeedRegistered):
            self.feeds[event.feed_id] = event.url
        elif isinstance(event, MentionFeedRemoved):
            self.feeds.pop(event.feed_id, None)
        elif isinstance(event, SchoolAdded):
            self.trust_id = event.trust_id
            self.name = event.name
            self.urn = event.urn
            self.nation = Nation(event.nation)
            self.timezone = event.timezone
