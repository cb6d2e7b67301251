"""The response SLA (DESIGN §4): due times per nation and the SLA states, with no store and no clock.

The properties check `due_at` against an oracle built straight from the `holidays` package, not from
`domain.calendar`; the tables hard-code due times (as UTC) that were checked by hand against `holidays` 0.109.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from domain.sla import LONDON, SlaPolicy, SlaState, due_at, sla_state
from domain.values import Nation

ENG, WLS, SCT, NIR = Nation.ENGLAND, Nation.WALES, Nation.SCOTLAND, Nation.NORTHERN_IRELAND
DEFAULT = SlaPolicy()
PROPERTY = settings(max_examples=300, deadline=None)

# --- an independent oracle -------------------------------------------------------------------------------------------

_SUBDIV = {ENG: "ENG", WLS: "WLS", SCT: "SCT", NIR: "NIR"}


@cache
def _bank_holidays(nation: Nation, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("GB", subdiv=_SUBDIV[nation], years=year))


def working(day: date, nation: Nation) -> bool:
    return day.weekday() < 5 and day not in _bank_holidays(nation, day.year)


def local_date(moment: datetime) -> date:
    return moment.astimezone(LONDON).date()


def last_sunday(year: int, month: int) -> date:
    day = date(year, month, 31)  # March and October both have 31 days
    return day - timedelta(days=(day.weekday() - 6) % 7)


def clock_change(year: int, month: int) -> datetime:
    """UK clocks change at 01:00 UTC on the last Sunday of March (to BST) and of October (to GMT)."""
    return datetime.combine(last_sunday(year, month), time(1, 0), tzinfo=UTC)


# --- strategies ------------------------------------------------------------------------------------------------------

nations = st.sampled_from(list(Nation))
receipts = st.datetimes(
    min_value=datetime(2023, 1, 1), max_value=datetime(2027, 12, 31, 23, 59, 59), timezones=st.just(UTC)
)
zones = st.sampled_from(
    [UTC, LONDON, ZoneInfo("America/New_York"), ZoneInfo("Asia/Kolkata"), ZoneInfo("Pacific/Kiritimati")]
)
policies = st.builds(
    SlaPolicy,
    response_hours=st.integers(1, 96),
    due_soon_hours=st.integers(0, 24),
    end_of_day=st.times(min_value=time(9, 0), max_value=time(23, 59)),
)
offsets = st.timedeltas(min_value=timedelta(days=-3), max_value=timedelta(days=3))


# --- properties of due_at --------------------------------------------------------------------------------------------


@PROPERTY
@given(received=receipts, nation=nations, policy=policies)
def test_due_is_aware_utc_and_never_before_receipt(received: datetime, nation: Nation, policy: SlaPolicy) -> None:
    due = due_at(received, nation, policy)
    assert due.tzinfo is UTC
    assert due > received


@PROPERTY
@given(received=receipts, nation=nations)
def test_a_working_day_receipt_is_due_exactly_response_hours_of_elapsed_time_later(
    received: datetime, nation: Nation
) -> None:
    assume(working(local_date(received), nation))
    assert due_at(received, nation) - received == timedelta(hours=24)


@PROPERTY
@given(received=receipts, nation=nations, policy=policies)
def test_a_non_working_day_receipt_is_due_at_end_of_day_on_the_first_working_day_after(
    received: datetime, nation: Nation, policy: SlaPolicy
) -> None:
    day = local_date(received)
    assume(not working(day, nation))
    due_local = due_at(received, nation, policy).astimezone(LONDON)
    assert due_local.time() == policy.end_of_day
    assert working(due_local.date(), nation)
    assert due_local.date() > day
    between = day + timedelta(days=1)
    while between < due_local.date():
        assert not working(between, nation), f"{between} is a working day before {due_local.date()}"
        between += timedelta(days=1)


@PROPERTY
@given(received=receipts, nation=nations, policy=policies, zone=zones)
def test_the_receipt_time_zone_does_not_matter(
    received: datetime, nation: Nation, policy: SlaPolicy, zone: ZoneInfo
) -> None:
    assert due_at(received.astimezone(zone), nation, policy) == due_at(received, nation, policy)


@PROPERTY
@given(
    year=st.integers(2023, 2027),
    month=st.sampled_from([3, 10]),
    before=st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta(hours=24)),
    nation=nations,
)
def test_receipts_in_the_day_before_a_clock_change(year: int, month: int, before: timedelta, nation: Nation) -> None:
    """The 24 h before a change (Sunday 01:00 UTC) are Saturday or early Sunday in London: non-working days, so the
    due time is 17:00 London time after the change: 16:00 UTC after the spring change, 17:00 UTC after the autumn one.
    (So with the default policy a working-day receipt can never straddle a change; the next test covers that.)"""
    change = clock_change(year, month)
    received = change - before
    assert local_date(received).weekday() in (5, 6)
    due = due_at(received, nation)
    due_local = due.astimezone(LONDON)
    assert due_local.time() == time(17, 0)
    assert working(due_local.date(), nation)
    assert due.hour == (16 if month == 3 else 17)
    assert due.utcoffset() == timedelta(0)
    assert due_local.utcoffset() == timedelta(hours=1 if month == 3 else 0)


@PROPERTY
@given(
    year=st.integers(2023, 2027),
    month=st.sampled_from([3, 10]),
    hours=st.integers(25, 96),
    fraction=st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
    nation=nations,
)
def test_a_working_day_receipt_across_a_clock_change_is_due_after_elapsed_hours(
    year: int, month: int, hours: int, fraction: float, nation: Nation
) -> None:
    """With a response window longer than a day, Thursday/Friday receipts straddle the change: still elapsed hours,
    so the London wall clock moves by an hour more (spring) or less (autumn) than the window."""
    change = clock_change(year, month)
    received = change - timedelta(hours=hours) * (1 - fraction)
    assume(received < change)
    assume(working(local_date(received), nation))
    due = due_at(received, nation, SlaPolicy(response_hours=hours))
    assert due - received == timedelta(hours=hours)
    assert due >= change
    received_wall = received.astimezone(LONDON).replace(tzinfo=None)
    due_wall = due.astimezone(LONDON).replace(tzinfo=None)
    assert due_wall - received_wall == timedelta(hours=hours + (1 if month == 3 else -1))


# --- properties of sla_state -----------------------------------------------------------------------------------------


@PROPERTY
@given(received=receipts, nation=nations, response=offsets, now=offsets, policy=policies)
def test_met_iff_responded_by_due(
    received: datetime, nation: Nation, response: timedelta, now: timedelta, policy: SlaPolicy
) -> None:
    due = due_at(received, nation, policy)
    state = sla_state(due, due + response, due + now, policy)
    assert (state is SlaState.MET) == (response <= timedelta(0))
    assert (state is SlaState.MET_LATE) == (response > timedelta(0))


@PROPERTY
@given(due=receipts, now=offsets, policy=policies)
def test_unanswered_states(due: datetime, now: timedelta, policy: SlaPolicy) -> None:
    state = sla_state(due, None, due + now, policy)
    window = timedelta(hours=policy.due_soon_hours)
    assert (state is SlaState.BREACHED) == (now > timedelta(0))
    assert (state is SlaState.DUE_SOON) == (-window < now <= timedelta(0))
    assert (state is SlaState.ON_TRACK) == (now <= -window)
    assert state not in (SlaState.MET, SlaState.MET_LATE)


@PROPERTY
@given(due=receipts, response=offsets, now=offsets)
def test_a_response_settles_the_state_whatever_the_time_now(due: datetime, response: timedelta, now: timedelta) -> None:
    assert sla_state(due, due + response, due + now) == sla_state(due, due + response, due - now)


DUE = datetime(2024, 5, 2, 8, 0, tzinfo=UTC)
TICK = timedelta(microseconds=1)


@pytest.mark.parametrize(
    ("first_response_at", "now", "expected"),
    [
        pytest.param(None, DUE - timedelta(hours=4) - TICK, SlaState.ON_TRACK, id="more-than-4h-left"),
        pytest.param(None, DUE - timedelta(hours=4), SlaState.ON_TRACK, id="exactly-4h-left-is-on-track"),
        pytest.param(None, DUE - timedelta(hours=4) + TICK, SlaState.DUE_SOON, id="just-under-4h-left-is-due-soon"),
        pytest.param(None, DUE, SlaState.DUE_SOON, id="at-due-is-due-soon"),
        pytest.param(None, DUE + TICK, SlaState.BREACHED, id="just-after-due-is-breached"),
        pytest.param(DUE, DUE + timedelta(days=5), SlaState.MET, id="responded-at-due-is-met"),
        pytest.param(DUE - timedelta(hours=20), DUE - timedelta(hours=21), SlaState.MET, id="met-even-if-now-earlier"),
        pytest.param(DUE + TICK, DUE + TICK, SlaState.MET_LATE, id="responded-just-after-due-is-met-late"),
        pytest.param(DUE + timedelta(days=2), DUE, SlaState.MET_LATE, id="met-late-regardless-of-now"),
    ],
)
def test_sla_state_boundaries(first_response_at: datetime | None, now: datetime, expected: SlaState) -> None:
    assert sla_state(DUE, first_response_at, now) is expected


def test_due_soon_window_follows_the_policy() -> None:
    policy = SlaPolicy(due_soon_hours=1)
    assert sla_state(DUE, None, DUE - timedelta(hours=2), policy) is SlaState.ON_TRACK
    assert sla_state(DUE, None, DUE - timedelta(minutes=59), policy) is SlaState.DUE_SOON
    assert sla_state(DUE, None, DUE - timedelta(hours=2)) is SlaState.DUE_SOON


def test_states_are_their_wire_values() -> None:
    assert [s.value for s in SlaState] == ["on_track", "due_soon", "breached", "met", "met_late"]


# --- named cases, per nation -----------------------------------------------------------------------------------------


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def london(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LONDON)


CASES = [
    # DESIGN §4, verbatim: Sat 2024-03-30 10:00 GMT -> Tue 2024-04-02 17:00 BST (Easter Monday, England) = 16:00 UTC.
    pytest.param(london(2024, 3, 30, 10), ENG, utc(2024, 4, 2, 16), id="design-easter-saturday-england"),
    pytest.param(london(2024, 3, 30, 10), WLS, utc(2024, 4, 2, 16), id="design-easter-saturday-wales"),
    pytest.param(london(2024, 3, 30, 10), NIR, utc(2024, 4, 2, 16), id="design-easter-saturday-northern-ireland"),
    pytest.param(london(2024, 3, 30, 10), SCT, utc(2024, 4, 1, 16), id="easter-saturday-scotland-no-easter-monday"),
    # DESIGN §4, verbatim: Wed 2024-05-01 09:00 -> Thu 2024-05-02 09:00 (London, BST: 08:00 UTC).
    pytest.param(london(2024, 5, 1, 9), ENG, utc(2024, 5, 2, 8), id="design-wednesday-england"),
    pytest.param(london(2024, 5, 1, 9), SCT, utc(2024, 5, 2, 8), id="design-wednesday-scotland"),
    # Good Friday 2024-03-29 is a bank holiday everywhere; Easter Monday 2024-04-01 everywhere but Scotland.
    pytest.param(utc(2024, 3, 29, 10), ENG, utc(2024, 4, 2, 16), id="good-friday-england"),
    pytest.param(utc(2024, 3, 29, 10), WLS, utc(2024, 4, 2, 16), id="good-friday-wales"),
    pytest.param(utc(2024, 3, 29, 10), NIR, utc(2024, 4, 2, 16), id="good-friday-northern-ireland"),
    pytest.param(utc(2024, 3, 29, 10), SCT, utc(2024, 4, 1, 16), id="good-friday-scotland"),
    pytest.param(london(2024, 4, 1, 10), SCT, utc(2024, 4, 2, 9), id="easter-monday-is-a-working-day-in-scotland"),
    # Christmas 2021: Sat 25 and Sun 26 Dec, substitutes Mon 27 and Tue 28 in every nation -> Wed 29 Dec 17:00 GMT.
    pytest.param(utc(2021, 12, 25, 10), ENG, utc(2021, 12, 29, 17), id="christmas-2021-saturday-england"),
    pytest.param(utc(2021, 12, 25, 10), WLS, utc(2021, 12, 29, 17), id="christmas-2021-saturday-wales"),
    pytest.param(utc(2021, 12, 25, 10), SCT, utc(2021, 12, 29, 17), id="christmas-2021-saturday-scotland"),
    pytest.param(utc(2021, 12, 25, 10), NIR, utc(2021, 12, 29, 17), id="christmas-2021-saturday-northern-ireland"),
    pytest.param(utc(2021, 12, 26, 15), ENG, utc(2021, 12, 29, 17), id="boxing-day-2021-sunday-england"),
    pytest.param(utc(2021, 12, 28, 9), NIR, utc(2021, 12, 29, 17), id="boxing-day-2021-substitute-tuesday-ni"),
    pytest.param(utc(2021, 12, 24, 16), ENG, utc(2021, 12, 25, 16), id="christmas-eve-2021-friday-is-elapsed"),
    # Christmas 2022: Sun 25 Dec; Mon 26 Boxing Day, Tue 27 substitute -> Wed 28 Dec 17:00 GMT.
    pytest.param(utc(2022, 12, 25, 10), ENG, utc(2022, 12, 28, 17), id="christmas-2022-sunday-england"),
    pytest.param(utc(2022, 12, 25, 10), SCT, utc(2022, 12, 28, 17), id="christmas-2022-sunday-scotland"),
    pytest.param(utc(2022, 12, 26, 10), WLS, utc(2022, 12, 28, 17), id="boxing-day-2022-monday-wales"),
    # New Year 2023: Sun 1 Jan. England: Mon 2 Jan substitute. Scotland: Mon 2 Jan and Tue 3 Jan (2 January holiday).
    pytest.param(utc(2023, 1, 1, 12), ENG, utc(2023, 1, 3, 17), id="new-year-2023-sunday-england"),
    pytest.param(utc(2023, 1, 1, 12), SCT, utc(2023, 1, 4, 17), id="new-year-2023-sunday-scotland"),
    pytest.param(utc(2023, 1, 2, 9), SCT, utc(2023, 1, 4, 17), id="new-year-substitute-2023-monday-scotland"),
    pytest.param(utc(2023, 1, 3, 9), ENG, utc(2023, 1, 4, 9), id="3-jan-2023-tuesday-working-in-england"),
    pytest.param(utc(2023, 1, 3, 9), SCT, utc(2023, 1, 4, 17), id="3-jan-2023-tuesday-holiday-in-scotland"),
    pytest.param(utc(2024, 1, 2, 9), ENG, utc(2024, 1, 3, 9), id="2-jan-2024-tuesday-working-in-england"),
    pytest.param(utc(2024, 1, 2, 9), SCT, utc(2024, 1, 3, 17), id="2-jan-2024-tuesday-holiday-in-scotland"),
    # St Patrick's Day, Northern Ireland only. 2025: Monday 17 March. 2024: Sunday 17 March, substitute Monday 18.
    pytest.param(utc(2025, 3, 16, 12), NIR, utc(2025, 3, 18, 17), id="st-patricks-2025-sunday-before-ni"),
    pytest.param(utc(2025, 3, 16, 12), ENG, utc(2025, 3, 17, 17), id="st-patricks-2025-sunday-before-england"),
    pytest.param(utc(2025, 3, 17, 10), NIR, utc(2025, 3, 18, 17), id="st-patricks-2025-monday-ni"),
    pytest.param(utc(2025, 3, 17, 10), ENG, utc(2025, 3, 18, 10), id="st-patricks-2025-monday-england"),
    pytest.param(utc(2024, 3, 16, 12), NIR, utc(2024, 3, 19, 17), id="st-patricks-2024-substitute-ni"),
    pytest.param(utc(2024, 3, 16, 12), WLS, utc(2024, 3, 18, 17), id="st-patricks-2024-weekend-wales"),
    # Other nation-specific days: Battle of the Boyne (NI, Fri 12 Jul 2024), Summer Bank Holiday (Scotland, Mon 5 Aug
    # 2024), St Andrew's Day (Scotland, Sat 30 Nov 2024, substitute Mon 2 Dec).
    pytest.param(utc(2024, 7, 11, 23, 30), NIR, utc(2024, 7, 15, 16), id="boyne-2024-friday-0030-bst-ni"),
    pytest.param(utc(2024, 7, 11, 23, 30), ENG, utc(2024, 7, 12, 23, 30), id="boyne-2024-friday-0030-bst-england"),
    pytest.param(utc(2024, 8, 3, 10), SCT, utc(2024, 8, 6, 16), id="summer-bank-holiday-2024-scotland"),
    pytest.param(utc(2024, 8, 3, 10), ENG, utc(2024, 8, 5, 16), id="early-august-2024-weekend-england"),
    pytest.param(utc(2024, 11, 30, 10), SCT, utc(2024, 12, 3, 17), id="st-andrews-2024-saturday-scotland"),
    pytest.param(utc(2024, 11, 30, 10), ENG, utc(2024, 12, 2, 17), id="st-andrews-2024-saturday-england"),
    # Clock changes: Sun 2024-10-27 01:00 UTC (BST -> GMT) and Sun 2025-03-30 01:00 UTC (GMT -> BST).
    pytest.param(london(2024, 10, 24, 10), ENG, utc(2024, 10, 25, 9), id="autumn-2024-thursday-bst"),
    pytest.param(london(2024, 10, 26, 12), ENG, utc(2024, 10, 28, 17), id="autumn-2024-saturday-to-monday-gmt"),
    pytest.param(utc(2024, 10, 25, 23, 30), WLS, utc(2024, 10, 28, 17), id="autumn-2024-friday-2330-utc-is-saturday"),
    pytest.param(utc(2024, 10, 27, 0, 30), SCT, utc(2024, 10, 28, 17), id="autumn-2024-sunday-during-fold"),
    pytest.param(utc(2025, 3, 28, 12), ENG, utc(2025, 3, 29, 12), id="spring-2025-friday-due-on-saturday"),
    pytest.param(utc(2025, 3, 29, 9), ENG, utc(2025, 3, 31, 16), id="spring-2025-saturday-to-monday-bst"),
    pytest.param(utc(2025, 3, 30, 0, 30), NIR, utc(2025, 3, 31, 16), id="spring-2025-sunday-before-change"),
    # Summer: 23:30 UTC on a Friday is 00:30 Saturday in London (non-working); on a Sunday it is 00:30 Monday.
    pytest.param(utc(2024, 7, 5, 23, 30), ENG, utc(2024, 7, 8, 16), id="summer-friday-2330-utc-is-saturday"),
    pytest.param(utc(2024, 7, 7, 23, 30), ENG, utc(2024, 7, 8, 23, 30), id="summer-sunday-2330-utc-is-monday"),
    # Winter: 23:30 UTC on a Friday is still Friday in London (working day).
    pytest.param(utc(2024, 1, 12, 23, 30), ENG, utc(2024, 1, 13, 23, 30), id="winter-friday-2330-utc-is-friday"),
]


@pytest.mark.parametrize(("received_at", "nation", "expected"), CASES)
def test_due_at_named_cases(received_at: datetime, nation: Nation, expected: datetime) -> None:
    due = due_at(received_at, nation)
    assert due == expected
    assert due.tzinfo is UTC


def test_design_example_reads_as_17_bst_in_london() -> None:
    due = due_at(london(2024, 3, 30, 10), ENG)
    assert due.astimezone(LONDON) == london(2024, 4, 2, 17)
    assert due.astimezone(LONDON).tzname() == "BST"


CUSTOM = SlaPolicy(response_hours=12, end_of_day=time(16, 30))


@pytest.mark.parametrize(
    ("received_at", "nation", "expected"),
    [
        pytest.param(london(2024, 5, 1, 9), ENG, utc(2024, 5, 1, 20), id="custom-working-day-12h"),
        pytest.param(utc(2024, 10, 26, 20), ENG, utc(2024, 10, 28, 16, 30), id="custom-saturday-to-1630-gmt"),
        pytest.param(london(2024, 3, 30, 10), ENG, utc(2024, 4, 2, 15, 30), id="custom-easter-to-1630-bst"),
        pytest.param(utc(2021, 12, 25, 10), SCT, utc(2021, 12, 29, 16, 30), id="custom-christmas-2021-scotland"),
        pytest.param(utc(2025, 3, 16, 12), NIR, utc(2025, 3, 18, 16, 30), id="custom-st-patricks-2025-ni"),
    ],
)
def test_due_at_custom_policy(received_at: datetime, nation: Nation, expected: datetime) -> None:
    assert due_at(received_at, nation, CUSTOM) == expected


@pytest.mark.parametrize(
    ("received_at", "expected"),
    [
        # Fri 10:00 BST + 48 h elapsed = Sun 09:00 GMT (the wall clock moved back an hour on Sun 27 Oct 2024).
        pytest.param(london(2024, 10, 25, 10), utc(2024, 10, 27, 9), id="48h-across-autumn-2024-change"),
        # Fri 12:00 GMT + 48 h elapsed = Sun 13:00 BST (the wall clock moved forward an hour on Sun 30 Mar 2025).
        pytest.param(utc(2025, 3, 28, 12), utc(2025, 3, 30, 12), id="48h-across-spring-2025-change"),
    ],
)
def test_a_long_window_across_a_clock_change_is_elapsed_time(received_at: datetime, expected: datetime) -> None:
    due = due_at(received_at, ENG, SlaPolicy(response_hours=48))
    assert due == expected
    assert due.astimezone(LONDON).hour == (9 if expected.month == 10 else 13)


def test_a_naive_receipt_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        due_at(datetime(2024, 5, 1, 9), ENG)


def test_naive_times_are_refused_by_sla_state() -> None:
    with pytest.raises(ValueError, match="aware"):
        sla_state(datetime(2024, 5, 2, 8), None, DUE)
    with pytest.raises(ValueError, match="aware"):
        sla_state(DUE, None, datetime(2024, 5, 2, 8))
    with pytest.raises(ValueError, match="aware"):
        sla_state(DUE, datetime(2024, 5, 2, 8), DUE)


@pytest.mark.parametrize(
    "kwargs", [pytest.param({"response_hours": 0}, id="zero-hours"), pytest.param({"due_soon_hours": -1}, id="neg")]
)
def test_nonsense_policies_are_refused(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        SlaPolicy(**kwargs)  # type: ignore[arg-type]
