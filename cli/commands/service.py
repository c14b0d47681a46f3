"""``mailroom worker`` and ``mailroom serve``: the service.

* ``mailroom worker [--concurrency N] [--queues ocr,default] [--beat]``: a Celery worker with N pool processes
  (default: the machine's cores) on the broker of the settings (Redis, or the embedded SQLite broker);
  ``--beat`` also runs the schedule (the sweeper) in it — exactly one process of a deployment should; if that
  beat dies, the worker stops warmly and exits with 3 so that its supervisor starts both again.
* ``mailroom serve [--host --port]``: the REST API (uvicorn). In the embedded mode (no ``MAILROOM_BROKER_URL``) it
  also starts and supervises the workers: one for the ``ocr`` queue with one pool process per core, one for the
  ``default`` queue with the sweeper; they are stopped cleanly (warm shutdown: running tasks finish) on SIGTERM
  or SIGINT, and die with it if it is killed. With a broker URL it runs only the API.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from functools import partial
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer

from cli.common import DataDirOption, check_data_dir
from mailroom.logs import configure_logging
from mailroom.settings import Settings

log = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 60.0
"""How long ``serve`` waits for its workers' running tasks before killing them (the sweeper redoes those)."""
RESTART_DELAY_SECONDS = 2.0
LIGHT_WORKER_CONCURRENCY = 2



def _settings(data_dir: Path | None) -> Settings:
    settings = Settings()
    if data_dir is not None:
        settings = settings.model_copy(update={"data_dir": data_dir})
    configure_logging(settings.log_level, settings.log_format)
    check_data_dir(settings)
    return settings


