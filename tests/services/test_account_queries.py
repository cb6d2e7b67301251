"""The account and handover pages' read queries (services/account_queries.py), on both stores: eligibility as the
model decides it, "checked today" in London, the rotation a leaver leaves behind, and who may read what."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from uuid import UUID

import pytest

from domain.credentials import Credentials
from domain.errors import AlreadyExists
from services import account_queries as aq
from services.eventstore import Forbidden, NotFound
from services.ports import today_in_london
from tests.conftest import World

CREDS = Credentials("page@example.org", "s3cret-for-tests", None, None, [], None)


def _now(w: World) -> tuple[datetime, date]:
    return w.c.clock.now(), today_in_london(w.c.clock)


def test_candidates_are_the_schools_people_with_their_eligibility(world: World, stranger: World) -> None:
    world.ready("alice", "bob")
    world.train("carol")  # trained, but has not acknowledged the policy
    today = today_in_london(world.c.clock)
    rows = aq.account_candidates(world.c.engine, world.principal("mod"), world.school, today)
    by_name = {r["display_name"]: r for r in rows}
    assert set(by_name) == {"Head", "Mod", "Alice", "Bob", "Carol", "Vol"}  # not the other school's people
    assert by_name["Alice"]["eligible"] is True and by_name["Alice"]["acknowledged_current"] is True
    assert by_name["Alice"]["training_valid_until"] is not None and by_name["Alice"]["roles"] == ["staff"]
    assert by_name["Carol"]["eligible"] is False and by_name["Carol"]["acknowledged_current"] is False
    assert by_name["Vol"]["training_valid_until"] is None and by_name["Vol"]["current_policy_label"] == "v1"
    with pytest.raises(Forbidden):
        aq.account_candidates(world.c.engine, world.principal("alice"), world.school, today)
    with pytest.raises(NotFound):
        aq.account_candidates(world.c.engine, world.principal("other_head"), world.school, today)
    with pytest.raises(NotFound):
        aq.account_candidates(world.c.engine, stranger.principal("admin"), world.school, today)


def test_overview_names_the_lead_and_says_whether_it_was_checked_today(world: World) -> None:
    acc = world.account(lead="bob")
    now, today = _now(world)
    [row] = aq.accounts_overview(world.c.engine, world.principal("mod"), world.school, today, now)
    assert row["id"] == acc and row["lead_name"] == "Bob" and row["checked_today"] is False
    world.c.accounts.record_check(world.principal("alice"), acc, None)
    [row] = aq.accounts_overview(world.c.engine, world.principal("alice"), world.school, today, now)
    assert row["checked_today"] is True  # a runner sees the accounts they run
    assert aq.accounts_overview(world.c.engine, world.principal("carol"), world.school, today, now) == []
    # "today" is a day in London: a check at 23:30 UTC on 31 March (BST) was made on 1 April
    assert aq.checked_on(world.c.clock.now().replace(month=3, day=31, hour=23, minute=30),
                         world.c.clock.now().date().replace(month=4, day=1))


def test_detail_lists_the_runners_lead_first_with_their_eligibility(world: World) -> None:
    acc = world.account(lead="bob")
    world.c.accounts.record_check(world.principal("alice"), acc, "all quiet")
    world.c.clock.advance(timedelta(days=2))
    world.c.accounts.record_check(world.principal("mod"), acc, None)
    now, today = _now(world)
    a = aq.account_detail(world.c.engine, world.principal("mod"), acc, today, now)
    assert [p["display_name"] for p in a["people"]] == ["Bob", "Alice"] and a["lead_name"] == "Bob"
    assert all(p["eligible"] for p in a["people"])
    assert a["checked_today"] is True and a["days_checked"] == 2
    assert [(c["checked_by"], c["note"]) for c in a["checks"]] == [("Mod", None), ("Alice", "all quiet")]
    assert a["rotations"] == [] and a["open_handovers"] == []
    seen_by_runner = aq.account_detail(world.c.engine, world.principal("alice"), acc, today, now)
    assert seen_by_runner["people"][0] == {"id": world.people["bob"], "display_name": "Bob", "eligible": None}
    world.c.clock.advance(timedelta(days=6))
    now, today = _now(world)
    a = aq.account_detail(world.c.engine, world.principal("mod"), acc, today, now)
    assert a["checked_today"] is False and a["days_checked"] == 1  # the first check is 8 days old
    for outsider in ("carol", "other_head"):
        with pytest.raises(NotFound):
            aq.account_detail(world.c.engine, world.principal(outsider), acc, today, now)


def test_a_leaver_leaves_a_handover_and_a_rotation_until_new_credentials_are_stored(world: World) -> None:
    acc = world.account(lead="alice", runners=("alice", "bob"))
    world.ready("carol")
    world.c.accounts.add_runner(world.principal("mod"), acc, world.people["carol"])
    world.c.accounts.store_credentials(world.principal("mod"), acc, CREDS, None)
    leaving = (world.c.clock.now() + timedelta(days=3)).date()
    [handover] = world.c.accounts.record_departure(world.principal("mod"), world.people["alice"], leaving, "new job")
    now, today = _now(world)
    a = aq.account_detail(world.c.engine, world.principal("mod"), acc, today, now)
    assert a["rotations"] == [{"leaver_id": world.people["alice"], "effective_on": leaving, "leaver_name": "Alice",
                               "due": False}]
    assert [(h["id"], h["leaver_name"], h["overdue"]) for h in a["open_handovers"]] == [(handover, "Alice", False)]
    assert a["people"][0]["eligible"] is False and a["people"][0]["leaving_date"] == leaving
    [row] = aq.handover_queue(world.c.engine, world.principal("mod"), world.school, today)
    assert (row["status"], row["credentials_changed"], row["rotation_possible"], row["done"]) == (
        "open", False, False, False)

    world.c.accounts.complete_handover(world.principal("mod"), handover, "lead_transferred", world.people["bob"],
                                       None)
    world.c.accounts.store_credentials(world.principal("mod"), acc, CREDS, "before she leaves")  # does not count
    row = aq.handover_detail(world.c.engine, world.principal("mod"), handover, today)
    assert (row["status"], row["credentials_changed"], row["done"]) == ("completed", False, False)

    world.c.clock.advance(timedelta(days=3))  # the leaving date: her access has ended
    now, today = _now(world)
    row = aq.handover_detail(world.c.engine, world.principal("head"), handover, today)
    assert row["rotation_possible"] is True and row["done"] is False
    assert aq.account_detail(world.c.engine, world.principal("mod"), acc, today, now)["rotations"][0]["due"] is True
    world.c.accounts.store_credentials(world.principal("mod"), acc, CREDS, "Alice has left")
    row = aq.handover_detail(world.c.engine, world.principal("mod"), handover, today)
    assert (row["credentials_changed"], row["done"]) == (True, True)
    assert aq.account_detail(world.c.engine, world.principal("mod"), acc, today, now)["rotations"] == []
    with pytest.raises(NotFound):
        aq.handover_detail(world.c.engine, world.principal("bob"), handover, today)
    with pytest.raises(NotFound):
        aq.handover_detail(world.c.engine, world.principal("other_head"), handover, today)


def test_a_handover_closing_the_account_needs_no_rotation(world: World) -> None:
    world.account(lead="alice")
    leaving = today_in_london(world.c.clock) + timedelta(days=1)
    [handover] = world.c.accounts.record_departure(world.principal("mod"), world.people["alice"], leaving, None)
    world.c.accounts.complete_handover(world.principal("mod"), handover, "account_closed", None, "no longer needed")
    row = aq.handover_detail(world.c.engine, world.principal("mod"), handover, today_in_london(world.c.clock))
    assert (row["account_status"], row["credentials_changed"], row["done"]) == ("closed", True, True)


def test_the_queue_puts_the_overdue_first_and_the_done_last(world: World) -> None:
    acc = world.account(lead="alice", runners=("alice", "bob"))
    world.ready("carol", "vol")
    for name in ("carol", "vol"):
        world.c.accounts.add_runner(world.principal("mod"), acc, world.people[name])
    today = today_in_london(world.c.clock)
    [late] = world.c.accounts.record_departure(world.principal("mod"), world.people["vol"], today, None)
    [later] = world.c.accounts.record_departure(world.principal("mod"), world.people["carol"],
                                                today + timedelta(days=5), None)
    [lead] = world.c.accounts.record_departure(world.principal("mod"), world.people["alice"],
                                               today + timedelta(days=1), None)
    world.c.accounts.complete_handover(world.principal("mod"), lead, "lead_transferred", world.people["bob"], None)
    rows = aq.handover_queue(world.c.engine, world.principal("mod"), world.school, today)
    assert [(r["id"], r["overdue"]) for r in rows] == [(late, True), (later, False), (lead, False)]


def test_applications_awaiting_an_account_and_one_account_per_application(world: World) -> None:
    world.ready("alice", "bob")
    app_id = world.application("carol", ("alice", "bob"))
    assert aq.applications_awaiting_account(world.c.engine, world.principal("mod"), world.school) == []
    assert world.post("head", f"/api/v1/applications/{app_id}/approve").status_code == 200
    [row] = aq.applications_awaiting_account(world.c.engine, world.principal("mod"), world.school)
    assert row["id"] == app_id and [r["display_name"] for r in row["runners"]] == ["Alice", "Bob"]
    assert aq.applications_awaiting_account(world.c.engine, world.principal("alice"), world.school) == []
    today = today_in_london(world.c.clock)
    one = aq.application_for_account(world.c.engine, world.principal("mod"), app_id, today)
    assert one["account_id"] is None and [p["eligible"] for p in one["people"]] == [True, True]
    acc = world.c.accounts.create(world.principal("mod"), world.school, app_id, None, None)
    assert aq.applications_awaiting_account(world.c.engine, world.principal("mod"), world.school) == []
    assert aq.application_for_account(world.c.engine, world.principal("mod"), app_id, today)["account_id"] == acc
    with pytest.raises(AlreadyExists):
        world.c.accounts.create(world.principal("mod"), world.school, app_id, None, None)
    for outsider in ("alice", "other_head"):
        with pytest.raises(NotFound):
            aq.application_for_account(world.c.engine, world.principal(outsider), app_id, today)
    assert isinstance(acc, UUID)
