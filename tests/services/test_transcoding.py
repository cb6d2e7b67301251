"""The event mapper's fast UUID decoding gives ordinary UUIDs, and events round-trip through the store's form."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from domain.school import School
from services.directory import system_actor
from services.eventstore import UUIDFromHex, build_mapper
from tests.conftest import T0


@given(st.uuids())
def test_decoded_uuids_are_ordinary_uuids(u: uuid.UUID) -> None:
    t = UUIDFromHex()
    back = t.decode(t.encode(u))
    assert back == u and hash(back) == hash(u) and str(back) == str(u) and back.hex == u.hex
    assert type(back) is uuid.UUID and back.version == u.version and {back: 1}[u] == 1
    assert back.is_safe == uuid.SafeUUID.unknown


def test_events_round_trip_through_the_mapper() -> None:
    mapper = build_mapper()
    school = School.add(uuid.uuid4(), uuid.uuid4(), "Oak School", "123456", "england", system_actor("test"), T0)
    [event] = school.collect_events()
    back = mapper.to_domain_event(mapper.to_stored_event(event))
    assert back == event
    assert type(back.trust_id) is uuid.UUID and back.trust_id == event.trust_id
