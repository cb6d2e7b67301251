"""Errors the model raises. Each carries enough for an adapter to tell the user exactly what was wrong."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class DomainError(Exception):
    """Base of every refusal raised by the model."""


class InvalidInput(DomainError):
    """One or more fields are invalid; nothing was changed."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))

    @classmethod
    def one(cls, field: str, message: str) -> InvalidInput:
        return cls([FieldError(field, message)])


class RuleRefused(DomainError):
    """A business rule refused the command; `conditions` lists every unmet condition."""

    def __init__(self, title: str, conditions: list[str]) -> None:
        self.title = title
        self.conditions = conditions
        super().__init__(f"{title}: " + "; ".join(conditions))


class InvalidTransition(DomainError):
    """The aggregate is not in a state that allows the command (e.g. approving a withdrawn application)."""


class AlreadyExists(DomainError):
    """A unique thing (a school's URN) is already taken."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")
