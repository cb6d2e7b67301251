"""How the app is served: one process on uvicorn, or several as gunicorn's workers running uvicorn, each with its
own listening socket (decision 0045); either way uvicorn's HTTP protocol with a deadline for request headers
(decision 0063)."""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

from gunicorn.app.base import BaseApplication
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn_worker import UvicornWorker

from infra import logs
from infra.settings import Settings


class HeaderDeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing a connection whose request headers are not complete `header_timeout`
    seconds after it opened, or after its next request's first byte. uvicorn has no such timeout: its keep-alive
    timeout covers only the idle time between requests and stops at the first byte, so a client that trickles
    headers (slowloris) would hold its connection for ever."""

    #: Seconds; set by `uvicorn_options` for one process, read from the environment in uvicorn's worker processes
    #: (each starts from the same environment, and a class made at run time cannot be sent to them).
    header_timeout: float | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._deadline: asyncio.TimerHandle | None = self.loop.call_later(self._timeout(), self._too_slow)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:
            self._deadline = self.loop.call_later(self._timeout(), self._too_slow)

    def on_headers_complete(self) -> None:
        self._cancel_deadline()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
        super().connection_lost(exc)

    def _timeout(self) -> float:
        return self.header_timeout if self.header_timeout is not None else _environment_timeout()

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()


@functools.cache
def _environment_timeout() -> float:
    return float(Settings.from_env().header_timeout_seconds)


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The options of uvicorn.run for one process: this protocol, and our own request log rather than uvicorn's."""
    protocol = type("HeaderDeadline", (HeaderDeadlineProtocol,), {"header_timeout": settings.header_timeout_seconds})
    return {"http": protocol, "log_config": None, "access_log": False}


class Worker(UvicornWorker):
    """A gunicorn worker running uvicorn with our protocol and our own request log; uvicorn's messages go to our
    log, as in one process (infra/logs.py), rather than to gunicorn's."""

    CONFIG_KWARGS = {"loop": "auto", "http": HeaderDeadlineProtocol, "access_log": False}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("uvicorn.error", "uvicorn.access"):
            logging.getLogger(name).handlers = []
            logging.getLogger(name).propagate = True


class WebProcesses(BaseApplication):  # type: ignore[misc]  # gunicorn has no type hints
    """`settings.workers` web processes, from gunicorn: it starts them, restarts one that dies and stops them on
    SIGTERM. Each worker builds its app from the environment (api.app:create_app) and listens on a socket of its
    own bound with SO_REUSEPORT, so that the kernel spreads connections evenly over the processes: on one shared
    socket, whichever process wakes first accepts a whole burst of keep-alive connections and serves them alone."""

    def __init__(self, settings: Settings, host: str, port: int) -> None:
        level = settings.log_level.upper()
        # gunicorn's messages go to our log (configured once its own logging is set up: on_starting), in our format
        loggers = {name: {"level": level, "handlers": [], "propagate": True}
                   for name in ("gunicorn.error", "gunicorn.access")}
        own = {"version": 1, "root": {"level": level, "handlers": []}, "loggers": loggers}
        self.options = {"bind": f"{host}:{port}", "workers": settings.workers, "worker_class": "api.serving.Worker",
                        "reuse_port": True, "keepalive": 5, "logconfig_dict": own, "control_socket_disable": True,
                        "on_starting": lambda _: logs.configure(settings.log_format, settings.log_level)}
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from api.app import create_app

        return create_app()
