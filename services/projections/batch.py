"""A unit of work for projections: inserts are queued and written with one multi-row statement per table,
updates by primary key to a queued row are applied in memory, counters are summed in memory, and anything else
flushes the queue first — so a run of events costs a handful of statements instead of several per event, with
the same result."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Executable, Result, Table, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql.dml import UpdateBase

from services import readmodel as rm

InsertRows = Callable[[Connection, Table, Sequence[dict[str, Any]]], None]


@functools.cache
def _insert(table: Table) -> Any:
    """INSERT into the table (built once per table: statements cost more to build than to run)."""
    return insert(table)


@functools.cache
def _add_to_counter(dialect: str, table: Table) -> Any:
    """INSERT the counter row, or add its n to the row already there (built once per table)."""
    statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(table)
    keys = [c.name for c in table.primary_key.columns]
    return statement.on_conflict_do_update(index_elements=keys, set_={"n": table.c.n + statement.excluded.n})


class Batch:
    def __init__(self, conn: Connection, insert_rows: InsertRows) -> None:
        self.conn = conn
        #: How rows of one table (each with the same columns) are inserted (services/ports.EventTable.insert_rows).
        self._insert_rows = insert_rows
        self._rows: dict[Table, list[dict[str, Any]]] = {}
        self._by_pk: dict[tuple[str, tuple[Any, ...]], dict[str, Any]] = {}
        #: Names of the tables this batch wrote to (inserted, updated or deleted rows).
        self.touched: set[str] = set()
        self._counts: dict[Table, dict[tuple[tuple[str, Any], ...], int]] = {}
        #: Statements to run after the queued rows, at the next flush (tracking rows moved past them).
        self._then: list[tuple[Executable, Any]] = []

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
        self.conn.execute(update(table).where(column == pk).values(**values))  # not queued: order does not matter

    def count(self, table: Table, delta: int, **key: Any) -> None:
        """Adds delta to the counter row with this key (its primary key, plus columns that only a new row needs):
        summed in memory and written at flush as one upsert per table. The counter column is `n`."""
        self.touched.add(table.name)
        counts = self._counts.setdefault(table, {})
        k = tuple(key.items())
        counts[k] = counts.get(k, 0) + delta

    def row(self, table: Table, pk: Any) -> dict[str, Any] | None:
        """A queued row (to read back what this batch wrote), or None."""
        return self._by_pk.get((table.name, (pk,)))

    def then(self, statement: Executable, params: Any = None) -> None:
        """Queues a write that needs no answer, to run after the queued rows at the next flush."""
        self._then.append((statement, params))

    def execute(self, statement: Executable, params: Any = None) -> Result[Any]:
        if isinstance(statement, UpdateBase):
            self.touched.add(str(getattr(statement.table, "name", "")))
        self.flush()
        return self.conn.execute(statement, params)

    def flush(self) -> None:
        for table, rows in self._rows.items():
            shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
            for row in rows:  # a multi-row insert needs the same columns in every row
                shapes.setdefault(tuple(row), []).append(row)
            for same in shapes.values():
                self._insert_rows(self.conn, table, same)
        for table, counts in self._counts.items():
            if counts:  # zeros too: a rebuild leaves the same rows
                self.conn.execute(_add_to_counter(self.conn.dialect.name, table),
                                  [dict(k) | {"n": n} for k, n in counts.items()])
        for statement, params in self._then:
            self.conn.execute(statement, params)
        self._rows.clear()
        self._by_pk.clear()
        self._counts.clear()
        self._then.clear()


def person_name(b: Batch, person_id: Any, actor: Any) -> str:
    """A person's display name for denormalised columns: from the acting person, a queued row, or the table."""
    if getattr(actor, "id", None) == person_id:
        return str(actor.display_name)
    queued = b.row(rm.people, person_id)
    if queued is not None:
        return str(queued["display_name"])
    name = b.execute(select(rm.people.c.display_name).where(rm.people.c.id == person_id)).scalar()
    return str(name) if name is not None else str(getattr(actor, "display_name", ""))
