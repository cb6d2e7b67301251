"""Posts end to end through the real HTTP app on SQLite and PostgreSQL: drafted and checked against the policy,
approved by a leader who is not the author, recorded as published with the URL, removed with the reason told to
the audience, parents' take-down requests reaching the moderators; problem+json naming every field; another
school's post is 404."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from domain.pupil import PupilRecord
from tests.conftest import World

URL = "https://www.facebook.com/OakfieldNews/posts/42"


def setup(w: World) -> UUID:
    account = w.account()
    w.c.pupils.upsert(w.principal("admin"), w.school, [
        PupilRecord("P1", "Cara Lee", "Year 4", False, False, False, True),
        PupilRecord("P2", "Ben Smith-Jones", "Year 5", False, False, False, False),
        PupilRecord("P3", "Dev Patel", "Year 6", True, True, True, False),
    ])
    return account


def draft(w: World, account: UUID, who: str = "alice", **body: Any) -> dict[str, Any]:
    r = w.post(who, f"/api/v1/accounts/{account}/posts", {"text": "Lovely assembly today"} | body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def codes(post: dict[str, Any]) -> list[tuple[str, str]]:
    return [(f["code"], f["severity"]) for f in post["findings"]]


def test_contact_details_clause_a_mobile_or_email_blocks_submit_and_publish(world: World) -> None:
    account = setup(world)
    post = draft(world, account, text="Questions? Text 07700 900123 or mail me at a.b@gmail.com")
    assert codes(post) == [("phone_number", "blocks"), ("email_address", "blocks")]
    assert post["findings"][0]["clause"].startswith("Ensure that they never disclose personal contact details")
    r = world.post("alice", f"/api/v1/posts/{post['id']}/submit")
    assert r.status_code == 422 and len(r.json()["conditions"]) == 2, r.text
    r = world.post("alice", f"/api/v1/posts/{post['id']}/publish", {"url": URL})
    assert r.status_code == 422 and "phone number" in r.text


def test_no_publish_clause_a_photo_tagging_a_no_publish_pupil_blocks(world: World) -> None:
    account = setup(world)
    post = draft(world, account, text="Sports day!", media=[{"description": "Relay", "has_people": True,
                                                            "tagged_pupil_refs": ["P1"]}])
    assert ("pupil_no_publish", "blocks") in codes(post) and ("tagging_reminder", "advice") in codes(post)
    assert world.post("alice", f"/api/v1/posts/{post['id']}/publish", {"url": URL}).status_code == 422


def test_image_consent_clause_a_pupil_named_in_full_without_consent_blocks(world: World) -> None:
    account = setup(world)
    r = world.post("alice", f"/api/v1/accounts/{account}/post-checks", {"text": "Well done BEN SMITH JONES"})
    assert r.status_code == 200 and r.json()["blocks"] == 1
    assert r.json()["findings"][0]["code"] == "pupil_no_consent" and r.json()["findings"][0]["start"] == 10


def test_controversial_post_waits_for_a_leader_who_is_not_its_author_then_publishing_records_the_url(
        world: World) -> None:
    account = setup(world)
    post = draft(world, account, text="Our view on the proposed changes", controversial=True)
    pid = post["id"]
    r = world.post("alice", f"/api/v1/posts/{pid}/publish", {"url": URL})
    assert r.status_code == 422 and "leader" in r.text
    r = world.post("alice", f"/api/v1/posts/{pid}/submit")
    assert r.status_code == 200 and r.json()["status"] == "awaiting_approval"
    queue = world.get("head", f"/api/v1/schools/{world.school}/posts/awaiting-approval").json()["items"]
    assert [q["id"] for q in queue] == [pid] and queue[0]["your_turn"] is True
    world.c.clock.advance(timedelta(hours=5))
    dash = world.client.post("/graphql", json={"query": "{ trustDashboard { postsAwaitingApproval "
                                                        "oldestAwaitingApprovalHours } }"},
                             headers=world.h("admin")).json()["data"]["trustDashboard"]
    assert dash == {"postsAwaitingApproval": 1, "oldestAwaitingApprovalHours": 5.0}
    assert world.post("alice", f"/api/v1/posts/{pid}/approve", {"reason": "fine"}).status_code == 403
    r = world.post("head", f"/api/v1/posts/{pid}/approve", {"reason": ""})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reason"
    r = world.post("head", f"/api/v1/posts/{pid}/approve", {"reason": "Balanced and factual"})
    assert r.status_code == 200 and r.json()["status"] == "approved"
    r = world.post("alice", f"/api/v1/posts/{pid}/publish", {"url": URL})
    got = r.json()
    assert r.status_code == 200 and got["status"] == "published" and got["url"] == URL
    assert got["published_by"] == "Alice" and got["approvals"][0]["reason"] == "Balanced and factual"
    trail = world.get("admin", "/api/v1/audit/events", entity_id=pid).json()["items"]
    assert [t["type"] for t in trail][-1] == "PostPublished"


def test_a_leader_who_authored_the_post_cannot_approve_it(world: World) -> None:
    account = setup(world)
    post = draft(world, account, who="head", controversial=True)
    world.post("head", f"/api/v1/posts/{post['id']}/submit")
    r = world.post("head", f"/api/v1/posts/{post['id']}/approve", {"reason": "mine"})
    assert r.status_code == 422 and "author" in r.text


def test_a_returned_post_carries_the_reason(world: World) -> None:
    account = setup(world)
    post = draft(world, account, controversial=True)
    world.post("alice", f"/api/v1/posts/{post['id']}/submit")
    r = world.post("head", f"/api/v1/posts/{post['id']}/return", {"reason": "Too one-sided"})
    assert r.status_code == 200 and r.json()["status"] == "returned" and r.json()["returned_reason"] == "Too one-sided"


def test_publishing_over_advice_needs_a_reason_and_counts_on_the_dashboard(world: World) -> None:
    account = setup(world)
    post = draft(world, account, text="Well done Dev Patel, see https://example.com/race")
    r = world.post("alice", f"/api/v1/posts/{post['id']}/publish", {"url": "not a url"})
    assert r.status_code == 422 and {e["field"] for e in r.json()["errors"]} == {"url", "reason"}
    r = world.post("alice", f"/api/v1/posts/{post['id']}/publish", {"url": URL, "reason": "Parents asked us to"})
    assert r.status_code == 200 and r.json()["overridden"] == ["link_not_allowed", "pupil_full_name"]
    dash = world.client.post("/graphql", json={"query": f'{{ schoolDashboard(schoolId: "{world.school}") '
                                                        "{ postsPublishedOverridingAdvice postsRemoved } }"},
                             headers=world.h("head")).json()
    assert dash["data"]["schoolDashboard"] == {"postsPublishedOverridingAdvice": 1, "postsRemoved": 0}


def test_a_removal_records_the_public_reason_and_a_takedown_request_reaches_the_moderators(world: World) -> None:
    account = setup(world)
    pid = draft(world, account)["id"]
    assert world.post("alice", f"/api/v1/posts/{pid}/publish", {"url": URL}).status_code == 200
    r = world.post("carol", f"/api/v1/posts/{pid}/takedown-requests", {"parent_name": "", "concern": ""})
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["parent_name", "concern"]
    r = world.post("carol", f"/api/v1/posts/{pid}/takedown-requests",
                   {"parent_name": "Mrs Lee", "concern": "My daughter is in the photo", "contact": "by phone"})
    assert r.status_code == 201, r.text
    open_ = world.get("mod", f"/api/v1/schools/{world.school}/takedown-requests").json()["items"]
    assert [(t["parent_name"], t["post_id"]) for t in open_] == [("Mrs Lee", pid)]
    r = world.post("mod", f"/api/v1/posts/{pid}/remove", {"reason": "", "told_audience": ""})
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["reason", "told_audience"]
    r = world.post("mod", f"/api/v1/posts/{pid}/remove", {
        "reason": "A parent asked", "told_audience": "We have removed this post at a family's request."})
    got = r.json()
    assert got["status"] == "removed" and got["told_audience"] == "We have removed this post at a family's request."
    assert got["takedown_requests"][0]["status"] == "closed"
    assert world.get("mod", f"/api/v1/schools/{world.school}/takedown-requests").json()["items"] == []


def test_problem_json_names_every_invalid_field(world: World) -> None:
    account = setup(world)
    r = world.post("alice", f"/api/v1/accounts/{account}/posts", {
        "text": " ", "media": [{"description": ""}], "links": ["a b"], "shared": [{"description": ""}]})
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in r.json()["errors"]] == ["text", "media[0].description", "links[0]",
                                                        "shared[0].description"]


def test_another_schools_post_is_404_and_staff_who_do_not_run_the_account_cannot_draft(world: World) -> None:
    account = setup(world)
    pid = draft(world, account)["id"]
    assert world.get("other_head", f"/api/v1/posts/{pid}").status_code == 404
    assert world.get("other_head", f"/api/v1/accounts/{account}/posts").status_code == 404
    assert world.post("other_head", f"/api/v1/posts/{pid}/approve", {"reason": "x"}).status_code == 404
    assert world.post("carol", f"/api/v1/accounts/{account}/posts", {"text": "hi"}).status_code == 403
    assert world.get("alice", f"/api/v1/accounts/{account}/posts").json()["items"][0]["id"] == pid


def test_an_account_requiring_approval_of_every_post_by_named_leaders_in_order(world: World) -> None:
    account = setup(world)
    r = world.client.put(f"/api/v1/accounts/{account}/posting-rules", headers=world.h("mod"), json={
        "signature_required": True, "approver_ids": [str(world.people["other_head"])]})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "approver_ids[0]"
    r = world.client.put(f"/api/v1/accounts/{account}/posting-rules", headers=world.h("mod"), json={
        "signature_required": True, "approver_ids": [str(world.people["head"])]})
    assert r.status_code == 200, r.text
    post = draft(world, account)
    assert codes(post) == [("no_signature", "blocks")]
    r = world.client.put(f"/api/v1/posts/{post['id']}", headers=world.h("alice"),
                         json={"text": "Lovely assembly today\n- Mrs Alice"})
    assert r.status_code == 200 and r.json()["findings"] == []
    assert world.post("alice", f"/api/v1/posts/{post['id']}/submit").json()["status"] == "awaiting_approval"
    assert world.post("alice", f"/api/v1/posts/{post['id']}/publish", {"url": URL}).status_code == 409  # awaiting
    assert world.post("head", f"/api/v1/posts/{post['id']}/approve", {"reason": "ok"}).json()["status"] == "approved"


def test_the_trust_sets_content_rules(world: World) -> None:
    account = setup(world)
    r = world.client.put("/api/v1/trust/content-rules", headers=world.h("admin"), json={
        "allowed_domains": ["example.com", "not a domain"], "controversial_words": ["strike"]})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "allowed_domains[1]"
    assert world.client.put("/api/v1/trust/content-rules", headers=world.h("head"), json={}).status_code == 403
    r = world.client.put("/api/v1/trust/content-rules", headers=world.h("admin"), json={
        "allowed_domains": ["example.com"], "controversial_words": ["Strike"]})
    assert r.status_code == 200 and r.json()["controversial_words"] == ["strike"]
    post = draft(world, account, text="About the strike: https://example.com/x")
    assert codes(post) == [("controversial_trigger", "needs_leader")]


def test_graphql_lists_an_accounts_posts_and_hides_another_schools(world: World) -> None:
    account = setup(world)
    pid = draft(world, account, text="Call 07700 900123")["id"]
    query = {"query": f'{{ posts(accountId: "{account}") {{ id status worst authorName }} }}'}
    got = world.client.post("/graphql", json=query, headers=world.h("head")).json()
    assert got["data"]["posts"] == [{"id": pid, "status": "draft", "worst": "blocks", "authorName": "Alice"}]
    other = world.client.post("/graphql", json=query, headers=world.h("other_head")).json()
    assert other["data"] is None and "not found" in other["errors"][0]["message"]


def _post_routes(w: World, account: UUID, pid: str) -> list[tuple[str, str, Any]]:
    s, a = w.school, account
    return [
        ("GET", f"/api/v1/accounts/{a}/posts", None),
        ("POST", f"/api/v1/accounts/{a}/posts", {"text": "hello"}),
        ("POST", f"/api/v1/accounts/{a}/post-checks", {"text": "hello"}),
        ("GET", f"/api/v1/accounts/{a}/posting-rules", None),
        ("PUT", f"/api/v1/accounts/{a}/posting-rules", {"signature_required": True}),
        ("GET", f"/api/v1/posts/{pid}", None),
        ("PUT", f"/api/v1/posts/{pid}", {"text": "changed"}),
        ("POST", f"/api/v1/posts/{pid}/checks", None),
        ("POST", f"/api/v1/posts/{pid}/submit", None),
        ("POST", f"/api/v1/posts/{pid}/approve", {"reason": "r"}),
        ("POST", f"/api/v1/posts/{pid}/return", {"reason": "r"}),
        ("POST", f"/api/v1/posts/{pid}/publish", {"url": URL}),
        ("POST", f"/api/v1/posts/{pid}/remove", {"reason": "r", "told_audience": "t"}),
        ("POST", f"/api/v1/posts/{pid}/takedown-requests", {"parent_name": "P", "concern": "c"}),
        ("GET", f"/api/v1/schools/{s}/posts/awaiting-approval", None),
        ("GET", f"/api/v1/schools/{s}/takedown-requests", None),
    ]


def test_another_trust_or_school_gets_404_on_every_post_route_and_nothing_is_written(world: World,
                                                                                       stranger: World) -> None:
    account = setup(world)
    pid = draft(world, account)["id"]
    assert world.post("alice", f"/api/v1/posts/{pid}/publish", {"url": URL}).status_code == 200
    before = world.event_count()
    callers = [(stranger, who) for who in ("admin", "head", "mod", "alice")] + \
        [(world, who) for who in ("other_head", "other_staff")]
    for w, who in callers:
        for method, path, body in _post_routes(world, account, pid):
            r = w.client.request(method, path, headers=w.h(who), **({} if body is None else {"json": body}))
            assert r.status_code == 404, (who, method, path, r.status_code, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            assert "Lovely assembly" not in r.text
    assert world.event_count() == before
