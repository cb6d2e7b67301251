"""Rate limits for the endpoints that take credentials (/oauth/token, /auth/*): per client address."""

from __future__ import annotations

import os

from litestar.middleware.rate_limit import RateLimitConfig

#: Requests per minute per address; SOCIALGOV_TOKEN_RATE_LIMIT overrides (operators behind a NAT may raise it).
AUTH_RATE_PER_MINUTE = int(os.environ.get("SOCIALGOV_TOKEN_RATE_LIMIT", "30"))

auth_rate_limit = RateLimitConfig(rate_limit=("minute", AUTH_RATE_PER_MINUTE), store="auth_rate_limit")
