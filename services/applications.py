"""Account applications: the business case for a new school social media account, and the SLT decision."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder

from domain.application import AccountApplication, ApplicationSubmitted, BusinessCase
from domain.errors import RuleRefused
from domain.events import ActorKind
from domain.person import Person
from domain.trust import Trust
from services.authorisation import Action, Principal, can
from services.eventstore import AfterSave, ContextApplication, Forbidden, NotFound
from services.ids import new_id
from services.ports import Clock, today_in_london


class Applications(ContextApplication):
    name = "applications"
    #: Runners loaded for a submit, by person, with the directory mark they were loaded at: see _submit_runners.
    RUNNERS_CACHED = 4096

    def __init__(self, recorder: ApplicationRecorder, clock: Clock, after_save: AfterSave | None = None) -> None:
        super().__init__(recorder, clock, after_save)
        self._runner_cache: dict[UUID, tuple[int, Person | None]] = {}

    def _runners(self, ids: tuple[UUID, ...], trust_id: UUID) -> dict[UUID, Person | None]:
        return _in_trust(self.load_many(Person, list(dict.fromkeys(ids))), trust_id)

    def _submit_runners(self, principal: Principal, ids: tuple[UUID, ...]) -> dict[UUID, Person | None]:
        """The named runners for a submit's check (does each hold a runner role at the school?). A person's roles
        and trust can change only by an event that moves the directory's change mark, so people loaded while the
        caller's principal was checked at mark M are reused by later submits checked at the same M: a submit from
        a cached principal loads no aggregates. Only roles and trust are read from them; approval, which checks
        training and acknowledgements too, always loads afresh. Decision 0029."""
        mark = principal.directory_mark
        if mark is None:
            return self._runners(ids, principal.trust_id)
        cache = self._runner_cache
        missing = self._uncached(mark, ids)
        if missing:
            if len(cache) + len(missing) > self.RUNNERS_CACHED:
                cache.clear()
            # Read after the mark, so at least as new as it; an entry of an older mark is replaced.
            cache.update({i: (mark, p) for i, p in self.load_many(Person, missing).items()})
        return _in_trust({i: cache[i][1] for i in ids}, principal.trust_id)

    def submit_reads(self, principal: Principal, ids: tuple[UUID, ...]) -> bool:
        """Whether a submit by `principal` naming runners `ids` must read the event store first (some runner is
        not cached at the principal's mark); if not, it can run on the event loop (services/deferred.py)."""
        mark = principal.directory_mark
        return mark is None or bool(self._uncached(mark, ids))

    def _uncached(self, mark: int, ids: tuple[UUID, ...]) -> list[UUID]:
        """The runners among `ids` not cached at `mark`."""
        cache = self._runner_cache
        return [i for i in dict.fromkeys(ids) if cache.get(i, (None,))[0] != mark]

    def submit(self, principal: Principal, school_id: UUID, case: BusinessCase) -> UUID:
        return self.submit_event(principal, school_id, case).originator_id

    def submit_event(self, principal: Principal, school_id: UUID, case: BusinessCase) -> ApplicationSubmitted:
        """Submits; returns the event, once the read side has it."""
        if school_id not in principal.visible_school_ids:
            raise NotFound("school")
        if principal.kind is not ActorKind.PERSON or not can(principal, Action.APPLICATION_SUBMIT, school_id):
            raise Forbidden("only staff of this school can apply for an account")
        app = AccountApplication.submit(new_id(), principal.trust_id, school_id, principal.id, case,
                                        self._submit_runners(principal, case.runner_ids),
                                        principal.actor(Action.APPLICATION_SUBMIT, school_id), self.clock.now())
        event = app.pending[0]
        self.commit(app)
        assert isinstance(event, ApplicationSubmitted)
        return event

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
        self.commit(app)

    def reject(self, principal: Principal, application_id: UUID, reason: str) -> None:
        app = self._visible(principal, application_id)
        assert app.school_id is not None
        if not can(principal, Action.APPLICATION_DECIDE, app.school_id):
            raise Forbidden("only the school's leadership team can reject applications")
        app.reject(principal.id, reason, principal.actor(Action.APPLICATION_DECIDE, app.school_id), self.clock.now())
        self.commit(app)

    def withdraw(self, principal: Principal, application_id: UUID, reason: str | None) -> None:
        app = self._visible(principal, application_id)
        assert app.school_id is not None
        app.withdraw(principal.id, reason, principal.actor(Action.APPLICATION_WITHDRAW, app.school_id),
                     self.clock.now())
        self.commit(app)


def _in_trust(people: dict[UUID, Person | None], trust_id: UUID) -> dict[UUID, Person | None]:
    """None for anyone unknown or of another trust."""
    return {i: (p if p is not None and p.trust_id == trust_id else None) for i, p in people.items()}
