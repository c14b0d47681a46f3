"""The beat's scheduler: the schedule's last runs in the database, a heartbeat, and no file in the data directory.

Celery's default scheduler keeps the last runs in a shelve file (``celerybeat-schedule``); a data directory that
was read-only for 50 s killed the beat with it, while its worker lived on: no sweeps, webhook retries, retention
or retraining afterwards. :class:`DatabaseScheduler` stores the last runs in ``beat_schedule`` (so that a daily
retention still runs daily across restarts) and writes the beat's heartbeat (``service_heartbeats``, read by
``/readyz`` and ``/metrics``). A database that cannot be written is logged and tried again at the next sync: the
schedule goes on from memory meanwhile.

A beat that dies all the same (killed, a bug, the out-of-memory killer) inside ``mailroom worker --beat`` must not
leave its worker running without a schedule: :class:`BeatWatch`, a thread of the worker's main process, sees the
beat's process end, shuts the worker down warmly (running tasks finish) and ``mailroom worker`` exits with
:data:`BEAT_DIED_EXIT_CODE`, so that its supervisor (``mailroom serve``, compose's ``restart:``, systemd) starts
worker and beat again, as it does for any other crash, and the restart shows in its log and restart count.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from typing import Any

from celery.beat import Scheduler
from sqlalchemy.orm import Session, sessionmaker

from mailroom.storage import heartbeats
from mailroom.storage.db import make_engine, session_factory, session_scope

log = logging.getLogger(__name__)


class DatabaseScheduler(Scheduler):
    """Celery beat scheduler whose state lives in the database (see the module docstring)."""

    sync_every = heartbeats.HEARTBEAT_SECONDS

    def __init__(self, app: Any, *args: Any, **kwargs: Any) -> None:
        self._sessions: sessionmaker[Session] | None = None
        self._name = f"beat-{os.getpid()}@{socket.gethostname()}"
        self._last_heartbeat = 0.0
        self._failing = False
        super().__init__(app, *args, **kwargs)

    def _session_factory(self) -> sessionmaker[Session]:
        if self._sessions is None:
            self._sessions = session_factory(make_engine(self.app.settings))
        return self._sessions

    def setup_schedule(self) -> None:
        self.merge_inplace(self.app.conf.beat_schedule)
        try:
            with session_scope(self._session_factory(), readonly=True) as session:  # values read inside
                stored = {name: (row.last_run_at, row.total_run_count)
                          for name, row in heartbeats.schedule(session).items()}
        except Exception as exc:  # the schedule starts from now then; runs are stored once the database is back
            log.warning("beat: last runs not loaded (%s): the schedule starts from now", exc)
            return
        for name, (last_run_at, count) in stored.items():
            entry = self.data.get(name)
            if entry is not None:
                entry.last_run_at = last_run_at
                entry.total_run_count = count

    def sync(self) -> None:
        runs = {name: (entry.last_run_at, entry.total_run_count) for name, entry in self.data.items()}
        self._write(lambda session: heartbeats.save_schedule(session, runs))

    def tick(self, *args: Any, **kwargs: Any) -> float:
        interval = float(super().tick(*args, **kwargs))
        if time.monotonic() - self._last_heartbeat >= heartbeats.HEARTBEAT_SECONDS:
            self._last_heartbeat = time.monotonic()
            self._write(lambda session: heartbeats.beat(
                session, name=self._name, role=heartbeats.BEAT, host=socket.gethostname(), pid=os.getpid(),
                detail=", ".join(sorted(self.data)),
            ))
        return min(interval, heartbeats.HEARTBEAT_SECONDS)

    def _write(self, write: Any) -> None:
        try:
            with session_scope(self._session_factory()) as session:
                write(session)
        except Exception as exc:  # never the end of the beat: tried again at the next tick or sync
            if not self._failing:
                log.error("beat: cannot write to the database (%s); the schedule goes on, tried again", exc)
            self._failing = True
        else:
            if self._failing:
                log.info("beat: the database takes writes again")
            self._failing = False


#: ``mailroom worker --beat`` exits with this when its embedded beat died (the supervisor starts both again).
BEAT_DIED_EXIT_CODE = 3
#: How often the watch looks at the beat's process.
WATCH_SECONDS = 1.0


class BeatWatch:
    """Ends the worker (warm shutdown) when its embedded beat process died; see the module docstring.

    ``start`` once the worker is ready (the beat is forked then), ``stop`` when the worker shuts down for any
    other reason (its own shutdown stops the beat: that is no death to react to).
    """

    def __init__(self, worker: Any, interval: float = WATCH_SECONDS) -> None:
        self.worker = worker
        self.interval = interval
        self.died = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mailroom-beat-watch", daemon=True)

    def start(self) -> None:
        if not self._thread.is_alive() and not self._stop.is_set():
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            process = getattr(self.worker, "beat", None)
            if process is None or process.is_alive() or self._stop.is_set():
                continue
            self.died = True
            log.error("the embedded beat (process %s) died with exit code %s: stopping this worker so that its "
                      "supervisor starts worker and beat again", process.pid, process.exitcode)
            os.kill(os.getpid(), signal.SIGTERM)  # Celery's warm shutdown: running tasks finish
            return
