"""Test databases: SQLite files, and PostgreSQL from TEST_DATABASE_URL, else the local server on
127.0.0.1:5432, else testcontainers; otherwise the run fails saying what to start. Never skipped."""

from __future__ import annotations

import os
import shutil
import uuid

import psycopg
import pytest

LOCAL = "postgresql+psycopg://postgres@127.0.0.1:5432/socialgov_test"


def _split(url: str) -> tuple[str, str]:
    base, _, name = url.rpartition("/")
    return base, name.split("?")[0]


def _admin_dsn(url: str) -> str:
    base, _ = _split(url)
    return base.replace("postgresql+psycopg://", "postgresql://") + "/postgres"


def _try(url: str) -> bool:
    try:
        with psycopg.connect(_admin_dsn(url), connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def _testcontainers_url() -> str | None:
    if shutil.which("docker") is None:
        return None
    try:
        from testcontainers.postgres import PostgresContainer  # type: ignore[import-not-found]
    except ImportError:
        return None
    try:
        pg = PostgresContainer("postgres:16", driver="psycopg").start()
    except Exception:
        return None
    return str(pg.get_connection_url())


RUN = (os.environ.get("PYTEST_XDIST_TESTRUNUID") or uuid.uuid4().hex)[:8]
CREATED: list[str] = []


def fresh_postgres(suffix: str) -> str:
    """Creates a database for this run and worker (named by run, so concurrent runs never share one) and returns
    its URL; `drop_created()` removes them at the end of the session."""
    candidates = [os.environ["TEST_DATABASE_URL"]] if os.environ.get("TEST_DATABASE_URL") else [LOCAL]
    url = next((u for u in candidates if _try(u)), None) or _testcontainers_url()
    if url is None:
        pytest.fail("PostgreSQL is needed for the test suite and none answered. Start the local server "
                    "(pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start), or set "
                    "TEST_DATABASE_URL=postgresql+psycopg://user@host:port/db, or run a Docker engine for "
                    "testcontainers.", pytrace=False)
    base, name = _split(url)
    db = f"{name}_{RUN}_{suffix}"
    with psycopg.connect(_admin_dsn(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{db}"')
    CREATED.append(f"{base}/{db}")
    return f"{base}/{db}"


def drop_created() -> None:
    for url in CREATED:
        _, db = _split(url)
        try:
            with psycopg.connect(_admin_dsn(url), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        except psycopg.Error:
            pass
    CREATED.clear()
