"""School accounts, the ≥ 2 trained runners invariant, credentials, departures and handovers (HTTP, both stores)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from tests.conftest import World

CREDS = {"login": "school.page@example.org", "password": "correct horse battery staple",
         "recovery_email": "it@example.org", "recovery_phone": "020 7946 0000", "mfa_recovery_codes": ["AAA-111"]}


def test_whole_lifecycle_from_application_to_closure(world: World) -> None:
    acc = world.account(lead="bob")
    a = world.get("mod", f"/api/v1/accounts/{acc}").json()
    assert a["status"] == "active" and a["platform"] == "facebook" and a["handle"] == "OakfieldNews"
    assert a["lead_id"] == str(world.people["bob"]) and a["trained_runners"] == 2
    assert a["short_of_trained_runners"] is False and a["unchecked"] is True
    r = world.client.put(f"/api/v1/accounts/{acc}/credentials", json=CREDS, headers=world.h("mod"))
    assert r.status_code == 200 and r.json()["credential_version"] == 1
    assert CREDS["password"] not in r.text
    r = world.post("alice", f"/api/v1/accounts/{acc}/credentials/reveal")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert r.json()["password"] == CREDS["password"] and r.json()["recovery_phone"] == "+442079460000"
    world.ready("carol")
    assert world.post("mod", f"/api/v1/accounts/{acc}/runners", {"person_id": str(world.people["carol"])}).status_code == 201
    r = world.post("mod", f"/api/v1/accounts/{acc}/lead", {"person_id": str(world.people["carol"]), "reason": "cover"})
    assert r.status_code == 200 and r.json()["lead_id"] == str(world.people["carol"])
    r = world.client.delete(f"/api/v1/accounts/{acc}/runners/{world.people['bob']}", headers=world.h("mod"))
    assert r.status_code == 200 and {x["id"] for x in r.json()["runners"]} == {
        str(world.people["alice"]), str(world.people["carol"])}
    r = world.post("alice", f"/api/v1/accounts/{acc}/monitoring-checks", {"note": "all quiet"})
    assert r.status_code == 201 and r.json()["hours_since_check"] == 0.0 and r.json()["unchecked"] is False
    world.c.clock.advance(timedelta(hours=25))
    assert world.get("mod", f"/api/v1/accounts/{acc}").json()["unchecked"] is True
    assert world.post("head", f"/api/v1/accounts/{acc}/suspend", {"reason": "under review"}).json()["status"] == "suspended"
    assert world.post("head", f"/api/v1/accounts/{acc}/reinstate", {}).json()["status"] == "active"
    assert world.post("mod", f"/api/v1/accounts/{acc}/close", {"reason": " "}).status_code == 422
    r = world.post("mod", f"/api/v1/accounts/{acc}/close", {"reason": "merged into the main page"})
    assert r.status_code == 200 and r.json()["status"] == "closed" and r.json()["status_reason"] == "merged into the main page"
    assert world.post("mod", f"/api/v1/accounts/{acc}/runners", {"person_id": str(world.people["bob"])}).status_code == 409
    names = [type(e).__name__ for e in world.c.accounts.events.get(acc)]
    assert names == ["AccountCreated", "CredentialsStored", "CredentialsRevealed", "RunnerAdded", "LeadTransferred",
                     "RunnerRemoved", "MonitoringCheckRecorded", "AccountSuspended", "AccountReinstated",
                     "AccountClosed"]


def test_creation_needs_an_approved_application_and_a_moderator(world: World) -> None:
    world.ready("alice", "bob")
    app_id = world.application("carol")
    path = f"/api/v1/schools/{world.school}/accounts"
    assert world.post("mod", path, {"application_id": str(app_id)}).status_code == 409
    world.post("head", f"/api/v1/applications/{app_id}/approve")
    assert world.post("head", path, {"application_id": str(app_id)}).status_code == 403
    bad = world.post("mod", path, {"application_id": str(app_id), "url": "http://insecure", "lead_id":
                                   str(world.people["carol"])})
    assert bad.status_code == 422
    assert world.post("mod", path, {"application_id": str(app_id), "url": "ftp://x"}).json()["errors"][0]["field"] == "url"
    assert world.post("mod", path, {"application_id": "00000000-0000-0000-0000-000000000000"}).json()[
        "errors"][0]["field"] == "application_id"
    assert world.post("mod", path, {"application_id": str(app_id)}).status_code == 201


def test_two_trained_runners_invariant(world: World) -> None:
    acc = world.account()
    r = world.client.delete(f"/api/v1/accounts/{acc}/runners/{world.people['bob']}", headers=world.h("mod"))
    assert r.status_code == 422
    assert "at least 2 runners with valid training" in r.json()["conditions"][0]
    r = world.client.delete(f"/api/v1/accounts/{acc}/runners/{world.people['alice']}", headers=world.h("mod"))
    assert r.status_code == 422  # alice is the lead (applicant carol is not a runner: first runner leads)
    # An untrained person cannot be added.
    r = world.post("mod", f"/api/v1/accounts/{acc}/runners", {"person_id": str(world.people["vol"])})
    assert r.status_code == 422 and "Vol has no social media training on record" in r.json()["conditions"]
    # Training that expires shows the account short of trained runners, on the account and the dashboards.
    world.c.clock.advance(timedelta(days=400))
    a = world.get("mod", f"/api/v1/accounts/{acc}").json()
    assert a["trained_runners"] == 0 and a["short_of_trained_runners"] is True
    short = world.get("head", f"/api/v1/schools/{world.school}/accounts", state="short_of_trained_runners").json()
    assert [x["id"] for x in short["items"]] == [str(acc)]
    q = '{ trustDashboard { activeAccounts accountsShortOfTrainedRunners accountsUncheckedRecently: accountsUnchecked24h } }'
    d = world.client.post("/graphql", json={"query": q}, headers=world.h("admin")).json()["data"]["trustDashboard"]
    assert d == {"activeAccounts": 1, "accountsShortOfTrainedRunners": 1, "accountsUncheckedRecently": 1}


def test_reveal_is_audited_and_refused_to_non_runners_and_other_schools(world: World, stranger: World) -> None:
    acc = world.account()
    world.client.put(f"/api/v1/accounts/{acc}/credentials", json=CREDS, headers=world.h("mod"))
    assert world.post("carol", f"/api/v1/accounts/{acc}/credentials/reveal").status_code == 404
    assert world.post("head", f"/api/v1/accounts/{acc}/credentials/reveal").status_code == 403
    assert world.post("other_head", f"/api/v1/accounts/{acc}/credentials/reveal").status_code == 404
    assert stranger.post("admin", f"/api/v1/accounts/{acc}/credentials/reveal").status_code == 404
    assert world.post("mod", f"/api/v1/accounts/{acc}/credentials/reveal").status_code == 200
    revealed: list[Any] = [e for e in world.c.accounts.events.get(acc) if type(e).__name__ == "CredentialsRevealed"]
    assert [(e.revealed_to, e.version, e.actor.role) for e in revealed] == [(world.people["mod"], 1, "moderator")]
    assert world.post("alice", f"/api/v1/accounts/{acc}/credentials/reveal").status_code == 200
    assert world.client.put(f"/api/v1/accounts/{acc}/credentials", json=CREDS, headers=world.h("alice")).status_code == 403
    bad = world.client.put(f"/api/v1/accounts/{acc}/credentials", headers=world.h("mod"),
                           json=CREDS | {"recovery_phone": "123", "recovery_email": "nope", "password": ""})
    assert bad.status_code == 422 and {e["field"] for e in bad.json()["errors"]} == {
        "recovery_phone", "recovery_email", "password"}
    assert CREDS["login"] not in bad.text


def test_one_account_per_approved_application(world: World) -> None:
    acc = world.account()
    application_id = world.get("mod", f"/api/v1/accounts/{acc}").json()["application_id"]
    before = world.event_count()
    r = world.post("mod", f"/api/v1/schools/{world.school}/accounts", {"application_id": application_id})
    assert r.status_code == 409 and r.json()["errors"] == [
        {"field": "application_id", "message": "an account has already been created from this application"}]
    assert world.event_count() == before


def test_a_reveal_carries_its_reason_into_the_audit_trail(world: World) -> None:
    acc = world.account()
    world.client.put(f"/api/v1/accounts/{acc}/credentials", json=CREDS, headers=world.h("mod"))
    r = world.post("mod", f"/api/v1/accounts/{acc}/credentials/reveal", {"reason": "  Reset the page's cover photo "})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert world.post("alice", f"/api/v1/accounts/{acc}/credentials/reveal", {"reason": None}).status_code == 200
    too_long = world.post("mod", f"/api/v1/accounts/{acc}/credentials/reveal", {"reason": "x" * 1001})
    assert too_long.status_code == 422 and too_long.json()["errors"][0]["field"] == "reason"
    assert CREDS["password"] not in too_long.text
    assert world.post("mod", f"/api/v1/accounts/{acc}/credentials/reveal", {"why": "no"}).status_code == 422
    items = world.get("admin", "/api/v1/audit/events", entity_id=str(acc)).json()["items"]
    reveals = [(e["actor"]["display_name"], e["reason"]) for e in items if e["type"] == "CredentialsRevealed"]
    assert reveals == [("Mod", "Reset the page's cover photo"), ("Alice", None)]  # the refused one left no trace
    assert all(CREDS["password"] not in str(e) for e in items)


def test_leaver_handover_rotation_flag_and_access_ending(world: World) -> None:
    acc = world.account(lead="alice")
    world.client.put(f"/api/v1/accounts/{acc}/credentials", json=CREDS, headers=world.h("mod"))
    leaving = (world.c.clock.now() + timedelta(days=10)).date()
    alice_token = world.token("alice")
    r = world.post("mod", f"/api/v1/staff/{world.people['alice']}/departure", {"leaving_date": leaving.isoformat(),
                                                                               "reason": "new job"})
    assert r.status_code == 201, r.text
    [handover] = r.json()["handovers"]
    assert handover["leaver_was_lead"] is True and handover["due_on"] == leaving.isoformat()
    assert handover["overdue"] is False and handover["status"] == "open"
    # Before the leaving date: still a runner with access, no rotation needed yet.
    assert world.post("alice", f"/api/v1/accounts/{acc}/credentials/reveal").status_code == 200
    assert world.get("mod", f"/api/v1/accounts/{acc}").json()["rotation_required"] is False
    # Completing needs a valid new lead; removing a lead as a mere runner is refused.
    h = handover["id"]
    assert world.post("mod", f"/api/v1/handovers/{h}/complete", {"outcome": "runner_removed"}).status_code == 422
    assert world.post("mod", f"/api/v1/handovers/{h}/complete", {"outcome": "teleport"}).json()["errors"][0][
        "field"] == "outcome"
    r = world.post("mod", f"/api/v1/handovers/{h}/complete", {"outcome": "lead_transferred",
                                                               "new_lead_id": str(world.people["carol"])})
    assert r.status_code == 422 and "Carol has no social media training on record" in r.json()["conditions"]
    world.ready("carol")
    r = world.post("mod", f"/api/v1/handovers/{h}/complete", {"outcome": "lead_transferred",
                                                               "new_lead_id": str(world.people["carol"])})
    assert r.status_code == 200 and r.json()["status"] == "completed"
    a = world.get("mod", f"/api/v1/accounts/{acc}").json()
    assert a["lead_id"] == str(world.people["carol"])
    assert str(world.people["alice"]) not in {x["id"] for x in a["runners"]}
    # From the leaving date: the leaver has no access; the account needs new credentials.
    world.c.clock.set(world.c.clock.now().replace(year=leaving.year, month=leaving.month, day=leaving.day))
    r = world.client.post(f"/api/v1/accounts/{acc}/credentials/reveal",
                          headers={"Authorization": f"Bearer {alice_token}"})
    assert r.status_code == 401
    assert world.get("mod", f"/api/v1/accounts/{acc}").json()["rotation_required"] is True
    q = "query($s: ID!) { accounts(schoolId: $s, state: \"rotation_required\") { id rotationRequired } }"
    got = world.client.post("/graphql", json={"query": q, "variables": {"s": str(world.school)}},
                            headers=world.h("head")).json()["data"]["accounts"]
    assert got == [{"id": str(acc), "rotationRequired": True}]
    world.client.put(f"/api/v1/accounts/{acc}/credentials", json=CREDS | {"password": "rotated!"},
                     headers=world.h("mod"))
    a = world.get("mod", f"/api/v1/accounts/{acc}").json()
    assert a["rotation_required"] is False and a["credential_version"] == 2
    person = world.get("admin", f"/api/v1/staff/{world.people['alice']}").json()
    assert person["status"] == "left" and person["roles"] == [] and person["leaving_date"] == leaving.isoformat()
    staff = world.get("head", f"/api/v1/schools/{world.school}/staff").json()["items"]
    assert str(world.people["alice"]) not in {s["id"] for s in staff}


def test_departure_on_or_before_today_ends_roles_at_once_and_closing_completes_handover(world: World) -> None:
    acc = world.account(lead="bob")
    today = world.c.clock.now().date()
    r = world.post("head", f"/api/v1/staff/{world.people['bob']}/departure", {"leaving_date": today.isoformat()})
    assert r.status_code == 201
    [handover] = r.json()["handovers"]
    assert handover["overdue"] is True
    assert world.client.get("/api/v1/schools", headers={"Authorization": f"Bearer {world.token('bob')}"}).status_code == 401
    events = [type(e).__name__ for e in world.c.directory.events.get(world.people["bob"])]
    assert events[-2:] == ["DepartureRecorded", "RoleRevoked"]
    overdue = world.get("head", f"/api/v1/schools/{world.school}/handovers", status="overdue").json()["items"]
    assert [x["id"] for x in overdue] == [handover["id"]]
    r = world.post("mod", f"/api/v1/handovers/{handover['id']}/complete", {"outcome": "account_closed"})
    assert r.status_code == 200 and r.json()["outcome"] == "account_closed"
    assert world.get("mod", f"/api/v1/accounts/{acc}").json()["status"] == "closed"
    assert world.post("mod", f"/api/v1/handovers/{handover['id']}/complete",
                      {"outcome": "account_closed"}).status_code == 409
    bad = world.post("mod", f"/api/v1/staff/{world.people['carol']}/departure", {"leaving_date": "2019-01-01"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "leaving_date"
    assert world.post("alice", f"/api/v1/staff/{world.people['carol']}/departure",
                      {"leaving_date": date.today().isoformat()}).status_code in (403, 404)


def test_no_one_records_the_departure_of_someone_above_them(world: World) -> None:
    """Decision 0034: a departure ends every role the leaver holds, so the recorder must be able to give each of
    them. A moderator cannot end the head's roles; the head cannot end those of a colleague who also leads another
    school; the trust team can. Nothing is written when refused."""
    events = world.event_count()
    r = world.post("mod", f"/api/v1/staff/{world.people['head']}/departure", {"leaving_date": "2026-03-10"})
    assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")
    assert world.event_count() == events
    email = world.get("admin", f"/api/v1/staff/{world.people['other_head']}").json()["email"]
    assert world.post("admin", f"/api/v1/schools/{world.school}/staff",
                      {"display_name": "Other Head", "email": email, "roles": ["staff"]}).status_code == 200
    events = world.event_count()
    r = world.post("head", f"/api/v1/staff/{world.people['other_head']}/departure", {"leaving_date": "2026-03-10"})
    assert r.status_code == 403, r.text
    assert world.event_count() == events
    r = world.post("admin", f"/api/v1/staff/{world.people['other_head']}/departure", {"leaving_date": "2026-03-10"})
    assert r.status_code == 201, r.text
    assert world.post("mod", f"/api/v1/staff/{world.people['vol']}/departure",
                      {"leaving_date": "2026-03-10"}).status_code == 201
