"""api/web/forms.py: every invalid field at once, and the services' refusals as messages on the page."""

from __future__ import annotations

from datetime import date

import pytest

from api.web.forms import CONFLICT, FormReader, command_errors
from domain.errors import FieldError, InvalidInput, RuleRefused
from services.eventstore import ConcurrencyConflict, NotFound

LABELS = {"course": "Course name", "completed_on": "The date you completed the course"}


def read(**data: str) -> tuple[FormReader, str, date | None]:
    form = FormReader(data, labels=LABELS)
    course = form.text("course", missing="Enter the name of the course", max_length=10)
    completed = form.date("completed_on", missing="Enter the date", past=True, today=date(2026, 3, 10))
    return form, course, completed


def test_every_invalid_field_is_reported_and_what_was_typed_is_kept() -> None:
    form, _, _ = read(**{"completed_on-month": "13"})
    assert form.errors == {"course": "Enter the name of the course",
                           "completed_on": "The date you completed the course must include a day and year"}
    assert form.error_list() == [{"text": "Enter the name of the course", "href": "#course"},
                                 {"text": "The date you completed the course must include a day and year",
                                  "href": "#completed_on-day"}]
    assert form.value("completed_on-month") == "13" and form.wrong_parts["completed_on"] == ["day", "year"]


@pytest.mark.parametrize(("day", "month", "year", "message"), [
    ("", "", "", "Enter the date"),
    ("31", "2", "2026", "The date you completed the course must be a real date"),
    ("1", "1", "26", "Year must include 4 numbers"),
    ("11", "3", "2026", "The date you completed the course must be today or in the past"),
])
def test_dates(day: str, month: str, year: str, message: str) -> None:
    form, _, completed = read(course="Safe", **{"completed_on-day": day, "completed_on-month": month,
                                                "completed_on-year": year})
    assert completed is None and form.errors == {"completed_on": message}


def test_a_good_answer_is_typed() -> None:
    form, course, completed = read(course=" Safe ", **{"completed_on-day": "10", "completed_on-month": "3",
                                                       "completed_on-year": "2026"})
    assert not form.errors and course == "Safe" and completed == date(2026, 3, 10)
    form, _, _ = read(course="x" * 11)
    assert form.errors["course"] == "Course name must be 10 characters or fewer"


def test_the_services_refusals_become_messages() -> None:
    good = {"course": "Safe", "completed_on-day": "1", "completed_on-month": "3", "completed_on-year": "2026"}
    form, _, _ = read(**good)
    with command_errors(form):
        raise InvalidInput([FieldError("completed_on", "must not be in the future"), FieldError("other", "bad")])
    assert form.error_list() == [{"text": "Other bad"},
                                 {"text": "The date you completed the course must not be in the future",
                                  "href": "#completed_on-day"}]
    form, _, _ = read(**good)
    with command_errors(form):
        raise RuleRefused("Cannot approve", ["Ann has no valid training", "Bob has not read the policy"])
    assert form.error_list() == [{"text": "Cannot approve"}, {"text": "Ann has no valid training"},
                                 {"text": "Bob has not read the policy"}]
    form = FormReader({})
    with command_errors(form):
        raise ConcurrencyConflict()
    assert form.error_list() == [{"text": CONFLICT}]
    with pytest.raises(NotFound), command_errors(FormReader({})):  # the page answers 404
        raise NotFound("person")
