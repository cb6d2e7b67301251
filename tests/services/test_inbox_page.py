"""The inbox page's read (services/inbox_queries.py `inbox_page`), on both stores: reply-due order, the state
and account filters with each trust's due-soon window, paging by one row more, one statement per page, and who
may read what."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import event

from domain.trust import TrustSettings
from infra.clock import SettableClock
from services import inbox_queries as iq
from services.eventstore import NotFound
from tests.conftest import World


def _receive(w: World, account: UUID, hours_ago: float, text: str) -> UUID:
    at = w.c.clock.now() - timedelta(hours=hours_ago)
    return w.c.inbox.receive(w.principal("mod"), w.school, account, "comment", at, "@parent", text, None, None, None)


def _texts(page: dict[str, Any]) -> list[str]:
    return [i["excerpt"] for i in page["items"]]


@pytest.fixture
def inbox(world: World) -> tuple[World, UUID, dict[str, UUID]]:
    """Received on a working day (T0 is a weekday), due 24 hours later: 30 hours ago is overdue, 22 hours ago is
    due soon (2 hours left), 2 hours ago is on track; one answered, one closed unanswered."""
    assert isinstance(world.c.clock, SettableClock)
    acc = world.account()
    ids = {"overdue": _receive(world, acc, 30, "overdue"), "due soon": _receive(world, acc, 22, "due soon"),
           "on track": _receive(world, acc, 2, "on track"), "answered": _receive(world, acc, 5, "answered"),
           "closed": _receive(world, acc, 4, "closed")}
    world.c.inbox.acknowledge(world.principal("mod"), ids["answered"])
    world.c.inbox.close_interaction(world.principal("mod"), ids["closed"], "spam")
    return world, acc, ids


def test_states_order_and_tags(inbox: tuple[World, UUID, dict[str, UUID]]) -> None:
    w, acc, _ = inbox
    now, mod = w.c.clock.now(), w.principal("mod")
    page = iq.inbox_page(w.c.engine, mod, w.school, now)
    assert _texts(page) == ["overdue", "due soon", "on track"]  # reply due first
    assert [i["sla_state"] for i in page["items"]] == ["breached", "due_soon", "on_track"]
    assert page["items"][0]["handle"] == "OakfieldNews" and page["has_next"] is False
    for state, expected in (("overdue", ["overdue"]), ("due_soon", ["due soon"]), ("on_track", ["on track"]),
                            ("answered", ["answered"])):
        assert _texts(iq.inbox_page(w.c.engine, mod, w.school, now, state)) == expected
    everything = iq.inbox_page(w.c.engine, mod, w.school, now, "all")  # the latest due first
    assert _texts(everything) == ["on track", "closed", "answered", "due soon", "overdue"]
    assert [i["sla_state"] for i in everything["items"]] == ["on_track", "closed", "met", "due_soon", "breached"]
    assert iq.inbox_page(w.c.engine, mod, w.school, now, account_id=acc)["items"]
    assert iq.inbox_page(w.c.engine, mod, w.school, now, account_id=w.school)["items"] == []


def test_the_due_soon_line_is_the_trusts_setting(inbox: tuple[World, UUID, dict[str, UUID]]) -> None:
    w, _, _ = inbox
    w.c.directory.change_trust_settings(w.principal("admin"), TrustSettings(due_soon_hours=1))
    now = w.c.clock.now()
    assert _texts(iq.inbox_page(w.c.engine, w.principal("mod"), w.school, now, "due_soon")) == []
    assert _texts(iq.inbox_page(w.c.engine, w.principal("mod"), w.school, now, "on_track")) == ["due soon",
                                                                                              "on track"]


def test_pages_and_one_statement_per_page(inbox: tuple[World, UUID, dict[str, UUID]]) -> None:
    w, _, _ = inbox
    now, mod = w.c.clock.now(), w.principal("mod")
    first = iq.inbox_page(w.c.engine, mod, w.school, now, "all", per_page=2)
    second = iq.inbox_page(w.c.engine, mod, w.school, now, "all", page=2, per_page=2)
    third = iq.inbox_page(w.c.engine, mod, w.school, now, "all", page=3, per_page=2)
    assert (first["has_next"], second["has_next"], third["has_next"]) == (True, True, False)
    assert len({i["id"] for p in (first, second, third) for i in p["items"]}) == 5
    selects: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)
    event.listen(w.c.engine, "before_cursor_execute", count)
    try:
        iq.inbox_page(w.c.engine, mod, w.school, now, "all", per_page=2)
        two = len(selects)
        iq.inbox_page(w.c.engine, mod, w.school, now, "all", per_page=50)
    finally:
        event.remove(w.c.engine, "before_cursor_execute", count)
    # one read of the rows, whatever the page size (PostgreSQL adds its row-level-security scope: set_config)
    assert len([s for s in selects if "rm_interactions" in s]) == 2
    assert len(selects) == 2 * two


def test_runners_see_their_accounts_and_other_schools_see_nothing(inbox: tuple[World, UUID, dict[str, UUID]],
                                                                   stranger: World) -> None:
    w, _, _ = inbox
    now = w.c.clock.now()
    assert _texts(iq.inbox_page(w.c.engine, w.principal("alice"), w.school, now)) == ["overdue", "due soon",
                                                                                     "on track"]
    assert iq.inbox_page(w.c.engine, w.principal("carol"), w.school, now)["items"] == []
    with pytest.raises(NotFound):
        iq.inbox_page(w.c.engine, w.principal("other_head"), w.school, now)
    with pytest.raises(NotFound):
        iq.inbox_page(w.c.engine, stranger.principal("admin"), w.school, now)


def test_school_feeds_are_listed_for_those_who_read_its_mentions(world: World, stranger: World) -> None:
    feed = world.c.inbox.register_feed(world.principal("mod"), world.school, "https://news.example/a.rss", "News")
    assert iq.school_feeds(world.c.engine, world.principal("mod"), world.school) == [
        {"id": feed, "url": "https://news.example/a.rss", "title": "News"}]
    for outsider in (world.principal("other_head"), stranger.principal("admin")):
        with pytest.raises(NotFound):
            iq.school_feeds(world.c.engine, outsider, world.school)
