"""The inbox through the HTTP API on both stores: deadlines as DESIGN §4 says, SLA states over time,
acknowledgement meets it, escalation, mentions and the dashboards."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.conftest import World


def receive(w: World, acc: Any, received_at: str, **extra: Any) -> Any:
    body = {"account_id": str(acc), "kind": "query", "received_at": received_at, "author_handle": "@parent1",
            "excerpt": "When is the next open evening?"} | extra
    return w.post("mod", f"/api/v1/schools/{w.school}/interactions", body)


@pytest.mark.parametrize("received,due", [
    ("2024-03-30T10:00:00+00:00", "2024-04-02T16:00:00Z"),  # Sat before Easter -> Tue 17:00 BST (England)
    ("2024-05-01T09:00:00+01:00", "2024-05-02T08:00:00Z"),  # Wed -> Thu same time (24 elapsed hours)
    ("2025-12-25T12:00:00+00:00", "2025-12-29T17:00:00Z"),  # Christmas Day (Thu) -> Mon 29th 17:00 GMT
])
def test_due_at_follows_the_policy(world: World, received: str, due: str) -> None:
    acc = world.account()
    r = receive(world, acc, received)
    assert r.status_code == 201, r.text
    assert r.json()["due_at"] == due


def test_states_move_with_time_and_an_acknowledgement_meets_the_sla(world: World) -> None:
    acc = world.account()
    now = world.c.clock.now()  # Tue 10 March 2026 10:00 UTC
    first = receive(world, acc, (now - timedelta(hours=1)).isoformat()).json()
    assert first["sla_state"] == "on_track" and first["due_at"].startswith("2026-03-11T09:00")
    second = receive(world, acc, (now - timedelta(minutes=30)).isoformat(), author_handle="@parent2").json()
    world.c.clock.advance(timedelta(hours=20, minutes=30))
    assert world.get("mod", f"/api/v1/interactions/{first['id']}").json()["sla_state"] == "due_soon"
    r = world.post("alice", f"/api/v1/interactions/{first['id']}/acknowledge")  # a runner may acknowledge
    assert r.status_code == 200 and r.json()["sla_state"] == "met"
    world.c.clock.advance(timedelta(hours=4))
    assert world.get("mod", f"/api/v1/interactions/{second['id']}").json()["sla_state"] == "breached"
    breached = world.get("head", f"/api/v1/schools/{world.school}/interactions", sla_state="breached").json()
    assert [x["id"] for x in breached["items"]] == [second["id"]]
    r = world.post("mod", f"/api/v1/interactions/{second['id']}/respond", {"response": "Thursday at 6pm"})
    assert r.json()["sla_state"] == "met_late"
    q = """query($s: ID!) { schoolDashboard(schoolId: $s) { openOnTrack openDueSoon openBreached compliance7dPct
           breaches30d medianFirstResponseHours } interactions(schoolId: $s, slaState: "met_late") { id } }"""
    data = world.client.post("/graphql", json={"query": q, "variables": {"s": str(world.school)}},
                             headers=world.h("head")).json()["data"]
    assert data["interactions"] == [{"id": second["id"]}]
    d = data["schoolDashboard"]
    assert d["openOnTrack"] == d["openDueSoon"] == d["openBreached"] == 0
    assert d["compliance7dPct"] == 50.0 and d["breaches30d"] == 1 and d["medianFirstResponseHours"] == 23.2  # median of 21.5 h and 25 h


def test_the_sweep_records_one_breach_and_the_reminder_once(world: World) -> None:
    acc = world.account()
    now = world.c.clock.now()
    iid = receive(world, acc, (now - timedelta(hours=22)).isoformat()).json()["id"]
    assert world.c.inbox.sweep_reminders().reminders >= 1
    assert world.c.inbox.sweep_reminders().reminders == 0
    world.c.clock.advance(timedelta(hours=3))
    assert world.c.inbox.sweep_breaches().breaches >= 1
    assert world.c.inbox.sweep_breaches().breaches == 0
    names = [type(e).__name__ for e in world.c.inbox.events.get(__import__("uuid").UUID(iid))]
    assert names == ["InteractionReceived", "ResponseDueSoonReminded", "ResponseDeadlineMissed"]


def test_bad_input_and_idempotent_external_refs(world: World) -> None:
    acc = world.account()
    before = world.event_count()
    r = world.post("mod", f"/api/v1/schools/{world.school}/interactions", {
        "account_id": str(acc), "kind": "shout", "received_at": "2030-01-01T00:00:00+00:00", "author_handle": " ",
        "excerpt": "", "link": "javascript:alert(1)"})
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"kind", "received_at", "author_handle", "excerpt", "link"}
    r = receive(world, "00000000-0000-0000-0000-000000000000", "2026-03-10T09:00:00+00:00")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "account_id"
    assert world.event_count() == before
    a = receive(world, acc, "2026-03-10T09:00:00+00:00", external_ref="fb-comment-1").json()
    b = receive(world, acc, "2026-03-10T09:00:00+00:00", external_ref="fb-comment-1").json()
    assert a["id"] == b["id"] and world.event_count() == before + 1
    assert world.post("alice", f"/api/v1/schools/{world.school}/interactions", {}).status_code in (403, 422)


def test_escalation_creates_a_linked_incident(world: World) -> None:
    acc = world.account()
    iid = receive(world, acc, "2026-03-10T09:00:00+00:00", kind="complaint").json()["id"]
    r = world.post("mod", f"/api/v1/interactions/{iid}/escalate", {"title": "Threatening complaint",
                                                                   "category": "harassing"})
    assert r.status_code == 200
    incident_id = r.json()["incident_id"]
    incident = world.get("head", f"/api/v1/incidents/{incident_id}").json()
    assert incident["interaction_id"] == iid and incident["category"] == "harassing"
    assert world.post("mod", f"/api/v1/interactions/{iid}/escalate", {"title": "again"}).status_code == 409


def test_mentions_are_deduplicated_and_triaged(world: World) -> None:
    body = {"key": "https://news.example/story-1", "title": "Local school praised", "link": "https://news.example/story-1"}
    r1 = world.post("mod", f"/api/v1/schools/{world.school}/mentions", body)
    r2 = world.post("mod", f"/api/v1/schools/{world.school}/mentions", body)
    assert (r1.status_code, r2.status_code) == (201, 200) and r1.json()["id"] == r2.json()["id"]
    waiting = world.get("head", f"/api/v1/schools/{world.school}/mentions", status="awaiting_triage").json()["items"]
    assert [m["id"] for m in waiting] == [r1.json()["id"]]
    r = world.post("mod", f"/api/v1/mentions/{r1.json()['id']}/triage", {"decision": "escalate", "category": "defamatory",
                                                                        "note": "Names a teacher"})
    assert r.status_code == 200 and r.json()["decision"] == "escalate" and r.json()["incident_id"]
    assert world.post("mod", f"/api/v1/mentions/{r1.json()['id']}/triage", {"decision": "ignore"}).status_code == 409
    bad = world.post("mod", f"/api/v1/schools/{world.school}/mentions", {"key": " ", "title": ""})
    assert {e["field"] for e in bad.json()["errors"]} == {"key", "title"}
    assert world.post("alice", f"/api/v1/schools/{world.school}/mentions", body).status_code == 403


def test_inbox_routes_are_404_for_other_tenants(world: World, stranger: World) -> None:
    acc = world.account()
    iid = receive(world, acc, "2026-03-10T09:00:00+00:00").json()["id"]
    mid = world.post("mod", f"/api/v1/schools/{world.school}/mentions", {"key": "k1", "title": "t"}).json()["id"]
    before = world.event_count()
    routes = [("GET", f"/api/v1/schools/{world.school}/interactions", None),
              ("POST", f"/api/v1/schools/{world.school}/interactions", {"account_id": str(acc), "kind": "query",
               "received_at": "2026-03-10T09:00:00+00:00", "author_handle": "a", "excerpt": "b"}),
              ("GET", f"/api/v1/interactions/{iid}", None),
              ("POST", f"/api/v1/interactions/{iid}/acknowledge", None),
              ("POST", f"/api/v1/interactions/{iid}/respond", {}),
              ("POST", f"/api/v1/interactions/{iid}/escalate", {"title": "x"}),
              ("GET", f"/api/v1/schools/{world.school}/mentions", None),
              ("POST", f"/api/v1/schools/{world.school}/mentions", {"key": "k2", "title": "t"}),
              ("POST", f"/api/v1/mentions/{mid}/triage", {"decision": "ignore"}),
              ("POST", f"/api/v1/schools/{world.school}/feeds", {"url": "https://x.example/f", "title": "f"})]
    for w, who in ((stranger, "admin"), (stranger, "mod"), (world, "other_head")):
        for method, path, body in routes:
            r = w.client.request(method, path, json=body, headers=w.h(who))
            assert r.status_code == 404, (who, method, path, r.status_code, r.text)
    assert world.event_count() == before
