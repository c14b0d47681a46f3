"""Helpers of the service tests (``test_workers_*.py``): a real ``redis-server`` on a free port, real
``mailroom worker`` / ``mailroom serve`` processes, waiting on the database, and the exactly-once checks."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import redis

from mailroom.settings import Settings
from mailroom.storage import repository
from mailroom.storage.db import make_engine, session_factory, session_scope
from mailroom.storage.models import ArtifactKind

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "sample_docs" / "committed"
SCANS_1P = ["0004-objection.pdf", "0014-authority_notice.pdf", "0016-payment_reminder.pdf",
            "0022-order_confirmation.pdf", "0028-invitation.pdf", "0009-application_housing_benefit.pdf"]
"""One-page scanned PDFs (OCR)."""
SETTLED = {"routed", "review", "failed", "split"}
DONE = {"routed", "review"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.3) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


class RedisServer:
    """A throw-away redis-server without persistence: a restart loses every queued message."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start it; the answering server must be this one (its ``dir``): a free port can be taken by another
        test's server between looking and binding (parallel test workers), then this one takes a new port."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        for _ in range(5):
            self.process = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                 "no", "--dir", str(self.workdir)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            client, process = redis.Redis(port=self.port), self.process
            wait_for(lambda: _pings(client) or process.poll() is not None, 10, "redis-server")  # noqa: B023
            if process.poll() is None and _serves(client, self.workdir):
                return
            process.kill()
            process.wait()
            self.port = free_port()
        raise AssertionError("no port for redis-server")

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()


def _serves(client: redis.Redis, workdir: Path) -> bool:
    """The server answering is the one started with ``workdir`` (not another test's on the same port)."""
    try:
        config = client.config_get("dir")
    except redis.RedisError:
        return False
    value = next(iter(config.values()), None)
    if isinstance(value, bytes):
        value = value.decode()
    return isinstance(value, str) and Path(value).resolve() == workdir.resolve()


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


def service_env(data_dir: Path, broker_url: str | None = None, **extra: str) -> dict[str, str]:
    # a clean MAILROOM_* environment, but the suite's shared models folder (trained once, see tests/conftest.py)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILROOM_") or k == "MAILROOM_MODELS_DIR"}
    env.update({"MAILROOM_DATA_DIR": str(data_dir), "MAILROOM_LOG_LEVEL": "INFO", "MAILROOM_LOG_FORMAT": "json",
                **extra})
    if broker_url:
        env["MAILROOM_BROKER_URL"] = broker_url
    return env


class Process:
    """A ``mailroom`` command in its own process group, its output in a log file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.args, self.env, self.log = args, env, log
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        with open(self.log, "ab") as out:
            self.popen = subprocess.Popen([sys.executable, "-m", "cli", *self.args], env=self.env,
                                          stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=REPO)
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill9(self) -> None:
        """``kill -9`` this process and every process below it."""
        for pid in [*descendants(self.pid), self.pid]:
            _signal(pid, signal.SIGKILL)
        assert self.popen is not None
        self.popen.wait()

    def terminate(self, timeout: float = 90) -> int:
        assert self.popen is not None
        _signal(self.pid, signal.SIGTERM)
        return self.popen.wait(timeout=timeout)

    def stop(self) -> None:
        if self.alive():
            try:
                self.terminate(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill9()
        for pid in descendants(self.pid):
            _signal(pid, signal.SIGKILL)


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def _parents() -> dict[int, int]:
    out: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            out[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return out


def descendants(pid: int, parents: dict[int, int] | None = None) -> list[int]:
    parents = parents if parents is not None else _parents()
    found: list[int] = []
    frontier = [pid]
    while frontier:
        current = frontier.pop()
        children = [child for child, parent in parents.items() if parent == current]
        found.extend(children)
        frontier.extend(children)
    return found


def ocr_running_under(roots: Iterable[int]) -> tuple[int, int] | None:
    """(tesseract pid, pid of the pool process that runs it) for a Tesseract reading a page below one of
    ``roots``. A Tesseract that a worker's main process starts itself is its tool check at start
    (``--list-langs``, ``--version``), not OCR: killing its parent would kill the whole worker."""
    parents = _parents()
    roots = set(roots)
    for root in roots:
        for pid in descendants(root, parents):
            try:
                name = Path(f"/proc/{pid}/comm").read_text().strip()
                args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if name == "tesseract" and parents[pid] not in roots and not {b"--list-langs", b"--version"} & set(args):
                return pid, parents[pid]
    return None


def running(pid: int) -> bool:
    """Whether ``pid`` is a process that runs (not gone, not a zombie waiting to be reaped)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"


# --- the database -----------------------------------------------------------------------------------------


