"""Commands run on an event loop with their commit awaited (services/deferred.py; decision 0041), on the real
event store (SQLite and PostgreSQL): they share batches with each other, read their own writes once awaited, and
a conflict or a second commit fails only the command concerned, with nothing written for it."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from domain.application import AccountApplication
from services import queries
from services.audit import verify_chain
from services.authorisation import Action
from services.deferred import run_deferred
from services.eventstore import ConcurrencyConflict
from tests.conftest import World
from tests.services.test_group_commit import _case


def _submit(w: World, who: str) -> Any:
    p = w.principal(who)
    return lambda: w.c.applications.submit_event(p, w.school, _case(w, "alice", "bob"))


def test_commands_on_the_loop_share_one_batch_and_each_reads_its_own_write(world: World) -> None:
    w = world
    committer, names = w.c.committer, ["alice", "bob", "carol"]
    events_before = w.event_count()

    async def run() -> list[Any]:
        with committer._leader:  # held: all three queue before the writer thread can write any of them
            tasks = [asyncio.ensure_future(run_deferred(_submit(w, n))) for n in names]
            deadline = time.monotonic() + 10
            while len(committer._queue) < len(names):
                assert time.monotonic() < deadline, "the commands never queued"
                await asyncio.sleep(0.005)
            batches = committer.stats.batches
        done = await asyncio.gather(*tasks)
        assert committer.stats.batches == batches + 1, "the queued commands were not written as one batch"
        return done

    for name, submitted in zip(names, asyncio.run(run()), strict=True):
        row = queries.get_application(w.c.engine, w.principal(name), submitted.originator_id)  # visible at once
        assert row["status"] == "submitted" and str(row["applicant_id"]) == str(w.people[name])
    assert w.event_count() == events_before + len(names)
    assert verify_chain(w.c.engine, w.c.recorder).ok


def test_a_conflict_fails_only_its_own_command(world: World) -> None:
    w = world
    head = w.principal("head")
    app_id = w.application("carol")
    stale = [w.c.applications._visible(head, app_id) for _ in range(2)]  # both at the same version

    def reject(i: int) -> Any:
        return lambda: w.c.applications.commit(_rejected(stale[i], head, f"reason {i}"))

    async def run() -> list[Any]:
        return await asyncio.gather(run_deferred(reject(0)), run_deferred(reject(1)), return_exceptions=True)

    outcomes = asyncio.run(run())
    assert sorted(type(o).__name__ for o in outcomes) == ["ConcurrencyConflict", "int"]
    assert any(isinstance(o, ConcurrencyConflict) for o in outcomes)
    assert [type(e).__name__ for e in w.c.applications.events.get(app_id)] == ["ApplicationSubmitted",
                                                                                "ApplicationRejected"]


def _rejected(app: AccountApplication, head: Any, reason: str) -> AccountApplication:
    assert app.school_id is not None
    app.reject(head.id, reason, head.actor(Action.APPLICATION_DECIDE, app.school_id), datetime.now(UTC))
    return app


def test_a_command_on_the_loop_commits_once(world: World) -> None:
    w = world
    alice = w.principal("alice")
    before = w.event_count()

    def twice() -> None:
        for _ in range(2):
            app = AccountApplication.submit(uuid.uuid4(), w.trust_id, w.school, alice.id, _case(w, "alice", "bob"),
                                            w.c.applications._runners((w.people["alice"], w.people["bob"]),
                                                                       w.trust_id),
                                            alice.actor(Action.APPLICATION_SUBMIT, w.school), datetime.now(UTC))
            w.c.applications.commit(app)

    with pytest.raises(RuntimeError, match="commits once"):
        asyncio.run(run_deferred(twice))
    assert w.event_count() == before  # nothing written: the first commit was only queued


def test_a_command_that_must_read_first_runs_in_a_thread_and_its_commit_is_awaited(world: World) -> None:
    w = world
    loop_thread: list[Any] = []

    def submit() -> Any:
        loop_thread.append(threading.current_thread())
        return _submit(w, "bob")()

    async def run() -> Any:
        here = threading.current_thread()
        event = await run_deferred(submit, on_loop=False)
        assert loop_thread[0] is not here
        return event

    event = asyncio.run(run())
    row = queries.get_application(w.c.engine, w.principal("bob"), event.originator_id)
    assert row["status"] == "submitted"


def test_closing_the_committer_stops_its_writer_thread(world: World) -> None:
    from services.group_commit import GroupCommit

    w = world
    committer = GroupCommit(w.c.recorder, append=w.c.committer.append, projected=w.c.committer.projected,
                            directory_mark=w.c.committer.directory_mark, write_lock=w.c.committer.write_lock)
    original = w.c.applications.committer
    w.c.applications.committer = committer
    try:
        asyncio.run(run_deferred(_submit(w, "carol")))
        writer = committer._writer
        assert writer is not None and writer.is_alive()
    finally:
        w.c.applications.committer = original
    committer.close()
    assert not writer.is_alive()

    async def after_close() -> None:
        committer.commit_soon([], [], False, None)

    with pytest.raises(RuntimeError, match="closed"):
        asyncio.run(after_close())
