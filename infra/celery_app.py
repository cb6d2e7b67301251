"""The Celery application: background work (inbox polling, SLA sweeps) runs here, off the web process.

Broker and result backend are the same Redis (SOCIALGOV_REDIS_URL). Tasks are acknowledged only after they
finish (acks_late) and are re-queued if the worker dies mid-task, so every task must be idempotent. Messages
are JSON only: no pickle, so a message on the broker can never execute code in the worker.

Run with `socialgov worker` and `socialgov beat` (or `celery -A infra.celery_app worker`).
"""

from __future__ import annotations

import os

from celery import Celery

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_url(environ: dict[str, str] | None = None) -> str:
    e = os.environ if environ is None else environ
    return e.get("SOCIALGOV_REDIS_URL") or DEFAULT_REDIS_URL


def make_celery(url: str | None = None) -> Celery:
    url = url or redis_url()
    app = Celery("socialgov", broker=url, backend=url)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        timezone="Europe/London",
        enable_utc=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        result_expires=24 * 3600,
    )
    return app


celery_app = make_celery()
app = celery_app  # `celery -A infra.celery_app` looks for `app` or `celery`


@celery_app.task(name="socialgov.ping")
def ping() -> str:
    """Liveness check: a worker is consuming the queue."""
    return "pong"
