"""Another trust's or another school's data is 404 on every route — never 403, never the data."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import APPLICATION, World


def _routes(w: World, app_id: str, acc: str = "", handover: str = "") -> list[tuple[str, str, Any]]:
    s, p = w.school, w.people["alice"]
    return [
        ("GET", f"/api/v1/schools/{s}/accounts", None),
        ("POST", f"/api/v1/schools/{s}/accounts", {"application_id": app_id}),
        ("GET", f"/api/v1/accounts/{acc}", None),
        ("PUT", f"/api/v1/accounts/{acc}/credentials", {"login": "l", "password": "p"}),
        ("POST", f"/api/v1/accounts/{acc}/credentials/reveal", None),
        ("POST", f"/api/v1/accounts/{acc}/runners", {"person_id": str(w.people["carol"])}),
        ("DELETE", f"/api/v1/accounts/{acc}/runners/{w.people['bob']}", None),
        ("POST", f"/api/v1/accounts/{acc}/lead", {"person_id": str(w.people["bob"])}),
        ("POST", f"/api/v1/accounts/{acc}/monitoring-checks", {}),
        ("POST", f"/api/v1/accounts/{acc}/suspend", {"reason": "r"}),
        ("POST", f"/api/v1/accounts/{acc}/close", {"reason": "r"}),
        ("GET", f"/api/v1/schools/{s}/handovers", None),
        ("POST", f"/api/v1/handovers/{handover}/complete", {"outcome": "account_closed"}),
        ("POST", f"/api/v1/staff/{w.people['carol']}/departure", {"leaving_date": "2026-04-01"}),
        ("GET", f"/api/v1/schools/{s}", None),
        ("GET", f"/api/v1/schools/{s}/staff", None),
        ("POST", f"/api/v1/schools/{s}/staff", {"display_name": "X", "email": "x@y.example", "roles": ["staff"]}),
        ("GET", f"/api/v1/staff/{p}", None),
        ("POST", f"/api/v1/staff/{p}/training", {"course": "C", "completed_on": "2026-01-01"}),
        ("POST", f"/api/v1/staff/{p}/acknowledgements", {}),
        ("POST", f"/api/v1/staff/{p}/personal-accounts",
         {"platform": "x", "handle": "@a", "names_school": True, "disclaimer_present": True}),
        ("GET", f"/api/v1/schools/{s}/applications", None),
        ("POST", f"/api/v1/schools/{s}/applications", APPLICATION | {"runner_ids": [str(p), str(w.people["bob"])]}),
        ("GET", f"/api/v1/applications/{app_id}", None),
        ("POST", f"/api/v1/applications/{app_id}/approve", {}),
        ("POST", f"/api/v1/applications/{app_id}/reject", {"reason": "r"}),
        ("POST", f"/api/v1/applications/{app_id}/withdraw", {}),
    ]


def _call(w: World, who: str, method: str, path: str, body: Any) -> Any:
    if method in ("GET", "DELETE"):
        return w.client.request(method, path, headers=w.h(who))
    return w.client.request(method, path, json=body, headers=w.h(who))


def _setup_with_handover(world: World) -> tuple[str, str, str]:
    """An account with credentials, a pending application and an open handover (bob is leaving)."""
    acc = world.account()
    world.client.put(f"/api/v1/accounts/{acc}/credentials", json={"login": "l", "password": "p"},
                     headers=world.h("mod"))
    app_id = str(world.application("carol"))
    r = world.post("mod", f"/api/v1/staff/{world.people['bob']}/departure", {"leaving_date": "2026-06-01"})
    assert r.status_code == 201, r.text
    return app_id, str(acc), r.json()["handovers"][0]["id"]


@pytest.mark.parametrize("who", ["admin", "head", "mod", "alice"])
def test_another_trust_gets_404_on_every_route(world: World, stranger: World, who: str) -> None:
    app_id, acc, handover = _setup_with_handover(world)
    before = world.event_count()
    for method, path, body in _routes(world, app_id, acc, handover):
        r = _call(stranger, who, method, path, body)
        assert r.status_code == 404, (who, method, path, r.status_code, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert str(world.school) not in r.text and "Alice" not in r.text
    assert world.event_count() == before


def test_another_school_of_the_same_trust_gets_404(world: World) -> None:
    app_id, acc, handover = _setup_with_handover(world)
    before = world.event_count()
    for method, path, body in _routes(world, app_id, acc, handover):
        for who in ("other_head", "other_staff"):
            r = _call(world, who, method, path, body)
            assert r.status_code == 404, (who, method, path, r.status_code, r.text)
    assert world.event_count() == before


def test_lists_only_show_visible_schools(world: World, stranger: World) -> None:
    mine = {s["id"] for s in world.get("admin", "/api/v1/schools").json()["items"]}
    assert mine == {str(world.school), str(world.other_school)}
    assert {s["id"] for s in world.get("head", "/api/v1/schools").json()["items"]} == {str(world.school)}
    theirs = {s["id"] for s in stranger.get("admin", "/api/v1/schools").json()["items"]}
    assert not mine & theirs


def test_graphql_is_scoped_to_visible_schools(world: World, stranger: World) -> None:
    q = """query($s: ID!) { schoolDashboard(schoolId: $s) { schoolName pendingApplications } }"""
    r = stranger.client.post("/graphql", json={"query": q, "variables": {"s": str(world.school)}},
                             headers=stranger.h("admin"))
    body = r.json()
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    r = world.client.post("/graphql", json={"query": q, "variables": {"s": str(world.school)}},
                          headers=world.h("other_head"))
    assert r.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    q2 = """query($s: ID!) { applications(schoolId: $s) { edges { node { id } } } }"""
    r = stranger.client.post("/graphql", json={"query": q2, "variables": {"s": str(world.school)}},
                             headers=stranger.h("head"))
    assert r.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    td = stranger.client.post("/graphql", json={"query": "{ trustDashboard { perSchool { schoolId } } }"},
                              headers=stranger.h("admin")).json()
    assert {x["schoolId"] for x in td["data"]["trustDashboard"]["perSchool"]} == {
        str(stranger.school), str(stranger.other_school)}
