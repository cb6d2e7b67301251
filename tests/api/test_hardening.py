"""Issue 21 (hardening), through the real app on SQLite and PostgreSQL: bodies have limits checked before anything
parses or holds them, GraphQL has limits on its documents, idempotent results are stored before they are answered,
and errors name what they are about."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import graphql
import pytest
import strawberry
from graphql import validate
from litestar.testing import TestClient
from sqlalchemy import select

from api.app import create_app
from api.container import Container
from api.graphql_schema import LIMIT_RULES, MAX_ALIASES, MAX_DEPTH, MAX_DOCUMENT_BYTES, MAX_TOKENS
from api.limits import MAX_JSON_DEPTH, json_depth
from infra.idempotency import idempotency_keys
from infra.settings import Settings, SettingsError
from services.authorisation import REFUSED, Action
from tests.conftest import APPLICATION, World, served

PROBLEM = "application/problem+json"
MiB = 1024 * 1024


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def is_problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM), r.headers
    body: dict[str, Any] = r.json()
    assert body["status"] == status and body["type"].startswith("https://")
    return body


# ----- raw ASGI, to see what the app reads and when it stores -----

def scope(method: str, path: str, headers: dict[str, str]) -> dict[str, Any]:
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
            "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"",
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
            "client": ("127.0.0.1", 50000), "server": ("testserver", 80), "state": {}}


class Upload:
    """A client that sends `chunk` again and again, never ending its body, and counts what the app took."""

    def __init__(self, chunk: bytes, chunks: int) -> None:
        self.chunk, self.left, self.taken = chunk, chunks, 0

    async def receive(self) -> dict[str, Any]:
        if self.left == 0:
            return {"type": "http.disconnect"}
        self.left -= 1
        self.taken += len(self.chunk)
        return {"type": "http.request", "body": self.chunk, "more_body": self.left > 0}


def drive(client: TestClient[Any], method: str, path: str, headers: dict[str, str], upload: Upload,
          on_send: Any = None) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        if on_send is not None:
            on_send(message)
        sent.append(message)

    async def run() -> None:
        await client.app(scope(method, path, headers), upload.receive, send)

    client.blocking_portal.call(run)
    return sent


# ----- 1. nested JSON -----

def test_json_nested_deeper_than_the_limit_is_400_before_parsing_and_without_a_token(world: World) -> None:
    deep = '{"name": ' + nested(1000) + "}"
    for content_type in ("application/json", "text/plain", "application/x-www-form-urlencoded", None):
        headers = {"content-type": content_type} if content_type else {}
        body = is_problem(world.client.post("/api/v1/schools", content=deep, headers=headers), 400)
        assert f"deeper than {MAX_JSON_DEPTH}" in body["detail"]
    gql = '{"query": "query($v: JSON) { __typename }", "variables": {"v": ' + nested(1000) + "}}"
    is_problem(world.client.post("/graphql", content=gql, headers={"content-type": "application/json"}), 400)
    # a body within the depth limit goes on to the handler (here: its field checks)
    ok = world.client.post("/api/v1/schools", content='{"name": ' + nested(MAX_JSON_DEPTH - 1) + "}",
                           headers=world.h("admin", **{"content-type": "application/json"}))
    assert ok.status_code == 422 and ok.json()["errors"][0]["field"] in ("name", "body")


def test_json_depth_counts_brackets_outside_strings_only() -> None:
    assert json_depth(b'{"a": [1, {"b": "[[[[{{{{"}]}') == 3
    assert json_depth(b'"\\"[[[" ') == 0
    assert json_depth(b"[" * 5000) == 5000  # unclosed: still refused, not left to a recursive parser
    assert json_depth(b"") == 0


# ----- 4 and 8: body limits -----

def test_a_json_body_over_its_limit_is_413_before_anything_reads_it(world: World) -> None:
    five_mb = json.dumps({"name": "x" * (5 * MiB), "urn": "1", "nation": "england"})
    body = is_problem(world.client.post("/api/v1/schools", content=five_mb,
                                        headers=world.h("admin", **{"content-type": "application/json"})), 413)
    assert "1,048,576 bytes" in body["detail"]
    # no Content-Length: the app stops reading once the bytes pass the limit
    upload = Upload(b"x" * (256 * 1024), 40)
    sent = drive(world.client, "POST", "/api/v1/schools", world.h("admin", **{"content-type": "application/json"}),
                 upload)
    assert sent[0]["status"] == 413 and upload.taken <= MiB + 256 * 1024


def test_uploads_keep_their_larger_limit(world: World) -> None:
    h = world.h("admin")
    rows = [{"pupil_ref": f"UPN{n:012d}", "name": f"Pupil Number {n} Longname", "year_group": "Year 10",
             "image_consent": {"school_accounts": True, "website": False, "press": False}} for n in range(12_000)]
    big = json.dumps({"pupils": rows})
    assert len(big) > 1.5 * MiB
    r = world.client.put(f"/api/v1/schools/{world.school}/pupils", content=big,
                         headers=h | {"content-type": "application/json"})
    assert r.status_code == 200 and r.json()["created"] == 12_000, r.text[:500]
    r = world.client.post(f"/api/v1/incidents/{uuid.uuid4()}/evidence", headers=world.h("alice"),
                          files={"file": ("big.png", b"\x89PNG" + b"0" * (3 * MiB), "image/png")})
    assert r.status_code == 404  # read whole (3 MiB > the JSON limit), then: no such incident


@pytest.mark.parametrize("with_length", [True, False])
def test_an_idempotent_upload_is_never_held_past_the_limit(world: World, with_length: bool) -> None:
    limit = world.c.settings.upload_max_bytes
    headers = world.h("alice", **{"content-type": "multipart/form-data; boundary=x", "idempotency-key": "big-1"})
    if with_length:
        headers["content-length"] = str(200 * MiB)
    upload = Upload(b"x" * MiB, 200)
    sent = drive(world.client, "POST", f"/api/v1/incidents/{uuid.uuid4()}/evidence", headers, upload)
    assert sent[0]["status"] == 413
    assert upload.taken == 0 if with_length else upload.taken <= limit + MiB


# ----- 4: idempotency -----

def test_an_idempotent_result_is_stored_before_its_answer_is_sent(world: World) -> None:
    key = uuid.uuid4().hex
    body = json.dumps(APPLICATION | {"runner_ids": [str(world.people["alice"]), str(world.people["bob"])]}).encode()
    path = f"/api/v1/schools/{world.school}/applications"
    headers = world.h("carol", **{"content-type": "application/json", "idempotency-key": key})
    stored_when_sent: list[int | None] = []
    t = idempotency_keys

    def look(message: dict[str, Any]) -> None:  # the client has the answer once its last byte is sent
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            with world.c.engine.connect() as conn:
                stored_when_sent.append(conn.execute(select(t.c.status).where(t.c.key == key)).scalar())

    sent = drive(world.client, "POST", path, headers, Upload(body, 1), on_send=look)
    assert sent[0]["status"] == 201 and stored_when_sent == [201]
    retry = world.client.post(path, content=body, headers=headers)
    assert retry.status_code == 201 and retry.headers["idempotent-replayed"] == "true"
    assert retry.json()["id"] == json.loads(sent[1]["body"])["id"]


# ----- 2 and 3: GraphQL -----

def test_graphql_documents_have_limits(world: World) -> None:
    def errors(query: str) -> list[str]:
        r = world.client.post("/graphql", json={"query": query}, headers=world.h("head"))
        assert r.status_code == 200, r.text
        return [e["message"] for e in r.json().get("errors", [])]

    assert errors("{" + " __typename" * (MAX_DOCUMENT_BYTES // 10) + "}") == [
        f"the document is larger than {MAX_DOCUMENT_BYTES:,} bytes"]
    assert "more than 1000 tokens" in errors("{" + " __typename" * MAX_TOKENS + "}")[0]
    aliases = " ".join(f"a{n}: trustDashboard {{ schools }}" for n in range(MAX_ALIASES + 1))
    assert errors("{" + aliases + "}") == [f"{MAX_ALIASES + 1} aliases found. Allowed: {MAX_ALIASES}"]
    assert errors("{" + " ".join(f"a{n}: __typename" for n in range(MAX_ALIASES)) + "}") == []
    introspection = "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }"
    assert errors(introspection) == ["Maximum introspection depth exceeded"]


@strawberry.type
class Node:
    @strawberry.field
    def child(self) -> Node:
        return Node()


@strawberry.type
class Root:
    node: Node = strawberry.field(default_factory=Node)


def test_the_depth_limit_applies_to_a_schema_that_could_nest_further() -> None:
    """Our schema nests four levels at most, so the depth rule is checked on one that recurses."""

    recursive = strawberry.Schema(query=Root)._schema
    at = "{ node " + "{ child " * (MAX_DEPTH - 1) + "{ __typename }" + " }" * MAX_DEPTH
    over = "{ node " + "{ child " * MAX_DEPTH + "{ __typename }" + " }" * (MAX_DEPTH + 1)
    assert validate(recursive, graphql.parse(at), LIMIT_RULES) == []
    assert [e.message for e in validate(recursive, graphql.parse(over), LIMIT_RULES)] == [
        f"'anonymous' exceeds maximum operation depth of {MAX_DEPTH}"]


def test_a_huge_graphql_document_is_413_unread_and_without_a_token(world: World) -> None:
    huge = json.dumps({"query": "{" + " __typename" * (24 * MiB // 11) + "}"})
    assert len(huge) > 24 * 10**6
    is_problem(world.client.post("/graphql", content=huge, headers={"content-type": "application/json"}), 413)


@pytest.mark.parametrize("body", [b"5", b"null", b"true", b'"x"', b"[]", b"\xff", b"{"])
def test_a_graphql_body_that_is_not_a_json_object_is_400(world: World, body: bytes) -> None:
    r = world.client.post("/graphql", content=body, headers={"content-type": "application/json"})
    assert is_problem(r, 400)["detail"]


def test_graphql_by_get_runs_no_query(world: World) -> None:
    r = world.client.get("/graphql", params={"query": "{ __typename }", "variables": nested(1000)},
                         headers=world.h("head", accept="application/json"))
    assert r.status_code in (400, 405) and r.headers["content-type"].startswith(PROBLEM)


def test_a_refused_graphql_document_logs_one_line_at_info(world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    query = "{" + " ".join(f"nope{n}" for n in range(500)) + "}"
    r = world.client.post("/graphql", json={"query": query}, headers=world.h("head"))
    assert len(r.json()["errors"]) > 100  # graphql-core stops counting at 100
    mine = [rec for rec in caplog.records if rec.name.startswith(("socialgov.graphql", "strawberry"))]
    assert [(rec.levelno, rec.name) for rec in mine] == [(logging.INFO, "socialgov.graphql")]
    assert "101 errors" in mine[0].getMessage() and "\n" not in mine[0].getMessage()


@pytest.fixture
def production(container: Container) -> Iterator[TestClient[Any]]:
    """The app as production runs it, on the session's database (and its development keys, so tokens verify)."""
    settings = Settings(env="production", dev_login=False, database_url=container.settings.database_url,
                        db_pool_size=2)
    with served(Container(settings, clock=container.clock)) as (_, client):
        yield client


