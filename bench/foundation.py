"""Foundation bench: raw event-store append rate, REST command rate over real HTTP, projection catch-up rate
and GraphQL trustDashboard latency, per backend. Prints one JSON document to stdout; progress goes to stderr.

    .venv/bin/python bench/foundation.py [--backend sqlite|postgres|both] [--schools 100] [--clients 8] [--quick]
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
from api.demo import scale_admin_id, seed_scale
from api.sqlite_writer import COMM as WRITER_COMM
from domain.application import BusinessCase
from domain.events import Actor, ActorKind
from domain.trust import Trust
from infra.settings import Settings
from services.directory import system_actor
from services.identity import principal_for_person
from services.ids import new_id

ROOT = Path(__file__).resolve().parent.parent

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/socialgov_bench"
DASHBOARD = ("query { trustDashboard { schools pendingApplications trainingCoveragePct acknowledgementCoveragePct "
             "perSchool { schoolName pendingApplications oldestPendingHours trainingCoveragePct } } }")
APPLICATION = {"aim": "Share school news", "audience": "Parents and carers", "promotion": "Newsletter",
               "visibility": "open", "platform": "facebook", "proposed_handle": "BenchNews"}


class Sizes(NamedTuple):
    schools: int
    clients: int
    appends: int  # raw single-event appends
    commands: int  # HTTP submit-application requests, over all clients
    dashboards: int  # sequential trustDashboard queries (twice: before and after ANALYZE)


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def ms_percentiles(seconds: list[float]) -> dict[str, float]:
    s = sorted(seconds)

    def at(q: float) -> float:
        return round(s[min(len(s) - 1, round(q * (len(s) - 1)))] * 1000, 2) if s else 0.0

    return {"p50_ms": at(0.50), "p95_ms": at(0.95), "max_ms": at(1.0)}


def fresh_database(backend: str, tmp: Path, name: str = "socialgov_bench") -> str:
    """An empty store: an SQLite file under tmp, or the PostgreSQL database `name`, dropped and created again
    (each bench script has its own name, so two running at once do not drop each other's)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp / 'socialgov.db'}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return PG_URL.rsplit("/", 1)[0] + "/" + name


def code_version() -> dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    return {"commit": git("rev-parse", "--short", "HEAD"), "uncommitted_changes": bool(git("status", "--porcelain"))}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(url: str, port: int) -> None:
    """The server process: the real app on uvicorn, as `socialgov run` serves it (one web process on SQLite, one
    per CPU up to 4 on PostgreSQL, unless SOCIALGOV_WEB_WORKERS says otherwise)."""
    from api.app import create_app
    from api.cli import serve as serve_app

    os.environ.update({"SOCIALGOV_DATABASE_URL": url, "SOCIALGOV_LOG_LEVEL": "WARNING"})
    settings = Settings.from_env()
    serve_app(create_app(container=Container(settings)) if settings.workers <= 1 else None, settings,
              "127.0.0.1", port)


def start_server(url: str, tree: Path = ROOT, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """Starts the server of the checkout at `tree` (this one by default; bench/ab_commands.py passes another) and
    waits until it answers /ready; returns the process and its base URL."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(tree / "bench" / "foundation.py"), "--serve", url, "--port",
                             str(port)], cwd=tree, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/api/v1/ready", timeout=2).status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("server did not become ready within 60 s")


def raw_append_rate(c: Container, n: int) -> dict[str, Any]:
    """One event per transaction through eventsourcing Application.save (no projection)."""
    actor = Actor(ActorKind.SYSTEM, None, "bench", None, "cli")
    now = c.clock.now()
    t0 = time.perf_counter()
    for i in range(n):
        trust = Trust.register(new_id(), f"Raw append {i}", actor, now)  # ids as the product makes them
        c.applications.save(*trust.collect_events())
    elapsed = time.perf_counter() - t0
    c.projector.catch_up()  # untimed: later phases should not pay for these events
    c.chain.catch_up()
    return {"events": n, "seconds": round(elapsed, 3), "events_per_s": round(n / elapsed, 1)}


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


def http_command_rate(c: Container, base: str, clients: int, total: int) -> dict[str, Any]:
    school, staff = small_school(c, max(clients, 2))
    per_client = [total // clients + (1 if k < total % clients else 0) for k in range(clients)]
    latencies: list[list[float]] = [[] for _ in range(clients)]
    failures: list[list[str]] = [[] for _ in range(clients)]
    warmup_failures: list[int] = []
    barrier = threading.Barrier(clients + 1, timeout=300)

    def client(k: int) -> None:
        me, other = staff[k % len(staff)], staff[(k + 1) % len(staff)]
        headers = {"Authorization": f"Bearer {c.tokens.issue(me, auth_method='bench')}"}
        body = APPLICATION | {"runner_ids": [str(me), str(other)]}
        path = f"/api/v1/schools/{school}/applications"
        with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
            if http.post(path, json=body).status_code != 201:  # warm-up, untimed
                warmup_failures.append(k)
            barrier.wait()
            for _ in range(per_client[k]):
                t = time.perf_counter()
                r = http.post(path, json=body)
                latencies[k].append(time.perf_counter() - t)
                if r.status_code != 201:
                    failures[k].append(f"{r.status_code} {r.text[:200]}")

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    lat, fails = [x for xs in latencies for x in xs], [f for fs in failures for f in fs]
    if fails:
        log(f"{len(fails)} failed commands, first: {fails[0]}")
    return {"requests": len(lat), "clients": clients, "failures": len(fails),
            "warmup_failures": len(warmup_failures), "seconds": round(elapsed, 3),
            "requests_per_s": round(len(lat) / elapsed, 1), **ms_percentiles(lat)}


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


def _process_tree(root: int) -> set[int]:
    """root and its descendants (the web processes under `socialgov run`'s supervisor), from /proc."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parents[int(entry)] = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    tree = {root}
    grew = True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    return tree


def _stat_ticks(path: str) -> tuple[int, int]:
    """(user + system, system) clock ticks from a /proc stat file; (0, 0) if the process or thread is gone."""
    try:
        fields = Path(path).read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0, 0
    return int(fields[11]) + int(fields[12]), int(fields[12])


def _cpu_seconds(pids: set[int]) -> tuple[float, float]:
    """(user + system, system) CPU seconds of these processes so far, from /proc."""
    ticks = [_stat_ticks(f"/proc/{pid}/stat") for pid in pids]
    tick = os.sysconf("SC_CLK_TCK")
    return sum(t for t, _ in ticks) / tick, sum(s for _, s in ticks) / tick


def _main_thread_seconds(pids: set[int]) -> float:
    """User + system CPU seconds of these processes' main threads (the thread whose id is the process's, where
    uvicorn runs the event loop: HTTP parsing, routing, responses), from /proc. The rest of a web process's CPU is
    its other threads': the request handlers' (commands, SQLite) and the driver's."""
    return sum(_stat_ticks(f"/proc/{pid}/task/{pid}/stat")[0] for pid in pids) / os.sysconf("SC_CLK_TCK")


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _postgres_pids() -> set[int]:
    return {int(entry) for entry in os.listdir("/proc") if entry.isdigit() and _comm(int(entry)).startswith("postgres")}


def _idle_and_total_ticks() -> tuple[int, int]:
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return values[3] + values[4], sum(values)


def cpu_meter(server_pid: int, backend: str) -> Any:
    """Starts counting CPU; the returned function stops and gives CPU milliseconds per request of the web
    processes (and of their kernel time; and split between their event-loop threads and their other threads), of
    PostgreSQL's processes when the backend is PostgreSQL, how many cores the web processes kept busy on average,
    and the machine's idle share over the run. One web process that keeps about one core busy while the machine
    has idle time is bound by Python's GIL. Linux only (/proc); None elsewhere."""
    if not Path("/proc/stat").exists():
        return lambda requests: None
    tree = _process_tree(server_pid)
    writer = {pid for pid in tree if _comm(pid) == WRITER_COMM}  # SQLite's writer process (decision 0041)
    web = tree - writer
    pg = _postgres_pids() if backend == "postgres" else set()
    (web0, web_sys0), (pg0, _), (idle0, all0) = _cpu_seconds(web), _cpu_seconds(pg), _idle_and_total_ticks()
    loop0, (writer0, _), t0 = _main_thread_seconds(web), _cpu_seconds(writer), time.monotonic()

    def stop(requests: int) -> dict[str, Any]:
        (web1, web_sys1), (pg1, _), (idle1, all1) = _cpu_seconds(web), _cpu_seconds(pg), _idle_and_total_ticks()
        loop1, (writer1, _), elapsed = _main_thread_seconds(web), _cpu_seconds(writer), time.monotonic() - t0
        per = 1000 / max(requests, 1)
        return {"web_processes_ms_per_request": round((web1 - web0) * per, 2),
                "web_processes_kernel_ms_per_request": round((web_sys1 - web_sys0) * per, 2),
                "web_event_loop_threads_ms_per_request": round((loop1 - loop0) * per, 2),
                "web_other_threads_ms_per_request": round((web1 - web0 - (loop1 - loop0)) * per, 2),
                "web_processes_cores": round((web1 - web0) / max(elapsed, 1e-9), 2),
                "sqlite_writer_ms_per_request": round((writer1 - writer0) * per, 2) if writer else None,
                "sqlite_writer_cores": round((writer1 - writer0) / max(elapsed, 1e-9), 2) if writer else None,
                "postgres_ms_per_request": round((pg1 - pg0) * per, 2) if pg else None,
                "machine_idle_share": round((idle1 - idle0) / max(all1 - all0, 1), 3)}

    return stop


def http_command_rate_wrk(c: Container, base: str, clients: int, seconds: int,
                          server_pid: int | None = None, backend: str = "sqlite") -> dict[str, Any]:
    """The same command driven by wrk (C, two threads), so that the load generator does not take the CPU the
    server needs on a small machine: `clients` connections for `seconds`, each request a new application. With
    the server's pid, also the CPU it and PostgreSQL spent per request (`cpu`)."""
    school, staff = small_school(c, 2)
    token = c.tokens.issue(staff[0], auth_method="bench")
    body = json.dumps(APPLICATION | {"runner_ids": [str(staff[0]), str(staff[1])]})
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(WRK_SCRIPT % {"body": json.dumps(body), "auth": json.dumps(f"Bearer {token}")})
    try:
        meter = cpu_meter(server_pid, backend) if server_pid is not None else None
        out = subprocess.run(["wrk", "-t", "2", "-c", str(clients), "-d", f"{seconds}s", "--timeout", "30s", "-s",
                              f.name, f"{base}/api/v1/schools/{school}/applications"],
                             capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(f.name)
    line = next(x for x in out.splitlines() if x.startswith("WRK "))
    w = json.loads(line[4:])
    failures = w["status_errors"] + w["socket_errors"]
    result = {"load_generator": "wrk", "requests": w["requests"], "clients": clients, "failures": failures,
              "seconds": round(w["micros"] / 1e6, 3), "requests_per_s": round(w["requests"] / (w["micros"] / 1e6), 1),
              "p50_ms": round(w["p50_us"] / 1000, 2), "p95_ms": round(w["p95_us"] / 1000, 2),
              "max_ms": round(w["max_us"] / 1000, 2)}
    if meter is not None:
        result["cpu"] = meter(w["requests"])
    return result


def catch_up_rate(c: Container, schools: int) -> dict[str, Any]:
    """Bulk-seeds the scale trust (not projected), then times the read-model projection and the audit chain
    catching up from where they were."""
    start = c.projector.position()
    t0 = time.perf_counter()
    seeded = seed_scale(c, schools, progress=lambda _: None)
    seed_s = time.perf_counter() - t0
    log(f"seeded {seeded['events']} events in {seed_s:.1f} s; catching up the projections")
    out: dict[str, Any] = {"seeded_events": seeded["events"], "seed_seconds": round(seed_s, 2)}
    for name, projector in (("read_model", c.projector), ("audit_chain", c.chain)):
        t0 = time.perf_counter()
        advanced = projector.catch_up()
        elapsed = time.perf_counter() - t0
        out[name] = {"events": advanced, "seconds": round(elapsed, 3), "events_per_s": round(advanced / elapsed, 1)}
    assert c.projector.position() >= start + seeded["events"]
    return out


def dashboard_latency(c: Container, base: str, n: int) -> dict[str, Any]:
    """n sequential trustDashboard queries (after 5 untimed) as the app leaves the database, then n more after
    ANALYZE (the local PostgreSQL runs without autovacuum, so fresh read-model tables have no statistics)."""
    admin = scale_admin_id(c)
    assert admin is not None
    headers = {"Authorization": f"Bearer {c.tokens.issue(admin, auth_method='bench')}"}
    failures, schools = 0, 0

    def run(http: httpx.Client) -> list[float]:
        nonlocal failures, schools
        lat: list[float] = []
        for _ in range(n + 5):
            t = time.perf_counter()
            r = http.post("/graphql", json={"query": DASHBOARD})
            lat.append(time.perf_counter() - t)
            ok = r.status_code == 200 and not r.json().get("errors")
            failures += 0 if ok else 1
            schools = r.json()["data"]["trustDashboard"]["schools"] if ok else schools
        return lat[5:]

    def cold(http: httpx.Client) -> list[float]:
        """Each query right after a command elsewhere (an application submitted at another trust's school,
        untimed), as on a busy service: the dashboard cache, which holds only while the read model stands
        still, never answers."""
        nonlocal failures
        lat: list[float] = []
        school, staff = small_school(c, 2)
        applicant = principal_for_person(c.engine, staff[0], "bench")
        assert applicant is not None
        case = BusinessCase(APPLICATION["aim"], APPLICATION["audience"], APPLICATION["promotion"],
                            (staff[0], staff[1]), "open", "facebook", "Cold")
        for _ in range(n // 2):
            c.applications.submit(applicant, school, case)
            t = time.perf_counter()
            r = http.post("/graphql", json={"query": DASHBOARD})
            lat.append(time.perf_counter() - t)
            failures += 0 if r.status_code == 200 and not r.json().get("errors") else 1
        return lat

    with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
        lat = run(http)
        with c.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
        analysed = run(http)
        uncached = cold(http)
    return {"requests": len(lat), "failures": failures, "schools": schools, **ms_percentiles(lat),
            "after_analyze": ms_percentiles(analysed), "after_each_write": ms_percentiles(uncached)}


def run_backend(backend: str, sizes: Sizes, commands_only: bool = False) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="socialgov-bench-") as tmp:
        url = fresh_database(backend, Path(tmp))
        c = Container(Settings(database_url=url, log_level="WARNING"))
        proc: subprocess.Popen[bytes] | None = None
        try:
            log(f"{backend}: raw append x{sizes.appends}")
            raw = raw_append_rate(c, sizes.appends)
            proc, base = start_server(url)
            if shutil.which("wrk"):
                seconds = 5 if sizes.commands < 1000 else 20
                log(f"{backend}: HTTP commands for {seconds} s with {sizes.clients} wrk connections on {base}")
                http = http_command_rate_wrk(c, base, sizes.clients, seconds, proc.pid, backend)
            else:
                log(f"{backend}: HTTP commands x{sizes.commands} with {sizes.clients} httpx clients on {base} "
                    "(install wrk for a load generator that leaves the server its CPU)")
                http = http_command_rate(c, base, sizes.clients, sizes.commands) | {"load_generator": "httpx"}
            http["ratio_to_raw_append"] = round(http["requests_per_s"] / raw["events_per_s"], 3)
            http["web_processes"] = Settings.from_env({**os.environ, "SOCIALGOV_DATABASE_URL": url}).workers
            if commands_only:
                return {"raw_append_rate": raw, "http_command_rate": http}
            log(f"{backend}: seed_scale({sizes.schools})")
            catch = catch_up_rate(c, sizes.schools)
            log(f"{backend}: trustDashboard x{sizes.dashboards}")
            dash = dashboard_latency(c, base, sizes.dashboards)
            total = int(c.recorder.max_notification_id() or 0)
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=30)
            c.close()
    return {"raw_append_rate": raw, "http_command_rate": http, "projection_catch_up": catch,
            "graphql_trust_dashboard": dash, "total_events": total}


def targets(results: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    checks = []
    for b, r in results.items():
        if "graphql_trust_dashboard" not in r:  # --commands-only
            checks += [(f"{b}.http_command_ratio", r["http_command_rate"]["ratio_to_raw_append"], ">=", 0.5)]
            continue
        checks += [(f"{b}.http_command_ratio", r["http_command_rate"]["ratio_to_raw_append"], ">=", 0.5),
                   (f"{b}.http_command_failures", r["http_command_rate"]["failures"], "<=", 0),
                   (f"{b}.trust_dashboard_p95_ms", max(r["graphql_trust_dashboard"]["p95_ms"],
                                                       r["graphql_trust_dashboard"]["after_each_write"]["p95_ms"]),
                    "<=", 50)]
        if b == "postgres":
            checks.append((f"{b}.projection_catch_up_events_per_s",
                           r["projection_catch_up"]["read_model"]["events_per_s"], ">=", 5000))
    return {name: {"value": v, "target": f"{op} {limit:g}", "pass": v >= limit if op == ">=" else v <= limit}
            for name, v, op, limit in checks}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--schools", type=int, default=None, help="schools in the scale trust (default 100; quick 5)")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--quick", action="store_true", help="a smoke run: 5 schools and fewer requests")
    ap.add_argument("--commands-only", action="store_true",
                    help="only the raw append and HTTP command phases (no 200,000-event seed)")
    ap.add_argument("--commands", type=int, default=None, help="HTTP commands over all clients (default 1500)")
    ap.add_argument("--serve", metavar="URL", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return
    sizes = (Sizes(args.schools or 5, args.clients, 300, 100, 40) if args.quick
             else Sizes(args.schools or 100, args.clients, 2000, 1500, 200))
    if args.commands:
        sizes = sizes._replace(commands=args.commands)
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    started, code = time.perf_counter(), code_version()
    results = {b: run_backend(b, sizes, args.commands_only) for b in backends}
    checks = targets(results)
    machine = {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()}
    doc = {"bench": "foundation", "quick": args.quick, "commands_only": args.commands_only,
           "schools": sizes.schools, "clients": sizes.clients,
           "code": code, "machine": machine,
           "backends": results, "targets": checks, "all_targets_pass": all(t["pass"] for t in checks.values()),
           "seconds": round(time.perf_counter() - started, 1)}
    print(json.dumps(doc, indent=2))


if __name__ == "__main__":
    main()
