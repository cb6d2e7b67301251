"""The database: SQLAlchemy engine for the read model, and the eventsourcing recorder for events.
One URL serves both: an SQLite file (embedded default) or a PostgreSQL database."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse
from uuid import UUID

import psycopg
from eventsourcing.persistence import (
    ApplicationRecorder,
    IntegrityError,
    InterfaceError,
    OperationalError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore
from eventsourcing.utils import retry
from psycopg.sql import SQL, Identifier
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import IntegrityError as SAIntegrityError

from services.projections import driver

EVENTS_TABLE = "socialgov_events"
SQLITE_TIMEOUT_S = 30


def make_engine(url: str, pool_size: int = 10, durable_commits: bool = True) -> Engine:
    """The SQLAlchemy engine. No pre-ping (it costs a round trip per checkout): a connection found dead raises,
    SQLAlchemy then discards the whole pool, and the next checkout reconnects (tests/faults).
    durable_commits=False (PostgreSQL only) is for the projections' engine: their commits need not wait for the
    disk, since the events are durable and a lost tail of projection work is re-applied from the log at the
    next catch-up (rows and position commit together)."""
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1]
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": SQLITE_TIMEOUT_S, "check_same_thread": False},
                               pool_size=pool_size, max_overflow=pool_size)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            # Commits wait for the disk, as the event store's own connections do (SQLite's default): a command's
            # events are written on these connections, with its projection (decision 0035).
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    connect_args = {} if durable_commits else {"options": "-c synchronous_commit=off"}
    engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size, connect_args=connect_args)
    # An executemany INSERT (a projection batch's rows of one table) as one multi-row INSERT per 1,000 rows,
    # rather than psycopg's pipelined executemany, whose round trips and syncs cost more (decision 0027).
    engine.dialect.use_insertmanyvalues_wo_returning = True
    return engine


#: Attempts of an event-store call that failed to reach the database: a dropped connection is retried once, on a
#: fresh one. The library makes ten, each waiting up to the pool's timeout for a connection, so in an outage a
#: request waited about 50 s for its 503; the read model's engine fails at once (tests/faults).
ATTEMPTS = 2
#: Seconds to connect, and to wait for a pooled connection.
CONNECT_TIMEOUT_S = 2.0


def _with_fewer_attempts(method: Any) -> Any:
    """The library's recorder method (decorated with ten attempts) with ATTEMPTS attempts instead."""
    return retry((InterfaceError, OperationalError), max_attempts=ATTEMPTS, wait=0.2)(method.__wrapped__)


class QuietPostgresRecorder(PostgresApplicationRecorder):
    """The library's recorder, with events inserted by one statement: a call of our function
    `socialgov_insert_events`, in autocommit. It takes the library's table lock, inserts, returns the
    notification ids, and its transaction commits at the end of the statement. The library's insert is a
    pipeline of several statements, a sync and a COMMIT, which cost the web process more than the insert itself
    (docs/decisions/0027-one-statement-event-insert.md).

    It sends no NOTIFY, as the library does on every insert: that feeds the library's LISTEN-based
    subscriptions, which we do not use (our projections pull; docs/decisions/0003), and it makes every committing
    writer queue on PostgreSQL's notification lock."""

    INSERT_FUNCTION = "socialgov_insert_events"

    def __init__(self, datastore: PostgresDatastore, events_table_name: str) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        schema, function = Identifier(datastore.schema), Identifier(self.INSERT_FUNCTION)
        table, id_type = Identifier(self.events_table_name), Identifier(datastore.originator_id_type)
        # The library's own insert, as one function: the same lock (so ids become visible in id order, which
        # the projections rely on), the same lock timeout, no NOTIFY.
        self._create_insert_function = SQL(
            "CREATE OR REPLACE FUNCTION {schema}.{function}("
            "ids {id_type}[], versions bigint[], topics text[], states bytea[]) "
            "RETURNS SETOF bigint LANGUAGE plpgsql AS $body$ BEGIN "
            "PERFORM set_config('lock_timeout', {timeout}, true); "
            "PERFORM set_config('synchronous_commit', 'on', true); "
            "LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE; "
            "RETURN QUERY INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(ids, versions, topics, states) RETURNING notification_id; "
            "END $body$").format(schema=schema, function=function, id_type=id_type, table=table,
                                 timeout=f"{datastore.lock_timeout}s")
        self._call_insert_function = SQL(
            "SELECT n FROM {schema}.{function}(%b, %b::bigint[], %b::text[], %b::bytea[]) AS n").format(
            schema=schema, function=function)

    def create_table(self) -> None:
        """The library's tables, types and functions, then ours; one process at a time, since web processes
        start together and two concurrent CREATE OR REPLACE FUNCTION fail with 'tuple concurrently updated'."""
        params = {k: v for k, v in self.datastore.pool.kwargs.items() if k != "row_factory"}
        with psycopg.connect(autocommit=True, **params) as lock:
            lock.execute("SELECT pg_advisory_lock(hashtext(%s))", [self.INSERT_FUNCTION])
            super().create_table()  # released with the connection, whatever happens here
            with self.datastore.transaction(commit=True) as curs:
                curs.execute(self._create_insert_function)

    select_events = _with_fewer_attempts(PostgresApplicationRecorder.select_events)
    select_notifications = _with_fewer_attempts(PostgresApplicationRecorder.select_notifications)
    max_notification_id = _with_fewer_attempts(PostgresApplicationRecorder.max_notification_id)

    @retry((InterfaceError, OperationalError), max_attempts=ATTEMPTS, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        if not stored_events:
            return []
        params = ([e.originator_id for e in stored_events], [e.originator_version for e in stored_events],
                  [e.topic for e in stored_events], [e.state for e in stored_events])
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._call_insert_function, params, prepare=True)
            return [int(row["n"]) for row in curs.fetchall()]

    def select_events_of(self, originator_ids: Sequence[UUID]) -> list[StoredEvent]:
        """Every stored event of several aggregates in one statement (the library selects one aggregate per
        statement, and a round trip costs more than the rows): by aggregate, oldest first."""
        statement = SQL("SELECT * FROM {schema}.{table} WHERE originator_id = ANY(%s) "
                        "ORDER BY originator_id, originator_version").format(
            schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name))
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, [list(originator_ids)], prepare=True)
            return [StoredEvent(originator_id=row["originator_id"], originator_version=row["originator_version"],
                                topic=row["topic"], state=bytes(row["state"])) for row in curs.fetchall()]


