"""Group commit: the commands running at the same moment in one process share one event-store transaction, and
their read-your-writes waits share one projection transaction (docs/decisions/0021-group-commit.md).

Both are leader/follower, as databases do for their log flush. Each command queues its stored events and takes
the leader lock; whoever gets it first writes everything queued so far in one transaction and marks those
commands done, and the others find their work done when they get the lock. Then each command waits for the read
side to reach its events: the first to take the projection lock catches the read side up to everything written
so far, and the others find themselves covered. The two stages overlap: while one batch is being projected the
next is being written. With one caller at a time this is exactly one transaction of each kind per command, as
before; under load, N concurrent commands pay for one insert, one disk sync and one projection between them.

A conflict (another writer got to the same aggregate version first) fails only the command that caused it: when
the shared insert is refused, each queued command is written on its own so the refusal lands where it belongs.
So does a moved directory: a command whose caller's principal is still to be confirmed (services/provisional.py)
fails with DirectoryMoved if the directory's change mark is no longer the one it was resolved at, and the rest of
the batch is written without it.

A command handled on the event loop (services/deferred.py; decision 0041) cannot block there: it queues its
events with `commit_soon` and awaits a future. Such tickets are led by the committer's own writer thread, or by a
thread that is leading anyway, and each batch resolves its futures with one call into their loop. Where the
append can itself be awaited (`append_soon`: SQLite's writer process), the loop leads them with no thread at
all (decision 0042): what the loop queued meanwhile goes as the next batch, and up to IN_FLIGHT batches are on
their way at once, so the writer has the next one as soon as it has answered.

Whoever performs the writes, one procedure (`_steps`) decides what a batch takes: one write, or, after a
conflict, one per command; and after a moved directory, the rest without the commands it concerns.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Generator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.persistence import ApplicationRecorder, IntegrityError, StoredEvent

from services.provisional import DirectoryMoved

#: Makes the read side show everything up to a notification id (read-your-writes).
AfterSave = Callable[[int], None]
#: Inserts stored events and projects them in the same transaction (PostgreSQL; decision 0030), given the domain
#: events they were mapped from: returns their notification ids and the position the read side then reached.
#: Given directory change marks, it first confirms under its lock that the mark is each of them, else raises
#: DirectoryMoved having written nothing (decision 0033).
Append = Callable[[Sequence[StoredEvent], Sequence[Any], frozenset[int]], tuple[Sequence[int], int]]
#: `Append` for the event loop: awaited there, never blocking it (SQLite's writer process; decision 0042).
AppendSoon = Callable[[Sequence[StoredEvent], Sequence[Any], frozenset[int]], Awaitable[tuple[Sequence[int], int]]]
#: Batches led from an event loop that may be on their way to `append_soon` at once.
IN_FLIGHT = 2
#: Commands in one such batch at most: the loop sends it without waiting, so two of them must fit in what the
#: writer's socket buffers (about 200 KiB; a submit pickles to about 2 KiB) even when the writer is not reading.
SOON_BATCH = 48


@dataclass(eq=False)
class _Ticket:
    stored: Sequence[StoredEvent]
    events: Sequence[Any] = ()
    project: bool = False
    #: The directory change mark this command's principal must still be at (services/provisional.py), or None.
    mark: int | None = None
    last: int = 0
    error: BaseException | None = None
    done: bool = False
    #: Where a command on an event loop awaits its outcome (commit_soon): the last id, or the error.
    future: asyncio.Future[int] | None = None


@dataclass(eq=False)
class _Stats:
    batches: int = 0
    commands: int = 0
    largest: int = 0
    #: Commands refused because the directory had moved since their principal was resolved (DirectoryMoved).
    moved: int = 0


@dataclass(eq=False)
class GroupCommit:
    recorder: ApplicationRecorder
    #: Serialises writers in-process where the database allows one writer at a time (embedded SQLite).
    write_lock: AbstractContextManager[Any] = field(default_factory=nullcontext)
    stats: _Stats = field(default_factory=_Stats)
    #: Where set (PostgreSQL), a batch with a command that asked for its events to be projected is inserted and
    #: projected in one transaction, and `projected` hears the position the read side reached (decision 0030).
    append: Append | None = None
    projected: Callable[[int], None] | None = None
    #: Reads the directory's change mark, for confirming principals where `append` does not (SQLite, commands
    #: that are not projected); None: no principal can be confirmed, so none is taken as confirmed.
    directory_mark: Callable[[], int] | None = None
    #: Where set, commands on an event loop whose events are to be projected are led by the loop itself, their
    #: batches awaited there (decision 0042); others go through `append` as before.
    append_soon: AppendSoon | None = None

    def __post_init__(self) -> None:
        #: Tickets the loop leads (append_soon), the loop they are on, its batches on their way, and whether a
        #: call to send the next one is due.
        self._soon: list[_Ticket] = []
        self._soon_loop: asyncio.AbstractEventLoop | None = None
        self._flights: set[asyncio.Future[None]] = set()
        self._scheduled = False
        self._leader = threading.Lock()
        self._queue_lock = threading.Lock()
        self._queue: list[_Ticket] = []
        #: Wakes the writer thread (commit_soon's leader) when a ticket is queued for it, or when it must stop.
        self._wake = threading.Condition(self._queue_lock)
        self._writer: threading.Thread | None = None
        self._stopping = False

    def commit(self, stored: Sequence[StoredEvent], events: Sequence[Any] = (), project: bool = False,
               mark: int | None = None) -> int:
        """Writes `stored` atomically (with whatever else is queued) and returns its last notification id.
        With `project` and `events` (the domain events `stored` was mapped from), the events may be projected in
        the same transaction. Raises IntegrityError if this command's events conflict with stored ones, and,
        given a `mark`, DirectoryMoved if the directory's change mark is no longer that."""
        ticket = _Ticket(stored, events, project and len(events) == len(stored), mark)
        with self._queue_lock:
            self._queue.append(ticket)
        with self._leader:
            if not ticket.done:
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                self._lead(batch)
        if ticket.error is not None:
            raise ticket.error
        return ticket.last

    def commit_soon(self, stored: Sequence[StoredEvent], events: Sequence[Any] = (), project: bool = False,
                    mark: int | None = None) -> asyncio.Future[int]:
        """`commit` for a caller on an event loop, which must not block: queues the events and returns a future of
        the running loop, which the batch that writes them resolves with the last notification id, or with
        commit's errors."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        ticket = _Ticket(stored, events, project and len(events) == len(stored), mark, future=future)
        if self._soon_loop is not None and self._soon_loop.is_closed():  # left behind by a loop that has gone
            self._soon, self._soon_loop, self._scheduled = [], None, False
            self._flights.clear()
        if self.append_soon is not None and ticket.project and self._soon_loop in (None, loop):
            if self._stopping:
                raise RuntimeError("the event store's committer is closed")
            self._soon.append(ticket)
            if not self._scheduled and len(self._flights) < IN_FLIGHT:  # a flight can leave: once this loop
                self._soon_loop, self._scheduled = loop, True  # round has queued what it will, it takes it all
                loop.call_soon(self._fly)
            return future
        with self._queue_lock:
            if self._stopping:
                raise RuntimeError("the event store's committer is closed")
            self._queue.append(ticket)
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_loop, name="socialgov-writer", daemon=True)
                self._writer.start()
            self._wake.notify()
        return future

    def _fly(self, landed: asyncio.Future[None] | None = None) -> None:
        """On the loop: sends what is queued as the next batches (SOON_BATCH commands each at most) while fewer
        than IN_FLIGHT are on their way; called when a ticket is queued with a flight free, and when one lands."""
        if landed is None:
            self._scheduled = False
        else:
            self._flights.discard(landed)
        while self._soon and len(self._flights) < IN_FLIGHT:
            batch, self._soon = self._soon[:SOON_BATCH], self._soon[SOON_BATCH:]
            flight = asyncio.ensure_future(self._lead_soon(batch))
            self._flights.add(flight)
            flight.add_done_callback(self._fly)
        if not self._flights and not self._scheduled:
            self._soon_loop = None  # idle: the next ticket, from whichever loop, starts again

    async def _lead_soon(self, batch: list[_Ticket]) -> None:
        """`_lead` on the loop: the same steps, each write awaited."""
        assert self.append_soon is not None
        steps = self._steps(batch)
        try:
            todo = next(steps)
            while True:
                try:
                    outcome: _Outcome = await self.append_soon(*_arguments(todo))
                except (IntegrityError, DirectoryMoved) as e:
                    outcome = e
                todo = steps.send(outcome)
        except StopIteration:
            pass
        except Exception as e:  # noqa: BLE001 - whatever failed, every command not yet written hears of it
            _fail(batch, e)
        except asyncio.CancelledError:  # the loop is stopping: nobody can be told the outcome
            _fail(batch, RuntimeError("the event loop stopped while the commit was on its way"))
            raise
        finally:
            self._landed(batch)
            _resolve(batch)  # on the loop already

    def close(self) -> None:
        """Stops the writer thread once what is queued has been written."""
        with self._queue_lock:
            self._stopping = True
            writer, self._writer = self._writer, None
            self._wake.notify()
        if writer is not None and writer is not threading.current_thread():
            writer.join()

    def _write_loop(self) -> None:
        """The writer thread: leads whatever is queued, as a command's thread would, until closed."""
        while True:
            with self._queue_lock:
                while not self._queue and not self._stopping:
                    self._wake.wait()
                if not self._queue:
                    return
            with self._leader:
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                if batch:
                    self._lead(batch)

    def _lead(self, batch: list[_Ticket]) -> None:
        steps = self._steps(batch)
        try:
            with self.write_lock:
                todo = next(steps)
                while True:
                    todo = steps.send(self._write(todo))
        except StopIteration:
            pass
        except Exception as e:  # noqa: BLE001 - whatever failed, every command not yet written hears of it
            _fail(batch, e)
        finally:
            self._landed(batch)
            waiting = [t for t in batch if t.future is not None]
            if waiting:  # last: once told, a caller may read the figures above
                _resolve_soon(waiting)

    def _landed(self, batch: list[_Ticket]) -> None:
        for t in batch:
            t.done = True
        self.stats.batches += 1
        self.stats.commands += len(batch)
        self.stats.largest = max(self.stats.largest, len(batch))

    def _steps(self, batch: list[_Ticket]) -> _Steps:
        """What writing `batch` takes, whoever performs the writes (`_lead` in a thread, `_lead_soon` on a loop):
        yields the tickets to write next and is sent the write's outcome: what it returned, or its conflict or
        moved-directory error."""
        if len(batch) > 1:
            try:
                yield from self._attempt(batch)
            except IntegrityError:
                pass  # someone's events conflict: write each command alone to find whose
            else:
                return
        for t in batch:
            if t.error is not None:  # refused already (DirectoryMoved): not to be written
                continue
            try:
                yield from self._attempt([t])
            except IntegrityError as e:
                t.error = e

    def _attempt(self, batch: list[_Ticket]) -> _Steps:
        outcome = yield batch
        if isinstance(outcome, DirectoryMoved):  # nothing was written: write the rest without those it concerns
            rest = self._moved(batch, outcome.mark)
            if rest:
                yield from self._attempt(rest)
            return
        if isinstance(outcome, IntegrityError):
            raise outcome
        ids, reached = outcome
        self._assign(batch, ids)
        if reached is not None and self.projected is not None:
            self.projected(reached)

    def _write(self, batch: list[_Ticket]) -> _Outcome:
        """One write, in this thread: the ids, and the position the read side reached if it was projected too;
        or the conflict or moved directory that refused it."""
        try:
            if self.append is not None and all(t.project for t in batch):
                return self.append(*_arguments(batch))
            marks = {t.mark for t in batch if t.mark is not None}
            if marks:
                mark = self.directory_mark() if self.directory_mark is not None else None
                if marks != {mark}:
                    return DirectoryMoved(mark)
            return self.recorder.insert_events([s for t in batch for s in t.stored]), None
        except (IntegrityError, DirectoryMoved) as e:
            return e

    def _moved(self, batch: list[_Ticket], mark: int | None) -> list[_Ticket]:
        """Fails the batch's commands whose principal was resolved at a change mark other than `mark` (all of them
        if None: none could be confirmed) with DirectoryMoved; returns the others."""
        rest = []
        for t in batch:
            if t.mark is not None and (mark is None or t.mark != mark):
                t.error = DirectoryMoved(mark)
                self.stats.moved += 1
            else:
                rest.append(t)
        return rest

    @staticmethod
    def _assign(batch: list[_Ticket], ids: Sequence[int] | None) -> None:
        ids = sorted(ids or [])  # the store numbers a batch's events in the order given
        if len(ids) != sum(len(t.stored) for t in batch):  # pragma: no cover - every recorder we use returns ids
            raise RuntimeError("the event store did not return a notification id per event")
        i = 0
        for t in batch:
            i += len(t.stored)
            t.last = ids[i - 1]


