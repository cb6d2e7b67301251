from __future__ import annotations

from typing import Any

from litestar import Request, Response, get

from api.problems import problem
from api.routes.common import container
from infra.database import ping


@get("/api/v1/health", tags=["health"], summary="Liveness: the process is up", sync_to_thread=False)
def health() -> dict[str, str]:
    return {"status": "ok"}


@get("/api/v1/ready", tags=["health"], summary="Readiness: the database answers", sync_to_thread=True)
def ready(request: Request[Any, Any, Any]) -> Response[Any]:
    c = container(request)
    try:
        ping(c.engine)
        c.recorder.max_notification_id()
    except Exception:  # noqa: BLE001 - any failure means not ready
        return problem(503, "unavailable", "Not ready", detail="the database is not reachable")
    return Response({"status": "ready", "database": "sqlite" if c.settings.is_sqlite else "postgresql"})
