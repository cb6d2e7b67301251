"""`can(principal, action, school_id)` as a matrix: every role x action x own school / other school /
other trust, against an explicit expectation table written out independently of PERMISSIONS."""

from __future__ import annotations

import uuid

import pytest

from domain.events import ActorKind
from domain.values import Role
from services.authorisation import PERMISSIONS, Action, Principal, can, can_end_roles, can_grant

TRUST, OTHER_TRUST = uuid.uuid4(), uuid.uuid4()
OWN, SIBLING, FOREIGN = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

# Expected: which roles may do each action at their own school (trust roles: at every school of the trust).
A = Action
EXPECTED: dict[Action, set[str]] = {
    A.TRUST_SETTINGS_CHANGE: {"trust_admin"},
    A.POLICY_PUBLISH: {"trust_admin"},
    A.SCHOOL_ADD: {"trust_admin"},
    A.SCHOOL_READ: {"trust_admin", "dpo", "slt", "moderator", "staff", "volunteer"},
    A.STAFF_ADD: {"trust_admin", "slt", "moderator"},
    A.STAFF_READ: {"trust_admin", "dpo", "slt", "moderator"},
    A.TRAINING_RECORD: {"trust_admin", "slt", "moderator"},
    A.ACKNOWLEDGEMENT_RECORD: {"trust_admin", "slt"},
    A.PERSONAL_ACCOUNT_DECLARE: {"trust_admin", "slt"},
    A.APPLICATION_SUBMIT: {"slt", "moderator", "staff", "volunteer"},
    A.APPLICATION_READ: {"trust_admin", "dpo", "slt", "moderator"},
    A.APPLICATION_DECIDE: {"slt"},
    A.APPLICATION_WITHDRAW: {"slt", "moderator", "staff", "volunteer"},
    A.ACCOUNT_CREATE: {"moderator"},
    A.ACCOUNT_READ: {"trust_admin", "dpo", "slt", "moderator"},
    A.ACCOUNT_MANAGE: {"slt", "moderator"},
    A.CREDENTIALS_STORE: {"moderator"},
    A.CREDENTIALS_REVEAL: {"moderator"},
    A.MONITORING_CHECK: {"slt", "moderator"},
    A.DEPARTURE_RECORD: {"trust_admin", "slt", "moderator"},
    A.HANDOVER_READ: {"trust_admin", "dpo", "slt", "moderator"},
    A.HANDOVER_COMPLETE: {"slt", "moderator"},
    A.INCIDENT_REPORT: {"trust_admin", "slt", "moderator", "staff", "volunteer"},
    A.INCIDENT_MANAGE: {"slt"},
    A.INCIDENT_MODERATE: {"slt", "moderator"},
    A.INCIDENT_BUNDLE: {"trust_admin", "slt"},
    A.INTERACTION_RECEIVE: {"slt", "moderator"},
    A.INTERACTION_READ: {"trust_admin", "dpo", "slt", "moderator"},
    A.INTERACTION_HANDLE: {"slt", "moderator"},
    A.MENTION_CAPTURE: {"slt", "moderator"},
    A.MENTION_READ: {"trust_admin", "dpo", "slt", "moderator"},
    A.MENTION_TRIAGE: {"slt", "moderator"},
    A.FEED_MANAGE: {"slt", "moderator"},
    A.CLIENT_MANAGE: {"trust_admin"},
    A.PUPILS_WRITE: {"trust_admin"},
    A.PUPILS_READ: {"trust_admin", "dpo", "slt", "moderator"},
    A.DASHBOARD_SCHOOL: {"trust_admin", "dpo", "slt", "moderator"},
    A.DASHBOARD_TRUST: {"trust_admin", "dpo"},
    A.AUDIT_READ: {"trust_admin", "dpo"},
    A.POST_READ: {"trust_admin", "dpo", "slt", "moderator"},
    A.POST_DRAFT: {"slt", "moderator"},
    A.POST_APPROVE: {"slt"},
    A.POST_PUBLISH: {"slt", "moderator"},
    A.POST_REMOVE: {"slt", "moderator"},
    A.TAKEDOWN_RECORD: {"slt", "moderator", "staff", "volunteer"},
}
TRUST_LEVEL = {A.TRUST_SETTINGS_CHANGE, A.POLICY_PUBLISH, A.SCHOOL_ADD, A.DASHBOARD_TRUST, A.AUDIT_READ,
               A.CLIENT_MANAGE}


def principal(role: Role) -> Principal:
    trust_role = role in (Role.TRUST_ADMIN, Role.DPO)
    return Principal(kind=ActorKind.PERSON, id=uuid.uuid4(), display_name=role.value, trust_id=TRUST,
                     trust_school_ids=frozenset({OWN, SIBLING}),
                     trust_roles=frozenset({role}) if trust_role else frozenset(),
                     school_roles={} if trust_role else {OWN: frozenset({role})})


def test_the_expectation_table_covers_every_action() -> None:
    assert set(EXPECTED) == set(Action) == set(PERMISSIONS)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action", list(Action))
