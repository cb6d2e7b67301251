"""The trust team's read queries (services/trust_queries.py), on both stores: the overview's table (red flags first,
filtered, sorted, paged) over the dashboard's rows, the weekly trends, the policy's re-acknowledgement coverage,
the staff directory and the audit trail search, and who may read them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from domain.values import Role
from services import trust_queries as tq
from services.directory import system_actor
from services.eventstore import NotFound
from services.ports import today_in_london
from tests.conftest import World


def school(name: str, **figures: Any) -> dict[str, Any]:
    return {"school_id": name, "school_name": name, "open_breached": 0, "accounts_short_of_trained_runners": 0,
            "overdue_handovers": 0, "incidents_awaiting_assessment": 0, "compliance_30d_pct": None,
            "training_coverage_pct": None, **figures}


ROWS = [school("Ash"), school("Beech", open_breached=2), school("Cedar", overdue_handovers=1, compliance_30d_pct=50.0),
        school("Damson", open_breached=1, incidents_awaiting_assessment=3, compliance_30d_pct=90.0)]


def names(table: tq.SchoolTable) -> list[str]:
    return [r["school_name"] for r in table.rows]


def test_school_table_puts_red_flags_first_then_filters_sorts_and_pages() -> None:
    table = tq.school_table(ROWS)
    assert names(table) == ["Damson", "Beech", "Cedar", "Ash"] and table.flagged == 3 and table.total == 4
    assert table.rows[0]["red_flags"] == 4
    assert table.rows[0]["flags"] == ["Overdue replies", "Incidents awaiting assessment"]
    assert names(tq.school_table(ROWS, flagged_only=True)) == ["Damson", "Beech", "Cedar"]
    assert names(tq.school_table(ROWS, query="CED")) == ["Cedar"]
    assert names(tq.school_table(ROWS, sort="name")) == ["Ash", "Beech", "Cedar", "Damson"]
    assert names(tq.school_table(ROWS, sort="name", descending=True)) == ["Damson", "Cedar", "Beech", "Ash"]
    # the worst compliance first; schools with no figure last, whichever the direction
    assert names(tq.school_table(ROWS, sort="compliance")) == ["Cedar", "Damson", "Ash", "Beech"]
    assert names(tq.school_table(ROWS, sort="compliance", descending=True)) == ["Damson", "Cedar", "Ash", "Beech"]
    assert tq.school_table(ROWS, sort="nonsense").sort == "flags"
    paged = tq.school_table(ROWS, sort="name", page=2, per_page=3)
    assert names(paged) == ["Damson"] and paged.page == 2 and paged.pages == 2
    assert tq.school_table(ROWS, page=99, per_page=3).page == 2  # past the end: the last page
    assert tq.school_table([], page=0).pages == 1


def test_trends_count_replies_in_and_out_of_time_and_training_coverage(world: World) -> None:
    account = world.account()
    mod = world.principal("mod")
    clock = world.c.clock
    t0 = clock.now()  # a Tuesday: each reply is due 24 hours after it arrives
    late = world.c.inbox.receive(mod, world.school, account, "query", t0 - timedelta(hours=1), "@a", "When?", None,
                                 None, None)
    on_time = world.c.inbox.receive(mod, world.school, account, "comment", t0, "@b", "Nice", None, None, None)
    assert late
    world.c.inbox.acknowledge(mod, on_time)
    clock.set(t0 + timedelta(days=2))  # Thursday: the first is past its time, unanswered
    now, today = clock.now(), today_in_london(clock)
    rows = tq.trends(world.c.engine, world.principal("admin"), now, today)
    assert len(rows) == 8 and rows[-1]["week_end"] == today
    last = rows[-1]
    assert (last["replies_due"], last["replies_within_sla"], last["breaches"], last["within_sla_pct"]) == (2, 1, 1, 50.0)
    assert all(r["replies_due"] == 0 and r["within_sla_pct"] is None for r in rows[:-1])
    # alice and bob trained (world.account) of the trust's 8 people in runner roles
    assert last["training_coverage_pct"] == 25.0
    assert rows[0]["training_coverage_pct"] == 0.0  # eight weeks ago nobody's training had started
    other = tq.trends(world.c.engine, world.principal("admin"), now, today, world.other_school)
    assert other[-1]["replies_due"] == 0
    with pytest.raises(NotFound):
        tq.trends(world.c.engine, mod, now, today)
    overdue = tq.overdue_interactions(world.c.engine, world.principal("admin"), world.school, now)
    assert [r["id"] for r in overdue] == [late] and overdue[0]["overdue_hours"] == 25.0


def test_policy_coverage_per_version_and_by_day(world: World) -> None:
    world.acknowledge("alice")
    world.acknowledge("bob")
    admin = world.principal("admin")
    today = today_in_london(world.c.clock)
    found = tq.policy_coverage(world.c.engine, admin, today)
    assert found["people"] == 8 and found["current"]["acknowledged"] == 2 and found["current"]["coverage_pct"] == 25.0
    assert found["over_time"][-1]["acknowledged"] == 2
    world.c.clock.set(world.c.clock.now() + timedelta(days=1))
    world.c.directory.publish_policy(admin, "v2", "second")
    found = tq.policy_coverage(world.c.engine, admin, today_in_london(world.c.clock))
    assert [v["label"] for v in found["versions"]] == ["v2", "v1"]
    assert found["current"]["label"] == "v2" and found["current"]["acknowledged"] == 0
    assert found["versions"][1]["acknowledged"] == 2
    with pytest.raises(NotFound):
        tq.policy_coverage(world.c.engine, world.principal("head"), today)


def test_staff_directory_searches_filters_and_pages(world: World, stranger: World) -> None:
    world.ready("alice")
    world.train("bob")
    admin = world.principal("admin")
    today = today_in_london(world.c.clock)
    everyone = tq.staff_directory(world.c.engine, admin, today)
    assert everyone["total"] == 9  # the admin and the eight staff, not the other trust's
    found = tq.staff_directory(world.c.engine, admin, today, query="ALI")
    [alice] = found["rows"]
    assert alice["training_valid"] and alice["acknowledged_current"] and alice["roles"] == [
        f"Staff at {_school_name(world)}"]
    untrained = tq.staff_directory(world.c.engine, admin, today, school_id=world.school, state="untrained")
    assert {r["display_name"] for r in untrained["rows"]} == {"Head", "Mod", "Carol", "Vol"}
    unacked = tq.staff_directory(world.c.engine, admin, today, school_id=world.school, state="unacknowledged")
    assert "Bob" in {r["display_name"] for r in unacked["rows"]}
    paged = tq.staff_directory(world.c.engine, admin, today, page=3, per_page=4)
    assert paged["page"] == 3 and paged["pages"] == 3 and len(paged["rows"]) == 1
    with pytest.raises(NotFound):
        tq.staff_directory(world.c.engine, world.principal("head"), today)
    with pytest.raises(NotFound):
        tq.staff_directory(world.c.engine, admin, today, school_id=stranger.school)


def _school_name(world: World) -> str:
    from services import queries
    return str(queries.get_school(world.c.engine, world.principal("admin"), world.school)["name"])


def test_audit_search_by_person_school_entity_type_and_dates(world: World, stranger: World) -> None:
    world.ready("alice")
    admin = world.principal("admin")
    engine = world.c.engine
    by_alice = tq.search_audit(engine, admin, tq.AuditSearch(person="alice"))
    types = {e["type"] for e in by_alice["items"]}
    assert {"PolicyAcknowledged", "TrainingRecorded"} <= types
    assert by_alice["people"][0]["display_name"] == "Alice"
    acked = tq.search_audit(engine, admin, tq.AuditSearch(person="alice", event_type="PolicyAcknowledged"))
    assert [e["actor"]["display_name"] for e in acked["items"]] == ["Alice"]
    other = tq.search_audit(engine, admin, tq.AuditSearch(school_id=world.other_school))
    assert other["items"] and all(e["school"] and e["school"].startswith("School B") for e in other["items"])
    person = tq.search_audit(engine, admin, tq.AuditSearch(entity_id=world.people["alice"]))
    assert person["items"] and {e["type"] for e in person["items"]} >= {"PolicyAcknowledged", "TrainingRecorded"}
    today = today_in_london(world.c.clock)
    assert not tq.search_audit(engine, admin, tq.AuditSearch(since=today + timedelta(days=1)))["items"]
    assert tq.search_audit(engine, admin, tq.AuditSearch(since=today, until=today))["items"]
    newest = tq.search_audit(engine, admin, tq.AuditSearch(), per_page=2)
    assert newest["has_next"] and newest["items"][0]["position"] > newest["items"][1]["position"]
    # nothing of another trust, and the DPO may search too; a school's head may not
    theirs = tq.search_audit(engine, stranger.principal("admin"), tq.AuditSearch(person="alice"))
    assert theirs["items"] and world.people["alice"] not in {e["entity_id"] for e in theirs["items"]}
    assert {p["id"] for p in theirs["people"]} == {stranger.people["alice"]}
    world.c.directory.assign_trust_role(world.people["carol"], Role.DPO, system_actor("test"))
    assert tq.search_audit(engine, world.principal("carol"), tq.AuditSearch(person="alice"))["items"]
    with pytest.raises(NotFound):
        tq.search_audit(engine, world.principal("head"), tq.AuditSearch())
    with pytest.raises(NotFound):
        tq.search_audit(engine, admin, tq.AuditSearch(school_id=stranger.school))
