"""Incidents: report, assessment, agencies, police and disciplinary referral, evidence, moderation, parent
take-down requests, resolution, and the evidence bundle."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder

from domain.errors import FieldError, InvalidInput
from domain.incident import Incident, Report
from domain.person import Person
from domain.values import Role
from services.authorisation import Action, Principal, can, can_see_incident
from services.event_log import EventLog
from services.eventstore import ContextApplication, Forbidden, NotFound
from services.ids import new_id
from services.ports import Clock, EvidenceStore, today_in_london

MAX_EVIDENCE_BYTES = 20 * 1024 * 1024
EVIDENCE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain",
                  "text/csv", "message/rfc822", "video/mp4", "audio/mpeg", "application/json"}

T = TypeVar("T")


def check_evidence(filename: str, content_type: str, data: bytes, description: str | None) -> tuple[str, str]:
    """The evidence rules (every broken one at once): a file name, not empty, at most MAX_EVIDENCE_BYTES, of an
    accepted type; returns the file's base name and its content type. A form that reports an incident and attaches
    its evidence in one step checks the file first, so a refused file leaves nothing reported."""
    errors = []
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not name or len(name) > 255:
        errors.append(FieldError("file", "needs a file name of at most 255 characters"))
    if not data:
        errors.append(FieldError("file", "is empty"))
    elif len(data) > MAX_EVIDENCE_BYTES:
        errors.append(FieldError("file", f"is larger than {MAX_EVIDENCE_BYTES // (1024 * 1024)} MB"))
    ctype = content_type.split(";")[0].strip().lower()
    if ctype not in EVIDENCE_TYPES:
        errors.append(FieldError("file", f"type {ctype or 'unknown'} is not accepted; use one of "
                                         + ", ".join(sorted(EVIDENCE_TYPES))))
    if description is not None and len(description) > 2000:
        errors.append(FieldError("description", "must be at most 2000 characters"))
    if errors:
        raise InvalidInput(errors)
    return name, ctype


class Incidents(ContextApplication):
    name = "incidents"

    def __init__(self, recorder: ApplicationRecorder, clock: Clock, log: EventLog, files: EvidenceStore) -> None:
        super().__init__(recorder, clock, log)
        self.files = files

    def visible(self, principal: Principal, incident_id: UUID) -> Incident:
        incident = self.load(Incident, incident_id)
        if incident is None or incident.trust_id != principal.trust_id or incident.school_id is None \
                or incident.reporter_id is None:
            raise NotFound("incident")
        if not can_see_incident(principal, incident.school_id, incident.restricted,
                                frozenset(incident.named_slt_ids), incident.reporter_id,
                                frozenset(incident.investigator_ids)):
            raise NotFound("incident")
        return incident

    def _act(self, principal: Principal, incident_id: UUID, action: Action | None,
             change: Callable[[Incident, Any, datetime], T]) -> T:
        """Loads a visible incident, checks `action` (None: anyone who can see it), applies, commits."""
        incident = self.visible(principal, incident_id)
        assert incident.school_id is not None
        if action is not None and not can(principal, action, incident.school_id):
            raise Forbidden(action.refusal)
        actor = principal.actor(action or Action.INCIDENT_REPORT, incident.school_id)
        result = change(incident, actor, self.clock.now())
        self.commit(incident, by=principal)
        return result

    def _slt_of(self, principal: Principal, school_id: UUID, ids: tuple[UUID, ...], field: str) -> None:
        errors = []
        for i, person_id in enumerate(ids):
            person = self.load(Person, person_id)
            if person is None or person.trust_id != principal.trust_id or \
                    not person.has_role_at(school_id, frozenset({Role.SLT}), today_in_london(self.clock)):
                errors.append(FieldError(f"{field}[{i}]", "is not a member of this school's leadership team"))
        if errors:
            raise InvalidInput(errors)

    def report(self, principal: Principal, school_id: UUID, report: Report) -> UUID:
        if school_id not in principal.visible_school_ids:
            raise NotFound("school")
        if not can(principal, Action.INCIDENT_REPORT, school_id):
            raise Forbidden("you cannot report incidents at this school")
        self._slt_of(principal, school_id, report.named_slt_ids, "named_slt_ids")
        incident = Incident.report(new_id(), principal.trust_id, school_id, principal.id, report,
                                   principal.actor(Action.INCIDENT_REPORT, school_id), self.clock.now())
        self.commit(incident, by=principal)
        return incident.id

    def assess(self, principal: Principal, incident_id: UUID, risk_level: str, safeguarding_concern: bool,
               immediate_actions: str, investigator_ids: tuple[UUID, ...]) -> None:
        def change(i: Incident, actor: Any, at: datetime) -> None:
            i.assess(principal.id, risk_level, safeguarding_concern, immediate_actions, actor, at)
            for person_id in investigator_ids:
                self._require_person(principal, person_id, "investigator_ids")
                i.name_investigator(person_id, actor, at)
        self._act(principal, incident_id, Action.INCIDENT_MANAGE, change)

    def _require_person(self, principal: Principal, person_id: UUID, field: str) -> None:
        person = self.load(Person, person_id)
        if person is None or person.trust_id != principal.trust_id:
            raise InvalidInput.one(field, "is not a person of this trust")

    def record_staff_involvement(self, principal: Principal, incident_id: UUID, person_id: UUID,
                                 involvement: str) -> None:
        self._require_person(principal, person_id, "person_id")
        self._act(principal, incident_id, Action.INCIDENT_MANAGE,
                  lambda i, a, t: i.record_staff_involvement(person_id, involvement, a, t))

    def involve_agency(self, principal: Principal, incident_id: UUID, agency: str, reference: str | None,
                       contact: str | None, notes: str | None) -> None:
        self._act(principal, incident_id, Action.INCIDENT_MANAGE,
                  lambda i, a, t: i.involve_agency(agency, reference, contact, notes, a, t))

    def refer_to_police(self, principal: Principal, incident_id: UUID, crime_reference: str, officer: str,
                        referred_on: date) -> None:
        today = today_in_london(self.clock)
        self._act(principal, incident_id, Action.INCIDENT_MANAGE,
                  lambda i, a, t: i.refer_to_police(crime_reference, officer, referred_on, today, a, t))

    def refer_to_disciplinary(self, principal: Principal, incident_id: UUID, subject_id: UUID, summary: str) -> None:
        self._require_person(principal, subject_id, "subject_id")
        self._act(principal, incident_id, Action.INCIDENT_MANAGE,
                  lambda i, a, t: i.refer_to_disciplinary(subject_id, summary, a, t))

    def add_note(self, principal: Principal, incident_id: UUID, text: str) -> None:
        self._act(principal, incident_id, None, lambda i, a, t: i.add_note(text, a, t))

    def add_evidence(self, principal: Principal, incident_id: UUID, filename: str, content_type: str, data: bytes,
                     description: str | None) -> UUID:
        name, ctype = check_evidence(filename, content_type, data, description)
        self.visible(principal, incident_id)  # 404 before storing anything
        digest = hashlib.sha256(data).hexdigest()
        evidence_id = new_id()

        def change(i: Incident, actor: Any, at: datetime) -> None:
            stored = self.files.put(data)
            assert stored == digest
            i.add_evidence(evidence_id, name, ctype, len(data), digest, description, actor, at)
        self._act(principal, incident_id, None, change)
        return evidence_id

    def take_moderation_action(self, principal: Principal, incident_id: UUID, action: str, target: str,
                               told_audience: str) -> None:
        self._act(principal, incident_id, Action.INCIDENT_MODERATE,
                  lambda i, a, t: i.take_moderation_action(action, target, told_audience, a, t))

    def record_takedown_step(self, principal: Principal, incident_id: UUID, step: str, parent_name: str | None,
                             notes: str | None) -> None:
        self._act(principal, incident_id, Action.INCIDENT_MODERATE,
                  lambda i, a, t: i.record_takedown_step(step, parent_name, notes, a, t))

    def resolve(self, principal: Principal, incident_id: UUID, outcome: str) -> None:
        self._act(principal, incident_id, Action.INCIDENT_MANAGE, lambda i, a, t: i.resolve(outcome, a, t))

    def reopen(self, principal: Principal, incident_id: UUID, reason: str) -> None:
        self._act(principal, incident_id, Action.INCIDENT_MANAGE, lambda i, a, t: i.reopen(reason, a, t))

    def record_bundle(self, principal: Principal, incident_id: UUID, manifest_sha256: str, position: int) -> None:
        self._act(principal, incident_id, Action.INCIDENT_BUNDLE,
                  lambda i, a, t: i.record_bundle(manifest_sha256, position, a, t))
