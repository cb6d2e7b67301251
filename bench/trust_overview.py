"""Trust overview bench: the web page /trust (the per-school table, red flags first, and the trend charts) for the
trust's admin at a scale trust, on PostgreSQL. Prints one JSON document to stdout; progress goes to stderr.

    .venv/bin/python bench/trust_overview.py [--scale 500] [--requests 200] [--backend postgres|sqlite]

The scale trust is `socialgov demo --scale N`'s (api/demo.py seed_scale: about 2,000 events per school, so 500
schools is about 1,000,000 events), stored in bulk, then projected. The server is `socialgov run` in a subprocess,
as a user starts it; the admin signs in with the development cookie. Each timing is one GET's round trip on the
loopback; what is timed is the server's own time, from the Server-Timing header every answer carries. Three series:

- `cached`: the page reloaded while nothing changes (the dashboard figures and trends come from their caches);
- `after_each_write`: each GET right after a command elsewhere in the database (every cache misses);
- `sorted_filtered_paged`: sort by overdue replies, schools with red flags only, page 3, after a write each time.

Target (issue 23): p95 <= 150 ms at 500 schools / 1,000,000 events on PostgreSQL, server time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
from foundation import PG_ADMIN, log, ms_percentiles, small_school, start_server

from api.container import Container
from api.demo import scale_admin_id, seed_scale
from api.oidc import DEV_COOKIE
from domain.application import BusinessCase
from infra.settings import Settings
from services.identity import principal_for_person

ROOT = Path(__file__).resolve().parent.parent
TARGET_P95_MS = 150
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/socialgov_bench_trust"  # its own: other benches drop theirs


def fresh_database(backend: str, tmp: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp / 'socialgov.db'}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS socialgov_bench_trust WITH (FORCE)")
        conn.execute("CREATE DATABASE socialgov_bench_trust")
    return PG_URL


def timed_get(http: httpx.Client, path: str) -> float:
    """The server's own time for the page, in seconds, from its Server-Timing header (api/middleware.py)."""
    r = http.get(path)
    if r.status_code != 200 or "Trust overview" not in r.text:
        raise RuntimeError(f"GET {path} answered {r.status_code}")
    found = re.search(r"app;dur=([0-9.]+)", r.headers.get("server-timing", ""))
    assert found, f"no Server-Timing on {path}"
    return float(found.group(1)) / 1000


def run(backend: str, scale: int, requests: int, reuse: bool, database: str | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="socialgov-bench-") as tmp:
        url = database or (PG_URL if reuse and backend == "postgres" else fresh_database(backend, Path(tmp)))
        reuse = reuse or database is not None
        c = Container(Settings(database_url=url, log_level="WARNING", storage_dir=str(Path(tmp) / "files")))
        proc = None
        seed_s = project_s = None
        try:
            if reuse and scale_admin_id(c) is not None:
                log(f"{backend}: reusing the scale trust already in {url}")
                c.projections.catch_up()
            else:
                log(f"{backend}: seed_scale({scale})")
                t0 = time.perf_counter()
                seeded = seed_scale(c, scale, progress=None)
                seed_s = round(time.perf_counter() - t0, 1)
                log(f"seeded {seeded['events']} events in {seed_s:.0f} s; projecting")
                t0 = time.perf_counter()
                c.projections.catch_up()
                project_s = round(time.perf_counter() - t0, 1)
                log(f"projected in {project_s:.0f} s; starting the server")
            proc, base = start_server(url, Path(tmp))
            admin = scale_admin_id(c)
            assert admin is not None
            school, staff = small_school(c, 2)  # writes elsewhere: each one invalidates the caches
            applicant = principal_for_person(c.engine, staff[0], "bench")
            assert applicant is not None
            case = BusinessCase("Aim", "Audience", "Promotion", (staff[0], staff[1]), "open", "facebook", "Cold")
            cookies = {DEV_COOKIE: c.tokens.issue(admin, auth_method="dev")}
            with httpx.Client(base_url=base, cookies=cookies, timeout=120) as http:
                first = timed_get(http, "/trust")
                cached = [timed_get(http, "/trust") for _ in range(requests + 5)][5:]
                after_write, filtered = [], []
                for _ in range(requests // 2):
                    c.applications.submit(applicant, school, case)
                    after_write.append(timed_get(http, "/trust"))
                for _ in range(requests // 4):
                    c.applications.submit(applicant, school, case)
                    filtered.append(timed_get(http, "/trust?sort=overdue_replies&dir=desc&show=all&page=3"))
            events = int(c.recorder.max_notification_id() or 0)
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=60)
            c.close()
    worst = max(ms_percentiles(x)["p95_ms"] for x in (cached, after_write, filtered))
    return {"schools": scale, "events": events, "reused_database": seed_s is None, "seed_seconds": seed_s,
            "projection_seconds": project_s, "first_request_ms": round(first * 1000, 1),
            "cached": {"requests": len(cached), **ms_percentiles(cached)},
            "after_each_write": {"requests": len(after_write), **ms_percentiles(after_write)},
            "sorted_filtered_paged": {"requests": len(filtered), **ms_percentiles(filtered)},
            "worst_p95_ms": worst}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    ap.add_argument("--scale", type=int, default=500, help="schools in the scale trust (500: about 1,000,000 events)")
    ap.add_argument("--requests", type=int, default=200, help="timed GETs of the cached page (half and a quarter "
                                                               "as many after a write)")
    ap.add_argument("--reuse", action="store_true", help="PostgreSQL: keep the database of the last run and its scale "
                                                         "trust (no seeding) if it has one")
    ap.add_argument("--database", help="a database URL already seeded with `socialgov demo --scale N` (e.g. the "
                                       "web pages bench's)")
    args = ap.parse_args()
    started = time.perf_counter()
    result = run(args.backend, args.scale, args.requests, args.reuse, args.database)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    doc = {"bench": "trust_overview", "backend": args.backend, "commit": commit.stdout.strip(),
           "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "load_1m_at_end": load},
           **result,
           "target": {"p95_ms": f"<= {TARGET_P95_MS}", "at": "500 schools / 1,000,000 events on PostgreSQL",
                      "pass": result["worst_p95_ms"] <= TARGET_P95_MS, "full_scale": args.scale >= 500},
           "seconds": round(time.perf_counter() - started, 1)}
    print(json.dumps(doc, indent=2))


if __name__ == "__main__":
    main()
