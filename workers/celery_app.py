"""The Celery application: broker, queues, limits and the sweeper's schedule, built from :class:`Settings`.

Two deployments share it (see ``DESIGN.md``, "Running it"):

* **scale-out**: ``MAILROOM_BROKER_URL=redis://…``; any number of ``mailroom worker`` processes on any machines.
* **embedded** (no broker URL): kombu's SQLAlchemy transport on a SQLite file in the data directory
  (``sqlite:///<data_dir>/broker.sqlite3``, WAL mode; the transport is :mod:`workers.broker_sqlite`, kombu's with
  its deprecated ``noload`` mapping replaced). No server to install; messages survive a restart
  (they are rows in a file); several worker processes take messages in ``BEGIN IMMEDIATE`` transactions, so a
  message is handed to one of them only. The filesystem transport was the alternative: its ``_put`` creates the
  message file before writing it, so a concurrent consumer can take an empty message, and its moves are not
  atomic across file systems; it was not chosen.

There is no result backend: the database is the source of truth for every document, and tasks chain
themselves by enqueueing the next task by name. Messages can still be lost (a worker killed with ``kill -9``
after taking a message from the SQLite broker; Redis restarted without persistence); the sweeper
(:mod:`workers.sweeper`) re-enqueues every document stuck in a non-final state, and every task is idempotent.

This module imports no OCR code: the API process builds the app only to send tasks by name
(:class:`workers.dispatch.CeleryDispatcher`); ``mailroom worker`` builds it with ``worker=True``, which
imports :mod:`workers.tasks`.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from celery import Celery
from kombu import Queue

from mailroom.settings import Settings

if TYPE_CHECKING:
    from workers.pipeline import PipelineContext

# Tesseract and OpenCV: one thread per process, parallelism from worker processes (also for tasks started by
# ``celery`` itself rather than ``mailroom worker``).
os.environ.setdefault("OMP_THREAD_LIMIT", "1")

OCR_QUEUE = "ocr"
"""Page tasks: long, CPU-bound."""
DEFAULT_QUEUE = "default"
"""Light work: start a document, assemble and separate it, finish letters, the sweeper, webhook delivery."""
QUEUES = (OCR_QUEUE, DEFAULT_QUEUE)

START_DOCUMENT = "mailroom.start_document"
READ_PAGE = "mailroom.read_page"
ASSEMBLE_DOCUMENT = "mailroom.assemble_document"
FINISH_LETTER = "mailroom.finish_letter"
SWEEP = "mailroom.sweep"
RETRAIN_MODELS = "mailroom.retrain_models"
APPLY_RETENTION = "mailroom.apply_retention"
DELIVER_WEBHOOKS = "mailroom.deliver_webhooks"
AUDIT_CHECKPOINT = "mailroom.audit_checkpoint"

KICK_EXPIRES_SECONDS = 60
"""A delivery kick not started within this is dropped (the beat has sent the events by then)."""

EMBEDDED_BROKER_FILE = "broker.sqlite3"
EMBEDDED_TRANSPORT = "workers.broker_sqlite:Transport"
"""kombu's SQLAlchemy transport without its deprecated ``noload`` mapping (:mod:`workers.broker_sqlite`)."""
EMBEDDED_POLLING_SECONDS = 1.0
"""How often an idle embedded worker looks for messages (a busy worker takes the next message at once)."""
MAX_MEMORY_PER_CHILD_KIB = 800_000
"""A pool process that grew beyond this (a huge page) is replaced after its task."""
REDIS_VISIBILITY_TIMEOUT_SECONDS = 3600
"""Redis redelivers a message not acknowledged within this time (a worker killed with ``kill -9``)."""


class MailroomCelery(Celery):
    """The Celery app that knows the settings it was built from (tasks build their context from them)."""

    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        super().__init__("mailroom", **kwargs)
        self.settings = settings
        self._context: PipelineContext | None = None

    @property
    def embedded(self) -> bool:
        return not self.settings.broker_url

    def pipeline_context(self) -> PipelineContext:
        """The stages' context, built once per (pool) process on first use: never in the parent before fork."""
        if self._context is None:
            from workers.pipeline import PipelineContext

            self._context = PipelineContext.create(self.settings)
            from webhooks.delivery import install_kick

            install_kick(self._context.sessions, self.kick_delivery)  # a change that wrote an event: deliver it
        return self._context

    def kick_delivery(self) -> None:
        """Enqueue the webhook delivery task now (after a change that wrote an outbox event)."""
        self.send_task(DELIVER_WEBHOOKS, queue=DEFAULT_QUEUE, expires=KICK_EXPIRES_SECONDS)