def test_production_graphql_needs_a_token_even_for_introspection(world: World,
                                                                 production: TestClient[Any]) -> None:
    introspect = {"query": "{ __schema { queryType { name } } }"}
    body = is_problem(production.post("/graphql", json=introspect), 401)
    assert body["title"] == "Authentication required"
    r = production.post("/graphql", json=introspect, headers=world.h("alice"))
    assert r.status_code == 200 and r.json()["data"]["__schema"]["queryType"]["name"] == "Query"
    # development keeps the schema open to GraphiQL (decision 0061); data needs a token in both
    assert world.client.post("/graphql", json=introspect).json()["data"]["__schema"]["queryType"]["name"] == "Query"


# ----- 8: the rest -----

def test_a_429_is_logged_as_429(world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="socialgov.access")
    with TestClient(create_app(container=world.c)) as fresh:  # its own limiter store: other tests unaffected
        codes = [fresh.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": "x",
                                                  "client_secret": "y"}) for _ in range(32)]
    assert codes[-1].status_code == 429 and codes[-1].headers["x-request-id"]
    logged = [rec.getMessage() for rec in caplog.records if rec.name == "socialgov.access"]
    assert sum(" 429 " in line for line in logged) == 2 and not any(" 500 " in line for line in logged)


@pytest.mark.parametrize(("method", "path", "name"), [
    ("GET", "/api/v1/schools/not-a-uuid", "school_id"),
    ("POST", "/api/v1/applications/123/approve", "application_id"),
])
def test_a_malformed_id_in_a_path_is_a_404_naming_the_parameter(world: World, method: str, path: str,
                                                                name: str) -> None:
    body = is_problem(world.client.request(method, path, headers=world.h("admin")), 404)
    assert body["errors"] == [{"field": name, "message": "is not a valid UUID"}]
    assert body["detail"] == f"{name}: is not a valid UUID"
    assert "errors" not in is_problem(world.client.get("/api/v1/no-such-thing", headers=world.h("admin")), 404)


