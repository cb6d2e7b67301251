"""Provisional principals, confirmed at commit (docs/decisions/0033-authorised-at-commit.md).

A command route may take its caller's Principal from the cache at the last directory change mark this process
knows of, without reading the mark first. The command then runs with `PENDING` set to that mark, and its first
commit confirms it: on PostgreSQL under the lock that orders every commit and every projection of the directory,
elsewhere by reading the mark just before the insert. If the mark has moved, nothing is written and the commit
raises DirectoryMoved; the route resolves the caller afresh and runs the command again. A command that ends
without committing has its mark checked before its answer is sent (api/auth.authorised_at_commit)."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(eq=False)
class Pending:
    #: The directory change mark (readmodel.PRINCIPALS_CHANGED) the caller's principal was resolved at.
    mark: int
    #: Set once a commit has confirmed the mark; later commits of the same command need no confirming.
    confirmed: bool = False


#: The running command's unconfirmed principal, if it has one (copied into the handler's thread with the context).
PENDING: ContextVar[Pending | None] = ContextVar("socialgov_pending_principal", default=None)


class DirectoryMoved(Exception):
    """The directory changed after the command's principal was resolved, so the command may have been decided on
    roles the caller no longer has (or without ones just given): nothing was written."""

    def __init__(self, mark: int | None) -> None:
        #: Where the change mark stands; None if no principal could be confirmed (events not yet projected).
        self.mark = mark
        super().__init__("the directory changed while the command ran")

    def __reduce__(self) -> tuple[type[DirectoryMoved], tuple[int | None]]:
        return DirectoryMoved, (self.mark,)  # sent from the SQLite writer process (decision 0041)
