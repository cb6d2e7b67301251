"""Account applications: the business case for a new school social media account, and the SLT decision."""

from __future__ import annotations

from uuid import UUID

from domain.application import AccountApplication, BusinessCase
from domain.errors import RuleRefused
from domain.events import ActorKind
from domain.person import Person
from domain.trust import Trust
from services.authorisation import Action, Principal, can
from services.eventstore import ContextApplication, Forbidden, NotFound
from services.ids import new_id
from services.ports import today_in_london


class Applications(ContextApplication):
    name = "applications"

    def _runners(self, ids: tuple[UUID, ...], trust_id: UUID) -> dict[UUID, Person | None]:
        return _in_trust(self.load_many(Person, list(dict.fromkeys(ids))), trust_id)

    def submit(self, principal: Principal, school_id: UUID, case: BusinessCase) -> UUID:
        if school_id not in principal.visible_school_ids:
            raise NotFound("school")
        if principal.kind is not ActorKind.PERSON or not can(principal, Action.APPLICATION_SUBMIT, school_id):
            raise Forbidden("only staff of this school can apply for an account")
        app = AccountApplication.submit(new_id(), principal.trust_id, school_id, principal.id, case,
                                        self._runners(case.runner_ids, principal.trust_id),
                                        principal.actor(Action.APPLICATION_SUBMIT, school_id), self.clock.now())
        self.commit(app, by=principal)
        return app.id

    def _visible(self, principal: Principal, application_id: UUID) -> AccountApplication:
        app = self.load(AccountApplication, application_id)
        if app is None or app.trust_id != principal.trust_id or app.school_id is None:
            raise NotFound("application")
        involved = app.case is not None and (principal.id == app.applicant_id or principal.id in app.case.runner_ids)
        if not (involved or can(principal, Action.APPLICATION_READ, app.school_id)):
            raise NotFound("application")
        return app

    def approve(self, principal: Principal, application_id: UUID, reason: str | None = None) -> None:
        app = self._visible(principal, application_id)
        assert app.school_id is not None and app.case is not None
        if not can(principal, Action.APPLICATION_DECIDE, app.school_id):
            raise Forbidden("only the school's leadership team can approve applications")
        runners = [p for p in self._runners(app.case.runner_ids, principal.trust_id).values() if p is not None]
        if len(runners) != len(app.case.runner_ids):  # pragma: no cover - people are never deleted
            raise RuleRefused("Approval refused", ["a named runner is no longer known to the trust"])
        trust = self.load(Trust, principal.trust_id)
        assert trust is not None
        app.approve(principal.id, runners, trust.current_policy, today_in_london(self.clock),
                    principal.actor(Action.APPLICATION_DECIDE, app.school_id), self.clock.now(), reason)
        self.commit(app, by=principal)

    def reject(self, principal: Principal, application_id: UUID, reason: str) -> None:
        app = self._visible(principal, application_id)
        assert app.school_id is not None
        if not can(principal, Action.APPLICATION_DECIDE, app.school_id):
            raise Forbidden("only the school's leadership team can reject applications")
        app.reject(principal.id, reason, principal.actor(Action.APPLICATION_DECIDE, app.school_id), self.clock.now())
        self.commit(app, by=principal)

    def withdraw(self, principal: Principal, application_id: UUID, reason: str | None) -> None:
        app = self._visible(principal, application_id)
        assert app.school_id is not None
        app.withdraw(principal.id, reason, principal.actor(Action.APPLICATION_WITHDRAW, app.school_id),
                     self.clock.now())
        self.commit(app, by=principal)


def _in_trust(people: dict[UUID, Person | None], trust_id: UUID) -> dict[UUID, Person | None]:
    """None for anyone unknown or of another trust."""
    return {i: (p if p is not None and p.trust_id == trust_id else None) for i, p in people.items()}
