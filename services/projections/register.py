"""Integration clients and the pupils' image-consent register."""

from __future__ import annotations

from dataclasses import fields

from domain import integration as ig
from domain import pupil as pu
from domain.events import DomainEvent
from services import readmodel as rm
from services.projections.batch import Batch
from services.projections.directory import Handler

RECORD_FIELDS = [f.name for f in fields(pu.PupilRecord)]


def _client(b: Batch, e: ig.IntegrationClientRegistered) -> None:
    b.insert(rm.integration_clients, id=e.originator_id, trust_id=e.trust_id, name=e.name, scopes=e.scopes,
             revoked=False, registered_at=e.occurred_at, revoked_at=None)


def _revoked(b: Batch, e: ig.IntegrationClientRevoked) -> None:
    b.update(rm.integration_clients, e.originator_id, revoked=True, revoked_at=e.occurred_at)


def _pupil(b: Batch, e: pu.PupilRecordUpdated) -> None:
    values = {name: getattr(e, name) for name in RECORD_FIELDS}
    if e.originator_version == 1:
        b.insert(rm.pupils, id=e.originator_id, trust_id=e.trust_id, school_id=e.school_id,
                 version=e.originator_version, updated_at=e.occurred_at, **values)
    else:
        b.update(rm.pupils, e.originator_id, version=e.originator_version, updated_at=e.occurred_at, **values)


HANDLERS: dict[type[DomainEvent], Handler] = {
    ig.IntegrationClientRegistered: _client,
    ig.IntegrationClientRevoked: _revoked,
    pu.PupilRecordUpdated: _pupil,
}

