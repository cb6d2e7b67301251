"""The school dashboard for school leaders (DESIGN §2 item 9; issue 22): today's figures from the dashboard read
query (the same as GraphQL `schoolDashboard`), and four charts over the last 12 weeks, each an SVG drawn by the
charts macro with its data table beside it (decision 0090): replies within the SLA, breaches, training coverage and
policy-acknowledgement coverage (services/dashboard_queries.py).

    GET /dashboard    the dashboard of the school the person is looking at (the school switcher decides);
                      404 for anyone who may not see that school's dashboard
"""

from __future__ import annotations

from datetime import date
from typing import Any

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.response import Template

from api.routes.common import container, now_and_today
from api.web.render import page
from api.web.session import SignedIn
from services import dashboard_queries, queries
from services.authorisation import Action, can
from services.eventstore import NotFound


def week_label(start: date) -> str:
    """A week in a table, by its Monday: '7 Sep 2026'."""
    return f"{start.day} {start:%b %Y}"


def axis_labels(starts: list[date]) -> list[str]:
    """Under a chart, every other week ('7/9'), counting back from this week's: twelve do not fit legibly."""
    return [f"{w.day}/{w.month}" if (len(starts) - 1 - i) % 2 == 0 else "" for i, w in enumerate(starts)]


def count_scale(values: list[int]) -> int:
    """The top of a chart of counts: a multiple of 4, so that the scale's 5 lines fall on whole numbers."""
    return max(4, -(-max(values, default=0) // 4) * 4)


@get("/dashboard", sync_to_thread=True, include_in_schema=False)
def dashboard(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn]) -> Template:
    who = web_principal
    if who.school_id is None or not can(who.principal, Action.DASHBOARD_SCHOOL, who.school_id):
        raise NotFound("school")
    c = container(request)
    now, today = now_and_today(c)
    figures = queries.school_dashboard(c.engine, who.principal, who.school_id, now, today)
    replies = dashboard_queries.weekly_replies(c.engine, who.principal, who.school_id, now)
    coverage = dashboard_queries.weekly_coverage(c.engine, who.principal, who.school_id, today)
    axis = axis_labels([w["week_start"] for w in replies])
    return page(request, who, "dashboard/dashboard.html", figures=figures, axis=axis,
                breaches_top=count_scale([w["breaches"] for w in replies]),
                replies=[(week_label(w["week_start"]), w["on_time_pct"], w["received"], w["on_time"], w["breaches"])
                         for w in replies],
                breaches=[(week_label(w["week_start"]), w["breaches"], w["received"]) for w in replies],
                trained=[(week_label(w["week_start"]), w["trained_pct"], w["people"], w["trained"])
                         for w in coverage],
                acknowledged=[(week_label(w["week_start"]), w["acknowledged_pct"], w["people"], w["acknowledged"])
                              for w in coverage])


ROUTES = [dashboard]
