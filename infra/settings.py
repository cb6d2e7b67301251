"""Configuration from the environment (12-factor). Production refuses development defaults."""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass
from pathlib import Path

DEV_MASTER_KEY = base64.b64encode(b"socialgov-development-master-key"[:32]).decode()
DEV_SECRET_KEY = "socialgov-development-secret-key-not-for-production"  # noqa: S105 - refused in production


class SettingsError(Exception):
    """The configuration is unusable; the message says which variable to fix."""


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    database_url: str = "sqlite:///./var/socialgov.db"
    master_key: str = DEV_MASTER_KEY
    secret_key: str = DEV_SECRET_KEY
    redis_url: str | None = None
    smtp_url: str | None = None
    storage_dir: str = "./var/files"
    log_format: str = "text"
    log_level: str = "INFO"
    token_ttl_minutes: int = 60
    dev_login: bool = True
    sla_response_hours: int = 24
    sla_due_soon_hours: int = 4
    end_of_day: str = "17:00"
    training_validity_months: int = 12
    db_pool_size: int = 10
    #: Web server processes (uvicorn's workers); 0 = automatic: one on SQLite (one writer at a time), else one per
    #: CPU, up to 4.
    web_workers: int = 0
    #: The largest request body a JSON endpoint reads (decision 0060); uploads (evidence files, the MIS pupil
    #: register) may send up to `upload_max_bytes`.
    json_max_bytes: int = 1024 * 1024
    upload_max_bytes: int = 25 * 1024 * 1024
    #: A connection must finish sending a request's headers this many seconds after it opened or its previous
    #: answer went out, else it is closed (decision 0063).
    header_timeout_seconds: float = 10.0

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def workers(self) -> int:
        """How many web server processes `socialgov run` starts."""
        if self.web_workers:
            return self.web_workers
        return 1 if self.is_sqlite else max(1, min(os.cpu_count() or 1, 4))

    def sqlite_path(self) -> Path:
        return Path(self.database_url.split(":///", 1)[1])

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        e = dict(os.environ if environ is None else environ)
        env = e.get("SOCIALGOV_ENV", "development")
        if env not in ("development", "production"):
            raise SettingsError("SOCIALGOV_ENV must be 'development' or 'production'")
        prod = env == "production"

        def integer(name: str, default: int) -> int:
            raw = e.get(name)
            if raw is None or raw == "":
                return default
            try:
                return int(raw)
            except ValueError:
                raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None

        settings = cls(
            env=env,
            database_url=e.get("SOCIALGOV_DATABASE_URL") or "sqlite:///./var/socialgov.db",
            master_key=e.get("SOCIALGOV_MASTER_KEY") or ("" if prod else DEV_MASTER_KEY),
            secret_key=e.get("SOCIALGOV_SECRET_KEY") or ("" if prod else DEV_SECRET_KEY),
            redis_url=e.get("SOCIALGOV_REDIS_URL") or None,
            smtp_url=e.get("SOCIALGOV_SMTP_URL") or None,
            storage_dir=e.get("SOCIALGOV_STORAGE_DIR") or "./var/files",
            log_format=e.get("SOCIALGOV_LOG_FORMAT") or ("json" if prod else "text"),
            log_level=(e.get("SOCIALGOV_LOG_LEVEL") or "INFO").upper(),
            token_ttl_minutes=integer("SOCIALGOV_TOKEN_TTL_MINUTES", 60),
            dev_login=_bool(e.get("SOCIALGOV_DEV_LOGIN", "false" if prod else "true")),
            sla_response_hours=integer("SOCIALGOV_SLA_RESPONSE_HOURS", 24),
            sla_due_soon_hours=integer("SOCIALGOV_SLA_DUE_SOON_HOURS", 4),
            end_of_day=e.get("SOCIALGOV_END_OF_DAY") or "17:00",
            training_validity_months=integer("SOCIALGOV_TRAINING_VALIDITY_MONTHS", 12),
            db_pool_size=integer("SOCIALGOV_DB_POOL_SIZE", 10),
            web_workers=integer("SOCIALGOV_WEB_WORKERS", 0),
            json_max_bytes=integer("SOCIALGOV_JSON_MAX_BYTES", 1024 * 1024),
            upload_max_bytes=integer("SOCIALGOV_UPLOAD_MAX_BYTES", 25 * 1024 * 1024),
            header_timeout_seconds=integer("SOCIALGOV_HEADER_TIMEOUT_SECONDS", 10),
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        if not (self.database_url.startswith("sqlite:///") or self.database_url.startswith("postgresql")):
            raise SettingsError("SOCIALGOV_DATABASE_URL must be sqlite:///PATH or postgresql+psycopg://...")
        if self.web_workers < 0:
            raise SettingsError("SOCIALGOV_WEB_WORKERS must be 0 (automatic) or a positive number of processes")
        if not 0 < self.json_max_bytes <= self.upload_max_bytes:
            raise SettingsError("SOCIALGOV_JSON_MAX_BYTES must be positive and at most SOCIALGOV_UPLOAD_MAX_BYTES")
        if self.header_timeout_seconds <= 0:
            raise SettingsError("SOCIALGOV_HEADER_TIMEOUT_SECONDS must be a positive number of seconds")
        if self.log_format not in ("json", "text"):
            raise SettingsError("SOCIALGOV_LOG_FORMAT must be 'json' or 'text'")
        try:
            key = base64.b64decode(self.master_key, validate=True) if self.master_key else b""
        except binascii.Error:
            raise SettingsError("SOCIALGOV_MASTER_KEY must be base64 of 32 random bytes") from None
        if self.is_production:
            problems = []
            if not self.master_key or self.master_key == DEV_MASTER_KEY:
                problems.append("SOCIALGOV_MASTER_KEY is not set (base64 of 32 random bytes)")
            if not self.secret_key or self.secret_key == DEV_SECRET_KEY:
                problems.append("SOCIALGOV_SECRET_KEY is not set (a long random string)")
            if self.dev_login:
                problems.append("SOCIALGOV_DEV_LOGIN must be off in production")
            if problems:
                raise SettingsError("refusing to start in production with development defaults: "
                                    + "; ".join(problems))
        if self.master_key and len(key) != 32:
            raise SettingsError("SOCIALGOV_MASTER_KEY must decode to exactly 32 bytes")
        if len(self.secret_key) < 32:
            raise SettingsError("SOCIALGOV_SECRET_KEY must be at least 32 characters")
