"""Group commit: commands that write at the same moment are written together, in one transaction, by one call of
their write function, so that they pay for one lock on the event log, one round of statements and one disk flush
between them (docs/decisions/0044-one-write-path.md).

A command queues its entry and waits for the writer's turn. The one that gets the turn opens a transaction, which
waits for the event log's lock; once it has the lock it takes every entry queued by then (at most `most`; those
that arrived during the wait included) and writes them with one call of `write(conn, entries)`. The others find
theirs written when they wake. If that call or its commit fails, each entry is written again alone, in a
transaction of its own, so that one entry's failure (a conflict, a refused caller) is its own and the others are
written. A command returns only once the transaction holding its entry has committed, or raises what failed it:
a command is answered 2xx only once its writes are durable, and a 5xx command wrote nothing. With one command at a
time this is one transaction per command.

Only infra/database.EventTable uses it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from sqlalchemy import Connection

#: Writes several entries in the given transaction; returns each entry's result, in order.
Write = Callable[[Connection, Sequence[Any]], Sequence[Any]]


class _Entry:
    """One command's entry, waiting to be written, then its result or the error that failed it."""

    def __init__(self, value: Any, write: Write) -> None:
        self.value, self.write = value, write
        self.done = False
        self.result: Any = None
        self.error: BaseException | None = None

    def outcome(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.result


class GroupCommit:
    def __init__(self, begin: Callable[[], AbstractContextManager[Connection]], most: int = 64) -> None:
        #: Opens a transaction (its connection), committed on a clean exit and rolled back otherwise.
        self._begin = begin
        #: Entries written together at most, so that a steady stream of commands still commits now and then.
        self.most = most
        self._state = threading.Condition()
        self._queue: list[_Entry] = []
        self._busy = False  # someone has the writer's turn

    def write(self, value: Any, write: Write) -> Any:
        """`write(conn, [value, …])`'s result for `value`, once the transaction that wrote it has committed."""
        entry = _Entry(value, write)
        with self._state:
            self._queue.append(entry)
        while not entry.done:
            with self._state:
                while self._busy and not entry.done:
                    self._state.wait()
                if entry.done:
                    break
                self._busy = True
            try:
                self._write_queued(write)
            finally:
                self._end_turn()
        return entry.outcome()

    @contextmanager
    def alone(self) -> Iterator[Connection]:
        """A transaction of its own in the writer's turn (projections catching up, a rebuild)."""
        with self._state:
            while self._busy:
                self._state.wait()
            self._busy = True
        try:
            with self._begin() as conn:
                yield conn
        finally:
            self._end_turn()

    def _write_queued(self, write: Write) -> None:
        """Writes the entries queued for `write`, taken once the transaction has its lock (commands that arrive while
        it waits for the lock join in); if anything fails, each is written alone."""
        group: list[_Entry] = []
        try:
            try:
                with self._begin() as conn:
                    group = self._take(write)
                    results = write(conn, [e.value for e in group])
                for one, result in zip(group, results, strict=True):
                    one.result = result
            except Exception as failed:  # noqa: BLE001 - each entry hears of it, or is tried alone
                group = group or self._take(write)
                if len(group) == 1:
                    group[0].error = failed
                else:
                    for one in group:
                        try:
                            [one.result] = self._in_transaction(one.write, [one.value])
                        except Exception as e:  # noqa: BLE001 - the entry's own failure, raised in its own thread
                            one.error = e
        except BaseException as e:  # interrupted: no entry is left waiting for an answer
            for one in group:
                one.error = e
            raise
        finally:
            for one in group:
                one.done = True

    def _take(self, write: Write) -> list[_Entry]:
        """The oldest queued entries for `write`, at most `most`, off the queue."""
        with self._state:
            group = [e for e in self._queue if e.write == write][:self.most]
            self._queue = [e for e in self._queue if e not in group]
        return group

    def _in_transaction(self, write: Write, values: list[Any]) -> Sequence[Any]:
        with self._begin() as conn:
            return write(conn, values)

    def _end_turn(self) -> None:
        with self._state:
            self._busy = False
            self._state.notify_all()
