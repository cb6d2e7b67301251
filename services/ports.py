"""Ports the application layer needs from the outside world; infra/ implements them, api/ wires them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol
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
