"""The database: SQLAlchemy engine for the read model, and the eventsourcing recorder for events.
One URL serves both: an SQLite file (embedded default) or a PostgreSQL database."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore
from psycopg.sql import SQL, Identifier
from sqlalchemy import Engine, create_engine, event, text

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
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    connect_args = {} if durable_commits else {"options": "-c synchronous_commit=off"}
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, connect_args=connect_args)


class QuietPostgresRecorder(PostgresApplicationRecorder):
    """The library's recorder without its NOTIFY on every insert: it exists for the library's LISTEN-based
    subscriptions, which we do not use (our projections pull; docs/decisions/0003), and a NOTIFY makes every
    committing writer queue on PostgreSQL's notification lock."""

    def _notify_channel(self, curs: Any) -> None:
        pass

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
    """The library's SQLite recorder, with several aggregates' events read in one statement."""

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
        max_overflow=pool_size, max_waiting=100, lock_timeout=10, connect_timeout=5.0, pre_ping=False)
    # No pool_open_timeout: with it, eventsourcing calls pool.wait() on every checkout, which psycopg_pool
    # does not allow from two threads at once (an AssertionError under concurrent first requests).
    pg_recorder = QuietPostgresRecorder(datastore_pg, events_table_name=EVENTS_TABLE)
    pg_recorder.create_table()
    return pg_recorder


def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
