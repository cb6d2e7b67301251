"""On SQLite, commands' events are written and projected by a second process (decision 0041).

One web process on SQLite is bound by Python's GIL: it parses HTTP, runs commands and writes their transactions
on one core while the machine's other core idles (decision 0040). PostgreSQL does its share of the work in its
own server processes; on SQLite this process plays that part. The web process's group commit hands each batch
to it (`GroupCommit.append`) over a pipe; it inserts the events and projects them in one transaction
(`ProjectorGroup.append`, decisions 0030 and 0035), exactly as the web process would, and answers with their
notification ids, the position the read side reached and the directory's change mark. So each command is on
disk and visible to the read side before its answer is sent, as before.

- Commands on the event loop (services/deferred.py) send their batches from the loop and await the answer there
  (`append_soon`, decision 0042): no thread carries them, so no thread waits for Python's GIL to hand a batch on,
  and up to two batches wait in the pipe, so the process has the next one as soon as it has answered. A thread's
  batch (`__call__`) has the pipe to itself: it waits until those on their way have been answered, and the loop
  sends none while a thread waits.
- The web app starts it at start-up (elsewhere, the first batch does), and the next batch starts it again if it
  has died; the batch it died on fails with WriterStopped, a ConnectionError (503: try again), its outcome
  unknown, as when a database connection drops during a COMMIT.
- It exits when the web process closes the pipe (Container.close, or the web process ending).
- Everything else in the web process (catch-up rounds, commands that are not projected, sessions, the vault)
  still writes on its own connections, queued behind the writer by SQLite's lock and busy timeout, as a second
  web process or the CLI would be.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import pickle
import threading
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from eventsourcing.persistence import StoredEvent

log = logging.getLogger("socialgov.sqlite_writer")
STARTUP_TIMEOUT_S = 60
STOPPED = "the SQLite writer process stopped; whether the command was written is unknown"
#: The writer process's name (Linux: ps, top, /proc/PID/comm).
COMM = "sqlite-writer"  # at most 15 characters


class WriterStopped(ConnectionError):
    """The writer process ended while it had a batch: whether that batch was written is unknown."""


class WriterProcess:
    """`GroupCommit.append` in a child process: (stored, events, marks) -> (ids, position reached)."""

    def __init__(self, database_url: str, pool_size: int, on_mark: Callable[[int], None] | None,
                 log_format: str = "text", log_level: str = "WARNING") -> None:
        self._args = (database_url, pool_size, log_format, log_level)
        self._on_mark = on_mark
        #: Who has the pipe: a thread for its one batch, or the event loop while it has batches on their way.
        self._lock = threading.Lock()
        #: Threads waiting for the pipe: the loop sends no more batches meanwhile, so they do not wait forever.
        self._waiting = 0
        self._waiting_lock = threading.Lock()
        #: The loop's batches on their way, answered in the order sent, and the loop they were sent from.
        self._answers: deque[asyncio.Future[Any]] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._process: Any = None
        self._conn: Any = None
        #: Processes started so far (tests: a restart after the writer died); batches sent from the loop.
        self.starts = 0
        self.sent_from_loop = 0

    def __call__(self, stored: Sequence[StoredEvent], events: Sequence[Any], marks: frozenset[int]
                 ) -> tuple[Sequence[int], int]:
        with self._waiting_lock:
            self._waiting += 1
        try:
            self._lock.acquire()
        finally:
            with self._waiting_lock:
                self._waiting -= 1
        try:
            self._ensure()
            try:
                self._conn.send((list(stored), list(events), marks))
                answer = self._conn.recv()
            except (EOFError, OSError) as e:
                self._stop()
                raise WriterStopped(STOPPED) from e
        finally:
            self._lock.release()
        return self._outcome(answer)

    async def append_soon(self, stored: Sequence[StoredEvent], events: Sequence[Any], marks: frozenset[int]
                          ) -> tuple[Sequence[int], int]:
        """`__call__` for the event loop: sends the batch from the loop and awaits the answer there. Goes by a
        worker thread instead where a thread has the pipe or waits for it, or the process must be started."""
        loop = asyncio.get_running_loop()
        if not self._take(loop):
            return await asyncio.to_thread(self, stored, events, marks)
        answer: asyncio.Future[Any] = loop.create_future()
        try:
            self._conn.send((list(stored), list(events), marks))
        except OSError as e:  # it has died: the reader hears the pipe close and lets go of it
            raise WriterStopped(STOPPED) from e
        self._answers.append(answer)
        self.sent_from_loop += 1
        return self._outcome(await answer)

    def _take(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Whether the loop may send a batch now, taking the pipe if it has not got it."""
        if self._answers:  # the loop has the pipe already
            return self._loop is loop and not self._waiting
        if self._waiting or not self._lock.acquire(blocking=False):
            return False
        if self._process is None or not self._process.is_alive():  # a worker thread starts it: it may take seconds
            self._lock.release()
            return False
        self._loop = loop
        loop.add_reader(self._conn.fileno(), self._answered)
        return True

    def _answered(self) -> None:
        """The loop's reader: hands each answer to its batch; lets go of the pipe once none are on their way."""
        assert self._loop is not None
        try:
            while self._answers and self._conn.poll():
                answer = self._conn.recv()
                waiting = self._answers.popleft()
                if not waiting.done():
                    waiting.set_result(answer)
        except (EOFError, OSError) as e:
            self._loop.remove_reader(self._conn.fileno())
            self._stop()
            while self._answers:
                waiting = self._answers.popleft()
                if not waiting.done():
                    waiting.set_exception(WriterStopped(STOPPED))
            self._loop = None
            self._lock.release()
            log.warning("the SQLite writer process stopped with batches on their way: %s", e)
            return
        if not self._answers:
            self._loop.remove_reader(self._conn.fileno())
            self._loop = None
            self._lock.release()

    def _outcome(self, answer: tuple[bool, Any]) -> tuple[Sequence[int], int]:
        ok, result = answer
        if not ok:
            raise result
        ids, reached, mark = result
        if mark is not None and self._on_mark is not None:
            self._on_mark(mark)
        return ids, reached

    def start(self) -> None:
        """Starts the process now rather than on the first batch (the web app's start-up)."""
        with self._lock:
            self._ensure()

    def _ensure(self) -> None:
        if self._process is None or not self._process.is_alive():
            self._start()

    @property
    def pid(self) -> int | None:
        return None if self._process is None else int(self._process.pid)

    def close(self) -> None:
        """Ends the process once the batches on their way are answered (or after 10 s: the loop that sent them
        may be the one closing)."""
        taken = self._lock.acquire(timeout=10)
        try:
            self._stop()
        finally:
            if taken:
                self._lock.release()

    def _start(self) -> None:
        self._stop()
        ctx = multiprocessing.get_context("spawn")  # the web process has threads: no fork
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=serve, args=(child, *self._args), name="socialgov-sqlite-writer",
                                    daemon=True)
        self._process.start()
        child.close()
        self.starts += 1
        # It says when it has opened the database: a start-up fault shows here, not in the first command.
        try:
            answer = self._conn.recv() if self._conn.poll(STARTUP_TIMEOUT_S) else None
        except (EOFError, OSError):
            answer = None
        if answer is None or not answer[0]:
            self._stop()
            raise answer[1] if answer else WriterStopped("the SQLite writer process did not start")

    def _stop(self) -> None:
        """Ends the process: it exits when its pipe closes."""
        if self._conn is not None:
            self._conn.close()
        if self._process is not None:
            self._process.join(timeout=10)
            if self._process.is_alive():  # pragma: no cover - it exits when its pipe closes
                self._process.kill()
                self._process.join()
        self._process = self._conn = None


