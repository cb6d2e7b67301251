"""GraphQL dashboards and application lists."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.conftest import World


def gql(w: World, who: str, query: str, **variables: Any) -> Any:
    r = w.client.post("/graphql", json={"query": query, "variables": variables}, headers=w.h(who))
    assert r.status_code == 200, r.text
    return r.json()


def test_dashboards_show_pending_applications_age_and_coverage(world: World) -> None:
    world.ready("alice", "bob")
    world.train("carol")
    app1 = world.application("carol")
    world.c.clock.advance(timedelta(hours=30))
    world.application("carol")
    world.post("head", f"/api/v1/applications/{app1}/approve")
    world.c.clock.advance(timedelta(hours=6))
    school = gql(world, "head", """query($s: ID!) { schoolDashboard(schoolId: $s) {
        schoolName pendingApplications oldestPendingHours approvedApplications rejectedApplications people
        trainedPeople acknowledgedPeople trainingCoveragePct acknowledgementCoveragePct } }""",
                 s=str(world.school))["data"]["schoolDashboard"]
    # people at the school with a runner role: head, mod, alice, bob, carol, vol = 6
    assert school["people"] == 6 and school["trainedPeople"] == 3 and school["acknowledgedPeople"] == 2
    assert school["trainingCoveragePct"] == 50.0 and school["acknowledgementCoveragePct"] == 33.3
    assert school["pendingApplications"] == 1 and school["approvedApplications"] == 1
    assert school["oldestPendingHours"] == 6.0
    trust = gql(world, "admin", """{ trustDashboard { schools pendingApplications people trainingCoveragePct
        perSchool { schoolName pendingApplications } } }""")["data"]["trustDashboard"]
    assert trust["schools"] == 2 and trust["pendingApplications"] == 1 and trust["people"] == 8
    assert gql(world, "head", "{ trustDashboard { schools } }")["errors"][0]["extensions"]["code"] == "NOT_FOUND"


def test_applications_connection_pages_with_cursors(world: World) -> None:
    ids = {str(world.application("carol")) for _ in range(3)}
    q = """query($s: ID!, $after: String) { applications(schoolId: $s, status: "submitted", first: 2, after: $after) {
        edges { cursor node { id status applicantName ageHours runnerIds } } pageInfo { hasNextPage endCursor } } }"""
    first = gql(world, "head", q, s=str(world.school))["data"]["applications"]
    assert len(first["edges"]) == 2 and first["pageInfo"]["hasNextPage"] is True
    second = gql(world, "head", q, s=str(world.school), after=first["pageInfo"]["endCursor"])["data"]["applications"]
    assert second["pageInfo"]["hasNextPage"] is False
    assert {e["node"]["id"] for e in first["edges"] + second["edges"]} == ids


def test_graphql_requires_authentication_but_schema_is_introspectable(world: World) -> None:
    r = world.client.post("/graphql", json={"query": "{ trustDashboard { schools } }"})
    assert r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    r = world.client.post("/graphql", json={"query": "{ __schema { queryType { fields { name } } } }"})
    names = {f["name"] for f in r.json()["data"]["__schema"]["queryType"]["fields"]}
    assert {"trustDashboard", "schoolDashboard", "applications"} <= names
    bad = gql(world, "head", 'query { schoolDashboard(schoolId: "not-a-uuid") { schoolName } }')
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
