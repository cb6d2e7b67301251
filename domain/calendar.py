"""Working days: Monday to Friday, not a bank holiday in the school's nation (the `holidays` package's UK data)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache

import holidays

from domain.values import Nation

SUBDIVISIONS = {Nation.ENGLAND: "ENG", Nation.WALES: "WLS", Nation.SCOTLAND: "SCT", Nation.NORTHERN_IRELAND: "NIR"}


@lru_cache(maxsize=64)
def _bank_holidays(nation: Nation, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("GB", subdiv=SUBDIVISIONS[nation], years=year).keys())


def is_working_day(day: date, nation: Nation) -> bool:
    return day.weekday() < 5 and day not in _bank_holidays(nation, day.year)


def next_working_day(day: date, nation: Nation) -> date:
    """The first working day strictly after `day`."""
    day += timedelta(days=1)
    while not is_working_day(day, nation):
        day += timedelta(days=1)
    return day


def add_working_days(local: datetime, days: int, nation: Nation) -> datetime:
    """The same local wall-clock time `days` working days after `local` (an aware, local datetime)."""
    day = local.date()
    for _ in range(days):
        day = next_working_day(day, nation)
    return datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=local.tzinfo)


def bank_holiday_name(day: date, nation: Nation) -> str | None:
    """The name of the bank holiday in `nation` on `day` ("Summer Bank Holiday"), or None on any other day."""
    return holidays.country_holidays("GB", subdiv=SUBDIVISIONS[nation], years=day.year).get(day)
