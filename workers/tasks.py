"""The pipeline as Celery tasks: small, idempotent, keyed by document (and page), passing ids only.

::

    start_document(id)        default  plan the pages (state separated), enqueue read_page for each unread page
      └ read_page(id, n)      ocr      read page n (pipeline.read_pages(only={n})); the task that finds every
          └ assemble_document default  page read moves the document to ``ocr`` and enqueues assemble_document
                                       (the conditional state change lets exactly one task do it);
                                       assemble, separate; one letter: finish (the later stages slot into
                                       ``pipeline.finish``); a stack (now ``split``): for each letter
              └ finish_letter default  finish the letter (a child document in ``received``)
    sweep                     default  beat: re-enqueue documents stuck in a non-final state (workers.sweeper)
    retrain_models            default  beat (daily): retrain the recognition models from the corrections,
                                       promote each only if not worse (routing.training.retrain)
    deliver_webhooks          default  beat (every few seconds) and kicked after each change that wrote an
                                       outbox event: send webhooks (webhooks.delivery.deliver_due)
    audit_checkpoint          default  beat (every few minutes): the signed head of the audit chain to a file
                                       outside the database and to the log (mailroom.audit.write_checkpoint)
    apply_retention           default  beat (daily): delete the documents past their postbox's retention
                                       period, leaving audit tombstones (mailroom.retention)

Fan-in without chords: the database is the source of truth. A page is done when its ``page_json`` artifact
exists; ``received``/``separated`` → ``ocr`` is a conditional update, so two page tasks finishing together cannot
both enqueue the assembly, and a duplicated assembly loses at ``ocr`` → ``recognised`` and leaves no trace.
Every task checks the document's state first and does nothing when the document has moved on, so a duplicated,
redelivered or swept message is harmless. Tasks acknowledge late and are rejected back to the queue when their
worker process dies (``acks_late`` + ``reject_on_worker_lost``: all of them are idempotent).

Transient errors (:class:`~mailroom.errors.TransientError`, a soft time limit) are retried with exponential
backoff; permanent errors, and transient ones that outlast the retries, mark the document ``failed`` with the
stable error code.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from typing import Any, cast

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy.orm import Session

from intake.types import FileInfo, FileKind
from mailroom.errors import (
    AttemptsExhausted,
    InvalidTransition,
    MailroomError,
    ToolTimeout,
    TransientError,
    storage_error,
)
from mailroom.logs import log_context
from mailroom.storage import repository
from mailroom.storage.models import ArtifactKind, DocumentState
from workers import pipeline
from workers.celery_app import (
    APPLY_RETENTION,
    ASSEMBLE_DOCUMENT,
    AUDIT_CHECKPOINT,
    DEFAULT_QUEUE,
    DELIVER_WEBHOOKS,
    FINISH_LETTER,
    OCR_QUEUE,
    READ_PAGE,
    RETRAIN_MODELS,
    START_DOCUMENT,
    SWEEP,
    MailroomCelery,
)
from workers.keepalive import keeping_alive
from workers.pipeline import PipelineContext
from workers.separation import separate, stored_document
from workers.sweeper import sweep

log = logging.getLogger(__name__)

S = DocumentState

PAGE_STATES = frozenset({S.RECEIVED, S.SEPARATED})
"""States in which pages are planned and read."""
ASSEMBLE_STATES = frozenset({S.RECEIVED, S.SEPARATED, S.OCR})
"""States in which a document may be assembled and finished (an e-invoice goes there from ``received``)."""
LETTER_STATES = frozenset({S.RECEIVED})
"""A letter separated from a stack is created ``received`` with its pages read: only ``finish`` is left."""

RETRIES = 5
RETRY_BASE_SECONDS = 2.0
RETRY_MAX_SECONDS = 120.0

IDEMPOTENT = {"bind": True, "acks_late": True, "reject_on_worker_lost": True, "ignore_result": True}


def _app(task: Task) -> MailroomCelery:
    return cast(MailroomCelery, task.app)


@shared_task(name=START_DOCUMENT, **IDEMPOTENT)
def start_document(self: Task, document_id: str, again: bool = False) -> None:
    """Plan the pages of a stored document and enqueue one ``read_page`` per unread page."""
    with _guarded(self, document_id, PAGE_STATES) as ctx:
        if again:
            pipeline.start(document_id, ctx, again=True, task_id=self.request.id)
        elif not _touch(ctx, document_id, PAGE_STATES, "planning the pages"):
            return
        info = pipeline.stored_file(document_id, ctx)
        unread = _plan_pages(ctx, document_id, info, self.request.id)
        if unread is None:
            return
        for number in unread:
            _send(self, READ_PAGE, document_id, number, queue=OCR_QUEUE)
        if not unread and (info.kind is FileKind.XML or _claim_pages_read(ctx, document_id, info, self.request.id)):
            _send(self, ASSEMBLE_DOCUMENT, document_id)
        log.info("planned: %d of %d pages to read", len(unread), info.page_count)


@shared_task(name=READ_PAGE, **IDEMPOTENT)
def read_page(self: Task, document_id: str, page: int) -> None:
    """Read one page (idempotent per page); the task that completes the last page enqueues the assembly."""
    with _guarded(self, document_id, PAGE_STATES, page=page) as ctx:
        if not _touch(ctx, document_id, PAGE_STATES, f"reading page {page}"):
            return
        info = pipeline.stored_file(document_id, ctx)
        with ctx.session() as session:
            done = _page_done(session, document_id, page)
        if not done:
            with keeping_alive(ctx, document_id):  # a slow page on a busy machine is not swept as stuck
                pipeline.read_pages(document_id, info, ctx, only={page})
        if _claim_pages_read(ctx, document_id, info, self.request.id):
            _send(self, ASSEMBLE_DOCUMENT, document_id)


@shared_task(name=ASSEMBLE_DOCUMENT, **IDEMPOTENT)
def assemble_document(self: Task, document_id: str) -> None:
    """Assemble the read pages (document tree, searchable PDF), separate the letters, finish (each letter)."""
    with _guarded(self, document_id, ASSEMBLE_STATES) as ctx:
        if not _touch(ctx, document_id, ASSEMBLE_STATES, "assembling the document"):
            return
        info = pipeline.stored_file(document_id, ctx)
        with ctx.session() as session:
            unread = _unread_pages(session, document_id, info)
        if unread:  # an early duplicate: the last page task enqueues the assembly again
            log.info("not assembled yet: pages %s are not read", unread)
            return
        document = pipeline.assemble(document_id, info, ctx)
        letters = separate(document_id, ctx, document, task_id=self.request.id)
        if letters == [document_id]:
            pipeline.finish(document_id, info, document, ctx)
            log.info("finished: %d pages", len(document.pages))
            return
        for letter in letters:
            _send(self, FINISH_LETTER, letter)


@shared_task(name=FINISH_LETTER, **IDEMPOTENT)
def finish_letter(self: Task, document_id: str) -> None:
    """Finish one letter separated from a stack (its pages and document tree are stored by ``separate``)."""
    with _guarded(self, document_id, LETTER_STATES) as ctx:
        if not _touch(ctx, document_id, LETTER_STATES, "finishing the letter"):
            return
        info = pipeline.stored_file(document_id, ctx)
        pipeline.finish(document_id, info, stored_document(document_id, ctx), ctx)
        log.info("letter finished")


@contextmanager
def _periodic(task: Task) -> Iterator[None]:
    """Run a beat task's body: a database or data directory that is unavailable right now (read-only, full,
    locked, unreachable) skips this run with a warning; the beat runs it again at its next turn."""
    with log_context(task_id=task.request.id):
        try:
            yield
        except TransientError as exc:
            log.warning("%s skipped, the next run tries again: %s", task.name, exc)
        except OSError as exc:
            unavailable = storage_error(exc)
            if unavailable is None:
                raise
            log.warning("%s skipped, the next run tries again: %s", task.name, unavailable)


@shared_task(name=SWEEP, **IDEMPOTENT)
def sweep_stuck_documents(self: Task) -> None:
    """Beat: enqueue again what the database says is stuck."""
    app = _app(self)
    with _periodic(self):
        sweep(app.pipeline_context(), lambda name, document_id: _send(self, name, document_id))


@shared_task(name=DELIVER_WEBHOOKS, bind=True, ignore_result=True)
def deliver_webhooks(self: Task) -> dict[str, Any]:
    """Beat and kicks: fan new outbox events out to the subscriptions and send the due webhook deliveries, for at
    most ``MAILROOM_WEBHOOK_TASK_SECONDS``; when due deliveries are left, enqueue itself again (other light tasks
    go first). Not ``acks_late``: a run lost with its worker is redone by the next beat, and a delivery it had
    leased is due again when the lease expires.
    """
    from webhooks.delivery import DeliveryConfig, deliver_due

    app = _app(self)
    report = None
    with _periodic(self):
        report = deliver_due(app.pipeline_context().sessions, DeliveryConfig.from_settings(app.settings))
        if report.more:
            _send(self, DELIVER_WEBHOOKS)
        if report.attempts or report.fanned_out:
            log.info("webhooks: %d deliveries created, %d attempts: %d delivered, %d to retry, %d dead",
                     report.fanned_out, report.attempts, report.delivered, report.retrying, report.dead)
    if report is None:
        return {"skipped": True}
    return {"fanned_out": report.fanned_out, "attempts": report.attempts, "delivered": report.delivered,
            "retrying": report.retrying, "dead": report.dead}


@shared_task(name=APPLY_RETENTION, bind=True, ignore_result=True)
def apply_retention(self: Task) -> dict[str, Any]:
    """Beat: delete the documents past their retention period (a batch per run; the next run goes on), each with
    its audit tombstone. Not ``acks_late``: a run lost with its worker is redone by the next beat."""
    from mailroom.retention import run_retention

    app = _app(self)
    with log_context(task_id=self.request.id):
        ctx = app.pipeline_context()
        report = run_retention(app.settings, ctx.sessions, ctx.blobs)
    return report.summary()


@shared_task(name=AUDIT_CHECKPOINT, bind=True, ignore_result=True)
def audit_checkpoint(self: Task) -> dict[str, Any] | None:
    """Beat: append a signed checkpoint of the audit chain's head outside the database
    (``MAILROOM_AUDIT_CHECKPOINT_FILE``) and to the log (``mailroom.audit.write_checkpoint``)."""
    from mailroom import audit, audit_keys

    app = _app(self)
    with log_context(task_id=self.request.id):
        ctx = app.pipeline_context()
        with ctx.session() as session:
            return audit.write_checkpoint(session, audit_keys.checkpoint_file(app.settings))


RETRAIN_SOFT_LIMIT_SECONDS = 1800
"""Retraining generates letters and trains two models: minutes, not the seconds of a page task."""


@shared_task(
    name=RETRAIN_MODELS, bind=True, ignore_result=True,
    soft_time_limit=RETRAIN_SOFT_LIMIT_SECONDS, time_limit=RETRAIN_SOFT_LIMIT_SECONDS + 60,
)
def retrain_models(self: Task, count: int | None = None, seed: int | None = None) -> dict[str, Any]:
    """Beat: retrain both recognition models on generated letters plus the corrections (labels); each is promoted
    only if it is at least as good as the current one on held-back data. Returns (and logs) the report.

    ``count``/``seed``: generated letters to train on (default: ``routing.training.DEFAULT_COUNT``/``_SEED``).
    Not ``acks_late``: a retraining lost with its worker is simply done by the next scheduled run.
    """
    from routing.training import DEFAULT_COUNT, DEFAULT_SEED, retrain  # scikit-learn: only when training

    app = _app(self)
    with log_context(task_id=self.request.id), app.pipeline_context().session() as session:
        report = retrain(app.settings, session, count=count or DEFAULT_COUNT,
                         seed=DEFAULT_SEED if seed is None else seed, actor="beat")
    summary: dict[str, Any] = {
        "generated_rows": report.generated_rows,
        "correction_rows": report.correction_rows,
        "heldout_rows": report.heldout_rows,
    }
    for kind, promotion in (("document_type", report.document_type), ("postbox", report.postbox)):
        summary[kind] = {"promoted": promotion.promoted, "version": promotion.version, "reason": promotion.reason}
        log.info("retrained %s model: %s (version %s): %s", kind,
                 "promoted" if promotion.promoted else "kept the current one", promotion.version, promotion.reason)
    return summary


# --- helpers ---------------------------------------------------------------------------------------------


def _send(task: Task, name: str, *args: Any, queue: str = DEFAULT_QUEUE) -> None:
    task.app.send_task(name, args=list(args), queue=queue)


@contextmanager
def _guarded(
    task: Task, document_id: str, states: Collection[DocumentState], *, page: int | None = None
) -> Iterator[PipelineContext]:
    """Run a task body for one document: log context, retries for transient errors, ``failed`` for permanent ones
    and, at once with ``internal_error``, for any other exception (a bug, an input nobody foresaw) but those of the
    environment (:data:`workers.pipeline.ENVIRONMENT_ERRORS`)."""
    try:
        ctx = _app(task).pipeline_context()
    except TransientError as exc:  # the database locked or unreachable while the pool process sets up: later
        retries = int(task.request.retries or 0)
        countdown = min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2**retries)
        log.warning("%s; retry %d of %d in %.0f s", exc, retries + 1, RETRIES, countdown)
        raise task.retry(exc=exc, countdown=countdown, max_retries=RETRIES) from exc
    with log_context(document_id=document_id, page=page, task_id=task.request.id):
        try:
            yield ctx
        except SoftTimeLimitExceeded as exc:
            _handle(task, ctx, document_id, states, ToolTimeout(f"task {task.name} ran out of time"), exc)
        except MailroomError as exc:
            _handle(task, ctx, document_id, states, exc, exc)
        except OSError as exc:  # a read-only or full data directory: retried with back-off like any transient
            unavailable = storage_error(exc)
            if unavailable is None:
                raise
            _handle(task, ctx, document_id, states, unavailable, exc)
        except pipeline.ENVIRONMENT_ERRORS:
            raise  # database or disk: the retries and the sweeper (and the attempt budget) deal with it
        except Exception as exc:
            error = pipeline.unexpected(exc, task.name.rsplit(".", 1)[-1].replace("_", " "))
            pipeline.log_unexpected(error, exc)
            pipeline.fail(document_id, error, ctx, task_id=task.request.id)


def _handle(
    task: Task,
    ctx: PipelineContext,
    document_id: str,
    states: Collection[DocumentState],
    error: MailroomError,
    cause: BaseException,
) -> None:
    if isinstance(error, InvalidTransition) and not _in_states(ctx, document_id, states):
        log.info("another task moved the document on first: %s", error)
        return
    retries = int(task.request.retries or 0)
    if not error.permanent and retries < RETRIES:
        countdown = min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2**retries)
        log.warning("%s; retry %d of %d in %.0f s", error, retries + 1, RETRIES, countdown)
        raise task.retry(exc=cause, countdown=countdown, max_retries=RETRIES)
    log.warning("failed: %s", error)
    pipeline.fail(document_id, error, ctx, task_id=task.request.id)


def _in_states(ctx: PipelineContext, document_id: str, states: Collection[DocumentState]) -> bool:
    with ctx.session(readonly=True) as session:
        row = repository.get_document(session, document_id)
        return row is not None and DocumentState(row.state) in states


def _touch(ctx: PipelineContext, document_id: str, states: Collection[DocumentState], step: str) -> bool:
    """Count the attempt (which tells the sweeper the document is being worked on) if there is work to do.

    A document over its attempt budget (:func:`repository.attempt_budget`) is failed with ``attempts_exhausted``
    instead: its tasks keep dying with their worker process (a poison page) or its messages keep coming back.
    """
    with ctx.session() as session:
        row = repository.get_document(session, document_id)
        if row is None:
            log.warning("no such document")
            return False
        if DocumentState(row.state) not in states:
            log.info("nothing to do: the document is %s", row.state)
            return False
        attempts = repository.note_attempt(session, row)
        budget = repository.attempt_budget(row, ctx.settings.max_attempts_per_step)
    if attempts > budget:
        error = AttemptsExhausted(
            f"{attempts - 1} task starts without finishing, the budget is {budget} ("
            f"MAILROOM_MAX_ATTEMPTS_PER_STEP per page and stage); last attempted: {step}. The worker log tells why "
            "its process died; `mailroom process FILE` runs the document again once that is fixed",
            attempts=attempts - 1,
        )
        log.error("giving up: %s", error.message)
        pipeline.fail(document_id, error, ctx)
        return False
    return True



def _page_done(session: Session, document_id: str, page: int) -> bool:
    return bool(repository.page_artifacts(session, document_id, kind=ArtifactKind.PAGE_JSON, page=page))


def _unread_pages(session: Session, document_id: str, info: FileInfo) -> list[int]:
    if info.kind is FileKind.XML:  # an e-invoice has no pages to read
        return []
    done = {row.page for row in repository.page_artifacts(session, document_id, kind=ArtifactKind.PAGE_JSON)}
    return [number for number in range(1, info.page_count + 1) if number not in done]


def _plan_pages(ctx: PipelineContext, document_id: str, info: FileInfo, task_id: str | None) -> list[int] | None:
    """The pages still to read (the document is ``separated`` now), or None when the pages are done with."""
    with ctx.session() as session:
        row = repository.get_document(session, document_id)
        if row is None or DocumentState(row.state) not in PAGE_STATES:
            return None
        if row.state == S.RECEIVED and info.kind is not FileKind.XML:
            repository.transition(session, row, S.SEPARATED, reason=f"{info.page_count} pages planned",
                                  task_id=task_id)
        return _unread_pages(session, document_id, info)


def _claim_pages_read(ctx: PipelineContext, document_id: str, info: FileInfo, task_id: str | None) -> bool:
    """True for the one caller that finds every page read and moves the document to ``ocr``.

    The count and the conditional state change are one transaction: concurrent callers that both count every
    page get one winner; the loser's :class:`~mailroom.errors.StateConflict` is handled by
    :func:`_guarded` (the document has moved on).
    """
    with ctx.session() as session:
        row = repository.get_document(session, document_id)
        if row is None or DocumentState(row.state) not in PAGE_STATES or _unread_pages(session, document_id, info):
            return False
        repository.transition(session, row, S.OCR, reason="every page read", task_id=task_id)
        return True

