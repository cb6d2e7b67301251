"""Ports the application layer needs from the outside world; infra/ implements them, api/ wires them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol
from uuid import UUID
from zoneinfo import ZoneInfo

from domain.credentials import Credentials

LONDON = ZoneInfo("Europe/London")


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...


def today_in_london(clock: Clock) -> date:
    return clock.now().astimezone(LONDON).date()


class Vault(Protocol):
    """Where credentials live, encrypted. Services pass secrets straight through; events see only the ref."""

    def fingerprint(self, school_id: UUID, credentials: Credentials) -> str: ...

    def store(self, school_id: UUID, account_id: UUID, version: int, credentials: Credentials) -> UUID: ...

    def reveal(self, ref: UUID, school_id: UUID, account_id: UUID, version: int) -> Credentials: ...


class EvidenceStore(Protocol):
    """Content-addressed file storage for evidence (local directory by default)."""

    def put(self, data: bytes) -> str:
        """Stores the bytes and returns their SHA-256 (hex)."""
        ...

    def get(self, sha256: str) -> bytes: ...


class BundleBuilder(Protocol):
    """Builds and signs an evidence bundle with the trust's Ed25519 key."""

    def build(self, trust_id: UUID, *, incident: dict[str, Any], chronology: list[dict[str, Any]],
              events: list[dict[str, Any]], files: list[tuple[str, bytes]], chain_head: dict[str, Any],
              generated_at: datetime) -> tuple[bytes, str]:
        """Returns the zip and the SHA-256 of its signed manifest."""
        ...


class Mailer(Protocol):
    def send(self, to: list[str], subject: str, body: str) -> None: ...


@dataclass(frozen=True)
class FeedItem:
    key: str
    title: str
    summary: str
    link: str | None
    author: str | None
    published_at: datetime | None


class FeedFetcher(Protocol):
    def fetch(self, url: str) -> list[FeedItem]:
        """The items of an RSS/Atom feed; raises on an unreachable or unreadable feed."""
        ...


class SecretHasher(Protocol):
    """One-way hashing of integration client secrets (argon2 in infra)."""

    def hash(self, secret: str) -> str: ...

    def verify(self, hashed: str, secret: str) -> bool: ...


class ClientSecrets(Protocol):
    """Where client secret hashes live: outside the event log, so the record never holds them."""

    def put(self, client_id: UUID, hashed: str) -> None: ...

    def get(self, client_id: UUID) -> str | None: ...
