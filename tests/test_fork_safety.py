"""A worker's main process forks a new pool process whenever one dies (or outgrows its memory) while its heartbeat
thread writes to SQLite. A fork in the middle of that write used to leave the new pool process unable to ever
write: it inherits SQLite's in-process record of the write lock, which nothing in it releases, so every task it
ran failed with "database is locked" (seen as a flake of ``test_workers_redis::test_a_page_that_kills_its_worker
...`` on a loaded machine: four minutes of "database is locked" after the pool process was SIGKILLed).

These tests fork for real from a process whose real heartbeat thread is inside its transaction; the only thing
injected is the slowness of that transaction (a loaded machine), so that the fork surely falls into it.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from mailroom.settings import Settings
from mailroom.storage import heartbeats
from mailroom.storage.db import fork_guard, make_engine, migrate, session_factory, session_scope
from workers import heartbeat as heartbeat_module
from workers.heartbeat import Heartbeat, ToolCheck

SLOW_WRITE_S = 1.5  # how long the injected slow heartbeat write keeps its transaction (and the write lock) open
CHILD_BUSY_TIMEOUT_S = 3.0  # the child's writes wait at most this long for the lock (the product waits 30 s)


def _fork_and_write(settings: Settings) -> tuple[int, float, str]:
    """Fork; the child writes a heartbeat row with a fresh engine, as a new pool process does. Returns the child's
    exit status (0: wrote; 1: could not write), how long ``os.fork()`` took in the parent and the child's error."""
    error_file = settings.data_dir / "child-error.txt"
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        status = 1
        try:
            engine = make_engine(settings, busy_timeout_s=CHILD_BUSY_TIMEOUT_S)
            with session_scope(session_factory(engine)) as session:
                heartbeats.beat(session, name="pool-child", role=heartbeats.WORKER, host="test", pid=os.getpid())
            status = 0
        except BaseException as exc:
            error_file.write_text(f"{type(exc).__name__}: {exc}")
        finally:
            os._exit(status)
    fork_took = time.monotonic() - started
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            error = error_file.read_text() if error_file.exists() else ""
            return os.waitstatus_to_exitcode(status), fork_took, error
        time.sleep(0.05)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    pytest.fail("the forked child neither wrote nor gave up within 60 s")


def test_a_pool_process_forked_during_the_heartbeat_write_can_write(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    migrate(settings)
    inside = threading.Event()
    real_beat = heartbeats.beat

    def slow_beat(session, **kwargs):  # type: ignore[no-untyped-def]
        real_beat(session, **kwargs)  # the transaction has begun (BEGIN IMMEDIATE: the write lock is held)
        inside.set()
        time.sleep(SLOW_WRITE_S)

    monkeypatch.setattr(heartbeat_module.heartbeats, "beat", slow_beat)
    beat = Heartbeat(settings, "main@test", ["ocr", "default"], ToolCheck(True, "tools"))
    beat.start()
    try:
        assert inside.wait(30), "the heartbeat thread did not write"
        status, fork_took, error = _fork_and_write(settings)
    finally:
        beat.stop()
    assert status == 0, f"the forked child could not write ({error}): it inherited the heartbeat's lock"
    assert fork_took < SLOW_WRITE_S + 10  # the fork waited for the write, not for ever
    with session_scope(session_factory(make_engine(settings)), readonly=True) as session:
        names = {row.name for row in heartbeats.heartbeats(session)}
    assert names == {"main@test", "pool-child"}


def test_a_thread_may_fork_inside_its_own_guarded_block(tmp_path: Path) -> None:
    """The guard is re-entrant: a thread that starts a subprocess (a fork) inside its own guarded block does not
    deadlock on itself."""
    settings = Settings(data_dir=tmp_path / "data")
    migrate(settings)
    with fork_guard():
        status, _, error = _fork_and_write(settings)
    assert status == 0, error
