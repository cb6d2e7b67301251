"""Ports the application layer needs from the outside world; infra/ implements them, api/ wires them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...


def today_in_london(clock: Clock) -> date:
    return clock.now().astimezone(LONDON).date()
