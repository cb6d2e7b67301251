"""infra/group_commit.py on the real stores: commands that arrive while a transaction waits for the event log's lock
are written with it, by one call and one commit; if that call fails, each is written alone, so one command's
failure is its own; a failed commit fails every command in it and writes nothing; a command returns only once its
write is committed."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Column, Connection, Engine, Integer, MetaData, String, Table, func, insert, select

from api.container import Container
from infra.group_commit import GroupCommit

rows = Table(f"group_commit_test_{uuid.uuid4().hex[:8]}", MetaData(), Column("id", Integer, primary_key=True),
             Column("who", String(20)))


@pytest.fixture
def engine(container: Container) -> Iterator[Engine]:
    engine = container.event_table.engine  # the writers' engine, on both stores
    rows.create(engine)
    yield engine
    rows.drop(engine)


class Recorded:
    """A GroupCommit over `engine` that records each call of the write function and counts the commits. Its first
    transaction waits at a gate before it starts, as one waits for the event log's lock while another holds it."""

    def __init__(self, engine: Engine, fail_commit: bool = False) -> None:
        self.engine, self.fail_commit = engine, fail_commit
        self.gate = threading.Event()
        self.calls: list[list[str]] = []
        self.commits = 0
        self.group = GroupCommit(self._transaction)

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        self.gate.wait(10)
        with self.engine.begin() as conn:
            yield conn
            if self.fail_commit:
                raise RuntimeError("the disk is full")
        self.commits += 1

    def write(self, conn: Connection, entries: Sequence[tuple[int, str]]) -> list[str]:
        """Inserts a row per entry; refuses the whole call if any entry is named 'refused'."""
        self.calls.append([who for _, who in entries])
        conn.execute(insert(rows), [{"id": key, "who": who} for key, who in entries])
        if any(who == "refused" for _, who in entries):
            raise ValueError("refused is refused")
        return [f"wrote {who}" for _, who in entries]


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(rows)).scalar_one())


def _run(recorded: Recorded, entries: list[tuple[int, str]]) -> list[Any]:
    """Each entry written from a thread of its own, the first one first: it waits at the gate (for the lock) while
    the others arrive. Returns each one's outcome: its result, or the exception it raised."""
    outcomes: list[Any] = [None] * len(entries)

    def job(i: int) -> None:
        try:
            outcomes[i] = recorded.group.write(entries[i], recorded.write)
        except Exception as e:
            outcomes[i] = e

    threads = [threading.Thread(target=job, args=(i,)) for i in range(len(entries))]
    threads[0].start()
    time.sleep(0.1)  # the first has the writer's turn, waiting for its transaction
    for t in threads[1:]:
        t.start()
    time.sleep(0.3)  # the others are queued
    recorded.gate.set()
    for t in threads:
        t.join(10)
    return outcomes


def test_commands_arriving_while_the_lock_is_awaited_are_written_by_one_call_and_one_commit(engine: Engine) -> None:
    recorded = Recorded(engine)
    outcomes = _run(recorded, [(1, "a"), (2, "b"), (3, "c")])
    assert outcomes == ["wrote a", "wrote b", "wrote c"]
    assert [sorted(call) for call in recorded.calls] == [["a", "b", "c"]]
    assert recorded.commits == 1
    assert _count(engine) == 3


def test_a_failing_command_fails_alone_and_the_others_are_written(engine: Engine) -> None:
    recorded = Recorded(engine)
    outcomes = _run(recorded, [(1, "a"), (2, "refused"), (3, "c")])
    assert outcomes[0] == "wrote a" and isinstance(outcomes[1], ValueError) and outcomes[2] == "wrote c"
    assert len(recorded.calls[0]) == 3 and sorted(len(call) for call in recorded.calls[1:]) == [1, 1, 1]
    with engine.connect() as conn:
        assert sorted(conn.execute(select(rows.c.who)).scalars()) == ["a", "c"]


def test_a_failed_commit_fails_every_command_and_writes_nothing(engine: Engine) -> None:
    recorded = Recorded(engine, fail_commit=True)
    outcomes = _run(recorded, [(1, "a"), (2, "b"), (3, "c")])
    assert all(isinstance(o, RuntimeError) for o in outcomes), outcomes
    assert _count(engine) == 0


def test_a_command_returns_only_once_its_write_is_committed(engine: Engine) -> None:
    recorded = Recorded(engine)
    recorded.gate.set()
    assert recorded.group.write((7, "alone"), recorded.write) == "wrote alone"
    assert _count(engine) == 1  # seen by another connection as soon as the write returns


def test_a_transaction_alone_waits_for_the_writer_and_the_writer_for_it(engine: Engine) -> None:
    recorded = Recorded(engine)
    recorded.gate.set()
    written = threading.Event()
    with recorded.group.alone() as conn:
        conn.execute(insert(rows).values(id=1, who="catch-up"))
        writer = threading.Thread(target=lambda: (recorded.group.write((2, "b"), recorded.write), written.set()))
        writer.start()
        assert not written.wait(0.3)  # the command waits for the turn
    assert written.wait(10)
    writer.join(10)
    assert _count(engine) == 2