def test_matrix(role: Role, action: Action) -> None:
    p = principal(role)
    allowed = role.value in EXPECTED[action]
    is_trust_role = role in (Role.TRUST_ADMIN, Role.DPO)
    assert can(p, action, OWN) is allowed
    # Sibling school of the same trust: only trust roles reach it.
    assert can(p, action, SIBLING) is (allowed and is_trust_role)
    # Another trust's school: never.
    assert can(p, action, FOREIGN) is False
    # Trust level (no school): only trust roles, and only for what they hold.
    assert can(p, action, None) is (allowed and is_trust_role)
    if action in TRUST_LEVEL and not is_trust_role:
        assert can(p, action, None) is False


def test_executive_head_is_slt_in_two_schools_only() -> None:
    p = Principal(kind=ActorKind.PERSON, id=uuid.uuid4(), display_name="Exec", trust_id=TRUST,
                  trust_school_ids=frozenset({OWN, SIBLING, uuid.uuid4()}),
                  school_roles={OWN: frozenset({Role.SLT}), SIBLING: frozenset({Role.SLT})})
    assert can(p, A.APPLICATION_DECIDE, OWN) and can(p, A.APPLICATION_DECIDE, SIBLING)
    assert p.visible_school_ids == frozenset({OWN, SIBLING})


@pytest.mark.parametrize("scope,action,expected", [
    ("staff:write", A.STAFF_ADD, True), ("staff:write", A.APPLICATION_DECIDE, False),
    ("read", A.APPLICATION_READ, True), ("read", A.STAFF_ADD, False), ("read", A.SCHOOL_ADD, False),
])
def test_integration_clients_act_by_scope_within_their_trust(scope: str, action: Action, expected: bool) -> None:
    p = Principal(kind=ActorKind.INTEGRATION, id=uuid.uuid4(), display_name="MIS", trust_id=TRUST,
                  trust_school_ids=frozenset({OWN}), scopes=frozenset({scope}))
    assert can(p, action, OWN) is expected
    assert can(p, action, FOREIGN) is False


def test_actor_records_the_role_that_authorised_the_action() -> None:
    p = Principal(kind=ActorKind.PERSON, id=uuid.uuid4(), display_name="Both", trust_id=TRUST,
                  trust_school_ids=frozenset({OWN}), school_roles={OWN: frozenset({Role.STAFF, Role.SLT})})
    assert p.actor(A.APPLICATION_DECIDE, OWN).role == "slt"
    assert p.actor(A.APPLICATION_SUBMIT, OWN).role == "slt"
    assert p.actor(A.TRAINING_RECORD, uuid.uuid4()).role == "self"


# Which school roles each role may give at its own school (decision 0034), written out independently of GRANTS.
GRANTABLE: dict[str, set[str]] = {
    "trust_admin": {"slt", "moderator", "staff", "volunteer"},
    "dpo": set(),
    "slt": {"slt", "moderator", "staff", "volunteer"},
    "moderator": {"staff", "volunteer"},
    "staff": set(),
    "volunteer": set(),
}
SCHOOL_ROLE_NAMES = ["slt", "moderator", "staff", "volunteer"]


@pytest.mark.parametrize("holder", list(Role))
@pytest.mark.parametrize("given", SCHOOL_ROLE_NAMES)
def test_grant_matrix(holder: Role, given: str) -> None:
    """No one gives a role above their own: a moderator cannot make anyone (themselves included) leadership."""
    p = principal(holder)
    assert can_grant(p, Role(given), OWN) is (given in GRANTABLE[holder.value])
    trust_role = holder in (Role.TRUST_ADMIN, Role.DPO)
    assert can_grant(p, Role(given), SIBLING) is (trust_role and given in GRANTABLE[holder.value])
    assert can_grant(p, Role(given), FOREIGN) is False


@pytest.mark.parametrize("scopes,expected", [({"staff:write"}, True), ({"read"}, False)])
def test_integration_clients_with_staff_write_give_any_school_role(scopes: set[str], expected: bool) -> None:
    p = Principal(kind=ActorKind.INTEGRATION, id=uuid.uuid4(), display_name="HR", trust_id=TRUST,
                  trust_school_ids=frozenset({OWN}), scopes=frozenset(scopes))
    assert [can_grant(p, Role(r), OWN) for r in SCHOOL_ROLE_NAMES] == [expected] * 4
    assert can_grant(p, Role.SLT, FOREIGN) is False


def test_a_departure_needs_the_right_to_give_every_role_it_ends() -> None:
    mod, head, admin = principal(Role.MODERATOR), principal(Role.SLT), principal(Role.TRUST_ADMIN)
    assert can_end_roles(mod, [(Role.STAFF, OWN), (Role.VOLUNTEER, OWN)])
    assert not can_end_roles(mod, [(Role.STAFF, OWN), (Role.SLT, OWN)])
    assert can_end_roles(head, [(Role.SLT, OWN), (Role.MODERATOR, OWN)])
    assert not can_end_roles(head, [(Role.STAFF, OWN), (Role.SLT, SIBLING)])  # leads another school too
    assert not can_end_roles(head, [(Role.TRUST_ADMIN, None)])
    assert can_end_roles(admin, [(Role.SLT, OWN), (Role.SLT, SIBLING), (Role.DPO, None)])
