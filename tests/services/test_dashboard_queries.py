"""The school dashboard's weekly series (services/dashboard_queries.py), on both stores: messages counted in the
London week they arrived, in their SLA state now; coverage at each week's end of the policy version current then,
ending on today's figures; and who may read them."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from services import dashboard_queries as dq
from services import queries
from services.eventstore import NotFound
from services.ports import today_in_london
from tests.conftest import T0, World


def test_replies_are_counted_in_the_week_they_arrived(world: World) -> None:
    c, clock = world.c, world.c.clock
    account = world.account()
    mod = world.principal("mod")

    def receive(hours: float) -> object:
        clock.set(T0 + timedelta(hours=hours))  # type: ignore[attr-defined]
        return c.inbox.receive(mod, world.school, account, "query", clock.now(), "@parent", "When?", None, None,
                               mod.id)

    answered = receive(0)  # Tuesday 10 March: answered within the hour
    clock.set(T0 + timedelta(hours=1))  # type: ignore[attr-defined]
    c.inbox.acknowledge(mod, answered)
    receive(1)  # never answered: past its deadline by the next week
    late = receive(7 * 24)  # Tuesday 17 March: answered after 30 hours
    clock.set(T0 + timedelta(hours=7 * 24 + 30))  # type: ignore[attr-defined]
    c.inbox.acknowledge(mod, late)
    receive(7 * 24 + 31)  # Wednesday 18 March 17:00: still within its time
    weeks = dq.weekly_replies(c.engine, world.principal("head"), world.school, clock.now())
    assert len(weeks) == dq.WEEKS and weeks[-1]["week_start"] == date(2026, 3, 16)
    assert [(w["received"], w["on_time"], w["breaches"], w["on_time_pct"]) for w in weeks[-2:]] == \
        [(2, 1, 1, 50.0), (2, 0, 1, 0.0)]
    assert all(w["received"] == 0 and w["on_time_pct"] is None for w in weeks[:-2])


def test_coverage_ends_on_todays_figures_and_follows_the_current_policy(world: World) -> None:
    c, clock = world.c, world.c.clock
    world.ready("alice", "bob")
    world.acknowledge("head")
    head = world.principal("head")
    now, today = clock.now(), today_in_london(clock)
    weeks = dq.weekly_coverage(c.engine, head, world.school, today)
    figures = queries.school_dashboard(c.engine, head, world.school, now, today)
    assert (weeks[-1]["people"], weeks[-1]["trained"], weeks[-1]["acknowledged"]) == \
        (figures["people"], figures["trained_people"], figures["acknowledged_people"]) == (6, 2, 3)
    assert weeks[-1]["trained_pct"] == figures["training_coverage_pct"] == 33.3
    assert all(w["people"] == 0 and w["trained_pct"] is None for w in weeks[:-1])  # nobody before they joined
    clock.advance(timedelta(days=7))  # type: ignore[attr-defined]
    c.directory.publish_policy(world.principal("admin"), "v2", "second")
    world.acknowledge("alice")
    weeks = dq.weekly_coverage(c.engine, head, world.school, today_in_london(clock))
    assert [(w["people"], w["acknowledged"]) for w in weeks[-2:]] == [(6, 3), (6, 1)]


def test_only_who_may_see_the_schools_dashboard_reads_its_series(world: World, stranger: World) -> None:
    now, today = world.c.clock.now(), today_in_london(world.c.clock)
    for who in (world.principal("alice"), world.principal("other_head"), stranger.principal("admin")):
        with pytest.raises(NotFound):
            dq.weekly_replies(world.c.engine, who, world.school, now)
        with pytest.raises(NotFound):
            dq.weekly_coverage(world.c.engine, who, world.school, today)
    assert len(dq.weekly_coverage(world.c.engine, world.principal("admin"), world.school, today)) == dq.WEEKS
