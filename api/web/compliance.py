"""A person's compliance with the policy: have they read the current version, is their social media training
valid; and the "Record my training" form (the example of api/web/forms.py end to end).

    GET  /my/compliance                       your own
    GET  /people/{person_id}/compliance       someone else's, for those who may read their school's staff (404
                                              for anyone else, as the API answers)
    GET  /my/compliance/training              the form
    POST /my/compliance/training              records it with the same service as POST /api/v1/staff/{id}/training
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from api.routes.common import container, now_and_today
from api.web.forms import FormReader, command_errors
from api.web.render import page, redirect_with_notice
from api.web.session import SignedIn
from services import queries

TRAINING_LABELS = {"course": "Course name", "completed_on": "The date you completed the course"}


def _record(person: dict[str, Any]) -> list[dict[str, Any]]:
    """The person's training and acknowledgements as a chronology, newest first."""
    items = [{"title": f"Policy {a['label']} acknowledged", "at": a["acknowledged_at"]}
             for a in person["acknowledgements"]]
    items += [{"title": "Training recorded", "at": t["completed_on"],
               "description": f"{t['course']}, valid until {t['expires_on'].day} {t['expires_on']:%B %Y}"}
              for t in person["training"]]
    return sorted(items, key=lambda i: (i["at"].isoformat()[:10], i["title"]), reverse=True)


def _compliance_page(request: Request[Any, Any, Any], who: SignedIn, person_id: UUID) -> Template:
    c = container(request)
    person = queries.get_person(c.engine, who.principal, person_id, now_and_today(c)[1])
    latest = max(person["training"], key=lambda t: t["expires_on"], default=None)
    return page(request, who, "compliance/compliance.html", person=person, latest=latest,
                record=_record(person), mine=person_id == who.principal.id)


@get("/my/compliance", sync_to_thread=True, include_in_schema=False)
def my_compliance(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn]) -> Template:
    return _compliance_page(request, web_principal, web_principal.principal.id)


@get("/people/{person_id:uuid}/compliance", sync_to_thread=True, include_in_schema=False)
def person_compliance(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn],
                      person_id: FromPath[UUID]) -> Template:
    return _compliance_page(request, web_principal, person_id)


@get("/my/compliance/training", include_in_schema=False)
async def training_form(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn]) -> Template:
    return page(request, web_principal, "compliance/training.html", form=None)


@post("/my/compliance/training", include_in_schema=False)
async def record_training(request: Request[Any, Any, Any], web_principal: NamedDependency[SignedIn]
                          ) -> Template | Redirect:
    who = web_principal
    c = container(request)
    form = FormReader(await request.form(), labels=TRAINING_LABELS)
    course = form.text("course", missing="Enter the name of the course", max_length=200)
    completed_on = form.date("completed_on", missing="Enter the date you completed the course", past=True,
                             today=now_and_today(c)[1])
    if not form.errors and completed_on is not None:
        with command_errors(form):
            await sync_to_thread(c.directory.record_training, who.principal, who.principal.id, course,
                                 completed_on, None)
    if form.errors:
        return page(request, who, "compliance/training.html", status=400, form=form)
    return redirect_with_notice("/my/compliance", f"Training recorded: {course}")

