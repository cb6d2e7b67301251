"""A school social media account, created by a moderator from an approved application.

Invariant: an active account has at least two runners with valid training. The lead is always a runner.
Credentials never enter the model: events carry the vault version and a keyed fingerprint only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from domain.application import AccountApplication, ApplicationStatus, unmet_approval_conditions
from domain.errors import FieldError, InvalidInput, InvalidTransition, RuleRefused
from domain.events import Actor, Aggregate, DomainEvent
from domain.person import Person
from domain.trust import PolicyVersion

MIN_TRAINED_RUNNERS = 2


class AccountStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CLOSED = "closed"


@dataclass(frozen=True, kw_only=True)
class AccountCreated(DomainEvent):
    application_id: UUID
    platform: str
    handle: str
    url: str | None
    visibility: str
    lead_id: UUID
    runner_ids: list[UUID]


@dataclass(frozen=True, kw_only=True)
class RunnerAdded(DomainEvent):
    person_id: UUID


@dataclass(frozen=True, kw_only=True)
class RunnerRemoved(DomainEvent):
    person_id: UUID


@dataclass(frozen=True, kw_only=True)
class LeadTransferred(DomainEvent):
    previous_lead_id: UUID
    lead_id: UUID


@dataclass(frozen=True, kw_only=True)
class AccountSuspended(DomainEvent):
    pass


@dataclass(frozen=True, kw_only=True)
class AccountReinstated(DomainEvent):
    pass


@dataclass(frozen=True, kw_only=True)
class AccountClosed(DomainEvent):
    pass


@dataclass(frozen=True, kw_only=True)
class CredentialsStored(DomainEvent):
    """A new credential version is in the vault. Only its reference and keyed fingerprint are recorded."""

    version: int
    vault_ref: UUID
    fingerprint: str


@dataclass(frozen=True, kw_only=True)
class CredentialsRevealed(DomainEvent):
    """Someone saw a credential version. `reason` (every event's) is why they said they needed it: the web UI asks
    for one; API callers may give one; reveals recorded before it was asked for have none."""

    version: int
    revealed_to: UUID


@dataclass(frozen=True, kw_only=True)
class CredentialRotationRequired(DomainEvent):
    """Someone with access leaves on `effective_on`: a new credential version must be stored from then on."""

    leaver_id: UUID
    effective_on: date


@dataclass(frozen=True, kw_only=True)
class MonitoringCheckRecorded(DomainEvent):
    checked_by: UUID
    note: str | None


@dataclass(frozen=True, kw_only=True)
class MonitoringLapseFlagged(DomainEvent):
    """No monitoring check for 24 hours (the policy: monitored "7 days a week, including holidays")."""

    last_check_at: datetime | None


#: The longest reason a reveal may carry (it is shown in the audit trail).
REVEAL_REASON_MAX = 1000


def check_reveal_reason(reason: str | None) -> str | None:
    """A reveal's reason, trimmed (None when blank); InvalidInput when too long."""
    text = (reason or "").strip()
    if len(text) > REVEAL_REASON_MAX:
        raise InvalidInput.one("reason", f"must be at most {REVEAL_REASON_MAX} characters")
    return text or None


def _eligibility(person: Person, school_id: UUID, policy: PolicyVersion | None, today: date) -> list[str]:
    return unmet_approval_conditions([person], school_id, policy, today)


class SchoolAccount(Aggregate):
    def __init__(self, id: UUID) -> None:
        super().__init__(id)
        self.trust_id: UUID | None = None
        self.school_id: UUID | None = None
        self.platform = ""
        self.handle = ""
        self.lead_id: UUID | None = None
        self.runner_ids: list[UUID] = []
        self.status = AccountStatus.ACTIVE
        self.credential_version = 0
        self.credential_ref: UUID | None = None
        self.rotation_pending: list[tuple[date, UUID]] = []
        self.last_check_at: datetime | None = None
        self.created_at: datetime | None = None
        self.lapse_flagged = False

    @property
    def _ids(self) -> tuple[UUID, UUID]:
        assert self.trust_id is not None and self.school_id is not None
        return self.trust_id, self.school_id

    def rotation_required_on(self, day: date) -> bool:
        return any(effective <= day for effective, _ in self.rotation_pending)

    # ----- creation -----
    @classmethod
    def create(cls, id: UUID, application: AccountApplication, lead_id: UUID | None, url: str | None,
               runners: list[Person], policy: PolicyVersion | None, today: date, actor: Actor,
               at: datetime) -> SchoolAccount:
        if application.status is not ApplicationStatus.APPROVED or application.case is None:
            raise InvalidTransition("an account can only be created from an approved application")
        assert application.school_id is not None and application.trust_id is not None
        case = application.case
        lead = lead_id or (application.applicant_id if application.applicant_id in case.runner_ids
                           else case.runner_ids[0])
        if lead not in case.runner_ids:
            raise InvalidInput.one("lead_id", "the lead must be one of the application's runners")
        if url is not None and not (url.startswith("https://") and len(url) <= 500):
            raise InvalidInput.one("url", "must be an https:// address of at most 500 characters")
        unmet = unmet_approval_conditions(runners, application.school_id, policy, today)
        if unmet:
            raise RuleRefused("Account creation refused", unmet)
        account = cls(id)
        account._trigger(AccountCreated(
            **account.header(at, actor, application.trust_id, application.school_id), application_id=application.id,
            platform=case.platform, handle=case.proposed_handle, url=url, visibility=case.visibility,
            lead_id=lead, runner_ids=list(case.runner_ids)))
        return account

    # ----- runners and lead -----
    def _require_open(self) -> None:
        if self.status is AccountStatus.CLOSED:
            raise InvalidTransition("the account is closed")

    def add_runner(self, person: Person, policy: PolicyVersion | None, today: date, actor: Actor,
                   at: datetime) -> None:
        self._require_open()
        if person.id in self.runner_ids:
            raise InvalidInput.one("person_id", f"{person.display_name} already runs this account")
        unmet = _eligibility(person, self._ids[1], policy, today)
        if unmet:
            raise RuleRefused("Runner refused", unmet)
        self._trigger(RunnerAdded(**self.header(at, actor, *self._ids), person_id=person.id))

    def remove_runner(self, person_id: UUID, remaining: list[Person], today: date, reason: str | None,
                      actor: Actor, at: datetime) -> None:
        """`remaining`: the runners who would be left, to check the two-trained-runners invariant."""
        self._require_open()
        if person_id not in self.runner_ids:
            raise InvalidInput.one("person_id", "is not a runner of this account")
        if person_id == self.lead_id:
            raise RuleRefused("Runner removal refused", ["the lead cannot be removed: transfer the lead first"])
        if self.status is AccountStatus.ACTIVE:
            self._check_trained(remaining, today, "Runner removal refused")
        self._trigger(RunnerRemoved(**self.header(at, actor, *self._ids), person_id=person_id, reason=reason))

    def _check_trained(self, runners: list[Person], today: date, title: str) -> None:
        trained = [p for p in runners if p.has_valid_training(today) and p.has_role_at(self._ids[1], day=today)]
        if len(trained) < MIN_TRAINED_RUNNERS:
            names = ", ".join(p.display_name for p in trained) or "nobody"
            raise RuleRefused(title, [f"an active account needs at least {MIN_TRAINED_RUNNERS} runners with valid "
                                      f"training; it would have {len(trained)} ({names})"])

    def transfer_lead(self, new_lead: Person, policy: PolicyVersion | None, today: date, reason: str | None,
                      actor: Actor, at: datetime) -> None:
        """Sets a new lead; someone not yet a runner becomes one (they must be trained and have read the policy)."""
        self._require_open()
        assert self.lead_id is not None
        if new_lead.id == self.lead_id:
            raise InvalidInput.one("person_id", f"{new_lead.display_name} already leads this account")
        unmet = _eligibility(new_lead, self._ids[1], policy, today)
        if unmet:
            raise RuleRefused("Lead transfer refused", unmet)
        if new_lead.id not in self.runner_ids:
            self._trigger(RunnerAdded(**self.header(at, actor, *self._ids), person_id=new_lead.id))
        self._trigger(LeadTransferred(**self.header(at, actor, *self._ids), previous_lead_id=self.lead_id,
                                      lead_id=new_lead.id, reason=reason))

    # ----- lifecycle -----
    def suspend(self, reason: str, actor: Actor, at: datetime) -> None:
        self._require_open()
        if not reason.strip():
            raise InvalidInput.one("reason", "a reason is required")
        if self.status is AccountStatus.SUSPENDED:
            raise InvalidTransition("the account is already suspended")
        self._trigger(AccountSuspended(**self.header(at, actor, *self._ids), reason=reason.strip()))

    def reinstate(self, runners: list[Person], today: date, reason: str | None, actor: Actor, at: datetime) -> None:
        if self.status is not AccountStatus.SUSPENDED:
            raise InvalidTransition("only a suspended account can be reinstated")
        self._check_trained(runners, today, "Reinstatement refused")
        self._trigger(AccountReinstated(**self.header(at, actor, *self._ids), reason=reason))

    def close(self, reason: str, actor: Actor, at: datetime) -> None:
        self._require_open()
        if not reason.strip():
            raise InvalidInput.one("reason", "a reason is required to close an account")
        self._trigger(AccountClosed(**self.header(at, actor, *self._ids), reason=reason.strip()))

    # ----- credentials -----
    @property
    def next_credential_version(self) -> int:
        return self.credential_version + 1

    def store_credentials(self, version: int, vault_ref: UUID, fingerprint: str, actor: Actor, at: datetime,
                          reason: str | None = None) -> None:
        self._require_open()
        if version != self.next_credential_version:
            raise InvalidTransition("the credentials were changed by someone else; reload and try again")
        self._trigger(CredentialsStored(**self.header(at, actor, *self._ids), version=version, vault_ref=vault_ref,
                                        fingerprint=fingerprint, reason=reason))

    def may_reveal(self, person_id: UUID, is_moderator: bool) -> bool:
        return is_moderator or person_id in self.runner_ids

    def record_reveal(self, person_id: UUID, is_moderator: bool, actor: Actor, at: datetime,
                      reason: str | None = None) -> int:
        """Records who saw which version, and why when they said (the web UI always asks; the API may omit it)."""
        self._require_open()
        reason = check_reveal_reason(reason)
        if not self.may_reveal(person_id, is_moderator):
            raise RuleRefused("Reveal refused", ["only the account's moderator and its runners may see credentials"])
        if self.credential_version == 0:
            raise InvalidTransition("no credentials have been stored for this account")
        self._trigger(CredentialsRevealed(**self.header(at, actor, *self._ids), version=self.credential_version,
                                          revealed_to=person_id, reason=reason))
        return self.credential_version

    def require_rotation(self, leaver_id: UUID, effective_on: date, actor: Actor, at: datetime,
                         reason: str | None) -> None:
        if self.status is AccountStatus.CLOSED:
            return
        self._trigger(CredentialRotationRequired(**self.header(at, actor, *self._ids), leaver_id=leaver_id,
                                                 effective_on=effective_on, reason=reason))

    def record_check(self, checked_by: UUID, note: str | None, actor: Actor, at: datetime) -> None:
        self._require_open()
        if note is not None and len(note) > 2000:
            raise InvalidInput([FieldError("note", "must be at most 2000 characters")])
        self._trigger(MonitoringCheckRecorded(**self.header(at, actor, *self._ids), checked_by=checked_by,
                                              note=(note or "").strip() or None))

    def flag_monitoring_lapse(self, now: datetime, hours: int, actor: Actor) -> bool:
        """Flags the account once per lapse; a new check clears the flag. False if not lapsed or already flagged."""
        if self.status is not AccountStatus.ACTIVE or self.lapse_flagged:
            return False
        since = self.last_check_at or self.created_at
        if since is None or (now - since).total_seconds() <= hours * 3600:
            return False
        self._trigger(MonitoringLapseFlagged(**self.header(now, actor, *self._ids), last_check_at=self.last_check_at))
        return True

    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, MonitoringCheckRecorded):
            self.last_check_at, self.lapse_flagged = event.occurred_at, False
        elif isinstance(event, MonitoringLapseFlagged):
            self.lapse_flagged = True
        elif isinstance(event, AccountCreated):
            self.created_at = event.occurred_at
            self.trust_id, self.school_id = event.trust_id, event.school_id
            self.platform, self.handle = event.platform, event.handle
            self.lead_id, self.runner_ids = event.lead_id, list(event.runner_ids)
        elif isinstance(event, RunnerAdded):
            self.runner_ids.append(event.person_id)
        elif isinstance(event, RunnerRemoved):
            self.runner_ids.remove(event.person_id)
        elif isinstance(event, LeadTransferred):
            self.lead_id = event.lead_id
        elif isinstance(event, AccountSuspended):
            self.status = AccountStatus.SUSPENDED
        elif isinstance(event, AccountReinstated):
            self.status = AccountStatus.ACTIVE
        elif isinstance(event, AccountClosed):
            self.status = AccountStatus.CLOSED
        elif isinstance(event, CredentialsStored):
            self.credential_version, self.credential_ref = event.version, event.vault_ref
            stored_on = event.occurred_at.date()
            self.rotation_pending = [(d, p) for d, p in self.rotation_pending if d > stored_on]
        elif isinstance(event, CredentialRotationRequired):
            self.rotation_pending.append((event.effective_on, event.leaver_id))
