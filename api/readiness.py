"""Readiness of the service (``GET /readyz``): can it take and process documents right now?

Checks: the database answers and its schema is at the heads of the shipped migrations (for SQLite also: the
database file is still where the settings say, not deleted under a running process); the blob folder is
writable; Tesseract with the configured language and Poppler are installed; the broker answers, when the
dispatcher can tell (an optional ``ready()`` method; the embedded dispatcher has none). When documents go to
Celery workers (a dispatcher with ``expects_workers()``): the beat's heartbeat is fresh, and a live worker with
working tools consumes each queue (``workers``): a dead beat or a deployment whose OCR workers all lack
Tesseract is not ready (:mod:`mailroom.storage.heartbeats`). For :data:`STARTUP_GRACE_SECONDS` after the API
started, no heartbeat at all is no failure (the workers start with it).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from api.schemas import MailboxHealth
from intake.poppler import check_poppler
from intake.tesseract import TesseractEngine
from mailroom.settings import Settings
from mailroom.storage import heartbeats
from mailroom.storage import mail as mail_storage
from mailroom.storage.db import head_revision, schema_revision, session_scope
from workers.celery_app import QUEUES
from workers.pipeline import PipelineContext


@runtime_checkable
class ReportsReadiness(Protocol):
    """Optional part of a dispatcher: ``ready()`` is False (or raises) when its broker cannot be reached."""

    def ready(self) -> bool: ...


@runtime_checkable
class RunsWorkers(Protocol):
    """Optional part of a dispatcher: documents are processed by separate worker processes and a beat."""

    def expects_workers(self) -> bool: ...


#: After the API starts, workers and the beat have this long to write their first heartbeat.
STARTUP_GRACE_SECONDS = 120.0
_STARTED = time.monotonic()


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str


def _database(ctx: PipelineContext) -> str:
    engine = ctx.sessions.kw["bind"]
    url = engine.url
    sqlite_file = url.database if url.get_backend_name() == "sqlite" and url.database != ":memory:" else None
    if sqlite_file and not Path(sqlite_file).is_file():
        raise RuntimeError("the SQLite database file is missing")
    current = schema_revision(engine)
    expected = head_revision()
    if current != expected:
        raise RuntimeError(f"schema at {current or 'nothing'}, expected {expected}: run the migrations")
    return f"schema {current}"


def _blobs(settings: Settings) -> str:
    directory = settings.blob_dir / ".tmp"
    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="readyz-", dir=directory)
    try:
        os.write(fd, b"ok")
    finally:
        os.close(fd)
        os.unlink(name)
    return "writable"


def _tesseract(settings: Settings) -> str:
    version = TesseractEngine.from_settings(settings).check()
    return f"{version} ({settings.ocr_language})"


def _broker(dispatcher: ReportsReadiness) -> str:
    if not dispatcher.ready():
        raise RuntimeError("the broker does not answer")
    return "reachable"


def liveness(ctx: PipelineContext) -> heartbeats.Liveness:
    with session_scope(ctx.sessions, readonly=True) as session:
        return heartbeats.assess(heartbeats.heartbeats(session))


def _in_grace() -> bool:
    return time.monotonic() - _STARTED < STARTUP_GRACE_SECONDS


def _beat(ctx: PipelineContext) -> str:
    live = liveness(ctx)
    if live.beat_alive:
        return f"heartbeat {live.beat_age_seconds:.0f} s ago"
    if live.beat_age_seconds is None and _in_grace():
        return "starting: no heartbeat yet"
    seen = "never" if live.beat_age_seconds is None else f"{live.beat_age_seconds:.0f} s ago"
    raise RuntimeError(f"the beat is not running (last heartbeat: {seen}): no sweeps, webhook retries, retention")


def _workers(ctx: PipelineContext) -> str:
    live = liveness(ctx)
    missing = [queue for queue in QUEUES if not live.workers.get(queue)]
    refusing = f"; {live.refusing_ocr} without OCR tools" if live.refusing_ocr else ""
    summary = ", ".join(f"{queue}: {live.workers.get(queue, 0)}" for queue in QUEUES) + refusing
    if missing and not (_in_grace() and not live.workers):
        raise RuntimeError(f"no live worker for queue(s) {', '.join(missing)} ({summary})")
    return summary


def _run(name: str, check: Callable[[], str]) -> CheckResult:
    try:
        return CheckResult(name, True, check())
    except Exception as exc:  # every failure is a "not ready" answer, never a crash of the probe
        return CheckResult(name, False, str(exc) or type(exc).__name__)


def check_readiness(settings: Settings, ctx: PipelineContext, dispatcher: object) -> list[CheckResult]:
    """Run every check; the service is ready when all are ``ok``."""
    results = [
        _run("database", lambda: _database(ctx)),
        _run("blobs", lambda: _blobs(settings)),
        _run("tesseract", lambda: _tesseract(settings)),
        _run("poppler", lambda: check_poppler(settings.tool_timeout_seconds)),
    ]
    if isinstance(dispatcher, ReportsReadiness):
        results.append(_run("broker", lambda: _broker(dispatcher)))
    if isinstance(dispatcher, RunsWorkers) and dispatcher.expects_workers():
        results.append(_run("beat", lambda: _beat(ctx)))
        results.append(_run("workers", lambda: _workers(ctx)))
    return results


def mailbox_health(ctx: PipelineContext) -> dict[str, MailboxHealth]:
    """Each mailbox's last poll (informative: the API takes uploads whatever a mailbox does)."""
    try:
        with session_scope(ctx.sessions, readonly=True) as session:
            return {
                name: MailboxHealth(
                    ok=not row.consecutive_failures, last_success_at=row.last_success_at,
                    consecutive_failures=row.consecutive_failures or 0,
                    error=f"{row.last_error_code}: {row.last_error_message}" if row.consecutive_failures else None,
                )
                for name, row in mail_storage.statuses(session).items()
            }
    except Exception:  # the database check reports an unreachable database
        return {}
