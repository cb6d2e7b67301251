"""SQLite's writer process (api/sqlite_writer.py; decisions 0041 and 0042), through the real app: commands' events
are written and projected in a second process and read back at once, from the event loop and from worker threads
alike; conflicts, a moved directory and a dead writer reach the caller as they would without it."""

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
from tests.services import test_deferred


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
    before, from_loop = w.event_count(), w.c.writer.sent_from_loop
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
    assert w.c.writer.sent_from_loop == from_loop + 3  # each sent from the event loop, no thread between


def test_commands_from_the_loop_and_from_threads_share_the_writer_and_all_land_once(w: World) -> None:
    """Submits (on the loop, batches on their way two at a time) and approvals (worker threads, which have the pipe
    to themselves) at once: every one is answered, each event is written once, and the chain holds."""
    writer = w.c.writer
    assert writer is not None
    w.ready("alice", "bob")
    to_approve = [w.application("carol") for _ in range(6)]
    before, from_loop, batches = w.event_count(), writer.sent_from_loop, w.c.committer.stats.batches
    answers: list[tuple[str, int]] = []
    lock = threading.Lock()

    def submitter() -> None:
        for _ in range(10):
            r = _submit(w)
            with lock:
                answers.append(("submit", r.status_code))

    def approver(app_ids: list[str]) -> None:
        for app_id in app_ids:
            r = w.post("head", f"/api/v1/applications/{app_id}/approve")
            with lock:
                answers.append(("approve", r.status_code))

    threads = [threading.Thread(target=submitter) for _ in range(6)]
    threads += [threading.Thread(target=approver, args=(to_approve[i::2],)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a command never got its answer"
    assert sorted(set(answers)) == [("approve", 200), ("submit", 201)] and len(answers) == 66
    assert w.event_count() == before + 66
    assert writer.sent_from_loop > from_loop  # the submits went from the loop...
    assert w.c.committer.stats.batches - batches < 66  # ...sharing batches
    for app_id in to_approve:
        assert w.get("head", f"/api/v1/applications/{app_id}").json()["status"] == "approved"
    assert w.c.projector.position() == w.event_count()
    assert verify_chain(w.c.engine, w.c.recorder).ok


def test_two_batches_are_on_their_way_at_once_and_the_rest_wait_for_one_to_land(w: World) -> None:
    """While the writer is stopped, the loop sends two batches and queues the rest; once it resumes, the queued
    commands go together as the next batch, and every command is written once."""
    from services.group_commit import IN_FLIGHT

    writer, committer = w.c.writer, w.c.committer
    assert writer is not None and IN_FLIGHT == 2
    assert _submit(w).status_code == 201
    pid, before, batches = writer.pid, w.event_count(), committer.stats.batches
    assert pid is not None
    answers: list[Any] = []
    threads = [threading.Thread(target=lambda: answers.append(_submit(w))) for _ in range(6)]

    def until(sent: int, queued: int) -> None:
        deadline = time.monotonic() + 20
        while (len(writer._answers), len(committer._soon)) != (sent, queued):
            assert time.monotonic() < deadline, (len(writer._answers), len(committer._soon))
            time.sleep(0.01)

    os.kill(pid, signal.SIGSTOP)
    try:
        threads[0].start()
        until(1, 0)  # the first batch is sent at once...
        threads[1].start()
        until(2, 0)  # ...and so is a second, with the first unanswered...
        for t in threads[2:]:
            t.start()
        until(2, 4)  # ...but not a third: the rest wait
    finally:
        os.kill(pid, signal.SIGCONT)
    for t in threads:
        t.join(timeout=30)
    assert sorted(r.status_code for r in answers) == [201] * 6
    assert committer.stats.batches == batches + IN_FLIGHT + 1  # the four queued went as one batch
    assert w.event_count() == before + 6 and writer.pid == pid


def test_a_conflict_among_the_loops_batch_fails_only_its_own_command(w: World) -> None:
    writer = w.c.writer
    assert writer is not None
    from_loop = writer.sent_from_loop
    test_deferred.test_a_conflict_fails_only_its_own_command(w)
    assert writer.sent_from_loop >= from_loop + 2  # the batch of both, then each alone


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


def test_a_writer_dying_with_batches_on_their_way_fails_just_those(w: World) -> None:
    """Several commands at once while the writer is stopped: the batches sent to it fail with a 503 when it dies,
    the rest go to the new writer; whatever was answered 201 is written, once, and nothing else is."""
    assert _submit(w).status_code == 201
    writer = w.c.writer
    assert writer is not None and writer.pid is not None
    pid, before = writer.pid, w.event_count()
    os.kill(pid, signal.SIGSTOP)
    answers: list[Any] = []
    threads = [threading.Thread(target=lambda: answers.append(_submit(w))) for _ in range(6)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    os.kill(pid, signal.SIGKILL)
    for t in threads:
        t.join(timeout=60)
    codes = sorted(r.status_code for r in answers)
    assert len(codes) == 6 and set(codes) <= {201, 503} and 503 in codes, codes
    assert w.event_count() == before + codes.count(201)
    assert writer.pid != pid
    assert _submit(w).status_code == 201


def test_a_writer_that_cannot_open_the_database_stops_start_up(tmp_path: Path) -> None:
    from api.sqlite_writer import WriterProcess

    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    writer = WriterProcess(f"sqlite:///{blocked}/socialgov.db", 1, None)
    with pytest.raises(FileExistsError, match="not-a-directory"):  # the process's own error, sent back
        writer.start()
    assert writer.pid is None  # and the process is gone
