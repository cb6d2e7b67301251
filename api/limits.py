"""Request body limits, in one place (decision 0060).

Every body has a limit: SOCIALGOV_JSON_MAX_BYTES, or SOCIALGOV_UPLOAD_MAX_BYTES on the routes marked
`opt={"upload": True}` (evidence files, the MIS pupil register). A body over it gets 413 as soon as its
Content-Length announces it, or as soon as the bytes received pass it; nothing past the limit is read. A body the app
may parse as JSON (the JSON routes parse whatever content type they are sent) is read whole, up to its limit, and
refused with 400 if it nests arrays or objects deeper than MAX_JSON_DEPTH, before any parser sees it. Multipart
uploads are passed on as they arrive, counted but not held.
"""

from __future__ import annotations

import re
from itertools import accumulate

from litestar.exceptions import ClientException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.types import ASGIApp, Message, Receive, Scope, Send

#: Our own bodies nest four levels at most (a pupil's consent inside a pupil inside the list); GraphQL variables a few.
MAX_JSON_DEPTH = 32

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def json_depth(body: bytes) -> int:
    """How deep arrays and objects nest in JSON text (brackets inside strings do not count); linear, in C loops."""
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _header(scope: Scope, name: bytes) -> bytes | None:
    return next((v for k, v in scope["headers"] if k == name), None)


def _announced_length(scope: Scope) -> int | None:
    raw = _header(scope, b"content-length")
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise ClientException("the Content-Length header is not a number") from None


def _too_large(limit: int) -> RequestEntityTooLarge:
    return RequestEntityTooLarge(f"the request body is larger than this endpoint takes ({limit:,} bytes)")


def _counted(receive: Receive, limit: int) -> Receive:
    received = 0

    async def counting_receive() -> Message:
        nonlocal received
        message = await receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise _too_large(limit)
        return message

    return counting_receive


async def read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if message["type"] != "http.request" or not message.get("more_body", False):
            return b"".join(chunks)


def replaying(body: bytes, receive: Receive) -> Receive:
    """A receive that gives `body` once, then whatever the connection sends next (its disconnect)."""
    delivered = False

    async def replay_receive() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay_receive


def body_limits_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        settings = scope["app"].state.container.settings
        upload = bool(scope["route_handler"].opt.get("upload"))
        limit = settings.upload_max_bytes if upload else settings.json_max_bytes
        announced = _announced_length(scope)
        if announced is not None and announced > limit:
            raise _too_large(limit)
        receive = _counted(receive, limit)
        if upload and (_header(scope, b"content-type") or b"").lower().startswith(b"multipart/"):
            await app(scope, receive, send)
            return
        body = await read_body(receive)
        if json_depth(body) > MAX_JSON_DEPTH:
            raise ClientException(f"the body nests arrays or objects deeper than {MAX_JSON_DEPTH} levels")
        await app(scope, replaying(body, receive), send)

    return middleware
