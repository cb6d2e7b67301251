"""SQLite: statements sent to the driver's own connection, inside a SQLAlchemy Connection's transaction.

A command's events are inserted and projected while SQLite's one write lock is held (decision 0035), so every
statement of that transaction delays every other writer. Through SQLAlchemy each costs its execution work
(context, parameter processing, result wrapping); sent to the sqlite3 connection itself, with values already in
the driver's types, a statement costs a fraction of that (docs/decisions/0037-sqlite-driver-statements.md).
Errors are raised as SQLAlchemy raises them (IntegrityError, OperationalError, ...), without the values, so that
callers, the HTTP layer's problem mapping and the logs treat them as before."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, StatementError


def _driver(conn: Connection) -> sqlite3.Connection:
    driver = conn.connection.dbapi_connection
    assert isinstance(driver, sqlite3.Connection), "SQLite only"
    return driver


def _wrapped(conn: Connection, statement: str, error: sqlite3.Error) -> StatementError:
    return DBAPIError.instance(statement, None, error, sqlite3.Error, hide_parameters=True, dialect=conn.dialect)


def run(conn: Connection, statement: str, params: Sequence[Any] = ()) -> list[Any]:
    """Executes `statement` with `params` on `conn`'s connection, in its transaction; returns the rows."""
    try:
        return _driver(conn).execute(statement, params).fetchall()
    except sqlite3.Error as e:
        raise _wrapped(conn, statement, e) from e


def run_many(conn: Connection, statement: str, rows: Sequence[Sequence[Any]]) -> None:
    """Executes `statement` once per parameter row (the driver's executemany), in `conn`'s transaction."""
    try:
        _driver(conn).executemany(statement, rows)
    except sqlite3.Error as e:
        raise _wrapped(conn, statement, e) from e
