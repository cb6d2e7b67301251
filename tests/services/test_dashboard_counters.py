"""Per-school application counts kept by the projection (rm_school_application_counts): they follow
submissions and decisions, the dashboards read them, and migration 0008 fills them for an existing read model
exactly as the projection would have (docs/decisions/0024-dashboard-counters.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, func, select

import migrations
from api.container import Container
from domain.application import BusinessCase
from infra.clock import SettableClock
from infra.settings import Settings
from services import queries
from services import readmodel as rm
from tests.conftest import T0, World, build_world
from tests.databases import fresh_postgres


def counts(engine: Engine, school_id: Any = None) -> dict[tuple[str, str], int]:
    t = rm.school_application_counts
    query = select(t.c.school_id, t.c.status, t.c.n)
    if school_id is not None:
        query = query.where(t.c.school_id == school_id)
    with engine.connect() as conn:
        return {(str(s), st): n for s, st, n in conn.execute(query)}


def counted_from_applications(engine: Engine) -> dict[tuple[str, str], int]:
    t = rm.applications
    with engine.connect() as conn:
        return {(str(s), st): n for s, st, n in conn.execute(
            select(t.c.school_id, t.c.status, func.count()).group_by(t.c.school_id, t.c.status))}


def test_counts_follow_submissions_and_decisions_and_feed_the_dashboards(world: World) -> None:
    w = world
    w.ready("alice", "bob")
    apps = [w.application("carol") for _ in range(4)]
    assert counts(w.c.engine, w.school) == {(str(w.school), "submitted"): 4}
    assert w.post("head", f"/api/v1/applications/{apps[0]}/approve").status_code == 200
    assert w.post("head", f"/api/v1/applications/{apps[1]}/reject", {"reason": "not now"}).status_code == 200
    assert w.post("carol", f"/api/v1/applications/{apps[2]}/withdraw", {"reason": "changed"}).status_code == 200
    assert counts(w.c.engine, w.school) == {(str(w.school), "submitted"): 1, (str(w.school), "approved"): 1,
                                            (str(w.school), "rejected"): 1, (str(w.school), "withdrawn"): 1}
    board = queries.school_dashboard(w.c.engine, w.principal("head"), w.school, w.c.clock.now(), w.c.today())
    assert (board["pending_applications"], board["approved_applications"], board["rejected_applications"],
            board["withdrawn_applications"]) == (1, 1, 1, 1)
    assert board["oldest_pending_hours"] is not None
    trust = queries.trust_dashboard(w.c.engine, w.principal("admin"), w.c.clock.now(), w.c.today())
    mine = next(s for s in trust["per_school"] if s["school_id"] == w.school)
    assert mine["pending_applications"] == 1 and trust["pending_applications"] >= 1


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_migration_0008_fills_the_counts_as_the_projection_keeps_them(store: str, tmp_path: Path) -> None:
    """A read model built by the projection, its counts table dropped (downgrade to 0007) and filled again by the
    migration (upgrade): the same rows, zeros included."""
    url = f"sqlite:///{tmp_path / 'counts.db'}" if store == "sqlite" else fresh_postgres("counts0008")
    c = Container(Settings(database_url=url, db_pool_size=2), clock=SettableClock(T0))
    try:
        w = build_world(c, None)  # type: ignore[arg-type]  # services only: no HTTP client needed
        principal = w.principal("carol")
        case = BusinessCase("News", "Parents", "Newsletter", (w.people["alice"], w.people["bob"]), "open",
                            "facebook", "News")
        ids = [c.applications.submit(principal, w.school, case) for _ in range(3)]
        c.applications.reject(w.principal("head"), ids[0], "no")
        other = [c.applications.submit(w.principal("other_staff"), w.other_school,
                                       BusinessCase("News", "Parents", "Newsletter",
                                                    (w.people["other_staff"], w.people["other_head"]), "open",
                                                    "x", "Other")) for _ in range(2)]
        c.applications.withdraw(w.principal("other_staff"), other[0], None)
        c.applications.withdraw(w.principal("other_staff"), other[1], None)  # no pending left: a 0 row stays
        kept = counts(c.engine)
        assert kept[(str(w.other_school), "submitted")] == 0
        assert {k: v for k, v in kept.items() if v} == counted_from_applications(c.engine)

        cfg = Config()
        cfg.set_main_option("script_location", str(Path(migrations.__file__).resolve().parent))
        with c.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0007")
        with c.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        assert counts(c.engine) == kept
    finally:
        c.close()


def school_board(w: World) -> dict[str, Any]:
    return queries.school_dashboard(w.c.engine, w.principal("head"), w.school, w.c.clock.now(), w.c.today())


def test_coverage_figures_are_reused_until_people_training_or_acknowledgements_change(world: World) -> None:
    w = world

    def coverage_mark() -> int:
        return rm.read_model_position(w.c.engine, rm.COVERAGE_CHANGED)

    def board() -> dict[str, Any]:
        return school_board(w)

    w.ready("alice", "bob")
    before, mark = board(), coverage_mark()
    w.application("carol")  # an application changes no person, role, training record or acknowledgement
    assert coverage_mark() == mark
    assert board()["pending_applications"] == before["pending_applications"] + 1
    w.train("carol")
    assert coverage_mark() > mark
    after = board()
    assert after["trained_people"] == before["trained_people"] + 1
    assert after["training_coverage_pct"] > before["training_coverage_pct"]
    w.acknowledge("carol")
    assert board()["acknowledged_people"] == after["acknowledged_people"] + 1


def test_account_incident_and_inbox_figures_are_reused_until_a_table_they_read_changes(world: World) -> None:
    w = world

    def figures_mark() -> int:
        return rm.read_model_position(w.c.engine, rm.FIGURES_CHANGED)

    w.ready("alice", "bob")
    before, mark = school_board(w), figures_mark()
    w.application("carol")  # applications and the audit trail are not among the tables those figures read
    assert figures_mark() == mark
    assert school_board(w)["pending_applications"] == before["pending_applications"] + 1
    w.account()  # an approved application turned into an account: the accounts tables change
    assert figures_mark() > mark
    assert school_board(w)["active_accounts"] == before["active_accounts"] + 1


def test_the_figures_mark_covers_every_table_those_figures_read(world: World) -> None:
    """The cached account, incident and inbox figures would go stale if they read a table whose changes do not
    move their mark: every table named in their statements must be in FIGURES_TABLES."""
    from sqlalchemy import event
    from sqlalchemy.sql.util import find_tables

    seen: set[str] = set()

    def record(conn: Any, clause: Any, *args: Any) -> None:
        seen.update(t.name for t in find_tables(clause, check_columns=True, include_aliases=True,
                                                include_joins=True, include_selects=True, include_crud=True)
                    if hasattr(t, "name") and t.name.startswith("rm_"))

    w = world
    w.account()
    event.listen(w.c.engine, "before_execute", record)
    try:
        queries._other_figures(w.c.engine, w.trust_id, [w.school, w.other_school], w.c.today(), w.c.clock.now())
    finally:
        event.remove(w.c.engine, "before_execute", record)
    assert {"rm_accounts", "rm_incidents", "rm_interactions", "rm_training_records"} <= seen  # subqueries too
    assert seen <= rm.FIGURES_TABLES, seen - rm.FIGURES_TABLES
