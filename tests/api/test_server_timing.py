"""Every answer says how long the server took (Server-Timing, api/middleware.py): what bench/web_pages.py measures."""

from __future__ import annotations

import re
from typing import Any

from litestar.testing import TestClient


def test_every_answer_carries_the_servers_time(client: TestClient[Any]) -> None:
    for path in ("/api/v1/health", "/no-such-page", "/auth/dev-login"):
        r = client.get(path)
        found = re.fullmatch(r"app;dur=(\d+\.\d)", r.headers.get("server-timing", ""))
        assert found, (path, r.status_code, r.headers.get("server-timing"))
        assert 0 <= float(found.group(1)) < 60_000
