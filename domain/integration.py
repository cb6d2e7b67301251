"""Integration clients (HR, MIS, monitoring tools): machine callers of the API with scopes, registered by the
trust's central team. The secret never enters the model: only a hash, kept outside the event log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from domain.errors import FieldError, InvalidInput, InvalidTransition
from domain.events import Actor, Aggregate, DomainEvent


class Scope(StrEnum):
    STAFF_WRITE = "staff:write"
    PUPILS_WRITE = "pupils:write"
    INTERACTIONS_WRITE = "interactions:write"
    MENTIONS_WRITE = "mentions:write"
    READ = "read"


@dataclass(frozen=True, kw_only=True)
class IntegrationClientRegistered(DomainEvent):
    name: str
    scopes: list[str]


@dataclass(frozen=True, kw_only=True)
class IntegrationClientRevoked(DomainEvent):
    pass


class IntegrationClient(Aggregate):
    def __init__(self, id: UUID) -> None:
        super().__init__(id)
        self.trust_id: UUID | None = None
        self.name = ""
        self.scopes: frozenset[str] = frozenset()
        self.revoked = False

    @classmethod
    def register(cls, id: UUID, trust_id: UUID, name: str, scopes: list[str], actor: Actor,
                 at: datetime) -> IntegrationClient:
        errors: list[FieldError] = []
        name = " ".join(name.split())
        if not name or len(name) > 200:
            errors.append(FieldError("name", "must be 1-200 characters"))
        valid = {s.value for s in Scope}
        for i, scope in enumerate(scopes):
            if scope not in valid:
                errors.append(FieldError(f"scopes[{i}]", "must be one of " + ", ".join(sorted(valid))))
        if not scopes:
            errors.append(FieldError("scopes", "must name at least one scope"))
        if errors:
            raise InvalidInput(errors)
        client = cls(id)
        client._trigger(IntegrationClientRegistered(**client.header(at, actor, trust_id, None), name=name,
                                                    scopes=sorted(set(scopes))))
        return client

    def revoke(self, reason: str | None, actor: Actor, at: datetime) -> None:
        if self.revoked:
            raise InvalidTransition("the client is already revoked")
        assert self.trust_id is not None
        self._trigger(IntegrationClientRevoked(**self.header(at, actor, self.trust_id, None), reason=reason))

    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, IntegrationClientRegistered):
            self.trust_id, self.name, self.scopes = event.trust_id, event.name, frozenset(event.scopes)
        elif isinstance(event, IntegrationClientRevoked):
            self.revoked = True
