"""The second wall between tenants (DESIGN §3; migration 0011; decision 0036): on PostgreSQL a caller's reads run as
a role that row-level security confines to their trust and schools, whatever a query's own filter says. The walls
are PostgreSQL's, so these tests have a PostgreSQL container of their own (`pg`); SQLite has no row-level
security, and there the queries' filters are the only wall, which the last test states on both stores."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.exc import ProgrammingError

from api.container import Container
from infra.clock import SettableClock
from infra.settings import Settings
from services import queries
from services import readmodel as rm
from tests.conftest import T0, WORKER, World, build_world, served
from tests.databases import fresh_postgres


@pytest.fixture(scope="module")
def pg() -> Iterator[tuple[Container, TestClient[Any]]]:
    with served(Container(Settings(database_url=fresh_postgres(f"{WORKER}_rls"), db_pool_size=2),
                          clock=SettableClock(T0))) as both:
        yield both


@pytest.fixture
def pg_world(pg: tuple[Container, TestClient[Any]]) -> World:
    return build_world(*pg)


@pytest.fixture
def pg_stranger(pg: tuple[Container, TestClient[Any]]) -> World:
    return build_world(*pg)

#: The read model's tables with no tenant of their own (the others it holds begin "rm_"); the metadata also holds
#: infra's tables (sessions, vault, idempotency keys), which no caller's read touches.
READ_MODEL_ONLY = (rm.projection_tracking, rm.audit_chain)


def _apply_at_both_schools(w: World) -> None:
    w.ready("alice", "bob", "other_head", "other_staff")
    w.application("alice")
    r = w.post("other_staff", f"/api/v1/schools/{w.other_school}/applications",
               {"aim": "News", "audience": "Parents", "promotion": "Letters", "visibility": "open",
                "platform": "facebook", "proposed_handle": "OtherNews",
                "runner_ids": [str(w.people["other_head"]), str(w.people["other_staff"])]})
    assert r.status_code == 201, r.text


def _unfiltered(w: World, who: str) -> tuple[set[object], set[object]]:
    """Every application and person row a query with no tenant filter at all reads as `who`: trusts and schools."""
    with rm.read_as(w.c.engine, w.principal(who)) as conn:
        apps = conn.execute(select(rm.applications.c.trust_id, rm.applications.c.school_id)).all()
        people = conn.execute(select(rm.people.c.trust_id)).scalars().all()
    return {t for t, _ in apps} | set(people), {s for _, s in apps}


def test_a_query_without_a_tenant_filter_reads_only_the_callers_trust_and_schools(pg_world: World,
                                                                                   pg_stranger: World) -> None:
    w, stranger = pg_world, pg_stranger
    _apply_at_both_schools(w)
    _apply_at_both_schools(stranger)

    trusts, schools = _unfiltered(w, "admin")  # the trust team: every school of its own trust
    assert trusts == {w.trust_id}
    assert schools == {w.school, w.other_school}

    trusts, schools = _unfiltered(w, "head")  # a head: their own school only
    assert trusts == {w.trust_id}
    assert schools == {w.school}

    trusts, schools = _unfiltered(stranger, "admin")
    assert trusts == {stranger.trust_id}


def test_the_reader_role_cannot_write_and_leaves_nothing_behind_in_the_pool(pg_world: World) -> None:
    w = pg_world
    head = w.principal("head")
    with rm.read_as(w.c.engine, head) as conn, pytest.raises(ProgrammingError, match="permission denied"):
        conn.execute(update(rm.schools).where(rm.schools.c.id == w.school).values(name="Renamed"))
    with rm.read_as(w.c.engine, head) as conn, pytest.raises(ProgrammingError, match="permission denied"):
        conn.execute(insert(rm.policy_versions).values(id=w.policy, trust_id=w.trust_id))
    with rm.read_as(w.c.engine, head) as conn, pytest.raises(ProgrammingError, match="permission denied"):
        conn.execute(text("SELECT count(*) FROM vault_secrets"))  # not the read model's: no caller reads it
    for _ in range(w.c.settings.db_pool_size * 2 + 1):  # every pooled connection is back to the owner's role
        with w.c.engine.connect() as conn:
            user, trust = conn.execute(text("SELECT current_user, current_setting('socialgov.trust', true)")).one()
            assert user != rm.READER_ROLE and not trust
    assert queries.get_school(w.c.engine, head, w.school)["name"].startswith("School A")


def test_every_tenant_table_of_the_read_model_is_behind_the_wall(pg_world: World) -> None:
    """A read-model table added without a policy fails here (and a caller's read of a table the reader may not
    SELECT fails loudly, never silently)."""
    w = pg_world
    with w.c.engine.connect() as conn:
        for table in (t for t in rm.metadata.sorted_tables if t.name.startswith("rm_") or t in READ_MODEL_ONLY):
            tenant = "trust_id" in table.c or table is rm.trusts
            secured, policies = conn.execute(text(
                "SELECT c.relrowsecurity, (SELECT count(*) FROM pg_policies p WHERE p.tablename = c.relname "
                "AND p.policyname = 'tenant_wall' AND :role = ANY(p.roles)) FROM pg_class c "
                "WHERE c.relname = :t AND c.relnamespace = current_schema()::regnamespace"),
                {"t": table.name, "role": rm.READER_ROLE}).one()
            assert (secured, policies) == ((True, 1) if tenant else (False, 0)), table.name
            readable = conn.execute(text("SELECT has_table_privilege(:role, :t, 'SELECT')"),
                                    {"role": rm.READER_ROLE, "t": table.name}).scalar()
            assert readable, table.name


def test_on_sqlite_the_queries_filters_are_the_only_wall(world: World, stranger: World) -> None:
    """SQLite: read_as is a plain connection. Another trust's rows are reachable by a query that does not filter
    (so every query filters; the tests of each route check it), and the routes answer another trust with 404."""
    w = world
    w.application("alice")
    stranger.ready("alice", "bob")
    stranger.application("alice")
    with rm.read_as(w.c.engine, w.principal("admin")) as conn:
        trusts = set(conn.execute(select(rm.applications.c.trust_id).distinct()).scalars())
        count = conn.execute(select(func.count()).select_from(rm.applications)).scalar()
    if w.c.settings.is_sqlite:
        assert {w.trust_id, stranger.trust_id} <= trusts
    else:
        assert trusts == {w.trust_id} and count == 1
    assert w.get("admin", f"/api/v1/schools/{stranger.school}/applications").status_code == 404
