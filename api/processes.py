"""Several web processes on one port, each with its own listening socket (SO_REUSEPORT), so that the kernel
spreads connections over the processes. With one shared socket (uvicorn's own workers) whichever process was
awake accepted a burst of keep-alive connections, and often one process served them all while the others idled
(docs/decisions/0023-web-processes-reuseport.md)."""

from __future__ import annotations

import multiprocessing
import signal
import socket
import sys
import threading
import time
from types import FrameType
from typing import Any

#: A process that exits this soon after it started failed to start: the supervisor stops instead of retrying.
STARTUP_GRACE_S = 10.0
STOP_TIMEOUT_S = 30.0


def listener(host: str, port: int) -> socket.socket:
    """A socket bound to host:port that other processes can bind too; the kernel shares connections out."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def web_process(host: str, port: int, all_loaded: Any = None) -> None:
    """One web process: the app built from the environment (as `socialgov run` builds it), on its own socket.
    With `all_loaded` (a barrier shared by the first processes), it listens only once every process has built its
    app, so that the first clients' keep-alive connections are spread over all of them, not the quickest one."""
    import uvicorn

    from api.serving import uvicorn_options
    from infra.settings import Settings

    config = uvicorn.Config("api.app:create_app", factory=True, host=host, port=port,
                            **uvicorn_options(Settings.from_env()))
    config.load()
    if all_loaded is not None:
        try:
            all_loaded.wait(timeout=STARTUP_GRACE_S * 6)
        except threading.BrokenBarrierError:
            pass  # a sibling failed to start: the supervisor is stopping everything anyway
    try:
        uvicorn.Server(config).run(sockets=[listener(host, port)])
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group; uvicorn re-raises it after a clean stop
        pass


def serve_processes(n: int, host: str, port: int) -> int:
    """Starts n web processes and watches them until SIGINT/SIGTERM, which it passes on. A process that dies later
    is replaced; one that dies while starting stops the whole server (returns 1), since its siblings would too."""
    try:
        listener(host, port).close()  # the port is free (or shared with reuse-port peers): fail here, not n times
    except OSError as e:
        print(f"cannot listen on {host}:{port}: {e.strerror}", file=sys.stderr)
        return 1
    ctx = multiprocessing.get_context("spawn")
    stopping = False

    def stop(signum: int, _: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}

    def start(all_loaded: Any = None) -> tuple[Any, float]:
        p = ctx.Process(target=web_process, args=(host, port, all_loaded), name="socialgov-web")
        p.start()
        return p, time.monotonic()

    first = ctx.Barrier(n)
    processes = [start(first) for _ in range(n)]
    code = 0
    try:
        while not stopping:
            time.sleep(0.2)
            for i, (p, started) in enumerate(processes):
                if p.is_alive() or stopping:
                    continue
                if time.monotonic() - started < STARTUP_GRACE_S:
                    print(f"a web process exited while starting (exit code {p.exitcode}): stopping", file=sys.stderr)
                    stopping, code = True, 1
                    first.abort()
                    break
                print(f"a web process exited (exit code {p.exitcode}): starting another", file=sys.stderr)
                processes[i] = start()
    finally:
        for p, _ in processes:
            if p.is_alive():
                p.terminate()  # SIGTERM: uvicorn finishes the requests in flight, then exits
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for p, _ in processes:
            p.join(max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                p.kill()
                p.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return code
