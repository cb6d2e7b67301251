"""The response SLA (DESIGN §4; policy, "Monitoring").

Comments, queries and complaints must be responded to within 24 hours, or on the next working day if received on a
non-working day, even if the response only acknowledges receipt. A *working day* is Monday to Friday and not a bank
holiday in the school's nation, judged on the Europe/London local date of receipt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from domain.calendar import is_working_day, next_working_day
from domain.values import Nation

LONDON = ZoneInfo("Europe/London")


class SlaState(StrEnum):
    ON_TRACK = "on_track"
    DUE_SOON = "due_soon"
    BREACHED = "breached"
    MET = "met"
    MET_LATE = "met_late"


@dataclass(frozen=True)
class SlaPolicy:
    """Per-trust SLA settings; the defaults are the policy's."""

    response_hours: int = 24
    due_soon_hours: int = 4
    end_of_day: time = time(17, 0)

    def __post_init__(self) -> None:
        if self.response_hours <= 0:
            raise ValueError("response_hours must be positive")
        if self.due_soon_hours < 0:
            raise ValueError("due_soon_hours must not be negative")


DEFAULT_POLICY = SlaPolicy()


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


def due_at(received_at: datetime, nation: Nation, policy: SlaPolicy = DEFAULT_POLICY) -> datetime:
    """When a first response to something received at `received_at` is due, as an aware UTC datetime.

    Received on a working day (London local date): `response_hours` of elapsed time later, so a clock change does not
    move it. Received on a non-working day (weekend or bank holiday): `end_of_day` London local time on the next
    working day.
    """
    _require_aware(received_at, "received_at")
    received_utc = received_at.astimezone(UTC)
    local_day = received_utc.astimezone(LONDON).date()
    if is_working_day(local_day, nation):
        return received_utc + timedelta(hours=policy.response_hours)
    due_day = next_working_day(local_day, nation)
    end_of_day = policy.end_of_day.replace(tzinfo=None, fold=0)
    return datetime.combine(due_day, end_of_day, tzinfo=LONDON).astimezone(UTC)


def sla_state(
    due: datetime, first_response_at: datetime | None, now: datetime, policy: SlaPolicy = DEFAULT_POLICY
) -> SlaState:
    """The SLA state at `now`. The first response (an acknowledgement counts) meets it if it is no later than `due`."""
    _require_aware(due, "due")
    _require_aware(now, "now")
    if first_response_at is not None:
        _require_aware(first_response_at, "first_response_at")
        return SlaState.MET if first_response_at <= due else SlaState.MET_LATE
    if now > due:
        return SlaState.BREACHED
    if due - now < timedelta(hours=policy.due_soon_hours):
        return SlaState.DUE_SOON
    return SlaState.ON_TRACK
