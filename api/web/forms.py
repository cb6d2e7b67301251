"""Forms: POST -> redirect -> GET, with every invalid field reported at once (decision 0052).

A route reads the posted form with a `FormReader`, one typed question at a time; each question that is missing or
invalid adds a message to `errors` (field name -> message, GOV.UK wording) and the typed text stays in `values`.
When `errors` is empty the route calls the SAME service as the REST API inside `command_errors`, which turns the
services' refusals into messages on the page:

    form = FormReader(await request.form(), labels={"course": "Course name", "completed_on": "Date completed"})
    course = form.text("course", missing="Enter the name of the course")
    completed_on = form.date("completed_on", missing="Enter the date you completed the course")
    if not form.errors:
        with command_errors(form):
            c.directory.record_training(who.principal, who.principal.id, course, completed_on, None)
    if form.errors:
        return page(request, who, "compliance/training.html", form=form, status=400)
    return redirect_with_notice("/my/compliance", "Training recorded")

Templates show `form.error_list()` in the error summary (macros/forms.html `error_summary(form)`), and each field
takes its message and value with `form.error(name)` / `form.value(name)`. Refusals a service raises:

- InvalidInput: each field's message, prefixed with its label;
- RuleRefused: its title and every unmet condition, in the error summary;
- AlreadyExists, InvalidTransition: one message;
- ConcurrencyConflict: "someone else changed this" with a reload prompt;
- NotFound and Forbidden are not caught: the page answers 404 or 403 (api/web/errors.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from domain.errors import AlreadyExists, InvalidInput, InvalidTransition, RuleRefused
from services.eventstore import ConcurrencyConflict

#: The key of messages that belong to the whole form, not to one field (shown in the error summary only).
WHOLE_FORM = ""
CONFLICT = ("Someone else changed this while you were working on it. Reload the page to see their change, then "
            "try again.")


@dataclass
class FormReader:
    """Reads a posted form's answers as typed values, collecting every problem into `errors`."""

    data: Mapping[str, Any]
    labels: Mapping[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)
    #: The id of the input a field's error summary link goes to (a date's first box: `<name>-day`).
    anchors: dict[str, str] = field(default_factory=dict)
    #: The boxes of a date input to mark as wrong (`<name>` -> ["day", "year"]).
    wrong_parts: dict[str, list[str]] = field(default_factory=dict)
    #: Unmet conditions of a RuleRefused (listed under its title in the error summary).
    conditions: list[str] = field(default_factory=list)

    def _raw(self, name: str) -> str:
        value = self.data.get(name)
        text = value if isinstance(value, str) else ""
        self.values[name] = text
        return text.strip()

    def text(self, name: str, missing: str | None = None, max_length: int = 500) -> str:
        """A line or paragraph of text; `missing` makes it required (its message when left empty)."""
        value = self._raw(name)
        if not value and missing:
            self.errors[name] = missing
        elif len(value) > max_length:
            self.errors[name] = f"{self.labels.get(name, 'This answer')} must be {max_length} characters or fewer"
        return value

    def choice(self, name: str, options: Mapping[str, str] | list[str], missing: str) -> str:
        """One of `options` (radios or a select); anything else is treated as no answer."""
        value = self._raw(name)
        if value not in options:
            self.errors[name] = missing
        return value

    def date(self, name: str, missing: str, past: bool = False, today: date | None = None) -> date | None:
        """A GOV.UK date input: three boxes `<name>-day`, `<name>-month`, `<name>-year`."""
        label = self.labels.get(name, "The date")
        parts = {p: self._raw(f"{name}-{p}") for p in ("day", "month", "year")}
        self.anchors[name] = f"{name}-day"
        self.wrong_parts[name] = ["day", "month", "year"]
        empty = [p for p, v in parts.items() if not v]
        if len(empty) == 3:
            self.errors[name] = missing
            return None
        if empty:
            self.anchors[name] = f"{name}-{empty[0]}"
            self.wrong_parts[name] = empty
            self.errors[name] = f"{label} must include a {' and '.join(empty)}"
            return None
        try:
            value = date(int(parts["year"]), int(parts["month"]), int(parts["day"]))
        except ValueError:
            self.errors[name] = f"{label} must be a real date"
            return None
        if len(parts["year"]) != 4:
            self.anchors[name] = f"{name}-year"
            self.wrong_parts[name] = ["year"]
            self.errors[name] = "Year must include 4 numbers"
            return None
        if past and today is not None and value > today:
            self.errors[name] = f"{label} must be today or in the past"
            return None
        return value

    def error(self, name: str) -> dict[str, str] | None:
        """A field's error message for the govuk macros' `errorMessage` option, or None."""
        message = self.errors.get(name)
        return {"text": message} if message else None

    def value(self, name: str) -> str:
        return self.values.get(name, "")

    def error_list(self) -> list[dict[str, str]]:
        """The error summary's items, in the order the fields were read; each links to its field."""
        items = [{"text": message, "href": "#" + self.anchors.get(name, name)}
                 for name, message in self.errors.items() if name != WHOLE_FORM]
        if WHOLE_FORM in self.errors:
            items.insert(0, {"text": self.errors[WHOLE_FORM]})
        items += [{"text": condition} for condition in self.conditions]
        return items


@contextmanager
def command_errors(form: FormReader) -> Iterator[None]:
    """Runs a service command; its refusal becomes messages on `form` (see the module's docstring)."""
    try:
        yield
    except InvalidInput as e:
        for error in e.errors:
            name = error.field if error.field in form.values or error.field in form.anchors else WHOLE_FORM
            label = form.labels.get(error.field, error.field.replace("_", " ").capitalize())
            form.errors.setdefault(name, f"{label} {error.message}")
    except RuleRefused as e:
        form.errors[WHOLE_FORM] = e.title
        form.conditions = list(e.conditions)
    except AlreadyExists as e:
        form.errors[e.field if e.field in form.values else WHOLE_FORM] = e.message
    except InvalidTransition as e:
        form.errors[WHOLE_FORM] = str(e)
    except ConcurrencyConflict:
        form.errors[WHOLE_FORM] = CONFLICT
