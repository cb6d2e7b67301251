"""Group commit on the real event store (SQLite and PostgreSQL): concurrent commands share one insert and one
projection transaction, each still reads its own write, and a conflict fails only the command that caused it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import event

from api.container import Container
from domain.application import AccountApplication, BusinessCase
from infra.settings import Settings
from services import queries
from services import readmodel as rm
from services.audit import verify_chain
from services.authorisation import Action
from services.eventstore import ConcurrencyConflict
from tests.conftest import World


def _queued_together(w: World, jobs: list[Callable[[], Any]]) -> list[Any]:
    """Runs the jobs on threads while the test holds the leader lock, so that all of them are queued before any
    is written: they must then be written as one batch. Returns each job's result or exception, in order."""
    committer = w.c.committer
    results: list[Any] = [None] * len(jobs)

    def run(i: int) -> None:
        try:
            results[i] = jobs[i]()
        except Exception as e:
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    with committer._leader:
        for t in threads:
            t.start()
        deadline = time.monotonic() + 10
        while len(committer._queue) < len(jobs):
            assert time.monotonic() < deadline, "the commands never queued"
            time.sleep(0.005)
        batches_before = committer.stats.batches
    for t in threads:
        t.join(timeout=30)
    assert committer.stats.batches == batches_before + 1, "the queued commands were not written as one batch"
    return results


def _case(w: World, *runners: str) -> BusinessCase:
    return BusinessCase("Share school news", "Parents", "Newsletter", tuple(w.people[r] for r in runners), "open",
                        "facebook", "OakfieldNews")


def test_concurrent_commands_share_one_insert_and_each_reads_its_own_write(world: World) -> None:
    w = world
    applicants = ["alice", "bob", "carol", "head", "mod"]
    principals = {n: w.principal(n) for n in applicants}

    def submit(name: str) -> Callable[[], tuple[UUID, dict[str, Any]]]:
        def job() -> tuple[UUID, dict[str, Any]]:
            app_id = w.c.applications.submit(principals[name], w.school, _case(w, "alice", "bob"))
            # read-your-writes: the moment the command returns, the read model shows it
            return app_id, queries.get_application(w.c.engine, principals[name], app_id)
        return job

    results = _queued_together(w, [submit(n) for n in applicants])
    for name, (app_id, row) in zip(applicants, results, strict=True):
        assert row["id"] == str(app_id) or row["id"] == app_id
        assert row["status"] == "submitted"
        assert row["applicant_id"] in (w.people[name], str(w.people[name]))
    assert len({app_id for app_id, _ in results}) == len(applicants)
    assert verify_chain(w.c.engine, w.c.recorder).ok


def test_a_rounds_writes_go_to_the_database_together(world: World) -> None:
    """A projection round writes a batch's new rows of one table with one statement. On PostgreSQL every write
    of the round, and the tracking move, go in one multi-statement script (decision 0028), sent once, or twice
    when the audit chain must first read its last link; on SQLite the rows go by the driver's executemany."""
    w = world
    principals = {n: w.principal(n) for n in ("alice", "bob", "carol")}
    seen: list[tuple[str, bool]] = []
    stats = w.c.projections.stats
    before = dict(stats)

    def listen(conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool) -> None:
        if statement.startswith("INSERT INTO rm_applications "):
            seen.append((statement, executemany))

    event.listen(w.c.projection_engine, "before_cursor_execute", listen)
    try:
        results = _queued_together(w, [lambda p=p: w.c.applications.submit(p, w.school, _case(w, "alice", "bob"))
                                       for p in principals.values()])
    finally:
        event.remove(w.c.projection_engine, "before_cursor_execute", listen)
    assert all(isinstance(r, UUID) for r in results)
    for p, app_id in zip(principals.values(), results, strict=True):  # and each reads its own write
        assert queries.get_application(w.c.engine, p, app_id)["status"] == "submitted"
    if w.c.projection_engine.dialect.name == "postgresql":
        assert seen == []  # not one statement at a time through SQLAlchemy
        sends = stats["script_sends"] - before["script_sends"]
        statements = stats["script_statements"] - before["script_statements"]
        assert 1 <= sends <= 2 and statements >= 5  # applications, counts, audit rows, chain links, the move
    else:  # by the driver's executemany, past SQLAlchemy (decision 0037): one statement, three rows
        assert seen == []
        assert stats["sqlite_statements:rm_applications"] - before.get("sqlite_statements:rm_applications", 0) == 1
        assert stats["sqlite_rows:rm_applications"] - before.get("sqlite_rows:rm_applications", 0) == 3


