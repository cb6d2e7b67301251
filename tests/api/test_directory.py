"""Directory & tenancy through the HTTP API: schools, staff, training, acknowledgements, declarations."""

from __future__ import annotations

from tests.conftest import World


def test_trust_admin_adds_a_school_and_urn_is_unique(world: World) -> None:
    r = world.post("admin", "/api/v1/schools", {"name": "  Hill  Top Academy ", "urn": "123456", "nation": "wales"})
    assert r.status_code == 201, r.text
    school = r.json()
    assert school["name"] == "Hill Top Academy" and school["timezone"] == "Europe/London"
    assert school["created_at"].endswith("Z") or "+" in school["created_at"]
    assert world.get("admin", f"/api/v1/schools/{school['id']}").json()["nation"] == "wales"
    dup = world.post("admin", "/api/v1/schools", {"name": "Other", "urn": "123456", "nation": "england"})
    assert dup.status_code == 409 and dup.json()["errors"][0]["field"] == "urn"
    assert world.post("head", "/api/v1/schools", {"name": "X", "urn": "654321", "nation": "england"}).status_code == 403


def test_adding_staff_and_an_executive_head_across_two_schools(world: World) -> None:
    r = world.post("head", f"/api/v1/schools/{world.school}/staff",
                   {"display_name": "Dan Evans", "email": "Dan.Evans@School.example", "roles": ["staff", "moderator"]})
    assert r.status_code == 201, r.text
    person = r.json()
    assert person["email"] == "dan.evans@school.example"
    assert sorted(x["role"] for x in person["roles"]) == ["moderator", "staff"]
    # Same email at another school: the same person gains a role there (200), not a duplicate.
    r2 = world.post("admin", f"/api/v1/schools/{world.other_school}/staff",
                    {"display_name": "Dan Evans", "email": "dan.evans@school.example", "roles": ["slt"]})
    assert r2.status_code == 200 and r2.json()["id"] == person["id"]
    staff = world.get("head", f"/api/v1/schools/{world.school}/staff").json()["items"]
    assert any(s["id"] == person["id"] for s in staff)
    bad = world.post("head", f"/api/v1/schools/{world.school}/staff",
                     {"display_name": "", "email": "nope", "roles": ["trust_admin", "wizard"]})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"roles[0]", "roles[1]"}
    bad2 = world.post("head", f"/api/v1/schools/{world.school}/staff", {"display_name": "", "email": "nope"})
    assert {e["field"] for e in bad2.json()["errors"]} == {"display_name", "email"}
    assert world.post("alice", f"/api/v1/schools/{world.school}/staff",
                      {"display_name": "Z", "email": "z@z.example"}).status_code == 403


def test_a_moderator_adds_staff_and_volunteers_but_appoints_no_one_above_their_own_role(world: World) -> None:
    """Decision 0034: leadership and the trust team appoint to any school role; a moderator may not make anyone
    (themselves included) leadership or a moderator, and nothing is written when refused."""
    path = f"/api/v1/schools/{world.school}/staff"
    events = world.event_count()
    for roles in (["slt"], ["staff", "moderator"]):
        r = world.post("mod", path, {"display_name": "Eve", "email": "eve@school.example", "roles": roles})
        assert r.status_code == 403, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
    own = world.get("mod", f"/api/v1/staff/{world.people['mod']}").json()["email"]
    r = world.post("mod", path, {"display_name": "Mod", "email": own, "roles": ["slt"]})  # promoting themselves
    assert r.status_code == 403
    assert world.event_count() == events
    assert sorted(x["role"] for x in world.get("mod", f"/api/v1/staff/{world.people['mod']}").json()["roles"]) \
        == ["moderator"]
    r = world.post("mod", path, {"display_name": "Eve", "email": "eve@school.example", "roles": ["staff", "volunteer"]})
    assert r.status_code == 201, r.text
    r = world.post("head", path, {"display_name": "Eve", "email": "eve@school.example", "roles": ["moderator"]})
    assert r.status_code == 200, r.text
    assert sorted(x["role"] for x in r.json()["roles"]) == ["moderator", "staff", "volunteer"]


