"""Incidents, moderation, evidence and the audit trail."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery, JSONBody, MultipartBody, QueryParameter

from api.routes.common import Caller, OneOf, container, read_again_if_dropped
from domain.errors import InvalidInput
from domain.incident import Agency, Category, InvolvedKind, ModerationKind, Report, RiskLevel, TakedownStep
from services import audit, queries
from services.authorisation import Principal
from services.eventstore import NotFound


class Involved(msgspec.Struct, forbid_unknown_fields=True):
    kind: OneOf[InvolvedKind]
    name: str


class IncidentIn(msgspec.Struct, forbid_unknown_fields=True):
    title: str
    category: OneOf[Category]
    description: str
    happened_at: datetime
    involved: list[Involved] = msgspec.field(default_factory=list)
    account_id: UUID | None = None
    post_ref: str | None = None
    interaction_id: UUID | None = None
    restricted: bool = False
    named_slt_ids: list[UUID] = msgspec.field(default_factory=list)


class AssessmentIn(msgspec.Struct, forbid_unknown_fields=True):
    risk_level: OneOf[RiskLevel]
    safeguarding_concern: bool
    immediate_actions: str
    investigator_ids: list[UUID] = msgspec.field(default_factory=list)


class AgencyIn(msgspec.Struct, forbid_unknown_fields=True):
    agency: OneOf[Agency]
    reference: str | None = None
    contact: str | None = None
    notes: str | None = None


class PoliceIn(msgspec.Struct, forbid_unknown_fields=True):
    crime_reference: str
    officer: str
    referred_on: date


class DisciplinaryIn(msgspec.Struct, forbid_unknown_fields=True):
    subject_id: UUID
    summary: str


class StaffInvolvedIn(msgspec.Struct, forbid_unknown_fields=True):
    person_id: UUID
    involvement: str


class NoteIn(msgspec.Struct, forbid_unknown_fields=True):
    text: str


class ModerationIn(msgspec.Struct, forbid_unknown_fields=True):
    action: OneOf[ModerationKind]
    target: str
    reason: str


class TakedownIn(msgspec.Struct, forbid_unknown_fields=True):
    step: OneOf[TakedownStep]
    parent_name: str | None = None
    notes: str | None = None


class OutcomeIn(msgspec.Struct, forbid_unknown_fields=True):
    outcome: str


class ReasonIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: str


class IncidentsController(Controller):
    path = "/api/v1"
    tags = ["incidents"]

    def _one(self, request: Request[Any, Any, Any], principal: Principal, incident_id: UUID) -> dict[str, Any]:
        c = container(request)
        return read_again_if_dropped(lambda: queries.get_incident(c.engine, principal, incident_id, c.clock.now()))

    @post("/schools/{school_id:uuid}/incidents", sync_to_thread=True,
          summary="Report an incident (anyone with a role at the school)")
    def report(self, request: Request[Any, Any, Any], principal: Caller, school_id: FromPath[UUID],
               data: JSONBody[IncidentIn]) -> Response[Any]:
        report = Report(data.title, data.category, data.description, data.happened_at,
                        [{"kind": i.kind, "name": i.name} for i in data.involved], data.account_id, data.post_ref,
                        data.interaction_id, data.restricted, tuple(data.named_slt_ids))
        incident_id = container(request).incidents.report(principal, school_id, report)
        try:
            return Response(self._one(request, principal, incident_id), status_code=201)
        except NotFound:  # a restricted report is out of its reporter's sight from now on: acknowledge it only
            return Response({"id": incident_id, "restricted": True, "status": "open",
                             "detail": "reported; only the named leaders and the trust team can see it"},
                            status_code=201)

    @get("/schools/{school_id:uuid}/incidents", sync_to_thread=True,
         summary="Incidents the caller may see; `state`: open, resolved, awaiting_assessment, assessment_overdue, "
                 "police")
    def list(self, request: Request[Any, Any, Any], principal: Caller, school_id: FromPath[UUID],
             incident_state: Annotated[str | None, QueryParameter(name="state")] = None) -> dict[str, Any]:
        c = container(request)
        return {"items": queries.list_incidents(c.engine, principal, school_id, c.clock.now(), incident_state)}

    @get("/incidents/{incident_id:uuid}", sync_to_thread=True, summary="One incident")
    def one(self, request: Request[Any, Any, Any], principal: Caller, incident_id: FromPath[UUID]) -> dict[str, Any]:
        return self._one(request, principal, incident_id)

    @post("/incidents/{incident_id:uuid}/assessment", sync_to_thread=True, status_code=200,
          summary="SLT initial assessment: risk, safeguarding concern, immediate actions, investigators")
    def assess(self, request: Request[Any, Any, Any], principal: Caller, incident_id: FromPath[UUID],
               data: JSONBody[AssessmentIn]) -> dict[str, Any]:
        container(request).incidents.assess(principal, incident_id, data.risk_level, data.safeguarding_concern,
                                            data.immediate_actions, tuple(data.investigator_ids))
        return self._one(request, principal, incident_id)

    @post("/incidents/{incident_id:uuid}/staff", sync_to_thread=True, status_code=200,
          summary="Record a member of staff involved")
    def staff(self, request: Request[Any, Any, Any], principal: Caller, incident_id: FromPath[UUID],
              data: JSONBody[StaffInvolvedIn]) -> dict[str, Any]:
        container(request).incidents.record_staff_involvement(principal, incident_id, data.person_id,
                                                              data.involvement)
        return self._one(request, principal, incident_id)

    @post("/incidents/{incident_id:uuid}/agencies", sync_to_thread=True, status_code=200,
          summary="Involve an external agency: police, lado, childrens_services, ico, platform")
    def agencies(self, request: Request[Any, Any, Any], principal: Caller, incident_id: FromPath[UUID],
                 data: JSONBody[AgencyIn]) -> dict[str, Any]:
        container(request).incidents.involve_agency(principal, incident_id, data.agency, data.reference,
                                                    data.contact, data.notes)
        return self._one(request, principal, incident_id)

    @post("/incidents/{incident_id:uuid}/police-referral", sync_to_thread=True, status_code=200,
          summary="Escalate to the police with the crime reference")
    def police(self, request: Request[Any, Any, Any], principal: Caller, incident_id: FromPath[UUID],
               data: JSONBody[PoliceIn]) -> dict[str, Any]:
        container(request).incidents.refer_to_police(principal, incident_id, data.crime_reference, data.officer,
                                                     data.referred_on)
        return self._one(request, principal, incident_id)

    @post("/incidents/{incident_id:uuid}/disciplinary-referral", sync_to_thread=True, status_code=200,
          summary="Refer a member of staff under the disciplinary policy")
    def disciplinary(self, request: Request[Any, Any, Any], principal: Caller, incident_id: FromPath[UUID],
                     data: JSONBody[DisciplinaryIn]) -> dict[str, Any]:
        container(request).incidents.refer_to_disciplinary(principal, incident_id, data.subject_id, data.summary)
        return self._one(request, principal, incident_id)

    @post("/incidents/{incident_id:uuid}/notes", sync_to_thread=True, status_code=200, summary="Add a note")
    def note(self, request: Request[Any, Any, Any], principal: Caller, incident_id: FromPath[UUID],
             data: JSONBody[NoteIn]) -> dict[str, Any]:
        container(request).incidents.add_note(principal, incident_id, data.text)
        return self._one(request, principal, incident_id)

    @post("/incidents/{incident_id:uuid}/evidence", sync_to_thread=True, opt={"upload": True},  # api/limits.py
          summary="Upload an evidence file (multipart field `file`, optional `description`); SHA-256 recorded")
    def evidence(self, request: Request[Any, Any, Any], principal: Caller, incident_id: FromPath[UUID],
                 data: MultipartBody[dict[str, Any]]) -> Response[Any]:
        upload = data.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidInput.one("file", "attach the evidence as a multipart file field named 'file'")
        description = data.get("description")
        content = upload.file.read()
        evidence_id = container(request).incidents.add_evidence(
            principal, incident_id, upload.filename or "", upload.content_type or "", content,
            description if isinstance(description, str) else None)
        incident = self._one(request, principal, incident_id)
        item = next(e for e in incident["evidence"] if e["id"] == evidence_id)
        return Response(item, status_code=201)

    @post("/incidents/{incident_id:uuid}/moderation-actions", sync_to_thread=True, status_code=200,
          summary="Block, report, delete or hide, with the reason told to the audience (required)")
    def moderation(self, request: Request[Any, Any, Any], principal: Caller, incident_id: FromPath[UUID],
                   data: JSONBody[ModerationIn]) -> dict[str, Any]:
        container(request).incidents.take_moderation_action(principal, incident_id, data.action, data.target,
                                                            data.reason)
        return self._one(request, principal, incident_id)

    @post("/incidents/{incident_id:uuid}/takedown-steps", sync_to_thread=True, status_code=200,
          summary="Parent take-down: removal_requested, discussion_invited, complaints_procedure_referred")
    def takedown(self, request: Request[Any, Any, Any], principal: Caller, incident_id: FromPath[UUID],
                 data: JSONBody[TakedownIn]) -> dict[str, Any]:
        container(request).incidents.record_takedown_step(principal, incident_id, data.step, data.parent_name,
                                                          data.notes)
        return self._one(request, principal, incident_id)

    @post("/incidents/{incident_id:uuid}/resolve", sync_to_thread=True, status_code=200,
          summary="Resolve with an outcome")
    def resolve(self, request: Request[Any, Any, Any], principal: Caller, incident_id: FromPath[UUID],
                data: JSONBody[OutcomeIn]) -> dict[str, Any]:
        container(request).incidents.resolve(principal, incident_id, data.outcome)
        return self._one(request, principal, incident_id)

    @post("/incidents/{incident_id:uuid}/reopen", sync_to_thread=True, status_code=200,
          summary="Reopen with a reason")
    def reopen(self, request: Request[Any, Any, Any], principal: Caller, incident_id: FromPath[UUID],
               data: JSONBody[ReasonIn]) -> dict[str, Any]:
        container(request).incidents.reopen(principal, incident_id, data.reason)
        return self._one(request, principal, incident_id)

    @get("/incidents/{incident_id:uuid}/evidence-bundle", sync_to_thread=True, media_type="application/zip",
         summary="A signed zip: chronology (JSON, PDF), evidence files, events with chain links, signed manifest")
    def bundle(self, request: Request[Any, Any, Any], principal: Caller,
               incident_id: FromPath[UUID]) -> Response[bytes]:
        c = container(request)
        data = audit.evidence_bundle(c.engine, c.recorder, c.incidents, c.files, c.bundles, principal, incident_id,
                                     c.clock.now())
        return Response(data, media_type="application/zip", headers={
            "Content-Disposition": f'attachment; filename="incident-{incident_id}-evidence.zip"',
            "Cache-Control": "no-store"})


class AuditController(Controller):
    path = "/api/v1"
    tags = ["audit"]

    @get("/audit/events", sync_to_thread=True,
         summary="Every event touching an entity (or a school), in order, with actor, time and reason")
    def events(self, request: Request[Any, Any, Any], principal: Caller, entity_id: FromQuery[UUID | None] = None,
               school_id: FromQuery[UUID | None] = None, since: FromQuery[datetime | None] = None,
               limit: FromQuery[int] = 500) -> dict[str, Any]:
        return {"items": audit.audit_events(container(request).engine, principal, entity_id, school_id, since,
                                            limit)}

    @get("/audit/verify", sync_to_thread=True,
         summary="Recompute the hash chain: whether it verifies, and the figures of the caller's trust's events")
    def verify(self, request: Request[Any, Any, Any], principal: Caller) -> dict[str, Any]:
        c = container(request)
        return dataclasses.asdict(audit.verify_for_trust(c.engine, c.recorder, principal))

    @get("/trust/public-key", sync_to_thread=True, tags=["audit"], media_type="application/x-pem-file",
         summary="The trust's Ed25519 public key (PEM) for verifying evidence bundles")
    def public_key(self, request: Request[Any, Any, Any], principal: Caller) -> bytes:
        return bytes(container(request).vault.public_key_pem(principal.trust_id))


