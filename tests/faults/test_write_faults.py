"""Faults while 16 clients send commands over real HTTP, on SQLite and PostgreSQL: a projection that breaks now and
then (a planted audit-chain row), and on PostgreSQL the database dropping the app's connections. Every command
that answered 5xx wrote nothing, and every one that answered 2xx is in the event log and the read model exactly
once (infra/group_commit.py: a failing command undoes only its own writes; a group whose commit fails answers
5xx for all its commands)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from eventsourcing.persistence import PersistenceError
from sqlalchemy import Engine, create_engine, delete, func, insert, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from api.container import Container
from infra.clock import SettableClock
from infra.settings import Settings
from services import readmodel as rm
from services.audit import verify_chain
from tests.conftest import APPLICATION, T0, World, build_world, live, served
from tests.databases import fresh_postgres

CLIENTS = 16


PLANTED = "0" * 64


def _break_the_chain_now_and_then(w: World, stop: threading.Event) -> None:
    """Plants an audit-chain row a few positions ahead, so that the command reaching it fails; removes it after a
    moment, so that later commands go through again. Its own connections may be dropped too: it carries on."""
    engine = create_engine(str(w.c.settings.database_url), poolclass=NullPool)
    while not stop.is_set():
        try:
            ahead = int(w.c.recorder.max_notification_id() or 0) + 10
            with engine.begin() as conn:
                conn.execute(insert(rm.audit_chain).values(position=ahead, link=PLANTED))
            time.sleep(0.5)
            _unplant(engine)
            time.sleep(0.1)
        except (DBAPIError, PersistenceError):  # the app got there first, or the connection was dropped
            continue
    engine.dispose()


def _unplant(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(delete(rm.audit_chain).where(rm.audit_chain.c.link == PLANTED))


def _drop_the_apps_connections(w: World, stop: threading.Event) -> None:
    """PostgreSQL ends every connection of the app's database now and then (a restart, a failover)."""
    db = str(w.c.settings.database_url).rsplit("/", 1)[1]
    admin = str(w.c.settings.database_url).rsplit("/", 1)[0].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin + "/postgres", autocommit=True) as conn:
        while not stop.wait(1.0):
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                         "AND pid <> pg_backend_pid()", (db,))


@pytest.fixture
def own_world(backend: str, tmp_path: Path) -> Iterator[World]:
    """A database of the test's own: the faults end every connection to it, which other tests must not share."""
    url = fresh_postgres("writefaults") if backend.startswith("postgresql") else f"sqlite:///{tmp_path / 'w.db'}"
    c = Container(Settings(database_url=url, db_pool_size=5, log_level="CRITICAL"), clock=SettableClock(T0))
    with served(c) as (container, client):
        yield build_world(container, client)


def test_a_5xx_wrote_nothing_and_every_2xx_landed_once(own_world: World) -> None:
    w = own_world
    w.ready("alice", "bob")
    answers: dict[str, int] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def client(k: int, base: str) -> None:
        with httpx.Client(base_url=base, timeout=60, headers=w.h("carol")) as http:
            for i in range(12):
                handle = f"Fault{k}x{i}"
                try:
                    r = http.post(f"/api/v1/schools/{w.school}/applications", json=APPLICATION | {
                        "proposed_handle": handle, "runner_ids": [str(w.people["alice"]), str(w.people["bob"])]})
                    status = r.status_code
                except httpx.TransportError:
                    status = 599  # no answer at all: treated as a failure, so it must have written nothing
                with lock:
                    answers[handle] = status

    faults = [threading.Thread(target=_break_the_chain_now_and_then, args=(w, stop))]
    if w.c.engine.dialect.name == "postgresql":
        faults.append(threading.Thread(target=_drop_the_apps_connections, args=(w, stop)))
    with live(w.c) as base:
        for f in faults:
            f.start()
        clients = [threading.Thread(target=client, args=(k, base)) for k in range(CLIENTS)]
        for t in clients:
            t.start()
        for t in clients:
            t.join(timeout=180)
        stop.set()
        for f in faults:
            f.join(timeout=10)

    # the test's own reads, on fresh connections (the faults ended the container's)
    check = Container(Settings(database_url=str(w.c.settings.database_url), db_pool_size=2), clock=w.c.clock)
    _unplant(check.engine)
    statuses = Counter(answers.values())
    assert statuses[201] > 0 and sum(n for code, n in statuses.items() if code >= 500) > 0, statuses
    assert set(statuses) <= {201, 500, 503, 599}, statuses
    with check.engine.connect() as conn:
        stored = Counter(dict(conn.execute(
            select(rm.applications.c.proposed_handle, func.count()).where(rm.applications.c.school_id == w.school)
            .group_by(rm.applications.c.proposed_handle)).all()))
    for handle, status in answers.items():
        assert stored[handle] == (1 if status == 201 else 0), (handle, status, stored[handle])
    in_log = Counter(e.proposed_handle for n in check.recorder.select_notifications(1, 1_000_000)
                     if "ApplicationSubmitted" in n.topic
                     for e in [check.applications.mapper.to_domain_event(n)] if e.proposed_handle in answers)
    assert all(in_log[h] == (1 if s == 201 else 0) for h, s in answers.items())
    assert check.projections.position() == check.recorder.max_notification_id()
    assert verify_chain(check.engine, check.recorder).ok
    check.close()
