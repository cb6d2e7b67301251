"""New records get time-ordered ids (services/ids.py; decision 0043): UUIDv7, as the standard library's UUID type,
each sorting after the one before, so that a batch's inserts share the last page of every index keyed on them."""

from __future__ import annotations

import uuid
from uuid import UUID

from services.ids import new_id
from tests.conftest import World


def test_new_ids_are_version_7_standard_uuids_in_the_order_made() -> None:
    ids = [new_id() for _ in range(5000)]  # more than one per millisecond: still strictly ordered
    assert all(type(i) is uuid.UUID and i.version == 7 and i.variant == uuid.RFC_4122 for i in ids)
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert [i.hex for i in ids] == sorted(i.hex for i in ids)  # as the read model's CHAR(32) columns sort them


def test_records_made_through_the_api_have_time_ordered_ids(world: World) -> None:
    w = world
    first, second = w.application("carol"), w.application("carol")
    assert first.version == second.version == 7 and first < second
    school = w.c.directory.add_school(w.principal("admin"), "Ordered Primary", "123999", "england")
    assert UUID(str(school)).version == 7
    assert w.event_count() > 0 and w.c.applications.events.get(first)  # stored and read back under its new id
