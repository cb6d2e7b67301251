"""Schools, trust policy versions and trust settings."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, post, put
from litestar.params import FromPath, JSONBody

from api.routes.common import Caller, OneOf, container, read_again_if_dropped
from domain.trust import TrustSettings
from domain.values import Nation
from services import queries


class SchoolIn(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    urn: str
    nation: OneOf[Nation]


class PolicyVersionIn(msgspec.Struct, forbid_unknown_fields=True):
    label: str
    summary: str = ""


class TrustSettingsIn(msgspec.Struct, forbid_unknown_fields=True):
    response_hours: int = 24
    due_soon_hours: int = 4
    end_of_day: str = "17:00"
    training_validity_months: int = 12
    assessment_working_days: int = 1


class SchoolsController(Controller):
    path = "/api/v1"
    tags = ["schools"]

    @post("/schools", sync_to_thread=True, summary="Add a school to the caller's trust (trust_admin)")
    def add(self, request: Request[Any, Any, Any], principal: Caller, data: JSONBody[SchoolIn]) -> Response[Any]:
        c = container(request)
        school_id = c.directory.add_school(principal, data.name, data.urn, data.nation)
        return Response(read_again_if_dropped(
            lambda: queries.get_school(c.engine, c.refresh_principal(principal), school_id)), status_code=201)

    @get("/schools", sync_to_thread=True, summary="Schools the caller can see")
    def list(self, request: Request[Any, Any, Any], principal: Caller) -> dict[str, Any]:
        return {"items": queries.list_schools(container(request).engine, principal)}

    @get("/schools/{school_id:uuid}", sync_to_thread=True, summary="One school")
    def one(self, request: Request[Any, Any, Any], principal: Caller, school_id: FromPath[UUID]) -> dict[str, Any]:
        return queries.get_school(container(request).engine, principal, school_id)

    @post("/policy-versions", sync_to_thread=True, tags=["policy"],
          summary="Publish a new version of the trust's social media policy; everyone must acknowledge it again")
    def publish(self, request: Request[Any, Any, Any], principal: Caller,
                data: JSONBody[PolicyVersionIn]) -> Response[Any]:
        c = container(request)
        version_id = c.directory.publish_policy(principal, data.label, data.summary)
        versions = read_again_if_dropped(lambda: queries.list_policy_versions(c.engine, principal))
        item = next(v for v in versions if v["id"] == version_id)
        return Response(item, status_code=201)

    @get("/policy-versions", sync_to_thread=True, tags=["policy"], summary="The trust's policy versions")
    def policy_versions(self, request: Request[Any, Any, Any], principal: Caller) -> dict[str, Any]:
        return {"items": queries.list_policy_versions(container(request).engine, principal)}

    @put("/trust/settings", sync_to_thread=True, tags=["policy"],
         summary="Set the trust's SLA hours, due-soon window, end of day and training validity (trust_admin)")
    def settings(self, request: Request[Any, Any, Any], principal: Caller,
                 data: JSONBody[TrustSettingsIn]) -> dict[str, Any]:
        c = container(request)
        c.directory.change_trust_settings(principal, TrustSettings(**msgspec.structs.asdict(data)))
        return read_again_if_dropped(lambda: queries.get_trust_settings(c.engine, principal))

    @get("/trust/settings", sync_to_thread=True, tags=["policy"], summary="The trust's settings")
    def get_settings(self, request: Request[Any, Any, Any], principal: Caller) -> dict[str, Any]:
        return queries.get_trust_settings(container(request).engine, principal)
