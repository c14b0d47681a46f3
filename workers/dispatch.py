"""How a received document gets to the workers: the :class:`Dispatcher` plug-in point.

The API and the watched folder store the original and create the document record (``pipeline.receive``), then
hand the document id to a dispatcher. ``InlineDispatcher`` runs the pipeline in a background thread of this
process (tests, the simplest embedded setups); the Celery dispatcher (``workers.tasks``) enqueues tasks.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

from mailroom.errors import MailroomError
from workers.pipeline import PipelineContext, run_document

log = logging.getLogger(__name__)


class Dispatcher(Protocol):
    def submit(self, document_id: str, *, again: bool = False) -> None:
        """Start processing a stored document; returns at once (the database tracks progress)."""
        ...


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

    def _run(self, document_id: str, again: bool) -> None:
        try:
            run_document(document_id, self.ctx, again=again)
        except MailroomError as exc:  # recorded on the document by the pipeline
            log.info("document %s stopped: %s", document_id, exc.code)

    def _done(self, future: Future[None]) -> None:
        with self._lock:
            self.pending.discard(future)

    def shutdown(self, *, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait)
