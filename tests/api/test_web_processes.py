"""`socialgov run` with several web processes on PostgreSQL (gunicorn's workers running uvicorn): each listens on a
socket of its own, so keep-alive connections opened at once spread over them; commands from many clients all land
once, and a command's write is visible to a read that lands on another process (read-your-writes goes through the
database)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from uuid import UUID

import httpx
import pytest

from api.container import Container
from infra.settings import Settings, SettingsError
from services.directory import system_actor
from services.identity import principal_for_person
from tests.conftest import APPLICATION, ROOT
from tests.databases import fresh_postgres


def test_web_workers_setting() -> None:
    assert Settings.from_env({}).workers == 1  # SQLite: one writer, one process
    pg = {"SOCIALGOV_DATABASE_URL": "postgresql+psycopg://u@h/db"}
    assert 1 <= Settings.from_env(pg).workers <= 4
    assert Settings.from_env(pg | {"SOCIALGOV_WEB_WORKERS": "3"}).workers == 3
    with pytest.raises(SettingsError, match="SOCIALGOV_WEB_WORKERS"):
        Settings.from_env({"SOCIALGOV_WEB_WORKERS": "-1"})
    with pytest.raises(SettingsError, match="SOCIALGOV_WEB_WORKERS"):
        Settings.from_env({"SOCIALGOV_WEB_WORKERS": "many"})


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _workers(pid: int) -> list[int]:
    """gunicorn's worker processes under the server (it forks them: they are its children)."""
    return _children(pid)


def _sockets(pid: int) -> set[int]:
    """The inodes of the sockets process `pid` has open."""
    found = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            found.add(int(target[8:-1]))
    return found


def _tcp(port: int, state: str) -> set[int]:
    """Inodes of the IPv4 TCP sockets on local `port` in `state` (0A listening, 01 established)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == state:
            found.add(int(fields[9]))
    return found


def test_two_web_processes_serve_commands_with_read_your_writes(tmp_path: Path) -> None:
    url = fresh_postgres("webprocs")
    c = Container(Settings(database_url=url, db_pool_size=2))
    try:
        tag = uuid.uuid4().hex[:8]
        _, admin_id = c.directory.register_trust(f"Trust {tag}", "Ada", f"ada-{tag}@t.example", system_actor("test"))
        admin = principal_for_person(c.engine, admin_id, "test")
        assert admin is not None
        c.directory.publish_policy(admin, "v1", "policy")
        school = c.directory.add_school(admin, f"School {tag}", "100001", "england")
        admin = c.refresh_principal(admin)
        staff = [c.directory.add_staff(admin, school, f"S{i}", f"s{i}-{tag}@t.example", ["staff"]).person_id
                 for i in range(2)]
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {**os.environ, "SOCIALGOV_DATABASE_URL": url, "SOCIALGOV_WEB_WORKERS": "2",
               "SOCIALGOV_DB_POOL_SIZE": "3", "SOCIALGOV_LOG_LEVEL": "WARNING",
               "SOCIALGOV_STORAGE_DIR": str(tmp_path / "files")}
        server = subprocess.Popen([sys.executable, "-m", "api.cli", "run", "--no-demo", "--host", "127.0.0.1",
                                   "--port", str(port)], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 180
            while True:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "the server did not become ready"
                try:
                    if httpx.get(f"{base}/api/v1/ready", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.3)
            workers = _workers(server.pid)
            assert len(workers) == 2, "expected two web processes"
            listening = _tcp(port, "0A")
            assert [len(listening & _sockets(w)) for w in workers] == [1, 1], "each worker listens on its own socket"
            clients = [httpx.Client() for _ in range(16)]  # keep-alive connections opened at once, as a load balancer
            try:
                for client in clients:
                    assert client.get(f"{base}/api/v1/health").status_code == 200
                accepted = _tcp(port, "01")
                assert all(accepted & _sockets(w) for w in workers), "every worker took some of the connections"
            finally:
                for client in clients:
                    client.close()
            headers = {"Authorization": f"Bearer {c.tokens.issue(staff[0], auth_method='test')}"}
            body = APPLICATION | {"runner_ids": [str(p) for p in staff]}
            problems: list[str] = []
            created: list[UUID] = []

            def client() -> None:
                # a fresh connection per request, so that requests spread over both processes
                for _ in range(6):
                    r = httpx.post(f"{base}/api/v1/schools/{school}/applications", json=body, headers=headers)
                    if r.status_code != 201:
                        problems.append(f"POST {r.status_code} {r.text[:200]}")
                        continue
                    app_id = r.json()["id"]
                    g = httpx.get(f"{base}/api/v1/applications/{app_id}", headers=headers)
                    if g.status_code != 200 or g.json()["status"] != "submitted":
                        problems.append(f"GET {g.status_code} {g.text[:200]}")
                    created.append(UUID(app_id))

            threads = [threading.Thread(target=client) for _ in range(6)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=120)
            assert not problems, problems[:3]
            assert len(set(created)) == 36
        finally:
            children = _children(server.pid)
            server.terminate()  # SIGTERM: passed on to every web process
            assert server.wait(timeout=40) == 0
            deadline = time.monotonic() + 10
            while [pid for pid in children if _state(pid) not in ("gone", "Z")] and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not [pid for pid in children if _state(pid) not in ("gone", "Z")], "web processes left behind"
    finally:
        c.close()
