"""Clocks: the system clock, and a settable one for tests and benchmarks."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class SettableClock:
    """A clock that stands still until told to move (tests move time across days and clock changes)."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("SettableClock needs an aware datetime")
        self._at = at
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._at

    def set(self, at: datetime) -> None:
        with self._lock:
            self._at = at

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._at += delta
