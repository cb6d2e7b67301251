"""Abuse bench (issue 21): `socialgov run` in a subprocess, on its own SQLite file, receives a 24 MB GraphQL document
(announced, then chunked), a 1,000-deep JSON body (to a REST route and as GraphQL variables), 1,000 aliases of
`interactions`, and 300 connections that trickle their headers and never end them; meanwhile `/api/v1/health` is
polled. Prints JSON: the worst health latency (target < 1 s), the web process's RSS before and after (target:
within 20 % of the start), what each attack got, and how long the slow connections stayed open.

    .venv/bin/python bench/abuse.py [--quick] [--tree PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
MB = 1_000_000


def log(msg: str) -> None:
    print(f"[abuse {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("no VmRSS")


def start(tree: Path, tmp: str, header_timeout: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "SOCIALGOV_DATABASE_URL": f"sqlite:///{tmp}/socialgov.db", "SOCIALGOV_STORAGE_DIR": tmp,
           "SOCIALGOV_LOG_LEVEL": "WARNING", "SOCIALGOV_HEADER_TIMEOUT_SECONDS": str(header_timeout)}
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "run", "--no-demo", "--port", str(port)], cwd=tree,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
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
    raise RuntimeError("server did not become ready within 180 s")


class HealthPoller(threading.Thread):
    """GETs /api/v1/health every 20 ms on one kept-alive connection and keeps each answer's latency."""

    def __init__(self, base: str) -> None:
        super().__init__(daemon=True)
        self.base, self.latencies, self.failures, self.stop = base, [], 0, threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=30) as client:
            while not self.stop.is_set():
                started = time.perf_counter()
                try:
                    ok = client.get("/api/v1/health").status_code == 200
                except httpx.HTTPError:
                    ok = False
                self.latencies.append(time.perf_counter() - started)
                self.failures += not ok
                time.sleep(0.02)


def post(base: str, path: str, content: bytes | Iterator[bytes], content_type: str = "application/json") -> Any:
    """The status, or the transport error if the server closed the connection before the client finished sending
    (which it may do once it has answered 413)."""
    started = time.perf_counter()
    try:
        r = httpx.post(base + path, content=content, headers={"content-type": content_type}, timeout=120)
    except httpx.HTTPError as e:
        return {"answer": type(e).__name__, "seconds": round(time.perf_counter() - started, 3)}
    said = r.json()
    detail = said.get("detail") or "; ".join(e["message"] for e in said.get("errors", []))[:120]
    return {"answer": r.status_code, "detail": detail, "seconds": round(time.perf_counter() - started, 3)}


def chunked(data: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start:start + size]


def slow_headers(host: str, port: int, n: int, give_up_s: float) -> dict[str, Any]:
    """Opens n connections that send a request line and then one header line a second, never the blank line
    that ends the headers; reports how many the server closed and when."""
    started = time.monotonic()
    conns = []
    for _ in range(n):
        c = socket.create_connection((host, port))
        c.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: bench\r\n")
        c.setblocking(False)
        conns.append(c)
    closed_at: dict[int, float] = {}
    while len(closed_at) < n and time.monotonic() - started < give_up_s:
        time.sleep(1)
        for i, c in enumerate(conns):
            if i in closed_at:
                continue
            try:
                if c.recv(1024) == b"":
                    closed_at[i] = time.monotonic() - started
                    continue
            except BlockingIOError:
                pass
            except OSError:
                closed_at[i] = time.monotonic() - started
                continue
            try:
                c.sendall(b"X-Trickle: 1\r\n")
            except OSError:
                closed_at[i] = time.monotonic() - started
    for c in conns:
        c.close()
    return {"connections": n, "closed_by_server": len(closed_at),
            "last_closed_after_s": round(max(closed_at.values()), 1) if closed_at else None,
            "still_open_after_s": None if len(closed_at) == n else round(time.monotonic() - started, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller attacks and a 2 s header timeout (a smoke run)")
    parser.add_argument("--tree", type=Path, default=ROOT,
                        help="serve this checkout instead (e.g. `git archive` of an older commit, for a comparison)")
    args = parser.parse_args()
    document_mb, slow, header_timeout = (3, 30, 2) if args.quick else (24, 300, 10)
    with tempfile.TemporaryDirectory(prefix="socialgov-abuse-") as tmp:
        proc, base = start(args.tree, tmp, header_timeout)
        try:
            host, port = "127.0.0.1", int(base.rsplit(":", 1)[1])
            with httpx.Client(base_url=base) as warm:  # the paths the attacks take, before the first figure
                for _ in range(20):
                    warm.get("/api/v1/health")
                    warm.post("/graphql", json={"query": "{ __typename }"})
                    warm.post("/api/v1/schools", json={"name": "x"})
            time.sleep(1)
            document = json.dumps({"query": "{" + " __typename" * (document_mb * MB // 11) + "}"}).encode()
            deep = b'{"name": ' + b"[" * 1000 + b"]" * 1000 + b"}"
            deep_variables = b'{"query": "{ __typename }", "variables": {"v": ' + b"[" * 1000 + b"]" * 1000 + b"}}"
            aliases = json.dumps({"query": "{" + " ".join(
                f'a{n}: interactions(schoolId: "00000000-0000-0000-0000-000000000000") {{ id }}'
                for n in range(1000)) + "}"}).encode()
            rss_before = rss_mb(proc.pid)
            poller = HealthPoller(base)
            poller.start()
            time.sleep(1)
            results: dict[str, Any] = {}

            def attack(name: str, fn: Any, *fn_args: Any) -> threading.Thread:
                def run() -> None:
                    log(f"{name}: sending")
                    results[name] = fn(*fn_args)
                    log(f"{name}: {results[name]}")
                thread = threading.Thread(target=run, daemon=True)
                thread.start()
                return thread

            threads = [
                attack("slow_headers", slow_headers, host, port, slow, header_timeout * 4),
                attack("graphql_document_announced", post, base, "/graphql", document),
                attack("graphql_document_chunked", post, base, "/graphql", chunked(document)),
                attack("deep_json_rest", post, base, "/api/v1/schools", deep),
                attack("deep_json_graphql_variables", post, base, "/graphql", deep_variables),
                attack("graphql_1000_aliases", post, base, "/graphql", aliases),
            ]
            for thread in threads:
                thread.join()
            time.sleep(2)
            poller.stop.set()
            poller.join()
            time.sleep(2)
            rss_after = rss_mb(proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
    worst = max(poller.latencies)
    doc = {
        "graphql_document_mb": round(len(document) / MB, 1),
        "attacks": results,
        "health": {"requests": len(poller.latencies), "failures": poller.failures,
                   "worst_latency_ms": round(worst * 1000, 1),
                   "p50_latency_ms": round(sorted(poller.latencies)[len(poller.latencies) // 2] * 1000, 1)},
        "web_process_rss_mb": {"before": rss_before, "after": rss_after,
                               "after_over_before": round(rss_after / rss_before, 3)},
        "targets": {"worst_health_latency_ms": {"value": round(worst * 1000, 1), "max": 1000,
                                                "met": worst < 1 and poller.failures == 0},
                    "rss_after_over_before": {"value": round(rss_after / rss_before, 3), "max": 1.2,
                                              "met": rss_after <= 1.2 * rss_before},
                    "slow_headers_all_closed": {"value": results["slow_headers"]["closed_by_server"],
                                                "met": results["slow_headers"]["closed_by_server"] == slow}},
    }
    print(json.dumps(doc, indent=2))


if __name__ == "__main__":
    main()
