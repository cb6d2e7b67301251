"""A unit of work for projections: inserts are queued and written with one multi-row statement per table,
updates by primary key to a queued row are applied in memory, and anything else flushes the queue first — so a
batch of events costs a handful of round trips instead of several per event, with the same result."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.types.json import Json
from sqlalchemy import JSON, Connection, Executable, Result, Table, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.dml import UpdateBase

from services import readmodel as rm
from services.projections import driver

COPY_THRESHOLD = 50
_INSERTS: dict[Table, Any] = {}  # one insert() per table, built once
_COUNTERS: dict[tuple[str, Table], Any] = {}  # one upsert per dialect and counter table, built once
_JSON_COLUMNS: dict[Table, frozenset[str]] = {}
_PROCESSORS: dict[tuple[Dialect, Table], dict[str, Callable[[Any], Any]]] = {}
_MULTI_ROW: dict[tuple[str, tuple[str, ...], int, str], str] = {}
_SQLITE_INSERTS: dict[tuple[str, tuple[str, ...], str], str] = {}


def _add_to_counter(dialect: str, table: Table) -> Any:
    """INSERT the counter row, or add its n to the row already there."""
    found = _COUNTERS.get((dialect, table))
    if found is None:
        statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(table)
        keys = [c.name for c in table.primary_key.columns]
        found = _COUNTERS.setdefault((dialect, table), statement.on_conflict_do_update(
            index_elements=keys, set_={"n": table.c.n + statement.excluded.n}))
    return found


class Script:
    """PostgreSQL: a projection round's writes, rendered with their values by psycopg's client-side binding
    (`ClientCursor.mogrify`, which quotes and escapes as the server expects) and sent as one multi-statement
    query when a result is needed or the round ends: one round trip instead of one per statement, while the
    round holds the tracking rows' lock (docs/decisions/0028-projection-round-in-one-round-trip.md)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._render = psycopg.ClientCursor(cast("psycopg.Connection[Any]", conn.connection.dbapi_connection)).mogrify
        self._parts: list[str] = []
        #: How many times the script was sent, and how many statements it carried in all.
        self.sends = self.statements = 0

    def add(self, statement: str, params: list[Any]) -> None:
        """Queues a statement (quoted already: built with psycopg.sql) with its values."""
        self._parts.append(self._render(statement, params))

    def run(self, commit: bool = False) -> None:
        """Sends what is queued. With commit, the script ends with COMMIT: the transaction (and its locks) ends
        on the server as soon as the script has run, not a round trip later. psycopg sees the connection idle
        again, so SQLAlchemy's commit at the end of the block sends nothing."""
        if commit:
            self._parts.append("COMMIT")
        if self._parts:
            parts, self._parts = self._parts, []
            self.sends, self.statements = self.sends + 1, self.statements + len(parts)
            # Through SQLAlchemy, so that errors are wrapped and a dead connection is handled as for any statement
            # (retry_on_disconnect). `no_parameters`: the cursor is called with the text alone, so psycopg uses
            # the simple protocol, which allows several statements, and sends the text as it is, without
            # scanning it for placeholders (the values are in it already, % signs and all).
            self.conn.exec_driver_sql(";\n".join(parts), execution_options={"no_parameters": True})


def _json_columns(table: Table) -> frozenset[str]:
    """The table's JSON columns, whose values are written as JSON text (as SQLAlchemy's JSON type does)."""
    found = _JSON_COLUMNS.get(table)
    if found is None:
        found = _JSON_COLUMNS.setdefault(table, frozenset(c.name for c in table.columns if isinstance(c.type, JSON)))
    return found


def _multi_row_insert(table: str, columns: tuple[str, ...], rows: int, tail: str) -> str:
    """INSERT INTO "table" ("a", "b") VALUES (%s, %s), (%s, %s)… with `tail` (ON CONFLICT …), built and quoted
    once per shape."""
    key = (table, columns, rows, tail)
    found = _MULTI_ROW.get(key)
    if found is None:
        one = sql.SQL("({})").format(sql.SQL(", ").join([sql.Placeholder()] * len(columns)))
        found = _MULTI_ROW.setdefault(key, sql.SQL("INSERT INTO {} ({}) VALUES {}{}").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)),
            sql.SQL(", ").join([one] * rows), sql.SQL(tail)).as_string())  # tail: our own text, no input
    return found


