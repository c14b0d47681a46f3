"""Faults of a scale-out deployment that must heal without a person: real redis-server, real ``mailroom worker``
processes with the beat, the database and blobs in a data directory.

* a worker started without Tesseract refuses OCR work (it consumes no ``ocr`` queue, says so in its heartbeat)
  instead of failing every document with ``tool_missing``; a worker with the tools takes the pages;
* a data directory that is read-only for a while does not kill the beat (its schedule is in the database and a
  failed write is tried again): its heartbeat comes back, and documents are processed afterwards;
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
from servicekit import SCANS_1P, Process, read_only, wait_for
from test_workers_redis import Scaled

from mailroom.settings import Settings
from mailroom.storage import heartbeats
from mailroom.storage.db import session_scope
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
    beat = scaled.worker("--beat")
    wait_for(lambda: _beat_at(scaled), 90, "the beat's heartbeat")
    with read_only(scaled.data_dir):
        time.sleep(30)  # several heartbeats and schedule syncs fail meanwhile
        assert beat.alive()
    back = datetime.now(UTC)
    wait_for(lambda: (at := _beat_at(scaled)) is not None and at > back, 60, "a heartbeat of the beat afterwards")
    assert _liveness(scaled).beat_alive and beat.alive()
    document_id = scaled.submit(SCANS_1P[1])
    assert scaled.db.wait_settled([document_id], 150)[document_id] in {"routed", "review"}
    scaled.db.assert_exactly_once(document_id, pages=1)
    assert os.path.exists(scaled.data_dir) and not (scaled.data_dir / "celerybeat-schedule").exists()


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
