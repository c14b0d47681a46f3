"""Readiness of the service (``GET /readyz``): can it take and process documents right now?

Checks: the database answers and its schema is at the heads of the shipped migrations (for SQLite also: the
database file is still where the settings say, not deleted under a running process); the blob folder is
writable; Tesseract with the configured language and Poppler are installed; the broker answers, when the
dispatcher can tell (an optional ``ready()`` method; the embedded dispatcher has none).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from api.schemas import MailboxHealth
from intake.poppler import check_poppler
from intake.tesseract import TesseractEngine
from mailroom.settings import Settings
from mailroom.storage import mail as mail_storage
from mailroom.storage.db import head_revision, schema_revision, session_scope
from workers.pipeline import PipelineContext


@runtime_checkable
class ReportsReadiness(Protocol):
    """Optional part of a dispatcher: ``ready()`` is False (or raises) when its broker cannot be reached."""

    def ready(self) -> bool: ...


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
