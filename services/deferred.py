"""Commands handled on the event loop, their commit awaited rather than waited for (decision 0041).

A command route runs its service call in a worker thread because the call blocks: it loads aggregates, and its
commit waits for the group commit's transaction (services/group_commit.py). Handing every request to a thread
and back costs more than the command itself where the command reads nothing, as a submit from a cached
principal does (decision 0029). Such a call can run on the event loop if its commit does not block there:
`run_deferred` runs it with `DEFERRED` set, so that `ContextApplication.commit` queues the events instead of
writing them, and then awaits the write on the loop. The loop serves other requests meanwhile.

Only for calls that commit once, as their last step, and whose result does not depend on that commit having
happened (it happens after the call returns). A call that needs reads first runs in a worker thread, and its
commit is awaited on the loop all the same (`on_loop=False`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from eventsourcing.persistence import StoredEvent

    from services.eventstore import ContextApplication

T = TypeVar("T")


@dataclass(frozen=True)
class DeferredCommit:
    """A command's commit, queued by ContextApplication.commit while `DEFERRED` is set."""

    app: ContextApplication
    stored: Sequence[StoredEvent]
    events: Sequence[Any]
    project: bool


class Deferral:
    """Collects the one commit of a call run by `run_deferred`."""

    def __init__(self) -> None:
        self.commit: DeferredCommit | None = None

    def add(self, commit: DeferredCommit) -> None:
        if self.commit is not None:
            raise RuntimeError("a command run on the event loop commits once, as its last step")
        self.commit = commit


#: Set while a call runs with its commit deferred: ContextApplication.commit hands its events to it.
DEFERRED: ContextVar[Deferral | None] = ContextVar("socialgov_deferred_commit", default=None)


async def run_deferred(call: Callable[[], T], on_loop: bool = True) -> T:
    """Runs `call` (on this loop, or in a worker thread if it must read first) with its commit deferred, then
    awaits the commit: returns the call's result once its events are written and, where asked, visible to the
    read side. Raises what the call or the commit raises (ConcurrencyConflict, DirectoryMoved)."""
    deferral = Deferral()
    token = DEFERRED.set(deferral)
    try:
        result = call() if on_loop else await asyncio.to_thread(call)  # the thread sees DEFERRED too
    finally:
        DEFERRED.reset(token)
    if deferral.commit is not None:
        await deferral.commit.app.commit_deferred(deferral.commit)
    return result
