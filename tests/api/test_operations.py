"""Operations: settings refuse development defaults in production; logs carry the request id and actor and
never a token; the dev-only tools are refused outside development."""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import subprocess
import sys

import pytest

from infra import logs
from infra.settings import Settings, SettingsError
from tests.conftest import ROOT, World

KEY = base64.b64encode(os.urandom(32)).decode()


def test_production_refuses_development_defaults() -> None:
    with pytest.raises(SettingsError) as e:
        Settings.from_env({"SOCIALGOV_ENV": "production"})
    assert "SOCIALGOV_MASTER_KEY" in str(e.value) and "SOCIALGOV_SECRET_KEY" in str(e.value)
    with pytest.raises(SettingsError, match="DEV_LOGIN"):
        Settings.from_env({"SOCIALGOV_ENV": "production", "SOCIALGOV_MASTER_KEY": KEY,
                           "SOCIALGOV_SECRET_KEY": "s" * 40, "SOCIALGOV_DEV_LOGIN": "on"})
    ok = Settings.from_env({"SOCIALGOV_ENV": "production", "SOCIALGOV_MASTER_KEY": KEY,
                            "SOCIALGOV_SECRET_KEY": "s" * 40})
    assert ok.is_production and not ok.dev_login and ok.log_format == "json"
    with pytest.raises(SettingsError, match="SOCIALGOV_TOKEN_TTL_MINUTES"):
        Settings.from_env({"SOCIALGOV_TOKEN_TTL_MINUTES": "soon"})
    with pytest.raises(SettingsError, match="32 bytes"):
        Settings.from_env({"SOCIALGOV_MASTER_KEY": base64.b64encode(b"short").decode()})


def test_dev_token_is_refused_in_production() -> None:
    env = {**os.environ, "SOCIALGOV_ENV": "production", "SOCIALGOV_MASTER_KEY": KEY,
           "SOCIALGOV_SECRET_KEY": "s" * 40, "SOCIALGOV_DATABASE_URL": "sqlite:////tmp/never-created.db"}
    r = subprocess.run([sys.executable, "-m", "api.cli", "dev-token", "--person",
                        "00000000-0000-0000-0000-000000000000"], env=env, cwd=ROOT, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2 and "only in development mode" in r.stderr


def test_logs_are_json_with_request_id_and_actor_and_never_the_token(world: World) -> None:
    stream = io.StringIO()
    logs.configure("json", "INFO", stream)
    try:
        token = world.token("head")
        log = logging.getLogger("socialgov.test")
        r = world.client.get("/api/v1/schools", headers={"Authorization": f"Bearer {token}",
                                                         "X-Request-ID": "req-123"})
        assert r.headers["x-request-id"] == "req-123"
        # Anything that logs during a request carries its id and actor; a careless log of a header is masked.
        log.warning("auth header was Bearer %s", token)
        world.client.get("/api/v1/schools", headers={"Authorization": "Bearer not-a-real-token"})
        world.client.post("/api/v1/applications/00000000-0000-0000-0000-000000000000/approve",
                          headers={"Authorization": f"Bearer {token}"})
    finally:
        logs.configure("text", "INFO")
    output = stream.getvalue()
    assert token not in output
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]
    assert any("[redacted]" in entry["message"] for entry in lines)
    assert all({"time", "level", "message", "request_id", "actor"} <= entry.keys() for entry in lines)


def test_no_other_origin_is_let_in_by_browsers(world: World) -> None:
    """No CORS headers (docs/decisions/0038-no-cross-origin-browser-access.md): a page on another origin can
    neither preflight a command nor read a response; the web UI is same-origin, integrations are not browsers."""
    evil = "https://evil.example"
    preflight = world.client.options(f"/api/v1/schools/{world.school}/applications",
                                     headers={"Origin": evil, "Access-Control-Request-Method": "POST",
                                              "Access-Control-Request-Headers": "authorization, content-type"})
    read = world.client.get("/api/v1/schools", headers={**world.h("head"), "Origin": evil})
    assert read.status_code == 200
    for r in (preflight, read):
        assert not [h for h in r.headers if h.lower().startswith("access-control-")], dict(r.headers)
