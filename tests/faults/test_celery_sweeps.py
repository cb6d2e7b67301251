"""The breach sweep on a real Celery worker (Redis broker) against PostgreSQL: two sweeps at once record
exactly one ResponseDeadlineMissed per breached interaction, and the alert e-mails reach a local SMTP server."""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from aiosmtpd.controller import Controller
from litestar.testing import TestClient

from api.app import create_app
from api.container import Container
from infra.celery_app import make_celery
from infra.clock import SettableClock
from infra.settings import Settings
from tests.conftest import T0, build_world
from tests.databases import fresh_postgres
from tests.faults.test_celery_worker import REDIS_URL, socialgov, stop

pytestmark = pytest.mark.xdist_group("celery")


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def test_concurrent_breach_sweeps_on_a_real_worker(smtp: tuple[Inbox, int], tmp_path: Path) -> None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as e:
        pytest.fail(f"Redis is not reachable at {REDIS_URL} ({e}): start redis-server")
    handler, port = smtp
    url = fresh_postgres("celery_sweeps")
    c = Container(Settings(database_url=url, storage_dir=str(tmp_path / "files"), log_level="WARNING"),
                  clock=SettableClock(T0))
    with TestClient(create_app(container=c), raise_server_exceptions=False) as client:
        w = build_world(c, client)
        acc = w.account()
        ids = []
        for n in range(4):
            r = w.post("mod", f"/api/v1/schools/{w.school}/interactions", {
                "account_id": str(acc), "kind": "comment", "received_at": (T0 - timedelta(hours=2)).isoformat(),
                "author_handle": f"@author{n}", "excerpt": f"comment {n}"})
            ids.append(r.json()["id"])
        w.post("mod", f"/api/v1/interactions/{ids[0]}/acknowledge")  # answered in time: never a breach
        queue = f"socialgov-test-{uuid.uuid4().hex[:12]}"
        env = {**os.environ, "SOCIALGOV_REDIS_URL": REDIS_URL, "SOCIALGOV_DATABASE_URL": url,
               "SOCIALGOV_SMTP_URL": f"smtp://127.0.0.1:{port}", "SOCIALGOV_STORAGE_DIR": str(tmp_path / "files"),
               "PYTHONUNBUFFERED": "1"}
        log = tmp_path / "worker.log"
        proc = socialgov("worker", "--pool=threads", "--concurrency=2", "--loglevel=info", f"--queues={queue}",
                         env=env, log=log)
        client_app = make_celery(REDIS_URL)
        try:
            results = [client_app.send_task("socialgov.sweep_breaches", queue=queue) for _ in range(2)]
            outcomes = [r.get(timeout=90) for r in results]
            for r in results:
                r.forget()
            # the real clock is months after T0: the three unanswered comments are breached, once each
            assert sum(o["breaches"] for o in outcomes) == 3, (outcomes, log.read_text())
            again = client_app.send_task("socialgov.sweep_breaches", queue=queue)
            assert again.get(timeout=60)["breaches"] == 0
            again.forget()
            for iid in ids:
                names = [type(e).__name__ for e in c.inbox.events.get(uuid.UUID(iid))]
                assert names.count("ResponseDeadlineMissed") == (0 if iid == ids[0] else 1), names
            deadline = time.monotonic() + 20
            while len(handler.messages) < 3 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert len(handler.messages) == 3, log.read_text()
            message = handler.messages[0]
            recipients = set(message.rcpt_tos)
            assert any(r.startswith("mod-") for r in recipients) and any(r.startswith("head-") for r in recipients)
            assert b"Response deadline missed" in message.content
            assert proc.poll() is None, log.read_text()
        finally:
            stop(proc)
            client_app.close()
            r = redis.Redis.from_url(REDIS_URL)
            leftovers = list(r.scan_iter(match=f"*{queue}*"))
            if leftovers:
                r.delete(*leftovers)
            c.close()
