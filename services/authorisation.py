"""Who may do what, where: one permission table and a pure `can(principal, action, school_id)`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from uuid import UUID

from domain.events import Actor, ActorKind
from domain.values import SCHOOL_ROLES, Role


class Action(StrEnum):
    TRUST_SETTINGS_CHANGE = "trust.settings.change"
    POLICY_PUBLISH = "policy.publish"
    SCHOOL_ADD = "school.add"
    SCHOOL_READ = "school.read"
    STAFF_ADD = "staff.add"
    STAFF_READ = "staff.read"
    TRAINING_RECORD = "training.record"
    ACKNOWLEDGEMENT_RECORD = "acknowledgement.record"
    PERSONAL_ACCOUNT_DECLARE = "personal_account.declare"
    APPLICATION_SUBMIT = "application.submit"
    APPLICATION_READ = "application.read"
    APPLICATION_DECIDE = "application.decide"
    APPLICATION_WITHDRAW = "application.withdraw"
    ACCOUNT_CREATE = "account.create"
    ACCOUNT_READ = "account.read"
    ACCOUNT_MANAGE = "account.manage"
    CREDENTIALS_STORE = "credentials.store"
    CREDENTIALS_REVEAL = "credentials.reveal"
    MONITORING_CHECK = "monitoring.check"
    DEPARTURE_RECORD = "departure.record"
    HANDOVER_READ = "handover.read"
    HANDOVER_COMPLETE = "handover.complete"
    INCIDENT_REPORT = "incident.report"
    INCIDENT_MANAGE = "incident.manage"
    INCIDENT_MODERATE = "incident.moderate"
    INCIDENT_BUNDLE = "incident.bundle"
    INTERACTION_RECEIVE = "interaction.receive"
    INTERACTION_READ = "interaction.read"
    INTERACTION_HANDLE = "interaction.handle"
    MENTION_CAPTURE = "mention.capture"
    MENTION_READ = "mention.read"
    MENTION_TRIAGE = "mention.triage"
    FEED_MANAGE = "feed.manage"
    CLIENT_MANAGE = "client.manage"
    PUPILS_WRITE = "pupils.write"
    PUPILS_READ = "pupils.read"
    DASHBOARD_SCHOOL = "dashboard.school"
    DASHBOARD_TRUST = "dashboard.trust"
    AUDIT_READ = "audit.read"
    POST_READ = "post.read"
    POST_DRAFT = "post.draft"
    POST_APPROVE = "post.approve"
    POST_PUBLISH = "post.publish"
    POST_REMOVE = "post.remove"
    TAKEDOWN_RECORD = "takedown.record"

    @property
    def refusal(self) -> str:
        """The 403 detail in English: 'you cannot reveal this account's credentials'."""
        return f"you cannot {REFUSED[self]}"


