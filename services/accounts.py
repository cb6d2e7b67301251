"""School accounts, the credential vault and staff departures with their handovers."""

from __future__ import annotations

from datetime import date
from typing import Protocol
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder

from domain.account import SchoolAccount, check_reveal_reason
from domain.application import AccountApplication
from domain.credentials import Credentials
from domain.errors import AlreadyExists, InvalidInput, RuleRefused
from domain.events import Aggregate
from domain.handover import Handover, HandoverOutcome
from domain.person import Person
from domain.trust import PolicyVersion, Trust
from domain.values import Role
from services.authorisation import RUNNER_ACTIONS, Action, Principal, can, can_about_person, can_end_roles
from services.event_log import EventLog
from services.eventstore import ContextApplication, Forbidden, NotFound
from services.ids import new_id
from services.ports import Clock, Vault, today_in_london


class AccountLookups(Protocol):
    def accounts_of_person(self, person_id: UUID) -> list[UUID]:
        """Open (not closed) accounts the person leads or runs."""
        ...

    def open_handover(self, account_id: UUID, leaver_id: UUID) -> UUID | None: ...

    def account_of_application(self, application_id: UUID) -> UUID | None:
        """The account already created from an application, if any."""
        ...


class Accounts(ContextApplication):
    name = "accounts"

    def __init__(self, recorder: ApplicationRecorder, clock: Clock, log: EventLog, vault: Vault,
                 lookups: AccountLookups) -> None:
        super().__init__(recorder, clock, log)
        self.vault = vault
        self.lookups = lookups

    # ----- helpers -----
    def _today(self) -> date:
        return today_in_london(self.clock)

    def _policy(self, trust_id: UUID) -> PolicyVersion | None:
        trust = self.load(Trust, trust_id)
        return trust.current_policy if trust else None

    def _people(self, ids: list[UUID], trust_id: UUID) -> list[Person]:
        people = [self.load(Person, i) for i in ids]
        return [p for p in people if p is not None and p.trust_id == trust_id]

    def _person_at(self, principal: Principal, person_id: UUID, field: str = "person_id") -> Person:
        person = self.load(Person, person_id)
        if person is None or person.trust_id != principal.trust_id:
            raise InvalidInput.one(field, "is not a person of this trust")
        return person

    def _account(self, principal: Principal, account_id: UUID, action: Action) -> SchoolAccount:
        """Loads an account the caller may see (else 404) and may act on with `action` (else 403)."""
        account = self.load(SchoolAccount, account_id)
        if account is None or account.trust_id != principal.trust_id or account.school_id is None:
            raise NotFound("account")
        runner = principal.id in account.runner_ids
        if not (runner or can(principal, Action.ACCOUNT_READ, account.school_id)):
            raise NotFound("account")
        if not (can(principal, action, account.school_id) or (runner and action in RUNNER_ACTIONS)):
            raise Forbidden(action.refusal)
        return account

    # ----- accounts -----
    def create(self, principal: Principal, school_id: UUID, application_id: UUID, lead_id: UUID | None,
               url: str | None) -> UUID:
        if school_id not in principal.visible_school_ids:
            raise NotFound("school")
        if not can(principal, Action.ACCOUNT_CREATE, school_id):
            raise Forbidden("only the school's moderator creates accounts")
        application = self.load(AccountApplication, application_id)
        if application is None or application.school_id != school_id or application.case is None:
            raise InvalidInput.one("application_id", "is not an application of this school")
        if self.lookups.account_of_application(application_id) is not None:
            raise AlreadyExists("application_id", "an account has already been created from this application")
        runners = self._people(list(application.case.runner_ids), principal.trust_id)
        account = SchoolAccount.create(new_id(), application, lead_id, url, runners,
                                       self._policy(principal.trust_id), self._today(),
                                       principal.actor(Action.ACCOUNT_CREATE, school_id), self.clock.now())
        self.commit(account, by=principal)
        return account.id

    def add_runner(self, principal: Principal, account_id: UUID, person_id: UUID) -> None:
        account = self._account(principal, account_id, Action.ACCOUNT_MANAGE)
        person = self._person_at(principal, person_id)
        account.add_runner(person, self._policy(principal.trust_id), self._today(),
                           principal.actor(Action.ACCOUNT_MANAGE, account.school_id), self.clock.now())
        self.commit(account, by=principal)

    def remove_runner(self, principal: Principal, account_id: UUID, person_id: UUID, reason: str | None) -> None:
        account = self._account(principal, account_id, Action.ACCOUNT_MANAGE)
        remaining = self._people([r for r in account.runner_ids if r != person_id], principal.trust_id)
        account.remove_runner(person_id, remaining, self._today(), reason,
                              principal.actor(Action.ACCOUNT_MANAGE, account.school_id), self.clock.now())
        self.commit(account, by=principal)

    def transfer_lead(self, principal: Principal, account_id: UUID, person_id: UUID, reason: str | None) -> None:
        account = self._account(principal, account_id, Action.ACCOUNT_MANAGE)
        person = self._person_at(principal, person_id)
        account.transfer_lead(person, self._policy(principal.trust_id), self._today(), reason,
                              principal.actor(Action.ACCOUNT_MANAGE, account.school_id), self.clock.now())
        self.commit(account, by=principal)

    def suspend(self, principal: Principal, account_id: UUID, reason: str) -> None:
        account = self._account(principal, account_id, Action.ACCOUNT_MANAGE)
        account.suspend(reason, principal.actor(Action.ACCOUNT_MANAGE, account.school_id), self.clock.now())
        self.commit(account, by=principal)

    def reinstate(self, principal: Principal, account_id: UUID, reason: str | None) -> None:
        account = self._account(principal, account_id, Action.ACCOUNT_MANAGE)
        account.reinstate(self._people(account.runner_ids, principal.trust_id), self._today(), reason,
                          principal.actor(Action.ACCOUNT_MANAGE, account.school_id), self.clock.now())
        self.commit(account, by=principal)

    def close_account(self, principal: Principal, account_id: UUID, reason: str) -> None:
        account = self._account(principal, account_id, Action.ACCOUNT_MANAGE)
        account.close(reason, principal.actor(Action.ACCOUNT_MANAGE, account.school_id), self.clock.now())
        self.commit(account, by=principal)

    def record_check(self, principal: Principal, account_id: UUID, note: str | None) -> None:
        account = self._account(principal, account_id, Action.MONITORING_CHECK)
        account.record_check(principal.id, note, principal.actor(Action.MONITORING_CHECK, account.school_id),
                             self.clock.now())
        self.commit(account, by=principal)

    # ----- credentials -----
    def store_credentials(self, principal: Principal, account_id: UUID, credentials: Credentials,
                          reason: str | None) -> int:
        account = self._account(principal, account_id, Action.CREDENTIALS_STORE)
        assert account.school_id is not None
        credentials = credentials.validated()
        version = account.next_credential_version
        ref = self.vault.store(account.school_id, account.id, version, credentials)
        account.store_credentials(version, ref, self.vault.fingerprint(account.school_id, credentials),
                                  principal.actor(Action.CREDENTIALS_STORE, account.school_id), self.clock.now(),
                                  reason)
        self.commit(account, by=principal)
        return version

    def reveal_credentials(self, principal: Principal, account_id: UUID,
                           reason: str | None = None) -> tuple[int, Credentials]:
        """Decrypts the current version (checking integrity), records the reveal with its reason (why the person
        needs to see them; the web UI requires one), then returns the secret once."""
        reason = check_reveal_reason(reason)
        account = self._account(principal, account_id, Action.CREDENTIALS_REVEAL)
        assert account.school_id is not None
        person = self.load(Person, principal.id)
        if person is None or not person.active_on(self._today()):
            raise Forbidden("leavers cannot reveal credentials")
        is_moderator = Role.MODERATOR in principal.roles_at(account.school_id)
        if not account.may_reveal(principal.id, is_moderator):
            raise Forbidden("only the account's moderator and its runners may see credentials")
        if account.credential_ref is None:
            raise NotFound("credentials")
        secret = self.vault.reveal(account.credential_ref, account.school_id, account.id, account.credential_version)
        version = account.record_reveal(principal.id, is_moderator,
                                        principal.actor(Action.CREDENTIALS_REVEAL, account.school_id),
                                        self.clock.now(), reason)
        self.commit(account, by=principal)
        return version, secret

    # ----- departures and handovers -----
    def record_departure(self, principal: Principal, person_id: UUID, leaving_date: date,
                         reason: str | None) -> list[UUID]:
        """Records a leaver: their roles end on the leaving date; each account they lead or run gets a handover
        due before it and a credential rotation required from it. Returns the handovers opened."""
        person = self.load(Person, person_id)
        if person is None or person.trust_id != principal.trust_id:
            raise NotFound("person")
        schools = frozenset(a.school_id for a in person.roles if a.school_id is not None)
        allowed = can_about_person(principal, Action.DEPARTURE_RECORD, person.id, schools, principal.trust_id)
        if not (allowed or can_about_person(principal, Action.STAFF_READ, person.id, schools, principal.trust_id)):
            raise NotFound("person")
        if principal.id == person.id or not allowed:
            raise Forbidden("you cannot record this person's departure")
        if not can_end_roles(principal, ((a.role, a.school_id) for a in person.roles)):
            raise Forbidden("you cannot record the departure of someone holding a role you could not give them")
        acting_school = next((s for s in sorted(schools, key=str) if can(principal, Action.DEPARTURE_RECORD, s)),
                             None)
        actor = principal.actor(Action.DEPARTURE_RECORD, acting_school)
        now = self.clock.now()
        person.record_departure(leaving_date, self._today(), reason, actor, now)
        changed: list[Aggregate] = [person]
        opened: list[UUID] = []
        for account_id in self.lookups.accounts_of_person(person.id):
            account = self.load(SchoolAccount, account_id)
            if account is None or account.school_id is None or account.trust_id is None:
                continue
            if self.lookups.open_handover(account.id, person.id) is None:
                handover = Handover.open(new_id(), account.trust_id, account.school_id, account.id, person.id,
                                         account.lead_id == person.id, leaving_date, actor, now)
                changed.append(handover)
                opened.append(handover.id)
            account.require_rotation(person.id, leaving_date, actor, now, f"{person.display_name} leaves")
            changed.append(account)
        self.commit(*changed, by=principal)
        return opened

    def complete_handover(self, principal: Principal, handover_id: UUID, outcome: str, new_lead_id: UUID | None,
                          reason: str | None) -> None:
        handover = self.load(Handover, handover_id)
        if handover is None or handover.trust_id != principal.trust_id or handover.school_id is None \
                or not can(principal, Action.HANDOVER_READ, handover.school_id):
            raise NotFound("handover")
        if not can(principal, Action.HANDOVER_COMPLETE, handover.school_id):
            raise Forbidden("only the school's moderator or leadership completes handovers")
        try:
            parsed = HandoverOutcome(outcome)
        except ValueError:
            raise InvalidInput.one("outcome", "must be one of " + ", ".join(o.value for o in HandoverOutcome)) from None
        assert handover.account_id is not None and handover.leaver_id is not None
        account = self._account(principal, handover.account_id, Action.ACCOUNT_MANAGE)
        actor = principal.actor(Action.HANDOVER_COMPLETE, handover.school_id)
        now, today = self.clock.now(), self._today()
        handover.complete(parsed, new_lead_id, actor, now, reason)  # validates the outcome before any change
        leaver = handover.leaver_id
        if parsed is HandoverOutcome.ACCOUNT_CLOSED:
            account.close(reason or "closed at handover: the lead is leaving", actor, now)
        else:
            if parsed is HandoverOutcome.LEAD_TRANSFERRED:
                assert new_lead_id is not None
                account.transfer_lead(self._person_at(principal, new_lead_id, "new_lead_id"),
                                      self._policy(principal.trust_id), today, reason, actor, now)
            if leaver in account.runner_ids:
                remaining = self._people([r for r in account.runner_ids if r != leaver], principal.trust_id)
                try:
                    account.remove_runner(leaver, remaining, today, reason or "handover: leaving", actor, now)
                except RuleRefused as e:
                    raise RuleRefused("Handover refused", [*e.conditions, "add another trained runner first"]) from e
        self.commit(handover, account, by=principal)