def test_training_acknowledgement_and_declaration_on_the_person(world: World) -> None:
    alice = world.people["alice"]
    r = world.post("alice", f"/api/v1/staff/{alice}/training", {"course": "Social media 101",
                                                                 "completed_on": "2026-02-01"})
    assert r.status_code == 201, r.text
    t = r.json()["training"][0]
    assert t["expires_on"] == "2027-02-01" and t["valid"] is True and r.json()["training_valid"] is True
    r = world.post("alice", f"/api/v1/staff/{alice}/training", {"course": "x", "completed_on": "2027-01-01"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "completed_on"
    r = world.post("alice", f"/api/v1/staff/{alice}/training",
                   {"course": "x", "completed_on": "2026-01-01", "expires_on": "2025-01-01"})
    assert r.json()["errors"][0]["field"] == "expires_on"
    r = world.post("alice", f"/api/v1/staff/{alice}/training", {"course": "x", "completed_on": "yesterday"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "completed_on"
    r = world.post("alice", f"/api/v1/staff/{alice}/acknowledgements", {})
    assert r.status_code == 201 and r.json()["acknowledged_current_policy"] is True
    r = world.post("alice", f"/api/v1/staff/{alice}/acknowledgements",
                   {"policy_version_id": "00000000-0000-0000-0000-000000000000"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "policy_version_id"
    r = world.post("alice", f"/api/v1/staff/{alice}/personal-accounts",
                   {"platform": "instagram", "handle": "@alice_teaches", "names_school": True,
                    "disclaimer_present": False})
    assert r.status_code == 201
    assert r.json()["personal_accounts"][0]["handle"] == "@alice_teaches"
    # Staff cannot record things for colleagues; SLT can record training for them.
    assert world.post("bob", f"/api/v1/staff/{alice}/acknowledgements", {}).status_code in (403, 404)
    assert world.post("head", f"/api/v1/staff/{alice}/training",
                      {"course": "Refresher", "completed_on": "2026-03-01"}).status_code == 201


def test_publishing_a_policy_version_requires_everyone_to_acknowledge_again(world: World) -> None:
    alice = world.people["alice"]
    world.acknowledge("alice")
    assert world.get("alice", f"/api/v1/staff/{alice}").json()["acknowledged_current_policy"] is True
    r = world.post("admin", "/api/v1/policy-versions", {"label": "v2", "summary": "Image rules"})
    assert r.status_code == 201 and r.json()["current"] is True
    assert world.get("alice", f"/api/v1/staff/{alice}").json()["acknowledged_current_policy"] is False
    assert world.post("admin", "/api/v1/policy-versions", {"label": "v2"}).status_code == 422
    assert world.post("head", "/api/v1/policy-versions", {"label": "v3"}).status_code == 403
    versions = world.get("alice", "/api/v1/policy-versions").json()["items"]
    assert [v["label"] for v in versions] == ["v1", "v2"]


def test_trust_settings(world: World) -> None:
    r = world.client.put("/api/v1/trust/settings", json={"response_hours": 12, "training_validity_months": 24},
                         headers=world.h("admin"))
    assert r.status_code == 200 and r.json()["response_hours"] == 12
    world.train("alice")
    alice = world.get("alice", f"/api/v1/staff/{world.people['alice']}").json()
    assert alice["training"][0]["expires_on"] == "2028-02-08"  # 24 months after 2026-02-08
    bad = world.client.put("/api/v1/trust/settings", json={"response_hours": 0, "end_of_day": "25:99"},
                           headers=world.h("admin"))
    assert bad.status_code == 422 and {e["field"] for e in bad.json()["errors"]} >= {"response_hours", "end_of_day"}


def test_authentication_is_required_and_checked(world: World) -> None:
    assert world.client.get("/api/v1/schools").status_code == 401
    r = world.client.get("/api/v1/schools", headers={"Authorization": "Bearer nonsense"})
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    expired = world.c.tokens.issue(world.admin, now=0)
    assert world.client.get("/api/v1/schools", headers={"Authorization": f"Bearer {expired}"}).status_code == 401
    assert world.client.get("/api/v1/schools", headers={"Authorization": "Basic abc"}).status_code == 401


def test_health_ready_and_openapi(world: World) -> None:
    assert world.client.get("/api/v1/health").json() == {"status": "ok"}
    assert world.client.get("/api/v1/ready").json()["status"] == "ready"
    spec = world.client.get("/schema/openapi.json").json()
    assert "/api/v1/applications/{application_id}/approve" in spec["paths"]
    assert world.client.get("/api/v1/health").headers.get("x-request-id")
