"""The web UI: server-rendered pages for staff, school leaders, moderators and the trust's team (DESIGN §2 item 11).

One module of routes per area, templates in api/templates/<area>/ (decision 0050):

    session.py     who is signed in (`web_principal`), the CSRF check on forms
    render.py      `page(...)` renders a template in the layout; `redirect_with_notice(...)` after a POST
    forms.py       `FormReader` and `command_errors`: every invalid field at once, the services' refusals
    errors.py      sign in / 404 / 403 pages for the web routes
    templating.py  the Jinja environment (our templates and the govuk-frontend-jinja macros)
    signin.py      development persona picker, sign-out, the school switcher
    home.py        "what needs you", by role
    compliance.py  my compliance as a task list: acknowledge the policy, record training, declare personal accounts
    applications.py  apply for an account (question pages, check answers), my applications, the SLT's queue
                   and decision with the runner checklist
    incidents.py   report an incident; the incidents queue, an incident's page and its forms, evidence bundle
    accounts.py    the school's accounts: runners, monitoring checks, credentials (reveal with a reason), create
    handovers.py   leavers' handovers: transfer the lead or close, then rotate the credentials
    dashboard.py   the school dashboard for school leaders: today's figures and weekly charts with their tables
    posts.py       posts: compose with the policy checks as one types, approval queue, publish/remove records,
                   an account's post history, parents' take-down requests
    inbox.py       the moderators' inbox (live), an interaction's due time with its reason and its commands;
                   mentions to triage (live) and the school's feeds
    trust.py       the trust's central team: overview (red flags first, trends), a school's drill-down, settings,
                   policy versions, the staff directory, integration clients
    audit.py       the audit trail search and "verify the chain" (trust team and DPO)

Live fragments (inbox, mentions, dashboard tiles) use htmx 2 (loaded by the layout): a route can answer
`request.htmx` with litestar's `HTMXTemplate` of just the fragment. Each page calls the same services and read
queries as the REST API: the UI is another inbound adapter.
"""

from __future__ import annotations

from litestar import Router
from litestar.di import Provide
from litestar.plugins.htmx import HTMXRequest

from api.web import (
    accounts,
    applications,
    audit,
    compliance,
    dashboard,
    handovers,
    home,
    inbox,
    incidents,
    posts,
    signin,
    trust,
)
from api.web.errors import WEB_EXCEPTION_HANDLERS
from api.web.session import web_principal
from api.web.templating import template_config


def web_router() -> Router:
    """The web pages, with their sign-in dependency and their error pages (a new router for each app)."""
    return Router(
        path="/",
        route_handlers=[home.home, signin.dev_login_page, signin.dev_login, signin.logout, signin.choose_school,
                        *compliance.ROUTES, *applications.ROUTES, *incidents.ROUTES, *accounts.ROUTES,
                        *handovers.ROUTES, *dashboard.ROUTES, *posts.ROUTES, *inbox.ROUTES, *trust.ROUTES,
                        *audit.ROUTES],
        dependencies={"web_principal": Provide(web_principal)},
        exception_handlers=WEB_EXCEPTION_HANDLERS,
        include_in_schema=False,
        request_class=HTMXRequest,  # `request.htmx` tells a live-fragment request (htmx) from a page load
    )


__all__ = ["template_config", "web_router"]
