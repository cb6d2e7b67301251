"""A projection round that fails part-way leaves nothing behind: its rows and its tracking positions commit
together or not at all; the next round then applies the events once. A command whose projection fails writes
nothing at all."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from domain.application import AccountApplication, BusinessCase
from services import readmodel as rm
from services.audit import verify_chain
from services.authorisation import Action
from tests.conftest import APPLICATION, World

#: Audit chain positions planted ahead of the log, so that the round's chain insert (the last of its writes,
#: after the read model's) hits a duplicate key. Wider than any gap a failed insert leaves in the ids.
AHEAD = 200


def _counts(w: World) -> dict[str, Any]:
    with w.c.engine.connect() as conn:
        tracking = dict(conn.execute(select(rm.projection_tracking.c.name, rm.projection_tracking.c.position)).all())
        return {"tracking": tracking,
                "applications": conn.execute(select(func.count()).select_from(rm.applications)).scalar(),
                "audit_events": conn.execute(select(func.count()).select_from(rm.audit_events)).scalar()}


def test_a_round_failing_part_way_writes_nothing_and_the_next_round_applies_it(world: World) -> None:
    w = world
    alice = w.principal("alice")
    case = BusinessCase("Share school news", "Parents", "Newsletter", (w.people["alice"], w.people["bob"]),
                        "open", "facebook", "FaultNews")
    w.c.applications.submit(alice, w.school, case)  # the chain's last link is current in this process
    planted = _plant(w)
    before = _counts(w)
    try:
        app = AccountApplication.submit(uuid.uuid4(), w.trust_id, w.school, alice.id, case,
                                        w.c.applications._runners(case.runner_ids, w.trust_id),
                                        alice.actor(Action.APPLICATION_SUBMIT, w.school), w.c.clock.now())
        w.c.applications.save(app)  # stored, as the bulk seed stores, and not yet projected
        last = int(w.c.recorder.max_notification_id() or 0)
        with pytest.raises(IntegrityError):
            w.c.projections.catch_up()  # the round fails on its last write
        assert _counts(w) == before  # neither the read model's rows nor any position moved
    finally:
        _unplant(w, planted)
    w.c.projections.catch_up()
    after = _counts(w)
    assert after["applications"] == before["applications"] + 1  # applied once, by the next round
    assert all(after["tracking"][name] >= last for name in (rm.READ_MODEL, "audit_chain"))
    assert verify_chain(w.c.engine, w.c.recorder).ok


def test_a_command_whose_projection_fails_is_not_half_written(world: World) -> None:
    """A command's events are inserted and projected in one transaction: if the projection fails, nothing of the
    command is stored, on either store."""
    w = world
    alice = w.principal("alice")
    case = BusinessCase("Share school news", "Parents", "Newsletter", (w.people["alice"], w.people["bob"]),
                        "open", "facebook", "FaultNews")
    w.c.applications.submit(alice, w.school, case)
    events_before = w.event_count()
    planted = _plant(w)
    before = _counts(w)
    try:
        with pytest.raises(IntegrityError):
            w.c.applications.submit(alice, w.school, case)
        assert _counts(w) == before
        assert w.event_count() == events_before
    finally:
        _unplant(w, planted)
    w.c.applications.submit(alice, w.school, case)
    after = _counts(w)
    assert after["applications"] == before["applications"] + 1
    assert verify_chain(w.c.engine, w.c.recorder).ok


def _plant(w: World) -> list[dict[str, Any]]:
    top = int(w.c.recorder.max_notification_id() or 0)
    planted = [{"position": p, "link": "0" * 64} for p in range(top + 1, top + 1 + AHEAD)]
    with w.c.engine.begin() as conn:
        conn.execute(insert(rm.audit_chain), planted)
    return planted


def _unplant(w: World, planted: list[dict[str, Any]]) -> None:
    with w.c.engine.begin() as conn:
        conn.execute(delete(rm.audit_chain).where(rm.audit_chain.c.position.in_([p["position"] for p in planted])))


def test_over_http_a_failing_projection_is_a_500_not_a_503(world: World) -> None:
    """A read-model constraint the projection breaks is a fault (500, logged with its stack), not the database
    being unreachable (503, 'try again'): the command is refused the same way on both stores."""
    w = world
    w.application("carol")
    events_before = w.event_count()
    planted = _plant(w)
    try:
        r = w.post("carol", f"/api/v1/schools/{w.school}/applications",
                   APPLICATION | {"runner_ids": [str(w.people["alice"]), str(w.people["bob"])]})
        assert r.status_code == 500, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["type"].endswith("/internal")
        assert w.event_count() == events_before
    finally:
        _unplant(w, planted)
    w.application("carol")  # and the next one goes through
    assert verify_chain(w.c.engine, w.c.recorder).ok