def test_a_conflict_in_a_batch_fails_only_the_command_that_caused_it(world: World) -> None:
    w = world
    alice = w.principal("alice")
    app_id = w.c.applications.submit(alice, w.school, _case(w, "alice", "bob"))
    copies = [w.c.applications.load(AccountApplication, app_id) for _ in range(2)]
    actor = alice.actor(Action.APPLICATION_WITHDRAW, w.school)
    for i, copy in enumerate(copies):
        assert copy is not None
        copy.withdraw(alice.id, f"copy {i}", actor, w.c.clock.now())
    carol = w.principal("carol")

    results = _queued_together(w, [
        lambda: w.c.applications.commit(copies[0]),  # type: ignore[arg-type]
        lambda: w.c.applications.commit(copies[1]),  # type: ignore[arg-type]
        lambda: w.c.applications.submit(carol, w.school, _case(w, "alice", "carol")),
    ])
    conflicts = [r for r in results[:2] if isinstance(r, ConcurrencyConflict)]
    assert len(conflicts) == 1, results
    assert isinstance(results[2], UUID), results[2]
    # exactly one withdrawal was stored, and the unrelated command landed and is visible
    stored = w.c.applications.load(AccountApplication, app_id)
    assert stored is not None and stored.version == 2 and stored.status.value == "withdrawn"
    assert queries.get_application(w.c.engine, alice, app_id)["status"] == "withdrawn"
    assert queries.get_application(w.c.engine, carol, results[2])["status"] == "submitted"
    assert verify_chain(w.c.engine, w.c.recorder).ok


def test_cached_principals_are_invalidated_only_by_what_they_are_made_of(world: World) -> None:
    w = world

    def principals_position() -> int:
        return rm.read_model_position(w.c.engine, rm.PRINCIPALS_CHANGED)

    before = principals_position()
    w.application("alice")  # an application changes no role, person or school
    assert principals_position() == before
    w.c.directory.add_staff(w.principal("admin"), w.school, "Dan", f"dan-{w.trust_id}@trust.example", ["staff"])
    moved = principals_position()
    assert moved > before
    assert moved <= w.c.projector.position()


@pytest.mark.parametrize("clients", [8])
def test_many_concurrent_commands_all_land_once(world: World, clients: int) -> None:
    """Free-running threads (no forced batching): every command succeeds, is visible, and lands exactly once."""
    w = world
    principal = w.principal("alice")
    ids: list[UUID] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def client() -> None:
        try:
            for _ in range(5):
                app_id = w.c.applications.submit(principal, w.school, _case(w, "alice", "bob"))
                assert queries.get_application(w.c.engine, principal, app_id)["status"] == "submitted"
                with lock:
                    ids.append(app_id)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors[0]
    assert len(set(ids)) == clients * 5
    page = queries.list_applications(w.c.engine, principal, w.school, None, 200, None)
    assert {UUID(str(i["id"])) for i in page.items} >= set(ids)
    assert verify_chain(w.c.engine, w.c.recorder).ok


def test_projection_reads_ahead_outside_the_lock_and_rereads_when_another_process_moved_on(world: World) -> None:
    """Two containers on one database stand for two web processes. Each catches up from notifications it read
    before locking the tracking rows: when nobody else moved them that read-ahead is used as is, and when the
    other process projected meanwhile it is trimmed or read again, so every command still reads its own write,
    each event is projected once and the audit chain still verifies."""
    w = world
    other = Container(Settings(database_url=str(w.c.settings.database_url), db_pool_size=2), clock=w.c.clock)
    append = w.c.committer.append
    for c in (w.c, other):  # commands catch up in rounds, as SQLite's do and as workers and the CLI do everywhere
        c.committer.append = None
    try:
        principal = w.principal("alice")
        group = w.c.projections
        used_before = group.stats["read_ahead_used"]
        ids = []
        for i in range(6):
            here = w.c if i % 3 else other  # the other process writes now and then: this one's hint goes stale
            app_id = here.applications.submit(principal, w.school, _case(w, "alice", "bob"))
            assert queries.get_application(here.engine, principal, app_id)["status"] == "submitted"
            ids.append(app_id)
        assert group.stats["read_ahead_used"] > used_before  # this process's own writes used the read-ahead
        page = queries.list_applications(w.c.engine, principal, w.school, None, 200, None)
        assert {UUID(str(i["id"])) for i in page.items} >= set(ids)
        assert w.c.projector.position() == other.projector.position() == w.c.recorder.max_notification_id()
        assert verify_chain(w.c.engine, w.c.recorder).ok
    finally:
        w.c.committer.append = append  # the container is shared with other tests
        other.close()


def test_commands_insert_and_project_together_and_take_up_what_others_left(world: World) -> None:
    """Decisions 0030 and 0035 (SQLite): a command's events are inserted and projected in one transaction. Two
    containers on one database stand for two web processes; a third writer stores events without projecting them
    (as a sweep does), and the next command projects those too, in id order, each once."""
    w = world
    other = Container(Settings(database_url=str(w.c.settings.database_url), db_pool_size=2), clock=w.c.clock)
    try:
        principal = w.principal("alice")
        def appended() -> int:
            return w.c.projections.stats["appended"] + other.projections.stats["appended"]

        before = appended()
        ids = []
        for i in range(6):
            here = w.c if i % 2 else other
            if i == 3:  # stored by another writer and left for later
                app = AccountApplication.submit(UUID(int=i + 1_000_000), w.trust_id, w.school, principal.id,
                                                _case(w, "alice", "bob"),
                                                w.c.applications._runners((w.people["alice"], w.people["bob"]),
                                                                          w.trust_id),
                                                principal.actor(Action.APPLICATION_SUBMIT, w.school),
                                                w.c.clock.now())
                other.applications.commit(app, project=False)
                ids.append(app.id)
                assert w.c.projector.position() < (w.c.recorder.max_notification_id() or 0)
                continue
            app_id = here.applications.submit(principal, w.school, _case(w, "alice", "bob"))
            assert queries.get_application(here.engine, principal, app_id)["status"] == "submitted"
            ids.append(app_id)
        assert appended() == before + 5  # every submit inserted and projected its event itself
        page = queries.list_applications(w.c.engine, principal, w.school, None, 200, None)
        assert {UUID(str(i["id"])) for i in page.items} >= set(ids)
        assert w.c.projector.position() == w.c.chain.position() == w.c.recorder.max_notification_id()
        assert verify_chain(w.c.engine, w.c.recorder).ok
    finally:
        other.close()


