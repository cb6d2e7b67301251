"""Posts on school accounts: drafted by the account's runners, checked against the policy, approved by a leader
where they need one, recorded as published (SocialGov never posts to the platforms itself) and removed; parents'
take-down requests. The trust's content rules and each account's posting rules."""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder
from sqlalchemy import Engine, func, select

from domain.account import AccountStatus, SchoolAccount
from domain.errors import FieldError, InvalidInput
from domain.person import Person
from domain.post import Post
from domain.post_checks import ContentRules, Draft, Finding, PostingRules, PupilIndex, RegisterPupil, check_post
from domain.post_rules import SafeguardRules, content_rules_id, posting_rules_id
from domain.values import Role
from services import readmodel as rm
from services.authorisation import RUNNER_ACTIONS, Action, Principal, can
from services.event_log import EventLog
from services.eventstore import ContextApplication, Forbidden, NotFound
from services.ids import new_id
from services.ports import Clock, today_in_london


class RegisterCache:
    """Each school's register arranged for matching, kept while the register is unchanged (its row count and
    latest update): a runner's keystrokes on the compose page do not re-read 2,000 pupils each time."""

    def __init__(self, engine: Engine, size: int = 64) -> None:
        self.engine = engine
        self.size = size
        self._lock = threading.Lock()
        self._cache: OrderedDict[UUID, tuple[tuple[int, object], PupilIndex]] = OrderedDict()

    def index(self, school_id: UUID) -> PupilIndex:
        t = rm.pupils
        with self.engine.connect() as conn:
            stamp = tuple(conn.execute(select(func.count(), func.max(t.c.updated_at))
                                       .where(t.c.school_id == school_id)).one())
            with self._lock:
                hit = self._cache.get(school_id)
                if hit is not None and hit[0] == stamp:
                    self._cache.move_to_end(school_id)
                    return hit[1]
            rows = conn.execute(select(t.c.pupil_ref, t.c.name, t.c.consent_school_accounts, t.c.no_publish)
                                .where(t.c.school_id == school_id)).all()
        index = PupilIndex.of(RegisterPupil(r.pupil_ref, r.name, bool(r.consent_school_accounts), bool(r.no_publish))
                              for r in rows)
        with self._lock:
            self._cache[school_id] = ((int(stamp[0]), stamp[1]), index)
            while len(self._cache) > self.size:
                self._cache.popitem(last=False)
        return index


