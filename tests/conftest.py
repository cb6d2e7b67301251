"""Fixtures: the real app on the real stores, once on SQLite and once on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from litestar.testing import TestClient

from api.app import create_app
from api.container import Container
from infra.clock import SettableClock
from infra.settings import Settings
from services.authorisation import Principal
from services.directory import system_actor
from services.identity import principal_for_person
from tests.databases import drop_created, fresh_postgres

T0 = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0")


@pytest.fixture(scope="session", autouse=True)
def _drop_test_databases() -> Iterator[None]:
    yield
    drop_created()


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'socialgov.db'}"
    return fresh_postgres(WORKER)


@pytest.fixture(scope="session")
def container(backend: str) -> Iterator[Container]:
    c = Container(Settings(database_url=backend, db_pool_size=5), clock=SettableClock(T0))
    yield c
    c.close()


@pytest.fixture(scope="session")
def client(container: Container) -> Iterator[TestClient[Any]]:
    app = create_app(container=container)
    with TestClient(app, raise_server_exceptions=False) as tc:
        yield tc


@contextmanager
def served(c: Container) -> Iterator[tuple[Container, TestClient[Any]]]:
    """A test's own container, served by the real app; closed afterwards."""
    try:
        with TestClient(create_app(container=c), raise_server_exceptions=False) as client:
            yield c, client
    finally:
        c.close()


@contextmanager
def live(c: Container) -> Iterator[str]:
    """The real app on `c`, served by uvicorn on a free port in a thread, for tests whose clients run at once
    (the TestClient serves one request at a time); yields its base URL."""
    import socket
    import threading
    import time

    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(container=c), log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the app did not start under uvicorn"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@dataclass
class World:
    """A fresh trust with two schools and people in every role, built through the real services."""

    c: Container
    client: TestClient[Any]
    trust_id: UUID
    admin: UUID
    policy: UUID
    school: UUID
    other_school: UUID
    people: dict[str, UUID] = field(default_factory=dict)

    def principal(self, name: str) -> Principal:
        pid = self.admin if name == "admin" else self.people[name]
        p = principal_for_person(self.c.engine, pid, "test")
        assert p is not None
        return p

    def token(self, name: str) -> str:
        pid = self.admin if name == "admin" else self.people[name]
        return self.c.tokens.issue(pid, auth_method="test")

    def h(self, name: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(name)}", **extra}

    def post(self, name: str, path: str, json: Any = None, **headers: str) -> Any:
        return self.client.post(path, json=json, headers=self.h(name, **headers))

    def get(self, name: str, path: str, **params: Any) -> Any:
        return self.client.get(path, params=params, headers=self.h(name))

    def train(self, name: str, completed: date | None = None) -> None:
        pid = self.people[name]
        self.c.directory.record_training(self.principal("admin"), pid, "Social media essentials",
                                         completed or self.c.clock.now().date() - timedelta(days=30), None)

    def acknowledge(self, name: str) -> None:
        pid = self.people[name]
        self.c.directory.acknowledge_policy(self.principal(name), pid, None)

    def ready(self, *names: str) -> None:
        for n in names:
            self.train(n)
            self.acknowledge(n)

    def application(self, applicant: str, runners: tuple[str, ...] = ("alice", "bob")) -> UUID:
        r = self.post(applicant, f"/api/v1/schools/{self.school}/applications", APPLICATION
                      | {"runner_ids": [str(self.people[n]) for n in runners]})
        assert r.status_code == 201, r.text
        return UUID(r.json()["id"])

    def account(self, runners: tuple[str, ...] = ("alice", "bob"), lead: str | None = None) -> UUID:
        """An approved application turned into an account by the moderator."""
        self.ready(*runners)
        app_id = self.application("carol", runners)
        assert self.post("head", f"/api/v1/applications/{app_id}/approve").status_code == 200
        body: dict[str, Any] = {"application_id": str(app_id), "url": "https://www.facebook.com/Oakfield"}
        if lead:
            body["lead_id"] = str(self.people[lead])
        r = self.post("mod", f"/api/v1/schools/{self.school}/accounts", body)
        assert r.status_code == 201, r.text
        return UUID(r.json()["id"])

    def event_count(self) -> int:
        return int(self.c.recorder.max_notification_id() or 0)


APPLICATION = {"aim": "Share school news", "audience": "Parents and carers", "promotion": "Newsletter",
               "visibility": "open", "platform": "facebook", "proposed_handle": "OakfieldNews"}

PEOPLE = {"head": "slt", "mod": "moderator", "alice": "staff", "bob": "staff", "carol": "staff", "vol": "volunteer"}


def build_world(c: Container, client: TestClient[Any]) -> World:
    assert isinstance(c.clock, SettableClock)
    c.clock.set(T0)
    tag = uuid.uuid4().hex[:8]
    trust_id, admin = c.directory.register_trust(f"Trust {tag}", "Ada Admin", f"ada-{tag}@trust.example",
                                                 system_actor("test"))
    ap = principal_for_person(c.engine, admin, "test")
    assert ap is not None
    policy = c.directory.publish_policy(ap, "v1", "first")
    school = c.directory.add_school(ap, f"School A {tag}", "100001", "england")
    ap = c.refresh_principal(ap)
    other = c.directory.add_school(ap, f"School B {tag}", "100002", "scotland")
    ap = c.refresh_principal(ap)
    w = World(c, client, trust_id, admin, policy, school, other)
    for name, role in PEOPLE.items():
        w.people[name] = c.directory.add_staff(ap, school, name.title(), f"{name}-{tag}@trust.example",
                                               [role]).person_id
    w.people["other_head"] = c.directory.add_staff(ap, other, "Other Head", f"oh-{tag}@trust.example",
                                                   ["slt"]).person_id
    w.people["other_staff"] = c.directory.add_staff(ap, other, "Other Staff", f"os-{tag}@trust.example",
                                                    ["staff"]).person_id
    return w


@pytest.fixture
def world(container: Container, client: TestClient[Any]) -> World:
    return build_world(container, client)


@pytest.fixture
def stranger(container: Container, client: TestClient[Any]) -> World:
    """A second, unrelated trust."""
    return build_world(container, client)


ROOT = Path(__file__).resolve().parent.parent
