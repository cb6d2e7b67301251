"""The application pages' small helpers (api/web/applications.py): a runner's status in words, the refusal's
conditions as the page says them, the short reference, and which question comes next."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from api.web.applications import QUESTIONS, in_words, runner_status, unanswered
from domain.values import short_reference

RUNNER = {"eligible": False, "holds_role": True, "leaving_date": None, "training_valid_until": None,
          "training_expired_on": None, "current_policy_label": "2025.2", "acknowledged_current": False,
          "acknowledged_label": None}


def test_a_runners_status_says_why_they_can_or_cannot_run_an_account() -> None:
    ready = RUNNER | {"eligible": True, "training_valid_until": date(2027, 8, 7), "acknowledged_current": True}
    assert runner_status(ready) == "Trained until 7 August 2027 and acknowledged 2025.2"
    assert runner_status(RUNNER | {"training_expired_on": date(2025, 3, 3)}) == (
        "Training expired 3 March 2025. Has not acknowledged the current policy 2025.2")
    assert runner_status(RUNNER | {"acknowledged_label": "2025.1"}) == (
        "No training recorded. Has not acknowledged the current policy 2025.2 (acknowledged 2025.1)")
    assert runner_status(RUNNER | {"training_valid_until": date(2027, 8, 7), "acknowledged_current": True,
                                   "leaving_date": date(2026, 12, 18)}) == (
        "Leaving on 18 December 2026. Trained until 7 August 2027. Acknowledged 2025.2")
    assert runner_status(RUNNER | {"holds_role": False, "current_policy_label": None}).startswith(
        "No longer holds a role at this school. No training recorded. The trust has not published a policy")


def test_conditions_are_capitalised_with_dates_in_words() -> None:
    assert in_words("Owen Price's social media training expired on 2026-05-24") == (
        "Owen Price's social media training expired on 24 May 2026")
    assert in_words("the applicant cannot approve their own application") == (
        "The applicant cannot approve their own application")


def test_the_reference_is_the_random_end_of_the_id() -> None:
    assert short_reference(UUID("01a23ead-4aac-7291-8654-cbfe1882293e")) == "1882-293E"


def test_the_next_question_is_the_first_unanswered() -> None:
    assert unanswered({}) is QUESTIONS[0]
    answers = {"aim": "a", "audience": "b", "promotion": "c", "platform": "x", "proposed_handle": "h",
               "visibility": "open"}
    assert unanswered(answers) is not None and unanswered(answers).slug == "runners"  # type: ignore[union-attr]
    assert unanswered(answers | {"runner_ids": ["1", "2"]}) is None
    assert unanswered(answers | {"proposed_handle": ""}).slug == "account"  # type: ignore[union-attr]
