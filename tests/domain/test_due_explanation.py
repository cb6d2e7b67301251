"""Why a reply is due when it is (domain.sla.explain_due): the parts a page words as the reason, taken from the same
calendar as `due_at`, with no store and no clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.calendar import bank_holiday_name
from domain.sla import LONDON, SkippedDay, SlaPolicy, due_at, explain_due
from domain.values import Nation

ENG, SCT = Nation.ENGLAND, Nation.SCOTLAND


def test_a_saturday_receipt_in_scotland_skips_st_andrews_day() -> None:
    e = explain_due(datetime(2026, 11, 28, 10, 0, tzinfo=UTC), SCT)
    assert e.not_working_because == "Saturday"
    assert not e.elapsed
    assert e.skipped == (SkippedDay(date(2026, 11, 30), "Saint Andrew's Day"),)
    assert e.due_local == datetime(2026, 12, 1, 17, 0, tzinfo=LONDON)


def test_the_same_saturday_in_england_is_due_at_the_end_of_monday_with_nothing_skipped() -> None:
    e = explain_due(datetime(2026, 11, 28, 10, 0, tzinfo=UTC), ENG)
    assert (e.not_working_because, e.skipped) == ("Saturday", ())
    assert e.due_local == datetime(2026, 11, 30, 17, 0, tzinfo=LONDON)


def test_a_bank_holiday_receipt_names_the_holiday_and_the_ones_after_it() -> None:
    e = explain_due(datetime(2024, 3, 29, 10, 0, tzinfo=UTC), ENG)  # Good Friday, then Easter Monday
    assert e.not_working_because == "Good Friday"
    assert e.skipped == (SkippedDay(date(2024, 4, 1), "Easter Monday"),)
    assert e.due_local == datetime(2024, 4, 2, 17, 0, tzinfo=LONDON)  # DESIGN §4's example: 16:00 UTC


def test_a_working_day_receipt_is_explained_as_elapsed_hours() -> None:
    policy = SlaPolicy(response_hours=12, end_of_day=time(16, 30))
    e = explain_due(datetime(2024, 5, 1, 9, 0, tzinfo=UTC), ENG, policy)
    assert (e.not_working_because, e.elapsed, e.response_hours, e.skipped) == (None, True, 12, ())
    assert e.due_local == datetime(2024, 5, 1, 22, 0, tzinfo=LONDON)
    assert e.received_local.tzinfo == LONDON


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError):
        explain_due(datetime(2024, 5, 1, 9, 0), ENG)


@settings(max_examples=300, deadline=None)
@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)),
       st.sampled_from(list(Nation)))
def test_the_explanation_agrees_with_due_at_and_the_calendar(received: datetime, nation: Nation) -> None:
    e = explain_due(received, nation)
    assert e.due_local == due_at(received, nation)
    if e.elapsed:
        assert e.due_local - e.received_local == timedelta(hours=24)
        return
    assert e.due_local.time() == time(17, 0)
    # every weekday strictly between receipt and the due day is a named bank holiday, listed in order
    day, expected = e.received_local.date() + timedelta(days=1), []
    while day < e.due_local.date():
        if day.weekday() < 5:
            name = bank_holiday_name(day, nation)
            assert name is not None
            expected.append(SkippedDay(day, name))
        day += timedelta(days=1)
    assert list(e.skipped) == expected
