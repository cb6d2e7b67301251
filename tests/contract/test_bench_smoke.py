"""The foundation bench keeps working: a short run of its append and command phases (real server, real HTTP)
prints the JSON document that docs/benchmarks.md quotes, with every command answered 201."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def test_foundation_bench_commands_only_prints_its_figures() -> None:
    out = subprocess.run([sys.executable, "bench/foundation.py", "--quick", "--commands-only", "--backend", "sqlite"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    doc = json.loads(out.stdout)
    sqlite = doc["backends"]["sqlite"]
    assert sqlite["raw_append_rate"]["events_per_s"] > 0
    http = sqlite["http_command_rate"]
    assert http["failures"] == 0 and http["requests"] > 0 and http["requests_per_s"] > 0
    assert http["load_generator"] in {"wrk", "httpx"}
    assert http["ratio_to_raw_append"] == round(http["requests_per_s"] / sqlite["raw_append_rate"]["events_per_s"], 3)
    assert set(doc["targets"]) == {"sqlite.http_command_ratio"}
    if http["load_generator"] == "wrk":  # the server's CPU per request, from /proc
        cpu = http["cpu"]
        assert 0 < cpu["web_processes_kernel_ms_per_request"] < cpu["web_processes_ms_per_request"]
        split = cpu["web_event_loop_threads_ms_per_request"] + cpu["web_other_threads_ms_per_request"]
        # The loop does nearly all of it: commands on the loop hand their batches to SQLite's writer process
        # themselves (decision 0042), so other threads may round to nothing.
        assert cpu["web_event_loop_threads_ms_per_request"] > 0 and cpu["web_other_threads_ms_per_request"] >= 0
        assert cpu["sqlite_writer_ms_per_request"] > 0  # the writer process is metered on its own
        assert abs(split - cpu["web_processes_ms_per_request"]) <= 0.02  # the two parts make the whole
        assert 0 < cpu["web_processes_cores"] <= (os.cpu_count() or 1)
        assert cpu["postgres_ms_per_request"] is None and 0 <= cpu["machine_idle_share"] <= 1


def test_foundation_bench_full_quick_run_times_dashboards_cached_and_after_each_command() -> None:
    out = subprocess.run([sys.executable, "bench/foundation.py", "--quick", "--schools", "2", "--backend", "sqlite"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    doc = json.loads(out.stdout)
    sqlite = doc["backends"]["sqlite"]
    dash = sqlite["graphql_trust_dashboard"]
    assert dash["failures"] == 0 and dash["schools"] == 2
    assert 0 < dash["p50_ms"] <= dash["p95_ms"]
    assert 0 < dash["after_each_write"]["p50_ms"] <= dash["after_each_write"]["p95_ms"]
    assert doc["targets"]["sqlite.trust_dashboard_p95_ms"]["value"] == max(dash["p95_ms"],
                                                                          dash["after_each_write"]["p95_ms"])
    assert sqlite["projection_catch_up"]["read_model"]["events_per_s"] > 0



@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_command_cost_loop_runs_the_command_path(store: str) -> None:
    """bench/command_cost.py's loop (what valgrind and strace count) runs the real command path: each iteration
    submits an application and reads it back."""
    out = subprocess.run([sys.executable, "bench/command_cost.py", "--loop", "3", "--backend", store],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    doc = json.loads(out.stdout)
    assert doc["iterations"] == 3 and doc["applications"] == 3 + 5 and doc["cpu_ms_per_command"] > 0


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
