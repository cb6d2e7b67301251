"""A real Celery worker and beat, started as `socialgov worker` / `socialgov beat`, against the local Redis.

They use Redis DB 15 and a queue of their own per run, so they never touch DB 0 nor another run's messages.
Redis must be running: these tests fail (never skip) without it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from celery.exceptions import TimeoutError as CeleryTimeout

from infra.celery_app import make_celery

REDIS_URL = os.environ.get("SOCIALGOV_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

pytestmark = pytest.mark.xdist_group("celery")


@pytest.fixture(scope="module")
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as e:
        pytest.fail(f"Redis is not reachable at {REDIS_URL} ({e}): start redis-server "
                    "(`redis-server --daemonize yes`, or `apt-get install -y redis-server`)")
    return REDIS_URL


def socialgov(*args: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "api.cli", *args], env=env, stdout=out,
                                stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parents[2])


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()  # SIGTERM: Celery's warm shutdown
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@pytest.fixture
def env(redis_url: str) -> dict[str, str]:
    return {**os.environ, "SOCIALGOV_REDIS_URL": redis_url, "PYTHONUNBUFFERED": "1"}


@pytest.fixture
def worker(env: dict[str, str], tmp_path: Path) -> Iterator[tuple[str, Path]]:
    queue = f"socialgov-test-{uuid.uuid4().hex[:12]}"
    log = tmp_path / "worker.log"
    proc = socialgov("worker", "--pool=solo", "--loglevel=info", f"--queues={queue}", env=env, log=log)
    try:
        yield queue, log
        assert proc.poll() is None, f"the worker died:\n{log.read_text()}"
    finally:
        stop(proc)
        r = redis.Redis.from_url(env["SOCIALGOV_REDIS_URL"])
        leftovers = list(r.scan_iter(match=f"*{queue}*"))
        if leftovers:
            r.delete(*leftovers)  # kombu's bindings for this run's queue
        r.close()


def test_worker_answers_ping(worker: tuple[str, Path], redis_url: str) -> None:
    queue, log = worker
    client = make_celery(redis_url)
    result = client.send_task("socialgov.ping", queue=queue)
    try:
        assert result.get(timeout=30) == "pong", log.read_text()
    except CeleryTimeout:
        pytest.fail(f"no answer to socialgov.ping within 30 s; worker log:\n{log.read_text()}")
    finally:
        result.forget()
        client.close()


def test_celery_app_is_configured_for_at_least_once_json_only() -> None:
    app = make_celery("redis://127.0.0.1:6379/15")
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.timezone == "Europe/London"
    assert set(app.conf.accept_content) == {"json"}
    assert app.conf.task_serializer == app.conf.result_serializer == "json"
    assert "socialgov.ping" in app.tasks


def test_beat_starts_and_keeps_its_schedule(env: dict[str, str], tmp_path: Path) -> None:
    schedule = tmp_path / "state" / "celerybeat-schedule"
    log = tmp_path / "beat.log"
    proc = socialgov("beat", "--loglevel=info", f"--schedule={schedule}", env=env, log=log)
    try:
        deadline = time.monotonic() + 20
        while not list(schedule.parent.glob("celerybeat-schedule*")):
            assert proc.poll() is None, f"beat exited with {proc.returncode}:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"beat wrote no schedule file within 20 s:\n{log.read_text()}"
            time.sleep(0.2)
        time.sleep(1)
        assert proc.poll() is None, f"beat exited with {proc.returncode}:\n{log.read_text()}"
    finally:
        stop(proc)
