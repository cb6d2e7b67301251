"""What one command costs the web process, counted rather than timed: the VM's timings swing by ±20% from run to
run, but instruction counts (valgrind's callgrind) and system calls (strace) repeat.

One iteration is what a submit-application request does past the HTTP layer, on one thread: verify the bearer
token, take the cached principal (since decision 0033 provisionally, with no query, its change mark confirmed by
the commit; before, after a query for the mark), submit (runners, event insert, read-your-writes projection) and
the response (built from the event since decision 0029; before, read back). Each tool runs the loop twice (20
and 60 iterations), and the difference divided by 40 is the cost of one iteration, without start-up. Prints JSON.
Needs valgrind and strace (Debian packages); without them it prints the CPU time per iteration only.

    python bench/command_cost.py [--backend postgres|sqlite]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

WARM, FEW, MANY = 5, 20, 60


def loop(backend: str, n: int) -> tuple[float, int]:
    """Runs the iteration n times after a warm-up; returns CPU seconds per iteration and how many applications
    the school then has."""
    from foundation import APPLICATION, fresh_database, small_school

    from api.container import Container
    from domain.application import BusinessCase
    from infra.settings import Settings
    from services import queries
    from services.identity import PRINCIPALS, principal_for_person
    from services.provisional import PENDING, Pending

    with tempfile.TemporaryDirectory(prefix="socialgov-cost-") as tmp:
        url = fresh_database(backend, Path(tmp), "socialgov_bench_cost")
        c = Container(Settings(database_url=url, log_level="WARNING"))
        try:
            school, staff = small_school(c, 2)
            case = BusinessCase(APPLICATION["aim"], APPLICATION["audience"], APPLICATION["promotion"],
                                (staff[0], staff[1]), "open", "facebook", "Cost")
            token = c.tokens.issue(staff[0], auth_method="bench")

            def one() -> None:
                claims = c.tokens.verify(token)
                key = ("person", claims.subject, "bench")
                principal = PRINCIPALS.provisional(c.engine, key, None) or PRINCIPALS.get(
                    c.engine, key, lambda: principal_for_person(c.engine, staff[0], "bench"), None)
                assert principal is not None and principal.directory_mark is not None
                pending = PENDING.set(Pending(principal.directory_mark) if principal.provisional else None)
                try:
                    queries.submitted_application(c.applications.submit_event(principal, school, case))
                finally:
                    PENDING.reset(pending)

            for _ in range(WARM):
                one()
            t0 = time.process_time()
            for _ in range(n):
                one()
            cpu = (time.process_time() - t0) / max(n, 1)
            admin = principal_for_person(c.engine, staff[0], "bench")
            assert admin is not None
            return cpu, len(queries.list_applications(c.engine, admin, school, None, 100, None).items)
        finally:
            c.close()


def under(tool: Callable[[Path], list[str]], backend: str) -> list[str]:
    """Runs the loop of FEW, then of MANY iterations, under a counting tool that writes to the path it is given;
    returns what the tool wrote each time."""
    outputs = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in (FEW, MANY):
            out = Path(tmp) / f"count-{n}.txt"
            subprocess.run([*tool(out), sys.executable, __file__, "--backend", backend, "--loop", str(n)],
                           cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
            outputs.append(out.read_text())
    return outputs


def instructions(backend: str) -> float | None:
    if not shutil.which("valgrind"):
        return None
    totals = []
    for log in under(lambda out: ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}.cg",
                                  f"--log-file={out}"], backend):
        found = re.search(r"Collected : (\d+)", log)
        assert found is not None, log[-500:]
        totals.append(int(found.group(1)))
    return (totals[1] - totals[0]) / (MANY - FEW)


def syscalls(backend: str) -> dict[str, float] | None:
    if not shutil.which("strace"):
        return None
    counts = []
    for text in under(lambda out: ["strace", "-f", "-c", "-o", str(out)], backend):
        table: dict[str, int] = {}
        for line in text.splitlines():
            m = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)$", line)
            if m and m.group(2) != "total":
                table[m.group(2)] = int(m.group(1))
        counts.append(table)
    per = {k: (counts[1].get(k, 0) - counts[0].get(k, 0)) / (MANY - FEW) for k in counts[1]}
    top = dict(sorted(((k, round(v, 1)) for k, v in per.items() if v >= 0.5), key=lambda kv: -kv[1]))
    # futex calls come from threads waking each other (the pools' workers), and their count swings from run to
    # run of the same code (2.5 to 51 per command seen), so a total without them is the figure to compare.
    return {"total": round(sum(per.values()), 1),
            "total_without_futex": round(sum(v for k, v in per.items() if k != "futex"), 1), **top}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    ap.add_argument("--loop", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.loop is not None:
        cpu, applications = loop(args.backend, args.loop)
        print(json.dumps({"iterations": args.loop, "applications": applications,
                          "cpu_ms_per_command": round(1000 * cpu, 3)}))
        return
    from foundation import code_version

    result = {"bench": "command_cost", "backend": args.backend, "code": code_version(),
              "cpu_ms_per_command": round(1000 * loop(args.backend, 200)[0], 3)}
    ins = instructions(args.backend)
    result["instructions_per_command"] = None if ins is None else round(ins)
    result["syscalls_per_command"] = syscalls(args.backend)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
