"""Server-side sessions for the web UI, pending OpenID Connect sign-ins, and subject -> person links.

The browser holds only a random session token; the database holds its SHA-256, so a copy of the table does not
yield live sessions. A session ends at logout, after SOCIALGOV_SESSION_HOURS, or after an idle spell. Its CSRF
token is derived (HMAC with SOCIALGOV_SECRET_KEY) from the session token, so there is nothing else to store.

A pending sign-in (state -> nonce, PKCE verifier, trust, browser binding) is taken exactly once: the row is deleted
as it is read, so a replayed `state` finds nothing.

Tables are created by an Alembic migration (they live on the shared metadata; docs/decisions/0018-oidc.md).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import Column, Engine, Index, String, Table, UniqueConstraint, Uuid, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from services.readmodel import UtcDateTime, metadata

auth_sessions = Table(
    "auth_sessions", metadata,
    Column("id_hash", String(64), primary_key=True, comment="sha256 of the session token the browser holds"),
    Column("person_id", Uuid, nullable=False, index=True),
    Column("trust_id", Uuid, nullable=False),
    Column("auth_method", String(20), nullable=False),
    Column("issuer", String(500), nullable=True),
    Column("subject", String(255), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False, index=True),
    Column("last_seen_at", UtcDateTime(), nullable=False),
)

oidc_login_requests = Table(
    "oidc_login_requests", metadata,
    Column("state_hash", String(64), primary_key=True),
    Column("browser_hash", String(64), nullable=False, comment="sha256 of the login cookie that started it"),
    Column("trust_id", Uuid, nullable=False),
    Column("nonce", String(100), nullable=False),
    Column("code_verifier", String(128), nullable=False),
    Column("return_to", String(500), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False, index=True),
)

oidc_identities = Table(
    "oidc_identities", metadata,
    Column("trust_id", Uuid, primary_key=True),
    Column("issuer", String(500), primary_key=True),
    Column("subject", String(255), primary_key=True),
    Column("person_id", Uuid, nullable=False),
    Column("email", String(320), nullable=True, comment="the email the link was made by (for the audit only)"),
    Column("linked_at", UtcDateTime(), nullable=False),
    Column("last_login_at", UtcDateTime(), nullable=False),
    UniqueConstraint("trust_id", "issuer", "person_id", name="uq_oidc_identities_person"),
    Index("ix_oidc_identities_person", "person_id"),
)

TABLES = (auth_sessions, oidc_login_requests, oidc_identities)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Session:
    person_id: UUID
    trust_id: UUID
    auth_method: str
    issuer: str | None
    subject: str | None
    created_at: datetime
    expires_at: datetime
    last_seen_at: datetime


class SessionStore:
    def __init__(self, engine: Engine, secret_key: str, lifetime: timedelta = timedelta(hours=8),
                 idle: timedelta = timedelta(minutes=60), touch_every: timedelta = timedelta(minutes=1)) -> None:
        self.engine = engine
        self._csrf_key = hashlib.sha256(b"socialgov csrf\0" + secret_key.encode()).digest()
        self.lifetime = lifetime
        self.idle = idle
        self.touch_every = touch_every

    def create(self, person_id: UUID, trust_id: UUID, auth_method: str, now: datetime, issuer: str | None = None,
               subject: str | None = None) -> str:
        token = new_token()
        t = auth_sessions
        with self.engine.begin() as conn:
            conn.execute(delete(t).where(t.c.expires_at < now))
            conn.execute(insert(t).values(id_hash=digest(token), person_id=person_id, trust_id=trust_id,
                                          auth_method=auth_method, issuer=issuer, subject=subject, created_at=now,
                                          expires_at=now + self.lifetime, last_seen_at=now))
        return token

    def get(self, token: str, now: datetime) -> Session | None:
        """The live session for a token, or None (unknown, ended, expired or idle too long)."""
        if not token or len(token) > 100:
            return None
        t = auth_sessions
        key = digest(token)
        with self.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.id_hash == key)).first()
        if row is None:
            return None
        if now >= row.expires_at or now - row.last_seen_at >= self.idle:
            self.revoke(token)
            return None
        if now - row.last_seen_at >= self.touch_every:
            with self.engine.begin() as conn:
                conn.execute(update(t).where(t.c.id_hash == key).values(last_seen_at=now))
        return Session(row.person_id, row.trust_id, row.auth_method, row.issuer, row.subject, row.created_at,
                       row.expires_at, row.last_seen_at)

    def revoke(self, token: str) -> bool:
        with self.engine.begin() as conn:
            return bool(conn.execute(delete(auth_sessions).where(auth_sessions.c.id_hash == digest(token))).rowcount)

    def revoke_person(self, person_id: UUID) -> int:
        """Ends every session of a person (a leaver, or an administrator's 'sign out everywhere')."""
        with self.engine.begin() as conn:
            return int(conn.execute(delete(auth_sessions).where(auth_sessions.c.person_id == person_id)).rowcount)

    def csrf_token(self, token: str) -> str:
        mac = hmac.new(self._csrf_key, token.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    def csrf_valid(self, token: str, candidate: str | None) -> bool:
        return bool(candidate) and hmac.compare_digest(self.csrf_token(token), candidate or "")


@dataclass(frozen=True)
class PendingLogin:
    trust_id: UUID
    nonce: str
    code_verifier: str
    return_to: str
    browser_hash: str
    expires_at: datetime

    def started_by(self, browser: str | None) -> bool:
        return bool(browser) and hmac.compare_digest(self.browser_hash, digest(browser or ""))


class PendingLogins:
    def __init__(self, engine: Engine, ttl: timedelta = timedelta(minutes=10)) -> None:
        self.engine = engine
        self.ttl = ttl

    def put(self, state: str, browser: str, trust_id: UUID, nonce: str, code_verifier: str, return_to: str,
            now: datetime) -> None:
        t = oidc_login_requests
        with self.engine.begin() as conn:
            conn.execute(delete(t).where(t.c.expires_at < now))
            conn.execute(insert(t).values(state_hash=digest(state), browser_hash=digest(browser), trust_id=trust_id,
                                          nonce=nonce, code_verifier=code_verifier, return_to=return_to,
                                          created_at=now, expires_at=now + self.ttl))

    def take(self, state: str, now: datetime) -> PendingLogin | None:
        """The pending sign-in for `state`, removed as it is read: a second take of the same state gets None."""
        if not state or len(state) > 200:
            return None
        t = oidc_login_requests
        key = digest(state)
        with self.engine.begin() as conn:
            row = conn.execute(select(t).where(t.c.state_hash == key)).first()
            if row is None or conn.execute(delete(t).where(t.c.state_hash == key)).rowcount != 1:
                return None
        if now >= row.expires_at:
            return None
        return PendingLogin(row.trust_id, row.nonce, row.code_verifier, row.return_to, row.browser_hash,
                            row.expires_at)


class IdentityLinks:
    """(trust, issuer, subject) -> person: how a returning user is recognised even after their email changes."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def person_for(self, trust_id: UUID, issuer: str, subject: str) -> UUID | None:
        t = oidc_identities
        with self.engine.connect() as conn:
            return conn.execute(select(t.c.person_id).where(t.c.trust_id == trust_id, t.c.issuer == issuer,
                                                            t.c.subject == subject)).scalar()

    def subject_for(self, trust_id: UUID, issuer: str, person_id: UUID) -> str | None:
        t = oidc_identities
        with self.engine.connect() as conn:
            return conn.execute(select(t.c.subject).where(t.c.trust_id == trust_id, t.c.issuer == issuer,
                                                          t.c.person_id == person_id)).scalar()

    def link(self, trust_id: UUID, issuer: str, subject: str, person_id: UUID, email: str | None,
             now: datetime) -> bool:
        """Links the subject to the person; False if either is already linked to someone else."""
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(oidc_identities).values(trust_id=trust_id, issuer=issuer, subject=subject,
                                                            person_id=person_id, email=email, linked_at=now,
                                                            last_login_at=now))
            return True
        except IntegrityError:
            return self.person_for(trust_id, issuer, subject) == person_id

    def touch(self, trust_id: UUID, issuer: str, subject: str, now: datetime) -> None:
        t = oidc_identities
        with self.engine.begin() as conn:
            conn.execute(update(t).where(t.c.trust_id == trust_id, t.c.issuer == issuer, t.c.subject == subject)
                         .values(last_login_at=now))
