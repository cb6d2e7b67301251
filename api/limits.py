"""Request body limits, in one place (decision 0060).

Every body has a limit: SOCIALGOV_JSON_MAX_BYTES, or SOCIALGOV_UPLOAD_MAX_BYTES on the routes marked
`opt={"upload": True}` (evidence files, the MIS pupil register). A body over it gets 413 as soon as its
Content-Length announces it, or as soon as the bytes received pass it; nothing past the limit is read. A body the app
may parse as JSON (the JSON routes parse whatever content type they are sent) is read whole, up to its limit, and
refused with 400 if it nests arrays or objects deeper than MAX_JSON_DEPTH, before any parser sees it. Multipart
uploads are passed on as they arrive, counted but not held.
"""

from __future__ import annotations

from itertools import accumulate

from anyio import to_thread
from litestar.exceptions import ClientException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.types import ASGIApp, Message, Receive, Scope, Send

#: Our own bodies nest four levels at most (a pupil's consent inside a pupil inside the list); GraphQL variables a few.
MAX_JSON_DEPTH = 32

_KEEP = b'"[]{}'
_DROP = bytes(b for b in range(256) if b not in _KEEP)
_SAME = bytes.maketrans(b"{}", b"[]")  # objects nest like arrays
_STEP = {ord("["): 1, ord("]"): -1}
#: The depth is counted a chunk at a time, so that a thread counting a large body lets the event loop run between
#: chunks; a body up to this size is counted on the loop (about 4 ms at worst).
CHUNK = 64 * 1024


def json_depth(body: bytes) -> int:
    """How deep arrays and objects nest in JSON text, brackets inside strings not counted. Linear and in C loops:
    about 7 ms per MiB of ordinary JSON, 70 ms per MiB of nothing but brackets."""
    shape = body.replace(b"\\\\", b"").replace(b'\\"', b"")  # escaped backslashes, then escaped quotes
    shape = shape.translate(_SAME, _DROP)  # only quotes and brackets are left, and every quote opens or ends a string
    # Two quotes side by side have no bracket between them, whether they open and end a string or end one and open
    # the next: dropping them leaves the rest as it was, and drops nearly every string.
    shape = shape.replace(b'""', b"")
    if b'"' in shape:
        shape = b"".join(shape.split(b'"')[::2])  # the rest: keep what lies outside strings
    level = deepest = 0
    for start in range(0, len(shape), CHUNK):
        levels = list(accumulate(map(_STEP.__getitem__, shape[start:start + CHUNK]), initial=level))
        level, deepest = levels[-1], max(deepest, max(levels))
    return deepest


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
        depth = json_depth(body) if len(body) <= CHUNK else await to_thread.run_sync(json_depth, body)
        if depth > MAX_JSON_DEPTH:
            raise ClientException(f"the body nests arrays or objects deeper than {MAX_JSON_DEPTH} levels")
        await app(scope, replaying(body, receive), send)

    return middleware
