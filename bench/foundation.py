"""Foundation bench: HTTP command rate through the one write path, projection catch-up rate, and GraphQL
trustDashboard latency, per store. Prints one JSON document to stdout; progress goes to stderr.

    .venv/bin/python bench/foundation.py [--backend sqlite|postgres|both] [--schools 100] [--quick]

The server is `socialgov run` in a subprocess, as a user starts it (one web process on SQLite, uvicorn's workers on
PostgreSQL). Commands are application submits: each loads its two runners, then inserts and projects its event in
one transaction. Load comes from wrk (a Debian package `make bench` installs), else from Python clients.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any, NamedTuple
from uuid import UUID

import httpx
import psycopg

from api.container import Container
from api.demo import analyze, scale_admin_id, seed_scale
from domain.application import BusinessCase
from infra.settings import Settings
from services.directory import system_actor
from services.identity import principal_for_person

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = "socialgov_bench_foundation"  # its own database: other benches may run beside it
PG_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_DB}"
DASHBOARD = ("query { trustDashboard { schools pendingApplications trainingCoveragePct acknowledgementCoveragePct "
             "perSchool { schoolName pendingApplications oldestPendingHours trainingCoveragePct } } }")
APPLICATION = {"aim": "Share school news", "audience": "Parents and carers", "promotion": "Newsletter",
               "visibility": "open", "platform": "facebook", "proposed_handle": "BenchNews"}
#: The floors the issue names: concurrent clients and commands per second, per store.
CLIENTS = {"sqlite": 8, "postgres": 16}
FLOOR = {"sqlite": 150, "postgres": 300}


class Sizes(NamedTuple):
    schools: int
    seconds: int  # of HTTP command load
    dashboards: int


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def ms_percentiles(seconds: list[float]) -> dict[str, float]:
    s = sorted(seconds)

    def at(q: float) -> float:
        return round(s[min(len(s) - 1, round(q * (len(s) - 1)))] * 1000, 2) if s else 0.0

    return {"p50_ms": at(0.50), "p95_ms": at(0.95), "max_ms": at(1.0)}


def fresh_database(backend: str, tmp: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp / 'socialgov.db'}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {PG_DB}")
    return PG_URL


def start_server(url: str, tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`socialgov run` on a free port; returns the process and its base URL once /ready answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "SOCIALGOV_DATABASE_URL": url, "SOCIALGOV_LOG_LEVEL": "WARNING",
           "SOCIALGOV_STORAGE_DIR": str(tmp / "files")}
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "run", "--no-demo", "--host", "127.0.0.1", "--port",
                             str(port)], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/api/v1/ready", timeout=2).status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    proc.terminate()
    raise RuntimeError("server did not become ready within 90 s")


def small_school(c: Container, staff: int) -> tuple[UUID, list[UUID]]:
    """A trust with one school and `staff` staff members, built through the services (as tests do)."""
    tag = uuid.uuid4().hex[:8]
    _, admin_id = c.directory.register_trust(f"Bench Trust {tag}", "Bench Admin", f"admin-{tag}@bench.example",
                                             system_actor("bench"))
    admin = principal_for_person(c.engine, admin_id, "bench")
    assert admin is not None
    c.directory.publish_policy(admin, "v1", "bench policy")
    school = c.directory.add_school(admin, f"Bench School {tag}", "100001", "england")
    admin = c.refresh_principal(admin)
    people = [c.directory.add_staff(admin, school, f"Staff {i}", f"s{i}-{tag}@bench.example", ["staff"]).person_id
              for i in range(staff)]
    return school, people


WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = %(body)s
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = %(auth)s
done = function(summary, latency, requests)
  io.write(string.format('WRK {"requests": %%d, "micros": %%d, "status_errors": %%d, "socket_errors": %%d, '
    .. '"p50_us": %%d, "p95_us": %%d, "max_us": %%d}\\n', summary.requests, summary.duration,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout, latency:percentile(50), latency:percentile(95), latency.max))
end
"""


