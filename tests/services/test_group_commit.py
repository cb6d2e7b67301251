"""infra/group_commit.py on the real stores: commands writing at the same moment share one transaction; each
command's writes sit in a savepoint of its own, so one that fails undoes only its own; each returns only once the
shared transaction has committed, and if that commit fails every command in it hears so and nothing is written."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
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
    engine = container.event_table.engine  # the writers' engine: savepoints work on it, on both stores
    rows.create(engine)
    yield engine
    rows.drop(engine)


class Recorded:
    """A GroupCommit over `engine` that counts the transactions it committed, with a gate a test can hold shut
    inside the first member's turn so that the others queue behind it."""

    def __init__(self, engine: Engine, fail_commit: bool = False) -> None:
        self.engine, self.fail_commit = engine, fail_commit
        self.commits = 0
        self.group = GroupCommit(self._transaction)

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn
            if self.fail_commit:
                raise RuntimeError("the disk is full")
            self.commits += 1


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(rows)).scalar_one())


def _run(group: Recorded, gate: threading.Event, jobs: list[tuple[int, str, bool]]) -> list[Any]:
    """Each job writes a row in its turn (the first waits at the gate, so the others queue), failing after its
    write where asked; returns each job's outcome: None, or the exception it raised."""
    outcomes: list[Any] = [None] * len(jobs)

    def job(i: int) -> None:
        key, who, fail = jobs[i]
        try:
            with group.group.turn() as conn:
                conn.execute(insert(rows).values(id=key, who=who))
                if i == 0:
                    gate.wait(10)
                if fail:
                    raise ValueError(f"{who} is refused")
        except Exception as e:
            outcomes[i] = e

    threads = [threading.Thread(target=job, args=(i,)) for i in range(len(jobs))]
    threads[0].start()
    time.sleep(0.1)  # the first is in its turn, holding the gate
    for t in threads[1:]:
        t.start()
    time.sleep(0.3)  # the others are waiting for their turns
    gate.set()
    for t in threads:
        t.join(10)
    return outcomes


def test_commands_at_the_same_moment_share_one_commit(engine: Engine) -> None:
    group = Recorded(engine)
    outcomes = _run(group, threading.Event(), [(1, "a", False), (2, "b", False), (3, "c", False)])
    assert outcomes == [None, None, None]
    assert group.commits == 1  # the first found the others waiting when its turn ended, and left the commit to them
    assert _count(engine) == 3


def test_a_failing_command_undoes_only_its_own_writes(engine: Engine) -> None:
    group = Recorded(engine)
    outcomes = _run(group, threading.Event(), [(1, "a", False), (2, "b", True), (3, "c", False)])
    assert outcomes[0] is None and isinstance(outcomes[1], ValueError) and outcomes[2] is None
    with engine.connect() as conn:
        assert sorted(conn.execute(select(rows.c.who)).scalars()) == ["a", "c"]


def test_a_failed_commit_fails_every_command_of_the_group_and_writes_nothing(engine: Engine) -> None:
    group = Recorded(engine, fail_commit=True)
    outcomes = _run(group, threading.Event(), [(1, "a", False), (2, "b", False), (3, "c", False)])
    assert all(isinstance(o, RuntimeError) for o in outcomes), outcomes
    assert _count(engine) == 0


def test_a_command_returns_only_once_its_write_is_committed(engine: Engine) -> None:
    group = Recorded(engine)
    with group.group.turn() as conn:
        conn.execute(insert(rows).values(id=7, who="alone"))
    assert _count(engine) == 1  # seen by another connection as soon as the turn is over