def test_the_chain_takes_its_last_link_from_its_tracking_row(world: World) -> None:
    """Decision 0031: the audit chain's last link is written beside its position, and the tracking lock returns
    it, so a process that did not write the previous batch does not read the chain to continue it. Two
    containers on one database stand for two web processes taking turns."""
    w = world
    other = Container(Settings(database_url=str(w.c.settings.database_url), db_pool_size=2), clock=w.c.clock)
    reads: list[str] = []

    def listen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if f"{rm.audit_chain.name}.link" in statement and "DESC" in statement:
            reads.append(statement)

    engines = {w.c.projection_engine, other.projection_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", listen)
    try:
        principal = w.principal("alice")
        for i in range(6):
            here = w.c if i % 2 else other
            app_id = here.applications.submit(principal, w.school, _case(w, "alice", "bob"))
            assert queries.get_application(here.engine, principal, app_id)["status"] == "submitted"
        assert reads == []
        assert verify_chain(w.c.engine, w.c.recorder).ok
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", listen)
        other.close()


def test_a_command_behind_a_long_backlog_commits_and_leaves_it_to_rounds(world: World) -> None:
    """Decision 0030: when others left a batch or more of events unprojected, the command's insert commits alone
    and catch-up rounds project the backlog and it, in order; the command still reads its own write."""
    w = world
    principal = w.principal("alice")
    backlog_before = w.c.projections.stats["append_backlog"]
    size = w.c.projector.batch_size
    w.c.projector.batch_size = 2
    try:
        left = []
        for i in range(3):  # stored, as a sweep stores, and not projected
            app = AccountApplication.submit(UUID(int=i + 2_000_000), w.trust_id, w.school, principal.id,
                                            _case(w, "alice", "bob"),
                                            w.c.applications._runners((w.people["alice"], w.people["bob"]),
                                                                      w.trust_id),
                                            principal.actor(Action.APPLICATION_SUBMIT, w.school), w.c.clock.now())
            w.c.applications.commit(app, project=False)
            left.append(app.id)
        app_id = w.c.applications.submit(principal, w.school, _case(w, "alice", "bob"))
        assert queries.get_application(w.c.engine, principal, app_id)["status"] == "submitted"
        for i in left:
            assert queries.get_application(w.c.engine, principal, i)["status"] == "submitted"
    finally:
        w.c.projector.batch_size = size
    assert w.c.projections.stats["append_backlog"] == backlog_before + 1
    assert w.c.projector.position() == w.c.chain.position() == w.c.recorder.max_notification_id()
    assert verify_chain(w.c.engine, w.c.recorder).ok


def test_the_loop_keeps_two_bounded_batches_on_their_way_and_the_rest_waits() -> None:
    """GroupCommit's flights on an event loop (decision 0042), against an append that answers only when the test
    says: two batches leave at once, none larger than SOON_BATCH; what is left goes when one lands; each command
    gets its own last id."""
    import asyncio

    from services.group_commit import IN_FLIGHT, SOON_BATCH, GroupCommit

    sent: list[int] = []
    next_id = [0]

    async def append_soon(stored: Any, events: Any, marks: frozenset[int]) -> tuple[list[int], int]:
        sent.append(len(stored))
        await answer.wait()
        ids = list(range(next_id[0] + 1, next_id[0] + len(stored) + 1))
        next_id[0] += len(stored)
        return ids, next_id[0]

    committer = GroupCommit(None, append_soon=append_soon)  # type: ignore[arg-type]  # the append is all it uses
    total = 2 * SOON_BATCH + 10

    async def run() -> list[int]:
        futures = [committer.commit_soon([object()], [object()], True) for _ in range(total)]  # type: ignore[list-item]
        for _ in range(5):
            await asyncio.sleep(0)
        assert sent == [SOON_BATCH] * IN_FLIGHT  # two full batches on their way; ten wait
        answer.set()
        return list(await asyncio.gather(*futures))

    answer = asyncio.Event()
    lasts = asyncio.run(run())
    assert sent == [SOON_BATCH, SOON_BATCH, 10]
    assert sorted(lasts) == list(range(1, total + 1))  # one id each, none shared
    assert committer.stats.batches == 3 and committer.stats.largest == SOON_BATCH