def command_rate(c: Container, base: str, clients: int, seconds: int) -> dict[str, Any]:
    """`clients` concurrent connections submitting applications for `seconds`."""
    school, staff = small_school(c, 2)
    token = c.tokens.issue(staff[0], auth_method="bench")
    body = APPLICATION | {"runner_ids": [str(staff[0]), str(staff[1])]}
    path = f"{base}/api/v1/schools/{school}/applications"
    if shutil.which("wrk"):
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
            f.write(WRK_SCRIPT % {"body": json.dumps(json.dumps(body)), "auth": json.dumps(f"Bearer {token}")})
        try:
            out = subprocess.run(["wrk", "-t", "2", "-c", str(clients), "-d", f"{seconds}s", "--timeout", "30s",
                                  "-s", f.name, path], capture_output=True, text=True, check=True).stdout
        finally:
            os.unlink(f.name)
        w = json.loads(next(x for x in out.splitlines() if x.startswith("WRK "))[4:])
        elapsed = w["micros"] / 1e6
        return {"load_generator": "wrk", "clients": clients, "requests": w["requests"],
                "failures": w["status_errors"] + w["socket_errors"], "seconds": round(elapsed, 2),
                "requests_per_s": round(w["requests"] / elapsed, 1), "p50_ms": round(w["p50_us"] / 1000, 2),
                "p95_ms": round(w["p95_us"] / 1000, 2), "max_ms": round(w["max_us"] / 1000, 2)}
    latencies: list[float] = []
    failures: list[str] = []
    stop = time.monotonic() + seconds

    def client() -> None:
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
            while time.monotonic() < stop:
                t = time.perf_counter()
                r = http.post(path, json=body)
                latencies.append(time.perf_counter() - t)
                if r.status_code != 201:
                    failures.append(f"{r.status_code} {r.text[:200]}")

    threads = [threading.Thread(target=client) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    return {"load_generator": "httpx", "clients": clients, "requests": len(latencies), "failures": len(failures),
            "seconds": round(elapsed, 2), "requests_per_s": round(len(latencies) / elapsed, 1),
            **ms_percentiles(latencies)}


def catch_up_rate(c: Container, schools: int) -> dict[str, Any]:
    """Bulk-seeds the scale trust (stored, not projected), then times the projections catching up."""
    t0 = time.perf_counter()
    seeded = seed_scale(c, schools, progress=lambda _: None)
    seed_s = time.perf_counter() - t0
    analyze(c)  # planner statistics for the bulk-loaded rows, as autovacuum would in time (it is off on this machine)
    log(f"seeded {seeded['events']} events in {seed_s:.1f} s; catching up the projections")
    t0 = time.perf_counter()
    advanced = c.projections.catch_up()
    elapsed = time.perf_counter() - t0
    assert c.projections.position() == c.recorder.max_notification_id()
    analyze(c)  # and for the read model's new rows, before the dashboards are timed
    return {"seeded_events": seeded["events"], "seed_seconds": round(seed_s, 2), "events": advanced,
            "seconds": round(elapsed, 2), "events_per_s": round(advanced / elapsed, 1)}


def dashboard_latency(c: Container, base: str, n: int) -> dict[str, Any]:
    """n sequential trustDashboard queries at the scale trust (after 5 untimed), then n/2 more each right after a
    command elsewhere (so the dashboard cache, which holds only while the read model stands still, never answers)."""
    admin = scale_admin_id(c)
    assert admin is not None
    headers = {"Authorization": f"Bearer {c.tokens.issue(admin, auth_method='bench')}"}
    failures, schools = 0, 0

    def query(http: httpx.Client) -> float:
        nonlocal failures, schools
        t = time.perf_counter()
        r = http.post("/graphql", json={"query": DASHBOARD})
        took = time.perf_counter() - t
        ok = r.status_code == 200 and not r.json().get("errors")
        failures += 0 if ok else 1
        schools = r.json()["data"]["trustDashboard"]["schools"] if ok else schools
        return took

    school, staff = small_school(c, 2)
    applicant = principal_for_person(c.engine, staff[0], "bench")
    assert applicant is not None
    case = BusinessCase("Aim", "Audience", "Promotion", (staff[0], staff[1]), "open", "facebook", "Cold")
    with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
        cached = [query(http) for _ in range(n + 5)][5:]
        after_write = []
        for _ in range(n // 2):
            c.applications.submit(applicant, school, case)
            after_write.append(query(http))
    return {"requests": len(cached) + len(after_write), "failures": failures, "schools": schools,
            **ms_percentiles(cached), "after_each_write": ms_percentiles(after_write)}


def run_backend(backend: str, sizes: Sizes, commands_only: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="socialgov-bench-") as tmp:
        url = fresh_database(backend, Path(tmp))
        c = Container(Settings(database_url=url, log_level="WARNING", storage_dir=str(Path(tmp) / "files")))
        proc = None
        try:
            proc, base = start_server(url, Path(tmp))
            clients = CLIENTS[backend]
            log(f"{backend}: HTTP commands for {sizes.seconds} s with {clients} clients")
            result: dict[str, Any] = {"http_commands": command_rate(c, base, clients, sizes.seconds),
                                      "web_processes": Settings(database_url=url).workers}
            log(f"{backend}: {json.dumps(result)}")
            if not commands_only:
                log(f"{backend}: seed_scale({sizes.schools}) and catch-up")
                result["projection_catch_up"] = catch_up_rate(c, sizes.schools)
                log(f"{backend}: trustDashboard x{sizes.dashboards}")
                result["graphql_trust_dashboard"] = dashboard_latency(c, base, sizes.dashboards)
                result["total_events"] = int(c.recorder.max_notification_id() or 0)
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=60)
            c.close()
    return result


def targets(results: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    checks: list[tuple[str, float, str, float]] = []
    for b, r in results.items():
        http = r["http_commands"]
        checks += [(f"{b}.http_commands_per_s", http["requests_per_s"], ">=", FLOOR[b]),
                   (f"{b}.http_commands_p95_ms", http["p95_ms"], "<=", 100),
                   (f"{b}.http_command_failures", http["failures"], "<=", 0)]
        if "graphql_trust_dashboard" in r:
            dash = r["graphql_trust_dashboard"]
            checks.append((f"{b}.trust_dashboard_p95_ms", max(dash["p95_ms"], dash["after_each_write"]["p95_ms"]),
                           "<=", 50))
            if b == "postgres":
                checks.append((f"{b}.projection_catch_up_events_per_s", r["projection_catch_up"]["events_per_s"],
                               ">=", 5000))
    return {name: {"value": v, "target": f"{op} {limit:g}", "pass": v >= limit if op == ">=" else v <= limit}
            for name, v, op, limit in checks}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--schools", type=int, default=None, help="schools in the scale trust (default 100; quick 2)")
    ap.add_argument("--quick", action="store_true", help="a smoke run: 2 schools, 3 s of commands")
    ap.add_argument("--commands-only", action="store_true", help="only the HTTP command phase")
    args = ap.parse_args()
    sizes = Sizes(args.schools or 2, 3, 20) if args.quick else Sizes(args.schools or 100, 20, 200)
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    started = time.perf_counter()
    results = {b: run_backend(b, sizes, args.commands_only) for b in backends}
    checks = targets(results)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    doc = {"bench": "foundation", "quick": args.quick, "commands_only": args.commands_only,
           "schools": sizes.schools, "commit": commit.stdout.strip(),
           "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
           "backends": results, "targets": checks, "all_targets_pass": all(t["pass"] for t in checks.values()),
           "seconds": round(time.perf_counter() - started, 1)}
    print(json.dumps(doc, indent=2))


if __name__ == "__main__":
    main()
