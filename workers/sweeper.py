"""The sweeper: the database is the source of truth, queues only carry work.

A message can be lost: a worker killed after taking it from the embedded broker, Redis restarted without
persistence, a broker that was down when the API tried to enqueue. The document then sits in a non-final state
that nothing touches. Celery beat runs :func:`sweep` every ``MAILROOM_SWEEP_INTERVAL_SECONDS``; it finds the
documents untouched for ``MAILROOM_SWEEP_STUCK_AFTER_SECONDS`` (every task start touches its document) and
enqueues the task that resumes each one. Resuming is idempotent: pages already read are not read again, a
state already passed is not entered again. A swept document is touched, so it is enqueued again only after
another full threshold. The sweep also removes the scratch folders that killed tasks left (:func:`clean_scratch`).
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from mailroom.settings import Settings
from mailroom.storage import repository
from mailroom.storage.models import DocumentState
from workers.celery_app import (
    ASSEMBLE_DOCUMENT,
    FINISH_LETTER,
    START_DOCUMENT,
    purge_delivered_messages,
    task_time_limits,
)

if TYPE_CHECKING:
    from workers.pipeline import PipelineContext

log = logging.getLogger(__name__)

S = DocumentState

RESUME_TASKS: dict[DocumentState, str] = {
    S.RECEIVED: START_DOCUMENT,
    S.SEPARATED: START_DOCUMENT,  # enqueues the pages not read yet, or the assembly when all are
    S.OCR: ASSEMBLE_DOCUMENT,
}
"""Which task resumes a document in each state the task chain works on (a letter of a stack: see below)."""


#: A scratch folder is left behind only by a task whose process was killed (kill -9, out of memory): a live
#: task's folder is younger than its hard time limit. Folders older than twice that (at least an hour) go.
SCRATCH_MIN_AGE_SECONDS = 3600.0


@dataclass
class SweepReport:
    resumed: dict[str, str] = field(default_factory=dict)
    """document id → task name"""
    purged_messages: int = 0
    scratch_removed: int = 0


def sweep(ctx: PipelineContext, send: Callable[[str, str], None]) -> SweepReport:
    """Enqueue (``send(task_name, document_id)``) every stuck document once; tidy the embedded broker."""
    report = SweepReport()
    older_than = timedelta(seconds=ctx.settings.sweep_stuck_after_seconds)
    with ctx.session() as session:
        for row in repository.stuck_documents(session, older_than, states=RESUME_TASKS.keys()):
            repository.note_attempt(session, row)
            # a letter separated from a stack is created ``received`` with its pages read: it only needs finishing
            letter = row.parent_id is not None and row.state == S.RECEIVED
            report.resumed[row.id] = FINISH_LETTER if letter else RESUME_TASKS[DocumentState(row.state)]
    for document_id, task_name in report.resumed.items():
        send(task_name, document_id)
        log.warning("resumed stuck document with %s", task_name, extra={"document_id": document_id})
    report.purged_messages = purge_delivered_messages(ctx.settings)
    report.scratch_removed = clean_scratch(ctx.settings)
    return report


def clean_scratch(settings: Settings, *, now: float | None = None) -> int:
    """Remove the scratch folders (``<data dir>/work/doc-*``) of killed tasks; returns how many."""
    _, hard = task_time_limits(settings)
    cutoff = (now or time.time()) - max(SCRATCH_MIN_AGE_SECONDS, 2 * hard)
    removed = 0
    try:
        folders = [p for p in settings.work_dir.glob("doc-*") if p.is_dir()]
    except OSError:
        return 0
    for folder in folders:
        try:
            newest = max([folder.stat().st_mtime, *(p.stat().st_mtime for p in folder.iterdir())])
        except OSError:  # removed meanwhile, or unreadable: the next sweep looks again
            continue
        if newest < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
            log.warning("removed the scratch folder of a killed task: %s", folder.name)
    return removed
