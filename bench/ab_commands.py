"""Paired A/B runs of the HTTP command rate: this checkout against another commit, alternated, on one machine.

A single bench run on a shared VM varies by ±20% from run to run, and the VM's speed drifts over an hour. Two
versions compared fairly must run side by side. This script checks the other commit out into a temporary git
worktree, then alternates the two for `--pairs` rounds. Each run has a fresh database, its own server started
from that version's code (`bench/foundation.py --serve`), and wrk with 8 connections for `--seconds`, submitting
applications. It prints JSON: each run's requests/s, p95 and CPU per request (web processes and PostgreSQL, from
/proc), and each side's mean. Needs wrk (`make wrk`) and git.

    .venv/bin/python bench/ab_commands.py --base 8387480 [--pairs 4] [--seconds 12] [--backend postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from foundation import (  # noqa: E402 - bench/ is not a package
    APPLICATION,
    WRK_SCRIPT,
    code_version,
    cpu_meter,
    log,
    start_server,
)

#: Run in a subprocess with the side's code first on the path: a fresh database, a school with two staff and a
#: token for one of them (the database's schema is that version's own).
SETUP = """
import json, sys, tempfile
from pathlib import Path
sys.path.insert(0, str(Path(sys.argv[1]) / "bench"))
from foundation import fresh_database, small_school
from api.container import Container
from infra.settings import Settings
url = fresh_database(sys.argv[2], Path(tempfile.mkdtemp(prefix="socialgov-ab-")))
c = Container(Settings(database_url=url, log_level="WARNING"))
school, staff = small_school(c, 2)
print(json.dumps({"url": url, "school": str(school), "staff": [str(s) for s in staff],
                  "token": c.tokens.issue(staff[0], auth_method="bench")}))
c.close()
"""


def run_once(tree: Path, backend: str, seconds: int) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    setup = subprocess.run([sys.executable, "-c", SETUP, str(tree), backend], cwd=tree, env=env,
                           capture_output=True, text=True, check=True)
    s = json.loads(setup.stdout.strip().splitlines()[-1])
    server, base = start_server(s["url"], tree, env)
    try:
        time.sleep(1)  # every web process listening
        body = json.dumps(APPLICATION | {"runner_ids": s["staff"]})
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
            f.write(WRK_SCRIPT % {"body": json.dumps(body), "auth": json.dumps(f"Bearer {s['token']}")})
        try:
            meter = cpu_meter(server.pid, backend)
            out = subprocess.run(["wrk", "-t", "2", "-c", "8", "-d", f"{seconds}s", "--timeout", "30s", "-s", f.name,
                                  f"{base}/api/v1/schools/{s['school']}/applications"],
                                 capture_output=True, text=True, check=True).stdout
        finally:
            os.unlink(f.name)
        w = json.loads(next(x for x in out.splitlines() if x.startswith("WRK "))[4:])
        return {"requests_per_s": round(w["requests"] / (w["micros"] / 1e6), 1),
                "failures": w["status_errors"] + w["socket_errors"], "p95_ms": round(w["p95_us"] / 1000, 2),
                "cpu": meter(w["requests"])}
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", required=True, help="the commit to compare this checkout with")
    ap.add_argument("--pairs", type=int, default=4)
    ap.add_argument("--seconds", type=int, default=12)
    ap.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="socialgov-ab-base-") as tmp:
        base_tree = Path(tmp) / "base"
        subprocess.run(["git", "worktree", "add", "--detach", str(base_tree), args.base], cwd=ROOT, check=True,
                       capture_output=True)
        try:
            sides = {"this": ROOT, "base": base_tree}
            runs: dict[str, list[dict[str, Any]]] = {"this": [], "base": []}
            for pair in range(args.pairs):
                order = ["base", "this"] if pair % 2 == 0 else ["this", "base"]  # alternate who goes first
                for side in order:
                    log(f"pair {pair + 1}/{args.pairs}: {side}")
                    runs[side].append(run_once(sides[side], args.backend, args.seconds))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base_tree)], cwd=ROOT, check=False,
                           capture_output=True)
    base_code = subprocess.run(["git", "rev-parse", "--short", args.base], cwd=ROOT, capture_output=True,
                               text=True).stdout.strip()

    def mean(side: str, key: str) -> float:
        return round(statistics.mean(r[key] for r in runs[side]), 1)

    print(json.dumps({
        "bench": "ab_commands", "backend": args.backend, "seconds": args.seconds, "pairs": args.pairs,
        "this": {"code": code_version(), "runs": runs["this"], "mean_requests_per_s": mean("this", "requests_per_s")},
        "base": {"code": {"commit": base_code}, "runs": runs["base"],
                 "mean_requests_per_s": mean("base", "requests_per_s")},
    }, indent=2))


if __name__ == "__main__":
    main()
