"""Provisional principals confirmed at commit (decision 0033), through the real app on both stores.

A command route takes a cached caller at the last directory change mark its process knows of, without reading the
mark, and the command's commit confirms the mark. A second container on the same database stands for another web
process: it changes the directory without this one hearing of it, and the next command here must still be decided
on the caller's roles as they are when it commits."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import event

from api import auth
from api.container import Container
from domain.application import AccountApplication
from infra.settings import Settings
from services import readmodel as rm
from services.authorisation import Action
from services.provisional import PENDING, DirectoryMoved, Pending
from tests.conftest import APPLICATION, World


@pytest.fixture
def other(world: World) -> Iterator[Container]:
    """Another process's container on the same database."""
    c = Container(Settings(database_url=str(world.c.settings.database_url), db_pool_size=2), clock=world.c.clock)
    yield c
    c.close()


class MarkReads:
    """Counts the queries that read the directory's change mark on an engine, on its own: not as one of the tracking
    rows a commit locks (the audit chain's is among those)."""

    def __init__(self, engine: Any) -> None:
        self.n = 0
        self.engine = engine

    def __enter__(self) -> MarkReads:
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if ("projection_tracking" in statement and rm.PRINCIPALS_CHANGED in str(parameters)
                and "audit_chain" not in str(parameters)):
            self.n += 1


def _submit(w: World, who: str, runners: tuple[str, ...] = ("alice", "bob")) -> Any:
    return w.post(who, f"/api/v1/schools/{w.school}/applications",
                  APPLICATION | {"runner_ids": [str(w.people[r]) for r in runners]})


def _applications_of(w: World, who: str) -> list[str]:
    items = w.get("head", f"/api/v1/schools/{w.school}/applications", limit=200).json()["items"]
    return [a["id"] for a in items if a["applicant_id"] == str(w.people[who])]


def test_a_cached_caller_submits_without_a_query_for_the_mark_and_the_commit_confirms_it(world: World) -> None:
    w = world
    assert _submit(w, "carol").status_code == 201  # resolves and caches carol at the current mark
    provisional = auth.STATS["provisional"]
    with MarkReads(w.c.engine) as reads:
        for _ in range(3):
            assert _submit(w, "carol").status_code == 201
    assert auth.STATS["provisional"] == provisional + 3
    # the mark comes with the tracking rows the commit locks after its insert (on PostgreSQL in the same call)
    assert reads.n == 0
    assert len(_applications_of(w, "carol")) == 4


def test_a_role_ended_by_another_process_is_refused_at_commit(world: World, other: Container) -> None:
    w = world
    assert _submit(w, "carol").status_code == 201  # carol's principal is cached here, with her staff role
    before, moved, reruns = _applications_of(w, "carol"), w.c.committer.stats.moved, auth.STATS["rerun"]
    head = other.refresh_principal(w.principal("head"))
    other.accounts.record_departure(head, w.people["carol"], w.c.clock.now().date(), "left")  # roles end today

    r = _submit(w, "carol")
    assert r.status_code in (401, 403, 404), r.text  # decided afresh: carol has no access any more
    assert r.headers["content-type"].startswith("application/problem+json")
    assert w.c.committer.stats.moved == moved + 1  # the provisional principal was refused by the commit
    assert auth.STATS["rerun"] == reruns + 1
    assert _applications_of(w, "carol") == before  # nothing written


def test_a_role_given_by_another_process_is_honoured_by_the_next_command(world: World, other: Container) -> None:
    w = world
    outsider = "other_staff"  # staff at the other school: the school is not theirs
    assert _submit(w, outsider).status_code == 404  # cached here without a role at the school
    assert _submit(w, outsider).status_code == 404  # the same answer, provisionally, and the mark has not moved
    reruns = auth.STATS["rerun"]
    email = other.engine.connect().execute(rm.people.select().where(rm.people.c.id == w.people[outsider])).one().email
    other.directory.add_staff(other.refresh_principal(w.principal("admin")), w.school, "Other Staff", email, ["staff"])

    r = _submit(w, outsider)
    assert r.status_code == 201, r.text  # refused provisionally, then the mark had moved: run again, afresh
    assert auth.STATS["rerun"] == reruns + 1
    assert r.json()["applicant_id"] == str(w.people[outsider])


