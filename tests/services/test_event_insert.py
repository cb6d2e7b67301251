"""The event table's insert (infra/database.EventTable), which every command's events go through: ids in the order
given, all or nothing on a conflict, and one writer at a time, so that notifications become visible in id order
(the projections rely on it)."""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent

from api.container import Container
from domain.trust import Trust
from infra.database import EVENTS_TABLE, make_recorder
from services.directory import system_actor


def _events(c: Container, n: int = 1) -> list[StoredEvent]:
    """Real events (the container's projections will read them): a new trust's first event, n times."""
    actor, now = system_actor("test"), c.clock.now()
    return [c.directory.mapper.to_stored_event(e) for _ in range(n)
            for e in Trust.register(uuid.uuid4(), "Insert test trust", actor, now).collect_events()]


def _insert(c: Container, events: list[StoredEvent]) -> list[int]:
    table = c.projections.table
    with table.alone() as conn:
        return table.insert(conn, events)


def test_events_of_several_aggregates_get_ascending_ids_in_the_order_given(container: Container) -> None:
    r = container.recorder
    events = _events(container, 3)
    before = int(r.max_notification_id() or 0)
    ids = _insert(container, events)
    assert ids is not None and len(ids) == 3 and list(ids) == sorted(ids) and ids[0] > before
    assert [list(r.select_events(e.originator_id)) for e in events] == [[e] for e in events]  # byte for byte
    assert [n.originator_id for n in r.select_notifications(ids[0], 3)] == [e.originator_id for e in events]


def test_a_conflict_writes_nothing_of_the_call(container: Container) -> None:
    r = container.recorder
    taken, fresh = _events(container, 2)
    _insert(container, [taken])
    top = r.max_notification_id()
    with pytest.raises(IntegrityError):
        _insert(container, [fresh, taken])
    assert list(r.select_events(fresh.originator_id)) == []
    assert r.max_notification_id() == top


def _hold_the_log(url: str) -> Any:
    """Another writer in the middle of its insert: it holds what every insert must take."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.split(":///", 1)[1], isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")  # SQLite's one writer
        return conn
    conn = psycopg.connect(url.replace("+psycopg", ""))
    # ROW EXCLUSIVE, as any INSERT takes: a plain insert would not wait for it, so the writer below waits only
    # because it takes the EXCLUSIVE table lock first, and ids then become visible in id order.
    conn.execute(f"LOCK TABLE {EVENTS_TABLE} IN ROW EXCLUSIVE MODE")
    return conn


def test_an_insert_waits_for_the_writer_holding_the_log(container: Container) -> None:
    url = str(container.settings.database_url)
    holder = _hold_the_log(url)
    got: list[Any] = []
    writer = threading.Thread(target=lambda: got.append(_insert(container, _events(container))))
    try:
        writer.start()
        time.sleep(0.5)
        assert writer.is_alive() and got == []  # waiting, not written beside the holder
    finally:
        holder.commit() if isinstance(holder, psycopg.Connection) else holder.execute("COMMIT")
        holder.close()
    writer.join(timeout=30)
    assert not writer.is_alive() and got and got[0] and len(got[0]) == 1


def test_recorders_starting_together_all_work(container: Container) -> None:
    """Several web processes start at once, and each creates the store's tables: none may fail, and each can
    write afterwards."""
    url = str(container.settings.database_url)
    recorders: list[Any] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            recorders.append(make_recorder(url, pool_size=1))
        except BaseException as e:  # handed back to the test
            errors.append(e)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == [] and len(recorders) == 4
    try:
        for rec in recorders:
            ids = rec.insert_events(_events(container))
            assert ids and len(ids) == 1
    finally:
        for rec in recorders:
            rec.datastore.close()
