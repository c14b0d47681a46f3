"""Embedded mode: no broker server (kombu's SQLite transport in the data directory), real worker processes,
``mailroom serve`` stopped and killed in the middle of a batch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from servicekit import (
    REPO,
    SAMPLES,
    SCANS_1P,
    Database,
    Process,
    descendants,
    free_port,
    ocr_running_under,
    service_env,
    station_key,
    upload,
    wait_for,
    wait_http,
)

from mailroom.settings import Settings
from workers.celery_app import create_celery
from workers.dispatch import CeleryDispatcher
from workers.pipeline import PipelineContext, receive

FAST_SWEEP = {"MAILROOM_SWEEP_INTERVAL_SECONDS": "2", "MAILROOM_SWEEP_STUCK_AFTER_SECONDS": "8"}


def test_two_embedded_workers_process_documents(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir)
    env = service_env(data_dir)
    ctx = PipelineContext.create(settings)
    dispatcher = CeleryDispatcher(create_celery(settings))
    db = Database(settings)
    workers = [Process(["worker", "--concurrency", "1", *extra], env, tmp_path / f"worker-{i}.log").start()
               for i, extra in enumerate([["--beat"], []])]
    try:
        files = {"0022-order_confirmation.pdf": 1, "0000-invoice.pdf": 1, "0013-objection.tif": 2,
                 "0003-invoice.xml": 0}
        ids = {}
        for name, pages in files.items():
            received = receive(SAMPLES / name, ctx, channel="test", station=None)
            dispatcher.submit(received.document_id)
            ids[received.document_id] = pages
        assert dispatcher.ready()
        assert set(db.wait_settled(list(ids), 150).values()) <= {"routed", "review"}
        for document_id, pages in ids.items():
            db.assert_exactly_once(document_id, pages=pages)
        # nothing left over; a scheduled webhook poll (the beat's) may sit in the queue for a moment
        wait_for(lambda: dispatcher.queue_depths() == {"ocr": 0, "default": 0}, 15, "the queues to drain")
    finally:
        for worker in workers:
            worker.stop()
        db.close()
    for worker in workers:  # kombu's deprecated mapping is replaced (workers/broker_sqlite.py)
        assert "noload" not in worker.log.read_text()


# a fresh process: SQLAlchemy configures the broker's mappers (and warned about kombu's ``noload``) once per process
ROUND_TRIP = """
import json, sys, warnings
from pathlib import Path
from mailroom.settings import Settings
from workers.celery_app import DEFAULT_QUEUE, SWEEP, create_celery
from workers.dispatch import CeleryDispatcher
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    app = create_celery(Settings(_env_file=None, data_dir=Path(sys.argv[1]), broker_url=None))
    app.send_task(SWEEP, queue=DEFAULT_QUEUE)
    depths = dict(CeleryDispatcher(app).queue_depths())
    with app.connection_for_read() as connection, connection.channel() as channel:
        message = channel.basic_get(DEFAULT_QUEUE, no_ack=True)
        task = message.headers["task"] if message is not None else None
        lazy = channel.queue_cls.messages.property.lazy
    after = dict(CeleryDispatcher(app).queue_depths())
print(json.dumps({"depths": depths, "task": task, "after": after, "lazy": lazy,
                  "warnings": [f"{w.category.__name__}: {w.message}" for w in caught]}))
"""


def test_the_embedded_broker_carries_a_task_without_sqlalchemy_deprecations(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", ROUND_TRIP, str(tmp_path / "data")], capture_output=True,
                          text=True, timeout=120, cwd=REPO, check=True)
    seen = json.loads(done.stdout)
    assert seen["depths"] == {"ocr": 0, "default": 1} and seen["task"] == "mailroom.sweep"
    assert seen["after"] == {"ocr": 0, "default": 0}  # taken once, by one consumer
    assert seen["lazy"] == "raise"  # never loads a queue's messages; kombu's own mapping said the deprecated noload
    assert not [w for w in seen["warnings"] if "SADeprecationWarning" in w or "noload" in w], seen["warnings"]


def alive(pid: int) -> bool:
    """Running (a zombie has exited: it only waits to be reaped, which not every container's init does)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def test_embedded_service_stopped_and_killed_mid_batch(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = service_env(data_dir, **FAST_SWEEP)
    db = Database(Settings(data_dir=data_dir))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    token = station_key(env)

    def start() -> Process:
        process = Process(["serve", "--port", str(port)], env, tmp_path / "serve.log").start()
        wait_http(base)
        return process

    service = start()
    try:
        ids = [upload(base, token, SAMPLES / name) for name in SCANS_1P[:3]]
        wait_for(lambda: ocr_running_under([service.pid]), 60, "OCR to start")
        assert not db.all_settled(ids)
        # SIGTERM: the API stops, the workers finish their running tasks and stop; nothing is left behind
        workers = descendants(service.pid)
        assert service.terminate(timeout=90) != -9
        assert not any(alive(pid) for pid in workers)

        service = start()
        ids += [upload(base, token, SAMPLES / name) for name in SCANS_1P[3:5]]
        wait_for(lambda: ocr_running_under([service.pid]), 60, "OCR to start")
        assert not db.all_settled(ids)
        service.kill9()  # serve and every worker process: messages taken from the SQLite broker are lost

        service = start()
        assert set(db.wait_settled(ids, 170).values()) <= {"routed", "review"}
        for document_id in ids:
            db.assert_exactly_once(document_id, pages=1)
    finally:
        service.stop()
        db.close()
