"""Structured logging with document / page / task context.

Stages log through the standard :mod:`logging` module; :func:`log_context` binds ``document_id``, ``page`` and
``task_id`` for everything logged inside it (context variables, so it is safe in threads and asyncio).
``configure_logging`` chooses human-readable lines or one JSON object per line, always on stderr so that
``mailroom process --json`` keeps stdout for results.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

_CONTEXT: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("mailroom_log_context", default={})  # noqa: B039

CONTEXT_KEYS = ("document_id", "page", "task_id", "station")


@contextmanager
def log_context(**values: Any) -> Iterator[None]:
    """Bind context values (document_id, page, task_id, ...) to every record logged inside the block."""
    merged = {**_CONTEXT.get(), **{k: v for k, v in values.items() if v is not None}}
    token = _CONTEXT.set(merged)
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def current_context() -> dict[str, Any]:
    return dict(_CONTEXT.get())


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.mailroom_context = _CONTEXT.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, context and extra fields."""

    _RESERVED = frozenset(vars(logging.makeLogRecord({})).keys()) | {"mailroom_context", "message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        out.update(getattr(record, "mailroom_context", {}))
        for key, value in vars(record).items():
            if key not in self._RESERVED and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


class ConsoleFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ctx = getattr(record, "mailroom_context", {})
        prefix = " ".join(f"{k}={ctx[k]}" for k in CONTEXT_KEYS if k in ctx)
        base = f"{record.levelname.lower():7} {record.name}: {record.getMessage()}"
        if prefix:
            base = f"{base} [{prefix}]"
        if record.exc_info:
            base += "\n" + self.formatException(record.exc_info)
        return base


def configure_logging(level: str = "INFO", fmt: str = "console") -> None:
    """Configure the root logger once: stderr, chosen format, context filter."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_ContextFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else ConsoleFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_mailroom", False):
            root.removeHandler(old)
    handler._mailroom = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    for noisy in ("alembic", "PIL"):  # their INFO lines are not news for a mailroom operator
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
