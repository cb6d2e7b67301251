"""Integration clients: registration (secret shown once, stored hashed), client-credentials authentication,
revocation (immediate: every request re-checks the client)."""

from __future__ import annotations

import secrets
from typing import Any
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder
from sqlalchemy import Engine, select

from domain.errors import InvalidInput
from domain.integration import IntegrationClient, Scope
from services import readmodel as rm
from services.authorisation import Action, Principal, can
from services.event_log import EventLog
from services.eventstore import ContextApplication, Forbidden, NotFound
from services.ids import new_id
from services.ports import ClientSecrets, Clock, SecretHasher


class InvalidClient(Exception):
    """Unknown client, wrong secret or revoked client (never says which)."""


class Integrations(ContextApplication):
    name = "integrations"

    def __init__(self, recorder: ApplicationRecorder, clock: Clock, log: EventLog, hasher: SecretHasher,
                 store: ClientSecrets) -> None:
        super().__init__(recorder, clock, log)
        self.hasher = hasher
        self.store = store

    def register(self, principal: Principal, name: str, scopes: list[str]) -> tuple[UUID, str]:
        """Returns the client id and its secret — the only time the secret is ever shown."""
        if not can(principal, Action.CLIENT_MANAGE, None):
            raise Forbidden("only the trust's central team registers integration clients")
        client = IntegrationClient.register(new_id(), principal.trust_id, name, scopes,
                                            principal.actor(Action.CLIENT_MANAGE, None), self.clock.now())
        secret = secrets.token_urlsafe(32)
        self.store.put(client.id, self.hasher.hash(secret))
        self.commit(client, by=principal)
        return client.id, secret

    def revoke(self, principal: Principal, client_id: UUID, reason: str | None) -> None:
        client = self.load(IntegrationClient, client_id)
        if client is None or client.trust_id != principal.trust_id or not can(principal, Action.CLIENT_MANAGE, None):
            raise NotFound("integration client")
        client.revoke(reason, principal.actor(Action.CLIENT_MANAGE, None), self.clock.now())
        self.commit(client, by=principal)

    def authenticate(self, client_id: str, secret: str, requested: str | None) -> tuple[IntegrationClient, list[str]]:
        """Checks the client's credentials; returns it and the granted scopes (requested ∩ registered)."""
        try:
            cid = UUID(client_id)
        except ValueError:
            raise InvalidClient from None
        client = self.load(IntegrationClient, cid)
        hashed = self.store.get(cid)
        if client is None or client.revoked or hashed is None or not self.hasher.verify(hashed, secret):
            raise InvalidClient
        wanted = set((requested or "").split()) or set(client.scopes)
        unknown = wanted - {s.value for s in Scope}
        if unknown or not wanted <= client.scopes:
            raise InvalidInput.one("scope", "asks for scopes this client was not granted")
        return client, sorted(wanted)


def list_clients(engine: Engine, principal: Principal) -> list[dict[str, Any]]:
    if not can(principal, Action.CLIENT_MANAGE, None):
        raise NotFound("integration clients")
    c = rm.integration_clients
    with engine.connect() as conn:
        rows = conn.execute(select(c).where(c.c.trust_id == principal.trust_id).order_by(c.c.registered_at)).mappings()
        return [{k: v for k, v in dict(r).items() if k != "trust_id"} for r in rows]