#: A write's outcome: the events' ids and the position the read side reached (None: not projected), or the
#: error that refused the whole write.
_Outcome = tuple[Sequence[int] | None, int | None] | IntegrityError | DirectoryMoved
#: `_steps`: yields the tickets to write next and is sent each write's outcome.
_Steps = Generator[list[_Ticket], _Outcome, None]


def _arguments(batch: list[_Ticket]) -> tuple[list[StoredEvent], list[Any], frozenset[int]]:
    """An append's arguments for a batch: its stored events, their domain events and the marks to confirm."""
    return ([s for t in batch for s in t.stored], [e for t in batch for e in t.events],
            frozenset(t.mark for t in batch if t.mark is not None))


def _fail(batch: list[_Ticket], error: BaseException) -> None:
    for t in batch:
        if t.error is None and not t.last:
            t.error = error


def _resolve_soon(tickets: list[_Ticket]) -> None:
    """Hands the tickets' outcomes to their futures, with one call into each loop they belong to."""
    loops: dict[asyncio.AbstractEventLoop, list[_Ticket]] = {}
    for t in tickets:
        assert t.future is not None
        loops.setdefault(t.future.get_loop(), []).append(t)
    for loop, mine in loops.items():
        try:
            loop.call_soon_threadsafe(_resolve, mine)
        except RuntimeError:  # the loop has closed: nobody is waiting any more
            pass


def _resolve(tickets: list[_Ticket]) -> None:
    for t in tickets:
        assert t.future is not None
        if t.future.done():  # cancelled: the client went away; the events are written all the same
            continue
        if t.error is not None:
            t.future.set_exception(t.error)
        else:
            t.future.set_result(t.last)


class SharedCatchUp:
    """Read-your-writes for many waiting commands with one projection transaction: `catch_up(until)` brings the
    read side to at least `until` (and, being a batch, to everything written so far) and returns where it got."""

    def __init__(self, catch_up: Callable[[int], int]) -> None:
        self._catch_up = catch_up
        self._lock = threading.Lock()
        self._note_lock = threading.Lock()
        self._reached = 0

    def covers(self, until: int) -> bool:
        """Whether the read side is known to show everything up to `until` already (no wait needed)."""
        return self._reached >= until

    def __call__(self, until: int) -> None:
        if self._reached >= until:
            return
        with self._lock:
            if self._reached < until:  # nobody covered us while we waited
                self.note(self._catch_up(until))

    def note(self, reached: int) -> None:
        """The read side has reached `reached` (a catch-up, or events projected as they were written)."""
        with self._note_lock:
            self._reached = max(self._reached, reached)
