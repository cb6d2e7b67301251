"""The foundation bench keeps working: a short run (real server, real HTTP) prints the JSON document that
docs/benchmarks.md quotes, with every command answered 201 and every figure the issue names present."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT


def test_foundation_bench_quick_run_prints_its_figures() -> None:
    out = subprocess.run([sys.executable, "bench/foundation.py", "--quick", "--backend", "sqlite"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    doc = json.loads(out.stdout)
    sqlite = doc["backends"]["sqlite"]
    http = sqlite["http_commands"]
    assert http["failures"] == 0 and http["requests"] > 0 and http["clients"] == 8
    assert 0 < http["p50_ms"] <= http["p95_ms"]
    dash = sqlite["graphql_trust_dashboard"]
    assert dash["failures"] == 0 and dash["schools"] == 2
    assert 0 < dash["after_each_write"]["p50_ms"] <= dash["after_each_write"]["p95_ms"]
    assert sqlite["projection_catch_up"]["events_per_s"] > 0
    assert set(doc["targets"]) == {"sqlite.http_commands_per_s", "sqlite.http_commands_p95_ms",
                                   "sqlite.http_command_failures", "sqlite.trust_dashboard_p95_ms"}


def test_abuse_bench_quick_run_meets_its_targets() -> None:
    """bench/abuse.py against the real server: the big and deep bodies are refused, the slow connections closed,
    /health stays quick and the process keeps its size."""
    out = subprocess.run([sys.executable, "bench/abuse.py", "--quick"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    doc = json.loads(out.stdout)
    attacks = doc["attacks"]
    assert attacks["graphql_document_announced"]["answer"] == 413 and attacks["deep_json_rest"]["answer"] == 400
    assert attacks["deep_json_graphql_variables"]["answer"] == 400
    assert attacks["graphql_document_chunked"]["answer"] in (413, "WriteError", "RemoteProtocolError")
    assert all(target["met"] for target in doc["targets"].values()), doc["targets"]


def test_post_checks_bench_quick_run_prints_its_figures() -> None:
    """bench/post_checks.py with a few runs: the JSON document with the p95 the issue names."""
    out = subprocess.run([sys.executable, "bench/post_checks.py", "--runs", "20"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    doc = json.loads(out.stdout)
    assert doc["register_pupils"] == 2000 and doc["tagged_pupils"] == 10 and doc["findings"] > 0
    assert 0 < doc["check_ms"]["p50"] <= doc["check_ms"]["p95"] <= doc["check_ms"]["max"]
