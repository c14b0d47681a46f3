"""``mailroom health worker [--beat]``: the healthcheck of the worker containers, from the heartbeats.

Real ``mailroom worker`` processes (embedded broker or a real redis-server, the data directory's SQLite) and the
real command in a subprocess, as Docker runs it: exit status 0 healthy, 1 unhealthy, one line German / English.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from servicekit import REPO, Database, Process, RedisServer, service_env, wait_for
from test_faults_heal import _path_without_tesseract

from mailroom.settings import Settings
from mailroom.storage import heartbeats
from mailroom.storage.db import migrate, session_scope
from mailroom.storage.models import utcnow
from workers.health import local_health


def _health(env: dict[str, str], *args: str) -> tuple[int, str]:
    done = subprocess.run([sys.executable, "-m", "cli", "health", "worker", *args], env=env, capture_output=True,
                          text=True, timeout=60, cwd=REPO)
    return done.returncode, done.stdout.strip()


def _rows(db: Database) -> list[heartbeats.HeartbeatRow]:
    with session_scope(db.sessions, readonly=True) as session:
        rows = heartbeats.heartbeats(session)
        session.expunge_all()
        return rows


def test_health_follows_the_workers_and_the_beat_of_this_host(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = service_env(data_dir)
    db = Database(Settings(_env_file=None, data_dir=data_dir, broker_url=None))
    migrate(db.engine)
    processes: list[Process] = []
    try:
        code, said = _health(env)
        assert code == 1 and said.startswith("UNGESUND") and "no worker" in said  # nothing runs yet

        light = Process(["worker", "--queues", "default", "--concurrency", "1", "--beat"], env,
                        tmp_path / "light.log").start()
        processes.append(light)
        wait_for(lambda: {row.role for row in _rows(db)} >= {heartbeats.WORKER, heartbeats.BEAT}, 120,
                 "the heartbeats of worker and beat")
        code, said = _health(env, "--beat")
        assert code == 0 and said.startswith("GESUND / HEALTHY") and "default" in said, said
        assert "\n" not in said

        # kill -9 of the worker with its beat and pool: seen at once, not only when the heartbeat is a minute old
        light.kill9()
        assert all(row.beat_at > utcnow() - timedelta(seconds=heartbeats.STALE_AFTER_SECONDS)
                   for row in _rows(db))  # the rows are still fresh
        code, said = _health(env)
        assert code == 1 and "no worker" in said, said

        # an OCR-only worker without Tesseract runs and beats, but takes no work: unhealthy, and why
        blind_env = {**env, "PATH": _path_without_tesseract(tmp_path / "bin")}
        blind = Process(["worker", "--queues", "ocr", "--concurrency", "1"], blind_env, tmp_path / "blind.log")
        processes.append(blind.start())
        wait_for(lambda: any(not row.tools_ok for row in _rows(db)), 120, "the heartbeat of the worker without tools")
        code, said = _health(env)
        assert code == 1 and "consumes no queue" in said and "Werkzeuge fehlen" in said, said
        assert blind.alive()
    finally:
        for process in processes:
            process.stop()
        db.close()


def _row(role: str, *, host: str, age: float, pid: int, queues: str = "default",
         tools_ok: bool = True) -> heartbeats.HeartbeatRow:
    return heartbeats.HeartbeatRow(name=f"{role}-{pid}@{host}", role=role, host=host, pid=pid, queues=queues,
                                   tools_ok=tools_ok, detail="", beat_at=utcnow() - timedelta(seconds=age))


def test_a_stale_heartbeat_or_another_hosts_is_not_health() -> None:
    host, me = socket.gethostname(), os.getpid()
    stale = heartbeats.STALE_AFTER_SECONDS + 5
    assert local_health([_row(heartbeats.WORKER, host=host, age=3, pid=me)], host=host).ok
    assert not local_health([_row(heartbeats.WORKER, host=host, age=stale, pid=me)], host=host).ok
    assert not local_health([_row(heartbeats.WORKER, host="elsewhere", age=3, pid=me)], host=host).ok
    worker = _row(heartbeats.WORKER, host=host, age=3, pid=me)
    assert not local_health([worker], host=host, beat=True).ok  # --beat: no beat row
    assert not local_health([worker, _row(heartbeats.BEAT, host=host, age=stale, pid=me)], host=host, beat=True).ok
    health = local_health([worker, _row(heartbeats.BEAT, host=host, age=4, pid=me)], host=host, beat=True)
    assert health.ok and health.exit_code == 0
    # a worker on the default queue without Tesseract still works: healthy, and it says so
    blind = local_health([_row(heartbeats.WORKER, host=host, age=3, pid=me, tools_ok=False)], host=host)
    assert blind.ok and "without OCR tools" in blind.message


def test_an_unreadable_database_is_unhealthy_without_its_password(tmp_path: Path) -> None:
    env = service_env(tmp_path / "data", MAILROOM_DATABASE_URL="postgresql+psycopg://mailroom:s3cr3t-pw@127.0.0.1:9/x")
    code, said = _health(env)
    assert code == 1 and said.startswith("UNGESUND") and "not readable" in said, said
    assert "s3cr3t-pw" not in said


def test_a_worker_that_lost_its_broker_is_unhealthy_until_it_is_back(tmp_path: Path) -> None:
    """The process runs on, but its consumer has no broker: no heartbeat, so the check says unhealthy once the
    last one is a minute old; after the broker's restart the consumer reconnects and the worker is healthy."""
    server = RedisServer(tmp_path / "redis")
    server.start()
    data_dir = tmp_path / "data"
    env = service_env(data_dir, server.url)
    db = Database(Settings(_env_file=None, data_dir=data_dir, broker_url=server.url))
    migrate(db.engine)
    worker = Process(["worker", "--queues", "default", "--concurrency", "1"], env, tmp_path / "worker.log").start()
    try:
        wait_for(lambda: _health(env)[0] == 0, 120, "a healthy worker")
        server.kill()
        _, said = wait_for(lambda: (h := _health(env))[0] == 1 and h, 120, "the worker to be unhealthy", 5)
        assert "no worker" in said and worker.alive()
        assert "consumer does not run" in (tmp_path / "worker.log").read_text()
        server.start()  # the same port (the worker's broker URL)
        _, said = wait_for(lambda: (h := _health(env))[0] == 0 and h, 120, "the worker healthy again", 2)
        assert said.startswith("GESUND") and worker.alive()
    finally:
        worker.stop()
        db.close()
        if server.process is not None and server.process.poll() is None:
            server.kill()