#: What each action does, as the rest of "you cannot ..." (one entry per action; a test checks).
REFUSED: Mapping[Action, str] = {
    Action.TRUST_SETTINGS_CHANGE: "change the trust's settings",
    Action.POLICY_PUBLISH: "publish a policy version",
    Action.SCHOOL_ADD: "add schools",
    Action.SCHOOL_READ: "see this school",
    Action.STAFF_ADD: "change this person's record",
    Action.STAFF_READ: "see this person",
    Action.TRAINING_RECORD: "record this person's training",
    Action.ACKNOWLEDGEMENT_RECORD: "record this person's acknowledgement of the policy",
    Action.PERSONAL_ACCOUNT_DECLARE: "record this person's personal accounts",
    Action.APPLICATION_SUBMIT: "apply for an account at this school",
    Action.APPLICATION_READ: "see this application",
    Action.APPLICATION_DECIDE: "decide this application",
    Action.APPLICATION_WITHDRAW: "withdraw this application",
    Action.ACCOUNT_CREATE: "create accounts at this school",
    Action.ACCOUNT_READ: "see this account",
    Action.ACCOUNT_MANAGE: "manage this account",
    Action.CREDENTIALS_STORE: "store this account's credentials",
    Action.CREDENTIALS_REVEAL: "reveal this account's credentials",
    Action.MONITORING_CHECK: "record monitoring checks of this account",
    Action.DEPARTURE_RECORD: "record this person's departure",
    Action.HANDOVER_READ: "see this school's handovers",
    Action.HANDOVER_COMPLETE: "complete this handover",
    Action.INCIDENT_REPORT: "report incidents at this school",
    Action.INCIDENT_MANAGE: "manage this incident",
    Action.INCIDENT_MODERATE: "record moderation actions on this incident",
    Action.INCIDENT_BUNDLE: "download this incident's evidence bundle",
    Action.INTERACTION_RECEIVE: "record interactions at this school",
    Action.INTERACTION_READ: "see this school's interactions",
    Action.INTERACTION_HANDLE: "handle this interaction",
    Action.MENTION_CAPTURE: "record mentions at this school",
    Action.MENTION_READ: "see this school's mentions",
    Action.MENTION_TRIAGE: "triage this mention",
    Action.FEED_MANAGE: "manage this school's feeds",
    Action.CLIENT_MANAGE: "manage integration clients",
    Action.PUPILS_WRITE: "update the pupil register",
    Action.PUPILS_READ: "see the pupil register",
    Action.DASHBOARD_SCHOOL: "see this school's dashboard",
    Action.DASHBOARD_TRUST: "see the trust's dashboard",
    Action.AUDIT_READ: "read the audit trail",
    Action.POST_READ: "see this account's posts",
    Action.POST_DRAFT: "draft posts for this account",
    Action.POST_APPROVE: "approve posts at this school",
    Action.POST_PUBLISH: "record this post as published",
    Action.POST_REMOVE: "remove this post",
    Action.TAKEDOWN_RECORD: "record take-down requests at this school",
}


T, D, S, M, ST, V = Role.TRUST_ADMIN, Role.DPO, Role.SLT, Role.MODERATOR, Role.STAFF, Role.VOLUNTEER
EVERYONE = frozenset(Role)

#: The permission table. Trust roles (trust_admin, dpo) apply to every school of their trust.
PERMISSIONS: Mapping[Action, frozenset[Role]] = {
    Action.TRUST_SETTINGS_CHANGE: frozenset({T}),
    Action.POLICY_PUBLISH: frozenset({T}),
    Action.SCHOOL_ADD: frozenset({T}),
    Action.SCHOOL_READ: EVERYONE,
    Action.STAFF_ADD: frozenset({T, S, M}),
    Action.STAFF_READ: frozenset({T, D, S, M}),
    Action.TRAINING_RECORD: frozenset({T, S, M}),
    Action.ACKNOWLEDGEMENT_RECORD: frozenset({T, S}),
    Action.PERSONAL_ACCOUNT_DECLARE: frozenset({T, S}),
    Action.APPLICATION_SUBMIT: frozenset({S, M, ST, V}),
    Action.APPLICATION_READ: frozenset({T, D, S, M}),
    Action.APPLICATION_DECIDE: frozenset({S}),
    Action.APPLICATION_WITHDRAW: frozenset({S, M, ST, V}),
    Action.ACCOUNT_CREATE: frozenset({M}),
    Action.ACCOUNT_READ: frozenset({T, D, S, M}),
    Action.ACCOUNT_MANAGE: frozenset({S, M}),
    Action.CREDENTIALS_STORE: frozenset({M}),
    Action.CREDENTIALS_REVEAL: frozenset({M}),
    Action.MONITORING_CHECK: frozenset({S, M}),
    Action.DEPARTURE_RECORD: frozenset({T, S, M}),
    Action.HANDOVER_READ: frozenset({T, D, S, M}),
    Action.HANDOVER_COMPLETE: frozenset({S, M}),
    Action.INCIDENT_REPORT: frozenset({T, S, M, ST, V}),
    Action.INCIDENT_MANAGE: frozenset({S}),
    Action.INCIDENT_MODERATE: frozenset({S, M}),
    Action.INCIDENT_BUNDLE: frozenset({T, S}),
    Action.INTERACTION_RECEIVE: frozenset({S, M}),
    Action.INTERACTION_READ: frozenset({T, D, S, M}),
    Action.INTERACTION_HANDLE: frozenset({S, M}),
    Action.MENTION_CAPTURE: frozenset({S, M}),
    Action.MENTION_READ: frozenset({T, D, S, M}),
    Action.MENTION_TRIAGE: frozenset({S, M}),
    Action.FEED_MANAGE: frozenset({S, M}),
    Action.CLIENT_MANAGE: frozenset({T}),
    Action.PUPILS_WRITE: frozenset({T}),
    Action.PUPILS_READ: frozenset({T, D, S, M}),
    Action.DASHBOARD_SCHOOL: frozenset({T, D, S, M}),
    Action.DASHBOARD_TRUST: frozenset({T, D}),
    Action.AUDIT_READ: frozenset({T, D}),
    Action.POST_READ: frozenset({T, D, S, M}),
    Action.POST_DRAFT: frozenset({S, M}),
    Action.POST_APPROVE: frozenset({S}),
    Action.POST_PUBLISH: frozenset({S, M}),
    Action.POST_REMOVE: frozenset({S, M}),
    Action.TAKEDOWN_RECORD: frozenset({S, M, ST, V}),
}