def serve(conn: Any, database_url: str, pool_size: int, log_format: str, log_level: str) -> None:
    """The writer process: appends each batch it is sent until the pipe closes."""
    from api.container import build_projections
    from infra.database import make_engine, make_recorder
    from infra.logs import configure
    from services import readmodel as rm
    from services.eventstore import build_mapper

    configure(log_format, log_level)
    try:  # named in ps and top (and for bench/foundation.py's CPU meter)
        Path("/proc/self/comm").write_text(COMM)
    except OSError:  # not Linux
        pass
    try:
        engine = make_engine(database_url, pool_size)
        group = build_projections(engine, make_recorder(database_url, pool_size), build_mapper())  # as the web's
        marks: list[int] = []
        group.on_mark = marks.append
    except Exception as e:  # noqa: BLE001 - the web process raises it from start()
        conn.send((False, _picklable(e)))
        return
    conn.send((True, None))
    while True:
        try:
            stored, events, wanted = conn.recv()
        except (EOFError, OSError):
            break
        marks.clear()
        try:
            ids, reached = group.append(stored, events, wanted)
            reply: tuple[bool, Any] = (True, (ids, reached, marks[-1] if marks else None))
        except Exception as e:  # noqa: BLE001 - the web process raises it for the batch's commands
            reply = (False, _picklable(e))
        conn.send(reply)
    rm.dispose(engine)


def _picklable(e: Exception) -> Exception:
    """The error itself where it survives the pipe, else a RuntimeError naming it."""
    try:
        pickle.loads(pickle.dumps(e))  # noqa: S301 - our own bytes, in our own process
    except Exception:
        log.exception("the writer's error cannot be sent as it is")
        return RuntimeError(f"{type(e).__name__}: {e}")
    return e
