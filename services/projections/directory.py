"""The directory & applications projection: trusts, schools, people, roles, training, acknowledgements,
personal-account declarations and account applications."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from domain import application as ap
from domain import person as pe
from domain import school as sc
from domain import trust as tr
from domain.events import DomainEvent
from services import readmodel as rm

Handler = Callable[[Connection, Any], None]


def _trust_registered(conn: Connection, e: tr.TrustRegistered) -> None:
    d = tr.TrustSettings()
    conn.execute(insert(rm.trusts).values(
        id=e.originator_id, name=e.name, response_hours=d.response_hours, due_soon_hours=d.due_soon_hours,
        end_of_day=d.end_of_day, training_validity_months=d.training_validity_months,
        assessment_working_days=d.assessment_working_days, current_policy_version_id=None,
        created_at=e.occurred_at))


def _trust_settings(conn: Connection, e: tr.TrustSettingsChanged) -> None:
    conn.execute(update(rm.trusts).where(rm.trusts.c.id == e.originator_id).values(
        response_hours=e.response_hours, due_soon_hours=e.due_soon_hours, end_of_day=e.end_of_day,
        training_validity_months=e.training_validity_months, assessment_working_days=e.assessment_working_days))


def _policy_published(conn: Connection, e: tr.PolicyVersionPublished) -> None:
    conn.execute(insert(rm.policy_versions).values(id=e.policy_version_id, trust_id=e.trust_id, label=e.label,
                                                   summary=e.summary, published_at=e.occurred_at))
    conn.execute(update(rm.trusts).where(rm.trusts.c.id == e.trust_id)
                 .values(current_policy_version_id=e.policy_version_id))


def _school_added(conn: Connection, e: sc.SchoolAdded) -> None:
    conn.execute(insert(rm.schools).values(id=e.originator_id, trust_id=e.trust_id, name=e.name, urn=e.urn,
                                           nation=e.nation, timezone=e.timezone, created_at=e.occurred_at))


def _person_registered(conn: Connection, e: pe.PersonRegistered) -> None:
    conn.execute(insert(rm.people).values(id=e.originator_id, trust_id=e.trust_id, display_name=e.display_name,
                                          email=e.email, status="active", created_at=e.occurred_at))


def _role_assigned(conn: Connection, e: pe.RoleAssigned) -> None:
    conn.execute(insert(rm.role_assignments).values(
        person_id=e.originator_id, scope_id=e.school_id or e.trust_id, role=e.role, trust_id=e.trust_id,
        school_id=e.school_id))


def _role_revoked(conn: Connection, e: pe.RoleRevoked) -> None:
    t = rm.role_assignments
    conn.execute(delete(t).where(t.c.person_id == e.originator_id, t.c.scope_id == (e.school_id or e.trust_id),
                                 t.c.role == e.role))


def _training(conn: Connection, e: pe.TrainingRecorded) -> None:
    conn.execute(insert(rm.training_records).values(id=e.training_id, person_id=e.originator_id,
                                                    trust_id=e.trust_id, course=e.course,
                                                    completed_on=e.completed_on, expires_on=e.expires_on))


def _acknowledged(conn: Connection, e: pe.PolicyAcknowledged) -> None:
    conn.execute(insert(rm.acknowledgements).values(person_id=e.originator_id,
                                                    policy_version_id=e.policy_version_id,
                                                    trust_id=e.trust_id, acknowledged_at=e.occurred_at))


def _personal_account(conn: Connection, e: pe.PersonalAccountDeclared) -> None:
    conn.execute(insert(rm.personal_accounts).values(
        id=e.declaration_id, person_id=e.originator_id, trust_id=e.trust_id, platform=e.platform,
        handle=e.handle, names_school=e.names_school, disclaimer_present=e.disclaimer_present,
        declared_at=e.occurred_at))


def _submitted(conn: Connection, e: ap.ApplicationSubmitted) -> None:
    name = conn.execute(select(rm.people.c.display_name).where(rm.people.c.id == e.applicant_id)).scalar()
    conn.execute(insert(rm.applications).values(
        id=e.originator_id, trust_id=e.trust_id, school_id=e.school_id, applicant_id=e.applicant_id,
        applicant_name=name or e.actor.display_name, aim=e.aim, audience=e.audience, promotion=e.promotion,
        runner_ids=[str(r) for r in e.runner_ids], visibility=e.visibility, platform=e.platform,
        proposed_handle=e.proposed_handle, status=ap.ApplicationStatus.SUBMITTED.value,
        submitted_at=e.occurred_at, version=e.originator_version))


def _decided(status: ap.ApplicationStatus, by_field: str) -> Handler:
    def handle(conn: Connection, e: Any) -> None:
        conn.execute(update(rm.applications).where(rm.applications.c.id == e.originator_id).values(
            status=status.value, decided_at=e.occurred_at, decided_by=getattr(e, by_field), reason=e.reason,
            version=e.originator_version))
    return handle


HANDLERS: dict[type[DomainEvent], Handler] = {
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


