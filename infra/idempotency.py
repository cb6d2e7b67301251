"""Idempotency-Key storage: a retried integration call gets the first call's result and writes nothing new."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Column, Engine, Integer, LargeBinary, String, Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from services.readmodel import UtcDateTime, metadata

idempotency_keys = Table(
    "idempotency_keys", metadata,
    Column("owner", String(80), primary_key=True, comment="principal id: keys are per caller"),
    Column("key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status", Integer, nullable=True, comment="null while the first call is in progress"),
    Column("body", LargeBinary, nullable=True),
    Column("content_type", String(100), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
)


def request_hash(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


@dataclass(frozen=True)
class Stored:
    status: int | None
    body: bytes | None
    content_type: str | None
    request_hash: str


class IdempotencyStore:
    def __init__(self, engine: Engine, ttl: timedelta = timedelta(hours=24)) -> None:
        self.engine = engine
        self.ttl = ttl

    def claim(self, owner: str, key: str, req_hash: str, now: datetime) -> Stored | None:
        """Claims the key for this call (returns None), or returns what an earlier call with it recorded."""
        t = idempotency_keys
        with self.engine.begin() as conn:
            conn.execute(delete(t).where(t.c.owner == owner, t.c.key == key, t.c.created_at < now - self.ttl))
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(t).values(owner=owner, key=key, request_hash=req_hash, created_at=now))
            return None
        except IntegrityError:
            with self.engine.connect() as conn:
                row = conn.execute(select(t).where(t.c.owner == owner, t.c.key == key)).first()
            if row is None:  # expired and removed in between: claim again
                return self.claim(owner, key, req_hash, now)
            return Stored(row.status, row.body, row.content_type, row.request_hash)

    def complete(self, owner: str, key: str, status: int, body: bytes, content_type: str) -> None:
        t = idempotency_keys
        with self.engine.begin() as conn:
            conn.execute(update(t).where(t.c.owner == owner, t.c.key == key)
                         .values(status=status, body=body, content_type=content_type))

    def release(self, owner: str, key: str) -> None:
        """Forgets a claim whose call failed on our side, so the client may retry it."""
        t = idempotency_keys
        with self.engine.begin() as conn:
            conn.execute(delete(t).where(t.c.owner == owner, t.c.key == key))


def canonical_json(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
