"""Faults of a scale-out deployment that must heal without a person: real redis-server, real ``mailroom worker``
processes with the beat, the database and blobs in a data directory.

* a worker started without Tesseract refuses OCR work (it consumes no ``ocr`` queue, says so in its heartbeat)
  instead of failing every document with ``tool_missing``; a worker with the tools takes the pages;
* a data directory that is read-only for a while does not kill the beat (its schedule is in the database and a
  failed write is tried again): its heartbeat comes back, and documents are processed afterwards;
* a beat that dies all the same (``kill -9``) ends its worker with exit status 3, and ``mailroom serve`` (the
  supervisor of the embedded mode) starts worker and beat again: the schedule runs on;
* the sweep removes the scratch folders that killed tasks left behind.

(kill -9 during OCR and a Redis restart: ``test_workers_redis.py``.)
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from servicekit import (
    SAMPLES,
    SCANS_1P,
    Database,
    Process,
    descendants,
    free_port,
    read_only,
    running,
    service_env,
    wait_for,
)
from test_workers_redis import Scaled

from mailroom.settings import Settings
from mailroom.storage import heartbeats
from mailroom.storage.db import migrate, session_scope
from workers.pipeline import receive
from workers.sweeper import clean_scratch

POPPLER = ("pdfinfo", "pdfimages", "pdftoppm", "pdftotext")


@pytest.fixture
def scaled(tmp_path: Path) -> Iterator[Scaled]:
    service = Scaled(tmp_path, MAILROOM_SWEEP_INTERVAL_SECONDS="2", MAILROOM_SWEEP_STUCK_AFTER_SECONDS="8")
    yield service
    service.close()


def _liveness(scaled: Scaled) -> heartbeats.Liveness:
    with session_scope(scaled.ctx.sessions, readonly=True) as session:
        return heartbeats.assess(heartbeats.heartbeats(session))


def _beat_at(scaled: Scaled) -> datetime | None:
    with session_scope(scaled.ctx.sessions, readonly=True) as session:
        rows = [row.beat_at for row in heartbeats.heartbeats(session) if row.role == heartbeats.BEAT]
    return max(rows, default=None)


def _path_without_tesseract(folder: Path) -> str:
    """A PATH with Poppler but without Tesseract (as on a machine where only poppler-utils was installed)."""
    folder.mkdir()
    for tool in POPPLER:
        found = subprocess.run(["which", tool], capture_output=True, text=True, check=True).stdout.strip()
        (folder / tool).symlink_to(found)
    return str(folder)


def test_a_worker_without_tesseract_refuses_ocr_work_and_another_takes_it(scaled: Scaled) -> None:
    env = {**scaled.env, "PATH": _path_without_tesseract(scaled.tmp / "bin")}
    blind = Process(["worker", "--concurrency", "1", "--beat"], env, scaled.tmp / "blind.log").start()
    scaled.processes.append(blind)
    live = wait_for(lambda: (lv := _liveness(scaled)).workers.get("default") and lv, 90, "the worker's heartbeat")
    assert live.refusing_ocr == 1 and not live.workers.get("ocr")  # /readyz: no worker for the ocr queue
    document_id = scaled.submit(SCANS_1P[0])
    time.sleep(15)  # a worker that took the page would have failed it with tool_missing by now
    assert scaled.db.states([document_id])[document_id] not in {"failed", "routed", "review"}
    assert "refusing OCR work" in blind.log.read_text()

    scaled.worker("--queues", "ocr")  # a worker with the tools
    assert scaled.db.wait_settled([document_id], 150)[document_id] in {"routed", "review"}
    scaled.db.assert_exactly_once(document_id, pages=1)
    assert wait_for(lambda: _liveness(scaled).workers.get("ocr"), 60, "the OCR worker's heartbeat")
    assert blind.alive()


def test_a_read_only_data_dir_does_not_kill_the_beat(scaled: Scaled) -> None:
    """... nor the documents whose tasks run meanwhile: their storage errors are retried with back-off (no
    ``failed``, no ``internal_error``), and they finish once the data directory is writable again."""
    beat = scaled.worker("--beat")
    wait_for(lambda: _beat_at(scaled), 90, "the beat's heartbeat")
    during = receive(SAMPLES / SCANS_1P[0], scaled.ctx, channel="test", station=None).document_id
    with read_only(scaled.data_dir):
        scaled.dispatcher.submit(during)  # its tasks run into the read-only data directory
        time.sleep(30)  # several heartbeats, schedule syncs and task attempts fail meanwhile
        assert beat.alive()
        assert scaled.db.states([during])[during] not in {"failed", "routed", "review"}
    back = datetime.now(UTC)
    wait_for(lambda: (at := _beat_at(scaled)) is not None and at > back, 60, "a heartbeat of the beat afterwards")
    assert _liveness(scaled).beat_alive and beat.alive()
    document_id = scaled.submit(SCANS_1P[1])
    assert set(scaled.db.wait_settled([during, document_id], 240).values()) <= {"routed", "review"}
    scaled.db.assert_exactly_once(during, pages=1)
    scaled.db.assert_exactly_once(document_id, pages=1)
    log = beat.log.read_text()
    assert "storage_unavailable" in log and "internal_error" not in log
    assert "raised unexpected" not in log  # no task ends in a traceback: each retries or skips its run
    assert os.path.exists(scaled.data_dir) and not (scaled.data_dir / "celerybeat-schedule").exists()
    assert beat.terminate() == 0  # a warm shutdown stops the beat too: that is no death of the beat (status 3)


def _beat_row(db: Database) -> tuple[int, datetime] | None:
    with session_scope(db.sessions, readonly=True) as session:
        rows = [(row.beat_at, row.pid) for row in heartbeats.heartbeats(session) if row.role == heartbeats.BEAT]
    if not rows:
        return None
    beat_at, pid = max(rows)
    return pid, beat_at


def _sweep_run(db: Database) -> datetime | None:
    with session_scope(db.sessions, readonly=True) as session:
        row = heartbeats.schedule(session).get("sweep")
        return row.last_run_at if row is not None else None


def test_a_dead_beat_ends_its_worker_and_serve_starts_both_again(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = service_env(data_dir, MAILROOM_SWEEP_INTERVAL_SECONDS="2")
    log = tmp_path / "serve.log"
    serve = Process(["serve", "--port", str(free_port()), "--concurrency", "1"], env, log).start()
    db = Database(Settings(_env_file=None, data_dir=data_dir, broker_url=None))
    migrate(db.engine)  # the same migrations the service runs at start: the test reads the tables at once
    try:
        first = wait_for(lambda: _beat_row(db), 120, "the beat's heartbeat")
        beat_pid = first[0]
        assert beat_pid in descendants(serve.pid)  # the beat process inside the light worker of serve
        os.kill(beat_pid, 9)
        wait_for(lambda: "exited with 3" in log.read_text(), 60, "the worker to exit with status 3")
        assert "the embedded beat" in log.read_text() and serve.alive()
        killed_at = datetime.now(UTC)
        again = wait_for(lambda: (row := _beat_row(db)) and row[0] != beat_pid and row[1] > killed_at and row,
                         120, "a heartbeat of a new beat")
        assert running(again[0]) and again[0] in descendants(serve.pid)
        wait_for(lambda: (at := _sweep_run(db)) is not None and at > killed_at, 60, "a sweep after the restart")
        serve.terminate()  # serve's warm stop ends the beat as well: that is no death of the beat
        assert log.read_text().count("the embedded beat") == 1
    finally:
        serve.stop()
        db.close()


def test_the_sweep_removes_scratch_folders_of_killed_tasks_only(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path, broker_url=None)
    killed, live = settings.work_dir / "doc-killed", settings.work_dir / "doc-live"
    for folder in (killed, live):
        folder.mkdir(parents=True)
        (folder / "page-1.pgm").write_bytes(b"P5")
    old = time.time() - 2 * 3600  # older than any task may run (twice the hard time limit, at least an hour)
    for path in (killed / "page-1.pgm", killed):
        os.utime(path, (old, old))
    assert clean_scratch(settings) == 1
    assert not killed.exists() and live.exists()