def test_events_left_unprojected_before_a_provisional_command_are_not_taken_as_confirming_it(
        world: World, other: Container) -> None:
    """Events another writer stored without projecting them (as a sweep does) may change the directory ahead of
    this command's; the commit cannot confirm the caller then, and the command runs again with the caller resolved
    afresh. Both events are then projected, in order."""
    from tests.services.test_group_commit import _case

    w = world
    assert _submit(w, "carol").status_code == 201
    moved, reruns = w.c.committer.stats.moved, auth.STATS["rerun"]
    alice = w.principal("alice")
    app = AccountApplication.submit(uuid.uuid4(), w.trust_id, w.school, alice.id, _case(w, "alice", "bob"),
                                    w.c.applications._runners((w.people["alice"], w.people["bob"]), w.trust_id),
                                    alice.actor(Action.APPLICATION_SUBMIT, w.school), w.c.clock.now())
    other.applications.commit(app, project=False)
    assert w.c.projector.position() < (w.c.recorder.max_notification_id() or 0)

    r = _submit(w, "carol")
    assert r.status_code == 201, r.text
    assert w.c.committer.stats.moved == moved + 1 and auth.STATS["rerun"] == reruns + 1
    assert _applications_of(w, "alice") == [str(app.id)]
    assert w.c.projector.position() == w.c.recorder.max_notification_id()


@pytest.mark.parametrize("stale", [False, True])
def test_a_batch_writes_its_confirmed_commands_and_refuses_only_the_stale_one(world: World, stale: bool) -> None:
    """Two commands queued into one batch, one with a principal at a mark the directory has left: only that one
    is refused, with nothing of it written; the other commits (both stores)."""
    from tests.services.test_group_commit import _case, _queued_together

    w = world
    current = rm.read_model_position(w.c.engine, rm.PRINCIPALS_CHANGED)
    alice, carol = w.principal("alice"), w.principal("carol")

    def submit(principal: Any, mark: int) -> Any:
        def job() -> UUID:
            PENDING.set(Pending(mark))
            return w.c.applications.submit(principal, w.school, _case(w, "alice", "bob"))
        return job

    results = _queued_together(w, [submit(alice, current - 1 if stale else current), submit(carol, current)])
    assert isinstance(results[1], UUID)
    if stale:
        assert isinstance(results[0], DirectoryMoved)
        assert _applications_of(w, "alice") == []
    else:
        assert isinstance(results[0], UUID)
    assert _applications_of(w, "carol") == [str(results[1])]


def test_a_client_revoked_by_another_process_is_refused_at_commit(world: World, other: Container) -> None:
    """An integration client's token, cached here, after another process revoked the client: the next command
    (a mention captured, a marked route) is refused and writes nothing; revocation takes effect at once."""
    w = world
    r = w.post("admin", "/api/v1/integration-clients", {"name": "Feeds", "scopes": ["mentions:write", "read"]})
    assert r.status_code == 201, r.text
    cid, secret = r.json()["client_id"], r.json()["client_secret"]
    access = w.client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": cid,
                                                  "client_secret": secret}).json()["access_token"]
    headers = {"Authorization": f"Bearer {access}"}
    path = f"/api/v1/schools/{w.school}/mentions"
    assert w.client.post(path, headers=headers, json={"key": "k1", "title": "first"}).status_code == 201
    assert w.client.post(path, headers=headers, json={"key": "k2", "title": "second"}).status_code == 201
    moved, events = w.c.committer.stats.moved, w.event_count()
    other.integrations.revoke(other.refresh_principal(w.principal("admin")), UUID(cid), "supplier changed")
    after_revoke = w.event_count()
    assert after_revoke > events

    r = w.client.post(path, headers=headers, json={"key": "k3", "title": "third"})
    assert r.status_code == 401, r.text
    assert w.c.committer.stats.moved == moved + 1  # taken provisionally, refused by the commit
    assert w.event_count() == after_revoke  # nothing written