class Posts(ContextApplication):
    name = "posts"

    def __init__(self, recorder: ApplicationRecorder, clock: Clock, log: EventLog, engine: Engine) -> None:
        super().__init__(recorder, clock, log)
        self.registers = RegisterCache(engine)

    # ----- rules -----
    def content_rules(self, trust_id: UUID) -> ContentRules:
        rules = self.load(SafeguardRules, content_rules_id(trust_id))
        return rules.content if rules else ContentRules()

    def posting_rules(self, account_id: UUID) -> PostingRules:
        rules = self.load(SafeguardRules, posting_rules_id(account_id))
        return rules.posting if rules else PostingRules()

    def set_content_rules(self, principal: Principal, rules: ContentRules) -> None:
        if not can(principal, Action.TRUST_SETTINGS_CHANGE, None):
            raise Forbidden(Action.TRUST_SETTINGS_CHANGE.refusal)
        rid = content_rules_id(principal.trust_id)
        aggregate = self.load(SafeguardRules, rid) or SafeguardRules(rid)
        aggregate.set_content(principal.trust_id, rules, principal.actor(Action.TRUST_SETTINGS_CHANGE, None),
                              self.clock.now())
        self.commit(aggregate, by=principal)

    def set_posting_rules(self, principal: Principal, account_id: UUID, rules: PostingRules) -> None:
        account = self._account(principal, account_id, Action.ACCOUNT_MANAGE)
        assert account.school_id is not None and account.trust_id is not None
        errors = []
        for i, person_id in enumerate(rules.approver_ids):
            person = self.load(Person, person_id)
            if person is None or person.trust_id != principal.trust_id or \
                    not person.has_role_at(account.school_id, frozenset({Role.SLT}), today_in_london(self.clock)):
                errors.append(FieldError(f"approver_ids[{i}]", "is not a member of this school's leadership team"))
        if errors:
            raise InvalidInput(errors)
        rid = posting_rules_id(account_id)
        aggregate = self.load(SafeguardRules, rid) or SafeguardRules(rid)
        aggregate.set_posting(account.trust_id, account.school_id, account_id, rules,
                              principal.actor(Action.ACCOUNT_MANAGE, account.school_id), self.clock.now())
        self.commit(aggregate, by=principal)

    # ----- helpers -----
    def _account(self, principal: Principal, account_id: UUID, action: Action) -> SchoolAccount:
        """An account the caller may see (else 404: another school's is never disclosed) and act on (else 403)."""
        account = self.load(SchoolAccount, account_id)
        if account is None or account.trust_id != principal.trust_id or account.school_id is None:
            raise NotFound("account")
        runner = principal.id in account.runner_ids
        if not (runner or can(principal, Action.POST_READ, account.school_id)
                or can(principal, Action.TAKEDOWN_RECORD, account.school_id)):
            raise NotFound("account")
        if not (can(principal, action, account.school_id) or (runner and action in RUNNER_ACTIONS)):
            raise Forbidden(action.refusal)
        return account

    def _post(self, principal: Principal, post_id: UUID, action: Action) -> tuple[Post, SchoolAccount]:
        post = self.load(Post, post_id)
        if post is None or post.trust_id != principal.trust_id or post.account_id is None:
            raise NotFound("post")
        try:
            account = self._account(principal, post.account_id, action)
        except NotFound:
            raise NotFound("post") from None
        return post, account

    def findings(self, account: SchoolAccount, draft: Draft) -> list[Finding]:
        assert account.school_id is not None and account.trust_id is not None
        return check_post(draft, self.registers.index(account.school_id), self.content_rules(account.trust_id),
                          self.posting_rules(account.id))

    # ----- commands -----
    def preview(self, principal: Principal, account_id: UUID, draft: Draft) -> list[Finding]:
        """The checks of a draft not yet saved (the compose page as the runner types): nothing is written."""
        account = self._account(principal, account_id, Action.POST_DRAFT)
        return self.findings(account, draft)

    def draft(self, principal: Principal, account_id: UUID, draft: Draft) -> UUID:
        account = self._account(principal, account_id, Action.POST_DRAFT)
        if account.status is not AccountStatus.ACTIVE:
            raise InvalidInput.one("account_id", f"the account is {account.status.value}")
        assert account.school_id is not None and account.trust_id is not None
        actor = principal.actor(Action.POST_DRAFT, account.school_id)
        now = self.clock.now()
        post = Post.start(new_id(), account.trust_id, account.school_id, account.id, principal.id, draft, actor, now)
        post.record_check(self.findings(account, draft), actor, now)
        self.commit(post, by=principal)
        return post.id

    def revise(self, principal: Principal, post_id: UUID, draft: Draft) -> None:
        post, account = self._post(principal, post_id, Action.POST_DRAFT)
        actor = principal.actor(Action.POST_DRAFT, account.school_id)
        now = self.clock.now()
        post.revise(draft, actor, now)
        post.record_check(self.findings(account, draft), actor, now)
        self.commit(post, by=principal)

    def check(self, principal: Principal, post_id: UUID) -> list[Finding]:
        """Runs the checks on the post as it stands (the register or the rules may have changed) and records them."""
        post, account = self._post(principal, post_id, Action.POST_DRAFT)
        findings = self.findings(account, post.draft)
        post.record_check(findings, principal.actor(Action.POST_DRAFT, account.school_id), self.clock.now())
        self.commit(post, by=principal)
        return findings

    def submit(self, principal: Principal, post_id: UUID) -> bool:
        post, account = self._post(principal, post_id, Action.POST_DRAFT)
        needs = post.submit(self.findings(account, post.draft), self.posting_rules(account.id),
                            principal.actor(Action.POST_DRAFT, account.school_id), self.clock.now())
        self.commit(post, by=principal)
        return needs

    def approve(self, principal: Principal, post_id: UUID, reason: str | None) -> None:
        post, account = self._post(principal, post_id, Action.POST_READ)
        leader = can(principal, Action.POST_APPROVE, account.school_id)
        named = principal.id in post.approver_ids
        if not (leader or named):
            raise Forbidden(Action.POST_APPROVE.refusal)
        post.approve(principal.id, leader, reason, principal.actor(Action.POST_APPROVE, account.school_id),
                     self.clock.now())
        self.commit(post, by=principal)

    def return_to_author(self, principal: Principal, post_id: UUID, reason: str | None) -> None:
        post, account = self._post(principal, post_id, Action.POST_READ)
        if not (can(principal, Action.POST_APPROVE, account.school_id) or principal.id in post.approver_ids):
            raise Forbidden(Action.POST_APPROVE.refusal)
        post.return_to_author(principal.id, reason, principal.actor(Action.POST_APPROVE, account.school_id),
                              self.clock.now())
        self.commit(post, by=principal)

    def publish(self, principal: Principal, post_id: UUID, url: str, published_at: datetime | None,
                reason: str | None) -> None:
        post, account = self._post(principal, post_id, Action.POST_PUBLISH)
        now = self.clock.now()
        post.publish(url, principal.id, published_at or now, self.findings(account, post.draft),
                     self.posting_rules(account.id), reason, principal.actor(Action.POST_PUBLISH, account.school_id),
                     now)
        self.commit(post, by=principal)

    def remove(self, principal: Principal, post_id: UUID, reason: str | None, told_audience: str | None) -> None:
        post, account = self._post(principal, post_id, Action.POST_REMOVE)
        post.remove(principal.id, reason, told_audience, principal.actor(Action.POST_REMOVE, account.school_id),
                    self.clock.now())
        self.commit(post, by=principal)

    def request_takedown(self, principal: Principal, post_id: UUID, parent_name: str, contact: str | None,
                         concern: str) -> UUID:
        post, account = self._post(principal, post_id, Action.TAKEDOWN_RECORD)
        request_id = new_id()
        post.request_takedown(request_id, parent_name, contact, concern,
                              principal.actor(Action.TAKEDOWN_RECORD, account.school_id), self.clock.now())
        self.commit(post, by=principal)
        return request_id
