"""SQLite's hot statements sent to the driver past SQLAlchemy (docs/decisions/0037-sqlite-driver-statements.md):
in the same transaction as SQLAlchemy's own statements, values stored as SQLAlchemy stores them, and errors
raised as SQLAlchemy raises them, without the values (which may be anyone's text) in the message."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, Uuid, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError

from infra.database import make_engine
from services.projections import driver
from services.projections.batch import Batch
from services.readmodel import UtcDateTime

META = MetaData()
THINGS = Table("things", META, Column("id", Uuid, primary_key=True), Column("at", UtcDateTime),
               Column("data", JSON), Column("name", String), Column("n", Integer))


@pytest.fixture
def engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    e = make_engine(f"sqlite:///{tmp_path / 'driver.db'}")
    META.create_all(e)
    yield e
    e.dispose()


def test_rows_written_past_sqlalchemy_read_back_as_sqlalchemy_wrote_them(engine) -> None:  # type: ignore[no-untyped-def]
    row = {"id": uuid.uuid4(), "at": datetime(2026, 11, 24, 9, 30, 1, 5, tzinfo=UTC),
           "data": {"reason": "O'Brien; %s", "n": [1, 2]}, "name": "Ünïcødé", "n": 3}
    twin = row | {"id": uuid.uuid4()}
    with engine.begin() as conn:
        b = Batch(conn, tally={})
        b.insert(THINGS, **row)
        b.flush()
        conn.execute(insert(THINGS), twin)  # the same row, through SQLAlchemy, in the same transaction
        assert b.tally == {"sqlite_statements:things": 1, "sqlite_rows:things": 1}
    with engine.connect() as conn:
        got = {r.id: r._asdict() for r in conn.execute(select(THINGS))}
        raw = conn.exec_driver_sql("SELECT id, at, data FROM things ORDER BY name, id").all()
    assert got[row["id"]] == row and got[twin["id"]] == twin
    assert {tuple(r[1:]) for r in raw} == {tuple(raw[0][1:])}  # byte for byte the same stored text


def test_a_driver_statement_rolls_back_with_its_transaction(engine) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RuntimeError), engine.begin() as conn:
        driver.run_many(conn, "INSERT INTO things (id, name) VALUES (?, ?)", [(uuid.uuid4().hex, "a")])
        raise RuntimeError("the transaction fails after the driver's write")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM things").scalar() == 0


def test_errors_are_sqlalchemys_and_do_not_carry_the_values(engine) -> None:  # type: ignore[no-untyped-def]
    taken = uuid.uuid4().hex
    with engine.begin() as conn:
        driver.run(conn, "INSERT INTO things (id, name) VALUES (?, ?)", (taken, "first"))
    with pytest.raises(IntegrityError) as refused, engine.begin() as conn:
        driver.run_many(conn, "INSERT INTO things (id, name) VALUES (?, ?)", [(taken, "secret-value-123")])
    assert "UNIQUE" in str(refused.value) and "secret-value-123" not in str(refused.value)
    with pytest.raises(OperationalError), engine.begin() as conn:
        driver.run(conn, "SELECT * FROM no_such_table WHERE name = ?", ("secret-value-123",))

