"""Accounts, runners, rotation requirements, monitoring checks, handovers and departures."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert

from domain import account as ac
from domain import handover as ho
from domain import person as pe
from domain.events import DomainEvent
from services import readmodel as rm
from services.projections.batch import Batch, person_name
from services.projections.directory import Handler


def _account_version(b: Batch, e: DomainEvent, **values: Any) -> None:
    b.update(rm.accounts, e.originator_id, version=e.originator_version, **values)


def _created(b: Batch, e: ac.AccountCreated) -> None:
    b.insert(
        rm.accounts,
        id=e.originator_id,
        trust_id=e.trust_id,
        school_id=e.school_id,
        application_id=e.application_id,
        platform=e.platform,
        handle=e.handle,
        url=e.url,
        visibility=e.visibility,
        lead_id=e.lead_id,
        status=ac.AccountStatus.ACTIVE.value,
        status_reason=None,
        credential_version=0,
        credentials_stored_at=None,
        last_check_at=None,
        created_at=e.occurred_at,
        version=e.originator_version,
        lapse_flagged=False,
    )
    for person_id in e.runner_ids:
        b.insert(
            rm.account_runners,
            account_id=e.originator_id,
            person_id=person_id,
            trust_id=e.trust_id,
            school_id=e.school_id,
        )


def _runner_added(b: Batch, e: ac.RunnerAdded) -> None:
    b.insert(
        rm.account_runners,
        account_id=e.originator_id,
        person_id=e.person_id,
        trust_id=e.trust_id,
        school_id=e.school_id,
    )
    _account_version(b, e)


def _runner_removed(b: Batch, e: ac.RunnerRemoved) -> None:
    t = rm.account_runners
    b.execute(delete(t).where(t.c.account_id == e.originator_id, t.c.person_id == e.person_id))
    _account_version(b, e)


def _lead(b: Batch, e: ac.LeadTransferred) -> None:
    _account_version(b, e, lead_id=e.lead_id)


def _status(status: ac.AccountStatus) -> Handler:
    def handle(b: Batch, e: Any) -> None:
        _account_version(b, e, status=status.value, status_reason=e.reason)

    return handle


def _stored(b: Batch, e: ac.CredentialsStored) -> None:
    _account_version(b, e, credential_version=e.version, credentials_stored_at=e.occurred_at)
    t = rm.rotation_requirements
    b.execute(delete(t).where(t.c.account_id == e.originator_id, t.c.effective_on <= e.occurred_at.date()))


def _rotation(b: Batch, e: ac.CredentialRotationRequired) -> None:
    t = rm.rotation_requirements
    b.execute(delete(t).where(t.c.account_id == e.originator_id, t.c.leaver_id == e.leaver_id))
    b.execute(
        insert(t).values(
            account_id=e.originator_id,
            leaver_id=e.leaver_id,
            effective_on=e.effective_on,
            trust_id=e.trust_id,
            school_id=e.school_id,
        )
    )
    _account_version(b, e)


def _check(b: Batch, e: ac.MonitoringCheckRecorded) -> None:
    b.insert(
        rm.monitoring_checks,
        account_id=e.originator_id,
        version=e.originator_version,
        trust_id=e.trust_id,
        school_id=e.school_id,
        checked_by=e.checked_by,
        checked_at=e.occurred_at,
        note=e.note,
    )
    _account_version(b, e, last_check_at=e.occurred_at, lapse_flagged=False)


def _lapse(b: Batch, e: ac.MonitoringLapseFlagged) -> None:
    _account_version(b, e, lapse_flagged=True)


def _version_only(b: Batch, e: Any) -> None:
    _account_version(b, e)


def _handover_opened(b: Batch, e: ho.HandoverOpened) -> None:
    name = person_name(b, e.leaver_id, e.actor)
    b.insert(
        rm.handovers,
        id=e.originator_id,
        trust_id=e.trust_id,
        school_id=e.school_id,
        account_id=e.account_id,
        leaver_id=e.leaver_id,
        leaver_name=name or "",
        leaver_was_lead=e.leaver_was_lead,
        leaving_date=e.leaving_date,
        due_on=e.due_on,
        status=ho.HandoverStatus.OPEN.value,
        opened_at=e.occurred_at,
    )


def _handover_completed(b: Batch, e: ho.HandoverCompleted) -> None:
    b.update(
        rm.handovers,
        e.originator_id,
        status=ho.HandoverStatus.COMPLETED.value,
        completed_at=e.occurred_at,
        outcome=e.outcome,
        new_lead_id=e.new_lead_id,
        reason=e.reason,
    )


def _departure(b: Batch, e: pe.DepartureRecorded) -> None:
    b.update(rm.people, e.originator_id, leaving_date=e.leaving_date)


HANDLERS: dict[type[DomainEvent], Handler] = {
    ac.AccountCreated: _created,
    ac.RunnerAdded: _runner_added,
    ac.RunnerRemoved: _runner_removed,
    ac.LeadTransferred: _lead,
    ac.AccountSuspended: _status(ac.AccountStatus.SUSPENDED),
    ac.AccountReinstated: _status(ac.AccountStatus.ACTIVE),
    ac.AccountClosed: _status(ac.AccountStatus.CLOSED),
    ac.CredentialsStored: _stored,
    ac.CredentialsRevealed: _version_only,
    ac.CredentialRotationRequired: _rotation,
    ac.MonitoringCheckRecorded: _check,
    ac.MonitoringLapseFlagged: _lapse,
    ho.HandoverOpened: _handover_opened,
    ho.HandoverCompleted: _handover_completed,
    pe.DepartureRecorded: _departure,
}