def worker(
    concurrency: Annotated[int | None, typer.Option(help="Pool processes; default: the number of cores")] = None,
    queues: Annotated[str, typer.Option(help="Queues to consume, comma-separated: ocr, default")] = "ocr,default",
    beat: Annotated[bool, typer.Option(
        help="Also run the schedule (the sweeper); one per deployment. If the beat dies, the worker exits "
             "with status 3 (its supervisor starts both again)")] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Run a Celery worker: reads pages, assembles documents, sweeps stuck ones (with --beat)."""
    from mailroom.startup import keep_start_up_objects, without_gc

    with without_gc():  # start-up: imports, the tasks, the pipeline; many long-lived objects, no garbage
        instance, heartbeat, watch = _start_worker(concurrency, queues, beat, data_dir)
    if instance is None:
        heartbeat()  # an OCR-only worker without its tools
    keep_start_up_objects()  # before the pool processes are forked (instance.start)
    try:
        instance.start()
    finally:
        heartbeat.stop()
        if watch is not None:
            watch.stop()
    if watch is not None and watch.died:
        from workers.beat import BEAT_DIED_EXIT_CODE

        raise typer.Exit(BEAT_DIED_EXIT_CODE)
    raise typer.Exit(int(instance.exitcode or 0))


def _start_worker(concurrency: int | None, queues: str, beat: bool, data_dir: Path | None) -> tuple[Any, Any, Any]:
    """The Celery worker built (tasks imported, not yet started), its heartbeat and its beat watch (with --beat)."""
    from celery.signals import setup_logging, worker_ready, worker_shutting_down

    from mailroom.storage.db import make_engine, migrate
    from workers.celery_app import OCR_QUEUE, QUEUES, create_celery
    from workers.heartbeat import Heartbeat, check_tools

    names = [q.strip() for q in queues.split(",") if q.strip()]
    unknown = sorted(set(names) - set(QUEUES))
    if unknown or not names:
        raise typer.BadParameter(f"unknown queue(s) {unknown}; choose from {list(QUEUES)}", param_hint="--queues")
    settings = _settings(data_dir)
    setup_logging.connect(_keep_mailroom_logging, weak=False)  # Celery leaves our handlers alone
    engine = make_engine(settings)
    migrate(engine)  # the heartbeat and the beat's schedule need their tables before the first task runs
    engine.dispose()
    tools = check_tools(settings)
    recheck = None
    if OCR_QUEUE in names and not tools.ok:
        # no OCR work without the tools: another worker takes the pages; once they work, a restart takes it up
        log.error("refusing OCR work (queue %s): %s", OCR_QUEUE, tools.detail)
        names = [n for n in names if n != OCR_QUEUE]
        recheck = partial(check_tools, settings)
    app = create_celery(settings, worker=True)
    hostname = f"mailroom-{os.getpid()}@{socket.gethostname()}"
    if not names:  # an OCR-only worker without its tools: only its heartbeat, until the tools work
        return None, partial(_idle_until_the_tools_work, settings, hostname, tools), None
    instance = app.Worker(
        hostname=hostname,
        concurrency=concurrency or os.cpu_count() or 1,
        queues=names,
        beat=beat,
        loglevel=settings.log_level,
        quiet=True,
        without_gossip=True,
        without_mingle=True,
        without_heartbeat=True,
    )
    log.info("worker for queues %s with %d processes (broker: %s)", ",".join(names), instance.concurrency,
             "redis" if settings.broker_url else "embedded SQLite")
    heartbeat = Heartbeat(settings, hostname, names, tools, recheck=recheck, running=partial(_consuming, instance))
    # the heartbeat thread starts once the pool and the beat are forked (no thread is copied into a fork)
    worker_ready.connect(lambda **_: heartbeat.start(), weak=False)
    watch = None
    if beat:  # a beat that dies ends its worker: the supervisor starts both again
        from workers.beat import BeatWatch  # with Celery's beat: only a worker that runs it imports them

        watch = BeatWatch(instance)
        worker_ready.connect(lambda **_: watch.start(), weak=False)
        worker_shutting_down.connect(lambda **_: watch.stop(), weak=False)
    return instance, heartbeat, watch


def _idle_until_the_tools_work(settings: Settings, hostname: str, tools: Any) -> None:
    """Only the worker's heartbeat (no queues), until the OCR tools work; then exit for a restart."""
    from workers.heartbeat import RECHECK_SECONDS, Heartbeat, check_tools

    idle = Heartbeat(settings, hostname, [], tools)
    idle.start()
    while not check_tools(settings).ok:
        time.sleep(RECHECK_SECONDS)
    idle.stop()
    log.warning("the OCR tools work now: restarting the worker to take OCR work")
    raise typer.Exit(0)  # the supervisor starts it again (mailroom serve, compose's restart policy)


def _consuming(instance: Any) -> bool:
    """Whether the Celery worker's consumer runs (its blueprint is started, not closing) and is connected to the
    broker (Celery clears ``consumer.connection`` when it loses the broker, until it has reconnected)."""
    from celery.bootsteps import RUN

    consumer = getattr(instance, "consumer", None)
    blueprint = getattr(consumer, "blueprint", None)
    return blueprint is not None and blueprint.state == RUN and getattr(consumer, "connection", None) is not None


def _keep_mailroom_logging(**_: Any) -> None:
    """Receiver of Celery's ``setup_logging``: logging is configured already (``configure_logging``)."""


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    concurrency: Annotated[int | None, typer.Option(
        help="Embedded mode: OCR worker processes; default: the number of cores")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Run the service: the REST API, and in the embedded mode (no MAILROOM_BROKER_URL) the workers too."""
    import uvicorn

    from api.app import create_app
    from workers.celery_app import DEFAULT_QUEUE, OCR_QUEUE, create_celery
    from workers.dispatch import CeleryDispatcher

    settings = _settings(data_dir)
    dispatcher = CeleryDispatcher(create_celery(settings))
    api = create_app(settings, dispatcher=dispatcher)
    workers: WorkerProcesses | None = None
    if not settings.broker_url:
        cores = concurrency or os.cpu_count() or 1
        children = [
            ["worker", "--queues", OCR_QUEUE, "--concurrency", str(cores)],
            ["worker", "--queues", DEFAULT_QUEUE, "--concurrency", str(LIGHT_WORKER_CONCURRENCY), "--beat"],
        ]
        if settings.mailboxes_file is not None:  # the e-mail intake (docs/mail.md) runs with the workers
            children.append(["mail", "run"])
        workers = WorkerProcesses(settings, children)
        workers.start()
    # uvicorn stops on SIGTERM, restores this handler and raises the signal again: leave through ``finally``
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        uvicorn.run(api, host=host, port=port, log_config=None, access_log=False)
    finally:
        if workers is not None:
            workers.stop()


def _exit_on_signal(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


class WorkerProcesses:
    """Child processes of ``serve`` (``mailroom worker ...``, ``mailroom mail run``): restarted when they die,
    stopped with it."""

    def __init__(self, settings: Settings, arguments: list[list[str]]) -> None:
        self.env = {**os.environ, "MAILROOM_DATA_DIR": str(settings.data_dir)}
        if settings.mailboxes_file is not None:
            self.env["MAILROOM_MAILBOXES_FILE"] = str(settings.mailboxes_file)
        self.commands = [[sys.executable, "-m", "cli", *args] for args in arguments]
        self.processes: list[subprocess.Popen[bytes]] = []
        self._stopping = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="mailroom-workers", daemon=True)

    def start(self) -> None:
        self.processes = [self._spawn(command) for command in self.commands]
        self._watcher.start()

    def _spawn(self, command: list[str]) -> subprocess.Popen[bytes]:
        # own session: a Ctrl-C in the terminal reaches serve only, which stops each worker with one SIGTERM
        process = subprocess.Popen(command, env=self.env, start_new_session=True, preexec_fn=_die_with_parent)
        log.info("started %d: mailroom %s", process.pid, " ".join(command[3:]))
        return process

    def _watch(self) -> None:
        while not self._stopping.wait(1.0):
            for index, process in enumerate(self.processes):
                if process.poll() is not None and not self._stopping.is_set():
                    log.error("worker %d exited with %s; starting it again", process.pid, process.returncode)
                    time.sleep(RESTART_DELAY_SECONDS)
                    self.processes[index] = self._spawn(self.commands[index])

    def stop(self) -> None:
        """Warm shutdown (SIGTERM: running tasks finish); what does not stop in time is killed."""
        self._stopping.set()
        if self._watcher.is_alive():
            self._watcher.join()
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for process in self.processes:
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("worker %d did not stop in time; killing it", process.pid)
            # the pool processes too: they are in the worker's own process group
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child before exec (Linux): get SIGTERM when serve dies, even by ``kill -9``."""
    if sys.platform == "linux":
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def register(main: typer.Typer) -> None:
    main.command()(worker)
    main.command()(serve)
