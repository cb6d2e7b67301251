"""Ports the application layer needs from the outside world; infra/ implements them, api/ wires them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol, TypeVar
from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.persistence import StoredEvent
from sqlalchemy import Connection, Table

from domain.credentials import Credentials

T = TypeVar("T")
R = TypeVar("R")

LONDON = ZoneInfo("Europe/London")


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...


def today_in_london(clock: Clock) -> date:
    return clock.now().astimezone(LONDON).date()


class EventTable(Protocol):
    """Where commands' events are inserted, in a transaction of the read model's engine (infra/database.py)."""

    def write(self, entry: T, write: Callable[[Connection, Sequence[T]], Sequence[R]]) -> R:
        """`write(conn, entries)`'s result for `entry`, once committed: `write` writes entries in a transaction in
        which no one else appends events (ids are given, and commit, in order), and returns each one's result.
        Entries that arrive at the same moment may be written by one call; if it raises, each is written alone,
        so that `write` raising for an entry fails only that entry."""
        ...

    def alone(self) -> AbstractContextManager[Connection]:
        """A transaction of its own in which no one else appends events."""
        ...

    def insert_rows(self, conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
        """Inserts `rows`, each with the same columns, into `table` in `conn`'s transaction, as few statements as
        the store allows."""
        ...

    def together(self, conn: Connection) -> AbstractContextManager[None]:
        """Statements run on `conn` inside are sent together and their answers awaited once, at the end: only for
        writes that need no answer. An error in any is raised at the end."""
        ...

    def insert(self, conn: Connection, stored: Sequence[StoredEvent]) -> list[int]:
        """Inserts the events in `conn`'s transaction; their notification ids, in the order given. Raises the
        eventsourcing IntegrityError if an aggregate version is taken already."""
        ...


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
