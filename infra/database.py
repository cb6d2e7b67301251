"""The database: SQLAlchemy engine for the read model, the eventsourcing recorder that reads events, and the
event table that commands' events are inserted into, in the transaction that also updates the read model.
One URL serves both: an SQLite file (embedded default) or a PostgreSQL database."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, TypeVar, cast
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
from sqlalchemy import JSON, Connection, Engine, Table, TextClause, create_engine, event, insert, text
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import IntegrityError as SAIntegrityError

from infra.group_commit import GroupCommit

T = TypeVar("T")
R = TypeVar("R")
EVENTS_TABLE = "socialgov_events"
SQLITE_TIMEOUT_S = 30
#: PostgreSQL: a command's events in one statement, whatever their number.
INSERT_POSTGRES = text(
    f"INSERT INTO {EVENTS_TABLE} (originator_id, originator_version, topic, state) "  # noqa: S608 - our table
    "SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:versions AS bigint[]), CAST(:topics AS text[]), "
    "CAST(:states AS bytea[])) RETURNING notification_id")
#: Seconds a PostgreSQL append waits for the event table's lock before it gives up (nothing written: 503).
LOCK_TIMEOUT_S = 10
#: PostgreSQL, at the start of a commands' transaction: its id (the first statement's answer) and the event
#: table's lock, in one round trip.
LOCK_EVENTS = text(f"SELECT txid_current(); SET LOCAL lock_timeout = '{LOCK_TIMEOUT_S}s'; "
                   f"LOCK TABLE {EVENTS_TABLE} IN EXCLUSIVE MODE")


def make_engine(url: str, pool_size: int = 10) -> Engine:
    """The SQLAlchemy engine. No pre-ping (it costs a round trip per checkout): a connection found dead raises,
    SQLAlchemy then discards the whole pool, and the next checkout reconnects (tests/faults)."""
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
            cur.execute("PRAGMA synchronous=FULL")  # a command's commit waits for the disk
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    # A projection's rows of one table go by psycopg's executemany (one prepared statement, pipelined), not as one
    # multi-row INSERT: psycopg parses a long multi-row statement in Python each time (catch-up 2,692 -> 4,342 ev/s).
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size)


class EventTable:
    """Inserts commands' events on a connection of the read model's database, so that the events and the read
    model's rows they make commit in one transaction (services/event_log.py).

    Its transactions are ones in which no one else appends: on PostgreSQL each takes the event table's lock, as the
    eventsourcing library's own insert does, so that notification ids commit in id order (projections read the log
    by id); on SQLite each begins with BEGIN IMMEDIATE, taking the database's one write lock. Commands appending at
    the same moment are written together (`write`, infra/group_commit.py)."""

    def __init__(self, engine: Engine) -> None:
        self.sqlite = engine.dialect.name == "sqlite"
        #: PostgreSQL: the read model's engine; SQLite: connections of its own (see _sqlite_writer_engine).
        self.engine = _sqlite_writer_engine(engine.url.render_as_string(hide_password=False)) if self.sqlite else engine
        self._group = GroupCommit(self._transaction)
        #: PostgreSQL: insert_rows's statement for a table and its rows' columns (they cost more to build than to run).
        self._json_inserts: dict[tuple[Table, tuple[str, ...]], tuple[TextClause, list[Any]]] = {}

    def write(self, entry: T, write: Callable[[Connection, Sequence[T]], Sequence[R]]) -> R:
        return cast(R, self._group.write(entry, write))

    def alone(self) -> AbstractContextManager[Connection]:
        return self._group.alone()

    @contextmanager
    def together(self, conn: Connection) -> Iterator[None]:
        """PostgreSQL: psycopg's pipeline mode, so that a projection's writes to several tables cost one round trip
        rather than one each; under the event table's lock that raised the command rate by a quarter (decision
        0044). An error comes at the end, and is raised as SQLAlchemy raises a statement's (its IntegrityError, the
        connection invalidated if it was lost). SQLite runs in-process: nothing to save."""
        if self.sqlite:
            yield
            return
        try:
            with conn.connection.driver_connection.pipeline():
                yield
        except psycopg.Error as e:
            lost = conn.dialect.is_disconnect(e, conn.connection.dbapi_connection, None)
            if lost:
                conn.invalidate(e)
            raise DBAPIError.instance(None, None, e, psycopg.Error, connection_invalidated=lost,
                                      dialect=conn.dialect) from e

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        if self.sqlite:
            with self.engine.begin() as conn:
                yield conn
            return
        with self.engine.connect() as conn:
            transaction = conn.begin()
            try:
                xid = conn.execute(LOCK_EVENTS).scalar_one()
                yield conn
            except BaseException:
                transaction.rollback()
                raise
            try:
                transaction.commit()
            except DBAPIError:
                if not self._committed(xid):
                    raise

    def _committed(self, xid: int) -> bool:
        """Whether transaction `xid` committed after all: its COMMIT can take effect while the connection is lost
        before the answer comes back (the database was restarting), and then its commands must answer 2xx."""
        try:
            with self.engine.connect() as conn:
                return conn.execute(text("SELECT txid_status(:xid)"), {"xid": xid}).scalar() == "committed"
        except DBAPIError:
            return False  # not known: the commands answer 5xx, as for a commit that failed

    def insert_rows(self, conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
        """Inserts `rows` (each with the same columns) into `table`. PostgreSQL: one statement whatever their number,
        the rows sent as one JSON document that the database turns back into rows (json_populate_recordset); an
        executemany, or one array per column, costs Python time for every value (projections catching up: decision
        0044). SQLite: executemany, in-process."""
        if self.sqlite:
            conn.execute(insert(table), rows)
            return
        key = (table, tuple(rows[0]))
        if key not in self._json_inserts:
            self._json_inserts[key] = _json_insert(conn.dialect, *key)
        statement, columns = self._json_inserts[key]
        document = [{name: process(row.get(name, default)) if process is not None else row.get(name, default)
                     for name, process, default in columns} for row in rows]
        conn.execute(statement, {"rows": json.dumps(document, default=str)})

    def insert(self, conn: Connection, stored: Sequence[StoredEvent]) -> list[int]:
        """Inserts `stored` in `conn`'s transaction; returns their notification ids in the order given. A version
        already taken raises the library's IntegrityError (someone else changed the aggregate)."""
        try:
            if self.sqlite:  # the notification id is the rowid
                marks = ", ".join(f"(:i{n}, :v{n}, :t{n}, :s{n})" for n in range(len(stored)))
                params: dict[str, Any] = {}
                for n, s in enumerate(stored):
                    params |= {f"i{n}": _uuid(s.originator_id).hex, f"v{n}": s.originator_version,
                               f"t{n}": s.topic, f"s{n}": s.state}
                rows = conn.execute(text(f"INSERT INTO {EVENTS_TABLE} VALUES {marks} RETURNING rowid"),  # noqa: S608
                                    params)  # our table's name and bind marks only
            else:
                rows = conn.execute(INSERT_POSTGRES, {
                    "ids": [_uuid(s.originator_id) for s in stored], "versions": [s.originator_version for s in stored],
                    "topics": [s.topic for s in stored], "states": [s.state for s in stored]})
        except SAIntegrityError as e:
            raise IntegrityError(e.orig) from e
        return sorted(int(r[0]) for r in rows)  # ids are given in the order of the rows inserted

    def close(self) -> None:
        if self.sqlite:
            self.engine.dispose()


