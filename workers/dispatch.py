"""How a received document gets to the workers: the :class:`Dispatcher` plug-in point.

The API and the watched folder store the original and create the document record (``pipeline.receive``), then
hand the document id to a dispatcher. ``InlineDispatcher`` runs the pipeline in a background thread of this
process (tests, the simplest setups); ``CeleryDispatcher`` enqueues the first task of the Celery chain
(``workers.tasks``) by name, so that the process that sends never imports the OCR code.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from kombu.exceptions import OperationalError as BrokerUnavailable

from mailroom.errors import MailroomError
from workers.celery_app import (
    DEFAULT_QUEUE,
    DELIVER_WEBHOOKS,
    FINISH_LETTER,
    KICK_EXPIRES_SECONDS,
    QUEUES,
    START_DOCUMENT,
)

if TYPE_CHECKING:
    from celery import Celery

    from workers.pipeline import PipelineContext

log = logging.getLogger(__name__)


class Dispatcher(Protocol):
    def submit(self, document_id: str, *, again: bool = False) -> None:
        """Start processing a stored document; returns at once (the database tracks progress)."""
        ...


@runtime_checkable
class LetterDispatcher(Protocol):
    def finish_letter(self, document_id: str) -> None:
        """Finish a letter created from a document (state ``received``, pages stored); returns at once."""
        ...


def finish_letters(dispatcher: Dispatcher, document_ids: list[str]) -> None:
    """Hand the letters split off a document (by a reviewer's "split here") to the workers. A dispatcher that
    cannot finish letters leaves them ``received``: the sweeper finishes them (``finish_letter``)."""
    for document_id in document_ids:
        if isinstance(dispatcher, LetterDispatcher):
            dispatcher.finish_letter(document_id)
        else:
            log.info("letter left to the sweeper", extra={"document_id": document_id})


class InlineDispatcher:
    """Runs documents one after another in a worker thread of this process."""

    def __init__(self, ctx: PipelineContext, *, threads: int = 1) -> None:
        self.ctx = ctx
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="mailroom-inline")
        self._lock = threading.Lock()
        self.pending: set[Future[None]] = set()

    def submit(self, document_id: str, *, again: bool = False) -> None:
        future = self._pool.submit(self._run, document_id, again)
        with self._lock:
            self.pending.add(future)
        future.add_done_callback(self._done)

    def finish_letter(self, document_id: str) -> None:
        future = self._pool.submit(self._finish, document_id)
        with self._lock:
            self.pending.add(future)
        future.add_done_callback(self._done)

    def _finish(self, document_id: str) -> None:
        from workers.inprocess import finish_letter

        try:
            finish_letter(document_id, self.ctx)
        except MailroomError as exc:  # recorded on the document by the pipeline
            log.info("letter %s stopped: %s", document_id, exc.code)

    def _run(self, document_id: str, again: bool) -> None:
        from workers.inprocess import run_document

        try:
            run_document(document_id, self.ctx, again=again)
        except MailroomError as exc:  # recorded on the document by the pipeline
            log.info("document %s stopped: %s", document_id, exc.code)

    def _done(self, future: Future[None]) -> None:
        with self._lock:
            self.pending.discard(future)

    def shutdown(self, *, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait)


class CeleryDispatcher:
    """Enqueues ``start_document`` on the broker (Redis, or the embedded SQLite broker).

    When the broker cannot be reached the document stays ``received`` in the database and the sweeper enqueues
    it once the broker is back: a stored document is never lost because a queue was down.
    """

    def __init__(self, app: Celery) -> None:
        self.app = app

    def submit(self, document_id: str, *, again: bool = False) -> None:
        try:
            self.app.send_task(START_DOCUMENT, args=[document_id], kwargs={"again": again}, queue=DEFAULT_QUEUE)
        except (BrokerUnavailable, OSError) as exc:
            log.warning("broker unavailable, the sweeper will enqueue the document: %s", exc,
                        extra={"document_id": document_id})

    def finish_letter(self, document_id: str) -> None:
        try:
            self.app.send_task(FINISH_LETTER, args=[document_id], queue=DEFAULT_QUEUE)
        except (BrokerUnavailable, OSError) as exc:
            log.warning("broker unavailable, the sweeper will finish the letter: %s", exc,
                        extra={"document_id": document_id})

    def kick_delivery(self) -> None:
        """Enqueue the webhook delivery now (after the API wrote an outbox event: a review decision, a re-route)."""
        self.app.send_task(DELIVER_WEBHOOKS, queue=DEFAULT_QUEUE, expires=KICK_EXPIRES_SECONDS)

    def expects_workers(self) -> bool:
        """Documents are processed by worker processes and a beat: ``/readyz`` checks their heartbeats."""
        return True

    def ready(self) -> bool:
        """Whether the broker answers (for ``/readyz``)."""
        with self.app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
        return True

    def queue_depths(self) -> Mapping[str, int]:
        """Messages waiting per queue (for ``/metrics``)."""
        depths: dict[str, int] = {}
        with self.app.connection_for_read() as connection, connection.channel() as channel:
            for name in QUEUES:
                depths[name] = int(channel.queue_declare(queue=name, passive=True).message_count)
        return depths
