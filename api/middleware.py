"""ASGI middleware: request ids and the access log, Idempotency-Key replay for POST commands, and security
headers."""

from __future__ import annotations

import json
import logging
import secrets
import time
import uuid

from anyio import to_thread
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from api.limits import read_body, replaying
from infra.idempotency import request_hash
from infra.logs import actor_var, request_id_var
from infra.tokens import InvalidToken

access = logging.getLogger("socialgov.access")


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    """Gives each answer an X-Request-Id and a Server-Timing (`app;dur=` milliseconds from the request's arrival to
    its answer's start) and logs one access line with its status. It wraps the whole app
    (api/app.py), outside litestar's exception handling, so that it sees every answer as sent: also those built from
    an exception a route's middleware raised (a 429 from the rate limit, a 413 from the body limits) and the 404 of
    a path no route matches."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if incoming and len(incoming) <= 100 and incoming.isprintable() else uuid.uuid4().hex
        request_id_var.set(rid)
        actor_var.set(None)

        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                took = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"  # the server's time to the answer
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode()),
                                      (b"server-timing", took.encode())]
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        finally:
            actor_var.set(scope.get("socialgov.actor"))  # type: ignore[misc]
            access.info("%s %s %s %.1fms", scope["method"], scope["path"], status,
                        (time.perf_counter() - started) * 1000)

    return middleware


def _problem(status: int, title: str, detail: str) -> tuple[int, bytes]:
    return status, json.dumps({"type": "https://socialgov.example/problems/idempotency", "title": title,
                               "status": status, "detail": detail}).encode()


def idempotency_middleware(app: ASGIApp) -> ASGIApp:
    """A POST with `Idempotency-Key` runs once per caller and key; retries get the first result again.
    The same key with a different request is refused (422); a retry while the first is running gets 409.
    It runs after body_limits_middleware, so the body it holds is within the endpoint's limit."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers", []))
        key = headers.get(b"idempotency-key", b"").decode("latin-1").strip()
        if scope["type"] != "http" or scope["method"] != "POST" or not key:
            await app(scope, receive, send)
            return
        container = scope["app"].state.container
        auth = headers.get(b"authorization", b"").decode("latin-1")
        try:
            owner = str(container.tokens.verify(auth.partition(" ")[2].strip()).subject)
        except InvalidToken:
            await app(scope, receive, send)  # unauthenticated: the app answers 401
            return
        if len(key) > 200:
            status, payload = _problem(422, "Invalid Idempotency-Key", "the key must be at most 200 characters")
            await _send_raw(send, status, payload, "application/problem+json")
            return
        body = await read_body(receive)
        req_hash = request_hash("POST", scope["path"], body)
        stored = await to_thread.run_sync(container.idempotency.claim, owner, key, req_hash, container.clock.now())
        if stored is not None:
            if stored.request_hash != req_hash:
                status, payload = _problem(422, "Idempotency-Key reused",
                                           "this key was used with a different request")
            elif stored.status is None:
                status, payload = _problem(409, "Request in progress",
                                           "a request with this key is still being processed")
            else:
                await _send_raw(send, stored.status, stored.body or b"", stored.content_type or "application/json",
                                replayed=True)
                return
            await _send_raw(send, status, payload, "application/problem+json")
            return

        status, content_type, chunks = 500, "application/json", []
        settled = False

        async def settle() -> None:
            """Stores the answer for retries, or forgets the claim if the call failed on our side (or was refused
            in a way a retry may fix: 401, 409), so that the client may send it again."""
            nonlocal settled
            settled = True
            if status >= 500 or status in (401, 409):
                await to_thread.run_sync(container.idempotency.release, owner, key)
            else:
                await to_thread.run_sync(container.idempotency.complete, owner, key, status, b"".join(chunks),
                                         content_type)

        async def store_then_send(message: Message) -> None:
            nonlocal status, content_type
            if message["type"] == "http.response.start":
                status = message["status"]
                for k, v in message.get("headers", []):
                    if k.lower() == b"content-type":
                        content_type = v.decode("latin-1")
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    await settle()  # before the last byte goes out: a retry sent the moment it arrives finds it
            await send(message)

        try:
            await app(scope, replaying(body, receive), store_then_send)
        finally:
            if not settled:  # the app raised before it answered
                await to_thread.run_sync(container.idempotency.release, owner, key)

    return middleware


async def _send_raw(send: Send, status: int, body: bytes, content_type: str, replayed: bool = False) -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    if replayed:
        headers.append((b"idempotent-replayed", b"true"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


#: The web pages' Content-Security-Policy; `{nonce}` is this response's (templates: `csp_nonce()`).
PAGE_CSP = ("default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self'; img-src 'self' data:; "
            "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
#: Everything else (JSON, files, and the OpenAPI and GraphiQL pages litestar and strawberry render, which load
#: their own scripts): nothing may frame it.
OTHER_CSP = "frame-ancestors 'none'"
#: HTML our page CSP does not fit (pages generated by libraries, with their own inline scripts and CDN assets).
LIBRARY_PAGES = ("/schema", "/graphql")
HSTS = "max-age=31536000; includeSubDomains"


def security_headers_middleware(app: ASGIApp) -> ASGIApp:
    """Security headers on every response, in one place (decision 0050): a fresh CSP nonce per request (kept in
    scope["state"]["csp_nonce"] for the templates) and the strict page policy on our HTML; on every response
    `nosniff`, `Referrer-Policy: same-origin`, no framing, and HSTS in production."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(18)
        scope.setdefault("state", {})["csp_nonce"] = nonce  # type: ignore[typeddict-item]
        production = scope["app"].state.container.settings.is_production
        library_page = scope["path"].startswith(LIBRARY_PAGES)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                html = any(k.lower() == b"content-type" and v.startswith(b"text/html") for k, v in headers)
                csp = PAGE_CSP.format(nonce=nonce) if html and not library_page else OTHER_CSP
                headers += [(b"content-security-policy", csp.encode()), (b"x-content-type-options", b"nosniff"),
                            (b"referrer-policy", b"same-origin"), (b"x-frame-options", b"DENY")]
                if production:
                    headers.append((b"strict-transport-security", HSTS.encode()))
                message["headers"] = headers
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware
