"""An incident on a school's social media, from report to police referral and resolution.

What a school hands to the police, the LADO or a disciplinary panel: every step is an event with who, when
and why. Visibility is part of the model: a restricted incident (e.g. an allegation against staff) is seen only
by SLT members named on it and the trust team."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from domain.errors import FieldError, InvalidInput, InvalidTransition
from domain.events import Actor, Aggregate, DomainEvent
from domain.values import short_reference


class Category(StrEnum):
    BULLYING = "bullying"
    DEFAMATORY = "defamatory"
    DISCRIMINATORY = "discriminatory"
    OFFENSIVE = "offensive"
    HARASSING = "harassing"
    DATA_PROTECTION_BREACH = "data_protection_breach"
    CONFIDENTIALITY = "confidentiality"
    COPYRIGHT = "copyright"
    EQUALITY = "equality"
    COMPROMISING_IMAGE = "compromising_image"
    JOURNALIST_CONTACT = "journalist_contact"
    OTHER = "other"


class RiskLevel(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Agency(StrEnum):
    POLICE = "police"
    LADO = "lado"
    CHILDRENS_SERVICES = "childrens_services"
    ICO = "ico"
    PLATFORM = "platform"


class ModerationKind(StrEnum):
    BLOCK = "block"
    REPORT = "report"
    DELETE = "delete"
    HIDE = "hide"


class TakedownStep(StrEnum):
    REMOVAL_REQUESTED = "removal_requested"
    DISCUSSION_INVITED = "discussion_invited"
    COMPLAINTS_PROCEDURE_REFERRED = "complaints_procedure_referred"


class InvolvedKind(StrEnum):
    STAFF = "staff"
    PUPIL = "pupil"
    PARENT = "parent"
    EXTERNAL = "external"


class IncidentStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


def reference(incident_id: UUID) -> str:
    """The short reference people quote for an incident ("INC-3F9A-07C2"), the same wherever the incident appears:
    its pages, the API, the evidence bundle."""
    return f"INC-{short_reference(incident_id)}"


def _choice(errors: list[FieldError], field: str, value: str, enum: type[StrEnum]) -> None:
    if value not in {e.value for e in enum}:
        errors.append(FieldError(field, "must be one of " + ", ".join(e.value for e in enum)))


def _text(errors: list[FieldError], field: str, value: str | None, limit: int, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        errors.append(FieldError(field, "must not be empty"))
    elif len(value) > limit:
        errors.append(FieldError(field, f"must be at most {limit} characters"))
    return value


@dataclass(frozen=True, kw_only=True)
class IncidentReported(DomainEvent):
    title: str
    category: str
    description: str
    happened_at: datetime
    reporter_id: UUID
    involved: list[dict[str, str]]
    account_id: UUID | None
    post_ref: str | None
    interaction_id: UUID | None
    restricted: bool
    named_slt_ids: list[UUID]


@dataclass(frozen=True, kw_only=True)
class IncidentAssessed(DomainEvent):
    risk_level: str
    safeguarding_concern: bool
    immediate_actions: str
    assessor_id: UUID


@dataclass(frozen=True, kw_only=True)
class InvestigatorNamed(DomainEvent):
    person_id: UUID


@dataclass(frozen=True, kw_only=True)
class StaffInvolvementRecorded(DomainEvent):
    person_id: UUID
    involvement: str


@dataclass(frozen=True, kw_only=True)
class AgencyInvolved(DomainEvent):
    agency: str
    reference: str | None
    contact: str | None


@dataclass(frozen=True, kw_only=True)
class PoliceReferralMade(DomainEvent):
    crime_reference: str
    officer: str
    referred_on: date


@dataclass(frozen=True, kw_only=True)
class DisciplinaryReferralMade(DomainEvent):
    subject_id: UUID
    summary: str


@dataclass(frozen=True, kw_only=True)
class IncidentNoteAdded(DomainEvent):
    text: str


@dataclass(frozen=True, kw_only=True)
class EvidenceAdded(DomainEvent):
    evidence_id: UUID
    filename: str
    content_type: str
    size: int
    sha256: str
    description: str | None


@dataclass(frozen=True, kw_only=True)
class ModerationActionTaken(DomainEvent):
    """`reason` is what the audience was told, as the policy requires ("inform the audience exactly why")."""

    action: str
    target: str


@dataclass(frozen=True, kw_only=True)
class TakedownStepRecorded(DomainEvent):
    step: str
    parent_name: str | None
    notes: str | None


@dataclass(frozen=True, kw_only=True)
class IncidentResolved(DomainEvent):
    outcome: str


@dataclass(frozen=True, kw_only=True)
class IncidentReopened(DomainEvent):
    pass


@dataclass(frozen=True, kw_only=True)
class EvidenceBundleGenerated(DomainEvent):
    manifest_sha256: str
    chain_position: int


@dataclass(frozen=True)
class Report:
    title: str
    category: str
    description: str
    happened_at: datetime
    involved: list[dict[str, str]]
    account_id: UUID | None = None
    post_ref: str | None = None
    interaction_id: UUID | None = None
    restricted: bool = False
    named_slt_ids: tuple[UUID, ...] = ()


def validate_report(report: Report, now: datetime) -> Report:
    errors: list[FieldError] = []
    title = _text(errors, "title", report.title, 200)
    description = _text(errors, "description", report.description, 10000)
    _choice(errors, "category", report.category, Category)
    if report.happened_at.tzinfo is None:
        errors.append(FieldError("happened_at", "must include a UTC offset"))
    elif report.happened_at > now:
        errors.append(FieldError("happened_at", "must not be in the future"))
    involved = []
    for i, item in enumerate(report.involved):
        kind, name = item.get("kind", ""), (item.get("name") or "").strip()
        _choice(errors, f"involved[{i}].kind", kind, InvolvedKind)
        if not name or len(name) > 200:
            errors.append(FieldError(f"involved[{i}].name", "must be 1-200 characters"))
        involved.append({"kind": kind, "name": name})
    if report.post_ref is not None and len(report.post_ref) > 500:
        errors.append(FieldError("post_ref", "must be at most 500 characters"))
    if report.restricted and not report.named_slt_ids:
        errors.append(FieldError("named_slt_ids", "a restricted incident must name the SLT members who may see it"))
    if errors:
        raise InvalidInput(errors)
    return Report(title, report.category, description, report.happened_at, involved, report.account_id,
                  report.post_ref, report.interaction_id, report.restricted, tuple(dict.fromkeys(report.named_slt_ids)))


class Incident(Aggregate):
    def __init__(self, id: UUID) -> None:
        super().__init__(id)
        self.trust_id: UUID | None = None
        self.school_id: UUID | None = None
        self.title = ""
        self.reporter_id: UUID | None = None
        self.restricted = False
        self.named_slt_ids: set[UUID] = set()
        self.investigator_ids: set[UUID] = set()
        self.status = IncidentStatus.OPEN
        self.assessed = False
        self.reported_at: datetime | None = None
        self.evidence_hashes: set[str] = set()

    @property
    def _ids(self) -> tuple[UUID, UUID]:
        assert self.trust_id is not None and self.school_id is not None
        return self.trust_id, self.school_id

    def _open(self) -> None:
        if self.status is not IncidentStatus.OPEN:
            raise InvalidTransition("the incident is resolved: reopen it first")

    @classmethod
    def report(cls, id: UUID, trust_id: UUID, school_id: UUID, reporter_id: UUID, report: Report, actor: Actor,
               at: datetime) -> Incident:
        r = validate_report(report, at)
        incident = cls(id)
        incident._trigger(IncidentReported(
            **incident.header(at, actor, trust_id, school_id), title=r.title, category=r.category,
            description=r.description, happened_at=r.happened_at, reporter_id=reporter_id, involved=r.involved,
            account_id=r.account_id, post_ref=r.post_ref, interaction_id=r.interaction_id, restricted=r.restricted,
            named_slt_ids=list(r.named_slt_ids)))
        return incident

    def assess(self, assessor_id: UUID, risk_level: str, safeguarding_concern: bool, immediate_actions: str,
               actor: Actor, at: datetime) -> None:
        self._open()
        errors: list[FieldError] = []
        _choice(errors, "risk_level", risk_level, RiskLevel)
        actions = _text(errors, "immediate_actions", immediate_actions, 5000)
        if errors:
            raise InvalidInput(errors)
        self._trigger(IncidentAssessed(**self.header(at, actor, *self._ids), risk_level=risk_level,
                                       safeguarding_concern=safeguarding_concern, immediate_actions=actions,
                                       assessor_id=assessor_id))

    def name_investigator(self, person_id: UUID, actor: Actor, at: datetime) -> None:
        self._open()
        if person_id in self.investigator_ids:
            return
        self._trigger(InvestigatorNamed(**self.header(at, actor, *self._ids), person_id=person_id))

    def record_staff_involvement(self, person_id: UUID, involvement: str, actor: Actor, at: datetime) -> None:
        self._open()
        errors: list[FieldError] = []
        text = _text(errors, "involvement", involvement, 2000)
        if errors:
            raise InvalidInput(errors)
        self._trigger(StaffInvolvementRecorded(**self.header(at, actor, *self._ids), person_id=person_id,
                                               involvement=text))

    def involve_agency(self, agency: str, reference: str | None, contact: str | None, notes: str | None,
                       actor: Actor, at: datetime) -> None:
        errors: list[FieldError] = []
        _choice(errors, "agency", agency, Agency)
        ref = _text(errors, "reference", reference, 100, required=False) or None
        who = _text(errors, "contact", contact, 200, required=False) or None
        if errors:
            raise InvalidInput(errors)
        self._trigger(AgencyInvolved(**self.header(at, actor, *self._ids), agency=agency, reference=ref, contact=who,
                                     reason=(notes or "").strip() or None))

    def refer_to_police(self, crime_reference: str, officer: str, referred_on: date, today: date, actor: Actor,
                        at: datetime) -> None:
        errors: list[FieldError] = []
        ref = _text(errors, "crime_reference", crime_reference, 100)
        name = _text(errors, "officer", officer, 200)
        if referred_on > today:
            errors.append(FieldError("referred_on", "must not be in the future"))
        if errors:
            raise InvalidInput(errors)
        self._trigger(PoliceReferralMade(**self.header(at, actor, *self._ids), crime_reference=ref, officer=name,
                                         referred_on=referred_on))

    def refer_to_disciplinary(self, subject_id: UUID, summary: str, actor: Actor, at: datetime) -> None:
        errors: list[FieldError] = []
        text = _text(errors, "summary", summary, 5000)
        if errors:
            raise InvalidInput(errors)
        self._trigger(DisciplinaryReferralMade(**self.header(at, actor, *self._ids), subject_id=subject_id,
                                               summary=text))

    def add_note(self, text: str, actor: Actor, at: datetime) -> None:
        errors: list[FieldError] = []
        note = _text(errors, "text", text, 10000)
        if errors:
            raise InvalidInput(errors)
        self._trigger(IncidentNoteAdded(**self.header(at, actor, *self._ids), text=note))

    def add_evidence(self, evidence_id: UUID, filename: str, content_type: str, size: int, sha256: str,
                     description: str | None, actor: Actor, at: datetime) -> None:
        self._trigger(EvidenceAdded(**self.header(at, actor, *self._ids), evidence_id=evidence_id, filename=filename,
                                    content_type=content_type, size=size, sha256=sha256,
                                    description=(description or "").strip() or None))

    def take_moderation_action(self, action: str, target: str, told_audience: str, actor: Actor,
                               at: datetime) -> None:
        errors: list[FieldError] = []
        _choice(errors, "action", action, ModerationKind)
        tgt = _text(errors, "target", target, 500)
        told = _text(errors, "reason", told_audience, 2000)
        if errors:
            raise InvalidInput(errors)
        self._trigger(ModerationActionTaken(**self.header(at, actor, *self._ids), action=action, target=tgt,
                                            reason=told))

    def record_takedown_step(self, step: str, parent_name: str | None, notes: str | None, actor: Actor,
                             at: datetime) -> None:
        errors: list[FieldError] = []
        _choice(errors, "step", step, TakedownStep)
        name = _text(errors, "parent_name", parent_name, 200, required=False) or None
        text = _text(errors, "notes", notes, 5000, required=False) or None
        if errors:
            raise InvalidInput(errors)
        self._trigger(TakedownStepRecorded(**self.header(at, actor, *self._ids), step=step, parent_name=name,
                                           notes=text))

    def resolve(self, outcome: str, actor: Actor, at: datetime) -> None:
        self._open()
        errors: list[FieldError] = []
        text = _text(errors, "outcome", outcome, 5000)
        if errors:
            raise InvalidInput(errors)
        self._trigger(IncidentResolved(**self.header(at, actor, *self._ids), outcome=text))

    def reopen(self, reason: str, actor: Actor, at: datetime) -> None:
        if self.status is not IncidentStatus.RESOLVED:
            raise InvalidTransition("only a resolved incident can be reopened")
        errors: list[FieldError] = []
        text = _text(errors, "reason", reason, 2000)
        if errors:
            raise InvalidInput(errors)
        self._trigger(IncidentReopened(**self.header(at, actor, *self._ids), reason=text))

    def record_bundle(self, manifest_sha256: str, chain_position: int, actor: Actor, at: datetime) -> None:
        self._trigger(EvidenceBundleGenerated(**self.header(at, actor, *self._ids), manifest_sha256=manifest_sha256,
                                              chain_position=chain_position))

    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, IncidentReported):
            self.trust_id, self.school_id = event.trust_id, event.school_id
            self.title, self.reporter_id = event.title, event.reporter_id
            self.restricted, self.named_slt_ids = event.restricted, set(event.named_slt_ids)
            self.reported_at = event.occurred_at
        elif isinstance(event, IncidentAssessed):
            self.assessed = True
        elif isinstance(event, InvestigatorNamed):
            self.investigator_ids.add(event.person_id)
        elif isinstance(event, EvidenceAdded):
            self.evidence_hashes.add(event.sha256)
        elif isinstance(event, IncidentResolved):
            self.status = IncidentStatus.RESOLVED
        elif isinstance(event, IncidentReopened):
            self.status = IncidentStatus.OPEN
