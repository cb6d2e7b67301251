"""OpenID Connect configuration, per trust, from the JSON file named by SOCIALGOV_OIDC_CONFIG.

The file is a list of trusts (or an object {"trusts": [...]}):

    [{"trust_id": "…uuid…",
      "name": "Oakfield Learning Trust",                      (optional: shown when several trusts sign in here)
      "issuer": "https://login.microsoftonline.com/<tenant>/v2.0",
      "client_id": "…", "client_secret": "…"  or  "client_secret_env": "NAME_OF_AN_ENV_VAR",
      "scopes": ["openid", "email", "profile"],               (optional; "openid" is always requested)
      "token_endpoint_auth_method": "client_secret_basic",    (optional: or client_secret_post)
      "redirect_uri": "https://socialgov.example/auth/callback",  (optional: else derived from the request)
      "allowed_email_domains": ["oakfield.example"],          (optional: empty = any domain)
      "provision": true,                                      (optional: create unknown people whose claims map)
      "role_mapping": [{"claim": "groups", "value": "oakfield-slt", "school_urn": "100001", "role": "slt"},
                       {"claim": "groups", "value": "central-team", "school_urn": "trust", "role": "trust_admin"},
                       {"claim": "email_domain", "value": "oakfield.example", "school_urn": "100001",
                        "role": "staff"}]}]

`claim` is an ID-token claim name (dots walk into nested objects, e.g. "realm_access.roles"), or the derived claim
"email_domain" (the domain of a verified email). A rule matches when the claim equals `value`, or is a list
containing it. Other knobs are environment variables: SOCIALGOV_SESSION_HOURS (absolute session lifetime, 8),
SOCIALGOV_SESSION_IDLE_MINUTES (60) and SOCIALGOV_AUTH_RATE_LIMIT ("120/60": requests per seconds, per client
address, on /auth/*).

Errors raise SettingsError naming the file, the entry and the field; a client secret is never echoed.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from domain.values import SCHOOL_ROLES, TRUST_ROLES, Role
from infra.settings import SettingsError

ENV_CONFIG = "SOCIALGOV_OIDC_CONFIG"
TRUST_SCOPE = "trust"
AUTH_METHODS = ("client_secret_basic", "client_secret_post")
_URN = re.compile(r"^\d{6,7}$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$")


@dataclass(frozen=True)
class RoleRule:
    claim: str
    value: str
    school_urn: str | None  # None: a trust-wide role
    role: Role


@dataclass(frozen=True)
class TrustOidc:
    trust_id: UUID
    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    role_mapping: tuple[RoleRule, ...] = ()
    allowed_email_domains: frozenset[str] = frozenset()
    name: str | None = None
    scopes: tuple[str, ...] = ("openid", "email", "profile")
    token_endpoint_auth_method: str = "client_secret_basic"  # noqa: S105 - a method name, not a secret
    redirect_uri: str | None = None
    provision: bool = True

    @property
    def label(self) -> str:
        return self.name or urlsplit(self.issuer).netloc or self.issuer

    def managed_pairs(self) -> frozenset[tuple[str | None, Role]]:
        """(school URN or None, role) pairs the mapping decides: sign-in grants and revokes exactly these."""
        return frozenset((r.school_urn, r.role) for r in self.role_mapping)


@dataclass(frozen=True)
class OidcConfig:
    trusts: tuple[TrustOidc, ...] = ()
    session_hours: int = 8
    session_idle_minutes: int = 60
    rate_limit: int = 120
    rate_window_seconds: int = 60

    def trust(self, trust_id: UUID) -> TrustOidc | None:
        return next((t for t in self.trusts if t.trust_id == trust_id), None)


def load_oidc_config(environ: dict[str, str] | None = None) -> OidcConfig:
    """The configuration from the environment; no SOCIALGOV_OIDC_CONFIG means no trust signs in with OIDC."""
    e = dict(os.environ if environ is None else environ)
    session_hours = _positive(e, "SOCIALGOV_SESSION_HOURS", 8)
    idle = _positive(e, "SOCIALGOV_SESSION_IDLE_MINUTES", 60)
    limit, window = _rate(e.get("SOCIALGOV_AUTH_RATE_LIMIT") or "120/60")
    path = e.get(ENV_CONFIG)
    trusts: tuple[TrustOidc, ...] = ()
    if path:
        try:
            raw = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as ex:
            raise SettingsError(f"{ENV_CONFIG}: cannot read {path}: {ex.strerror}") from None
        except json.JSONDecodeError as ex:
            raise SettingsError(f"{ENV_CONFIG}: {path} is not valid JSON (line {ex.lineno})") from None
        trusts = parse_trusts(raw, e, source=path)
    return OidcConfig(trusts, session_hours, idle, limit, window)


def parse_trusts(raw: Any, environ: dict[str, str] | None = None, source: str = "config") -> tuple[TrustOidc, ...]:
    env = dict(os.environ if environ is None else environ)
    if isinstance(raw, dict) and "trusts" in raw:
        raw = raw["trusts"]
    if not isinstance(raw, list):
        raise SettingsError(f"{source}: expected a list of trusts")
    trusts = [_trust(item, i, env, source) for i, item in enumerate(raw)]
    ids = [t.trust_id for t in trusts]
    if len(set(ids)) != len(ids):
        raise SettingsError(f"{source}: a trust_id appears more than once")
    return tuple(trusts)


def _trust(item: Any, i: int, env: dict[str, str], source: str) -> TrustOidc:
    where = f"{source}: trust [{i}]"
    if not isinstance(item, dict):
        raise SettingsError(f"{where} must be an object")
    known = {"trust_id", "name", "issuer", "client_id", "client_secret", "client_secret_env", "scopes",
             "token_endpoint_auth_method", "redirect_uri", "allowed_email_domains", "provision", "role_mapping"}
    unknown = sorted(set(item) - known)
    if unknown:
        raise SettingsError(f"{where}: unknown field(s) {', '.join(unknown)}")
    try:
        trust_id = UUID(str(item.get("trust_id", "")))
    except ValueError:
        raise SettingsError(f"{where}.trust_id must be a UUID") from None
    issuer = _string(item, "issuer", where)
    parts = urlsplit(issuer)
    local = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme != "https" and not (parts.scheme == "http" and local):
        raise SettingsError(f"{where}.issuer must be an https:// URL")
    if parts.query or parts.fragment:
        raise SettingsError(f"{where}.issuer must not have a query or fragment")
    client_id = _string(item, "client_id", where)
    if "client_secret_env" in item:
        variable = _string(item, "client_secret_env", where)
        secret = env.get(variable, "")
        if not secret:
            raise SettingsError(f"{where}.client_secret_env: environment variable {variable} is not set")
    else:
        secret = _string(item, "client_secret", where)
    scopes = item.get("scopes", ["openid", "email", "profile"])
    if not isinstance(scopes, list) or not all(isinstance(s, str) and s and " " not in s for s in scopes):
        raise SettingsError(f"{where}.scopes must be a list of scope names")
    scopes = ["openid", *[s for s in scopes if s != "openid"]]
    method = item.get("token_endpoint_auth_method", "client_secret_basic")
    if method not in AUTH_METHODS:
        raise SettingsError(f"{where}.token_endpoint_auth_method must be one of {', '.join(AUTH_METHODS)}")
    redirect_uri = item.get("redirect_uri")
    if redirect_uri is not None and (not isinstance(redirect_uri, str)
                                     or urlsplit(redirect_uri).scheme not in ("https", "http")):
        raise SettingsError(f"{where}.redirect_uri must be an absolute URL")
    domains = item.get("allowed_email_domains", [])
    if not isinstance(domains, list) or not all(isinstance(d, str) and _DOMAIN.match(d.lower()) for d in domains):
        raise SettingsError(f"{where}.allowed_email_domains must be a list of domain names")
    provision = item.get("provision", True)
    if not isinstance(provision, bool):
        raise SettingsError(f"{where}.provision must be true or false")
    rules = item.get("role_mapping", [])
    if not isinstance(rules, list):
        raise SettingsError(f"{where}.role_mapping must be a list")
    name = item.get("name")
    if name is not None and not isinstance(name, str):
        raise SettingsError(f"{where}.name must be a string")
    return TrustOidc(trust_id=trust_id, issuer=issuer, client_id=client_id, client_secret=secret,
                     role_mapping=tuple(_rule(r, f"{where}.role_mapping[{j}]") for j, r in enumerate(rules)),
                     allowed_email_domains=frozenset(d.lower() for d in domains), name=name, scopes=tuple(scopes),
                     token_endpoint_auth_method=method, redirect_uri=redirect_uri, provision=provision)


def _rule(raw: Any, where: str) -> RoleRule:
    if not isinstance(raw, dict):
        raise SettingsError(f"{where} must be an object")
    unknown = sorted(set(raw) - {"claim", "value", "school_urn", "role"})
    if unknown:
        raise SettingsError(f"{where}: unknown field(s) {', '.join(unknown)}")
    claim = _string(raw, "claim", where)
    value = raw.get("value")
    if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
        raise SettingsError(f"{where}.value must be a non-empty string")
    try:
        role = Role(str(raw.get("role", "")))
    except ValueError:
        raise SettingsError(f"{where}.role must be one of {', '.join(r.value for r in Role)}") from None
    urn = str(raw.get("school_urn", "")).strip()
    if urn == TRUST_SCOPE:
        if role not in TRUST_ROLES:
            raise SettingsError(f"{where}: {role.value} is a school role: give the school's URN, not 'trust'")
        return RoleRule(claim, str(value), None, role)
    if not _URN.match(urn):
        raise SettingsError(f"{where}.school_urn must be a school's URN (6-7 digits) or 'trust'")
    if role not in SCHOOL_ROLES:
        raise SettingsError(f"{where}: {role.value} is a trust-wide role: use \"school_urn\": \"trust\"")
    return RoleRule(claim, str(value), urn, role)


def _string(raw: dict[str, Any], key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise SettingsError(f"{where}.{key} must be a non-empty string")
    return value.strip()


def _positive(e: dict[str, str], name: str, default: int) -> int:
    raw = e.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if value <= 0:
        raise SettingsError(f"{name} must be positive")
    return value


def _rate(raw: str) -> tuple[int, int]:
    count, _, window = raw.partition("/")
    try:
        limit, seconds = int(count), int(window or "60")
    except ValueError:
        raise SettingsError("SOCIALGOV_AUTH_RATE_LIMIT must look like 120/60 (requests/seconds), "
                            f"got {raw!r}") from None
    if limit <= 0 or seconds <= 0:
        raise SettingsError("SOCIALGOV_AUTH_RATE_LIMIT must be positive")
    return limit, seconds
