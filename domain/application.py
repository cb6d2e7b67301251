"""An application to open a school social media account: the business case the policy asks for."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from domain.errors import FieldError, InvalidInput, InvalidTransition, RuleRefused
from domain.events import Actor, Aggregate, DomainEvent
from domain.person import Person
from domain.trust import PolicyVersion
from domain.values import RUNNER_ROLES, Platform, Visibility

HANDLE_PATTERN = re.compile(r"^@?[A-Za-z0-9_.\-]{1,100}$")
MIN_RUNNERS = 2


class ApplicationStatus(StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class BusinessCase:
    aim: str
    audience: str
    promotion: str
    runner_ids: tuple[UUID, ...]
    visibility: str
    platform: str
    proposed_handle: str


@dataclass(frozen=True, kw_only=True)
class ApplicationSubmitted(DomainEvent):
    applicant_id: UUID
    aim: str
    audience: str
    promotion: str
    runner_ids: list[UUID]
    visibility: str
    platform: str
    proposed_handle: str


@dataclass(frozen=True, kw_only=True)
class ApplicationApproved(DomainEvent):
    approver_id: UUID
    policy_version_id: UUID


@dataclass(frozen=True, kw_only=True)
class ApplicationRejected(DomainEvent):
    rejected_by: UUID


@dataclass(frozen=True, kw_only=True)
class ApplicationWithdrawn(DomainEvent):
    withdrawn_by: UUID


def _text(errors: list[FieldError], field: str, value: str, limit: int) -> str:
    value = value.strip()
    if not value:
        errors.append(FieldError(field, "must not be empty"))
    elif len(value) > limit:
        errors.append(FieldError(field, f"must be at most {limit} characters"))
    return value


def validate_case(case: BusinessCase, school_id: UUID, runners: dict[UUID, Person | None]) -> BusinessCase:
    """Checks a business case field by field; `runners` maps each named id to the person (None if unknown)."""
    errors: list[FieldError] = []
    aim = _text(errors, "aim", case.aim, 2000)
    audience = _text(errors, "audience", case.audience, 2000)
    promotion = _text(errors, "promotion", case.promotion, 2000)
    if case.visibility not in {v.value for v in Visibility}:
        errors.append(FieldError("visibility", "must be one of " + ", ".join(v.value for v in Visibility)))
    if case.platform not in {p.value for p in Platform}:
        errors.append(FieldError("platform", "must be one of " + ", ".join(p.value for p in Platform)))
    handle = case.proposed_handle.strip()
    if not HANDLE_PATTERN.match(handle):
        errors.append(FieldError("proposed_handle", "must be 1-100 letters, digits, '_', '.' or '-'"))
    ids = tuple(dict.fromkeys(case.runner_ids))
    if len(ids) != len(case.runner_ids):
        errors.append(FieldError("runner_ids", "must not name the same person twice"))
    if len(ids) < MIN_RUNNERS:
        errors.append(FieldError("runner_ids", f"at least {MIN_RUNNERS} people must be named to run the account"))
    for i, rid in enumerate(case.runner_ids):
        person = runners.get(rid)
        if person is None or not person.has_role_at(school_id, RUNNER_ROLES):
            errors.append(FieldError(f"runner_ids[{i}]", "is not staff or a volunteer of this school"))
    if errors:
        raise InvalidInput(errors)
    return BusinessCase(aim, audience, promotion, ids, case.visibility, case.platform, handle)


def unmet_approval_conditions(runners: list[Person], school_id: UUID, policy: PolicyVersion | None,
                              today: date) -> list[str]:
    """Every reason the SLT may not yet approve: each runner must have read the current policy and be trained."""
    unmet: list[str] = []
    if policy is None:
        unmet.append("the trust has not published a social media policy version")
    for person in runners:
        if not person.has_role_at(school_id, RUNNER_ROLES, today):
            unmet.append(f"{person.display_name} no longer holds a role at this school")
        elif person.leaving_date is not None:
            unmet.append(f"{person.display_name} is leaving on {person.leaving_date.isoformat()}")
        if policy is not None and policy.id not in person.acknowledged:
            unmet.append(f"{person.display_name} has not acknowledged the current policy ({policy.label})")
        if not person.has_valid_training(today):
            expired = [t for t in person.training if t.expires_on < today]
            if expired:
                last = max(t.expires_on for t in expired)
                unmet.append(f"{person.display_name}'s social media training expired on {last.isoformat()}")
            else:
                unmet.append(f"{person.display_name} has no social media training on record")
    return unmet


class AccountApplication(Aggregate):
    def __init__(self, id: UUID) -> None:
        super().__init__(id)
        self.trust_id: UUID | None = None
        self.school_id: UUID | None = None
        self.applicant_id: UUID | None = None
        self.case: BusinessCase | None = None
        self.status = ApplicationStatus.SUBMITTED

    @classmethod
    def submit(cls, id: UUID, trust_id: UUID, school_id: UUID, applicant_id: UUID, case: BusinessCase,
               runners: dict[UUID, Person | None], actor: Actor, at: datetime) -> AccountApplication:
        case = validate_case(case, school_id, runners)
        app = cls(id)
        app._trigger(ApplicationSubmitted(
            **app.header(at, actor, trust_id, school_id), applicant_id=applicant_id, aim=case.aim,
            audience=case.audience, promotion=case.promotion, runner_ids=list(case.runner_ids),
            visibility=case.visibility, platform=case.platform, proposed_handle=case.proposed_handle))
        return app

    def _require_submitted(self, verb: str) -> None:
        if self.status is not ApplicationStatus.SUBMITTED:
            raise InvalidTransition(f"cannot {verb} an application that is {self.status.value}")

    def approve(self, approver_id: UUID, runners: list[Person], policy: PolicyVersion | None, today: date,
                actor: Actor, at: datetime, reason: str | None = None) -> None:
        self._require_submitted("approve")
        assert self.school_id is not None and self.trust_id is not None
        if approver_id == self.applicant_id:
            raise RuleRefused("Approval refused", ["the applicant cannot approve their own application"])
        unmet = unmet_approval_conditions(runners, self.school_id, policy, today)
        if unmet or policy is None:
            raise RuleRefused("Approval refused", unmet)
        self._trigger(ApplicationApproved(**self.header(at, actor, self.trust_id, self.school_id),
                                          approver_id=approver_id, policy_version_id=policy.id,
                                          reason=(reason or "").strip() or None))

    def reject(self, by: UUID, reason: str, actor: Actor, at: datetime) -> None:
        self._require_submitted("reject")
        assert self.school_id is not None and self.trust_id is not None
        if not reason.strip():
            raise InvalidInput.one("reason", "a reason is required to reject an application")
        self._trigger(ApplicationRejected(**self.header(at, actor, self.trust_id, self.school_id),
                                          rejected_by=by, reason=reason.strip()))

    def withdraw(self, by: UUID, reason: str | None, actor: Actor, at: datetime) -> None:
        self._require_submitted("withdraw")
        assert self.school_id is not None and self.trust_id is not None
        if by != self.applicant_id:
            raise RuleRefused("Withdrawal refused", ["only the applicant can withdraw their application"])
        self._trigger(ApplicationWithdrawn(**self.header(at, actor, self.trust_id, self.school_id),
                                           withdrawn_by=by, reason=(reason or "").strip() or None))

    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, ApplicationSubmitted):
            self.trust_id, self.school_id, self.applicant_id = event.trust_id, event.school_id, event.applicant_id
            self.case = BusinessCase(event.aim, event.audience, event.promotion, tuple(event.runner_ids),
                                     event.visibility, event.platform, event.proposed_handle)
        elif isinstance(event, ApplicationApproved):
            self.status = ApplicationStatus.APPROVED
        elif isinstance(event, ApplicationRejected):
            self.status = ApplicationStatus.REJECTED
        elif isinstance(event, ApplicationWithdrawn):
            self.status = ApplicationStatus.WITHDRAWN
