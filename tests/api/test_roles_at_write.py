"""A command is decided on the caller's roles as they stand when it is written (services/event_log.py), through the
real app on both stores. A second container on the same database stands for another web process: it changes the
directory without this one hearing of it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest

from api.container import Container
from domain.application import BusinessCase
from infra.settings import Settings
from services import readmodel as rm
from services.event_log import CallerChanged
from services.identity import PRINCIPALS, principal_for_person
from tests.conftest import APPLICATION, World


@pytest.fixture
def other(world: World) -> Iterator[Container]:
    """Another process's container on the same database."""
    c = Container(Settings(database_url=str(world.c.settings.database_url), db_pool_size=2), clock=world.c.clock)
    yield c
    c.close()


def _submit(w: World, who: str, runners: tuple[str, ...] = ("alice", "bob")) -> Any:
    return w.post(who, f"/api/v1/schools/{w.school}/applications",
                  APPLICATION | {"runner_ids": [str(w.people[r]) for r in runners]})


def _applications_of(w: World, who: str) -> list[str]:
    items = w.get("head", f"/api/v1/schools/{w.school}/applications", limit=200).json()["items"]
    return [a["id"] for a in items if a["applicant_id"] == str(w.people[who])]


def _case(w: World) -> BusinessCase:
    return BusinessCase("Aim", "Audience", "Promotion", (w.people["alice"], w.people["bob"]), "open", "facebook",
                        "Handle")


def _cached(w: World, who: str) -> Any:
    """`who`'s principal as a request resolves it: from the cache, at the directory's change mark."""
    pid = w.people[who]
    p = PRINCIPALS.get(w.c.engine, ("test", pid), lambda: principal_for_person(w.c.engine, pid, "test"), None)
    assert p is not None and p.directory_mark is not None
    return p


def test_a_role_ended_by_another_process_refuses_the_next_command(world: World, other: Container) -> None:
    w = world
    assert _submit(w, "carol").status_code == 201  # carol's principal is cached here, with her staff role
    before = _applications_of(w, "carol")
    head = other.refresh_principal(w.principal("head"))
    other.accounts.record_departure(head, w.people["carol"], w.c.clock.now().date(), "left")  # roles end today

    r = _submit(w, "carol")
    assert r.status_code in (401, 403, 404), r.text  # decided on her roles now: she has no access any more
    assert r.headers["content-type"].startswith("application/problem+json")
    assert _applications_of(w, "carol") == before  # nothing written


def test_a_role_given_by_another_process_is_honoured_by_the_next_command(world: World, other: Container) -> None:
    w = world
    outsider = "other_staff"  # staff at the other school: the school is not theirs
    assert _submit(w, outsider).status_code == 404
    with other.engine.connect() as conn:
        email = conn.execute(rm.people.select().where(rm.people.c.id == w.people[outsider])).one().email
    other.directory.add_staff(other.refresh_principal(w.principal("admin")), w.school, "Other Staff", email, ["staff"])

    r = _submit(w, outsider)
    assert r.status_code == 201, r.text
    assert r.json()["applicant_id"] == str(w.people[outsider])


def test_a_role_ended_while_the_command_ran_refuses_it_at_the_write(world: World, other: Container) -> None:
    """The caller was resolved, then another process ended their role before the command's write: the write
    re-reads the caller inside its transaction, refuses (409 over HTTP), and nothing is written."""
    w = world
    carol = _cached(w, "carol")
    events = w.event_count()
    head = other.refresh_principal(w.principal("head"))
    other.directory.end_role(head, w.school, w.people["carol"], "staff", "moved on")
    moved = w.event_count()
    assert moved > events

    with pytest.raises(CallerChanged):
        w.c.applications.submit(carol, w.school, _case(w))
    assert w.event_count() == moved  # nothing of the command


def test_someone_elses_role_changing_meanwhile_does_not_refuse_the_command(world: World, other: Container) -> None:
    """The change mark moved (the directory changed), but not for this caller: the write re-reads them, finds
    the same roles, and the command lands."""
    w = world
    carol = _cached(w, "carol")
    other.directory.add_staff(other.refresh_principal(w.principal("admin")), w.school, "New Person",
                              f"new-{w.trust_id}@trust.example", ["staff"])
    assert rm.read_model_position(w.c.engine, rm.PRINCIPALS_CHANGED) != carol.directory_mark
    app_id = w.c.applications.submit(carol, w.school, _case(w))
    assert str(app_id) in _applications_of(w, "carol")


def test_a_client_revoked_by_another_process_is_refused_and_writes_nothing(world: World, other: Container) -> None:
    w = world
    r = w.post("admin", "/api/v1/integration-clients", {"name": "Feeds", "scopes": ["mentions:write", "read"]})
    assert r.status_code == 201, r.text
    cid, secret = r.json()["client_id"], r.json()["client_secret"]
    access = w.client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": cid,
                                                  "client_secret": secret}).json()["access_token"]
    headers = {"Authorization": f"Bearer {access}"}
    path = f"/api/v1/schools/{w.school}/mentions"
    assert w.client.post(path, headers=headers, json={"key": "k1", "title": "first"}).status_code == 201
    other.integrations.revoke(other.refresh_principal(w.principal("admin")), UUID(cid), "supplier changed")
    after_revoke = w.event_count()

    r = w.client.post(path, headers=headers, json={"key": "k2", "title": "second"})
    assert r.status_code == 401, r.text
    assert w.event_count() == after_revoke  # nothing written
