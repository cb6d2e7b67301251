"""A person known to the trust: staff, volunteer or leader. Holds role assignments, training and
policy acknowledgements, and declarations of personal social media accounts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID

from domain.errors import FieldError, InvalidInput
from domain.events import Actor, Aggregate, DomainEvent, EventHeader
from domain.values import SCHOOL_ROLES, TRUST_ROLES, Platform, Role

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True, kw_only=True)
class PersonRegistered(DomainEvent):
    display_name: str
    email: str


@dataclass(frozen=True, kw_only=True)
class RoleAssigned(DomainEvent):
    """`school_id` None means a trust-wide role."""

    role: str


@dataclass(frozen=True, kw_only=True)
class RoleRevoked(DomainEvent):
    role: str


@dataclass(frozen=True, kw_only=True)
class TrainingRecorded(DomainEvent):
    training_id: UUID
    course: str
    completed_on: date
    expires_on: date


@dataclass(frozen=True, kw_only=True)
class PolicyAcknowledged(DomainEvent):
    policy_version_id: UUID


@dataclass(frozen=True, kw_only=True)
class PersonalAccountDeclared(DomainEvent):
    declaration_id: UUID
    platform: str
    handle: str
    names_school: bool
    disclaimer_present: bool


@dataclass(frozen=True, kw_only=True)
class PersonRenamed(DomainEvent):
    display_name: str


@dataclass(frozen=True, kw_only=True)
class ExternalIdRecorded(DomainEvent):
    """The person's id in the trust's HR or identity system (SCIM externalId)."""

    external_id: str | None


@dataclass(frozen=True, kw_only=True)
class DepartureRecorded(DomainEvent):
    """The person leaves on `leaving_date`: from that day they have no roles, no sessions and no access."""

    leaving_date: date


@dataclass(frozen=True)
class RoleAssignment:
    role: Role
    school_id: UUID | None


@dataclass(frozen=True)
class TrainingRecord:
    id: UUID
    course: str
    completed_on: date
    expires_on: date

    def valid_on(self, day: date) -> bool:
        return self.completed_on <= day <= self.expires_on


def add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


class Person(Aggregate):
    def __init__(self, id: UUID) -> None:
        super().__init__(id)
        self.trust_id: UUID | None = None
        self.display_name = ""
        self.email = ""
        self.roles: set[RoleAssignment] = set()
        self.training: list[TrainingRecord] = []
        self.acknowledged: set[UUID] = set()
        self.personal_accounts: list[PersonalAccountDeclared] = []
        self.leaving_date: date | None = None
        self.external_id: str | None = None

    # ----- queries -----
    def has_role_at(self, school_id: UUID, roles: frozenset[Role] | None = None, day: date | None = None) -> bool:
        if day is not None and not self.active_on(day):
            return False
        return any(a.school_id == school_id and (roles is None or a.role in roles) for a in self.roles)

    def active_on(self, day: date) -> bool:
        return self.leaving_date is None or day < self.leaving_date

    def has_valid_training(self, day: date) -> bool:
        return any(t.valid_on(day) for t in self.training)

    def _event_base(self, at: datetime, actor: Actor, school_id: UUID | None) -> EventHeader:
        assert self.trust_id is not None
        return self.header(at, actor, self.trust_id, school_id)

    # ----- commands -----
    @classmethod
    def register(cls, id: UUID, trust_id: UUID, display_name: str, email: str, actor: Actor, at: datetime,
                 school_id: UUID | None) -> Person:
        errors: list[FieldError] = []
        display_name = " ".join(display_name.split())
        email = email.strip().lower()
        if not display_name:
            errors.append(FieldError("display_name", "must not be empty"))
        elif len(display_name) > 200:
            errors.append(FieldError("display_name", "must be at most 200 characters"))
        if not EMAIL_PATTERN.match(email):
            errors.append(FieldError("email", "must be an email address"))
        if errors:
            raise InvalidInput(errors)
        person = cls(id)
        person._trigger(PersonRegistered(originator_id=id, originator_version=1, occurred_at=at, actor=actor,
                                         trust_id=trust_id, school_id=school_id, display_name=display_name,
                                         email=email))
        return person

    def assign_role(self, role: Role, school_id: UUID | None, actor: Actor, at: datetime) -> None:
        if role in TRUST_ROLES and school_id is not None:
            raise InvalidInput.one("roles", f"{role.value} is a trust-wide role, not a school role")
        if role in SCHOOL_ROLES and school_id is None:
            raise InvalidInput.one("roles", f"{role.value} needs a school")
        if RoleAssignment(role, school_id) in self.roles:
            return
        self._trigger(RoleAssigned(**self._event_base(at, actor, school_id), role=role.value))

    def revoke_role(self, role: Role, school_id: UUID | None, actor: Actor, at: datetime, reason: str) -> None:
        if RoleAssignment(role, school_id) not in self.roles:
            raise InvalidInput.one("role", f"{self.display_name} does not hold {role.value} there")
        self._trigger(RoleRevoked(**self._event_base(at, actor, school_id), role=role.value,
                                  reason=reason))

    def record_training(self, training_id: UUID, course: str, completed_on: date, expires_on: date | None,
                        validity_months: int, today: date, actor: Actor, at: datetime,
                        school_id: UUID | None) -> None:
        errors: list[FieldError] = []
        course = " ".join(course.split())
        if not course:
            errors.append(FieldError("course", "must not be empty"))
        if completed_on > today:
            errors.append(FieldError("completed_on", "must not be in the future"))
        expiry = expires_on or add_months(completed_on, validity_months)
        if expiry < completed_on:
            errors.append(FieldError("expires_on", "must not be before completed_on"))
        if errors:
            raise InvalidInput(errors)
        self._trigger(TrainingRecorded(**self._event_base(at, actor, school_id),
                                       training_id=training_id, course=course, completed_on=completed_on,
                                       expires_on=expiry))

    def acknowledge_policy(self, policy_version_id: UUID, known_versions: set[UUID], actor: Actor,
                           at: datetime, school_id: UUID | None) -> None:
        if policy_version_id not in known_versions:
            raise InvalidInput.one("policy_version_id", "is not a policy version of this trust")
        if policy_version_id in self.acknowledged:
            return
        self._trigger(PolicyAcknowledged(**self._event_base(at, actor, school_id),
                                         policy_version_id=policy_version_id))

    def declare_personal_account(self, declaration_id: UUID, platform: str, handle: str, names_school: bool,
                                 disclaimer_present: bool, actor: Actor, at: datetime,
                                 school_id: UUID | None) -> None:
        errors: list[FieldError] = []
        if platform not in {p.value for p in Platform}:
            errors.append(FieldError("platform", "must be one of " + ", ".join(p.value for p in Platform)))
        handle = handle.strip()
        if not handle or len(handle) > 200 or any(c.isspace() for c in handle):
            errors.append(FieldError("handle", "must be a handle without spaces, at most 200 characters"))
        if errors:
            raise InvalidInput(errors)
        self._trigger(PersonalAccountDeclared(**self._event_base(at, actor, school_id),
                                              declaration_id=declaration_id, platform=platform, handle=handle,
                                              names_school=names_school, disclaimer_present=disclaimer_present))

    def rename(self, display_name: str, actor: Actor, at: datetime) -> None:
        name = " ".join(display_name.split())
        if not name or len(name) > 200:
            raise InvalidInput.one("display_name", "must be 1-200 characters")
        if name != self.display_name:
            self._trigger(PersonRenamed(**self._event_base(at, actor, None), display_name=name))

    def record_external_id(self, external_id: str | None, actor: Actor, at: datetime) -> None:
        value = (external_id or "").strip() or None
        if value is not None and len(value) > 255:
            raise InvalidInput.one("external_id", "must be at most 255 characters")
        if value != self.external_id:
            self._trigger(ExternalIdRecorded(**self._event_base(at, actor, None), external_id=value))

    def record_departure(self, leaving_date: date, today: date, reason: str | None, actor: Actor,
                         at: datetime) -> None:
        """Records the leaving date; roles held end now if that date has come, else they end on it."""
        if self.leaving_date is not None and self.leaving_date <= today:
            raise InvalidInput.one("leaving_date", f"{self.display_name} already left on {self.leaving_date}")
        if leaving_date < today - timedelta(days=366):
            raise InvalidInput.one("leaving_date", "must be within the last year or in the future")
        self._trigger(DepartureRecorded(**self._event_base(at, actor, None), leaving_date=leaving_date,
                                        reason=reason))
        if leaving_date <= today:
            self.end_roles(actor, at, f"left on {leaving_date.isoformat()}")

    def end_roles(self, actor: Actor, at: datetime, reason: str) -> None:
        for assignment in sorted(self.roles, key=lambda a: (str(a.school_id), a.role.value)):
            self._trigger(RoleRevoked(**self._event_base(at, actor, assignment.school_id),
                                      role=assignment.role.value, reason=reason))

    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, DepartureRecorded):
            self.leaving_date = event.leaving_date
        elif isinstance(event, PersonRenamed):
            self.display_name = event.display_name
        elif isinstance(event, ExternalIdRecorded):
            self.external_id = event.external_id
        elif isinstance(event, PersonRegistered):
            self.trust_id = event.trust_id
            self.display_name = event.display_name
            self.email = event.email
        elif isinstance(event, RoleAssigned):
            self.roles.add(RoleAssignment(Role(event.role), event.school_id))
        elif isinstance(event, RoleRevoked):
            self.roles.discard(RoleAssignment(Role(event.role), event.school_id))
        elif isinstance(event, TrainingRecorded):
            self.training.append(TrainingRecord(event.training_id, event.course, event.completed_on,
                                                event.expires_on))
        elif isinstance(event, PolicyAcknowledged):
            self.acknowledged.add(event.policy_version_id)
        elif isinstance(event, PersonalAccountDeclared):
            self.personal_accounts.append(event)
