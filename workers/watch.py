"""The watched folder of a scanning station: files a scanner or station writes into a shared folder.

A file is taken when it is complete: the same size, modification time and inode on two polls in a row, and no
process has it open for writing (where ``/proc`` tells; a network share's writer may be invisible, then the
two polls decide). Temporary names are never taken: ``.*``, ``~*``, ``*.tmp``, ``*.part``, ``*.crdownload``.

Each complete file is received (``pipeline.receive``: checked, original stored durably, document record
committed), handed to a :class:`~workers.dispatch.Dispatcher`, and only then moved:

- to ``done/NAME`` with the receipt ``done/NAME.json`` (document id, SHA-256, whether it was a new document,
  ``outcome: pending``);
- to ``failed/NAME`` with ``failed/NAME.reason.txt`` (``code: message``) when the file itself is bad.

When the pipeline is done with the document, the receipt gets its ``outcome`` (routed, review, rescan, failed,
split), the quality ``warnings``, the ``rescan`` request, the postbox, the error, and for a stack its letters
(:meth:`StationFolder.follow_up`, on every poll). A scan the quality gate sent back (state ``rescan``: blank or
unreadable) moves on to ``rescan/NAME`` with its receipt and ``rescan/NAME.rescan.txt``, a note in German for the
operator: which pages, why, what to do. Receipts still ``pending`` after a restart are followed up then.

The order makes every crash harmless: the receipt or reason file is written (atomically) before the move, and
a file is moved only after its original is stored and committed. A file still in the folder after a restart is
simply received again: receiving is idempotent on (SHA-256, channel, station), so no second document appears.
Trouble that is not the file's fault (the database or the blob store unavailable, a tool missing) leaves the
file where it is; it is tried again on the next poll. A name already taken in ``done/`` or ``failed/`` gets a
suffix (``scan-1.pdf``); nothing is ever overwritten. One watcher per folder (a lock file enforces it).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sqlalchemy.orm import Session

from mailroom.errors import FileChanged, FolderBusy, InputError, MailroomError
from mailroom.storage import repository
from mailroom.storage.models import DocumentRow, DocumentState
from mailroom.storage.repository import SETTLED_STATES
from workers.dispatch import Dispatcher
from workers.pipeline import PipelineContext, receive

log = logging.getLogger(__name__)

CHANNEL = "watch_folder"
DONE_DIR = "done"
FAILED_DIR = "failed"
RESCAN_DIR = "rescan"
PENDING = "pending"
LOCK_NAME = ".mailroom-watch.lock"
TEMP_SUFFIXES = (".tmp", ".temp", ".part", ".partial", ".crdownload")


@dataclass(frozen=True)
class FileStamp:
    """What must stay the same between two polls for a file to count as complete."""

    size: int
    mtime_ns: int
    inode: int

    @classmethod
    def of(cls, path: Path) -> FileStamp:
        st = path.stat()
        return cls(st.st_size, st.st_mtime_ns, st.st_ino)


@dataclass(frozen=True)
class Handled:
    """What happened to one file of the folder."""

    name: str
    outcome: Literal["done", "failed", "retry", "rescan"]
    moved_to: Path | None = None
    document_id: str | None = None
    error: str | None = None  # stable error code for failed/retry


def _unchanged(path: Path, stamp: FileStamp) -> bool:
    try:
        return FileStamp.of(path) == stamp
    except OSError:
        return False


def is_temporary_name(name: str) -> bool:
    """Names that writers use while a file is incomplete (or hidden files): never taken."""
    return name.startswith((".", "~")) or name.lower().endswith(TEMP_SUFFIXES)


def files_open_for_writing(paths: Iterable[Path], proc: Path = Path("/proc")) -> set[Path]:
    """Those of ``paths`` that some process has open for writing, as far as ``/proc`` shows (Linux)."""
    wanted = {str(path.resolve()): path for path in paths}
    found: set[Path] = set()
    if not wanted or not proc.is_dir():
        return found
    for fd_dir in proc.glob("[0-9]*/fd"):
        with contextlib.suppress(OSError):  # processes come and go; others' fds may be unreadable
            for fd in os.listdir(fd_dir):
                with contextlib.suppress(OSError):
                    target = os.readlink(fd_dir / fd)
                    if target in wanted and _writable(fd_dir.parent / "fdinfo" / fd):
                        found.add(wanted[target])
    return found


def _writable(fdinfo: Path) -> bool:
    for line in fdinfo.read_text().splitlines():
        if line.startswith("flags:"):
            return int(line.split()[1], 8) & os.O_ACCMODE in (os.O_WRONLY, os.O_RDWR)
    return False


def free_name(directory: Path, name: str) -> Path:
    """``directory/name``, or with the first free suffix ``stem-1.ext``, ``stem-2.ext``, … when taken."""
    target = directory / name
    stem, suffix = Path(name).stem, Path(name).suffix
    number = 0
    while target.exists():
        number += 1
        target = directory / f"{stem}-{number}{suffix}"
    return target


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durably(path: Path, text: str) -> None:
    """Write a small text file atomically (temporary name, fsync, rename)."""
    temp = path.with_name(f".{path.name}.tmp")
    with open(temp, "w", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temp, path)
    _fsync_dir(path.parent)


def move_durably(source: Path, target: Path) -> None:
    """Rename ``source`` to ``target`` (same filesystem) and make the rename survive a power cut."""
    os.rename(source, target)
    _fsync_dir(target.parent)
    _fsync_dir(source.parent)


class StationFolder:
    """The inbox folder of one station, with its ``done/`` and ``failed/`` folders."""

    def __init__(self, inbox: Path, station: str, ctx: PipelineContext, dispatcher: Dispatcher) -> None:
        self.inbox = inbox
        self.station = station
        self.ctx = ctx
        self.dispatcher = dispatcher
        self.done = inbox / DONE_DIR
        self.failed = inbox / FAILED_DIR
        self.rescan = inbox / RESCAN_DIR
        self._seen: dict[str, FileStamp] = {}
        self._pending: dict[Path, str] | None = None  # receipt in done/ -> document id, until its outcome is known

    @contextlib.contextmanager
    def locked(self) -> Iterator[StationFolder]:
        """Hold the folder's lock while watching: a second watcher on the same folder is refused."""
        self.done.mkdir(parents=True, exist_ok=True)
        self.failed.mkdir(parents=True, exist_ok=True)
        with open(self.inbox / LOCK_NAME, "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise FolderBusy(f"another watcher is watching {self.inbox}") from exc
            yield self

    def candidates(self) -> list[Path]:
        """Regular files in the inbox that are not temporary, by name."""
        with os.scandir(self.inbox) as entries:
            names = [e.name for e in entries if e.is_file(follow_symlinks=False) and not is_temporary_name(e.name)]
        return [self.inbox / name for name in sorted(names)]

    def poll(self) -> list[Handled]:
        """Look once: take every file that was complete since the last poll; remember the rest."""
        stamps: dict[str, FileStamp] = {}
        for path in self.candidates():
            with contextlib.suppress(FileNotFoundError):
                stamps[path.name] = FileStamp.of(path)
        stable = [self.inbox / name for name, stamp in stamps.items() if self._seen.get(name) == stamp]
        self._seen = stamps
        busy = files_open_for_writing(stable)
        handled = [self.take(path, stamps[path.name]) for path in stable if path not in busy]
        for item in handled:
            if item.outcome != "retry":
                self._seen.pop(item.name, None)
        return handled

    def take(self, path: Path, stamp: FileStamp) -> Handled:
        """Receive one complete file, hand it on, then move it to ``done/`` (or ``failed/``)."""
        try:
            received = receive(path, self.ctx, channel=CHANNEL, station=self.station)
        except InputError as exc:
            return self._fail(path, exc)
        except (MailroomError, OSError) as exc:  # not the file's fault: try again on the next poll
            code = exc.code if isinstance(exc, MailroomError) else "os_error"
            log.error("%s: cannot receive now (%s); trying again", path.name, exc)
            return Handled(path.name, "retry", error=code)
        if not _unchanged(path, stamp):
            changed = FileChanged(f"{path.name} changed while it was received")
            log.warning("%s; taken again when complete", changed.message)
            if received.created:
                self._discard(received.document_id, changed)
            return Handled(path.name, "retry", error=changed.code)
        if received.created or self._waiting(received.document_id):
            self.dispatcher.submit(received.document_id)
        target = free_name(self.done, path.name)
        receipt = {
            "document_id": received.document_id, "sha256": received.info.sha256, "file": path.name,
            "station": self.station, "new_document": received.created, "outcome": PENDING,
        }
        receipt_path = target.with_name(target.name + ".json")
        write_durably(receipt_path, json.dumps(receipt, indent=1) + "\n")
        move_durably(path, target)
        self.pending[receipt_path] = received.document_id
        log.info("%s received as %s", path.name, received.document_id,
                 extra={"document_id": received.document_id, "station": self.station})
        return Handled(path.name, "done", moved_to=target, document_id=received.document_id)

    @property
    def pending(self) -> dict[Path, str]:
        """Receipts in ``done/`` whose document the pipeline has not finished yet (found again after a restart)."""
        if self._pending is None:
            self._pending = {}
            for receipt_path in sorted(self.done.glob("*.json")) if self.done.is_dir() else []:
                with contextlib.suppress(OSError, ValueError):
                    receipt = json.loads(receipt_path.read_text(encoding="utf-8"))
                    if receipt.get("outcome", PENDING) == PENDING and receipt.get("document_id"):
                        self._pending[receipt_path] = str(receipt["document_id"])
        return self._pending

    def follow_up(self) -> list[Handled]:
        """Complete the receipts of documents the pipeline is done with; send rescans on to ``rescan/``."""
        finished: list[Handled] = []
        for receipt_path, document_id in list(self.pending.items()):
            try:
                with self.ctx.session() as session:
                    outcome = _outcome(session, document_id)
            except (MailroomError, OSError) as exc:  # the database is away: the next poll tries again
                log.warning("cannot follow up %s now: %s", receipt_path.name, exc)
                break
            if outcome is None:
                continue
            try:
                finished.append(self._complete(receipt_path, outcome))
            except OSError as exc:
                log.error("cannot complete the receipt %s: %s", receipt_path.name, exc)
                continue
            del self.pending[receipt_path]
        return finished

    def _complete(self, receipt_path: Path, outcome: dict[str, object]) -> Handled:
        receipt = json.loads(receipt_path.read_text(encoding="utf-8"))
        receipt.update(outcome)
        name = receipt_path.name.removesuffix(".json")
        scanned = receipt_path.with_name(name)
        document_id = str(receipt["document_id"])
        if outcome["outcome"] != DocumentState.RESCAN.value or not scanned.exists():
            write_durably(receipt_path, json.dumps(receipt, indent=1, ensure_ascii=False) + "\n")
            return Handled(name, "done", moved_to=scanned, document_id=document_id)
        # back to the station: receipt and note first, then the file, then the old receipt (a crash repeats it)
        self.rescan.mkdir(exist_ok=True)
        target = free_name(self.rescan, name)
        write_durably(target.with_name(target.name + ".json"), json.dumps(receipt, indent=1, ensure_ascii=False) + "\n")
        write_durably(target.with_name(target.name + ".rescan.txt"), rescan_note(name, receipt))
        move_durably(scanned, target)
        receipt_path.unlink()
        log.warning("%s: scan again (%s)", name, (receipt.get("rescan") or {}).get("reason"),
                    extra={"document_id": document_id, "station": self.station})
        return Handled(name, "rescan", moved_to=target, document_id=document_id)

    def _waiting(self, document_id: str) -> bool:
        """A document received before (a restart after receive) that nobody has started yet."""
        with self.ctx.session() as session:
            row = repository.get_document(session, document_id)
            return row is not None and row.state == DocumentState.RECEIVED.value and row.attempts == 0

    def _discard(self, document_id: str, exc: MailroomError) -> None:
        """Mark the document received from an incomplete file as failed (it is never processed)."""
        with self.ctx.session() as session:
            row = repository.get_document(session, document_id)
            if row is not None and row.state == DocumentState.RECEIVED.value and row.attempts == 0:
                repository.transition(session, row, DocumentState.FAILED, error_code=exc.code,
                                      error_message=exc.message)

    def _fail(self, path: Path, exc: MailroomError) -> Handled:
        target = free_name(self.failed, path.name)
        write_durably(target.with_name(target.name + ".reason.txt"), f"{exc.code}: {exc.message}\n")
        move_durably(path, target)
        log.warning("%s refused: %s", path.name, exc, extra={"station": self.station, "error_code": exc.code})
        return Handled(path.name, "failed", moved_to=target, error=exc.code)

    def watch(self, *, poll_seconds: float, stop: threading.Event) -> None:
        """Poll every ``poll_seconds`` until ``stop`` is set (receipts of finished documents completed each time)."""
        with self.locked():
            self.poll()
            while not stop.wait(poll_seconds):
                self.poll()
                self.follow_up()
            self.follow_up()

    def settle(self, *, timeout: float, poll_seconds: float = 0.5) -> list[Handled]:
        """Follow up until every pending receipt is complete or ``timeout`` seconds passed."""
        finished: list[Handled] = []
        deadline = time.monotonic() + timeout
        with self.locked():
            finished += self.follow_up()
            while self.pending and time.monotonic() < deadline:
                time.sleep(poll_seconds)
                finished += self.follow_up()
        return finished

    def once(self, *, poll_seconds: float) -> list[Handled]:
        """Look twice, ``poll_seconds`` apart, and take what was complete; returns what was handled."""
        with self.locked():
            self.poll()
            time.sleep(poll_seconds)
            return self.poll()


def _outcome(session: Session, document_id: str) -> dict[str, object] | None:
    """What the receipt says once the pipeline is done with the document (``None`` while it is not)."""
    row = repository.get_document(session, document_id)
    if row is None:
        return {"outcome": "deleted"}
    if DocumentState(row.state) not in SETTLED_STATES:
        return None
    out = _document_outcome(row)
    if row.state == DocumentState.SPLIT.value:
        letters = sorted(row.children, key=lambda child: child.page_from or 0)
        if any(DocumentState(child.state) not in SETTLED_STATES for child in letters):
            return None
        out["letters"] = [{"document_id": child.id, **_document_outcome(child)} for child in letters]
    return out


def _document_outcome(row: DocumentRow) -> dict[str, object]:
    result = json.loads(row.result_json) if row.result_json else {}
    out: dict[str, object] = {"outcome": row.state}
    if row.page_from is not None:
        out["pages"] = [row.page_from, row.page_to]
    routing = result.get("routing") or {}
    if routing.get("confidential"):
        out["confidential"] = True  # the receipt names neither postbox nor person of a confidential letter
    elif routing.get("postbox"):
        out["postbox"] = routing["postbox"]
    if (result.get("document_type") or {}).get("label") and not routing.get("confidential"):
        out["document_type"] = result["document_type"]["label"]
    out["warnings"] = (result.get("quality") or {}).get("warnings") or []
    if result.get("rescan"):
        out["rescan"] = result["rescan"]
    if row.error_code:
        out["error"] = {"code": row.error_code, "message": row.error_message}
    return out


def rescan_note(name: str, receipt: dict[str, object]) -> str:
    """``NAME.rescan.txt``: what the station operator reads next to a scan that came back (German)."""
    rescan = receipt.get("rescan")
    request = rescan if isinstance(rescan, dict) else {}
    reason = {"blank": "leer", "unreadable": "nicht lesbar"}.get(str(request.get("reason")), str(request.get("reason")))
    pages = ", ".join(str(p) for p in request.get("pages") or []) or "-"
    return (
        f"NEU SCANNEN: {name}\n"
        f"Grund: {reason}\n"
        f"Seiten: {pages}\n"
        f"\n{request.get('message', '')}\n"
        f"\nDokument: {receipt.get('document_id')}\n"
    )
