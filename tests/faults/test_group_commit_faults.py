"""Group commit when the database fails part-way through a batch: commands already written are reported as
written, the conflicting one gets the conflict, and the one the database failed on gets the failure."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import ApplicationRecorder, IntegrityError, OperationalError, StoredEvent

from domain.school import School
from services.directory import system_actor
from services.group_commit import GroupCommit
from tests.conftest import World


class FailingOn:
    """The real recorder, except that inserting the events of one chosen aggregate fails as if the database
    connection dropped (the fault we inject; everything else reaches the real store)."""

    def __init__(self, real: ApplicationRecorder, failing_originator: uuid.UUID) -> None:
        self.real = real
        self.failing_originator = failing_originator

    def insert_events(self, stored: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        if len(stored) == 1 and stored[0].originator_id == self.failing_originator:
            raise OperationalError("server closed the connection unexpectedly")
        return self.real.insert_events(stored, **kwargs)


def _stored(w: World, name: str) -> tuple[uuid.UUID, list[StoredEvent]]:
    school = School.add(uuid.uuid4(), w.trust_id, name, "123456", "england", system_actor("test"), w.c.clock.now())
    return school.id, [w.c.directory.mapper.to_stored_event(e) for e in school.collect_events()]


def test_a_failure_mid_batch_does_not_report_written_commands_as_failed(world: World) -> None:
    w = world
    a_id, a = _stored(w, "Written")
    _, c = _stored(w, "Failed")
    c_id = c[0].originator_id
    committer = GroupCommit(FailingOn(w.c.recorder, c_id))  # type: ignore[arg-type]
    jobs = {"a": a, "b": a, "c": c}  # b repeats a's events: a conflict once a is in
    results: dict[str, Any] = {}

    def run(key: str) -> None:
        try:
            results[key] = committer.commit(jobs[key])
        except Exception as e:  # handed back to the test
            results[key] = e

    threads = {k: threading.Thread(target=run, args=(k,)) for k in jobs}
    with committer._leader:  # all three queue before any is written: one batch, in this order
        for queued, k in enumerate(("a", "b", "c"), start=1):
            threads[k].start()
            deadline = time.monotonic() + 10
            while len(committer._queue) < queued:
                assert time.monotonic() < deadline
                time.sleep(0.005)
    for t in threads.values():
        t.join(timeout=30)

    assert isinstance(results["a"], int) and results["a"] > 0, results
    assert isinstance(results["b"], IntegrityError), results
    assert isinstance(results["c"], OperationalError), results
    assert len(w.c.recorder.select_events(a_id)) == 1  # a landed once
    assert w.c.recorder.select_events(c_id) == []  # c did not land
