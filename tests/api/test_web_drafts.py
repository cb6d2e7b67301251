"""infra/drafts.py on SQLite and PostgreSQL: a person's answers on a multi-page form are kept per form, replaced
on save, gone once discarded or expired."""

from __future__ import annotations

import threading
from datetime import timedelta

from api.container import Container
from infra.drafts import Drafts
from services.ids import new_id
from tests.conftest import T0


def test_answers_are_kept_per_person_and_form_and_replaced_on_save(container: Container) -> None:
    drafts = Drafts(container.engine)
    me, someone = new_id(), new_id()
    assert drafts.get(me, "application:a", T0) == {}
    drafts.save(me, "application:a", {"aim": "Share news", "runner_ids": ["x", "y"]}, T0)
    drafts.save(someone, "application:a", {"aim": "Theirs"}, T0)
    drafts.save(me, "application:b", {"aim": "Other school"}, T0)
    assert drafts.get(me, "application:a", T0) == {"aim": "Share news", "runner_ids": ["x", "y"]}
    drafts.save(me, "application:a", {"aim": "Changed"}, T0 + timedelta(minutes=1))
    assert drafts.get(me, "application:a", T0) == {"aim": "Changed"}
    assert drafts.get(someone, "application:a", T0) == {"aim": "Theirs"}
    drafts.discard(me, "application:a")
    assert drafts.get(me, "application:a", T0) == {}
    assert drafts.get(me, "application:b", T0) == {"aim": "Other school"}


def test_a_draft_expires_a_week_after_its_last_change(container: Container) -> None:
    drafts = Drafts(container.engine)
    me = new_id()
    drafts.save(me, "application:a", {"aim": "Old"}, T0)
    assert drafts.get(me, "application:a", T0 + timedelta(days=6)) == {"aim": "Old"}
    assert drafts.get(me, "application:a", T0 + timedelta(days=7)) == {}
    drafts.save(new_id(), "application:a", {}, T0 + timedelta(days=8))  # saving removes expired drafts
    drafts.save(me, "application:a", {"aim": "New"}, T0 + timedelta(days=8))
    assert drafts.get(me, "application:a", T0 + timedelta(days=8)) == {"aim": "New"}


def test_two_saves_at_once_do_not_collide(container: Container) -> None:
    drafts = Drafts(container.engine)
    me = new_id()
    errors: list[BaseException] = []

    def save(n: int) -> None:
        try:
            for i in range(10):
                drafts.save(me, "application:a", {"aim": f"{n}-{i}"}, T0)
        except BaseException as e:  # pragma: no cover - the failure this test looks for
            errors.append(e)

    threads = [threading.Thread(target=save, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert drafts.get(me, "application:a", T0)["aim"] in {"0-9", "1-9"}
