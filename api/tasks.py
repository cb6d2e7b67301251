"""Scheduled jobs: thin Celery tasks over the inbox sweeps, and the same schedule run in-process when the
product runs embedded without Redis (docs/decisions/0015-scheduled-jobs.md).

Every task is idempotent: it finds candidates with one set-based query and records at most one event per
aggregate, so running it twice (or twice at once) changes nothing the second time."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from celery.schedules import crontab

from api.container import Container
from infra.celery_app import celery_app
from infra.settings import Settings
from services.inbox import SweepResult

log = logging.getLogger("socialgov.jobs")
_container: Container | None = None
_lock = threading.Lock()


def container() -> Container:
    """One container per worker process, built on first use from the environment."""
    global _container
    with _lock:
        if _container is None:
            _container = Container(Settings.from_env())
        return _container


def _run(name: str, job: Callable[[Container], SweepResult]) -> dict[str, int]:
    result = asdict(job(container()))
    if any(result.values()):
        log.info("%s: %s", name, result)
    return result


@celery_app.task(name="socialgov.sweep_breaches")
def sweep_breaches() -> dict[str, int]:
    return _run("sweep_breaches", lambda c: c.inbox.sweep_breaches())


@celery_app.task(name="socialgov.sweep_reminders")
def sweep_reminders() -> dict[str, int]:
    return _run("sweep_reminders", lambda c: c.inbox.sweep_reminders())


@celery_app.task(name="socialgov.sweep_monitoring")
def sweep_monitoring() -> dict[str, int]:
    return _run("sweep_monitoring", lambda c: c.inbox.sweep_monitoring())


@celery_app.task(name="socialgov.poll_feeds")
def poll_feeds() -> dict[str, int]:
    return _run("poll_feeds", lambda c: c.inbox.poll_feeds())


#: name -> (task, every N minutes)
SCHEDULE: dict[str, tuple[Any, int]] = {
    "sweep-breaches": (sweep_breaches, 5),
    "sweep-reminders": (sweep_reminders, 5),
    "sweep-monitoring": (sweep_monitoring, 30),
    "poll-feeds": (poll_feeds, 15),
}

celery_app.conf.beat_schedule = {
    name: {"task": task.name, "schedule": crontab(minute=f"*/{minutes}")} for name, (task, minutes) in SCHEDULE.items()
}


class EmbeddedScheduler:
    """Runs the same jobs on a timer thread inside `socialgov run` when no Redis is configured. It opens the
    database for a minute's due jobs and closes it after, so that between jobs the process holds no connection
    (with several web processes it is gunicorn's master, which forks the workers: decision 0045)."""

    def __init__(self, settings: Settings, tick_seconds: float = 60.0) -> None:
        self.settings = settings
        self.tick = tick_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="socialgov-scheduler", daemon=True)
        self._jobs: list[tuple[str, int, Callable[[Container], SweepResult]]] = [
            ("sweep_breaches", 5, lambda x: x.inbox.sweep_breaches()),
            ("sweep_reminders", 5, lambda x: x.inbox.sweep_reminders()),
            ("sweep_monitoring", 30, lambda x: x.inbox.sweep_monitoring()),
            ("poll_feeds", 15, lambda x: x.inbox.poll_feeds()),
        ]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def run_once(self, minute: int) -> None:
        due = [(name, job) for name, every, job in self._jobs if minute % every == 0]
        if not due:
            return
        c = Container(self.settings)
        try:
            for name, job in due:
                try:
                    result = asdict(job(c))
                    if any(result.values()):
                        log.info("%s: %s", name, result)
                except Exception:
                    log.exception("scheduled job %s failed", name)
        finally:
            c.close()

    def _loop(self) -> None:
        minute = 0
        while not self._stop.wait(0 if minute == 0 else self.tick):
            self.run_once(minute)
            minute += 1
