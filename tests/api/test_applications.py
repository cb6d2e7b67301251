"""Account applications end to end through the real HTTP app, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from services import readmodel as rm
from tests.conftest import APPLICATION, World


def test_submit_then_approve_when_runners_are_trained_and_have_acknowledged(world: World) -> None:
    world.ready("alice", "bob")
    app_id = world.application("alice")
    got = world.get("head", f"/api/v1/applications/{app_id}").json()
    assert got["status"] == "submitted" and got["applicant_name"] == "Alice"
    r = world.post("head", f"/api/v1/applications/{app_id}/approve", {"reason": "Good case"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved" and r.json()["reason"] == "Good case"


def test_approval_gate_lists_every_unmet_condition(world: World) -> None:
    world.train("alice")  # alice trained but has not acknowledged; bob neither
    app_id = world.application("carol", ("alice", "bob"))
    before = world.event_count()
    r = world.post("head", f"/api/v1/applications/{app_id}/approve")
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["title"] == "Approval refused"
    assert body["conditions"] == [
        "Alice has not acknowledged the current policy (v1)",
        "Bob has not acknowledged the current policy (v1)",
        "Bob has no social media training on record",
    ]
    assert world.event_count() == before
    assert world.get("head", f"/api/v1/applications/{app_id}").json()["status"] == "submitted"


def test_expired_training_and_a_new_policy_version_block_approval(world: World) -> None:
    world.ready("alice", "bob")
    world.c.clock.advance(timedelta(days=400))  # the default validity is 12 months
    world.c.directory.publish_policy(world.principal("admin"), "v2", "second")
    app_id = world.application("carol")
    r = world.post("head", f"/api/v1/applications/{app_id}/approve")
    assert r.status_code == 422
    conditions = r.json()["conditions"]
    assert "Alice has not acknowledged the current policy (v2)" in conditions
    assert any(c.startswith("Alice's social media training expired on") for c in conditions)
    world.ready("alice", "bob")
    assert world.post("head", f"/api/v1/applications/{app_id}/approve").status_code == 200


def test_volunteer_can_be_named_once_trained_and_acknowledged(world: World) -> None:
    world.ready("alice", "vol")
    app_id = world.application("vol", ("vol", "alice"))
    assert world.post("head", f"/api/v1/applications/{app_id}/approve").status_code == 200


def test_the_applicant_cannot_approve_their_own_application(world: World) -> None:
    world.ready("head", "alice")
    app_id = world.application("head", ("head", "alice"))
    r = world.post("head", f"/api/v1/applications/{app_id}/approve")
    assert r.status_code == 422
    assert r.json()["conditions"] == ["the applicant cannot approve their own application"]


def test_only_slt_decides(world: World) -> None:
    world.ready("alice", "bob")
    app_id = world.application("carol")
    for who in ("mod", "alice", "carol", "vol"):
        assert world.post(who, f"/api/v1/applications/{app_id}/approve").status_code in (403, 404), who
    assert world.post("admin", f"/api/v1/applications/{app_id}/approve").status_code == 403


def test_reject_needs_a_reason_and_withdraw_is_the_applicants(world: World) -> None:
    app_id = world.application("carol")
    r = world.post("head", f"/api/v1/applications/{app_id}/reject", {"reason": "  "})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reason"
    r = world.post("head", f"/api/v1/applications/{app_id}/reject", {})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reason"
    r = world.post("alice", f"/api/v1/applications/{app_id}/withdraw")
    assert r.status_code in (403, 404, 422)
    r = world.post("carol", f"/api/v1/applications/{app_id}/withdraw", {"reason": "changed my mind"})
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    r = world.post("head", f"/api/v1/applications/{app_id}/reject", {"reason": "late"})
    assert r.status_code == 409


def test_rejection_is_recorded_with_reason_and_actor(world: World) -> None:
    app_id = world.application("carol")
    r = world.post("head", f"/api/v1/applications/{app_id}/reject", {"reason": "Duplicates the main account"})
    assert r.status_code == 200
    events = list(world.c.applications.events.get(app_id))
    assert [type(e).__name__ for e in events] == ["ApplicationSubmitted", "ApplicationRejected"]
    rejected: Any = events[-1]
    assert rejected.reason == "Duplicates the main account"
    assert rejected.actor.id == world.people["head"] and rejected.actor.role == "slt"
    assert rejected.actor.auth_method == "test" and rejected.actor.request_id
    assert rejected.trust_id == world.trust_id and rejected.school_id == world.school


def test_concurrent_approvals_one_wins_the_other_gets_409(world: World) -> None:
    world.ready("alice", "bob")
    world.c.directory.add_staff(world.principal("admin"), world.school, "Second Head", "head2@x.example", ["slt"])
    world.people["head2"] = world.c.directory.lookups.person_id_by_email(world.trust_id, "head2@x.example")  # type: ignore[assignment]
    app_id = world.application("carol")
    barrier = threading.Barrier(2)
    results: list[int] = []

    def approve(who: str) -> None:
        barrier.wait()
        results.append(world.post(who, f"/api/v1/applications/{app_id}/approve").status_code)

    threads = [threading.Thread(target=approve, args=(w,)) for w in ("head", "head2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200, 409]
    names = [type(e).__name__ for e in world.c.applications.events.get(app_id)]
    assert names == ["ApplicationSubmitted", "ApplicationApproved"]


def test_service_level_conflict_is_detected_by_the_event_store(world: World) -> None:
    """Two writers load the same version; the second save is refused, nothing is lost or duplicated."""
    from domain.application import AccountApplication
    from services.eventstore import ConcurrencyConflict

    world.ready("alice", "bob")
    app_id = world.application("carol")
    a = world.c.applications.load(AccountApplication, app_id)
    b = world.c.applications.load(AccountApplication, app_id)
    assert a is not None and b is not None
    head = world.principal("head")
    now = world.c.clock.now()
    a.reject(head.id, "first", head.actor(*_decide(world)), now)
    b.reject(head.id, "second", head.actor(*_decide(world)), now)
    world.c.applications.commit(a, by=None)
    try:
        world.c.applications.commit(b, by=None)
        raise AssertionError("expected a conflict")
    except ConcurrencyConflict:
        pass
    events: list[Any] = list(world.c.applications.events.get(app_id))
    assert [e.reason for e in events[1:]] == ["first"]


def _decide(world: World) -> tuple[Any, Any]:
    from services.authorisation import Action

    return Action.APPLICATION_DECIDE, world.school


def test_idempotent_retry_returns_the_same_result_and_writes_once(world: World) -> None:
    body = APPLICATION | {"runner_ids": [str(world.people["alice"]), str(world.people["bob"])]}
    path = f"/api/v1/schools/{world.school}/applications"
    before = world.event_count()
    first = world.post("carol", path, body, **{"Idempotency-Key": "submit-42"})
    second = world.post("carol", path, body, **{"Idempotency-Key": "submit-42"})
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers.get("idempotent-replayed") == "true"
    assert world.event_count() == before + 1
    other = world.post("carol", path, body | {"aim": "something else"}, **{"Idempotency-Key": "submit-42"})
    assert other.status_code == 422 and "different request" in other.json()["detail"]
    assert world.event_count() == before + 1
    # The key belongs to the caller: another person's same key is a different request.
    third = world.post("alice", path, body, **{"Idempotency-Key": "submit-42"})
    assert third.status_code == 201 and third.json()["id"] != first.json()["id"]


def test_idempotent_retry_of_a_refusal_replays_the_refusal(world: World) -> None:
    app_id = world.application("carol")
    path = f"/api/v1/applications/{app_id}/approve"
    r1 = world.post("head", path, None, **{"Idempotency-Key": "k1"})
    r2 = world.post("head", path, None, **{"Idempotency-Key": "k1"})
    assert r1.status_code == r2.status_code == 422 and r1.json() == r2.json()


def test_bad_input_names_each_field_and_writes_nothing(world: World) -> None:
    path = f"/api/v1/schools/{world.school}/applications"
    before = world.event_count()
    cases: list[tuple[dict[str, Any], set[str]]] = [
        (APPLICATION | {"runner_ids": [str(world.people["alice"])]}, {"runner_ids"}),
        (APPLICATION | {"runner_ids": [str(world.people["alice"])] * 2}, {"runner_ids"}),
        (APPLICATION | {"aim": " ", "platform": "myspace", "visibility": "secret", "proposed_handle": "a b",
                        "runner_ids": [str(world.people["alice"]), str(world.people["other_staff"])]},
         {"aim", "platform", "visibility", "proposed_handle", "runner_ids[1]"}),
        ({k: v for k, v in APPLICATION.items() if k != "aim"} | {"runner_ids": []}, {"aim"}),
        (APPLICATION | {"runner_ids": ["not-a-uuid", str(world.people["bob"])]}, {"runner_ids[0]"}),
        (APPLICATION | {"runner_ids": [str(world.people["alice"]), str(world.people["bob"])], "extra": 1},
         {"extra"}),
    ]
    for body, fields in cases:
        r = world.post("carol", path, body)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        problem = r.json()
        assert {"type", "title", "status", "detail", "errors"} <= problem.keys()
        assert {e["field"] for e in problem["errors"]} == fields, problem
    r = world.client.post(path, content=b"{not json", headers=world.h("carol", **{"content-type": "application/json"}))
    assert r.status_code == 400 and r.headers["content-type"].startswith("application/problem+json")
    assert world.event_count() == before


def test_listing_with_cursor_pagination_and_status_filter(world: World) -> None:
    ids = [str(world.application("carol")) for _ in range(5)]
    world.post("head", f"/api/v1/applications/{ids[0]}/reject", {"reason": "no"})
    page1 = world.get("head", f"/api/v1/schools/{world.school}/applications", limit=2).json()
    page2 = world.get("head", f"/api/v1/schools/{world.school}/applications", limit=2,
                      after=page1["next_cursor"]).json()
    page3 = world.get("head", f"/api/v1/schools/{world.school}/applications", limit=2,
                      after=page2["next_cursor"]).json()
    got = [a["id"] for a in page1["items"] + page2["items"] + page3["items"]]
    assert sorted(got) == sorted(ids) and page3["next_cursor"] is None
    pending = world.get("head", f"/api/v1/schools/{world.school}/applications", status="submitted").json()
    assert len(pending["items"]) == 4
    r = world.get("head", f"/api/v1/schools/{world.school}/applications", status="nonsense")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "status"
    r = world.get("head", f"/api/v1/schools/{world.school}/applications", after="garbage!")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "after"
    # Staff see only applications they made or run.
    assert world.get("alice", f"/api/v1/schools/{world.school}/applications").json()["items"] != []
    assert world.get("vol", f"/api/v1/schools/{world.school}/applications").json()["items"] == []


def test_the_submit_response_is_what_the_read_side_then_serves(world: World) -> None:
    """The submit's response is the application as GET and the school's list serve it, hostile text included."""
    body = APPLICATION | {"aim": "Ünïcode — 'quotes' \"and\" %s $1 $$ ; DROP TABLE x; --",
                          "audience": "  Parents   and carers ", "proposed_handle": "Oak.field-News_1",
                          "runner_ids": [str(world.people["alice"]), str(world.people["vol"])]}
    r = world.post("carol", f"/api/v1/schools/{world.school}/applications", body)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created == world.get("carol", f"/api/v1/applications/{created['id']}").json()
    listed = world.get("head", f"/api/v1/schools/{world.school}/applications").json()["items"]
    assert [a for a in listed if a["id"] == created["id"]] == [created]
    assert created["applicant_name"] == "Carol" and created["status"] == "submitted"
    assert created["runner_ids"] == body["runner_ids"] and created["decided_at"] is None


def test_a_runner_given_a_role_at_the_school_can_then_be_named(world: World) -> None:
    """A role given to a named runner is seen by the very next submit, from the same (cached) caller."""
    path = f"/api/v1/schools/{world.school}/applications"
    body = APPLICATION | {"runner_ids": [str(world.people["alice"]), str(world.people["other_staff"])]}
    r = world.post("carol", path, body)
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["runner_ids[1]"]
    assert world.post("carol", path, body).status_code == 422
    with world.c.engine.connect() as conn:
        email = conn.execute(select(rm.people.c.email).where(rm.people.c.id == world.people["other_staff"])).scalar()
    world.c.directory.add_staff(world.principal("admin"), world.school, "Other Staff", str(email), ["staff"])
    r = world.post("carol", path, body)
    assert r.status_code == 201, r.text
    assert r.json()["runner_ids"] == body["runner_ids"]
