"""People: staff and volunteers of a school, their training, acknowledgements and personal accounts."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from api.routes.common import Caller, container, now_and_today, read_again_if_dropped
from services import queries
from services.authorisation import Principal


class StaffIn(msgspec.Struct, forbid_unknown_fields=True):
    display_name: str
    email: str
    roles: list[str] = msgspec.field(default_factory=lambda: ["staff"])


class TrainingIn(msgspec.Struct, forbid_unknown_fields=True):
    course: str
    completed_on: date
    expires_on: date | None = None


class AcknowledgementIn(msgspec.Struct, forbid_unknown_fields=True):
    policy_version_id: UUID | None = None


class PersonalAccountIn(msgspec.Struct, forbid_unknown_fields=True):
    platform: str
    handle: str
    names_school: bool
    disclaimer_present: bool


class StaffController(Controller):
    path = "/api/v1"
    tags = ["people"]

    def _person(self, request: Request[Any, Any, Any], principal: Principal, person_id: UUID) -> dict[str, Any]:
        c = container(request)
        return read_again_if_dropped(lambda: queries.get_person(c.engine, principal, person_id, now_and_today(c)[1]))

    @post("/schools/{school_id:uuid}/staff", sync_to_thread=True,
          summary="Add a person with roles at a school (201); someone already known by email gains the roles (200)")
    def add(self, request: Request[Any, Any, Any], principal: Caller, school_id: FromPath[UUID],
            data: JSONBody[StaffIn]) -> Response[Any]:
        c = container(request)
        added = c.directory.add_staff(principal, school_id, data.display_name, data.email, data.roles)
        return Response(self._person(request, principal, added.person_id), status_code=201 if added.created else 200)

    @delete("/schools/{school_id:uuid}/staff/{person_id:uuid}/roles/{role:str}", sync_to_thread=True,
            status_code=204, summary="End one of a person's roles at the school (their other roles stay); only "
                                     "someone who could give the role may end it, and never their own")
    def end_role(self, request: Request[Any, Any, Any], principal: Caller, school_id: FromPath[UUID],
                 person_id: FromPath[UUID],
                 role: FromPath[str], reason: FromQuery[str | None] = None) -> None:
        container(request).directory.end_role(principal, school_id, person_id, role, reason)

    @get("/schools/{school_id:uuid}/staff", sync_to_thread=True, summary="People with a role at the school")
    def list(self, request: Request[Any, Any, Any], principal: Caller, school_id: FromPath[UUID]) -> dict[str, Any]:
        c = container(request)
        return {"items": queries.list_staff(c.engine, principal, school_id, now_and_today(c)[1])}

    @get("/staff/{person_id:uuid}", sync_to_thread=True, summary="A person: roles, training, acknowledgements")
    def one(self, request: Request[Any, Any, Any], principal: Caller, person_id: FromPath[UUID]) -> dict[str, Any]:
        return self._person(request, principal, person_id)

    @post("/staff/{person_id:uuid}/training", sync_to_thread=True,
          summary="Record completed social media training (expiry defaults to the trust's validity period)")
    def training(self, request: Request[Any, Any, Any], principal: Caller, person_id: FromPath[UUID],
                 data: JSONBody[TrainingIn]) -> Response[Any]:
        container(request).directory.record_training(principal, person_id, data.course, data.completed_on,
                                                     data.expires_on)
        return Response(self._person(request, principal, person_id), status_code=201)

    @post("/staff/{person_id:uuid}/acknowledgements", sync_to_thread=True,
          summary="Record that the person has read and understood the policy (default: the current version)")
    def acknowledge(self, request: Request[Any, Any, Any], principal: Caller, person_id: FromPath[UUID],
                    data: JSONBody[AcknowledgementIn]) -> Response[Any]:
        container(request).directory.acknowledge_policy(principal, person_id, data.policy_version_id)
        return Response(self._person(request, principal, person_id), status_code=201)

    @post("/staff/{person_id:uuid}/personal-accounts", sync_to_thread=True,
          summary="Declare a personal social media account (does it name the school? has it a disclaimer?)")
    def personal_account(self, request: Request[Any, Any, Any], principal: Caller, person_id: FromPath[UUID],
                         data: JSONBody[PersonalAccountIn]) -> Response[Any]:
        container(request).directory.declare_personal_account(principal, person_id, data.platform, data.handle,
                                                              data.names_school, data.disclaimer_present)
        return Response(self._person(request, principal, person_id), status_code=201)