def embedded_broker_path(settings: Settings) -> Path:
    return settings.data_dir / EMBEDDED_BROKER_FILE


def broker_url(settings: Settings) -> str:
    """The broker: ``settings.broker_url``, or the embedded SQLite broker in the data directory."""
    return settings.broker_url or f"sqlite:///{embedded_broker_path(settings)}"


def task_time_limits(settings: Settings) -> tuple[float, float]:
    """(soft, hard) seconds for one task: a page may need the Poppler tools and two Tesseract runs (the reading and,
    over its budget, the cheaper one), each up to its wall clock on a busy machine."""
    soft = settings.tool_timeout_seconds + 2 * settings.ocr_wall_timeout_seconds + 60
    return soft, soft + 60


def create_celery(settings: Settings, *, worker: bool = False) -> MailroomCelery:
    """The Celery app for ``settings``; ``worker=True`` also loads the tasks (imports the pipeline)."""
    embedded = not settings.broker_url
    transport: str | None = None  # from the URL's scheme (redis)
    if embedded:
        prepare_embedded_broker(settings)
        transport = EMBEDDED_TRANSPORT
        transport_options: dict[str, Any] = {"connect_args": {"timeout": 30}}
    else:
        transport_options = {"visibility_timeout": REDIS_VISIBILITY_TIMEOUT_SECONDS}
    soft, hard = task_time_limits(settings)
    app = MailroomCelery(settings, include=["workers.tasks"] if worker else [])
    app.conf.update(
        broker_url=broker_url(settings),
        broker_transport=transport,
        broker_transport_options=transport_options,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,  # a restarted Redis is waited for, never given up on
        task_publish_retry_policy={"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5,
                                   "interval_max": 1.0},
        result_backend=None,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        task_default_queue=DEFAULT_QUEUE,
        task_queues=[Queue(name) for name in QUEUES],
        task_routes={READ_PAGE: {"queue": OCR_QUEUE}},
        task_soft_time_limit=soft,
        task_time_limit=hard,
        worker_prefetch_multiplier=1,
        worker_max_memory_per_child=MAX_MEMORY_PER_CHILD_KIB,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        worker_enable_remote_control=not embedded,  # the SQLite transport has no broadcast
        worker_send_task_events=False,
        beat_schedule={
            "sweep": {
                "task": SWEEP,
                "schedule": settings.sweep_interval_seconds,
                "options": {"queue": DEFAULT_QUEUE, "expires": settings.sweep_interval_seconds},
            },
            "deliver-webhooks": {
                "task": DELIVER_WEBHOOKS,
                "schedule": settings.webhook_poll_seconds,
                "options": {"queue": DEFAULT_QUEUE, "expires": settings.webhook_poll_seconds},
            },
            "retention": {
                "task": APPLY_RETENTION,
                "schedule": settings.retention_interval_hours * 3600,
                "options": {"queue": DEFAULT_QUEUE, "expires": settings.retention_interval_hours * 3600},
            },
            "audit-checkpoint": {
                "task": AUDIT_CHECKPOINT,
                "schedule": settings.audit_checkpoint_seconds,
                "options": {"queue": DEFAULT_QUEUE, "expires": settings.audit_checkpoint_seconds},
            },
            "retrain": {
                "task": RETRAIN_MODELS,
                "schedule": settings.retrain_interval_hours * 3600,
                "options": {"queue": DEFAULT_QUEUE, "expires": settings.retrain_interval_hours * 3600},
            },
        },
        beat_scheduler="workers.beat:DatabaseScheduler",  # last runs in the database, a heartbeat, no file
        enable_utc=True,
        timezone="UTC",
    )
    return app


def prepare_embedded_broker(settings: Settings) -> None:
    """Create the embedded broker's SQLite file in WAL mode (persistent in the file: readers never block)."""
    path = embedded_broker_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path, timeout=30) as connection:
        connection.execute("PRAGMA journal_mode = WAL")
    connection.close()


def purge_delivered_messages(settings: Settings) -> int:
    """Delete the embedded broker's delivered messages; returns how many.

    kombu's SQLAlchemy transport marks a message it hands out invisible and never deletes it; nothing reads
    such a row again (an unacknowledged message is put back as a new row), so the sweeper removes them.
    """
    path = embedded_broker_path(settings)
    if settings.broker_url or not path.exists():
        return 0
    with sqlite3.connect(path, timeout=30) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        deleted = connection.execute("DELETE FROM kombu_message WHERE visible = 0").rowcount \
            if "kombu_message" in tables else 0
    connection.close()
    return int(deleted)
