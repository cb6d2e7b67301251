"""Slow request headers (slowloris), against the real app under uvicorn as `socialgov run` serves it: a connection
that has not sent a request's headers within SOCIALGOV_HEADER_TIMEOUT_SECONDS is closed, and the others are served
meanwhile."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest
import uvicorn

from api.app import create_app
from api.container import Container
from api.serving import uvicorn_options

TIMEOUT = 1.0


@pytest.fixture
def base_url(container: Container) -> Iterator[str]:
    settings = replace(container.settings, header_timeout_seconds=TIMEOUT)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(container=container), log_level="warning",
                                           **uvicorn_options(settings)))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn-slow", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            pytest.fail("the app did not start under uvicorn within 20 s")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(10)


def closed_after(conn: socket.socket, started: float) -> float:
    conn.settimeout(TIMEOUT * 5)
    assert conn.recv(100) == b""  # closed by the server, not answered
    return time.monotonic() - started


def test_connections_that_trickle_headers_are_closed_and_others_are_served(base_url: str) -> None:
    host, port = base_url.removeprefix("http://").split(":")
    started = time.monotonic()
    slow = []
    for _ in range(50):
        conn = socket.create_connection((host, int(port)))
        conn.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n")
        slow.append(conn)
    silent = socket.create_connection((host, int(port)))  # sends nothing at all
    with httpx.Client(base_url=base_url) as client:
        for _ in range(5):
            assert client.get("/api/v1/health").status_code == 200
        time.sleep(TIMEOUT / 2)
        for conn in slow:
            conn.sendall(b"X-Trickle: 1\r\n")  # bytes keep arriving, but the headers never end
        waits = [closed_after(conn, started) for conn in [*slow, silent]]
        assert TIMEOUT * 0.9 <= min(waits) and max(waits) < TIMEOUT * 3
        assert client.get("/api/v1/health").status_code == 200


def test_a_kept_alive_connection_gets_the_same_deadline_for_its_next_request(base_url: str) -> None:
    host, port = base_url.removeprefix("http://").split(":")
    conn = socket.create_connection((host, int(port)))
    conn.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
    conn.settimeout(5)
    assert conn.recv(1000).startswith(b"HTTP/1.1 200")
    time.sleep(TIMEOUT * 1.5)  # idle between requests is the keep-alive timeout's (5 s), not this one
    conn.sendall(b"GET /api/v1/health HTTP/1.1\r\n")
    assert closed_after(conn, time.monotonic()) < TIMEOUT * 3
