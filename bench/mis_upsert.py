"""MIS bench: one PUT of 10,000 pupils (bulk upsert of the image-consent register) over real HTTP, then the
same call again (unchanged: idempotent). Target: under 5 s. Prints JSON; progress on stderr.

    .venv/bin/python bench/mis_upsert.py [--backend sqlite|postgres|both] [--pupils 10000]
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import tempfile
import threading
import time
from typing import Any

import httpx
import psycopg
import uvicorn

from api.app import create_app
from api.container import Container
from infra.settings import Settings
from services.directory import system_actor
from services.identity import principal_for_person

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def log(msg: str) -> None:
    print(f"[mis-bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def database(backend: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tempfile.mkdtemp(prefix='socialgov-mis-')}/socialgov.db"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS socialgov_mis_bench WITH (FORCE)")
        conn.execute("CREATE DATABASE socialgov_mis_bench")
    return "postgresql+psycopg://postgres@127.0.0.1:5432/socialgov_mis_bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def measure(backend: str, pupils: int) -> dict[str, Any]:
    c = Container(Settings(database_url=database(backend), log_level="WARNING", storage_dir=tempfile.mkdtemp()))
    _, admin_id = c.directory.register_trust("MIS Bench Trust", "Admin", "admin@mis.example",
                                                    system_actor("bench"))
    admin = principal_for_person(c.engine, admin_id, "bench")
    assert admin is not None
    school = c.directory.add_school(admin, "Bench School", "123456", "england")
    admin = c.refresh_principal(admin)
    client_id, secret = c.integrations.register(admin, "MIS", ["pupils:write"])
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(container=c), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    body = {"pupils": [{"pupil_ref": f"UPN{n:06d}", "name": f"Pupil {n}", "year_group": f"Y{n % 7 + 1}",
                        "image_consent": {"school_accounts": n % 3 != 0, "website": n % 2 == 0, "press": False},
                        "no_publish": n % 3 == 0 and n % 2 != 0} for n in range(pupils)]}
    out: dict[str, Any] = {"pupils": pupils}
    with httpx.Client(base_url=base, timeout=120) as http:
        tok = http.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": str(client_id),
                                              "client_secret": secret}).json()["access_token"]
        for label in ("first_call", "repeat_call"):
            t = time.perf_counter()
            r = http.put(f"/api/v1/schools/{school}/pupils", json=body, headers={"Authorization": f"Bearer {tok}"})
            seconds = time.perf_counter() - t
            result = r.json()
            out[label] = {"status": r.status_code, "seconds": round(seconds, 3), "created": result.get("created"),
                          "unchanged": result.get("unchanged"), "rejected": result.get("rejected")}
            log(f"{backend} {label}: {seconds:.2f}s {out[label]}")
    server.should_exit = True
    thread.join(timeout=10)
    c.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--pupils", type=int, default=10_000)
    args = parser.parse_args()
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    out: dict[str, Any] = {"bench": "mis_upsert", "backends": {b: measure(b, args.pupils) for b in backends}}
    out["targets"] = {f"{b}.first_call_under_5s": r["first_call"]["status"] == 200 and r["first_call"]["seconds"] < 5
                      for b, r in out["backends"].items()}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
