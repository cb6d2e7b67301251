"""The response SLA (DESIGN §4; policy, "Monitoring").

Comments, queries and complaints must be responded to within 24 hours, or on the next working day if received on a
non-working day, even if the response only acknowledges receipt. A *working day* is Monday to Friday and not a bank
holiday in the school's nation, judged on the Europe/London local date of receipt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from domain.calendar import bank_holiday_name, is_working_day, next_working_day
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


@dataclass(frozen=True)
class SkippedDay:
    """A weekday between receipt and the due day that is not a working day: a bank holiday of the nation."""

    day: date
    holiday: str


@dataclass(frozen=True)
class DueExplanation:
    """Why a reply is due when it is, in parts a page words as it likes (all times London local):
    received on `received_local` (a working day, or not: `not_working_because` is "Saturday", "Sunday" or a bank
    holiday's name); `elapsed` says the due time is `response_hours` of elapsed time later, otherwise it is
    `end_of_day` on the first working day after receipt, `skipped` naming the bank holidays passed over on the way
    (weekdays only: weekends need no explaining). `due_local` equals `due_at(...)` in London time."""

    received_local: datetime
    nation: Nation
    not_working_because: str | None
    elapsed: bool
    response_hours: int
    end_of_day: time
    skipped: tuple[SkippedDay, ...]
    due_local: datetime


def explain_due(received_at: datetime, nation: Nation, policy: SlaPolicy = DEFAULT_POLICY) -> DueExplanation:
    """The parts of the reason for `due_at(received_at, nation, policy)` (DESIGN §4), from the same calendar."""
    _require_aware(received_at, "received_at")
    received_local = received_at.astimezone(LONDON)
    due_local = due_at(received_at, nation, policy).astimezone(LONDON)
    day = received_local.date()
    if is_working_day(day, nation):
        return DueExplanation(received_local, nation, None, True, policy.response_hours, policy.end_of_day, (),
                              due_local)
    because = bank_holiday_name(day, nation) if day.weekday() < 5 else day.strftime("%A")
    skipped = []
    between = day + timedelta(days=1)
    while between < due_local.date():
        name = bank_holiday_name(between, nation)
        if between.weekday() < 5 and name is not None:
            skipped.append(SkippedDay(between, name))
        between += timedelta(days=1)
    return DueExplanation(received_local, nation, because or "a bank holiday", False, policy.response_hours,
                          policy.end_of_day, tuple(skipped), due_local)


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
