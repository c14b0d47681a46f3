"""Embedded mode: no broker server (kombu's SQLite transport in the data directory), real worker processes,
``mailroom serve`` stopped and killed in the middle of a batch."""

from __future__ import annotations

from pathlib import Path

from servicekit import (
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
