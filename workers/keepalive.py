"""While a page is read, its document is not "stuck": a thread of the task refreshes its ``updated_at``.

The sweeper re-enqueues a document in a working state that nothing touched for ``MAILROOM_SWEEP_STUCK_AFTER_SECONDS``
(600 s). A page's reading may take longer than that on a busy machine (its budget counts CPU seconds, the wall
clock allows three times that, and a page can be read twice: :mod:`intake.tesseract`), and a re-enqueued document
costs an attempt of its budget and a second reading of the same page. :func:`keeping_alive` refreshes the
document every quarter of that time (at most every minute) while the task runs. A task that dies takes its thread
with it (a pool process killed, or ended by the task's hard time limit), so a really stuck document is still swept.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from mailroom.storage import repository
from workers.pipeline import PipelineContext

log = logging.getLogger(__name__)

#: The longest pause between two refreshes.
MAX_INTERVAL_SECONDS = 60.0


def interval_for(stuck_after_seconds: float) -> float:
    return max(0.5, min(MAX_INTERVAL_SECONDS, stuck_after_seconds / 4))


@contextmanager
def keeping_alive(ctx: PipelineContext, document_id: str, *, interval: float | None = None) -> Iterator[None]:
    """Refresh the document's ``updated_at`` every ``interval`` seconds while the block runs."""
    every = interval if interval is not None else interval_for(ctx.settings.sweep_stuck_after_seconds)
    stop = threading.Event()

    def refresh() -> None:
        failing = False
        while not stop.wait(every):
            try:
                with ctx.session() as session:
                    repository.keep_alive(session, document_id)
            except Exception as exc:  # the database busy or read-only: the next refresh tries again
                if not failing:
                    log.warning("document not refreshed while its page is read: %s", exc)
                failing = True
            else:
                failing = False

    thread = threading.Thread(target=refresh, name=f"keepalive-{document_id[:8]}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=every + 30)