#: Which school roles a holder of a role may give with STAFF_ADD (decision 0034): leadership and the trust team
#: appoint to any; a moderator adds the people who run accounts (staff, volunteers), never a role above their own.
#: Integration clients with `staff:write` (the HR system, the source of record) may give any school role.
GRANTS: Mapping[Role, frozenset[Role]] = {
    T: SCHOOL_ROLES,
    S: SCHOOL_ROLES,
    M: frozenset({ST, V}),
}

#: What a runner of an account may do on that account whatever their role (checked against the account).
RUNNER_ACTIONS: frozenset[Action] = frozenset({
    Action.ACCOUNT_READ, Action.CREDENTIALS_REVEAL, Action.MONITORING_CHECK,
    Action.POST_READ, Action.POST_DRAFT, Action.POST_PUBLISH, Action.POST_REMOVE,
})

#: What a person may always do about themselves (record own training, acknowledge, declare accounts).
SELF_SERVICE: frozenset[Action] = frozenset({
    Action.TRAINING_RECORD, Action.ACKNOWLEDGEMENT_RECORD, Action.PERSONAL_ACCOUNT_DECLARE, Action.STAFF_READ,
})

#: Integration clients act by scope, never by role.
SCOPES: Mapping[Action, str] = {
    Action.STAFF_ADD: "staff:write",
    Action.TRAINING_RECORD: "staff:write",
    Action.ACKNOWLEDGEMENT_RECORD: "staff:write",
    Action.SCHOOL_READ: "read",
    Action.STAFF_READ: "read",
    Action.APPLICATION_READ: "read",
    Action.ACCOUNT_READ: "read",
    Action.HANDOVER_READ: "read",
    Action.DEPARTURE_RECORD: "staff:write",
    Action.INTERACTION_RECEIVE: "interactions:write",
    Action.INTERACTION_READ: "read",
    Action.MENTION_CAPTURE: "mentions:write",
    Action.MENTION_READ: "read",
    Action.PUPILS_WRITE: "pupils:write",
    Action.PUPILS_READ: "read",
    Action.DASHBOARD_SCHOOL: "read",
    Action.DASHBOARD_TRUST: "read",
    Action.POST_READ: "read",
}


