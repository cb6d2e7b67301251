"""Account applications: submit the business case; SLT approves or rejects; the applicant may withdraw."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from api.routes.common import Caller, OneOf, container, read_again_if_dropped
from domain.application import BusinessCase
from domain.values import Platform, Visibility
from services import queries
from services.authorisation import Principal


class ApplicationIn(msgspec.Struct, forbid_unknown_fields=True):
    aim: str
    audience: str
    promotion: str
    runner_ids: list[UUID]
    visibility: OneOf[Visibility]
    platform: OneOf[Platform]
    proposed_handle: str


class DecisionIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: str | None = None


class RejectionIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: str


class ApplicationsController(Controller):
    path = "/api/v1"
    tags = ["applications"]

    def _one(self, request: Request[Any, Any, Any], principal: Principal, application_id: UUID) -> dict[str, Any]:
        return read_again_if_dropped(
            lambda: queries.get_application(container(request).engine, principal, application_id))

    @post("/schools/{school_id:uuid}/applications", sync_to_thread=True,
          summary="Submit a business case for a new school account (at least two named runners)")
    def submit(self, request: Request[Any, Any, Any], principal: Caller, school_id: FromPath[UUID],
               data: JSONBody[ApplicationIn]) -> dict[str, Any]:
        case = BusinessCase(data.aim, data.audience, data.promotion, tuple(data.runner_ids), data.visibility,
                            data.platform, data.proposed_handle)
        application_id = container(request).applications.submit(principal, school_id, case)
        return self._one(request, principal, application_id)

    @get("/schools/{school_id:uuid}/applications", sync_to_thread=True,
         summary="Applications at the school, oldest first; `after` is the cursor from the previous page")
    def list(self, request: Request[Any, Any, Any], principal: Caller, school_id: FromPath[UUID],
             status: FromQuery[str | None] = None, limit: FromQuery[int] = 50,
             after: FromQuery[str | None] = None) -> dict[str, Any]:
        page = queries.list_applications(container(request).engine, principal, school_id, status, limit, after)
        return {"items": page.items, "next_cursor": page.next_cursor}

    @get("/applications/{application_id:uuid}", sync_to_thread=True, summary="One application")
    def one(self, request: Request[Any, Any, Any], principal: Caller, application_id: FromPath[UUID]) -> dict[str, Any]:
        return self._one(request, principal, application_id)

    @post("/applications/{application_id:uuid}/approve", sync_to_thread=True, status_code=200,
          summary="Approve (SLT). Refused with every unmet condition unless each runner has acknowledged the "
                  "current policy and holds unexpired training; never by the applicant")
    def approve(self, request: Request[Any, Any, Any], principal: Caller, application_id: FromPath[UUID],
                data: JSONBody[DecisionIn | None] = None) -> dict[str, Any]:
        container(request).applications.approve(principal, application_id, data.reason if data else None)
        return self._one(request, principal, application_id)

    @post("/applications/{application_id:uuid}/reject", sync_to_thread=True, status_code=200,
          summary="Reject (SLT) with a reason")
    def reject(self, request: Request[Any, Any, Any], principal: Caller, application_id: FromPath[UUID],
               data: JSONBody[RejectionIn]) -> dict[str, Any]:
        container(request).applications.reject(principal, application_id, data.reason)
        return self._one(request, principal, application_id)

    @post("/applications/{application_id:uuid}/withdraw", sync_to_thread=True, status_code=200,
          summary="Withdraw (the applicant)")
    def withdraw(self, request: Request[Any, Any, Any], principal: Caller, application_id: FromPath[UUID],
                 data: JSONBody[DecisionIn | None] = None) -> dict[str, Any]:
        container(request).applications.withdraw(principal, application_id, data.reason if data else None)
        return self._one(request, principal, application_id)
