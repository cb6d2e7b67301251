"""Incidents end to end through the real HTTP app on SQLite and PostgreSQL: the workflow and who can see what."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.conftest import World

REPORT = {"title": "Abusive comments under sports day post", "category": "harassing",
          "description": "Several comments name a pupil and a teacher.", "happened_at": "2026-03-09T18:30:00+00:00",
          "involved": [{"kind": "pupil", "name": "Pupil A"}, {"kind": "parent", "name": "Parent of pupil B"}],
          "post_ref": "https://www.facebook.com/Oakfield/posts/123"}


def report(w: World, who: str = "alice", **extra: Any) -> str:
    r = w.post(who, f"/api/v1/schools/{w.school}/incidents", REPORT | extra)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_the_whole_workflow_from_report_to_police_referral_and_reopening(world: World) -> None:
    iid = report(world)
    got = world.get("head", f"/api/v1/incidents/{iid}").json()
    assert got["awaiting_assessment"] is True and got["assessment_due_at"].startswith("2026-03-11T10:00")
    r = world.post("head", f"/api/v1/incidents/{iid}/assessment", {
        "risk_level": "high", "safeguarding_concern": True, "immediate_actions": "Comments hidden; DSL informed",
        "investigator_ids": [str(world.people["mod"])]})
    assert r.status_code == 200 and r.json()["risk_level"] == "high" and r.json()["awaiting_assessment"] is False
    steps = [
        ("head", "staff", {"person_id": str(world.people["bob"]), "involvement": "named in comments"}),
        ("head", "agencies", {"agency": "lado", "reference": "LADO-77", "contact": "J. Smith"}),
        ("head", "agencies", {"agency": "platform", "reference": "FB-REPORT-1"}),
        ("head", "police-referral", {"crime_reference": "CR/123/26", "officer": "PC 1234 Jones",
                                     "referred_on": "2026-03-10"}),
        ("head", "disciplinary-referral", {"subject_id": str(world.people["bob"]), "summary": "replied from a personal account"}),
        ("mod", "moderation-actions", {"action": "hide", "target": "comment 987",
                                       "reason": "Hidden: it names a child, which our community rules forbid"}),
        ("mod", "takedown-steps", {"step": "removal_requested", "parent_name": "Parent of pupil B"}),
        ("mod", "takedown-steps", {"step": "discussion_invited", "parent_name": "Parent of pupil B"}),
        ("mod", "takedown-steps", {"step": "complaints_procedure_referred", "parent_name": "Parent of pupil B"}),
        ("mod", "notes", {"text": "Parent agreed to remove the post"}),
        ("head", "resolve", {"outcome": "Post removed; LADO advice followed"}),
    ]
    for who, path, body in steps:
        r = world.post(who, f"/api/v1/incidents/{iid}/{path}", body)
        assert r.status_code == 200, (path, r.text)
    got = world.get("head", f"/api/v1/incidents/{iid}").json()
    assert got["status"] == "resolved" and got["crime_reference"] == "CR/123/26"
    assert [a["agency"] for a in got["agencies"]] == ["lado", "platform", "police"]
    assert world.post("head", f"/api/v1/incidents/{iid}/notes", {"text": "late"}).status_code == 200
    assert world.post("head", f"/api/v1/incidents/{iid}/assessment", {
        "risk_level": "low", "safeguarding_concern": False, "immediate_actions": "x"}).status_code == 409
    r = world.post("head", f"/api/v1/incidents/{iid}/reopen", {"reason": "New comments appeared"})
    assert r.status_code == 200 and r.json()["status"] == "open"
    trail = world.get("admin", "/api/v1/audit/events", entity_id=iid).json()["items"]
    types = [t["type"] for t in trail]
    assert types[0] == "IncidentReported" and types[-1] == "IncidentReopened" and len(trail) == 16
    assert [t["position"] for t in trail] == sorted(t["position"] for t in trail)
    moderation = next(t for t in trail if t["type"] == "ModerationActionTaken")
    assert moderation["reason"].startswith("Hidden: it names a child")
    assert moderation["actor"]["display_name"] == "Mod" and moderation["actor"]["role"] == "moderator"
    # bob's trail includes what names him
    bob_trail = world.get("admin", "/api/v1/audit/events", entity_id=str(world.people["bob"])).json()["items"]
    assert {"StaffInvolvementRecorded", "DisciplinaryReferralMade"} <= {t["type"] for t in bob_trail}


def test_bad_input_names_fields_and_writes_nothing(world: World) -> None:
    before = world.event_count()
    r = world.post("alice", f"/api/v1/schools/{world.school}/incidents", REPORT | {
        "title": "", "category": "gossip", "happened_at": "2030-01-01T00:00:00+00:00",
        "involved": [{"kind": "alien", "name": ""}], "restricted": True})
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"title", "category", "happened_at", "involved[0].kind",
                                                        "involved[0].name", "named_slt_ids"}
    r = world.post("alice", f"/api/v1/schools/{world.school}/incidents", REPORT | {
        "restricted": True, "named_slt_ids": [str(world.people["bob"])]})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "named_slt_ids[0]"
    iid = report(world)
    before = world.event_count()
    r = world.post("mod", f"/api/v1/incidents/{iid}/moderation-actions", {"action": "delete", "target": "c1",
                                                                          "reason": " "})
    assert r.status_code in (404, 422)
    world.post("head", f"/api/v1/incidents/{iid}/assessment", {"risk_level": "low", "safeguarding_concern": False,
                                                               "immediate_actions": "none",
                                                               "investigator_ids": [str(world.people["mod"])]})
    before = world.event_count()
    r = world.post("mod", f"/api/v1/incidents/{iid}/moderation-actions", {"action": "delete", "target": "c1",
                                                                          "reason": " "})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reason"
    r = world.post("head", f"/api/v1/incidents/{iid}/police-referral", {"crime_reference": "", "officer": "",
                                                                        "referred_on": "2030-01-01"})
    assert {e["field"] for e in r.json()["errors"]} == {"crime_reference", "officer", "referred_on"}
    assert world.event_count() == before


def test_evidence_upload_hashes_and_limits(world: World) -> None:
    iid = report(world)
    png = b"\x89PNG\r\n\x1a\n" + b"screenshot" * 100
    r = world.client.post(f"/api/v1/incidents/{iid}/evidence", headers=world.h("alice"),
                          files={"file": ("screenshot.png", png, "image/png")}, data={"description": "the comment"})
    assert r.status_code == 201, r.text
    import hashlib

    assert r.json()["sha256"] == hashlib.sha256(png).hexdigest() and r.json()["size"] == len(png)
    bad = world.client.post(f"/api/v1/incidents/{iid}/evidence", headers=world.h("alice"),
                            files={"file": ("run.exe", b"MZ...", "application/x-msdownload")})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "file"
    empty = world.client.post(f"/api/v1/incidents/{iid}/evidence", headers=world.h("alice"),
                              files={"file": ("a.txt", b"", "text/plain")})
    assert empty.status_code == 422
    assert world.get("head", f"/api/v1/incidents/{iid}").json()["evidence_count"] == 1


def test_assessment_overdue_after_one_working_day_and_dashboards(world: World) -> None:
    world.c.clock.set(world.c.clock.now().replace(day=13, hour=16))  # Friday 13 March 2026, 16:00 UTC
    iid = report(world)
    got = world.get("head", f"/api/v1/incidents/{iid}").json()
    assert got["assessment_due_at"].startswith("2026-03-16T16:00")  # Monday, not Saturday
    world.c.clock.advance(timedelta(days=3, hours=1))
    assert world.get("head", f"/api/v1/incidents/{iid}").json()["assessment_overdue"] is True
    q = "query($s: ID!) { schoolDashboard(schoolId: $s) { openIncidents incidentsAwaitingAssessment incidentsAssessmentOverdue policeEscalations30d incidentsHigh } }"
    d = world.client.post("/graphql", json={"query": q, "variables": {"s": str(world.school)}},
                          headers=world.h("head")).json()["data"]["schoolDashboard"]
    assert d == {"openIncidents": 1, "incidentsAwaitingAssessment": 1, "incidentsAssessmentOverdue": 1,
                 "policeEscalations30d": 0, "incidentsHigh": 0}
    world.post("head", f"/api/v1/incidents/{iid}/assessment", {"risk_level": "high", "safeguarding_concern": True,
                                                               "immediate_actions": "DSL informed"})
    world.post("head", f"/api/v1/incidents/{iid}/police-referral", {"crime_reference": "CR/1", "officer": "PC A",
                                                                    "referred_on": "2026-03-16"})
    q2 = "{ trustDashboard { openIncidents incidentsHigh policeEscalations30d incidentsAwaitingAssessment } }"
    d = world.client.post("/graphql", json={"query": q2}, headers=world.h("admin")).json()["data"]["trustDashboard"]
    assert d == {"openIncidents": 1, "incidentsHigh": 1, "policeEscalations30d": 1, "incidentsAwaitingAssessment": 0}


# ----- visibility matrix -----
VIEWERS = ["admin", "head", "mod", "alice", "bob", "carol", "vol", "other_head", "other_staff"]
#: incident kind -> who sees it. alice reports; mod is a named investigator on "investigated".
EXPECTED = {
    "ordinary": {"admin", "head", "head2", "alice"},
    "investigated": {"admin", "head", "head2", "alice", "mod"},
    "restricted": {"admin", "head2"},
}


@pytest.mark.parametrize("kind", list(EXPECTED))
def test_visibility_matrix(world: World, stranger: World, kind: str) -> None:
    p = world.principal("admin")
    head2 = world.c.directory.add_staff(p, world.school, "Deputy Head", "deputy@x.example", ["slt"]).person_id
    world.people["head2"] = head2
    if kind == "restricted":
        iid = report(world, "alice", restricted=True, named_slt_ids=[str(head2)], title="Allegation against staff")
    else:
        iid = report(world)
    if kind == "investigated":
        world.post("head", f"/api/v1/incidents/{iid}/assessment", {
            "risk_level": "medium", "safeguarding_concern": False, "immediate_actions": "review",
            "investigator_ids": [str(world.people["mod"])]})
    expected = EXPECTED[kind]
    q = "query($s: ID!) { incidents(schoolId: $s) { id } }"
    for who in [*VIEWERS, "head2"]:
        if kind == "restricted" and who == "alice":
            continue  # the reporter of a restricted allegation: see the next assertion
        sees = who in expected
        r = world.get(who, f"/api/v1/incidents/{iid}")
        assert (r.status_code == 200) is sees, (kind, who, r.status_code)
        if not sees:
            assert r.status_code == 404 and "Allegation" not in r.text
        listed = {i["id"] for i in world.get(who, f"/api/v1/schools/{world.school}/incidents").json().get("items", [])}
        assert (iid in listed) is sees, (kind, who)
        gql = world.client.post("/graphql", headers=world.h(who), json={"query": q, "variables": {"s": str(world.school)}}).json()
        ids = {i["id"] for i in (gql.get("data") or {}).get("incidents") or []}
        assert (iid in ids) is sees, (kind, who)
        trail = world.get(who, "/api/v1/audit/events", entity_id=iid)
        assert (trail.status_code == 200) is sees, (kind, who, trail.status_code)
    if kind == "restricted":
        assert world.get("alice", f"/api/v1/incidents/{iid}").status_code == 404
    for who in ("admin", "head", "alice"):
        assert stranger.get(who, f"/api/v1/incidents/{iid}").status_code == 404
        assert stranger.get(who, "/api/v1/audit/events", entity_id=iid).status_code == 404
