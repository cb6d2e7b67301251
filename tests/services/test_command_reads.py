"""The command path's reads: several aggregates in one statement, and one-statement reads on autocommit
connections that are never switched back and forth (docs/decisions/0025-command-path-reads.md)."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from domain.person import Person
from services import readmodel as rm
from services.eventstore import ReadsManyAggregates
from tests.conftest import World


def test_load_many_reads_the_same_aggregates_as_load_one_by_one(world: World) -> None:
    apps = world.c.applications
    assert isinstance(world.c.recorder, ReadsManyAggregates)
    world.ready("alice")  # alice has more events than bob: training and an acknowledgement
    missing = uuid.uuid4()
    ids = [world.people["alice"], world.people["bob"], missing, world.people["other_head"]]
    many = apps.load_many(Person, ids)
    assert list(many) == ids and many[missing] is None
    for i in ids:
        one = apps.load(Person, i)
        got = many[i]
        if one is None:
            assert got is None
            continue
        assert got is not None and got.version == one.version and got.__dict__ == one.__dict__
    alice = many[world.people["alice"]]
    assert alice is not None and alice.version > 1  # replayed every event, in order


def test_one_statement_reads_use_autocommit_connections_and_leave_the_engines_own_alone(world: World) -> None:
    engine = world.c.engine
    with rm.single_read(engine) as conn:
        driver = conn.connection.dbapi_connection
        if engine.dialect.name == "postgresql":
            assert driver.autocommit is True  # type: ignore[union-attr]
            assert conn.execute(text("SELECT 1")).scalar() == 1
        else:
            assert conn.engine is engine  # SQLite: the engine's own connections serve
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            assert conn.connection.dbapi_connection.autocommit is False  # type: ignore[union-attr]


def test_dispose_closes_the_autocommit_companion_too(world: World) -> None:
    from api.container import Container
    from infra.settings import Settings

    c = Container(Settings(database_url=str(world.c.settings.database_url), db_pool_size=2), clock=world.c.clock)
    with rm.single_read(c.engine) as conn:
        conn.execute(text("SELECT 1"))
    companion = rm._AUTOCOMMIT.get(c.engine)
    assert (companion is not None) == (c.engine.dialect.name == "postgresql")
    c.close()
    assert c.engine not in rm._AUTOCOMMIT
    if companion is not None:
        assert companion.pool.checkedin() == 0  # its pooled connections were closed
