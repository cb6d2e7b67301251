"""Group commit: commands that write at the same moment share one transaction, so they pay for one lock on the
event log and one disk flush between them (docs/decisions/0044-one-write-path.md).

A command takes its turn in the open transaction (or opens one), and does its writes inside a SAVEPOINT of its
own, so that a command that fails (a conflict, a refused caller, a broken projection) undoes only its own writes.
When its turn ends, it commits the transaction if no other command is waiting for a turn (or the group is full);
otherwise it leaves the transaction open for the next one. Either way it returns only once the transaction that
holds its writes has committed, and raises that commit's error if it failed: a command is answered 2xx only once
its writes are durable, and a 5xx command wrote nothing. With one command at a time this is one transaction per
command.

Nothing outside infra/database.EventTable knows of it: callers see an ordinary `with table.appending() as conn:`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from sqlalchemy import Connection


class _Group:
    """One shared transaction: its connection, and whether (and how) it ended."""

    def __init__(self, begin: Callable[[], AbstractContextManager[Connection]]) -> None:
        self._transaction = begin()
        self.conn = self._transaction.__enter__()
        self.members = 0
        self.error: BaseException | None = None
        self._ended = threading.Event()

    def end(self) -> None:
        """Commits (or, if the group was broken, rolls back); every member waiting then hears of it."""
        try:
            if self.error is None:
                self._transaction.__exit__(None, None, None)
            else:
                self._transaction.__exit__(type(self.error), self.error, self.error.__traceback__)
        except BaseException as e:  # noqa: BLE001 - the commit failed: every member is told
            self.error = self.error or e
        finally:
            self._ended.set()

    def committed(self) -> None:
        """Waits until the group has ended; raises its error if it did not commit."""
        self._ended.wait()
        if self.error is not None:
            raise self.error


class GroupCommit:
    def __init__(self, begin: Callable[[], AbstractContextManager[Connection]], most: int = 64) -> None:
        #: Opens a transaction (its connection), committed on a clean exit and rolled back otherwise.
        self._begin = begin
        #: Members of one group at most, so that a steady stream of commands still commits now and then.
        self.most = most
        self._turn = threading.Lock()
        self._counter = threading.Lock()
        self._waiting = 0
        self._group: _Group | None = None

    @contextmanager
    def turn(self) -> Iterator[Connection]:
        """This command's turn in the shared transaction: a connection inside a savepoint of its own."""
        with self._counter:
            self._waiting += 1
        with self._turn:
            with self._counter:
                self._waiting -= 1
            group = self._group or _Group(self._begin)  # opening may fail (database down): nothing to undo
            self._group = group
            group.members += 1
            try:
                with group.conn.begin_nested():  # SAVEPOINT; RELEASE, or ROLLBACK TO it if the body raises
                    yield group.conn
            except BaseException as e:
                if not group.conn.in_transaction() or group.conn.invalidated:  # the transaction itself is lost
                    group.error = group.error or e
                raise
            finally:
                with self._counter:
                    last = self._waiting == 0 or group.members >= self.most or group.error is not None
                if last:
                    self._group = None
                    group.end()
        group.committed()

