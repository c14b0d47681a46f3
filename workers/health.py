"""Is the worker (and its beat) of this machine alive? ``mailroom health worker [--beat]``, from the heartbeats.

A container's healthcheck used to ask ``pgrep -f 'mailroom worker'``: a process that exists, whatever it does. The
heartbeats (``service_heartbeats``, :mod:`mailroom.storage.heartbeats`) say more: a worker writes its row every 10 s
only while its consumer runs and is connected to the broker, with the queues it consumes (none: an OCR worker
without its tools idles), and the beat writes its own row from its ticks. :func:`local_health` judges the rows of
this host: healthy when a worker process of this host that still runs has beaten within
:data:`~mailroom.storage.heartbeats.STALE_AFTER_SECONDS` and consumes a queue, and (``beat=True``) the beat of this
host has beaten within that time too.

The exit status follows Docker's healthcheck convention: 0 healthy, 1 unhealthy (also when the database cannot be
read: nothing can be told then). One line for the log of the healthcheck, German first, then English; the database
URL (with its password) is never printed, and the command takes no secret on its command line.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import make_url

from mailroom.settings import Settings
from mailroom.storage import heartbeats
from mailroom.storage.db import make_engine, session_factory, session_scope
from mailroom.storage.models import utcnow

HEALTHY = 0
UNHEALTHY = 1


@dataclass(frozen=True)
class Health:
    ok: bool
    message: str  # one line: German / English

    @property
    def exit_code(self) -> int:
        return HEALTHY if self.ok else UNHEALTHY


def process_runs(pid: int) -> bool:
    """Whether ``pid`` runs on this machine (in this PID namespace; a zombie has ended)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        try:
            os.kill(pid, 0)  # no /proc (not Linux): exists at least
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return fields[0] != "Z"


def local_health(rows: list[heartbeats.HeartbeatRow], *, host: str, beat: bool = False,
                 now: datetime | None = None, runs: Callable[[int], bool] = process_runs) -> Health:
    """Judge the heartbeats of ``host`` (see the module docstring)."""
    now = now or utcnow()
    stale = heartbeats.STALE_AFTER_SECONDS

    def live(role: str) -> list[tuple[float, heartbeats.HeartbeatRow]]:
        found = [(max(0.0, (now - row.beat_at).total_seconds()), row) for row in rows
                 if row.role == role and row.host == host]
        return sorted((age, row) for age, row in found if age <= stale and runs(row.pid))

    workers = live(heartbeats.WORKER)
    if not workers:
        return Health(False, f"UNGESUND: kein Worker auf {host} hat in den letzten {stale:.0f} s einen Herzschlag "
                             f"geschrieben / UNHEALTHY: no worker on {host} wrote a heartbeat within {stale:.0f} s")
    working = [(age, row) for age, row in workers if row.queues]
    if not working:
        age, row = workers[0]
        return Health(False, f"UNGESUND: Worker {row.name} nimmt keine Arbeit an (Werkzeuge fehlen: {row.detail}) "
                             f"/ UNHEALTHY: worker {row.name} consumes no queue (tools missing)")
    age, row = working[0]
    tools = "" if row.tools_ok else "; ohne OCR-Werkzeuge / without OCR tools"
    said = f"Worker {row.name}, Warteschlangen / queues {row.queues}, Herzschlag vor / heartbeat {age:.0f} s{tools}"
    if beat:
        beats = live(heartbeats.BEAT)
        if not beats:
            return Health(False, f"UNGESUND: der Beat auf {host} hat in den letzten {stale:.0f} s keinen Herzschlag "
                                 f"geschrieben / UNHEALTHY: no beat heartbeat on {host} within {stale:.0f} s ({said})")
        said += f"; Beat {beats[0][1].pid}, Herzschlag vor / heartbeat {beats[0][0]:.0f} s"
    return Health(True, f"GESUND / HEALTHY: {said}")


def check_worker(settings: Settings, *, beat: bool = False, host: str | None = None) -> Health:
    """Read the heartbeats and judge this host's (``mailroom health worker``)."""
    host = host or socket.gethostname()
    try:
        engine = make_engine(settings)
        try:
            with session_scope(session_factory(engine), readonly=True) as session:
                rows = heartbeats.heartbeats(session)
                session.expunge_all()
        finally:
            engine.dispose()
    except Exception as exc:  # the database cannot be read: unhealthy, and why (never its URL)
        reason = str(getattr(exc, "orig", None) or exc).strip().split("\n")[0][:200] or type(exc).__name__
        password = make_url(settings.resolved_database_url).password
        if password:
            reason = reason.replace(str(password), "***")
        return Health(False, f"UNGESUND: Herzschläge nicht lesbar / UNHEALTHY: heartbeats not readable: {reason}")
    return local_health(rows, host=host, beat=beat)
