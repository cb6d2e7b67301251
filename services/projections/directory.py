"""The directory & applications projection: trusts, schools, people, roles, training, acknowledgements,
personal-account declarations and account applications."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import delete

from domain import application as ap
from domain import person as pe
from domain import school as sc
from domain import trust as tr
from domain.events import DomainEvent
from services import readmodel as rm
from services.projections.batch import Batch, person_name

Handler = Callable[[Batch, Any], None]


def _trust_registered(b: Batch, e: tr.TrustRegistered) -> None:
    d = tr.TrustSettings()
    b.insert(
        rm.trusts,
        id=e.originator_id,
        name=e.name,
        response_hours=d.response_hours,
        due_soon_hours=d.due_soon_hours,
        end_of_day=d.end_of_day,
        training_validity_months=d.training_validity_months,
        assessment_working_days=d.assessment_working_days,
        current_policy_version_id=None,
        created_at=e.occurred_at,
    )


def _trust_settings(b: Batch, e: tr.TrustSettingsChanged) -> None:
    b.update(
        rm.trusts,
        e.originator_id,
        response_hours=e.response_hours,
        due_soon_hours=e.due_soon_hours,
        end_of_day=e.end_of_day,
        training_validity_months=e.training_validity_months,
        assessment_working_days=e.assessment_working_days,
    )


def _policy_published(b: Batch, e: tr.PolicyVersionPublished) -> None:
    b.insert(
        rm.policy_versions,
        id=e.policy_version_id,
        trust_id=e.trust_id,
        label=e.label,
        summary=e.summary,
        published_at=e.occurred_at,
    )
    b.update(rm.trusts, e.trust_id, current_policy_version_id=e.policy_version_id)


def _school_added(b: Batch, e: sc.SchoolAdded) -> None:
    b.insert(
        rm.schools,
        id=e.originator_id,
        trust_id=e.trust_id,
        name=e.name,
        urn=e.urn,
        nation=e.nation,
        timezone=e.timezone,
        created_at=e.occurred_at,
    )


def _person_registered(b: Batch, e: pe.PersonRegistered) -> None:
    b.insert(
        rm.people,
        id=e.originator_id,
        trust_id=e.trust_id,
        display_name=e.display_name,
        email=e.email,
        status="active",
        created_at=e.occurred_at,
    )


def _role_assigned(b: Batch, e: pe.RoleAssigned) -> None:
    b.insert(
        rm.role_assignments,
        person_id=e.originator_id,
        scope_id=e.school_id or e.trust_id,
        role=e.role,
        trust_id=e.trust_id,
        school_id=e.school_id,
    )


def _role_revoked(b: Batch, e: pe.RoleRevoked) -> None:
    t = rm.role_assignments
    b.execute(
        delete(t).where(
            t.c.person_id == e.originator_id, t.c.scope_id == (e.school_id or e.trust_id), t.c.role == e.role
        )
    )


def _training(b: Batch, e: pe.TrainingRecorded) -> None:
    b.insert(
        rm.training_records,
        id=e.training_id,
        person_id=e.originator_id,
        trust_id=e.trust_id,
        course=e.course,
        completed_on=e.completed_on,
        expires_on=e.expires_on,
    )


def _acknowledged(b: Batch, e: pe.PolicyAcknowledged) -> None:
    b.insert(
        rm.acknowledgements,
        person_id=e.originator_id,
        policy_version_id=e.policy_version_id,
        trust_id=e.trust_id,
        acknowledged_at=e.occurred_at,
    )


def _personal_account(b: Batch, e: pe.PersonalAccountDeclared) -> None:
    b.insert(
        rm.personal_accounts,
        id=e.declaration_id,
        person_id=e.originator_id,
        trust_id=e.trust_id,
        platform=e.platform,
        handle=e.handle,
        names_school=e.names_school,
        disclaimer_present=e.disclaimer_present,
        declared_at=e.occurred_at,
    )


def _submitted(b: Batch, e: ap.ApplicationSubmitted) -> None:
    b.insert(rm.applications, id=e.originator_id, trust_id=e.trust_id, school_id=e.school_id,
             applicant_id=e.applicant_id,
             applicant_name=person_name(b, e.applicant_id, e.actor) or e.actor.display_name,
             aim=e.aim, audience=e.audience, promotion=e.promotion, runner_ids=[str(r) for r in e.runner_ids],
             visibility=e.visibility, platform=e.platform, proposed_handle=e.proposed_handle,
             status=ap.ApplicationStatus.SUBMITTED.value, submitted_at=e.occurred_at, decided_at=None,
             decided_by=None, reason=None, version=e.originator_version)
    b.count(rm.school_application_counts, 1, school_id=e.school_id, status=ap.ApplicationStatus.SUBMITTED.value,
            trust_id=e.trust_id)


def _decided(status: ap.ApplicationStatus, by_field: str) -> Handler:
    def handle(b: Batch, e: Any) -> None:
        b.update(
            rm.applications,
            e.originator_id,
            status=status.value,
            decided_at=e.occurred_at,
            decided_by=getattr(e, by_field),
            reason=e.reason,
            version=e.originator_version,
        )
        # every decision is taken on a submitted application (AccountApplication._require_submitted)
        b.count(rm.school_application_counts, -1, school_id=e.school_id,
                status=ap.ApplicationStatus.SUBMITTED.value, trust_id=e.trust_id)
        b.count(rm.school_application_counts, 1, school_id=e.school_id, status=status.value, trust_id=e.trust_id)

    return handle


def _renamed(b: Batch, e: pe.PersonRenamed) -> None:
    b.update(rm.people, e.originator_id, display_name=e.display_name)


def _external_id(b: Batch, e: pe.ExternalIdRecorded) -> None:
    b.update(rm.people, e.originator_id, external_id=e.external_id)


HANDLERS: dict[type[DomainEvent], Handler] = {
    pe.PersonRenamed: _renamed,
    pe.ExternalIdRecorded: _external_id,
    tr.TrustRegistered: _trust_registered,
    tr.TrustSettingsChanged: _trust_settings,
    tr.PolicyVersionPublished: _policy_published,
    sc.SchoolAdded: _school_added,
    pe.PersonRegistered: _person_registered,
    pe.RoleAssigned: _role_assigned,
    pe.RoleRevoked: _role_revoked,
    pe.TrainingRecorded: _training,
    pe.PolicyAcknowledged: _acknowledged,
    pe.PersonalAccountDeclared: _personal_account,
    ap.ApplicationSubmitted: _submitted,
    ap.ApplicationApproved: _decided(ap.ApplicationStatus.APPROVED, "approver_id"),
    ap.ApplicationRejected: _decided(ap.ApplicationStatus.REJECTED, "rejected_by"),
    ap.ApplicationWithdrawn: _decided(ap.ApplicationStatus.WITHDRAWN, "withdrawn_by"),
}
