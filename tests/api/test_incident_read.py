"""The incident read shows what was done (issue 21 item 6): its moderation actions, with the reason told to the
audience, and the parents' take-down steps, through GET /api/v1/incidents/{id} on SQLite and PostgreSQL; its short
reference; migration 0013 fills both lists for incidents recorded before it (decision 0057); and the reads the
web pages add: the school accounts a report may name, one evidence file."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from alembic import command
from alembic.config import Config

import migrations
from api.container import Container
from domain.incident import Report, reference
from infra.clock import SettableClock
from infra.settings import Settings
from services import audit, queries
from services.eventstore import NotFound
from tests.api.test_incidents import REPORT, report
from tests.conftest import T0, World, build_world
from tests.databases import fresh_postgres

HIDE = {"action": "hide", "target": "comment 987 by @angry_parent",
        "reason": "Hidden: it names a child, which our community rules forbid"}


def test_the_incident_read_shows_its_moderation_actions_and_takedown_steps(world: World) -> None:
    iid = report(world)
    got = world.get("head", f"/api/v1/incidents/{iid}").json()
    assert got["moderation_actions"] == [] and got["takedown_steps"] == []
    world.post("head", f"/api/v1/incidents/{iid}/assessment", {
        "risk_level": "medium", "safeguarding_concern": False, "immediate_actions": "Comment hidden",
        "investigator_ids": [str(world.people["mod"])]})
    assert world.post("mod", f"/api/v1/incidents/{iid}/moderation-actions", HIDE).status_code == 200
    world.c.clock.advance(timedelta(minutes=5))
    r = world.post("head", f"/api/v1/incidents/{iid}/moderation-actions",
                   {"action": "block", "target": "@angry_parent", "reason": "Blocked after repeated abuse"})
    assert r.status_code == 200
    assert [m["action"] for m in r.json()["moderation_actions"]] == ["hide", "block"]  # the command's answer too
    world.post("mod", f"/api/v1/incidents/{iid}/takedown-steps",
               {"step": "removal_requested", "parent_name": "Parent of pupil B", "notes": "Phoned at 4pm"})
    for who in ("head", "mod", "admin", "alice"):  # everyone who may see the incident sees what was done
        got = world.get(who, f"/api/v1/incidents/{iid}").json()
        first, second = got["moderation_actions"]
        assert {k: first[k] for k in HIDE} == HIDE
        assert first["by"] == "Mod" and first["role"] == "moderator" and first["at"].startswith("2026-03-10T10:00")
        assert second["by"] == "Head" and second["role"] == "slt" and second["at"].startswith("2026-03-10T10:05")
        [step] = got["takedown_steps"]
        assert step == {"step": "removal_requested", "parent_name": "Parent of pupil B", "notes": "Phoned at 4pm",
                        "by": "Mod", "role": "moderator", "at": step["at"]}
    assert world.get("other_head", f"/api/v1/incidents/{iid}").status_code == 404


def test_an_incident_has_one_short_reference_wherever_it_appears(world: World) -> None:
    iid = report(world)
    one = world.get("head", f"/api/v1/incidents/{iid}").json()
    listed = world.get("head", f"/api/v1/schools/{world.school}/incidents").json()["items"]
    assert re.fullmatch(r"INC-[0-9A-F]{4}-[0-9A-F]{4}", one["reference"])
    assert one["reference"] == reference(UUID(iid)) == next(i["reference"] for i in listed if i["id"] == iid)
    assert reference(UUID(iid)) == "INC-" + iid.replace("-", "")[-8:-4].upper() + "-" + iid[-4:].upper()


def test_the_accounts_a_report_may_name_are_the_schools_open_ones(world: World) -> None:
    account = world.account()
    # a volunteer who runs no account may still name it on a report
    choices = queries.incident_account_choices(world.c.engine, world.principal("vol"), world.school)
    assert [c["id"] for c in choices] == [account] and set(choices[0]) == {"id", "platform", "handle"}
    assert queries.incident_account_choices(world.c.engine, world.principal("other_staff"), world.other_school) == []
    with pytest.raises(NotFound):
        queries.incident_account_choices(world.c.engine, world.principal("other_staff"), world.school)


def test_one_evidence_file_for_those_who_see_the_incident(world: World) -> None:
    iid = UUID(report(world))
    data = b"%PDF-1.4 the saved page"
    evidence_id = world.c.incidents.add_evidence(world.principal("alice"), iid, "page.pdf", "application/pdf", data,
                                                 "saved page")
    for who in ("alice", "head", "admin"):
        record, got = audit.evidence_file(world.c.engine, world.c.files, world.principal(who), iid, evidence_id)
        assert got == data and record["sha256"] == hashlib.sha256(data).hexdigest()
        assert record["filename"] == "page.pdf" and record["content_type"] == "application/pdf"
    for who in ("bob", "other_head"):
        with pytest.raises(NotFound):
            audit.evidence_file(world.c.engine, world.c.files, world.principal(who), iid, evidence_id)
    with pytest.raises(NotFound):
        audit.evidence_file(world.c.engine, world.c.files, world.principal("head"), iid, iid)


def _read(c: Container, w: World, incident_id: UUID) -> dict[str, Any]:
    got = queries.get_incident(c.engine, w.principal("head"), incident_id, c.clock.now())
    return {"moderation_actions": got["moderation_actions"], "takedown_steps": got["takedown_steps"]}


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_migration_0013_fills_the_lists_as_the_projection_keeps_them(store: str, tmp_path: Path) -> None:
    """A read model built by the projection, the two columns dropped (downgrade to 0012) and filled again from the
    audit trail by the migration (upgrade): the same lists, in the same order."""
    url = f"sqlite:///{tmp_path / 'incidents.db'}" if store == "sqlite" else fresh_postgres("incidents0013")
    c = Container(Settings(database_url=url, db_pool_size=2), clock=SettableClock(T0))
    try:
        w = build_world(c, None)  # type: ignore[arg-type]  # services only: no HTTP client needed
        head = w.principal("head")
        fields = {k: v for k, v in REPORT.items() if k not in ("happened_at", "involved", "post_ref")}
        report_ = Report(**fields, happened_at=T0.replace(hour=8), involved=[])
        first, second, quiet = (c.incidents.report(w.principal("alice"), w.school, report_) for _ in range(3))
        for incident_id in (first, second):
            c.incidents.take_moderation_action(head, incident_id, "delete", "post 1", "Deleted: it was abusive")
            c.incidents.record_takedown_step(head, incident_id, "discussion_invited", "Mr A", None)
        c.incidents.take_moderation_action(head, first, "report", "@troll", "Reported to Facebook")
        kept = {i: _read(c, w, i) for i in (first, second, quiet)}
        assert [m["action"] for m in kept[first]["moderation_actions"]] == ["delete", "report"]
        assert kept[quiet] == {"moderation_actions": [], "takedown_steps": []}

        cfg = Config()
        cfg.set_main_option("script_location", str(Path(migrations.__file__).resolve().parent))
        with c.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0012")
        with c.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        assert {i: _read(c, w, i) for i in kept} == kept
    finally:
        c.close()
