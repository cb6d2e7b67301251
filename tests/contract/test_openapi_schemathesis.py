"""The OpenAPI document is what the server does: schemathesis, every check on, against the real app in-process.

A bounded run (decision 0112): a few generated requests per operation in each phase schemathesis has for pytest
(the schema's examples, coverage of each parameter's edges and wrong types, then random fuzzing), authenticated as
a trust administrator of a fresh trust on SQLite, on the real container. Every answer must be declared in the
document with its status, media type and schema; none may be a server error.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from litestar.testing import TestClient
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events

from api.app import create_app
from api.container import Container
from infra.clock import SettableClock
from infra.settings import Settings
from tests.conftest import T0, World, build_world

#: Generated requests per operation in the fuzzing phase (the coverage phase adds its own, per parameter).
MAX_EXAMPLES = 4

#: What a request valid by the schema may be answered (schemathesis's default, and 422 for a domain rule).
ACCEPTED = ["2xx", "3xx", 401, 403, 404, 409, 422, 429, "5xx"]

REPORT = {"title": "Abusive comments under sports day post", "category": "harassing",
          "description": "Several comments name a pupil.", "happened_at": "2026-03-09T18:30:00+00:00"}

pytestmark = pytest.mark.xdist_group("schemathesis")


@pytest.fixture(scope="module")
def fuzzed_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    c = Container(Settings(database_url=f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'socialgov.db'}",
                           db_pool_size=5), clock=SettableClock(T0))
    try:
        with TestClient(create_app(container=c), raise_server_exceptions=False) as client:
            yield build_world(c, client)
    finally:
        c.close()


def real_ids(w: World) -> dict[str, list[str]]:
    """Ids of things that exist in the fuzzed trust, by path parameter: half the generated requests name one, so that
    bodies are fuzzed against real schools, people, incidents, applications and accounts, not only unknown ids."""
    account = w.account()
    incident = w.post("alice", f"/api/v1/schools/{w.school}/incidents", REPORT)
    assert incident.status_code == 201, incident.text
    application = w.application("carol", ("alice", "bob"))
    return {"school_id": [str(w.school)], "person_id": [str(w.people[n]) for n in ("alice", "mod", "vol")],
            "incident_id": [incident.json()["id"]], "application_id": [str(application)],
            "account_id": [str(account)], "user_id": [str(w.people["carol"])]}


@pytest.fixture(scope="module")
def api_schema(fuzzed_world: World) -> Any:
    ids = real_ids(fuzzed_world)
    config = SchemathesisConfig.from_dict({
        "dictionaries": {name: {"values": values} for name, values in ids.items()},
        "parameters": {f"path.{name}": {"dictionary": name, "probability": 0.5} for name in ids},
        "seed": 21,
        "cache": {"enabled": False},  # each run the same: no state kept between runs (and no .schemathesis/)
        "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large"],
        "generation": {"max-examples": MAX_EXAMPLES},
        "headers": {"Authorization": f"Bearer {fuzzed_world.token('admin')}"},
        # Every check on. A request the schema allows may still break a domain rule no JSON Schema can state (a
        # runner must be trained; an incident needs a school the caller reports for): 422 for REST, a SCIM 400
        # (invalidValue, invalidFilter) for SCIM — the answer is then declared and checked like any other.
        "checks": {"enabled": True, "positive_data_acceptance": {"expected-statuses": ACCEPTED}},
        "operations": [{"include-path-regex": "^/scim/", "checks": {
            "positive_data_acceptance": {"expected-statuses": [*ACCEPTED, 400]}}}],
    })
    return schemathesis.openapi.from_asgi("/schema/openapi.json", fuzzed_world.client.app, config=config)


@dataclass
class Run:
    """What the run saw: requests sent, answers by status, and every failed check."""

    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    operations: set[str] = field(default_factory=set)
    failures: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


def run_schemathesis(schema: Any) -> Run:
    """schemathesis's engine, as its CLI runs it (its pytest plugin does not run under pytest 9.2)."""
    run = Run()
    started = time.monotonic()
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, (events.NonFatalError, events.FatalError)):
            run.errors.append(f"{getattr(event, 'label', '')}: {getattr(event, 'value', event)!r}")
        recorder = getattr(event, "recorder", None)
        if not isinstance(event, events.ScenarioFinished) or recorder is None:
            continue
        run.operations.add(recorder.label)
        for interaction in recorder.interactions.values():
            run.requests += 1
            if interaction.response is not None:
                run.statuses[interaction.response.status_code] += 1
        for case_id, checks in recorder.checks.items():
            for check in checks:
                if check.failure_info is None:
                    continue
                interaction = recorder.interactions.get(case_id)
                request = f"{interaction.request.method} {interaction.request.uri}" if interaction else "?"
                body = interaction.request.body if interaction else None
                answer = interaction.response if interaction else None
                run.failures.append(
                    f"[{check.name}] {recorder.label}: {check.failure_info.failure.title} — "
                    f"{check.failure_info.failure.message[:300]}\n    {request} body={str(body)[:200]}\n    -> "
                    f"{answer.status_code if answer else None} {answer.content[:300] if answer else b''!r}")
    run.seconds = time.monotonic() - started
    return run


def test_every_answer_is_declared(api_schema: Any) -> None:
    run = run_schemathesis(api_schema)
    print(f"schemathesis: {run.requests} requests over {len(run.operations)} operations in {run.seconds:.0f} s; "
          f"statuses {dict(sorted(run.statuses.items()))}")
    assert not run.errors, "\n".join(run.errors)
    assert not run.failures, f"{len(run.failures)} failed checks:\n" + "\n".join(sorted(set(run.failures)))
    assert run.statuses and not any(status >= 500 for status in run.statuses)
    assert len(run.operations) >= 89 and run.requests >= 89 * MAX_EXAMPLES


def test_the_run_is_authenticated(fuzzed_world: World) -> None:
    """The fuzz above runs as the trust's administrator: their token reaches a protected operation."""
    r = fuzzed_world.client.get("/api/v1/schools", headers=fuzzed_world.h("admin"))
    assert r.status_code == 200 and len(r.json()["items"]) == 2