def _json_insert(dialect: Dialect, table: Table, names: tuple[str, ...]) -> tuple[TextClause, list[Any]]:
    """PostgreSQL: INSERT INTO table (columns) SELECT columns FROM json_populate_recordset(rows), for rows with
    these columns plus those with a Python-side scalar default; and per column its name, how its value is made
    ready for the JSON document (the bind processor SQLAlchemy would apply; a JSON column's value goes as it is)
    and its default. A JSON column's None is stored as JSON's null, as SQLAlchemy stores it."""
    names += tuple(c.name for c in table.columns
                   if c.name not in names and c.default is not None and c.default.is_scalar)
    columns = [table.c[name] for name in names]
    quote = dialect.identifier_preparer.quote
    selected = ", ".join(f"COALESCE({quote(c.name)}, 'null')" if isinstance(c.type, JSON) else quote(c.name)
                         for c in columns)
    statement = text(f"INSERT INTO {table.name} ({', '.join(quote(n) for n in names)}) "  # noqa: S608 - our tables
                     f"SELECT {selected} FROM json_populate_recordset(NULL::{table.name}, CAST(:rows AS json))")
    ready = [None if isinstance(c.type, JSON) else dialect.type_descriptor(c.type).bind_processor(dialect)
             for c in columns]
    return statement, [(c.name, process, c.default.arg if c.default is not None else None)
                       for c, process in zip(columns, ready, strict=True)]