class Database:
    def __init__(self, settings: Settings) -> None:
        self.engine = make_engine(settings)
        self.sessions = session_factory(self.engine)

    def states(self, ids: Iterable[str]) -> dict[str, str]:
        with session_scope(self.sessions, readonly=True) as session:
            return {i: row.state for i in ids if (row := repository.get_document(session, i)) is not None}

    def all_settled(self, ids: list[str]) -> bool:
        states = self.states(ids)
        return len(states) == len(ids) and set(states.values()) <= SETTLED

    def wait_settled(self, ids: list[str], timeout: float) -> dict[str, str]:
        wait_for(lambda: self.all_settled(ids), timeout, f"documents to finish: {self.states(ids)}")
        return self.states(ids)

    def assert_exactly_once(self, document_id: str, *, pages: int) -> None:
        """One result; one page JSON per page; every state entered once; it ends routed or in review."""
        with session_scope(self.sessions, readonly=True) as session:
            row = repository.get_document(session, document_id)
            assert row is not None and row.state in DONE, row and (row.state, row.error_code)
            assert row.result_json is not None
            events = [e.to_state for e in repository.document_events(session, document_id)]
            keys = [(a.page, a.kind) for a in repository.page_artifacts(session, document_id)]
        assert len(events) == len(set(events)), events
        assert events[0] == "received" and events[-1] in DONE, events
        page_json = sorted(page for page, kind in keys if kind == ArtifactKind.PAGE_JSON)
        assert page_json == list(range(1, pages + 1)), page_json
        assert len(keys) == len(set(keys))

    def close(self) -> None:
        self.engine.dispose()


# --- the HTTP API -----------------------------------------------------------------------------------------


def station_key(env: dict[str, str], name: str = "poststelle-1") -> str:
    done = subprocess.run([sys.executable, "-m", "cli", "keys", "create", "--role", "station",
                           "--name", name], env=env, capture_output=True, text=True, check=True, cwd=REPO)
    return done.stdout.strip()


def wait_http(base: str, timeout: float = 60) -> None:
    def up() -> bool:
        try:
            return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(up, timeout, f"the API at {base}")


def upload(base: str, token: str, path: Path) -> str:
    with open(path, "rb") as handle:
        answer = httpx.post(f"{base}/api/v1/documents", headers={"Authorization": f"Bearer {token}"},
                            files={"file": (path.name, handle)}, timeout=60)
    assert answer.status_code == 202, answer.text
    return str(answer.json()["document_id"])


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """Fault injection: ``folder`` read-only for a while, as a file system remounted read-only (a bind mount of it
    onto itself: root ignores file modes), then writable again; the bind mount is detached lazily at the end
    (processes may hold files open in it).

    Without root (``scripts/test.sh`` run by a sudoer, say) nobody may mount: the folder and everything in it lose
    their write permission instead, so that nothing can be created, renamed or opened for writing in it (files
    opened for writing before still take writes: a weaker fault than a read-only file system)."""
    if os.geteuid() != 0:
        with _without_write_permission(folder):
            yield
        return
    # mount(8) binds and remounts read-only in one process, so that the window in which a service can open a file
    # for writing through the new mount (which makes the remount "busy") is a moment, not a command's start-up. A
    # process that got in all the same keeps its file open for good (a pooled database connection, say), so a
    # busy bind mount is detached and a fresh one made, rather than waiting for it.
    for _ in range(50):
        done = subprocess.run(["mount", "--bind", "-o", "ro", str(folder), str(folder)], capture_output=True, text=True)
        if done.returncode == 0 and _is_read_only(folder):
            break
        if _is_mount_point(folder):
            subprocess.run(["umount", "--lazy", str(folder)], check=True)
        time.sleep(0.05)
    else:
        raise RuntimeError(f"could not make {folder} read-only: {done.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["mount", "-o", "remount,rw,bind", str(folder)], check=True)
        subprocess.run(["umount", "--lazy", str(folder)], check=True)


def _is_read_only(folder: Path) -> bool:
    return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)


def _is_mount_point(folder: Path) -> bool:
    return subprocess.run(["mountpoint", "-q", str(folder)]).returncode == 0


@contextlib.contextmanager
def _without_write_permission(folder: Path) -> Iterator[None]:
    modes: dict[Path, int] = {}
    try:
        for path in [folder, *folder.rglob("*")]:
            if not path.is_symlink():
                with contextlib.suppress(FileNotFoundError):  # the services remove files meanwhile
                    modes[path] = path.stat().st_mode & 0o7777
                    path.chmod(modes[path] & ~0o222)
        yield
    finally:
        for path, mode in modes.items():
            with contextlib.suppress(FileNotFoundError):
                path.chmod(mode)
