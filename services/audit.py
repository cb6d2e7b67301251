"""The audit trail: every event touching an entity, chain verification, and evidence bundles."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder
from sqlalchemy import Engine, func, select

from domain.chain import GENESIS, chain_link
from domain.errors import InvalidInput
from domain.incident import reference as incident_reference
from services import readmodel as rm
from services.authorisation import Action, Principal, can
from services.eventstore import NotFound
from services.incidents import Incidents
from services.ports import BundleBuilder, EvidenceStore
from services.queries import Row, incident_visible

# ----- listing -----


def _may_read_entity(engine: Engine, principal: Principal, entity_id: UUID) -> bool:
    """Trust team and DPO read any entity of their trust; others the trail of an incident they can see."""
    if can(principal, Action.AUDIT_READ, None):
        return True
    with rm.read_as(engine, principal) as conn:
        row = conn.execute(select(rm.incidents).where(rm.incidents.c.id == entity_id)).mappings().first()
    return row is not None and incident_visible(principal, row)


def audit_events(engine: Engine, principal: Principal, entity_id: UUID | None = None, school_id: UUID | None = None,
                 since: datetime | None = None, limit: int = 500) -> list[Row]:
    if entity_id is None and school_id is None:
        raise InvalidInput.one("entity_id", "give entity_id or school_id")
    if not 1 <= limit <= 5000:
        raise InvalidInput.one("limit", "must be between 1 and 5000")
    if school_id is not None and (school_id not in principal.trust_school_ids
                                  or not can(principal, Action.AUDIT_READ, school_id)):
        raise NotFound("school")
    if entity_id is not None and not _may_read_entity(engine, principal, entity_id):
        raise NotFound("entity")
    a, e = rm.audit_events, rm.audit_entities
    query = select(a).where(a.c.trust_id == principal.trust_id)
    if entity_id is not None:
        query = query.where(a.c.position.in_(select(e.c.position).where(e.c.entity_id == entity_id)))
    if school_id is not None:
        query = query.where(a.c.school_id == school_id)
    if since is not None:
        query = query.where(a.c.occurred_at >= since)
    with rm.read_as(engine, principal) as conn:
        rows = conn.execute(query.order_by(a.c.position).limit(limit)).mappings().all()
    if entity_id is not None and not rows:
        raise NotFound("entity")
    return [{"position": r["position"], "entity_id": r["originator_id"], "version": r["originator_version"],
             "type": r["event_type"], "occurred_at": r["occurred_at"], "school_id": r["school_id"],
             "actor": r["actor"], "reason": r["reason"], "data": r["data"]} for r in rows]


# ----- chain verification -----


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    head_position: int
    head_link: str
    broken_position: int | None = None
    problem: str | None = None


def verify_chain(engine: Engine, recorder: ApplicationRecorder, batch: int = 1000) -> Verification:
    """Recomputes every link from the stored events and compares with the chain; reports the first break:
    an altered event (its link differs), a deleted one (a chained position has no event) or an inserted one
    (an event below the chain head has no link)."""
    with engine.connect() as conn:
        chained_to = conn.execute(select(rm.projection_tracking.c.position)
                                  .where(rm.projection_tracking.c.name == "audit_chain")).scalar() or 0
    expected, checked, last_pos, after = GENESIS, 0, 0, 0
    pending: list[Any] = []
    chain_rows: list[Any] = []
    chain_after = 0
    while True:
        if not chain_rows:
            with engine.connect() as conn:
                chain_rows = list(conn.execute(select(rm.audit_chain).where(rm.audit_chain.c.position > chain_after)
                                               .order_by(rm.audit_chain.c.position).limit(batch)))
            if chain_rows:
                chain_after = chain_rows[-1].position
        if not pending:
            pending = list(recorder.select_notifications(after + 1, batch))
            if pending:
                after = pending[-1].id
        if not chain_rows:
            stray = next((n for n in pending if n.id <= chained_to), None)
            if stray is not None:
                return Verification(False, checked, last_pos, expected, stray.id,
                                    f"event at position {stray.id} is not in the chain (inserted)")
            return Verification(True, checked, last_pos, expected)
        link_row = chain_rows[0]
        event = pending[0] if pending else None
        if event is None or link_row.position < event.id:
            return Verification(False, checked, last_pos, expected, link_row.position,
                                f"event at position {link_row.position} is missing (deleted)")
        if event.id < link_row.position:
            return Verification(False, checked, last_pos, expected, event.id,
                                f"event at position {event.id} is not in the chain (inserted)")
        expected = chain_link(expected, event.id, str(event.originator_id), event.originator_version, event.topic,
                              bytes(event.state))
        if expected != link_row.link:
            return Verification(False, checked, last_pos, expected, event.id,
                                f"event at position {event.id} was altered (its link does not match)")
        checked, last_pos = checked + 1, event.id
        chain_rows.pop(0)
        pending.pop(0)


@dataclass(frozen=True)
class TrustVerification:
    """What a trust learns from verifying the chain (decision 0064): whether the whole chain verifies, and the
    figures of its own events. Nothing about another trust's activity: not the chain's length or head, nor where
    it breaks when the break is at another trust's event (the operator's `socialgov audit verify` says)."""
    ok: bool
    trust_events_checked: int
    last_position: int | None
    last_link: str | None
    broken_position: int | None = None
    problem: str | None = None


def verify_for_trust(engine: Engine, recorder: ApplicationRecorder, principal: Principal) -> TrustVerification:
    if not can(principal, Action.AUDIT_READ, None):
        raise NotFound("audit")
    chain = verify_chain(engine, recorder)
    a = rm.audit_events
    with rm.read_in(engine, principal.trust_id, None) as conn:
        checked, last = conn.execute(select(func.count(), func.max(a.c.position)).where(
            a.c.trust_id == principal.trust_id, a.c.position <= chain.head_position)).one()
        ours = chain.broken_position is not None and conn.execute(select(a.c.position).where(
            a.c.trust_id == principal.trust_id, a.c.position == chain.broken_position)).first() is not None
    with engine.connect() as conn:
        link = conn.execute(select(rm.audit_chain.c.link).where(rm.audit_chain.c.position == last)).scalar()
    if chain.ok or ours:
        return TrustVerification(chain.ok, checked, last, link, chain.broken_position, chain.problem)
    return TrustVerification(False, checked, last, link, None,
                             "the chain does not verify at an event of another trust; the service's operator has "
                             "the details (socialgov audit verify)")


# ----- evidence bundle -----

TITLES = {
    "IncidentReported": "Incident reported", "IncidentAssessed": "Initial assessment by SLT",
    "InvestigatorNamed": "Investigator named", "StaffInvolvementRecorded": "Staff involvement recorded",
    "AgencyInvolved": "External agency involved", "PoliceReferralMade": "Referred to the police",
    "DisciplinaryReferralMade": "Disciplinary referral", "IncidentNoteAdded": "Note added",
    "EvidenceAdded": "Evidence added", "ModerationActionTaken": "Moderation action taken",
    "TakedownStepRecorded": "Parent take-down step", "IncidentResolved": "Incident resolved",
    "IncidentReopened": "Incident reopened", "EvidenceBundleGenerated": "Evidence bundle generated",
}


def evidence_bundle(engine: Engine, recorder: ApplicationRecorder, incidents: Incidents, files: EvidenceStore,
                    builder: BundleBuilder, principal: Principal, incident_id: UUID, now: datetime) -> bytes:
    """Assembles and signs the bundle, then records that it was generated (an audited event)."""
    incident = incidents.visible(principal, incident_id)
    assert incident.school_id is not None
    if not can(principal, Action.INCIDENT_BUNDLE, incident.school_id):
        raise NotFound("incident")
    trail = audit_events(engine, principal, entity_id=incident_id, limit=5000)
    with rm.read_as(engine, principal) as conn:
        row = conn.execute(select(rm.incidents, rm.schools.c.name.label("school_name"))
                           .join(rm.schools, rm.schools.c.id == rm.incidents.c.school_id)
                           .where(rm.incidents.c.id == incident_id)).mappings().one()
        evidence = conn.execute(select(rm.evidence_files).where(rm.evidence_files.c.incident_id == incident_id)
                                .order_by(rm.evidence_files.c.added_at)).mappings().all()
        positions = [t["position"] for t in trail]
        links = {r.position: r.link for r in conn.execute(select(rm.audit_chain)
                                                           .where(rm.audit_chain.c.position.in_(positions)))}
        prevs = {p: conn.execute(select(rm.audit_chain.c.link).where(rm.audit_chain.c.position < p)
                                 .order_by(rm.audit_chain.c.position.desc()).limit(1)).scalar() or GENESIS
                 for p in positions}
        head = conn.execute(select(rm.audit_chain).order_by(rm.audit_chain.c.position.desc()).limit(1)).first()
    events = []
    for p in positions:
        [n] = recorder.select_notifications(p, 1)
        events.append({"position": n.id, "originator_id": str(n.originator_id),
                       "originator_version": n.originator_version, "topic": n.topic,
                       "state_b64": base64.b64encode(bytes(n.state)).decode(), "prev_link": prevs[p],
                       "link": links.get(p, "")})
    chronology = [{"at": t["occurred_at"].isoformat(), "what": TITLES.get(t["type"], t["type"]),
                   "who": f"{t['actor']['display_name']} ({t['actor']['role'] or t['actor']['kind']})",
                   "reason": t["reason"], "details": t["data"]} for t in trail]
    summary = {"id": str(row["id"]), "reference": incident_reference(row["id"]), "title": row["title"],
               "category": row["category"],
               "school_name": row["school_name"], "status": row["status"],
               "reported_at": row["reported_at"].isoformat(), "risk_level": row["risk_level"],
               "restricted": row["restricted"], "reporter_name": row["reporter_name"],
               "crime_reference": row["crime_reference"]}
    bundle_files = [(f["filename"], files.get(f["sha256"])) for f in evidence]
    head_position: int = head.position if head else 0
    chain_head: dict[str, Any] = {"position": head_position, "link": head.link if head else GENESIS}
    zipped, manifest_sha = builder.build(principal.trust_id, incident=summary, chronology=chronology, events=events,
                                         files=bundle_files, chain_head=chain_head, generated_at=now)
    incidents.record_bundle(principal, incident_id, manifest_sha, head_position)
    return zipped




def evidence_file(engine: Engine, files: EvidenceStore, principal: Principal, incident_id: UUID,
                  evidence_id: UUID) -> tuple[Row, bytes]:
    """One evidence file of an incident the caller can see: its record (file name, content type, SHA-256) and its
    bytes, checked against the SHA-256 recorded when it was added."""
    with rm.read_as(engine, principal) as conn:
        row = conn.execute(select(rm.incidents).where(rm.incidents.c.id == incident_id)).mappings().first()
        if row is None or row["trust_id"] != principal.trust_id or not incident_visible(principal, row):
            raise NotFound("incident")
        found = conn.execute(select(rm.evidence_files).where(rm.evidence_files.c.id == evidence_id,
                                                             rm.evidence_files.c.incident_id == incident_id)
                             ).mappings().first()
    if found is None:
        raise NotFound("evidence")
    data = files.get(found["sha256"])
    if hashlib.sha256(data).hexdigest() != found["sha256"]:
        raise RuntimeError(f"evidence file {evidence_id} does not match its recorded SHA-256")
    return dict(found), data
