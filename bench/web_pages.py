"""Web pages bench: the server time of each web page (GET) and the weight of a page's first load, on PostgreSQL
with the bench-scale trust (`socialgov demo --scale 500`: 500 schools, about 1,000,000 events) beside the story demo
trust (whose accounts, incidents, handovers and inbox the scale trust has none of). Prints one JSON document and
writes it to docs/bench/web_pages.json; progress goes to stderr.

    .venv/bin/python bench/web_pages.py [--scale 500] [--requests 30] [--database URL]

Without --database it seeds a fresh database (socialgov_web_pages): the demo trust, then `seed_scale(N)` and the
projections' catch-up, as `socialgov demo` and `socialgov demo --scale N` do (on a loaded 2-core machine the
catch-up of 1,000,000 events takes half an hour), then ANALYZE. With --database it measures a database seeded that
way before (after an ANALYZE: decision 0091).

The server is `socialgov run` in a subprocess (uvicorn's workers on PostgreSQL). Each page is requested by one
Python client over a kept-alive connection, one request at a time, signed in with the persona picker's cookie: the
first request (cold: empty caches) is reported on its own, then 2 untimed and `--requests` timed. A page's time is
the server's own, from the Server-Timing header the app sends (request in to answer out); the client's time on the
loopback is reported beside it ("client").
Targets: p95 <= 100 ms per page; first load of a page, with every stylesheet, script, font and image it references,
<= 150 KB compressed (gzip -6 here: the app serves uncompressed, a proxy in front compresses).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urljoin
from uuid import UUID

import httpx
import psycopg
from foundation import PG_ADMIN, log, ms_percentiles, start_server
from sqlalchemy import func, select

from api.container import Container
from api.demo import DEMO_TRUST, analyze, demo_exists, scale_admin_id, seed_demo, seed_scale
from api.oidc import DEV_COOKIE
from infra.settings import Settings
from services import readmodel as rm

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "socialgov_web_pages"
OUT = ROOT / "docs" / "bench" / "web_pages.json"
P95_MS = 100
FIRST_LOAD_KB = 150
ASSET = re.compile(r'<(?:link[^>]+href|script[^>]+src|img[^>]+src)="(/[^"]+)"')
CSS_URL = re.compile(r"url\(['\"]?(/[^)'\"]+)")
JS_IMPORT = re.compile(r"""(?:import|from)\s*["'](\.{0,2}/[^"']+)["']""")


def seed(url: str, schools: int) -> None:
    c = Container(Settings(database_url=url, log_level="WARNING"))
    try:
        if not demo_exists(c):
            log("seeding the demo trust")
            seed_demo(c)
        t0 = time.perf_counter()
        result = seed_scale(c, schools, progress=lambda _: None)
        log(f"seeded {result['events']} events for {schools} schools in {time.perf_counter() - t0:.0f} s; "
            "catching up the projections")
        t0 = time.perf_counter()
        c.projections.catch_up()
        log(f"caught up in {time.perf_counter() - t0:.0f} s")
        analyze(c)
    finally:
        c.close()


def fresh_database(schools: int) -> str:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DATABASE}")
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{DATABASE}"
    seed(url, schools)
    return url


def person(conn: Any, trust_id: UUID, **where: str) -> UUID:
    p = rm.people
    query = select(p.c.id).where(p.c.trust_id == trust_id, *(p.c[k] == v for k, v in where.items()))
    found = conn.execute(query).scalar()
    assert found is not None, where
    return UUID(str(found))


def pages(c: Container) -> tuple[dict[str, Any], list[tuple[str, str, str]]]:
    """The scale trust's first school and the demo's Oakfield: who signs in, and (name, persona, path) per page."""
    admin = scale_admin_id(c)
    assert admin is not None, "no scale trust: seed one (socialgov demo --scale N) or leave out --database"
    a, i, h, s = rm.applications, rm.incidents, rm.handovers, rm.schools
    with c.engine.connect() as conn:
        scale_trust = conn.execute(select(rm.people.c.trust_id).where(rm.people.c.id == admin)).scalar()
        demo_trust = conn.execute(select(rm.trusts.c.id).where(rm.trusts.c.name == DEMO_TRUST)).scalar()
        assert demo_trust is not None, "the demo trust is missing: run `socialgov demo` on the database too"
        school = conn.execute(select(s.c.id).where(s.c.trust_id == scale_trust, s.c.name == "School 0000")).scalar()
        schools = conn.execute(select(func.count()).select_from(s).where(s.c.trust_id == scale_trust)).scalar()
        who = {"scale_admin": admin, "scale_slt": person(conn, scale_trust, display_name="Person 0-0"),
               "scale_moderator": person(conn, scale_trust, display_name="Person 0-2"),
               "scale_staff": person(conn, scale_trust, display_name="Person 0-5"),
               "priya": person(conn, demo_trust, email="priya.shah@oakfield.example"),
               "tom": person(conn, demo_trust, email="tom.baker@oakfield.example"),
               "owen": person(conn, demo_trust, email="owen.price@oakfield.example")}
        application = conn.execute(select(a.c.id).where(a.c.school_id == school, a.c.status == "submitted")
                                   .order_by(a.c.submitted_at).limit(1)).scalar()
        pending = conn.execute(select(func.count()).select_from(a)
                               .where(a.c.school_id == school, a.c.status == "submitted")).scalar()
        incident = conn.execute(select(i.c.id).where(i.c.trust_id == demo_trust, i.c.crime_reference.is_not(None))
                                .limit(1)).scalar()
        account = conn.execute(select(rm.accounts.c.id).where(rm.accounts.c.trust_id == demo_trust).limit(1)).scalar()
        handover = conn.execute(select(h.c.id).where(h.c.trust_id == demo_trust).limit(1)).scalar()
    info = {"scale_schools": schools, "pending_applications_at_the_school": pending,
            "events": int(c.recorder.max_notification_id() or 0)}
    return info, [
        ("home: trust admin (500 schools)", "scale_admin", "/"),
        ("home: SLT", "scale_slt", "/"),
        ("home: moderator", "scale_moderator", "/"),
        ("home: staff", "scale_staff", "/"),
        ("applications queue (SLT)", "scale_slt", "/applications"),
        ("an application (SLT)", "scale_slt", f"/applications/{application}"),
        ("my applications (staff)", "scale_staff", "/applications/mine"),
        ("apply: first question (staff)", "scale_staff", "/applications/new"),
        ("my compliance (staff)", "scale_staff", "/my/compliance"),
        ("a person's compliance (SLT)", "scale_slt", f"/people/{who['scale_staff']}/compliance"),
        ("report an incident (staff)", "scale_staff", "/incidents/new"),
        ("dashboard (SLT)", "scale_slt", "/dashboard"),
        ("home: SLT, demo Oakfield", "priya", "/"),
        ("home: moderator, demo Oakfield", "tom", "/"),
        ("home: staff, demo Oakfield", "owen", "/"),
        ("dashboard (SLT, demo Oakfield: a month of messages)", "priya", "/dashboard"),
        ("incidents queue (SLT, demo)", "priya", "/incidents"),
        ("an incident (SLT, demo)", "priya", f"/incidents/{incident}"),
        ("accounts list (moderator, demo)", "tom", "/accounts"),
        ("an account (moderator, demo)", "tom", f"/accounts/{account}"),
        ("create an account (moderator, demo)", "tom", "/accounts/new"),
        ("handovers (moderator, demo)", "tom", "/handovers"),
        ("a handover (moderator, demo)", "tom", f"/handovers/{handover}"),
    ], who


def measure(base: str, cookie: str, path: str, n: int) -> dict[str, Any]:
    with httpx.Client(base_url=base, cookies={DEV_COOKIE: cookie}, timeout=60) as http:
        t = time.perf_counter()
        first = http.get(path)
        cold = time.perf_counter() - t
        statuses = {first.status_code}
        times, server = [], []
        for k in range(n + 2):
            t = time.perf_counter()
            r = http.get(path)
            took = time.perf_counter() - t
            statuses.add(r.status_code)
            if k >= 2:
                times.append(took)
                server.append(server_seconds(r))
    return {"path": path, "status": sorted(statuses), "bytes": len(first.content),
            "cold_server_ms": round(server_seconds(first) * 1000, 1), "cold_client_ms": round(cold * 1000, 1),
            **ms_percentiles(server), "client": ms_percentiles(times)}


def server_seconds(r: httpx.Response) -> float:
    """The app's own time to the answer, from its Server-Timing header (api/middleware.py)."""
    found = re.search(r"app;dur=([0-9.]+)", r.headers.get("server-timing", ""))
    assert found, f"no Server-Timing on {r.request.url}"
    return float(found.group(1)) / 1000


