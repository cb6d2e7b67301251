"""Integration clients: secrets shown once and stored hashed, client-credentials tokens, the scope matrix,
immediate revocation, audit attribution, rate limiting — and the MIS pupil register."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import inspect, text

from api.app import create_app
from tests.conftest import World

FAMILIES = ["staff:write", "pupils:write", "interactions:write", "mentions:write", "read"]


def client(w: World, scopes: list[str], name: str = "MIS") -> tuple[str, str]:
    r = w.post("admin", "/api/v1/integration-clients", {"name": name, "scopes": scopes})
    assert r.status_code == 201, r.text
    return r.json()["client_id"], r.json()["client_secret"]


def token(w: World, cid: str, secret: str, scope: str | None = None) -> Any:
    form = {"grant_type": "client_credentials", "client_id": cid, "client_secret": secret}
    if scope:
        form["scope"] = scope
    return w.client.post("/oauth/token", data=form)


def bearer(t: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {t}"}


def test_register_token_and_revocation(world: World) -> None:
    cid, secret = client(world, ["read", "staff:write"])
    listed = world.get("admin", "/api/v1/integration-clients").json()["items"]
    assert [c["id"] for c in listed] == [cid] and secret not in str(listed)
    r = token(world, cid, secret)
    assert r.status_code == 200 and r.json()["token_type"] == "Bearer" and r.json()["scope"] == "read staff:write"
    assert r.headers["cache-control"] == "no-store"
    access = r.json()["access_token"]
    assert world.client.get("/api/v1/schools", headers=bearer(access)).status_code == 200
    basic = base64.b64encode(f"{cid}:{secret}".encode()).decode()
    r = world.client.post("/oauth/token", data={"grant_type": "client_credentials", "scope": "read"},
                          headers={"Authorization": f"Basic {basic}"})
    assert r.status_code == 200 and r.json()["scope"] == "read"
    assert token(world, cid, "wrong").json()["error"] == "invalid_client"
    assert token(world, cid, secret, "pupils:write").json()["error"] == "invalid_scope"
    assert world.client.post("/oauth/token", data={"grant_type": "password"}).json()["error"] == \
        "unsupported_grant_type"
    assert world.post("head", "/api/v1/integration-clients", {"name": "x", "scopes": ["read"]}).status_code == 403
    assert world.post("admin", "/api/v1/integration-clients", {"name": "", "scopes": ["root"]}).json()["errors"]
    r = world.post("admin", f"/api/v1/integration-clients/{cid}/revoke", {"reason": "supplier changed"})
    assert r.status_code == 200
    assert world.client.get("/api/v1/schools", headers=bearer(access)).status_code == 401
    assert token(world, cid, secret).status_code == 401


def _family_call(w: World, family: str, headers: dict[str, str], acc: Any, n: int) -> Any:
    s = w.school
    if family == "staff:write":
        return w.client.post(f"/api/v1/schools/{s}/staff", headers=headers,
                             json={"display_name": f"HR {n}", "email": f"hr{n}-{s}@x.example"})
    if family == "pupils:write":
        return w.client.put(f"/api/v1/schools/{s}/pupils", headers=headers, json={"pupils": [
            {"pupil_ref": f"P{n}", "name": "Pupil", "year_group": "Y3"}]})
    if family == "interactions:write":
        return w.client.post(f"/api/v1/schools/{s}/interactions", headers=headers, json={
            "account_id": str(acc), "kind": "comment", "received_at": "2026-03-10T09:00:00+00:00",
            "author_handle": "@a", "excerpt": "hello", "external_ref": f"ext-{n}"})
    if family == "mentions:write":
        return w.client.post(f"/api/v1/schools/{s}/mentions", headers=headers, json={"key": f"k{n}", "title": "t"})
    return w.client.get(f"/api/v1/schools/{s}/applications", headers=headers)


@pytest.mark.parametrize("scope", FAMILIES)
def test_scope_matrix(world: World, scope: str) -> None:
    acc = world.account()
    cid, secret = client(world, [scope])
    access = token(world, cid, secret).json()["access_token"]
    for n, family in enumerate(FAMILIES):
        r = _family_call(world, family, bearer(access), acc, n)
        allowed = family == scope
        assert (r.status_code in (200, 201)) is allowed, (scope, family, r.status_code, r.text)
        if not allowed:
            assert r.status_code in (403, 404)
    # every write by the client is attributed to it in the audit trail
    trail = world.get("admin", "/api/v1/audit/events", school_id=str(world.school)).json()["items"]
    mine = [t for t in trail if t["actor"]["id"] == cid]
    if scope != "read":
        assert mine and all(t["actor"]["kind"] == "integration" and t["actor"]["display_name"] == "MIS"
                            and t["actor"]["auth_method"] == "client_credentials" for t in mine)


def test_secret_is_stored_hashed_only(world: World, caplog: pytest.LogCaptureFixture) -> None:
    cid, secret = client(world, ["read"])
    token(world, cid, secret)
    token(world, cid, secret + "x")
    with world.c.engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                assert secret not in " ".join(str(v) for v in row), table
    assert secret not in caplog.text


def test_token_endpoint_is_rate_limited(world: World) -> None:
    with TestClient(create_app(container=world.c)) as fresh:  # its own limiter store: other tests unaffected
        codes = [fresh.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": "x",
                                                  "client_secret": "y"}).status_code for _ in range(40)]
    assert codes[:30] == [401] * 30 and set(codes[30:]) == {429}


def test_mis_upsert_reports_bad_rows_while_good_rows_land(world: World) -> None:
    cid, secret = client(world, ["pupils:write", "read"])
    h = bearer(token(world, cid, secret).json()["access_token"])
    rows = [{"pupil_ref": "P1", "name": "Amy Adams", "year_group": "Y3",
             "image_consent": {"school_accounts": True, "website": True}},
            {"pupil_ref": "P2", "name": "Ben Brown", "year_group": "Y4", "no_publish": True},
            {"pupil_ref": "", "name": "No Ref", "year_group": "Y4"},
            {"pupil_ref": "P4", "name": "Cat Cole", "year_group": "Y5", "no_publish": True,
             "image_consent": {"press": True}},
            {"pupil_ref": "P1", "name": "Amy Again", "year_group": "Y3"}]
    before = world.event_count()
    r = world.client.put(f"/api/v1/schools/{world.school}/pupils", headers=h, json={"pupils": rows})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["created"], body["updated"], body["unchanged"], body["rejected"]) == (2, 0, 0, 3)
    assert {e["field"] for e in body["errors"]} == {"pupils[2].pupil_ref", "pupils[3].no_publish",
                                                    "pupils[4].pupil_ref"}
    assert world.event_count() == before + 2
    again = world.client.put(f"/api/v1/schools/{world.school}/pupils", headers=h, json={"pupils": rows[:2]}).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)
    assert world.event_count() == before + 2
    changed = world.client.put(f"/api/v1/schools/{world.school}/pupils", headers=h, json={"pupils": [
        rows[0] | {"image_consent": {"school_accounts": False}}]}).json()
    assert changed["updated"] == 1
    register = world.get("head", f"/api/v1/schools/{world.school}/pupils").json()["items"]
    amy = next(p for p in register if p["pupil_ref"] == "P1")
    assert amy["consent_school_accounts"] is False and amy["version"] == 2
    bad = world.client.put(f"/api/v1/schools/{world.school}/pupils", headers=h, json={"pupils": [{"name": 1}]})
    assert bad.status_code == 422
    assert world.client.put(f"/api/v1/schools/{world.school}/pupils", headers=world.h("head"),
                            json={"pupils": []}).status_code == 403


def test_clients_are_confined_to_their_trust(world: World, stranger: World) -> None:
    cid, secret = client(stranger, FAMILIES)
    h = bearer(token(stranger, cid, secret).json()["access_token"])
    assert world.client.get(f"/api/v1/schools/{world.school}", headers=h).status_code == 404
    assert world.client.put(f"/api/v1/schools/{world.school}/pupils", headers=h,
                            json={"pupils": []}).status_code == 404