def test_refusals_read_as_english(world: World) -> None:
    acc = world.account()
    r = world.post("head", f"/api/v1/accounts/{acc}/credentials/reveal")
    assert is_problem(r, 403)["detail"] == "you cannot reveal this account's credentials"
    assert set(REFUSED) == set(Action)
    assert all("." not in phrase and "_" not in phrase for phrase in REFUSED.values())


def test_limit_settings_come_from_the_environment() -> None:
    s = Settings.from_env({"SOCIALGOV_JSON_MAX_BYTES": "2048", "SOCIALGOV_UPLOAD_MAX_BYTES": "4096",
                           "SOCIALGOV_HEADER_TIMEOUT_SECONDS": "3"})
    assert (s.json_max_bytes, s.upload_max_bytes, s.header_timeout_seconds) == (2048, 4096, 3)
    d = Settings.from_env({})
    assert (d.json_max_bytes, d.upload_max_bytes, d.header_timeout_seconds) == (MiB, 25 * MiB, 10)
    for bad in ({"SOCIALGOV_JSON_MAX_BYTES": "0"}, {"SOCIALGOV_JSON_MAX_BYTES": str(30 * MiB)},
                {"SOCIALGOV_HEADER_TIMEOUT_SECONDS": "0"}):
        with pytest.raises(SettingsError):
            Settings.from_env(bad)


def test_a_body_with_a_missing_field_and_a_value_outside_its_list_names_both(world: World) -> None:
    """Issue 21 item 5: msgspec stops at the first error; the problem names every invalid field."""
    before = world.event_count()
    r = world.post("alice", f"/api/v1/schools/{world.school}/incidents",
                   {"title": "Rude comment", "category": "gossip", "description": "A rude comment"})
    assert r.status_code == 422, r.text
    errors = {e["field"]: e["message"] for e in r.json()["errors"]}
    assert set(errors) == {"happened_at", "category"}
    assert errors["happened_at"] == "is required" and errors["category"].startswith("must be one of bullying,")
    r = world.post("alice", f"/api/v1/schools/{world.school}/applications",
                   {"aim": "x", "platform": "myspace", "extra": 1, "runner_ids": ["not-a-uuid"]})
    assert r.status_code == 422, r.text
    assert {e["field"] for e in r.json()["errors"]} == {"platform", "extra", "runner_ids[0]", "audience", "promotion",
                                                        "visibility", "proposed_handle"}
    assert world.event_count() == before
