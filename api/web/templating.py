"""The web UI's Jinja environment: our templates (api/templates) and the GOV.UK Design System's macros
(govuk-frontend-jinja, under the prefix `govuk_frontend_jinja/`), with a few filters for dates and ages."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, PrefixLoader, pass_context
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
LONDON = ZoneInfo("Europe/London")


def long_date(value: date | datetime | None) -> str:
    """'3 March 2026' (GOV.UK style); a time is shown in London time: '3 March 2026 at 9:05am'."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        local = value.astimezone(LONDON)
        hour = local.hour % 12 or 12
        return f"{local.day} {local:%B %Y} at {hour}:{local:%M}{'am' if local.hour < 12 else 'pm'}"
    return f"{value.day} {value:%B %Y}"


def hours_as_age(hours: float | None) -> str:
    """An age in hours as words: '5 hours', '3 days'."""
    if hours is None:
        return ""
    if hours < 48:
        n = max(1, round(hours))
        return f"{n} hour{'s' if n != 1 else ''}"
    days = round(hours / 24)
    return f"{days} days"


def plural(n: int, one: str, many: str | None = None) -> str:
    """'1 application', '3 applications'."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


@pass_context
def csp_nonce(context: Any) -> str:
    """This response's Content-Security-Policy nonce (api/middleware.py's security_headers_middleware)."""
    return str(context["request"].scope.get("state", {}).get("csp_nonce", ""))


def environment() -> Environment:
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(TEMPLATES),
                             PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")})]),
        autoescape=True)  # the macros expect Jinja's defaults (undefined options are falsy; whitespace kept)
    env.filters.update(long_date=long_date, hours_as_age=hours_as_age)
    env.globals.update(plural=plural, csp_nonce=csp_nonce)
    return env


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment()))
