"""A handover: a leaver leads or runs an account; before their leaving date the moderator transfers the lead
(or removes them as runner) or closes the account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from domain.errors import InvalidInput, InvalidTransition
from domain.events import Actor, Aggregate, DomainEvent


class HandoverStatus(StrEnum):
    OPEN = "open"
    COMPLETED = "completed"


class HandoverOutcome(StrEnum):
    LEAD_TRANSFERRED = "lead_transferred"
    RUNNER_REMOVED = "runner_removed"
    ACCOUNT_CLOSED = "account_closed"


@dataclass(frozen=True, kw_only=True)
class HandoverOpened(DomainEvent):
    account_id: UUID
    leaver_id: UUID
    leaver_was_lead: bool
    leaving_date: date
    due_on: date


@dataclass(frozen=True, kw_only=True)
class HandoverCompleted(DomainEvent):
    outcome: str
    new_lead_id: UUID | None


class Handover(Aggregate):
    def __init__(self, id: UUID) -> None:
        super().__init__(id)
        self.trust_id: UUID | None = None
        self.school_id: UUID | None = None
        self.account_id: UUID | None = None
        self.leaver_id: UUID | None = None
        self.leaver_was_lead = False
        self.leaving_date: date | None = None
        self.status = HandoverStatus.OPEN

    @classmethod
    def open(cls, id: UUID, trust_id: UUID, school_id: UUID, account_id: UUID, leaver_id: UUID,
             leaver_was_lead: bool, leaving_date: date, actor: Actor, at: datetime) -> Handover:
        handover = cls(id)
        handover._trigger(HandoverOpened(**handover.header(at, actor, trust_id, school_id), account_id=account_id,
                                         leaver_id=leaver_id, leaver_was_lead=leaver_was_lead,
                                         leaving_date=leaving_date, due_on=leaving_date))
        return handover

    def complete(self, outcome: HandoverOutcome, new_lead_id: UUID | None, actor: Actor, at: datetime,
                 reason: str | None) -> None:
        if self.status is not HandoverStatus.OPEN:
            raise InvalidTransition("the handover is already completed")
        if outcome is HandoverOutcome.RUNNER_REMOVED and self.leaver_was_lead:
            raise InvalidInput.one("outcome", "the leaver leads the account: transfer the lead or close the account")
        if outcome is HandoverOutcome.LEAD_TRANSFERRED and new_lead_id is None:
            raise InvalidInput.one("new_lead_id", "is required to transfer the lead")
        assert self.trust_id is not None and self.school_id is not None
        self._trigger(HandoverCompleted(**self.header(at, actor, self.trust_id, self.school_id),
                                        outcome=outcome.value, new_lead_id=new_lead_id, reason=reason))

    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, HandoverOpened):
            self.trust_id, self.school_id = event.trust_id, event.school_id
            self.account_id, self.leaver_id = event.account_id, event.leaver_id
            self.leaver_was_lead, self.leaving_date = event.leaver_was_lead, event.leaving_date
        elif isinstance(event, HandoverCompleted):
            self.status = HandoverStatus.COMPLETED
