"""Bearer tokens: short-lived JWTs (HS256) signed with SOCIALGOV_SECRET_KEY."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from uuid import UUID

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

LEEWAY_S = 5  # clock skew allowed on a token's expiry
VERIFIED_CACHE_SIZE = 10_000


class InvalidToken(Exception):
    """The token is malformed, forged or expired (the message never echoes the token)."""


@dataclass(frozen=True)
class TokenClaims:
    subject: UUID
    kind: str
    auth_method: str
    expires_at: int
    scopes: tuple[str, ...] = ()


class TokenService:
    def __init__(self, secret_key: str, ttl_minutes: int = 60, issuer: str = "socialgov") -> None:
        self._key = OctKey.import_key(secret_key.encode())
        self.ttl_seconds = ttl_minutes * 60
        self.issuer = issuer
        #: Tokens whose signature and claims checked out, and their claims: a client sends the same token on
        #: every request until it expires, and checking a signature costs more than the rest of a cached
        #: principal. Only the expiry can change its answer, so a hit checks just that.
        self._verified: dict[str, TokenClaims] = {}

    def issue(self, subject: UUID, kind: str = "person", auth_method: str = "dev", now: float | None = None,
              ttl_seconds: int | None = None, scopes: list[str] | None = None) -> str:
        iat = int(now if now is not None else time.time())
        claims: dict[str, object] = {"iss": self.issuer, "sub": str(subject), "knd": kind, "amr": auth_method,
                                     "iat": iat, "exp": iat + (ttl_seconds or self.ttl_seconds),
                                     "jti": uuid.uuid4().hex}
        if scopes is not None:
            claims["scope"] = " ".join(scopes)
        return jwt.encode({"alg": "HS256"}, claims, self._key)

    def verify(self, token: str, now: float | None = None) -> TokenClaims:
        known = self._verified.get(token)
        if known is not None:
            if (now if now is not None else time.time()) <= known.expires_at + LEEWAY_S:
                return known
            self._verified.pop(token, None)
            raise InvalidToken("ExpiredTokenError")
        claims = self._verify(token, now)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.clear()  # bounded; a full cache is rare and refills as clients come back
        self._verified[token] = claims
        return claims

    def _verify(self, token: str, now: float | None) -> TokenClaims:
        try:
            decoded = jwt.decode(token, self._key, algorithms=["HS256"])
            jwt.JWTClaimsRegistry(now=int(now) if now is not None else None, leeway=LEEWAY_S,
                                  iss={"essential": True, "value": self.issuer},
                                  exp={"essential": True}, sub={"essential": True}).validate(decoded.claims)
            return TokenClaims(UUID(decoded.claims["sub"]), str(decoded.claims.get("knd", "person")),
                               str(decoded.claims.get("amr", "bearer")), int(decoded.claims["exp"]),
                               tuple(str(decoded.claims.get("scope", "")).split()))
        except (JoseError, ValueError, KeyError, TypeError) as e:
            raise InvalidToken(type(e).__name__) from None
