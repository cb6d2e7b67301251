"""The model alone: business-case validation and the approval rules, with no store and no clock."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from domain.application import AccountApplication, ApplicationStatus, BusinessCase, unmet_approval_conditions
from domain.errors import InvalidInput, InvalidTransition, RuleRefused
from domain.events import Actor
from domain.person import Person, add_months
from domain.trust import PolicyVersion, Trust, TrustSettings
from domain.values import Role

AT = datetime(2026, 3, 10, 10, tzinfo=UTC)
TODAY = date(2026, 3, 10)
ACTOR = Actor.system("test")
TRUST, SCHOOL = uuid.uuid4(), uuid.uuid4()
POLICY = PolicyVersion(uuid.uuid4(), "v1", AT)


def person(name: str, role: Role = Role.STAFF, trained: date | None = None, acknowledged: bool = False) -> Person:
    p = Person.register(uuid.uuid4(), TRUST, name, f"{name.lower()}@x.example", ACTOR, AT, SCHOOL)
    p.assign_role(role, SCHOOL, ACTOR, AT)
    if trained:
        p.record_training(uuid.uuid4(), "Course", trained, None, 12, TODAY, ACTOR, AT, SCHOOL)
    if acknowledged:
        p.acknowledge_policy(POLICY.id, {POLICY.id}, ACTOR, AT, SCHOOL)
    return p


def case(*runners: Person) -> BusinessCase:
    return BusinessCase("Aim", "Audience", "Promotion", tuple(r.id for r in runners), "open", "facebook", "Handle")


def submit(*runners: Person, applicant: Person | None = None) -> AccountApplication:
    applicant = applicant or runners[0]
    return AccountApplication.submit(uuid.uuid4(), TRUST, SCHOOL, applicant.id, case(*runners),
                                     {r.id: r for r in runners}, ACTOR, AT)


def test_add_months_clamps_to_month_end() -> None:
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert add_months(date(2026, 11, 15), 3) == date(2027, 2, 15)


def test_a_case_needs_two_distinct_runners_of_the_school() -> None:
    a = person("A")
    outsider = Person.register(uuid.uuid4(), TRUST, "Out", "out@x.example", ACTOR, AT, None)
    with pytest.raises(InvalidInput) as e:
        AccountApplication.submit(uuid.uuid4(), TRUST, SCHOOL, a.id, case(a, outsider), {a.id: a, outsider.id: None},
                                  ACTOR, AT)
    assert [x.field for x in e.value.errors] == ["runner_ids[1]"]
    with pytest.raises(InvalidInput) as e:
        AccountApplication.submit(uuid.uuid4(), TRUST, SCHOOL, a.id, case(a, a), {a.id: a}, ACTOR, AT)
    assert {x.field for x in e.value.errors} == {"runner_ids"}


def test_approval_conditions_name_each_runner_and_each_gap() -> None:
    ok = person("Ok", trained=date(2026, 1, 1), acknowledged=True)
    stale = person("Stale", trained=date(2024, 1, 1), acknowledged=True)
    none = person("None")
    assert unmet_approval_conditions([ok], SCHOOL, POLICY, TODAY) == []
    assert unmet_approval_conditions([stale, none], SCHOOL, POLICY, TODAY) == [
        "Stale's social media training expired on 2025-01-01",
        "None has not acknowledged the current policy (v1)",
        "None has no social media training on record",
    ]
    assert unmet_approval_conditions([ok], SCHOOL, None, TODAY) == [
        "the trust has not published a social media policy version"]


def test_training_is_valid_through_its_expiry_day() -> None:
    p = person("P", trained=date(2025, 3, 10))
    assert p.has_valid_training(date(2026, 3, 10)) and not p.has_valid_training(date(2026, 3, 11))


def test_approval_lifecycle_and_transitions() -> None:
    a = person("A", trained=date(2026, 1, 1), acknowledged=True)
    b = person("B", trained=date(2026, 1, 1), acknowledged=True)
    head = person("Head", Role.SLT)
    app = submit(a, b)
    with pytest.raises(RuleRefused):
        app.approve(a.id, [a, b], POLICY, TODAY, ACTOR, AT)
    app.approve(head.id, [a, b], POLICY, TODAY, ACTOR, AT)
    assert app.status is ApplicationStatus.APPROVED and app.version == 2
    with pytest.raises(InvalidTransition):
        app.reject(head.id, "late", ACTOR, AT)
    with pytest.raises(InvalidTransition):
        app.withdraw(a.id, None, ACTOR, AT)
    events = app.collect_events()
    assert [type(e).__name__ for e in events] == ["ApplicationSubmitted", "ApplicationApproved"]
    replayed = AccountApplication(app.id)
    for e in events:
        replayed._mutate(e)
    assert replayed.status is ApplicationStatus.APPROVED and replayed.version == 2


def test_only_the_applicant_withdraws_and_rejection_needs_a_reason() -> None:
    a, b = person("A"), person("B")
    app = submit(a, b)
    with pytest.raises(RuleRefused):
        app.withdraw(b.id, None, ACTOR, AT)
    with pytest.raises(InvalidInput):
        app.reject(b.id, "   ", ACTOR, AT)
    app.withdraw(a.id, "no longer needed", ACTOR, AT)
    assert app.status is ApplicationStatus.WITHDRAWN


def test_roles_are_scoped_correctly() -> None:
    p = person("P")
    with pytest.raises(InvalidInput):
        p.assign_role(Role.TRUST_ADMIN, SCHOOL, ACTOR, AT)
    with pytest.raises(InvalidInput):
        p.assign_role(Role.SLT, None, ACTOR, AT)
    p.assign_role(Role.STAFF, SCHOOL, ACTOR, AT)  # already held: no new event
    assert len(p.collect_events()) == 2


def test_trust_settings_validation_and_policy_versions() -> None:
    with pytest.raises(InvalidInput) as e:
        TrustSettings(response_hours=0, due_soon_hours=5, end_of_day="9pm", training_validity_months=0,
                      assessment_working_days=0).validate()
    assert {x.field for x in e.value.errors} == {"response_hours", "due_soon_hours", "end_of_day",
                                                 "training_validity_months", "assessment_working_days"}
    t = Trust.register(uuid.uuid4(), "T", ACTOR, AT)
    t.publish_policy(uuid.uuid4(), "v1", "", ACTOR, AT)
    t.publish_policy(uuid.uuid4(), "v2", "", ACTOR, AT)
    assert t.current_policy is not None and t.current_policy.label == "v2"
    with pytest.raises(InvalidInput):
        t.publish_policy(uuid.uuid4(), "v2", "", ACTOR, AT)
