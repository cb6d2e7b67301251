"""The application pages' read queries (services/application_queries.py) on SQLite and PostgreSQL: runner
candidates and an application's runner checklist agree with the approval rule, and each reads only what the
principal may see."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.errors import RuleRefused
from services.application_queries import application_runners, list_my_applications, runner_candidates
from services.eventstore import NotFound
from tests.conftest import World


def by_name(rows: list[dict]) -> dict[str, dict]:  # type: ignore[type-arg]
    return {r["display_name"]: r for r in rows}


def test_candidates_are_the_schools_runners_with_their_training_and_acknowledgement(world: World) -> None:
    world.ready("alice")
    world.train("bob", world.c.today() - timedelta(days=400))  # expired (12 months' validity)
    today = world.c.today()
    rows = runner_candidates(world.c.engine, world.principal("carol"), world.school, today)
    assert [r["display_name"] for r in rows] == ["Alice", "Bob", "Carol", "Head", "Mod", "Vol"]  # not Other *
    people = by_name(rows)
    alice, bob, carol = people["Alice"], people["Bob"], people["Carol"]
    assert alice["eligible"] and alice["acknowledged_current"] and alice["acknowledged_label"] == "v1"
    assert alice["training_valid_until"] == today - timedelta(days=30) + timedelta(days=365)
    assert alice["roles"] == ["staff"] and alice["holds_role"] and alice["current_policy_label"] == "v1"
    assert not bob["eligible"] and bob["training_valid_until"] is None
    assert bob["training_expired_on"] == today - timedelta(days=400) + timedelta(days=365)
    assert bob["acknowledged_label"] is None and not bob["acknowledged_current"]
    assert not carol["eligible"] and carol["training_valid_until"] is None and carol["training_expired_on"] is None
    assert people["Vol"]["roles"] == ["volunteer"]


def test_a_new_policy_version_makes_everyone_acknowledge_again(world: World) -> None:
    world.ready("alice")
    world.c.directory.publish_policy(world.principal("admin"), "v2", "second")
    alice = by_name(runner_candidates(world.c.engine, world.principal("alice"), world.school, world.c.today()))["Alice"]
    assert alice["acknowledged_label"] == "v1" and alice["current_policy_label"] == "v2"
    assert not alice["acknowledged_current"] and not alice["eligible"]
    world.acknowledge("alice")
    alice = by_name(runner_candidates(world.c.engine, world.principal("alice"), world.school, world.c.today()))["Alice"]
    assert alice["acknowledged_label"] == "v2" and alice["eligible"]


def test_a_leaver_is_not_eligible_and_once_gone_is_no_candidate(world: World) -> None:
    world.ready("alice", "bob")
    today = world.c.today()
    world.c.accounts.record_departure(world.principal("head"), world.people["alice"], today + timedelta(days=10),
                                      "moving on")
    world.c.accounts.record_departure(world.principal("head"), world.people["bob"], today, "gone")
    people = by_name(runner_candidates(world.c.engine, world.principal("carol"), world.school, today))
    assert people["Alice"]["leaving_date"] == today + timedelta(days=10) and not people["Alice"]["eligible"]
    assert "Bob" not in people


def test_candidates_only_at_a_school_the_person_serves(world: World, stranger: World) -> None:
    today = world.c.today()
    with pytest.raises(NotFound):
        runner_candidates(world.c.engine, world.principal("carol"), world.other_school, today)
    with pytest.raises(NotFound):
        runner_candidates(world.c.engine, stranger.principal("carol"), world.school, today)
    assert runner_candidates(world.c.engine, world.principal("admin"), world.school, today)  # reads applications
    staff_only = world.principal("other_staff")
    assert [r["display_name"] for r in runner_candidates(world.c.engine, staff_only, world.other_school, today)] == [
        "Other Head", "Other Staff"]


def test_the_checklist_agrees_with_the_approval_rule(world: World) -> None:
    world.ready("alice")
    world.train("bob")  # trained but has not acknowledged
    app_id = world.application("carol", ("bob", "alice"))
    today = world.c.today()
    checklist = application_runners(world.c.engine, world.principal("head"), app_id, today)
    assert [(r["display_name"], r["eligible"]) for r in checklist] == [("Bob", False), ("Alice", True)]
    with pytest.raises(RuleRefused) as refused:
        world.c.applications.approve(world.principal("head"), app_id)
    assert refused.value.conditions == ["Bob has not acknowledged the current policy (v1)"]
    world.acknowledge("bob")
    assert all(r["eligible"] for r in application_runners(world.c.engine, world.principal("head"), app_id, today))
    world.c.applications.approve(world.principal("head"), app_id)


def test_the_checklist_is_for_those_who_may_see_the_application(world: World, stranger: World) -> None:
    app_id = world.application("carol", ("alice", "bob"))
    today = world.c.today()
    for name in ("carol", "alice", "head", "mod", "admin"):  # applicant, runner, leadership, moderator, trust
        assert len(application_runners(world.c.engine, world.principal(name), app_id, today)) == 2
    for principal in (world.principal("vol"), world.principal("other_head"), stranger.principal("head")):
        with pytest.raises(NotFound):
            application_runners(world.c.engine, principal, app_id, today)


def test_my_applications_are_mine_newest_first(world: World, stranger: World) -> None:
    first = world.application("carol", ("alice", "bob"))
    world.c.clock.advance(timedelta(minutes=5))
    second = world.application("carol", ("alice", "bob"))
    world.application("alice", ("alice", "bob"))
    mine = list_my_applications(world.c.engine, world.principal("carol"))
    assert [a["id"] for a in mine] == [second, first]
    assert mine[0]["school_name"].startswith("School A") and mine[0]["status"] == "submitted"
    assert mine[0]["runner_ids"] == [world.people["alice"], world.people["bob"]]
    assert list_my_applications(world.c.engine, world.principal("carol"), [world.other_school]) == []
    assert list_my_applications(world.c.engine, world.principal("head")) == []
    assert list_my_applications(world.c.engine, stranger.principal("carol")) == []
