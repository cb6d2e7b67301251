"""Integration client secrets: argon2 hashes in their own table (never in events, logs or responses)."""

from __future__ import annotations

from uuid import UUID

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Column, Engine, String, Table, Uuid, delete, insert, select

from services.readmodel import metadata

client_secrets = Table(
    "integration_client_secrets", metadata,
    Column("client_id", Uuid, primary_key=True),
    Column("secret_hash", String(200), nullable=False),
)


class Argon2Hasher:
    def __init__(self) -> None:
        self._ph = PasswordHasher()

    def hash(self, secret: str) -> str:
        return self._ph.hash(secret)

    def verify(self, hashed: str, secret: str) -> bool:
        try:
            return self._ph.verify(hashed, secret)
        except (VerificationError, InvalidHashError):
            return False


class ClientSecretTable:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def put(self, client_id: UUID, hashed: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(client_secrets).where(client_secrets.c.client_id == client_id))
            conn.execute(insert(client_secrets).values(client_id=client_id, secret_hash=hashed))

    def get(self, client_id: UUID) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(select(client_secrets.c.secret_hash)
                                .where(client_secrets.c.client_id == client_id)).scalar()
