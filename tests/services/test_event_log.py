"""The one write path (services/event_log.py) on the real event store, SQLite and PostgreSQL: a command's events and
its read-model rows commit together, concurrent commands each land once and read their own write, a conflict
fails only the command that caused it, and events others left unprojected are taken up in order."""

from __future__ import annotations

import threading
from uuid import UUID

import pytest

from api.container import Container
from domain.application import AccountApplication, BusinessCase
from infra.settings import Settings
from services import queries
from services import readmodel as rm
from services.audit import verify_chain
from services.authorisation import Action
from services.eventstore import ConcurrencyConflict
from tests.conftest import World


def _case(w: World, *runners: str) -> BusinessCase:
    return BusinessCase("Share school news", "Parents", "Newsletter", tuple(w.people[r] for r in runners), "open",
                        "facebook", "OakfieldNews")


def _all_projected(c: Container) -> bool:
    return c.projections.position() == c.recorder.max_notification_id()


@pytest.mark.parametrize("clients", [8])
def test_concurrent_commands_all_land_once_and_each_reads_its_own_write(world: World, clients: int) -> None:
    w = world
    principal = w.principal("alice")
    ids: list[UUID] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def client() -> None:
        try:
            for _ in range(5):
                app_id = w.c.applications.submit(principal, w.school, _case(w, "alice", "bob"))
                # read-your-writes: the moment the command returns, the read model shows it
                assert queries.get_application(w.c.engine, principal, app_id)["status"] == "submitted"
                with lock:
                    ids.append(app_id)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors[0]
    assert len(set(ids)) == clients * 5
    page = queries.list_applications(w.c.engine, principal, w.school, None, 200, None)
    assert {UUID(str(i["id"])) for i in page.items} >= set(ids)
    assert _all_projected(w.c)
    assert verify_chain(w.c.engine, w.c.recorder).ok


def test_of_two_writers_of_one_version_one_wins_and_the_other_writes_nothing(world: World) -> None:
    w = world
    alice = w.principal("alice")
    app_id = w.c.applications.submit(alice, w.school, _case(w, "alice", "bob"))
    copies = [w.c.applications.load(AccountApplication, app_id) for _ in range(2)]
    actor = alice.actor(Action.APPLICATION_WITHDRAW, w.school)
    for i, copy in enumerate(copies):
        assert copy is not None
        copy.withdraw(alice.id, f"copy {i}", actor, w.c.clock.now())
    events = w.event_count()
    assert copies[0] is not None and copies[1] is not None
    w.c.applications.commit(copies[0], by=alice)
    with pytest.raises(ConcurrencyConflict):
        w.c.applications.commit(copies[1], by=alice)
    assert w.event_count() == events + 1
    stored = w.c.applications.load(AccountApplication, app_id)
    assert stored is not None and stored.version == 2 and stored.status.value == "withdrawn"
    assert queries.get_application(w.c.engine, alice, app_id)["reason"] == "copy 0"
    assert verify_chain(w.c.engine, w.c.recorder).ok


def test_cached_principals_are_invalidated_only_by_what_they_are_made_of(world: World) -> None:
    w = world

    def principals_position() -> int:
        return rm.read_model_position(w.c.engine, rm.PRINCIPALS_CHANGED)

    before = principals_position()
    w.application("alice")  # an application changes no role, person or school
    assert principals_position() == before
    w.c.directory.add_staff(w.principal("admin"), w.school, "Dan", f"dan-{w.trust_id}@trust.example", ["staff"])
    moved = principals_position()
    assert moved > before
    assert moved <= w.c.projections.position()


def test_a_command_takes_up_what_other_writers_left_unprojected_in_order(world: World) -> None:
    """Two containers on one database stand for two web processes; events stored through the library without
    projecting them (as the bulk seed does) are projected by the next command, in id order, each once."""
    w = world
    other = Container(Settings(database_url=str(w.c.settings.database_url), db_pool_size=2), clock=w.c.clock)
    try:
        principal = w.principal("alice")
        ids = []
        for i in range(6):
            here = w.c if i % 2 else other
            if i == 3:  # stored by another writer and left for later
                app = AccountApplication.submit(UUID(int=i + 1_000_000), w.trust_id, w.school, principal.id,
                                                _case(w, "alice", "bob"),
                                                w.c.applications._runners((w.people["alice"], w.people["bob"]),
                                                                          w.trust_id),
                                                principal.actor(Action.APPLICATION_SUBMIT, w.school),
                                                w.c.clock.now())
                other.applications.save(app)
                ids.append(app.id)
                assert not _all_projected(w.c)
                continue
            app_id = here.applications.submit(principal, w.school, _case(w, "alice", "bob"))
            assert queries.get_application(here.engine, principal, app_id)["status"] == "submitted"
            ids.append(app_id)
        page = queries.list_applications(w.c.engine, principal, w.school, None, 200, None)
        assert {UUID(str(i["id"])) for i in page.items} >= set(ids)
        assert _all_projected(w.c)
        assert verify_chain(w.c.engine, w.c.recorder).ok
    finally:
        other.close()
