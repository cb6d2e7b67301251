"""docker-compose.yml and the Dockerfile: the production deployment contract.

Parsed with PyYAML (no Docker needed); when a compose CLI is installed (`docker compose` or the older
`docker-compose`), it must accept the file with the two secrets set and refuse it without them. No engine is needed.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from api import cli

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
APP_SERVICES = ("api", "worker", "beat")
SECRETS = ("SOCIALGOV_MASTER_KEY", "SOCIALGOV_SECRET_KEY")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    doc = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(doc, dict)
    return doc


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # the KEY=VALUE list form
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def test_the_five_services_exist(compose: dict[str, Any]) -> None:
    assert {"postgres", "redis", "api", "worker", "beat"} <= set(compose["services"])
    services = compose["services"]
    assert str(services["postgres"]["image"]).startswith("postgres:16")
    assert str(services["redis"]["image"]).startswith("redis:7")
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_run_in_production_and_require_the_secrets(compose: dict[str, Any], name: str) -> None:
    service = compose["services"][name]
    env = environment(service)
    assert env["SOCIALGOV_ENV"] == "production"
    for var in SECRETS:
        # ${VAR:?message}: compose refuses to start without it, so no development default can slip through
        assert re.fullmatch(rf"\$\{{{var}:\?[^}}]+\}}", env[var]), f"{name}: {var} must be required, got {env[var]!r}"
    assert env["SOCIALGOV_DATABASE_URL"] == "postgresql+psycopg://socialgov:socialgov@postgres:5432/socialgov"
    assert env["SOCIALGOV_REDIS_URL"] == "redis://redis:6379/0"
    assert env.get("SOCIALGOV_DEV_LOGIN", "false").lower() in ("0", "false", "no", "off")
    assert "build" in service
    assert service["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_service_commands_are_real_cli_commands(compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    called: dict[str, Any] = {}

    def recorder(name: str) -> Any:
        def record(args: Any) -> int:
            called[name] = args
            return 0
        return record

    for fn in ("cmd_run", "cmd_worker", "cmd_beat"):
        monkeypatch.setattr(cli, fn, recorder(fn))
    commands = {name: compose["services"][name]["command"] for name in APP_SERVICES}
    for name, command in commands.items():
        argv = command.split() if isinstance(command, str) else list(command)
        assert argv[0] == "socialgov", f"{name}: {argv}"
        assert cli.main(argv[1:]) == 0
    run = called["cmd_run"]
    assert (run.host, run.port, run.no_demo) == ("0.0.0.0", 8000, True)
    assert "cmd_worker" in called and "cmd_beat" in called


def test_dockerfile_builds_a_slim_non_root_image() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.M)
    assert re.search(r"^RUN pip install\b.*\s\.(\s|$)", text, re.M)
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and users[-1] not in ("root", "0"), "the image must not run as root"
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "var"} <= set(ignored)


def compose_cli() -> list[str] | None:
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_compose_cli_accepts_the_file_only_with_the_secrets(tmp_path: Path) -> None:
    cmd = compose_cli()
    if cmd is None:
        pytest.skip("no compose CLI installed (`docker compose` plugin or `docker-compose`)")
    base = {k: v for k, v in os.environ.items() if not k.startswith("SOCIALGOV_") and k != "COMPOSE_FILE"}
    base["DOCKER_CONFIG"] = str(tmp_path)  # no user config, no credential helpers
    argv = [*cmd, "--project-directory", str(ROOT), "-f", str(COMPOSE), "config", "-q"]
    with_secrets = {**base, "SOCIALGOV_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
                    "SOCIALGOV_SECRET_KEY": "s" * 48}
    ok = subprocess.run(argv, env=with_secrets, capture_output=True, text=True, timeout=60, check=False)
    assert ok.returncode == 0, ok.stderr
    refused = subprocess.run(argv, env=base, capture_output=True, text=True, timeout=60, check=False)
    assert refused.returncode != 0
    assert "SOCIALGOV_MASTER_KEY" in refused.stderr or "SOCIALGOV_SECRET_KEY" in refused.stderr
