"""Directory & tenancy through the HTTP API: schools, staff, training, acknowledgements, declarations."""

from __future__ import annotations

import uuid

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


def test_leadership_ends_one_role_and_the_person_loses_what_it_allowed_at_once(world: World) -> None:
    """DELETE /schools/{id}/staff/{person}/roles/{role} (decision 0034): the other roles stay; a moderator cannot
    end leadership's roles, no one ends their own, and refusals write nothing."""
    s, mod = world.school, world.people["mod"]
    email = world.get("head", f"/api/v1/staff/{mod}").json()["email"]
    assert world.post("head", f"/api/v1/schools/{s}/staff",
                      {"display_name": "Mod", "email": email, "roles": ["staff"]}).status_code == 200
    assert world.get("mod", f"/api/v1/schools/{s}/handovers").status_code == 200  # caches mod's principal
    events = world.event_count()
    for who, path, status, field in [
        ("mod", f"/staff/{world.people['head']}/roles/slt", 403, None),  # above their own
        ("head", f"/staff/{world.people['head']}/roles/slt", 403, None),  # their own
        ("head", f"/staff/{world.people['alice']}/roles/moderator", 422, "role"),  # not held
        ("head", f"/staff/{world.people['alice']}/roles/wizard", 422, "role"),
        ("head", f"/staff/{world.people['alice']}/roles/trust_admin", 422, "role"),
        ("alice", f"/staff/{world.people['bob']}/roles/staff", 404, None),  # staff do not see colleagues
    ]:
        r = world.client.delete(f"/api/v1/schools/{s}{path}", headers=world.h(who))
        assert r.status_code == status, (who, path, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        if field:
            assert [e["field"] for e in r.json()["errors"]] == [field]
    assert world.event_count() == events

    r = world.client.delete(f"/api/v1/schools/{s}/staff/{mod}/roles/moderator", params={"reason": "new post"},
                            headers=world.h("head"))
    assert r.status_code == 204, r.text
    # what the role allowed is gone for the very next command: the 403 of someone who is no longer a moderator
    r = world.post("mod", f"/api/v1/schools/{s}/accounts", {"application_id": str(uuid.uuid4())})
    assert r.status_code == 403, r.text
    assert world.get("mod", f"/api/v1/schools/{s}/handovers").status_code in (403, 404)
    assert [x["role"] for x in world.get("head", f"/api/v1/staff/{mod}").json()["roles"]] == ["staff"]
    [revoked] = [e for e in world.c.directory.events.get(mod) if type(e).__name__ == "RoleRevoked"]
    assert (revoked.role, revoked.reason) == ("moderator", "new post")


def test_another_trusts_people_and_schools_are_404_for_ending_roles(world: World, stranger: World) -> None:
    s = world.school
    for path in (f"/api/v1/schools/{stranger.school}/staff/{stranger.people['mod']}/roles/moderator",
                 f"/api/v1/schools/{s}/staff/{stranger.people['mod']}/roles/moderator"):
        r = world.client.delete(path, headers=world.h("admin"))
        assert r.status_code == 404, (path, r.text)


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
