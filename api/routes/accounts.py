"""School accounts, their credentials, departures and handovers."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, delete, get, post, put
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from api.routes.common import Caller, container, now_and_today, read_again_if_dropped
from domain.credentials import Credentials
from services import queries
from services.authorisation import Principal


class AccountIn(msgspec.Struct, forbid_unknown_fields=True):
    application_id: UUID
    lead_id: UUID | None = None
    url: str | None = None


class CredentialsIn(msgspec.Struct, forbid_unknown_fields=True):
    login: str
    password: str
    recovery_email: str | None = None
    recovery_phone: str | None = None
    mfa_recovery_codes: list[str] = msgspec.field(default_factory=list)
    notes: str | None = None
    reason: str | None = None


class PersonRef(msgspec.Struct, forbid_unknown_fields=True):
    person_id: UUID
    reason: str | None = None


class ReasonIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: str


class OptionalReasonIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: str | None = None


class CheckIn(msgspec.Struct, forbid_unknown_fields=True):
    note: str | None = None


class DepartureIn(msgspec.Struct, forbid_unknown_fields=True):
    leaving_date: date
    reason: str | None = None


class HandoverIn(msgspec.Struct, forbid_unknown_fields=True):
    outcome: str
    new_lead_id: UUID | None = None
    reason: str | None = None


class AccountsController(Controller):
    path = "/api/v1"
    tags = ["accounts"]

    def _one(self, request: Request[Any, Any, Any], principal: Principal, account_id: UUID) -> dict[str, Any]:
        c = container(request)
        now, today = now_and_today(c)
        return read_again_if_dropped(lambda: queries.get_account(c.engine, principal, account_id, today, now))

    @post("/schools/{school_id:uuid}/accounts", sync_to_thread=True,
          summary="Create an account from an approved application (moderator)")
    def create(self, request: Request[Any, Any, Any], principal: Caller, school_id: FromPath[UUID],
               data: JSONBody[AccountIn]) -> Response[Any]:
        account_id = container(request).accounts.create(principal, school_id, data.application_id, data.lead_id,
                                                        data.url)
        return Response(self._one(request, principal, account_id), status_code=201)

    @get("/schools/{school_id:uuid}/accounts", sync_to_thread=True,
         summary="Accounts of a school; `state`: active, suspended, closed, short_of_trained_runners, "
                 "rotation_required, unchecked")
    def list(self, request: Request[Any, Any, Any], principal: Caller, school_id: FromPath[UUID],
             account_state: Annotated[str | None, QueryParameter(name="state")] = None) -> dict[str, Any]:
        c = container(request)
        now, today = now_and_today(c)
        return {"items": queries.list_accounts(c.engine, principal, school_id, today, now, account_state)}

    @get("/accounts/{account_id:uuid}", sync_to_thread=True, summary="One account")
    def one(self, request: Request[Any, Any, Any], principal: Caller, account_id: FromPath[UUID]) -> dict[str, Any]:
        return self._one(request, principal, account_id)

    @put("/accounts/{account_id:uuid}/credentials", sync_to_thread=True,
         summary="Store a new credential version in the vault (moderator). The secret is never echoed")
    def store_credentials(self, request: Request[Any, Any, Any], principal: Caller, account_id: FromPath[UUID],
                          data: JSONBody[CredentialsIn]) -> dict[str, Any]:
        creds = Credentials(data.login, data.password, data.recovery_email, data.recovery_phone,
                            data.mfa_recovery_codes, data.notes)
        container(request).accounts.store_credentials(principal, account_id, creds, data.reason)
        return self._one(request, principal, account_id)

    @post("/accounts/{account_id:uuid}/credentials/reveal", sync_to_thread=True, status_code=200,
          summary="Reveal the current credentials to the account's moderator or an active runner (audited, with "
                  "the optional `reason` why they are needed)")
    def reveal(self, request: Request[Any, Any, Any], principal: Caller, account_id: FromPath[UUID],
               data: JSONBody[OptionalReasonIn | None] = None) -> Response[Any]:
        version, secret = container(request).accounts.reveal_credentials(principal, account_id,
                                                                         data.reason if data else None)
        return Response({"account_id": account_id, "version": version, **secret.to_dict()},
                        headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    @post("/accounts/{account_id:uuid}/runners", sync_to_thread=True,
          summary="Add a runner (trained, has acknowledged the current policy)")
    def add_runner(self, request: Request[Any, Any, Any], principal: Caller, account_id: FromPath[UUID],
                   data: JSONBody[PersonRef]) -> Response[Any]:
        container(request).accounts.add_runner(principal, account_id, data.person_id)
        return Response(self._one(request, principal, account_id), status_code=201)

    @delete("/accounts/{account_id:uuid}/runners/{person_id:uuid}", sync_to_thread=True, status_code=200,
            summary="Remove a runner; refused if the account would have fewer than two trained runners")
    def remove_runner(self, request: Request[Any, Any, Any], principal: Caller, account_id: FromPath[UUID],
                      person_id: FromPath[UUID], reason: FromQuery[str | None] = None) -> dict[str, Any]:
        container(request).accounts.remove_runner(principal, account_id, person_id, reason)
        return self._one(request, principal, account_id)

    @post("/accounts/{account_id:uuid}/lead", sync_to_thread=True, status_code=200,
          summary="Transfer the lead to a trained person (they become a runner if not one)")
    def lead(self, request: Request[Any, Any, Any], principal: Caller, account_id: FromPath[UUID],
             data: JSONBody[PersonRef]) -> dict[str, Any]:
        container(request).accounts.transfer_lead(principal, account_id, data.person_id, data.reason)
        return self._one(request, principal, account_id)

    @post("/accounts/{account_id:uuid}/monitoring-checks", sync_to_thread=True,
          summary="Record that the account was checked (who, when)")
    def check(self, request: Request[Any, Any, Any], principal: Caller, account_id: FromPath[UUID],
              data: JSONBody[CheckIn | None] = None) -> Response[Any]:
        container(request).accounts.record_check(principal, account_id, data.note if data else None)
        return Response(self._one(request, principal, account_id), status_code=201)

    @post("/accounts/{account_id:uuid}/suspend", sync_to_thread=True, status_code=200, summary="Suspend, with a reason")
    def suspend(self, request: Request[Any, Any, Any], principal: Caller, account_id: FromPath[UUID],
                data: JSONBody[ReasonIn]) -> dict[str, Any]:
        container(request).accounts.suspend(principal, account_id, data.reason)
        return self._one(request, principal, account_id)

    @post("/accounts/{account_id:uuid}/reinstate", sync_to_thread=True, status_code=200,
          summary="Reinstate a suspended account (needs two trained runners)")
    def reinstate(self, request: Request[Any, Any, Any], principal: Caller, account_id: FromPath[UUID],
                  data: JSONBody[OptionalReasonIn | None] = None) -> dict[str, Any]:
        container(request).accounts.reinstate(principal, account_id, data.reason if data else None)
        return self._one(request, principal, account_id)

    @post("/accounts/{account_id:uuid}/close", sync_to_thread=True, status_code=200, summary="Close, with a reason")
    def close(self, request: Request[Any, Any, Any], principal: Caller, account_id: FromPath[UUID],
              data: JSONBody[ReasonIn]) -> dict[str, Any]:
        container(request).accounts.close_account(principal, account_id, data.reason)
        return self._one(request, principal, account_id)


class DeparturesController(Controller):
    path = "/api/v1"
    tags = ["handovers"]

    @post("/staff/{person_id:uuid}/departure", sync_to_thread=True,
          summary="Record a leaver: roles and access end on the leaving date; a handover opens for every account "
                  "they lead or run, and their credentials must be rotated")
    def departure(self, request: Request[Any, Any, Any], principal: Caller, person_id: FromPath[UUID],
                  data: JSONBody[DepartureIn]) -> Response[Any]:
        c = container(request)
        opened = c.accounts.record_departure(principal, person_id, data.leaving_date, data.reason)
        today = now_and_today(c)[1]
        refreshed = c.refresh_principal(principal)
        handovers = [queries.get_handover(c.engine, refreshed, h, today) for h in opened]
        return Response({"person_id": person_id, "leaving_date": data.leaving_date, "handovers": handovers},
                        status_code=201)

    @get("/schools/{school_id:uuid}/handovers", sync_to_thread=True,
         summary="Handovers of a school; `status`: open, completed, overdue")
    def list(self, request: Request[Any, Any, Any], principal: Caller, school_id: FromPath[UUID],
             status: FromQuery[str | None] = None) -> dict[str, Any]:
        c = container(request)
        return {"items": queries.list_handovers(c.engine, principal, school_id, now_and_today(c)[1], status)}

    @post("/handovers/{handover_id:uuid}/complete", sync_to_thread=True, status_code=200,
          summary="Complete a handover: lead_transferred (with new_lead_id), runner_removed, or account_closed")
    def complete(self, request: Request[Any, Any, Any], principal: Caller, handover_id: FromPath[UUID],
                 data: JSONBody[HandoverIn]) -> dict[str, Any]:
        c = container(request)
        c.accounts.complete_handover(principal, handover_id, data.outcome, data.new_lead_id, data.reason)
        return queries.get_handover(c.engine, principal, handover_id, now_and_today(c)[1])