def _sqlite_writer_engine(url: str) -> Engine:
    """SQLite connections for commands' transactions: begun with BEGIN IMMEDIATE, so that a transaction takes the
    write lock before it reads (a read-then-write transaction could otherwise find its snapshot stale and fail),
    and begun by us rather than by the sqlite3 driver, whose own transaction handling breaks savepoints."""
    engine = make_engine(url, pool_size=2)

    @event.listens_for(engine, "connect")
    def _no_driver_transactions(dbapi_conn: Any, _: Any) -> None:
        dbapi_conn.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin_immediate(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


#: Attempts of an event-store read that failed to reach the database: a dropped connection is retried once, on a
#: fresh one. The library makes ten, each waiting up to the pool's timeout, so in an outage a request waited about
#: 50 s for its 503.
ATTEMPTS = 2
#: Seconds to connect, and to wait for a pooled connection.
CONNECT_TIMEOUT_S = 2.0


def _with_fewer_attempts(method: Any) -> Any:
    """The library's recorder method (decorated with ten attempts) with ATTEMPTS attempts instead."""
    return retry((InterfaceError, OperationalError), max_attempts=ATTEMPTS, wait=0.2)(method.__wrapped__)


class EventsPostgresRecorder(PostgresApplicationRecorder):
    """The library's recorder (it creates the event table and reads events and notifications), with several
    aggregates' events read in one statement and fewer attempts in an outage."""

    select_events = _with_fewer_attempts(PostgresApplicationRecorder.select_events)
    select_notifications = _with_fewer_attempts(PostgresApplicationRecorder.select_notifications)
    max_notification_id = _with_fewer_attempts(PostgresApplicationRecorder.max_notification_id)

    def create_table(self) -> None:
        """The library's tables, one process at a time: web processes start together, and concurrent CREATE
        statements can fail with 'tuple concurrently updated'."""
        params = {k: v for k, v in self.datastore.pool.kwargs.items() if k != "row_factory"}
        with psycopg.connect(autocommit=True, **params) as lock:
            lock.execute("SELECT pg_advisory_lock(hashtext(%s))", [self.events_table_name])
            super().create_table()  # released with the connection, whatever happens here

    def select_events_of(self, originator_ids: Sequence[UUID]) -> list[StoredEvent]:
        """Every stored event of several aggregates in one statement, by aggregate, oldest first."""
        statement = SQL("SELECT * FROM {schema}.{table} WHERE originator_id = ANY(%s) "
                        "ORDER BY originator_id, originator_version").format(
            schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name))
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, [list(originator_ids)])
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
        max_overflow=pool_size, max_waiting=100, lock_timeout=LOCK_TIMEOUT_S, connect_timeout=CONNECT_TIMEOUT_S,
        pre_ping=False)
    # No pool_open_timeout: with it, eventsourcing calls pool.wait() on every checkout, which psycopg_pool
    # does not allow from two threads at once (an AssertionError under concurrent first requests).
    pg_recorder = EventsPostgresRecorder(datastore_pg, events_table_name=EVENTS_TABLE)
    pg_recorder.create_table()
    return pg_recorder


def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
