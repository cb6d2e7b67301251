"""Directory & tenancy commands: trusts, policy versions, schools, people, roles, training,
acknowledgements and personal-account declarations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder

from domain.errors import AlreadyExists, FieldError, InvalidInput
from domain.events import Actor, ActorKind
from domain.person import Person
from domain.school import School
from domain.trust import Trust, TrustSettings
from domain.values import SCHOOL_ROLES, Role, clean_text
from services.authorisation import Action, Principal, can, can_about_person, can_grant
from services.event_log import EventLog
from services.eventstore import ContextApplication, Forbidden, NotFound
from services.ids import new_id
from services.ports import Clock, today_in_london


class DirectoryLookups(Protocol):
    """Uniqueness look-ups answered by the read model."""

    def school_id_by_urn(self, trust_id: UUID, urn: str) -> UUID | None: ...

    def person_id_by_email(self, trust_id: UUID, email: str) -> UUID | None: ...


@dataclass(frozen=True)
class StaffAdded:
    person_id: UUID
    created: bool


def _school_role(value: str, field: str) -> Role | FieldError:
    """A school role by name, or the error naming `field`."""
    try:
        role = Role(value)
    except ValueError:
        return FieldError(field, "must be one of " + ", ".join(r.value for r in SCHOOL_ROLES))
    if role not in SCHOOL_ROLES:
        return FieldError(field, f"{value} is a trust-wide role, not a school role")
    return role


def parse_roles(values: Sequence[str], field: str = "roles") -> list[Role]:
    parsed = [_school_role(v, f"{field}[{i}]") for i, v in enumerate(values)]
    errors = [p for p in parsed if isinstance(p, FieldError)]
    if not values:
        errors.append(FieldError(field, "must name at least one role"))
    if errors:
        raise InvalidInput(errors)
    return [p for p in parsed if isinstance(p, Role)]


class Directory(ContextApplication):
    name = "directory"

    def __init__(self, recorder: ApplicationRecorder, clock: Clock, log: EventLog, lookups: DirectoryLookups,
                 trust_defaults: TrustSettings | None = None) -> None:
        super().__init__(recorder, clock, log)
        self.lookups = lookups
        self.trust_defaults = trust_defaults or TrustSettings()

    # ----- trust -----
    def register_trust(self, name: str, admin_name: str, admin_email: str, actor: Actor) -> tuple[UUID, UUID]:
        """Bootstraps a trust and its first trust administrator (CLI and demo; no principal exists yet)."""
        now = self.clock.now()
        trust = Trust.register(new_id(), name, actor, now)
        if self.trust_defaults != TrustSettings():
            trust.change_settings(self.trust_defaults, actor, now)
        admin = Person.register(new_id(), trust.id, admin_name, admin_email, actor, now, None)
        admin.assign_role(Role.TRUST_ADMIN, None, actor, now)
        self.commit(trust, admin, by=None)
        return trust.id, admin.id

    def _trust_for(self, principal: Principal, action: Action) -> Trust:
        if not can(principal, action, None):
            raise Forbidden(f"{action.refusal}: that needs a trust role")
        trust = self.load(Trust, principal.trust_id)
        if trust is None:
            raise NotFound("trust")
        return trust

    def change_trust_settings(self, principal: Principal, settings: TrustSettings) -> None:
        trust = self._trust_for(principal, Action.TRUST_SETTINGS_CHANGE)
        trust.change_settings(settings, principal.actor(Action.TRUST_SETTINGS_CHANGE, None), self.clock.now())
        self.commit(trust, by=principal)

    def publish_policy(self, principal: Principal, label: str, summary: str) -> UUID:
        trust = self._trust_for(principal, Action.POLICY_PUBLISH)
        version_id = new_id()
        trust.publish_policy(version_id, label, summary, principal.actor(Action.POLICY_PUBLISH, None),
                             self.clock.now())
        self.commit(trust, by=principal)
        return version_id

    # ----- schools -----
    def add_school(self, principal: Principal, name: str, urn: str, nation: str) -> UUID:
        if not can(principal, Action.SCHOOL_ADD, None):
            raise Forbidden("only the trust's central team can add schools")
        school = School.add(new_id(), principal.trust_id, name, urn, nation,
                            principal.actor(Action.SCHOOL_ADD, None), self.clock.now())
        if self.lookups.school_id_by_urn(principal.trust_id, school.urn) is not None:
            raise AlreadyExists("urn", f"a school with URN {school.urn} already exists in this trust")
        self.commit(school, by=principal)
        return school.id

    # ----- people -----
    def require_school(self, principal: Principal, school_id: UUID) -> None:
        if school_id not in principal.visible_school_ids:
            raise NotFound("school")

    def add_staff(self, principal: Principal, school_id: UUID, display_name: str, email: str,
                  roles: Sequence[str]) -> StaffAdded:
        """Adds a person with roles at a school; someone already known by email gains the roles instead."""
        self.require_school(principal, school_id)
        if not can(principal, Action.STAFF_ADD, school_id):
            raise Forbidden("you cannot add staff at this school")
        parsed = parse_roles(roles)
        refused = sorted({r.value for r in parsed if not can_grant(principal, r, school_id)})
        if refused:
            raise Forbidden(f"you cannot give the role{'s' if len(refused) > 1 else ''} {', '.join(refused)}: "
                            "the school's leadership or the trust team appoints to it")
        actor = principal.actor(Action.STAFF_ADD, school_id)
        now = self.clock.now()
        candidate = Person.register(new_id(), principal.trust_id, display_name, email, actor, now, school_id)
        existing_id = self.lookups.person_id_by_email(principal.trust_id, candidate.email)
        person = self.load(Person, existing_id) if existing_id else None
        created = person is None
        if person is None:
            person = candidate
        for role in parsed:
            person.assign_role(role, school_id, actor, now)
        self.commit(person, by=principal)
        return StaffAdded(person.id, created)

    def end_role(self, principal: Principal, school_id: UUID, person_id: UUID, role: str, reason: str | None) -> None:
        """Ends one of a person's roles at a school (a change of post, a move): their other roles stay. Only someone
        who could give the role may end it (decision 0034), and never their own."""
        self.require_school(principal, school_id)
        person, _ = self._person_for(principal, person_id, Action.STAFF_ADD)
        parsed = _school_role(role, "role")
        if isinstance(parsed, FieldError):
            raise InvalidInput([parsed])
        if principal.kind is ActorKind.PERSON and principal.id == person.id:
            raise Forbidden("you cannot end your own role: ask a colleague")
        if not can_grant(principal, parsed, school_id):
            raise Forbidden(f"you cannot end the role {role}: the school's leadership or the trust team does")
        person.revoke_role(parsed, school_id, principal.actor(Action.STAFF_ADD, school_id), self.clock.now(),
                           clean_text(reason or "") or "role ended")
        self.commit(person, by=principal)

    def _person_for(self, principal: Principal, person_id: UUID, action: Action) -> tuple[Person, UUID | None]:
        person = self.load(Person, person_id)
        if person is None or person.trust_id != principal.trust_id:
            raise NotFound("person")
        schools = frozenset(a.school_id for a in person.roles if a.school_id is not None)
        allowed = can_about_person(principal, action, person.id, schools, principal.trust_id)
        if not (allowed or can_about_person(principal, Action.STAFF_READ, person.id, schools, principal.trust_id)):
            raise NotFound("person")
        if not allowed:
            raise Forbidden(action.refusal)
        acting_school = next((s for s in sorted(schools, key=str) if can(principal, action, s)), None)
        return person, acting_school

    def record_training(self, principal: Principal, person_id: UUID, course: str, completed_on: date,
                        expires_on: date | None) -> UUID:
        person, school_id = self._person_for(principal, person_id, Action.TRAINING_RECORD)
        trust = self.load(Trust, principal.trust_id)
        assert trust is not None
        training_id = new_id()
        person.record_training(training_id, course, completed_on, expires_on, trust.settings.training_validity_months,
                               today_in_london(self.clock), principal.actor(Action.TRAINING_RECORD, school_id),
                               self.clock.now(), school_id)
        self.commit(person, by=principal)
        return training_id

    def acknowledge_policy(self, principal: Principal, person_id: UUID, policy_version_id: UUID | None) -> UUID:
        person, school_id = self._person_for(principal, person_id, Action.ACKNOWLEDGEMENT_RECORD)
        trust = self.load(Trust, principal.trust_id)
        assert trust is not None
        if policy_version_id is None:
            if trust.current_policy is None:
                raise InvalidInput.one("policy_version_id", "the trust has not published a policy yet")
            policy_version_id = trust.current_policy.id
        person.acknowledge_policy(policy_version_id, {v.id for v in trust.policy_versions},
                                  principal.actor(Action.ACKNOWLEDGEMENT_RECORD, school_id), self.clock.now(),
                                  school_id)
        self.commit(person, by=principal)
        return policy_version_id

    def declare_personal_account(self, principal: Principal, person_id: UUID, platform: str, handle: str,
                                 names_school: bool, disclaimer_present: bool) -> UUID:
        person, school_id = self._person_for(principal, person_id, Action.PERSONAL_ACCOUNT_DECLARE)
        declaration_id = new_id()
        person.declare_personal_account(declaration_id, platform, handle, names_school, disclaimer_present,
                                        principal.actor(Action.PERSONAL_ACCOUNT_DECLARE, school_id),
                                        self.clock.now(), school_id)
        self.commit(person, by=principal)
        return declaration_id

    def update_identity(self, principal: Principal, person_id: UUID, display_name: str | None,
                        external_id: str | None, set_external_id: bool) -> None:
        """HR provisioning (SCIM): rename a person and record their id in the HR/identity system."""
        person, _ = self._person_for(principal, person_id, Action.STAFF_ADD)
        actor = principal.actor(Action.STAFF_ADD, None)
        now = self.clock.now()
        if display_name is not None:
            person.rename(display_name, actor, now)
        if set_external_id:
            person.record_external_id(external_id, actor, now)
        self.commit(person, by=principal)

    def assign_trust_role(self, person_id: UUID, role: Role, actor: Actor) -> None:
        """Operator bootstrap (CLI): give a person a trust-wide role."""
        person = self.load(Person, person_id)
        if person is None:
            raise NotFound("person")
        person.assign_role(role, None, actor, self.clock.now())
        self.commit(person, by=None)


def system_actor(label: str) -> Actor:
    return Actor(ActorKind.SYSTEM, None, label, None, "cli")