def first_load(base: str, cookie: str, path: str) -> dict[str, Any]:
    """The page and everything it references (stylesheets, scripts, and what the CSS loads), compressed."""
    with httpx.Client(base_url=base, cookies={DEV_COOKIE: cookie}, timeout=60,
                      headers={"Accept-Encoding": "identity"}) as http:
        html = http.get(path).content
        sizes = {path: len(gzip.compress(html, 6))}
        todo = ASSET.findall(html.decode())
        while todo:
            url = todo.pop()
            if url in sizes:
                continue
            body = http.get(url).content
            sizes[url] = len(gzip.compress(body, 6))
            if url.endswith(".css"):
                todo += CSS_URL.findall(body.decode())
            if url.endswith(".js"):  # an ES module's imports load too
                todo += [urljoin(url, m) for m in JS_IMPORT.findall(body.decode())]
    return {"path": path, "files": len(sizes), "kb_compressed": round(sum(sizes.values()) / 1024, 1),
            "per_file_kb": {k: round(v / 1024, 1) for k, v in sizes.items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=int, default=500, help="schools in the scale trust when seeding (default 500)")
    ap.add_argument("--requests", type=int, default=30, help="timed requests per page (default 30)")
    ap.add_argument("--database", help="a PostgreSQL URL already seeded with `socialgov demo` and `--scale N`")
    args = ap.parse_args()
    started = time.perf_counter()
    url = args.database or fresh_database(args.scale)
    c = Container(Settings(database_url=url, log_level="WARNING"))
    analyze(c)  # as `socialgov demo --scale` does after its bulk load (autovacuum may be off, as it is here)
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="socialgov-bench-") as tmp:
        proc, base = start_server(url, Path(tmp))
        try:
            info, plan, who = pages(c)
            cookies = {k: c.tokens.issue(v, auth_method="dev") for k, v in who.items()}
            results = {}
            for name, persona, path in plan:
                log(f"{name}: {path}")
                results[name] = {"persona": persona, **measure(base, cookies[persona], path, args.requests)}
            weights = {name: first_load(base, cookies[persona], path) for name, persona, path in plan}
        finally:
            proc.terminate()
            proc.wait(timeout=60)
            c.close()
    checks = {f"{name}.p95_ms": {"value": r["p95_ms"], "target": f"<= {P95_MS}",
                                 "pass": r["p95_ms"] <= P95_MS and r["status"] == [200]} for name, r in results.items()}
    checks |= {f"{name}.first_load_kb": {"value": w["kb_compressed"], "target": f"<= {FIRST_LOAD_KB}",
                                         "pass": w["kb_compressed"] <= FIRST_LOAD_KB} for name, w in weights.items()}
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    doc = {"bench": "web_pages", "backend": "postgres", "commit": commit.stdout.strip(), **info,
           "requests_per_page": args.requests, "web_processes": Settings(database_url=url).workers,
           "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                       "load_average_at_start": [round(x, 2) for x in load]},
           "pages": results, "first_load": weights, "targets": checks,
           "all_targets_pass": all(t["pass"] for t in checks.values()),
           "seconds": round(time.perf_counter() - started, 1)}
    text = json.dumps(doc, indent=2)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    sys.exit(main())
