"""Mixed commands from 16 concurrent clients over real HTTP (uvicorn), on SQLite and PostgreSQL: submits,
approvals, incident notes and withdrawals, several of them racing for the same record. While the database is up
every answer is 2xx or 4xx (a lost race is a 409), every 2xx is in the event log exactly once, the read model
shows everything the log holds, and the audit chain verifies."""

from __future__ import annotations

import random
import threading
from collections import Counter

import httpx
from sqlalchemy import select

from services import readmodel as rm
from services.audit import verify_chain
from tests.conftest import APPLICATION, World, live

CLIENTS = 16
ROUNDS = 6


def test_mixed_concurrent_commands_answer_only_2xx_or_4xx_and_land_once(world: World) -> None:
    w = world
    w.ready("alice", "bob")
    pending = [str(w.application("carol")) for _ in range(6)]
    incident = w.post("alice", f"/api/v1/schools/{w.school}/incidents", {
        "title": "Rude comment", "category": "offensive", "description": "A rude comment",
        "happened_at": "2026-03-09T18:30:00+00:00"}).json()["id"]
    events_before = w.event_count()
    statuses: Counter[int] = Counter()
    submitted: list[str] = []
    errors: list[str] = []
    lock = threading.Lock()

    def client(k: int, base: str) -> None:
        rnd = random.Random(k)
        with httpx.Client(base_url=base, timeout=60) as http:
            for i in range(ROUNDS):
                op = (k + i) % 4
                if op == 0:
                    r = http.post(f"/api/v1/schools/{w.school}/applications", headers=w.h("carol"),
                                  json=APPLICATION | {"proposed_handle": f"Handle{k}x{i}",
                                                      "runner_ids": [str(w.people["alice"]), str(w.people["bob"])]})
                    if r.status_code == 201:
                        with lock:
                            submitted.append(r.json()["id"])
                elif op == 1:
                    r = http.post(f"/api/v1/applications/{rnd.choice(pending)}/approve", headers=w.h("head"))
                elif op == 2:
                    r = http.post(f"/api/v1/incidents/{incident}/notes", headers=w.h("head"),
                                  json={"text": f"note {k}.{i}"})
                else:
                    r = http.post(f"/api/v1/applications/{rnd.choice(pending)}/withdraw", headers=w.h("carol"))
                with lock:
                    statuses[r.status_code] += 1
                    if not 200 <= r.status_code < 500:
                        errors.append(f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text[:200]}")

    with live(w.c) as base:
        threads = [threading.Thread(target=client, args=(k, base)) for k in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    assert not errors, errors[:3]
    assert sum(statuses.values()) == CLIENTS * ROUNDS
    assert statuses[201] == len(submitted) > 0 and statuses[200] > 0

    # every 2xx once in the log: one event per successful command here (a submit, an approval, a note, a
    # withdrawal), and a refused one (4xx) wrote nothing
    succeeded = sum(n for code, n in statuses.items() if 200 <= code < 300)
    assert len(w.c.recorder.select_notifications(events_before + 1, 10_000)) == succeeded  # ids may have gaps
    with w.c.engine.connect() as conn:
        new_events = conn.execute(select(rm.audit_events.c.originator_id, rm.audit_events.c.originator_version)
                                  .where(rm.audit_events.c.position > events_before)).all()
    assert len(new_events) == succeeded
    assert len(set(new_events)) == succeeded
    for app_id in submitted:
        assert w.get("carol", f"/api/v1/applications/{app_id}").status_code == 200  # read model shows it
    assert w.c.projections.position() == w.c.recorder.max_notification_id()
    assert verify_chain(w.c.engine, w.c.recorder).ok
