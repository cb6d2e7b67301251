"""Interactions owed a response, public mentions and mention feeds."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from api.routes.common import Caller, OneOf, container, read_again_if_dropped
from domain.incident import Category
from domain.interaction import InteractionKind
from domain.mention import Triage
from services import inbox_queries as iq
from services.authorisation import Principal


class InteractionIn(msgspec.Struct, forbid_unknown_fields=True):
    account_id: UUID
    kind: OneOf[InteractionKind]
    received_at: datetime
    author_handle: str
    excerpt: str
    link: str | None = None
    external_ref: str | None = None
    assignee_id: UUID | None = None


class RespondIn(msgspec.Struct, forbid_unknown_fields=True):
    response: str | None = None


class EscalateIn(msgspec.Struct, forbid_unknown_fields=True):
    title: str
    category: OneOf[Category] = "other"
    reason: str | None = None


class AssignIn(msgspec.Struct, forbid_unknown_fields=True):
    assignee_id: UUID


class CloseIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: str | None = None


class MentionIn(msgspec.Struct, forbid_unknown_fields=True):
    key: str
    title: str
    summary: str = ""
    link: str | None = None
    author: str | None = None
    published_at: datetime | None = None


class TriageIn(msgspec.Struct, forbid_unknown_fields=True):
    decision: OneOf[Triage]
    note: str | None = None
    category: OneOf[Category] | None = None


class FeedIn(msgspec.Struct, forbid_unknown_fields=True):
    url: str
    title: str


class InboxController(Controller):
    path = "/api/v1"
    tags = ["interactions"]

    def _one(self, request: Request[Any, Any, Any], principal: Principal, interaction_id: UUID) -> dict[str, Any]:
        c = container(request)
        return read_again_if_dropped(lambda: iq.get_interaction(c.engine, principal, interaction_id, c.clock.now()))

    @post("/schools/{school_id:uuid}/interactions", sync_to_thread=True,
          summary="Record an inbound comment, query, complaint or message; its response deadline is set now. "
                  "Re-sending the same external_ref for the account returns the same interaction")
    def receive(self, request: Request[Any, Any, Any], principal: Caller, school_id: FromPath[UUID],
                data: JSONBody[InteractionIn]) -> Response[Any]:
        iid = container(request).inbox.receive(principal, school_id, data.account_id, data.kind, data.received_at,
                                               data.author_handle, data.excerpt, data.link, data.external_ref,
                                               data.assignee_id)
        return Response(self._one(request, principal, iid), status_code=201)

    @get("/schools/{school_id:uuid}/interactions", sync_to_thread=True,
         summary="Interactions, latest deadline first; `sla_state`: on_track, due_soon, breached, met, met_late")
    def list(self, request: Request[Any, Any, Any], principal: Caller, school_id: FromPath[UUID],
             sla_state: FromQuery[str | None] = None) -> dict[str, Any]:
        c = container(request)
        return {"items": iq.list_interactions(c.engine, principal, school_id, c.clock.now(), sla_state)}

    @get("/interactions/{interaction_id:uuid}", sync_to_thread=True, summary="One interaction")
    def one(self, request: Request[Any, Any, Any], principal: Caller, interaction_id: FromPath[UUID]) -> dict[str, Any]:
        return self._one(request, principal, interaction_id)

    @post("/interactions/{interaction_id:uuid}/acknowledge", sync_to_thread=True, status_code=200,
          summary="Acknowledge receipt (meets the SLA)")
    def acknowledge(self, request: Request[Any, Any, Any], principal: Caller,
                    interaction_id: FromPath[UUID]) -> dict[str, Any]:
        container(request).inbox.acknowledge(principal, interaction_id)
        return self._one(request, principal, interaction_id)

    @post("/interactions/{interaction_id:uuid}/respond", sync_to_thread=True, status_code=200,
          summary="Record the response")
    def respond(self, request: Request[Any, Any, Any], principal: Caller, interaction_id: FromPath[UUID],
                data: JSONBody[RespondIn | None] = None) -> dict[str, Any]:
        container(request).inbox.respond(principal, interaction_id, data.response if data else None)
        return self._one(request, principal, interaction_id)

    @post("/interactions/{interaction_id:uuid}/assign", sync_to_thread=True, status_code=200,
          summary="Assign to a moderator")
    def assign(self, request: Request[Any, Any, Any], principal: Caller, interaction_id: FromPath[UUID],
               data: JSONBody[AssignIn]) -> dict[str, Any]:
        container(request).inbox.assign(principal, interaction_id, data.assignee_id)
        return self._one(request, principal, interaction_id)

    @post("/interactions/{interaction_id:uuid}/close", sync_to_thread=True, status_code=200, summary="Close")
    def close(self, request: Request[Any, Any, Any], principal: Caller, interaction_id: FromPath[UUID],
              data: JSONBody[CloseIn | None] = None) -> dict[str, Any]:
        container(request).inbox.close_interaction(principal, interaction_id, data.reason if data else None)
        return self._one(request, principal, interaction_id)

    @post("/interactions/{interaction_id:uuid}/escalate", sync_to_thread=True, status_code=200,
          summary="Escalate to a new incident (linked both ways)")
    def escalate(self, request: Request[Any, Any, Any], principal: Caller, interaction_id: FromPath[UUID],
                 data: JSONBody[EscalateIn]) -> dict[str, Any]:
        container(request).inbox.escalate(principal, interaction_id, data.title, data.category, data.reason)
        return self._one(request, principal, interaction_id)


class MentionsController(Controller):
    path = "/api/v1"
    tags = ["mentions"]

    @post("/schools/{school_id:uuid}/mentions", sync_to_thread=True,
          summary="Push a public mention (integration or moderator); the same key twice is one mention (200)")
    def capture(self, request: Request[Any, Any, Any], principal: Caller, school_id: FromPath[UUID],
                data: JSONBody[MentionIn]) -> Response[Any]:
        c = container(request)
        mid, created = c.inbox.capture_mention(principal, school_id, data.key, data.title, data.summary, data.link,
                                               data.author, data.published_at)
        return Response(iq.get_mention(c.engine, principal, mid), status_code=201 if created else 200)

    @get("/schools/{school_id:uuid}/mentions", sync_to_thread=True,
         summary="Mentions, newest first; `status`: awaiting_triage or triaged")
    def list(self, request: Request[Any, Any, Any], principal: Caller, school_id: FromPath[UUID],
             status: FromQuery[str | None] = None) -> dict[str, Any]:
        return {"items": iq.list_mentions(container(request).engine, principal, school_id, status)}

    @post("/mentions/{mention_id:uuid}/triage", sync_to_thread=True, status_code=200,
          summary="Triage: ignore, respond, or escalate (creates an incident)")
    def triage(self, request: Request[Any, Any, Any], principal: Caller, mention_id: FromPath[UUID],
               data: JSONBody[TriageIn]) -> dict[str, Any]:
        c = container(request)
        c.inbox.triage(principal, mention_id, data.decision, data.note, data.category)
        return iq.get_mention(c.engine, principal, mention_id)

    @post("/schools/{school_id:uuid}/feeds", sync_to_thread=True,
          summary="Register an RSS/Atom feed of public posts about the school (polled every 15 minutes)")
    def add_feed(self, request: Request[Any, Any, Any], principal: Caller, school_id: FromPath[UUID],
                 data: JSONBody[FeedIn]) -> Response[Any]:
        feed_id = container(request).inbox.register_feed(principal, school_id, data.url, data.title)
        return Response({"id": feed_id, "school_id": school_id, "url": data.url.strip(), "title": data.title},
                        status_code=201)

    @get("/schools/{school_id:uuid}/interaction-series", sync_to_thread=True, tags=["interactions"],
         summary="Per day (UK): interactions received, answered on time, breached — for charts")
    def series(self, request: Request[Any, Any, Any], principal: Caller, school_id: FromPath[UUID],
               days: FromQuery[int] = 30) -> dict[str, Any]:
        c = container(request)
        return {"items": iq.daily_series(c.engine, principal, school_id, c.clock.now(), min(max(days, 1), 366))}
