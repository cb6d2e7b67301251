"""The OpenAPI document declares each operation's errors and media types (api/openapi_responses.py), and the answers
that schemathesis found undeclared or wrong now match it: protocol errors in the protocol's format, Allow headers."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import World

PROBLEM = "application/problem+json"
SCIM = "application/scim+json"


@pytest.fixture
def doc(world: World) -> dict[str, Any]:
    r = world.client.get("/schema/openapi.json")
    assert r.status_code == 200
    return dict(r.json())


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in doc["paths"].items() for method, op in item.items()]


def test_every_error_is_a_declared_problem_or_protocol_error(doc: dict[str, Any]) -> None:
    ops = operations(doc)
    assert len(ops) >= 89
    for path, method, op in ops:
        errors = {s: r for s, r in op["responses"].items() if int(s) >= 400}
        assert {"400", "413"} <= set(errors), (method, path)  # every body is limited
        for status, response in errors.items():
            media = set(response["content"])
            if path.startswith("/scim/v2"):
                assert media == {SCIM}, (method, path, status)
                assert response["content"][SCIM]["schema"]["$ref"].endswith("/ScimError")
            elif path == "/oauth/token" and status in ("400", "401"):
                assert response["content"]["application/json"]["schema"]["$ref"].endswith("/OAuthError")
            else:
                assert media == {PROBLEM}, (method, path, status)
                assert response["content"][PROBLEM]["schema"]["$ref"].endswith("/Problem")
    problem = doc["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status"} and "errors" in problem["properties"]


def test_what_each_operation_answers_follows_what_it_does(doc: dict[str, Any]) -> None:
    paths = doc["paths"]
    command = paths["/api/v1/schools/{school_id}/incidents"]["post"]["responses"]
    assert {"201", "400", "401", "403", "404", "409", "413", "422", "503"} == set(command)
    read = paths["/api/v1/incidents/{incident_id}"]["get"]["responses"]
    assert {"200", "400", "401", "403", "404", "413", "503"} == set(read)  # no 409 or 422 on a plain read
    assert "404" in paths["/api/v1/audit/events"]["get"]["responses"]  # an id in the query can name nothing
    assert set(paths["/api/v1/health"]["get"]["responses"]) == {"200", "400", "413"}
    bundle = paths["/api/v1/incidents/{incident_id}/evidence-bundle"]["get"]["responses"]["200"]
    assert set(bundle["content"]) == {"application/zip"}
    created = paths["/scim/v2/Users"]["post"]["responses"]
    assert set(created["201"]["content"]) == {SCIM} and "200" not in created
    assert set(paths["/scim/v2/Users/{user_id}"]["delete"]["responses"]["204"]) == {"description"}
    assert paths["/scim/v2/Users/{user_id}"]["patch"]["requestBody"]["content"][SCIM]["schema"]["required"] == [
        "schemas", "Operations"]
    token = paths["/oauth/token"]["post"]
    assert token["security"] == [{}] and token["responses"]["200"]["content"]["application/json"]
    assert paths["/api/v1/health"]["get"]["security"] == [{}]
    assert "security" not in paths["/api/v1/schools"]["get"]  # the document's default: a bearer token


def test_bodies_are_closed_and_list_their_values(doc: dict[str, Any]) -> None:
    incident = doc["components"]["schemas"]["IncidentIn"]
    assert incident["additionalProperties"] is False
    assert "harassing" in incident["properties"]["category"]["enum"]
    token = doc["components"]["schemas"]["TokenRequest"]
    assert token["properties"]["grant_type"]["enum"] == ["client_credentials"] and token["required"] == [
        "grant_type"]


def test_options_and_405_list_every_method_of_the_path(world: World) -> None:
    r = world.client.options("/api/v1/schools")
    assert r.status_code == 204 and r.headers["allow"] == "GET, OPTIONS, POST"
    assert world.client.options("/scim/v2/Users").headers["allow"] == "GET, OPTIONS, POST"
    r = world.client.request("TRACE", "/api/v1/schools", headers=world.h("admin"))
    assert r.status_code == 405 and r.headers["content-type"].startswith(PROBLEM)
    assert set(r.headers["allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


def test_scim_errors_raised_before_scim_are_scim_errors(world: World) -> None:
    deep = b"[" * 40 + b"]" * 40
    r = world.client.post("/scim/v2/Users", content=deep, headers=world.h("admin", **{"Content-Type": SCIM}))
    assert r.status_code == 400 and r.headers["content-type"].startswith(SCIM)
    body = r.json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"] and body["status"] == "400"


def test_token_endpoint_answers_a_bad_request_as_rfc_6749_says(world: World) -> None:
    r = world.client.post("/oauth/token", data={"client_id": "x"})  # no grant_type
    assert r.status_code == 400 and r.headers["content-type"].startswith("application/json")
    assert r.json()["error"] == "invalid_request" and r.headers["cache-control"] == "no-store"
    r = world.client.post("/oauth/token", data={"grant_type": "password"})
    assert r.json()["error"] == "unsupported_grant_type"


def test_graphql_refuses_members_of_the_wrong_type(world: World) -> None:
    for body in ({"query": "{ __typename }", "operationName": {}}, {"query": 5}, {"query": "{ __typename }",
                                                                               "variables": [1]}):
        r = world.client.post("/graphql", json=body, headers=world.h("admin"))
        assert r.status_code == 400 and r.headers["content-type"].startswith(PROBLEM), body
    assert world.client.post("/graphql", json={"query": "{ __typename }"}, headers=world.h("admin")).json() == {
        "data": {"__typename": "Query"}}
