"""infra/database.EventTable.insert_rows and .together on the real stores: rows inserted in one statement read back
exactly as SQLAlchemy's own INSERT stores them (every column type the read model uses, a JSON None, text that
needs escaping, a Python-side default); writes sent together raise SQLAlchemy's errors, and nothing is written."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError

from api.container import Container
from services.readmodel import UtcDateTime

kinds = Table(f"insert_rows_test_{uuid.uuid4().hex[:8]}", MetaData(),
              Column("id", Integer, primary_key=True), Column("ref", Uuid), Column("name", String(50)),
              Column("note", Text), Column("at", UtcDateTime), Column("on", Date), Column("flag", Boolean),
              Column("big", BigInteger), Column("data", JSON, nullable=False),
              Column("lapsed", Boolean, nullable=False, default=False))

ROWS: list[dict[str, Any]] = [
    {"id": 1, "ref": uuid.uuid4(), "name": 'O\'Brien "Sam" \\ école', "note": "line\nbreak\ttab ✓",
     "at": datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=UTC), "on": date(2026, 12, 4), "flag": True,
     "big": 2**40, "data": {"ids": [str(uuid.uuid4())], "n": 3, "nested": {"a": None}}},
    {"id": 2, "ref": None, "name": None, "note": None, "at": None, "on": None, "flag": None, "big": None,
     "data": None},
    {"id": 3, "ref": uuid.uuid4(), "name": "", "note": "", "at": datetime(2026, 10, 25, 23, 59, tzinfo=UTC),
     "on": date(2000, 1, 1), "flag": False, "big": 0, "data": ["a", 1, True, None]},
]


@pytest.fixture
def engine(container: Container) -> Iterator[Engine]:
    engine = container.event_table.engine  # the writers' engine, on both stores
    kinds.create(engine)
    yield engine
    kinds.drop(engine)


def _read(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(kinds).order_by(kinds.c.id))]


def test_rows_read_back_as_sqlalchemy_stores_them(container: Container, engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(insert(kinds), ROWS)
    expected = _read(engine)
    with engine.begin() as conn:
        conn.execute(kinds.delete())
    with engine.begin() as conn:
        container.event_table.insert_rows(conn, kinds, ROWS)
    assert _read(engine) == expected
    assert [row[-1] for row in expected] == [False, False, False]  # the Python-side default, on every row
    with engine.connect() as conn:  # a JSON None is JSON's null, as SQLAlchemy stores it: the column is NOT NULL
        assert conn.execute(select(kinds.c.data).where(kinds.c.id == 2)).scalar_one() is None


def test_writes_sent_together_raise_sqlalchemys_error_and_write_nothing(container: Container, engine: Engine) -> None:
    table = container.event_table
    with engine.begin() as conn:
        table.insert_rows(conn, kinds, ROWS[:1])
    with pytest.raises(IntegrityError), engine.begin() as conn, table.together(conn):
        table.insert_rows(conn, kinds, ROWS[1:])
        table.insert_rows(conn, kinds, ROWS[:1])  # a duplicate key
    assert [row[0] for row in _read(engine)] == [1]
