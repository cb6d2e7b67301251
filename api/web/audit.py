"""The audit trail for the trust's central team and its data protection officer: search by person, school, entity,
dates and event type, a page at a time, newest first; and "verify the chain" with its result (decision 0064: the
whole chain is checked, the figures are the trust's own). The same services as GET /api/v1/audit/events and
GET /api/v1/audit/verify.

    GET /audit           the search form and its results (?person=&school=&entity=&from=&to=&type=&page=)
    GET /audit/verify    recomputes the hash chain and shows whether it verifies
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.response import Template

from api.routes.common import container
from api.web.forms import FormReader
from api.web.render import page
from api.web.session import SignedIn
from services import audit, trust_queries
from services.authorisation import Action, can
from services.eventstore import NotFound

LABELS = {"person": "Person", "school": "School", "entity": "Entity id", "from": "From", "to": "To",
          "type": "Event type"}


def event_name(event_type: str) -> str:
    """'CredentialsRevealed' -> 'Credentials revealed'."""
    words = re.sub(r"(?<!^)(?=[A-Z])", " ", event_type).split()
    return " ".join([words[0], *(w.lower() for w in words[1:])]) if words else event_type


def _date(form: FormReader, name: str) -> date | None:
    text = form.text(name, max_length=10)
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        form.errors[name] = f"{LABELS[name]} must be a real date"
        return None


def _require(who: SignedIn) -> None:
    if not can(who.principal, Action.AUDIT_READ, None):
        raise NotFound("audit")


@get("/audit", sync_to_thread=True, include_in_schema=False)
def audit_page(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn]) -> Template:
    who = web_principal
    _require(who)
    params = request.query_params
    form = FormReader({k: params.get(k) or "" for k in LABELS}, labels=LABELS)
    person = form.text("person", max_length=100)
    school_text = form.text("school", max_length=40)
    school = next((s for s in who.schools if str(s.id) == school_text), None)
    if school_text and school is None:
        form.errors["school"] = "Select a school from the list"
    entity_text = form.text("entity", max_length=40)
    entity: UUID | None = None
    if entity_text:
        try:
            entity = UUID(entity_text)
        except ValueError:
            form.errors["entity"] = "Entity id must be an id like 01a23f14-02d9-7b52-80e1-43917a28650f"
    since, until = _date(form, "from"), _date(form, "to")
    if since and until and until < since:
        form.errors["to"] = "To must be the same as or after From"
    types = trust_queries.event_types()
    event_type = form.text("type", max_length=100)
    if event_type and event_type not in types:
        form.errors["type"] = "Select an event type from the list"
    searched = any(form.values.values())
    result = None
    page_no = max(1, int(params.get("page") or 1) if (params.get("page") or "").isdigit() else 1)
    if not form.errors:
        search = trust_queries.AuditSearch(person, school.id if school else None, entity, since, until, event_type)
        result = trust_queries.search_audit(container(request).engine, who.principal, search, page_no)
    base = {k: v for k, v in form.values.items() if v}

    def link(**changes: Any) -> str:
        query = urlencode({k: v for k, v in {**base, **changes}.items() if v not in ("", None, 1)})
        return "/audit" + (f"?{query}" if query else "")

    return page(request, who, "audit/search.html", status=400 if form.errors else 200, form=form, result=result,
                searched=searched, types=[(t, event_name(t)) for t in types], link=link, event_name=event_name,
                page_no=page_no)


@get("/audit/verify", sync_to_thread=True, include_in_schema=False)
def verify_page(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn]) -> Template:
    who = web_principal
    _require(who)
    c = container(request)
    verification = audit.verify_for_trust(c.engine, c.recorder, who.principal)
    return page(request, who, "audit/verify.html", verification=verification)


ROUTES = [audit_page, verify_page]
