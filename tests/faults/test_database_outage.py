"""Database down: /ready and commands answer 503 (problem+json); the service recovers by itself."""

from __future__ import annotations

import time

import psycopg
from litestar.testing import TestClient

from api.app import create_app
from api.container import Container
from infra.clock import SettableClock
from infra.settings import Settings
from tests.conftest import T0, build_world
from tests.databases import fresh_postgres


def _admin_conn(url: str) -> psycopg.Connection:
    base = url.rsplit("/", 1)[0].replace("postgresql+psycopg://", "postgresql://")
    return psycopg.connect(base + "/postgres", autocommit=True)


def test_postgres_outage_gives_503_then_recovers() -> None:
    url = fresh_postgres("outage")
    db = url.rsplit("/", 1)[1]
    c = Container(Settings(database_url=url, db_pool_size=2, log_level="CRITICAL"), clock=SettableClock(T0))
    try:
        with TestClient(create_app(container=c), raise_server_exceptions=False) as client:
            w = build_world(c, client)
            assert client.get("/api/v1/ready").status_code == 200
            assert w.post("alice", f"/api/v1/staff/{w.people['alice']}/acknowledgements", {}).status_code == 201
            with _admin_conn(url) as admin:
                admin.execute(f'ALTER DATABASE "{db}" ALLOW_CONNECTIONS false')
                admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (db,))
            try:
                r = client.get("/api/v1/ready")
                assert r.status_code == 503 and r.headers["content-type"].startswith("application/problem+json")
                started = time.monotonic()
                r = w.post("alice", f"/api/v1/staff/{w.people['alice']}/acknowledgements", {})
                assert r.status_code == 503, r.text
                assert r.json()["title"] == "Service unavailable"
                # promptly: the event store gives up after one retry, not ten (infra/database.ATTEMPTS)
                assert time.monotonic() - started < 10
            finally:
                with _admin_conn(url) as admin:
                    admin.execute(f'ALTER DATABASE "{db}" ALLOW_CONNECTIONS true')
            for _ in range(3):  # pools notice dead connections and reconnect
                if client.get("/api/v1/ready").status_code == 200:
                    break
            assert client.get("/api/v1/ready").status_code == 200
            r = w.post("alice", f"/api/v1/staff/{w.people['alice']}/acknowledgements", {})
            assert r.status_code == 201, r.text
    finally:
        c.close()
