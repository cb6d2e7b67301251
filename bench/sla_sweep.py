"""SLA sweep bench: the breach sweep over 100,000 open interactions — seconds per sweep and SQL statements
issued, which must not grow with the number of interactions (one set-based candidate query, then work only
for what is actually breached). Prints one JSON document; progress on stderr.

    .venv/bin/python bench/sla_sweep.py [--backend sqlite|postgres|both] [--interactions 100000] [--breached 500]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import event

from api.container import Container
from domain.events import Actor
from domain.interaction import Interaction
from infra.clock import SettableClock
from infra.settings import Settings

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def log(msg: str) -> None:
    print(f"[sla-bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def database(backend: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tempfile.mkdtemp(prefix='socialgov-sla-')}/socialgov.db"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS socialgov_sla_bench WITH (FORCE)")
        conn.execute("CREATE DATABASE socialgov_sla_bench")
    return "postgresql+psycopg://postgres@127.0.0.1:5432/socialgov_sla_bench"


def seed(c: Container, open_interactions: int, breached: int) -> None:
    """One trust, school and account id; interactions received over the last day, `breached` of them overdue."""
    actor = Actor.system("sla bench")
    trust, school, account = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    batch: list[Any] = []
    for n in range(open_interactions):
        overdue = n < breached
        received = NOW - timedelta(hours=30 if overdue else 1 + (n % 20))
        i = Interaction.receive(uuid.uuid4(), trust, school, account, "comment", received,
                                received + timedelta(hours=24), f"@user{n}", "a comment", None, None, NOW, actor)
        batch.extend(i.collect_events())
        if len(batch) >= 5000:
            c.inbox.save(*batch)
            batch = []
    if batch:
        c.inbox.save(*batch)
    t = time.perf_counter()
    c.projections.catch_up()
    log(f"seeded {open_interactions} interactions, projected in {time.perf_counter() - t:.1f}s")


def measure(backend: str, interactions: int, breached: int) -> dict[str, Any]:
    url = database(backend)
    clock = SettableClock(NOW)
    c = Container(Settings(database_url=url, log_level="WARNING", storage_dir=tempfile.mkdtemp()), clock=clock)
    seed(c, interactions, breached)  # stored in bulk and projected once; the sweep's commands project as they write
    statements: list[str] = []
    for engine in {c.engine, c.event_table.engine}:  # one engine on PostgreSQL: listen once
        event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    runs = []
    for label in ("first sweep (records breaches)", "second sweep (nothing new)"):
        statements.clear()
        t = time.perf_counter()
        result = c.inbox.sweep_breaches()
        seconds = time.perf_counter() - t
        candidate_queries = sum(1 for s in statements if "FROM rm_interactions" in s and "due_at <" in s)
        runs.append({"sweep": label, "seconds": round(seconds, 3), "breaches_recorded": result.breaches,
                     "read_model_statements": len(statements), "candidate_queries": candidate_queries})
        log(f"{backend}: {label}: {seconds:.3f}s, {result.breaches} breaches, {len(statements)} statements")
    c.close()
    return {"open_interactions": interactions, "breached": breached, "runs": runs}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--interactions", type=int, default=100_000)
    parser.add_argument("--breached", type=int, default=500)
    args = parser.parse_args()
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    out = {"bench": "sla_sweep", "backends": {b: measure(b, args.interactions, args.breached) for b in backends}}
    second = [r for b in out["backends"].values() for r in b["runs"][1:]]
    out["targets"] = {"candidate_selection_is_one_query": all(r["candidate_queries"] == 1 for r in second),
                      "idle_sweep_statements": max(r["read_model_statements"] for r in second)}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
