"""The watched folder of a scanning station (`mailroom watch`): real processes writing and watching, real
SQLite and blob store; the pipeline behind it runs on born-digital samples (text layer, no OCR) to stay quick."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailroom.errors import FolderBusy
from mailroom.settings import Settings
from workers.dispatch import InlineDispatcher
from workers.pipeline import PipelineContext, receive
from workers.watch import StationFolder, files_open_for_writing, free_name, is_temporary_name

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "sample_docs" / "committed"
LETTER = COMMITTED / "0011-contract.pdf"  # born-digital: processed from its text layer in well under a second
OTHER = COMMITTED / "0017-application_trade_registration.pdf"
STATION = "poststelle-1"
DONE = ("routed", "review")  # a document the pipeline is done with

# Copies SOURCE to TARGET in chunks, flushing each, with a long pause in the middle while the file stays open.
SLOW_WRITER = """
import os, sys, time
source, target, chunk, pause, hold = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
data = open(source, "rb").read()
with open(target, "wb") as out:
    for i in range(0, len(data), chunk):
        out.write(data[i:i + chunk]); out.flush(); os.fsync(out.fileno())
        time.sleep(hold if i == (len(data) // chunk // 2) * chunk else pause)
"""


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def documents(data_dir: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(data_dir / "mailroom.sqlite3") as db:
        return db.execute(
            "SELECT id, sha256, state FROM documents WHERE station = ? AND source_channel = 'watch_folder'",
            (STATION,),
        ).fetchall()


def wait_for(condition: object, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def start_watcher(inbox: Path, data_dir: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "MAILROOM_DATA_DIR": str(data_dir)}
    return subprocess.Popen(
        [sys.executable, "-m", "cli", "watch", str(inbox), "--station", STATION, "--poll", "0.2"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def start_writer(source: Path, target: Path, *, chunk: int, pause: float, hold: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", SLOW_WRITER, str(source), str(target), str(chunk), str(pause), str(hold)], text=True
    )


def stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    return stderr


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[PipelineContext]:
    yield PipelineContext.create(Settings().model_copy(update={"data_dir": tmp_path / "data"}))


@pytest.fixture
def folder(tmp_path: Path, ctx: PipelineContext) -> Iterator[StationFolder]:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    dispatcher = InlineDispatcher(ctx)
    yield StationFolder(inbox, STATION, ctx, dispatcher)
    dispatcher.shutdown(wait=True)


def test_file_written_slowly_by_another_process_is_taken_once_and_complete(tmp_path: Path) -> None:
    inbox, data_dir = tmp_path / "inbox", tmp_path / "data"
    inbox.mkdir()
    watcher = start_watcher(inbox, data_dir)
    try:
        # 1.5 s without a byte in the middle (several polls): the open file must not be taken
        writer = start_writer(LETTER, inbox / "scan.pdf", chunk=4096, pause=0.05, hold=1.5)
        assert writer.wait(timeout=60) == 0
        # the receipt is written before the file is moved next to it: wait for both
        wait_for(lambda: (inbox / "done" / "scan.pdf.json").exists() and (inbox / "done" / "scan.pdf").exists())
        receipt = json.loads((inbox / "done" / "scan.pdf.json").read_text())
        assert receipt["sha256"] == sha256(inbox / "done" / "scan.pdf") == sha256(LETTER)
        assert not (inbox / "scan.pdf").exists()
        wait_for(lambda: documents(data_dir)[0][2] in DONE, timeout=180)  # read and routed: slow on a busy machine
    finally:
        stderr = stop(watcher)
    [(document_id, sha, state)] = documents(data_dir)
    assert (document_id, sha) == (receipt["document_id"], sha256(LETTER)) and state in DONE, stderr
    assert not list((inbox / "failed").iterdir())


def test_watcher_killed_mid_copy_and_restarted_takes_the_file_once_complete(tmp_path: Path) -> None:
    inbox, data_dir = tmp_path / "inbox", tmp_path / "data"
    inbox.mkdir()
    watcher = start_watcher(inbox, data_dir)
    writer = start_writer(LETTER, inbox / "scan.pdf", chunk=2048, pause=0.1, hold=0.1)
    wait_for(lambda: (inbox / "scan.pdf").exists() and (inbox / "scan.pdf").stat().st_size > 8192)
    watcher.kill()  # SIGKILL in the middle of the copy
    watcher.communicate()
    assert writer.poll() is None, "the copy should still be running"
    watcher = start_watcher(inbox, data_dir)
    try:
        assert writer.wait(timeout=60) == 0
        wait_for(lambda: (inbox / "done" / "scan.pdf").exists())
        wait_for(lambda: documents(data_dir)[0][2] in DONE)
    finally:
        stop(watcher)
    assert sha256(inbox / "done" / "scan.pdf") == sha256(LETTER)
    [(_, sha, state)] = documents(data_dir)
    assert sha == sha256(LETTER) and state in DONE


def test_bad_file_goes_to_failed_with_its_reason(folder: StationFolder) -> None:
    (folder.inbox / "scan.pdf").write_bytes(b"%PDF-1.7\nthis is no pdf at all\n")
    (folder.inbox / "notes.txt").write_text("hello")
    handled = folder.once(poll_seconds=0.05)
    assert sorted((h.name, h.outcome) for h in handled) == [("notes.txt", "failed"), ("scan.pdf", "failed")]
    reason = (folder.failed / "scan.pdf.reason.txt").read_text()
    assert reason.startswith(("corrupt_file: ", "truncated_file: "))
    assert (folder.failed / "notes.txt.reason.txt").read_text().startswith("unsupported_file_type: ")
    assert (folder.failed / "scan.pdf").read_bytes().startswith(b"%PDF-1.7\nthis")
    assert sorted(p.name for p in folder.inbox.iterdir()) == [".mailroom-watch.lock", "done", "failed"]


def test_restart_after_receive_before_move_moves_without_a_second_document(
    folder: StationFolder, ctx: PipelineContext, tmp_path: Path
) -> None:
    shutil.copy(LETTER, folder.inbox / "scan.pdf")
    earlier = receive(folder.inbox / "scan.pdf", ctx, channel="watch_folder", station=STATION)  # then: crash
    handled = folder.once(poll_seconds=0.05)
    assert [(h.name, h.outcome, h.document_id) for h in handled] == [("scan.pdf", "done", earlier.document_id)]
    receipt = json.loads((folder.done / "scan.pdf.json").read_text())
    assert receipt["document_id"] == earlier.document_id and receipt["new_document"] is False
    folder.dispatcher.shutdown(wait=True)  # type: ignore[attr-defined]
    [(i, _, s)] = documents(tmp_path / "data")
    assert i == earlier.document_id and s in DONE


def test_name_taken_in_done_gets_a_suffix_and_temporary_names_are_left_alone(folder: StationFolder) -> None:
    shutil.copy(LETTER, folder.inbox / "scan.pdf")
    for name in ("scan.pdf.tmp", "~scan.pdf", ".scan.pdf", "scan.part"):
        shutil.copy(OTHER, folder.inbox / name)
    folder.once(poll_seconds=0.05)
    shutil.copy(OTHER, folder.inbox / "scan.pdf")
    folder.once(poll_seconds=0.05)
    assert sha256(folder.done / "scan.pdf") == sha256(LETTER)
    assert sha256(folder.done / "scan-1.pdf") == sha256(OTHER)
    assert json.loads((folder.done / "scan-1.pdf.json").read_text())["sha256"] == sha256(OTHER)
    left = sorted(p.name for p in folder.inbox.iterdir() if p.is_file())
    assert left == [".mailroom-watch.lock", ".scan.pdf", "scan.part", "scan.pdf.tmp", "~scan.pdf"]


def test_second_watcher_on_the_same_folder_is_refused(folder: StationFolder, ctx: PipelineContext) -> None:
    other = StationFolder(folder.inbox, "poststelle-2", ctx, folder.dispatcher)
    with folder.locked(), pytest.raises(FolderBusy), other.locked():
        pass


def test_files_open_for_writing_sees_a_writer_of_another_process(tmp_path: Path) -> None:
    target = tmp_path / "open.pdf"
    hold_open = f"import time; f = open({str(target)!r}, 'ab'); print('ok', flush=True); time.sleep(30)"
    holder = subprocess.Popen([sys.executable, "-c", hold_open], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ok"
        assert files_open_for_writing([target]) == {target}
    finally:
        holder.kill()
        holder.wait()
    assert files_open_for_writing([target]) == set()


def test_names() -> None:
    assert is_temporary_name("scan.pdf.TMP") and is_temporary_name("~lock.pdf") and is_temporary_name(".x")
    assert not is_temporary_name("scan.pdf")
    assert free_name(Path("/nonexistent"), "a.pdf") == Path("/nonexistent/a.pdf")


def test_complete_looking_file_still_open_for_writing_is_not_taken(folder: StationFolder) -> None:
    data = LETTER.read_bytes()
    with open(folder.inbox / "scan.pdf", "wb") as out:
        out.write(data[: len(data) // 2])
        out.flush()
        assert folder.once(poll_seconds=0.05) == []  # same size and time on both looks, but still open
        out.write(data[len(data) // 2:])
    handled = folder.once(poll_seconds=0.05)
    assert [(h.name, h.outcome) for h in handled] == [("scan.pdf", "done")]
    assert json.loads((folder.done / "scan.pdf.json").read_text())["sha256"] == sha256(LETTER)
