"""Projections: each event applied exactly once, rebuild from zero gives identical tables."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import select

from services import readmodel as rm
from services.projections.runner import Projections
from tests.conftest import World


def dump(w: World) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    with w.c.engine.connect() as conn:
        for t in rm.PROJECTED_TABLES:
            rows = conn.execute(select(t)).all()
            out[t.name] = sorted(tuple(str(v) for v in r) for r in rows)
    return out


def test_rebuild_from_zero_gives_identical_tables(world: World) -> None:
    world.ready("alice", "bob")
    a = world.application("carol")
    world.post("head", f"/api/v1/applications/{a}/approve")
    b = world.application("carol")
    world.post("head", f"/api/v1/applications/{b}/reject", {"reason": "no"})
    world.post("alice", f"/api/v1/staff/{world.people['alice']}/personal-accounts",
               {"platform": "x", "handle": "@a", "names_school": True, "disclaimer_present": True})
    before = dump(world)
    position = world.c.projections.position()
    replayed = world.c.projections.rebuild()
    assert replayed == position == world.c.recorder.max_notification_id()
    assert dump(world) == before
    assert sum(len(v) for v in before.values()) > 20


def test_concurrent_catch_ups_apply_each_event_once(world: World) -> None:
    """Several projectors racing over the same log (like several web workers) never double-apply:
    a double insert would raise on the primary keys, a skipped event would show in the dump."""
    c = world.c
    from domain.school import School
    from services.directory import system_actor

    # Write events without projecting them (as the bulk seed does), then race three catch-ups.
    for i in range(30):
        s = School.add(__import__("uuid").uuid4(), world.trust_id, f"Race {i}", f"{700000 + i}", "england",
                       system_actor("test"), c.clock.now())
        c.directory.save(s)
    projectors = [Projections(c.engine, c.projections.table, c.recorder, c.mapper, c.projections.projections,
                              batch_size=7) for _ in range(3)]
    errors: list[BaseException] = []

    def run(p: Projections) -> None:
        try:
            p.catch_up()
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(p,)) for p in projectors]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert c.projections.position() == c.recorder.max_notification_id()
    with c.engine.connect() as conn:
        names = conn.execute(select(rm.schools.c.name).where(rm.schools.c.trust_id == world.trust_id,
                                                             rm.schools.c.name.like("Race %"))).scalars().all()
    assert sorted(names) == sorted(f"Race {i}" for i in range(30))


def test_a_command_returns_only_when_the_read_side_shows_it(world: World) -> None:
    app_id = world.application("carol")
    assert world.c.projections.position() == world.c.recorder.max_notification_id()
    assert world.get("head", f"/api/v1/applications/{app_id}").status_code == 200


HOSTILE = ["O'Brien's \"news\"; DROP TABLE rm_applications; --", "back\\slash \\' %s %(id)s %% $1 $$ $body$",
           "line\nbreak;\nSELECT 1", "Ünïcødé 🎉 — ’quotes’", "E'\\x41' U&'\\0041'"]


def _contains(value: Any, text: str) -> bool:
    if isinstance(value, dict):
        return any(_contains(v, text) for v in value.values())
    if isinstance(value, list):
        return any(_contains(v, text) for v in value)
    return value == text


def test_any_text_round_trips_exactly_through_a_round_and_a_rebuild(world: World) -> None:
    """Text that is SQL, quotes, backslashes, placeholders and dollar quotes is stored exactly, by a command and by
    a rebuild."""
    world.ready("alice", "bob")
    ids = []
    for i, text in enumerate(HOSTILE):
        r = world.post("carol", f"/api/v1/schools/{world.school}/applications",
                       {"aim": text, "audience": text[::-1], "promotion": text, "visibility": "open",
                        "platform": "facebook", "proposed_handle": f"Hostile{i}",
                        "runner_ids": [str(world.people["alice"]), str(world.people["bob"])]})
        assert r.status_code == 201, r.text
        assert (r.json()["aim"], r.json()["audience"]) == (text, text[::-1])
        ids.append(r.json()["id"])
    for text, app_id in zip(HOSTILE, ids, strict=True):
        audit = world.get("admin", "/api/v1/audit/events", entity_id=app_id)
        assert audit.status_code == 200, audit.text
        [submitted] = audit.json()["items"]
        assert _contains(submitted["data"], text)  # the audit row's JSON too
    assert world.get("admin", "/api/v1/audit/verify").json()["ok"] is True
    before = dump(world)
    world.c.projections.rebuild()
    assert dump(world) == before
