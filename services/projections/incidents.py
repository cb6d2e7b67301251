"""Incidents and their evidence files."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from domain import incident as inc
from domain.calendar import add_working_days
from domain.events import DomainEvent
from domain.values import Nation
from services import readmodel as rm
from services.projections.batch import Batch, person_name
from services.projections.directory import Handler

LONDON = ZoneInfo("Europe/London")


def _touch(b: Batch, e: DomainEvent, **values: Any) -> None:
    b.update(rm.incidents, e.originator_id, version=e.originator_version, **values)


def _reported(b: Batch, e: inc.IncidentReported) -> None:
    nation = b.execute(select(rm.schools.c.nation).where(rm.schools.c.id == e.school_id)).scalar() or "england"
    days = b.execute(select(rm.trusts.c.assessment_working_days).where(rm.trusts.c.id == e.trust_id)).scalar()
    due = add_working_days(e.occurred_at.astimezone(LONDON), days or 1, Nation(nation))
    name = person_name(b, e.reporter_id, e.actor)
    b.insert(
        rm.incidents,
        id=e.originator_id,
        trust_id=e.trust_id,
        school_id=e.school_id,
        title=e.title,
        category=e.category,
        description=e.description,
        happened_at=e.happened_at,
        reported_at=e.occurred_at,
        reporter_id=e.reporter_id,
        reporter_name=name or e.actor.display_name,
        involved=e.involved,
        account_id=e.account_id,
        post_ref=e.post_ref,
        interaction_id=e.interaction_id,
        restricted=e.restricted,
        named_slt_ids=[str(i) for i in e.named_slt_ids],
        investigator_ids=[],
        status=inc.IncidentStatus.OPEN.value,
        risk_level=None,
        safeguarding_concern=None,
        assessed_at=None,
        assessment_due_at=due,
        police_referred_at=None,
        crime_reference=None,
        agencies=[],
        moderation_actions=[],
        takedown_steps=[],
        evidence_count=0,
        resolved_at=None,
        outcome=None,
        version=e.originator_version,
    )


def _assessed(b: Batch, e: inc.IncidentAssessed) -> None:
    _touch(b, e, risk_level=e.risk_level, safeguarding_concern=e.safeguarding_concern, assessed_at=e.occurred_at)


def _investigator(b: Batch, e: inc.InvestigatorNamed) -> None:
    current = b.execute(select(rm.incidents.c.investigator_ids).where(rm.incidents.c.id == e.originator_id)).scalar()
    _touch(b, e, investigator_ids=[*(current or []), str(e.person_id)])


def _agency(b: Batch, e: inc.AgencyInvolved) -> None:
    current = b.execute(select(rm.incidents.c.agencies).where(rm.incidents.c.id == e.originator_id)).scalar()
    _touch(b, e, agencies=[*(current or []), {"agency": e.agency, "reference": e.reference}])


def _police(b: Batch, e: inc.PoliceReferralMade) -> None:
    current = b.execute(select(rm.incidents.c.agencies).where(rm.incidents.c.id == e.originator_id)).scalar()
    _touch(
        b,
        e,
        police_referred_at=e.occurred_at,
        crime_reference=e.crime_reference,
        agencies=[*(current or []), {"agency": "police", "reference": e.crime_reference}],
    )


def _evidence(b: Batch, e: inc.EvidenceAdded) -> None:
    b.insert(
        rm.evidence_files,
        id=e.evidence_id,
        incident_id=e.originator_id,
        trust_id=e.trust_id,
        school_id=e.school_id,
        filename=e.filename,
        content_type=e.content_type,
        size=e.size,
        sha256=e.sha256,
        description=e.description,
        added_at=e.occurred_at,
        added_by=e.actor.display_name,
    )
    count = b.execute(select(rm.incidents.c.evidence_count).where(rm.incidents.c.id == e.originator_id)).scalar()
    _touch(b, e, evidence_count=(count or 0) + 1)


def _by(e: DomainEvent) -> dict[str, Any]:
    return {"by": e.actor.display_name, "role": e.actor.role, "at": e.occurred_at.isoformat()}


def _moderation(b: Batch, e: inc.ModerationActionTaken) -> None:
    t = rm.incidents
    current = b.execute(select(t.c.moderation_actions).where(t.c.id == e.originator_id)).scalar()
    done = {"action": e.action, "target": e.target, "reason": e.reason, **_by(e)}
    _touch(b, e, moderation_actions=[*(current or []), done])


def _takedown(b: Batch, e: inc.TakedownStepRecorded) -> None:
    t = rm.incidents
    current = b.execute(select(t.c.takedown_steps).where(t.c.id == e.originator_id)).scalar()
    step = {"step": e.step, "parent_name": e.parent_name, "notes": e.notes, **_by(e)}
    _touch(b, e, takedown_steps=[*(current or []), step])


def _resolved(b: Batch, e: inc.IncidentResolved) -> None:
    _touch(b, e, status=inc.IncidentStatus.RESOLVED.value, resolved_at=e.occurred_at, outcome=e.outcome)


def _reopened(b: Batch, e: inc.IncidentReopened) -> None:
    _touch(b, e, status=inc.IncidentStatus.OPEN.value, resolved_at=None)


def _version(b: Batch, e: Any) -> None:
    _touch(b, e)


HANDLERS: dict[type[DomainEvent], Handler] = {
    inc.IncidentReported: _reported,
    inc.IncidentAssessed: _assessed,
    inc.InvestigatorNamed: _investigator,
    inc.StaffInvolvementRecorded: _version,
    inc.AgencyInvolved: _agency,
    inc.PoliceReferralMade: _police,
    inc.DisciplinaryReferralMade: _version,
    inc.IncidentNoteAdded: _version,
    inc.EvidenceAdded: _evidence,
    inc.ModerationActionTaken: _moderation,
    inc.TakedownStepRecorded: _takedown,
    inc.IncidentResolved: _resolved,
    inc.IncidentReopened: _reopened,
    inc.EvidenceBundleGenerated: _version,
}
