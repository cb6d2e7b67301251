"""Integration clients, the OAuth2 client-credentials token endpoint, and the MIS pupil register."""

from __future__ import annotations

import base64
import binascii
import logging
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, post, put
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, JSONBody

from api.ratelimit import auth_rate_limit
from api.routes.common import Caller, container
from domain.errors import InvalidInput
from domain.pupil import PupilRecord
from services.integrations import InvalidClient, list_clients
from services.pupils import list_pupils

log = logging.getLogger("socialgov.oauth")


class ClientIn(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    scopes: list[str]


class RevokeIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: str | None = None


class Consent(msgspec.Struct, forbid_unknown_fields=True):
    school_accounts: bool = False
    website: bool = False
    press: bool = False


class PupilIn(msgspec.Struct, forbid_unknown_fields=True):
    pupil_ref: str
    name: str
    year_group: str
    image_consent: Consent = msgspec.field(default_factory=Consent)
    no_publish: bool = False


class PupilsIn(msgspec.Struct, forbid_unknown_fields=True):
    pupils: list[PupilIn]


class TokenRequest(msgspec.Struct):
    """RFC 6749 §4.4.2 (client credentials) with the client's id and secret as form fields (§2.3.1) unless sent by
    HTTP Basic. Parameters the endpoint does not know are ignored (§3.2)."""

    grant_type: Annotated[str, msgspec.Meta(extra_json_schema={"enum": ["client_credentials"]})]
    client_id: str = ""
    client_secret: str = ""
    scope: str = ""


def _oauth_error(status: int, error: str, description: str) -> Response[Any]:
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="socialgov"'
    return Response({"error": error, "error_description": description}, status_code=status, headers=headers)


@post("/oauth/token", sync_to_thread=True, tags=["auth"], middleware=[auth_rate_limit.middleware], status_code=200,
      summary="OAuth2 client credentials (RFC 6749 §4.4): form fields grant_type, client_id, client_secret "
              "(or HTTP Basic), optional scope; returns a short-lived bearer token")
def token(request: Request[Any, Any, Any],
          data: Annotated[TokenRequest, Body(media_type=RequestEncodingType.URL_ENCODED)]) -> Response[Any]:
    c = container(request)
    client_id, secret = data.client_id, data.client_secret
    basic = request.headers.get("authorization", "")
    if basic.lower().startswith("basic "):
        try:
            client_id, _, secret = base64.b64decode(basic[6:].strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return _oauth_error(401, "invalid_client", "malformed Basic credentials")
    if data.grant_type != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "only client_credentials is supported")
    try:
        client, scopes = c.integrations.authenticate(client_id, secret, data.scope or None)
    except InvalidClient:
        log.warning("client authentication failed for client id %s", client_id[:40])
        return _oauth_error(401, "invalid_client", "unknown client, wrong secret, or revoked client")
    except InvalidInput:
        return _oauth_error(400, "invalid_scope", "the client was not granted the requested scope")
    ttl = 15 * 60
    access = c.tokens.issue(client.id, kind="client", auth_method="client_credentials", ttl_seconds=ttl,
                            scopes=scopes)
    return Response({"access_token": access, "token_type": "Bearer", "expires_in": ttl, "scope": " ".join(scopes)},
                    headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


class IntegrationsController(Controller):
    path = "/api/v1"
    tags = ["integrations"]

    @post("/integration-clients", sync_to_thread=True,
          summary="Register an integration client (trust team). The secret is in this response only")
    def register(self, request: Request[Any, Any, Any], principal: Caller, data: JSONBody[ClientIn]) -> Response[Any]:
        client_id, secret = container(request).integrations.register(principal, data.name, data.scopes)
        return Response({"id": client_id, "client_id": client_id, "client_secret": secret, "name": data.name,
                         "scopes": sorted(set(data.scopes))}, status_code=201,
                        headers={"Cache-Control": "no-store"})

    @get("/integration-clients", sync_to_thread=True, summary="The trust's integration clients (never secrets)")
    def list(self, request: Request[Any, Any, Any], principal: Caller) -> dict[str, Any]:
        return {"items": list_clients(container(request).engine, principal)}

    @post("/integration-clients/{client_id:uuid}/revoke", sync_to_thread=True, status_code=200,
          summary="Revoke a client: its tokens stop working at once")
    def revoke(self, request: Request[Any, Any, Any], principal: Caller, client_id: FromPath[UUID],
               data: JSONBody[RevokeIn | None] = None) -> dict[str, Any]:
        container(request).integrations.revoke(principal, client_id, data.reason if data else None)
        return {"id": client_id, "revoked": True}

    @put("/schools/{school_id:uuid}/pupils", sync_to_thread=True, tags=["pupils"], opt={"upload": True},
         summary="MIS bulk upsert of pupils and image consent; good rows land, bad rows are listed by row and field")
    def upsert_pupils(self, request: Request[Any, Any, Any], principal: Caller, school_id: FromPath[UUID],
                      data: JSONBody[PupilsIn]) -> dict[str, Any]:
        rows = [PupilRecord(p.pupil_ref, p.name, p.year_group, p.image_consent.school_accounts,
                            p.image_consent.website, p.image_consent.press, p.no_publish) for p in data.pupils]
        return container(request).pupils.upsert(principal, school_id, rows).as_dict()

    @get("/schools/{school_id:uuid}/pupils", sync_to_thread=True, tags=["pupils"],
         summary="The school's pupil register with image consent")
    def pupils(self, request: Request[Any, Any, Any], principal: Caller, school_id: FromPath[UUID]) -> dict[str, Any]:
        return {"items": list_pupils(container(request).engine, principal, school_id)}
