"""A worker's tool check at start and its heartbeat (``service_heartbeats``, see :mod:`mailroom.storage.heartbeats`).

The heartbeat is written only while the worker's consumer runs and is connected to the broker (``running``): a
worker whose consumer stopped or lost its broker goes stale in ``/readyz`` and ``mailroom health worker``
(:mod:`workers.health`).

A worker started without Tesseract (or its language model) or Poppler used to take OCR tasks and fail every
document with ``tool_missing``. Now ``mailroom worker`` checks its tools before it consumes a queue: without them
it does not consume the ``ocr`` queue (another worker takes the pages), says so in its log and its heartbeat
(``/readyz``: ``workers``), checks again every :data:`RECHECK_SECONDS`, and once the tools work it shuts down
warmly so that its supervisor (``mailroom serve``, compose's restart policy) starts it again with the OCR queue.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass

from intake import poppler as poppler_module
from intake import tesseract as tesseract_module
from intake.poppler import check_poppler
from intake.tesseract import TesseractEngine
from mailroom.settings import Settings
from mailroom.storage import heartbeats
from mailroom.storage.db import fork_guard, make_engine, session_factory, session_scope

log = logging.getLogger(__name__)

#: How often a worker without its tools looks again.
RECHECK_SECONDS = 30.0


@dataclass(frozen=True)
class ToolCheck:
    ok: bool
    detail: str


def check_tools(settings: Settings) -> ToolCheck:
    """Tesseract with the configured language(s) and Poppler, as the OCR stage calls them (afresh: the versions
    and languages are cached per process, and a check after an install must see it)."""
    tesseract_module._installation.cache_clear()
    poppler_module._version.cache_clear()
    try:
        tesseract = TesseractEngine.from_settings(settings).check()
        poppler = check_poppler(settings.tool_timeout_seconds)
    except Exception as exc:  # ToolMissing, ToolFailed, a timeout: all mean "no OCR work here"
        return ToolCheck(False, str(exc) or type(exc).__name__)
    return ToolCheck(True, f"{tesseract} ({settings.ocr_language}); {poppler}")


class Heartbeat:
    """A daemon thread of the worker's main process that writes its heartbeat every HEARTBEAT_SECONDS."""

    def __init__(self, settings: Settings, name: str, queues: list[str], tools: ToolCheck, *,
                 recheck: Callable[[], ToolCheck] | None = None, running: Callable[[], bool] | None = None) -> None:
        self.settings = settings
        self.name = name
        self.queues = queues
        self.tools = tools
        self.recheck = recheck
        self.running = running  # whether the worker's consumer runs: no heartbeat without it
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mailroom-heartbeat", daemon=True)
        self._failing = False

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        sessions = session_factory(make_engine(self.settings))
        since_check = 0.0
        while True:
            self.write(sessions)
            if self._stop.wait(heartbeats.HEARTBEAT_SECONDS):
                return
            since_check += heartbeats.HEARTBEAT_SECONDS
            if self.recheck is not None and since_check >= RECHECK_SECONDS:
                since_check = 0.0
                if self.recheck().ok:
                    log.warning("the OCR tools work now: restarting the worker to take OCR work")
                    os.kill(os.getpid(), signal.SIGTERM)  # warm shutdown; the supervisor starts it again
                    return

    def write(self, sessions: object) -> None:
        if self.running is not None and not self.running():
            if not self._failing:
                log.warning("heartbeat not written: the worker's consumer does not run")
            self._failing = True
            return
        try:
            # the main process forks a new pool process whenever one dies: never in the middle of this write,
            # or that pool process could never write to SQLite (see mailroom.storage.db, "fork")
            with fork_guard(), session_scope(sessions) as session:  # type: ignore[arg-type]
                heartbeats.beat(
                    session, name=self.name, role=heartbeats.WORKER, host=socket.gethostname(), pid=os.getpid(),
                    queues=",".join(self.queues), tools_ok=self.tools.ok, detail=self.tools.detail,
                )
        except Exception as exc:  # a database outage must not end the worker: the next beat tries again
            if not self._failing:
                log.warning("heartbeat not written: %s", exc)
            self._failing = True
        else:
            self._failing = False