@dataclass(frozen=True)
class Principal:
    """An authenticated caller with everything `can` needs resolved up front."""

    kind: ActorKind
    id: UUID
    display_name: str
    trust_id: UUID
    trust_school_ids: frozenset[UUID]
    trust_roles: frozenset[Role] = frozenset()
    school_roles: Mapping[UUID, frozenset[Role]] = field(default_factory=dict)
    scopes: frozenset[str] = frozenset()
    auth_method: str = "bearer"
    request_id: str | None = None
    #: The position of the directory's change mark (readmodel.PRINCIPALS_CHANGED) this principal was resolved at,
    #: when it came from the PrincipalCache: a command's write confirms the caller with one query while the mark
    #: stands there (identity.still_have_access). None: the caller is read afresh at the write.
    directory_mark: int | None = None

    @property
    def visible_school_ids(self) -> frozenset[UUID]:
        if self.trust_roles or self.kind is ActorKind.INTEGRATION:
            return self.trust_school_ids
        return frozenset(s for s, roles in self.school_roles.items() if roles and s in self.trust_school_ids)

    def roles_at(self, school_id: UUID | None) -> frozenset[Role]:
        if school_id is None:
            return self.trust_roles
        return self.trust_roles | self.school_roles.get(school_id, frozenset())

    def actor(self, action: Action, school_id: UUID | None) -> Actor:
        """The actor record for an event: which of the caller's roles authorised this action."""
        if self.kind is ActorKind.INTEGRATION:
            role: str | None = SCOPES.get(action)
        else:
            allowed = PERMISSIONS[action]
            held = sorted((r for r in self.roles_at(school_id) if r in allowed), key=lambda r: list(Role).index(r))
            role = held[0].value if held else "self"
        return Actor(self.kind, self.id, self.display_name, role, self.auth_method, self.request_id)


def can(principal: Principal, action: Action, school_id: UUID | None) -> bool:
    """May `principal` perform `action` at `school_id` (None: at trust level)? Pure; no I/O."""
    if school_id is not None and school_id not in principal.trust_school_ids:
        return False
    if principal.kind is ActorKind.INTEGRATION:
        scope = SCOPES.get(action)
        return scope is not None and scope in principal.scopes
    return any(role in PERMISSIONS[action] for role in principal.roles_at(school_id))


def can_grant(principal: Principal, role: Role, school_id: UUID) -> bool:
    """May `principal` give `role` at `school_id`? Pure; no I/O."""
    if not can(principal, Action.STAFF_ADD, school_id):
        return False
    if principal.kind is ActorKind.INTEGRATION:
        return role in SCHOOL_ROLES
    return any(role in GRANTS.get(held, frozenset()) for held in principal.roles_at(school_id))


def can_end_roles(principal: Principal, roles: Iterable[tuple[Role, UUID | None]]) -> bool:
    """May `principal` end all of these (role, school or None for the trust) at once, as a departure does? Only
    if they could give each of the school roles, and, for a trust role, act at trust level (the trust team, or an
    HR client with `staff:write`): no one removes someone above them (decision 0034). Pure; no I/O."""
    return all(can_grant(principal, role, school_id) if school_id is not None
               else can(principal, Action.DEPARTURE_RECORD, None) for role, school_id in roles)


def can_about_person(principal: Principal, action: Action, person_id: UUID, person_school_ids: frozenset[UUID],
                     person_trust_id: UUID) -> bool:
    """For actions about a person: themselves (self-service), or a role at one of the schools they belong to."""
    if person_trust_id != principal.trust_id:
        return False
    if principal.kind is ActorKind.PERSON and principal.id == person_id and action in SELF_SERVICE:
        return True
    if can(principal, action, None):
        return True
    return any(can(principal, action, s) for s in person_school_ids)


def can_see_incident(principal: Principal, school_id: UUID, restricted: bool, named_slt: frozenset[UUID],
                     reporter_id: UUID, investigators: frozenset[UUID]) -> bool:
    """Incidents: the trust team (and DPO) see all of their trust's; a restricted one otherwise only the SLT
    members named on it; an ordinary one the school's SLT, the reporter and named investigators."""
    if school_id not in principal.trust_school_ids or principal.kind is not ActorKind.PERSON:
        return False
    if principal.trust_roles & {Role.TRUST_ADMIN, Role.DPO}:
        return True
    is_slt = Role.SLT in principal.roles_at(school_id)
    if restricted:
        return is_slt and principal.id in named_slt
    return is_slt or principal.id == reporter_id or principal.id in investigators