class EventsSQLiteRecorder(SQLiteApplicationRecorder):
    """The library's SQLite recorder, with several aggregates' events read in one statement, and events inserted
    in a transaction of the read model's engine, on the same file (decision 0035)."""

    #: Rows per INSERT statement (four variables each; SQLite allows 32,766).
    ROWS_PER_INSERT = 1000

    def insert_events_in(self, conn: Connection, stored_events: Sequence[StoredEvent]) -> list[int]:
        """Inserts `stored_events` in `conn`'s transaction, as the library's insert does, and returns their
        notification ids (rowids) in the order given. The INSERT is the transaction's first write, so it waits
        for SQLite's write lock (busy timeout) and holds it to the commit. A conflict raises the library's
        IntegrityError, as its own insert does."""
        ids: list[int] = []
        for i in range(0, len(stored_events), self.ROWS_PER_INSERT):
            chunk = stored_events[i:i + self.ROWS_PER_INSERT]
            values = ",".join(["(?,?,?,?)"] * len(chunk))  # our table name and "?" marks only:
            statement = f"INSERT INTO {self.events_table_name} VALUES {values} RETURNING rowid"  # noqa: S608
            params = tuple(v for s in chunk for v in (
                s.originator_id.hex if isinstance(s.originator_id, UUID) else s.originator_id,
                s.originator_version, s.topic, s.state))
            try:  # on the driver's connection, as the projection's writes on SQLite go (decision 0037)
                ids += sorted(int(row[0]) for row in driver.run(conn, statement, params))
            except SAIntegrityError as e:
                raise IntegrityError(e.orig) from e
        return ids

    def select_events_of(self, originator_ids: Sequence[UUID]) -> list[StoredEvent]:
        marks = ",".join("?" * len(originator_ids))  # our table name and "?" marks only:
        statement = f"SELECT * FROM {self.events_table_name} WHERE originator_id IN ({marks}) "  # noqa: S608
        statement += "ORDER BY originator_id, originator_version"
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, [i.hex for i in originator_ids])
            return [StoredEvent(originator_id=self.convert_originator_id(row["originator_id"]),
                                originator_version=row["originator_version"], topic=row["topic"],
                                state=row["state"]) for row in c.fetchall()]


def make_recorder(url: str, pool_size: int = 10) -> ApplicationRecorder:
    """The shared application recorder (events table + notification log) for every bounded context."""
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1]
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        datastore = SQLiteDatastore(db_name=path, lock_timeout=SQLITE_TIMEOUT_S, pool_size=pool_size,
                                    max_overflow=pool_size, originator_id_type="uuid")
        sqlite_recorder = EventsSQLiteRecorder(datastore, events_table_name=EVENTS_TABLE)
        sqlite_recorder.create_table()
        return sqlite_recorder
    u = urlparse(url.replace("+psycopg", ""))
    datastore_pg = PostgresDatastore(
        dbname=u.path.lstrip("/"), host=u.hostname or "127.0.0.1", port=u.port or 5432,
        user=unquote(u.username or "postgres"), password=unquote(u.password or ""), pool_size=pool_size,
        max_overflow=pool_size, max_waiting=100, lock_timeout=10, connect_timeout=CONNECT_TIMEOUT_S, pre_ping=False)
    # No pool_open_timeout: with it, eventsourcing calls pool.wait() on every checkout, which psycopg_pool
    # does not allow from two threads at once (an AssertionError under concurrent first requests).
    pg_recorder = QuietPostgresRecorder(datastore_pg, events_table_name=EVENTS_TABLE)
    pg_recorder.create_table()
    return pg_recorder


def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
