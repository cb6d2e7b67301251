"""SQLite's writer process (api/sqlite_writer.py; decision 0041), through the real app: commands' events are
written and projected in a second process and read back at once; conflicts, a moved directory and a dead writer
reach the caller as they would without it."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from api.container import Container
from infra.clock import SettableClock
from infra.settings import Settings
from services.audit import verify_chain
from tests.api import test_applications, test_authorised_at_commit
from tests.conftest import APPLICATION, T0, World, build_world, served


@pytest.fixture(scope="module")
def writing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Container, TestClient[Any]]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('writer') / 'socialgov.db'}"
    with served(Container(Settings(database_url=url, db_pool_size=5, sqlite_writer_process=True),
                          clock=SettableClock(T0))) as both:
        yield both


@pytest.fixture
def w(writing: tuple[Container, TestClient[Any]]) -> World:
    return build_world(*writing)


def _submit(w: World, who: str = "carol") -> Any:
    return w.post(who, f"/api/v1/schools/{w.school}/applications",
                  APPLICATION | {"runner_ids": [str(w.people["alice"]), str(w.people["bob"])]})


def test_commands_are_written_by_the_writer_process_and_read_back_at_once(w: World) -> None:
    assert w.c.writer is not None
    pid = w.c.writer.pid
    assert pid is not None and pid != os.getpid()
    assert Path(f"/proc/{pid}/comm").read_text().strip() == "sqlite-writer"
    before = w.event_count()
    ids = []
    for _ in range(3):
        r = _submit(w)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    listed = w.get("head", f"/api/v1/schools/{w.school}/applications", limit=200).json()["items"]
    assert {a["id"] for a in listed} >= set(ids)  # read-your-writes across the two processes
    assert w.event_count() == before + 3
    assert w.c.projector.position() == w.event_count()
    assert verify_chain(w.c.engine, w.c.recorder).ok
    assert w.c.writer.pid == pid  # one process served them all


def test_a_conflict_in_the_writer_process_is_a_409(w: World) -> None:
    test_applications.test_concurrent_approvals_one_wins_the_other_gets_409(w)


def test_a_moved_directory_refuses_the_provisional_caller_across_the_pipe(w: World) -> None:
    other = Container(Settings(database_url=str(w.c.settings.database_url), db_pool_size=2), clock=w.c.clock)
    try:
        test_authorised_at_commit.test_a_role_ended_by_another_process_is_refused_at_commit(w, other)
    finally:
        other.close()


def test_a_dead_writer_fails_its_batch_with_a_503_and_is_started_again(w: World) -> None:
    assert _submit(w).status_code == 201
    writer = w.c.writer
    assert writer is not None and writer.pid is not None
    pid, starts, before = writer.pid, writer.starts, w.event_count()
    os.kill(pid, signal.SIGSTOP)  # the batch waits in its pipe...
    answer: list[Any] = []
    t = threading.Thread(target=lambda: answer.append(_submit(w)))
    t.start()
    time.sleep(0.5)
    os.kill(pid, signal.SIGKILL)  # ...and the process dies before reading it
    t.join(timeout=30)
    r = answer[0]
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert w.event_count() == before  # nothing was written

    r = _submit(w)  # the next batch starts a new writer
    assert r.status_code == 201, r.text
    assert writer.starts == starts + 1 and writer.pid != pid
    assert w.event_count() == before + 1


def test_a_writer_that_cannot_open_the_database_stops_start_up(tmp_path: Path) -> None:
    from api.sqlite_writer import WriterProcess

    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    writer = WriterProcess(f"sqlite:///{blocked}/socialgov.db", 1, None)
    with pytest.raises(FileExistsError, match="not-a-directory"):  # the process's own error, sent back
        writer.start()
    assert writer.pid is None  # and the process is gone
