"""The inbox and proactive monitoring: interactions owed a response under the SLA, public mentions from
feeds or integrations, and the scheduled sweeps (breaches, reminders, monitoring lapses, feed polling).

Sweeps are idempotent: each finds its candidates with one set-based read-model query, then records at most one
event per aggregate (a second concurrent sweep loses the optimistic-concurrency race and skips)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, IntegrityError
from sqlalchemy import Engine

from domain.account import SchoolAccount
from domain.errors import InvalidInput
from domain.events import Actor
from domain.incident import Incident, Report
from domain.interaction import Interaction
from domain.mention import Mention, mention_id
from domain.school import School
from domain.sla import SlaPolicy, due_at
from domain.trust import Trust
from services import inbox_queries as q
from services.authorisation import Action, Principal, can
from services.event_log import EventLog
from services.eventstore import ConcurrencyConflict, ContextApplication, Forbidden, NotFound
from services.ids import new_id
from services.ports import Clock, FeedFetcher, Mailer

log = logging.getLogger("socialgov.inbox")
SWEEPER = Actor.system("scheduled sweep")
MONITORING_LAPSE_HOURS = 24


@dataclass(frozen=True)
class SweepResult:
    breaches: int = 0
    reminders: int = 0
    lapses: int = 0
    mentions: int = 0
    emails: int = 0


class Inbox(ContextApplication):
    name = "inbox"

    def __init__(self, recorder: ApplicationRecorder, clock: Clock, log: EventLog, engine: Engine, mailer: Mailer,
                 fetcher: FeedFetcher) -> None:
        super().__init__(recorder, clock, log)
        self.engine = engine
        self.mailer = mailer
        self.fetcher = fetcher

    # ----- helpers -----
    def _policy(self, trust_id: UUID) -> SlaPolicy:
        trust = self.load(Trust, trust_id)
        s = trust.settings if trust else None
        if s is None:
            return SlaPolicy()
        return SlaPolicy(s.response_hours, s.due_soon_hours, time.fromisoformat(s.end_of_day))

    def _account(self, principal: Principal, school_id: UUID, account_id: UUID) -> SchoolAccount:
        account = self.load(SchoolAccount, account_id)
        if account is None or account.school_id != school_id:
            raise InvalidInput.one("account_id", "is not an account of this school")
        return account

    def _interaction(self, principal: Principal, interaction_id: UUID, action: Action) -> Interaction:
        i = self.load(Interaction, interaction_id)
        if i is None or i.trust_id != principal.trust_id or i.school_id is None or i.account_id is None:
            raise NotFound("interaction")
        account = self.load(SchoolAccount, i.account_id)
        runner = account is not None and principal.id in account.runner_ids
        if not (runner or can(principal, Action.INTERACTION_READ, i.school_id)):
            raise NotFound("interaction")
        if not (can(principal, action, i.school_id) or (runner and action is Action.INTERACTION_HANDLE)):
            raise Forbidden("you cannot handle interactions of this account")
        return i

    # ----- interactions -----
    def receive(self, principal: Principal, school_id: UUID, account_id: UUID, kind: str, received_at: datetime,
                author_handle: str, excerpt: str, link: str | None, external_ref: str | None,
                assignee_id: UUID | None) -> UUID:
        if school_id not in principal.visible_school_ids:
            raise NotFound("school")
        if not can(principal, Action.INTERACTION_RECEIVE, school_id):
            raise Forbidden("you cannot record interactions at this school")
        self._account(principal, school_id, account_id)
        school = self.load(School, school_id)
        assert school is not None
        now = self.clock.now()
        due = due_at(received_at, school.nation, self._policy(principal.trust_id)) if received_at.tzinfo else now
        key = f"{account_id}|{external_ref}" if external_ref else None
        iid = uuid.uuid5(uuid.NAMESPACE_URL, f"socialgov:interaction:{key}") if key else new_id()
        actor = principal.actor(Action.INTERACTION_RECEIVE, school_id)
        interaction = Interaction.receive(iid, principal.trust_id, school_id, account_id, kind, received_at, due,
                                          author_handle, excerpt, link, external_ref, now, actor)
        if assignee_id is not None:
            interaction.assign(assignee_id, actor, now)
        try:
            self.commit(interaction, by=principal)
        except ConcurrencyConflict:  # the same external item pushed again: it is already here
            return iid
        return iid

    def acknowledge(self, principal: Principal, interaction_id: UUID) -> None:
        i = self._interaction(principal, interaction_id, Action.INTERACTION_HANDLE)
        i.acknowledge(principal.id, principal.actor(Action.INTERACTION_HANDLE, i.school_id), self.clock.now())
        self.commit(i, by=principal)

    def respond(self, principal: Principal, interaction_id: UUID, response: str | None) -> None:
        i = self._interaction(principal, interaction_id, Action.INTERACTION_HANDLE)
        i.respond(principal.id, response, principal.actor(Action.INTERACTION_HANDLE, i.school_id), self.clock.now())
        self.commit(i, by=principal)

    def assign(self, principal: Principal, interaction_id: UUID, assignee_id: UUID) -> None:
        i = self._interaction(principal, interaction_id, Action.INTERACTION_HANDLE)
        i.assign(assignee_id, principal.actor(Action.INTERACTION_HANDLE, i.school_id), self.clock.now())
        self.commit(i, by=principal)

    def close_interaction(self, principal: Principal, interaction_id: UUID, reason: str | None) -> None:
        i = self._interaction(principal, interaction_id, Action.INTERACTION_HANDLE)
        i.close(reason, principal.actor(Action.INTERACTION_HANDLE, i.school_id), self.clock.now())
        self.commit(i, by=principal)

    def escalate(self, principal: Principal, interaction_id: UUID, title: str, category: str,
                 reason: str | None) -> UUID:
        """Creates an incident from the interaction and links both ways, in one commit."""
        i = self._interaction(principal, interaction_id, Action.INTERACTION_HANDLE)
        assert i.school_id is not None and i.trust_id is not None
        now = self.clock.now()
        actor = principal.actor(Action.INTERACTION_HANDLE, i.school_id)
        incident = Incident.report(new_id(), i.trust_id, i.school_id, principal.id, Report(
            title, category, f"Escalated from a {i.kind} on a school account: {i.excerpt}", now, [],
            i.account_id, None, i.id), actor, now)
        i.escalate(incident.id, reason, actor, now)
        self.commit(i, incident, by=principal)
        return incident.id

    # ----- mentions and feeds -----
    def register_feed(self, principal: Principal, school_id: UUID, url: str, title: str) -> UUID:
        if school_id not in principal.visible_school_ids:
            raise NotFound("school")
        if not can(principal, Action.FEED_MANAGE, school_id):
            raise Forbidden("you cannot manage this school's feeds")
        school = self.load(School, school_id)
        assert school is not None
        feed_id = new_id()
        school.register_feed(feed_id, url, title, principal.actor(Action.FEED_MANAGE, school_id), self.clock.now())
        self.commit(school, by=principal)
        return feed_id

    def capture_mention(self, principal: Principal, school_id: UUID, key: str, title: str, summary: str,
                        link: str | None, author: str | None, published_at: datetime | None) -> tuple[UUID, bool]:
        """Pushed by an integration or a moderator; returns (id, created) — the same guid/link twice is one."""
        if school_id not in principal.visible_school_ids:
            raise NotFound("school")
        if not can(principal, Action.MENTION_CAPTURE, school_id):
            raise Forbidden("you cannot record mentions at this school")
        return self._capture(principal.trust_id, school_id, f"pushed by {principal.display_name}", key, title,
                             summary, link, author, published_at, principal.actor(Action.MENTION_CAPTURE, school_id),
                             by=principal)

    def _capture(self, trust_id: UUID, school_id: UUID, source: str, key: str, title: str, summary: str,
                 link: str | None, author: str | None, published_at: datetime | None,
                 actor: Actor, by: Principal | None) -> tuple[UUID, bool]:
        mid = mention_id(school_id, key)
        if self.load(Mention, mid) is not None:
            return mid, False
        mention = Mention.capture(trust_id, school_id, source, key, title, summary, link, author, published_at,
                                  actor, self.clock.now())
        try:
            self.commit(mention, by=by)
        except ConcurrencyConflict:
            return mid, False
        return mid, True

    def triage(self, principal: Principal, mention_id_: UUID, decision: str, note: str | None,
               category: str | None) -> UUID | None:
        mention = self.load(Mention, mention_id_)
        if mention is None or mention.trust_id != principal.trust_id or mention.school_id is None \
                or not can(principal, Action.MENTION_READ, mention.school_id):
            raise NotFound("mention")
        if not can(principal, Action.MENTION_TRIAGE, mention.school_id):
            raise Forbidden("you cannot triage mentions at this school")
        now = self.clock.now()
        actor = principal.actor(Action.MENTION_TRIAGE, mention.school_id)
        incident = None
        if decision == "escalate":
            incident = Incident.report(new_id(), principal.trust_id, mention.school_id, principal.id, Report(
                f"Public mention: {mention.title}"[:200], category or "other",
                f"Escalated from a public mention. {note or ''}".strip(), now, []), actor, now)
        mention.triage(decision, incident.id if incident else None, note, actor, now)
        self.commit(mention, *([incident] if incident else []), by=principal)
        return incident.id if incident else None

    # ----- sweeps (Celery beat, or the embedded scheduler) -----
    def sweep_breaches(self) -> SweepResult:
        now = self.clock.now()
        recorded: list[UUID] = []
        for iid in q.breach_candidates(self.engine, now):
            i = self.load(Interaction, iid)
            if i is None or not i.record_breach(now, SWEEPER):
                continue
            try:
                self.commit(i, by=None)
            except ConcurrencyConflict:
                continue  # another sweep recorded it first
            recorded.append(iid)
        emails = sum(self._mail(q.breach_recipients(self.engine, iid), "Response deadline missed", iid)
                     for iid in recorded)
        return SweepResult(breaches=len(recorded), emails=emails)

    def sweep_reminders(self) -> SweepResult:
        now = self.clock.now()
        recorded: list[UUID] = []
        for iid, window_hours in q.due_soon_candidates(self.engine, now):
            i = self.load(Interaction, iid)
            if i is None or i.due_at is None or not (now < i.due_at <= now + timedelta(hours=window_hours)):
                continue
            if not i.remind_due_soon(SWEEPER, now):
                continue
            try:
                self.commit(i, by=None)
            except ConcurrencyConflict:
                continue
            recorded.append(iid)
        emails = sum(self._mail(q.reminder_recipients(self.engine, iid), "Response due soon", iid) for iid in recorded)
        return SweepResult(reminders=len(recorded), emails=emails)

    def sweep_monitoring(self) -> SweepResult:
        now = self.clock.now()
        lapses = 0
        emails = 0
        for account_id in q.lapse_candidates(self.engine, now - timedelta(hours=MONITORING_LAPSE_HOURS)):
            account = self.load(SchoolAccount, account_id)
            if account is None or not account.flag_monitoring_lapse(now, MONITORING_LAPSE_HOURS, SWEEPER):
                continue
            try:
                self.commit(account, by=None)
            except ConcurrencyConflict:
                continue
            lapses += 1
            to = q.school_leaders(self.engine, account_id)
            if to:
                self.mailer.send(to, f"[SocialGov] @{account.handle} has not been checked for 24 hours",
                                 f"The {account.platform} account @{account.handle} has had no monitoring check for "
                                 f"{MONITORING_LAPSE_HOURS} hours. The policy asks for checks 7 days a week.")
                emails += 1
        return SweepResult(lapses=lapses, emails=emails)

    def poll_feeds(self) -> SweepResult:
        captured = 0
        for trust_id, school_id, feed_id, url in q.feeds(self.engine):
            try:
                items = self.fetcher.fetch(url)
            except Exception as e:  # noqa: BLE001 - one broken feed must not stop the others
                log.warning("feed %s could not be read: %s", feed_id, type(e).__name__)
                continue
            actor = Actor.system(f"feed {url}"[:200])
            for item in items:
                try:
                    _, created = self._capture(trust_id, school_id, url, item.key, item.title, item.summary,
                                               item.link, item.author, item.published_at, actor, by=None)
                except (InvalidInput, IntegrityError):
                    continue
                captured += int(created)
        return SweepResult(mentions=captured)

    def _mail(self, recipients: list[str], subject: str, interaction_id: UUID) -> int:
        if not recipients:
            return 0
        info: dict[str, Any] = q.interaction_summary(self.engine, interaction_id)
        self.mailer.send(recipients, f"[SocialGov] {subject}: {info.get('kind', 'message')} on @{info.get('handle')}",
                         f"A {info.get('kind')} from {info.get('author_handle')} on @{info.get('handle')} "
                         f"({info.get('platform')}) was due a response by {info.get('due_at')} (UK time shown "
                         f"in the app).\n\n\"{info.get('excerpt')}\"\n\nAn acknowledgement counts as a response.")
        return 1