def _as_text(value: Any) -> Any:
    """UUIDs, JSON and datetimes as the text PostgreSQL reads them from: in INSERT … VALUES a quoted literal takes
    its column's type, and psycopg quotes text in C, where its UUID, JSON and datetime dumpers run in Python and
    cost twice as much (the round's values are rendered while the events table is locked)."""
    kind = type(value)
    if kind is UUID:
        return value.hex
    if kind is Json:
        return (value.dumps or json.dumps)(value.obj)
    if kind is datetime:
        return value.isoformat()
    return value


def _bind_processors(dialect: Dialect, table: Table) -> dict[str, Callable[[Any], Any]]:
    """The table's columns whose type processes a value before it is sent, with their processor."""
    found = _PROCESSORS.get((dialect, table))
    if found is None:
        processors = {c.name: c.type.dialect_impl(dialect).bind_processor(dialect) for c in table.columns}
        found = _PROCESSORS.setdefault((dialect, table), {k: p for k, p in processors.items() if p is not None})
    return found


class Batch:
    def __init__(self, conn: Connection, script: Script | None = None, tally: dict[str, int] | None = None) -> None:
        self.conn = conn
        self.script = script
        #: Where given, counts the statements and rows this batch sent to SQLite's driver, per table.
        self.tally = tally
        self._rows: dict[Table, list[dict[str, Any]]] = {}
        self._by_pk: dict[tuple[str, tuple[Any, ...]], dict[str, Any]] = {}
        #: Names of the tables this batch wrote to (inserted, updated or deleted rows).
        self.touched: set[str] = set()
        self._counts: dict[Table, dict[tuple[tuple[str, Any], ...], int]] = {}

    @staticmethod
    def _pk(table: Table, row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(row[c.name] for c in table.primary_key.columns)

    def insert(self, table: Table, **values: Any) -> None:
        self.touched.add(table.name)
        self._rows.setdefault(table, []).append(values)
        self._by_pk[(table.name, self._pk(table, values))] = values

    def append(self, table: Table, **values: Any) -> None:
        """Queues an insert of a row that this batch will never update or read back (append-only tables such
        as the audit trail): cheaper than insert(), which indexes the row by its primary key."""
        self.touched.add(table.name)
        self._rows.setdefault(table, []).append(values)

    def update(self, table: Table, pk: Any, **values: Any) -> None:
        """Updates one row by its (single-column) primary key, in memory if its insert is still queued."""
        self.touched.add(table.name)
        key = (table.name, (pk,))
        if key in self._by_pk:
            self._by_pk[key].update(values)
            return
        [column] = table.primary_key.columns
        self.sync()
        self.conn.execute(update(table).where(column == pk).values(**values))  # not queued: order does not matter

    def count(self, table: Table, delta: int, **key: Any) -> None:
        """Adds delta to the counter row with this key (its primary key, plus columns that only a new row needs):
        summed in memory and written at flush as one upsert per row, so a bulk catch-up costs one statement per
        table, not one per event. The counter column is `n`."""
        self.touched.add(table.name)
        counts = self._counts.setdefault(table, {})
        k = tuple(key.items())
        counts[k] = counts.get(k, 0) + delta

    def _flush_counts(self) -> None:
        for table, counts in self._counts.items():
            rows = [dict(k) | {"n": n} for k, n in counts.items()]  # zeros too: a rebuild leaves the same rows
            if not rows:
                continue
            keys = ", ".join(f'"{c.name}"' for c in table.primary_key.columns)  # our table's own names
            upsert = f' ON CONFLICT ({keys}) DO UPDATE SET "n" = "{table.name}"."n" + EXCLUDED."n"'
            if self.script is not None:
                self._script_insert(table, rows, upsert)
            elif self.conn.dialect.name == "sqlite":
                self._sqlite_insert(table, rows, upsert)
            else:
                self.conn.execute(_add_to_counter(self.conn.dialect.name, table), rows)
        self._counts.clear()

    def _processed(self, table: Table, rows: list[dict[str, Any]]) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
        """The rows' columns (those of the first row; every row has them) and each row's values in that order, each
        value passed through its column type's bind processing (JSON, UTC datetimes), as SQLAlchemy would."""
        columns = tuple(rows[0])
        processors = _bind_processors(self.conn.dialect, table)
        steps = [(c, processors.get(c)) for c in columns]
        return columns, [tuple(row[c] if p is None or row[c] is None else p(row[c]) for c, p in steps) for row in rows]

    def _script_insert(self, table: Table, rows: list[dict[str, Any]], tail: str = "") -> None:
        """Queues a multi-row INSERT on the script, each value first passed through its column type's bind
        processing (JSON, UTC datetimes), as SQLAlchemy would."""
        assert self.script is not None
        columns, values = self._processed(table, rows)
        self.script.add(_multi_row_insert(table.name, columns, len(rows), tail),
                        [_as_text(v) for row in values for v in row])

    def _sqlite_insert(self, table: Table, rows: list[dict[str, Any]], tail: str = "") -> None:
        """SQLite: the rows by the driver's executemany (services/projections/driver.py), each value first passed
        through its column type's bind processing, as SQLAlchemy would."""
        columns, values = self._processed(table, rows)
        key = (table.name, columns, tail)
        statement = _SQLITE_INSERTS.get(key)
        if statement is None:
            names = ", ".join(f'"{c}"' for c in columns)  # our tables' own column names, and "?" marks
            statement = _SQLITE_INSERTS.setdefault(key, f'INSERT INTO "{table.name}" ({names}) '  # noqa: S608
                                                        f'VALUES ({", ".join("?" * len(columns))}){tail}')
        driver.run_many(self.conn, statement, values)
        if self.tally is not None:
            for name, n in ((f"sqlite_statements:{table.name}", 1), (f"sqlite_rows:{table.name}", len(rows))):
                self.tally[name] = self.tally.get(name, 0) + n

    def sync(self) -> None:
        """Sends what the script holds, before a statement whose result or order depends on it."""
        if self.script is not None:
            self.script.run()

    def row(self, table: Table, pk: Any) -> dict[str, Any] | None:
        """A queued row (to read back what this batch wrote), or None."""
        return self._by_pk.get((table.name, (pk,)))

    def _copy(self, table: Table, rows: list[dict[str, Any]]) -> None:
        """PostgreSQL's COPY for big batches (rebuilds, catch-up after an import): one stream, no per-row SQL."""
        columns = list(rows[0])
        json_columns = _json_columns(table)
        cursor = self.conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        names = ", ".join(f'"{c}"' for c in columns)
        with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row([json.dumps(row[c]) if c in json_columns and row[c] is not None else row[c]
                                for c in columns])

    def execute(self, statement: Executable) -> Result[Any]:
        if isinstance(statement, UpdateBase):
            self.touched.add(str(getattr(statement.table, "name", "")))
        self.flush()
        self.sync()
        return self.conn.execute(statement)

    def flush(self) -> None:
        for table, rows in self._rows.items():
            shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
            for row in rows:  # a multi-row insert needs the same columns in every row
                shapes.setdefault(tuple(row), []).append(row)  # rows from one handler share a key order
            for same in shapes.values():
                if self.conn.dialect.name == "postgresql" and len(same) >= COPY_THRESHOLD:
                    self.sync()
                    self._copy(table, same)
                elif self.script is not None:
                    self._script_insert(table, same)
                elif self.conn.dialect.name == "sqlite":
                    self._sqlite_insert(table, same)
                else:
                    statement = _INSERTS.get(table)
                    if statement is None:
                        statement = _INSERTS.setdefault(table, insert(table))
                    self.conn.execute(statement, same)
        self._rows.clear()
        self._by_pk.clear()
        self._flush_counts()


def person_name(b: Batch, person_id: Any, actor: Any) -> str:
    """A person's display name for denormalised columns: from the acting person, a queued row, or the table."""
    if getattr(actor, "id", None) == person_id:
        return str(actor.display_name)
    queued = b.row(rm.people, person_id)
    if queued is not None:
        return str(queued["display_name"])
    name = b.execute(select(rm.people.c.display_name).where(rm.people.c.id == person_id)).scalar()
    return str(name) if name is not None else str(getattr(actor, "display_name", ""))
