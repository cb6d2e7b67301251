"""Shared helpers for controllers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from litestar import Request

from api.container import Container
from services.ports import today_in_london


def container(request: Request[Any, Any, Any]) -> Container:
    c = request.app.state.container
    assert isinstance(c, Container)
    return c


def now_and_today(c: Container) -> tuple[datetime, date]:
    return c.clock.now(), today_in_london(c.clock)
