"""Scale-out mode: a real redis-server, real ``mailroom worker`` processes, the API, and faults.

Every document must complete exactly once: one result, one page JSON per page, each state entered once.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from servicekit import (
    SAMPLES,
    SCANS_1P,
    Database,
    Process,
    RedisServer,
    descendants,
    free_port,
    ocr_running_under,
    running,
    service_env,
    station_key,
    upload,
    wait_for,
    wait_http,
)

from mailroom.settings import Settings
from mailroom.storage import repository
from mailroom.storage.db import session_scope
from workers.celery_app import create_celery
from workers.dispatch import CeleryDispatcher
from workers.pipeline import PipelineContext, receive

FAST_SWEEP = {"MAILROOM_SWEEP_INTERVAL_SECONDS": "2", "MAILROOM_SWEEP_STUCK_AFTER_SECONDS": "8"}


class Scaled:
    """redis-server + data directory + worker processes + a dispatcher in this process."""

    def __init__(self, tmp: Path, **env: str) -> None:
        self.tmp = tmp
        self.redis = RedisServer(tmp / "redis")
        self.redis.start()
        try:
            self.data_dir = tmp / "data"
            self.env = service_env(self.data_dir, self.redis.url, **env)
            self.settings = Settings(data_dir=self.data_dir, broker_url=self.redis.url)
            self.ctx = PipelineContext.create(self.settings)
            self.dispatcher = CeleryDispatcher(create_celery(self.settings))
            self.db = Database(self.settings)
        except BaseException:  # a set-up that fails (a missing module, say) leaves no redis-server behind
            self.redis.kill()
            raise
        self.processes: list[Process] = []

    def worker(self, *args: str) -> Process:
        index = len(self.processes)
        process = Process(["worker", "--concurrency", "1", *args], self.env, self.tmp / f"worker-{index}.log")
        self.processes.append(process.start())
        return process

    def submit(self, name: str) -> str:
        received = receive(SAMPLES / name, self.ctx, channel="test", station=None)
        self.dispatcher.submit(received.document_id)
        return received.document_id

    def close(self) -> None:
        for process in self.processes:
            process.stop()
        self.db.close()
        if self.redis.process is not None and self.redis.process.poll() is None:
            self.redis.kill()


@pytest.fixture
def scaled(tmp_path: Path) -> Iterator[Scaled]:
    service = Scaled(tmp_path, **FAST_SWEEP)
    yield service
    service.close()


def test_two_workers_process_uploads_through_the_api(tmp_path: Path) -> None:
    service = Scaled(tmp_path)  # sweeper at its default: nothing may depend on it here
    api: Process | None = None
    try:
        service.worker("--beat")
        service.worker()
        port = free_port()
        api = Process(["serve", "--port", str(port)], service.env, tmp_path / "serve.log").start()
        base = f"http://127.0.0.1:{port}"
        wait_http(base)
        assert descendants(api.pid) == []  # with a broker URL, serve runs the API only
        token = station_key(service.env)
        files = {"0004-objection.pdf": 1, "0010-application_dog_tax.pdf": 2, "0002-invoice.xml": 0}
        ids = {upload(base, token, SAMPLES / name): pages for name, pages in files.items()}
        assert set(service.db.wait_settled(list(ids), 150).values()) <= {"routed", "review"}
        for document_id, pages in ids.items():
            service.db.assert_exactly_once(document_id, pages=pages)
        status = httpx.get(f"{base}/api/v1/documents/{next(iter(ids))}",
                           headers={"Authorization": f"Bearer {token}"}).json()
        assert status["state"] in ("routed", "review") and status["result"]["text_source"] == "ocr"
        # structured worker logs carry the task id and the document id
        lines = [json.loads(line) for p in service.processes for line in p.log.read_text().splitlines()
                 if line.startswith("{")]
        page_logs = [line for line in lines if line.get("logger") == "workers.tasks"]
        assert page_logs and all("task_id" in line and "document_id" in line for line in page_logs)
    finally:
        if api is not None:
            api.stop()
        service.close()


def test_kill_9_in_the_middle_of_ocr(scaled: Scaled) -> None:
    workers = [scaled.worker("--beat"), scaled.worker()]
    # the pool process running Tesseract dies: the worker rejects the message back to the queue
    first = scaled.submit(SCANS_1P[0])
    tesseract, pool_process = wait_for(lambda: ocr_running_under(w.pid for w in workers), 60, "OCR to start")
    assert not scaled.db.all_settled([first])
    os.kill(pool_process, signal.SIGKILL)
    wait_for(lambda: not running(tesseract), 10, "Tesseract to die with its pool process (no orphan)")
    scaled.db.wait_settled([first], 120)
    scaled.db.assert_exactly_once(first, pages=1)

    # a whole worker dies (main process and pool): its unacknowledged message is stuck in Redis; the sweeper of
    # the worker that is left (or of its replacement) enqueues the document again
    second = scaled.submit(SCANS_1P[1])
    _, pool_process = wait_for(lambda: ocr_running_under(w.pid for w in workers), 60, "OCR to start")
    victim = next(w for w in workers if pool_process in descendants(w.pid))
    assert not scaled.db.all_settled([second])
    victim.kill9()
    scaled.worker(*victim.args[3:])  # restarted, as a supervisor (docker, systemd) would
    scaled.db.wait_settled([second], 120)
    scaled.db.assert_exactly_once(second, pages=1)


def test_redis_restart_during_a_batch(scaled: Scaled) -> None:
    workers = [scaled.worker("--beat"), scaled.worker()]
    ids = [scaled.submit(name) for name in SCANS_1P[:4]]
    wait_for(lambda: ocr_running_under(w.pid for w in workers), 60, "OCR to start")
    assert not scaled.db.all_settled(ids)
    scaled.redis.kill()  # no persistence: every queued message is gone
    time.sleep(1)
    scaled.redis.start()
    assert set(scaled.db.wait_settled(ids, 170).values()) <= {"routed", "review"}
    for document_id in ids:
        scaled.db.assert_exactly_once(document_id, pages=1)


def test_a_page_that_kills_its_worker_every_time_fails_its_document_not_the_service(tmp_path: Path) -> None:
    """Fault injected: a ``tesseract`` on the workers' PATH that SIGKILLs its pool process whenever it is given page
    2 of a document (a page that crashes a native library, or runs the process out of memory). Every crash puts
    the message back; after the attempt budget (``MAILROOM_MAX_ATTEMPTS_PER_STEP`` per page and stage) the
    document is failed with ``attempts_exhausted`` and the worker goes on with other documents."""
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    real = shutil.which("tesseract")
    assert real is not None
    poison = fake_bin / "tesseract"
    poison.write_text(f'#!/bin/sh\ncase "$1" in *page-00002.*) kill -9 $PPID; exit 137;; esac\nexec {real} "$@"\n')
    poison.chmod(0o755)
    service = Scaled(tmp_path, MAILROOM_MAX_ATTEMPTS_PER_STEP="1", PATH=f"{fake_bin}:{os.environ['PATH']}",
                     **FAST_SWEEP)
    try:
        service.worker("--beat")
        two_pages = service.submit("0013-objection.tif")
        assert service.db.wait_settled([two_pages], 240)[two_pages] == "failed"
        with session_scope(service.db.sessions, readonly=True) as session:
            row = repository.get_document(session, two_pages)
            assert row is not None
            assert row.error_code == "attempts_exhausted"
            assert "reading page 2" in (row.error_message or "")
            assert row.attempts <= repository.attempt_budget(row, 1) + 1
        one_page = service.submit(SCANS_1P[0])  # the same worker still serves
        assert service.db.wait_settled([one_page], 120)[one_page] in {"routed", "review"}
        service.db.assert_exactly_once(one_page, pages=1)
    finally:
        service.close()
