"""The trust: its settings (SLA, training validity) and its social media policy versions."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, time
from uuid import UUID

from domain.errors import FieldError, InvalidInput
from domain.events import Actor, Aggregate, DomainEvent


@dataclass(frozen=True)
class TrustSettings:
    response_hours: int = 24
    due_soon_hours: int = 4
    end_of_day: str = "17:00"
    training_validity_months: int = 12
    assessment_working_days: int = 1

    def validate(self) -> None:
        errors: list[FieldError] = []
        if not 1 <= self.response_hours <= 168:
            errors.append(FieldError("response_hours", "must be between 1 and 168"))
        if not 0 <= self.due_soon_hours < self.response_hours:
            errors.append(FieldError("due_soon_hours", "must be at least 0 and less than response_hours"))
        try:
            time.fromisoformat(self.end_of_day)
        except ValueError:
            errors.append(FieldError("end_of_day", "must be a time of day as HH:MM"))
        if not 1 <= self.training_validity_months <= 60:
            errors.append(FieldError("training_validity_months", "must be between 1 and 60"))
        if not 1 <= self.assessment_working_days <= 10:
            errors.append(FieldError("assessment_working_days", "must be between 1 and 10"))
        if errors:
            raise InvalidInput(errors)


@dataclass(frozen=True, kw_only=True)
class TrustRegistered(DomainEvent):
    name: str


@dataclass(frozen=True, kw_only=True)
class TrustSettingsChanged(DomainEvent):
    response_hours: int
    due_soon_hours: int
    end_of_day: str
    training_validity_months: int
    assessment_working_days: int


@dataclass(frozen=True, kw_only=True)
class PolicyVersionPublished(DomainEvent):
    """A new version of the social media policy; everyone must acknowledge it again."""

    policy_version_id: UUID
    label: str
    summary: str


@dataclass
class PolicyVersion:
    id: UUID
    label: str
    published_at: datetime


class Trust(Aggregate):
    def __init__(self, id: UUID) -> None:
        super().__init__(id)
        self.name = ""
        self.settings = TrustSettings()
        self.policy_versions: list[PolicyVersion] = []

    @property
    def current_policy(self) -> PolicyVersion | None:
        return self.policy_versions[-1] if self.policy_versions else None

    @classmethod
    def register(cls, id: UUID, name: str, actor: Actor, at: datetime) -> Trust:
        name = " ".join(name.split())
        if not name:
            raise InvalidInput.one("name", "must not be empty")
        trust = cls(id)
        trust._trigger(TrustRegistered(originator_id=id, originator_version=1, occurred_at=at, actor=actor,
                                       trust_id=id, school_id=None, name=name))
        return trust

    def change_settings(self, settings: TrustSettings, actor: Actor, at: datetime) -> None:
        settings.validate()
        self._trigger(TrustSettingsChanged(
            **self.header(at, actor, self.id, None), response_hours=settings.response_hours,
            due_soon_hours=settings.due_soon_hours, end_of_day=settings.end_of_day,
            training_validity_months=settings.training_validity_months,
            assessment_working_days=settings.assessment_working_days))

    def publish_policy(self, version_id: UUID, label: str, summary: str, actor: Actor, at: datetime) -> None:
        label = " ".join(label.split())
        if not label:
            raise InvalidInput.one("label", "must not be empty")
        if any(v.label == label for v in self.policy_versions):
            raise InvalidInput.one("label", f"policy version '{label}' already exists")
        self._trigger(PolicyVersionPublished(
            **self.header(at, actor, self.id, None), policy_version_id=version_id, label=label,
            summary=summary.strip()))

    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, TrustRegistered):
            self.name = event.name
        elif isinstance(event, TrustSettingsChanged):
            self.settings = replace(self.settings, response_hours=event.response_hours,
                                    due_soon_hours=event.due_soon_hours, end_of_day=event.end_of_day,
                                    training_validity_months=event.training_validity_months,
                                    assessment_working_days=event.assessment_working_days)
        elif isinstance(event, PolicyVersionPublished):
            self.policy_versions.append(PolicyVersion(event.policy_version_id, event.label, event.occurred_at))
