"""Hostile inputs: cost bombs and unusable page shapes get their stable code within bounded memory and time, nothing
is stored half-way, the service stays up; an unexpected exception in a stage fails the document at once with
``internal_error``; ``mailroom process`` prints no traceback and goes on with the next file.

Real components: the ``mailroom`` command in a subprocess (its peak RSS, tools included, measured by a wrapper
process), the API behind a real uvicorn server with the in-process pipeline, real Poppler and Tesseract.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from badfiles import (
    blank_pdf_of_size,
    deep_nesting_pdf_bytes,
    many_objects_pdf_bytes,
    png_of_size,
    q_bomb_pdf_bytes,
    scan_pdf_with_content,
)
from test_api_support import SAMPLES, ApiServer, make_settings, serve, upload, wait_settled

from api.pages import MAX_VIEW_PIXELS, render_page_png, view_dpi
from mailroom.storage import repository
from mailroom.storage.db import session_scope
from mailroom.storage.models import DocumentRow
from workers import inprocess
from workers.inprocess import process_path
from workers.pipeline import PipelineContext

ROOT = Path(__file__).resolve().parent.parent
#: Peak RSS of `mailroom process` with its tools, for any of these inputs. A normal run (OCR models, OpenCV,
#: Tesseract) stays far below; the content-stream bomb without its limit reached 2.4 GB.
PEAK_RSS_MB = 1200

#: name -> (builder, expected code)
HOSTILE: dict[str, tuple[Callable[[], bytes], str]] = {
    "q-bomb.pdf": (q_bomb_pdf_bytes, "content_too_complex"),  # 16 KB, 4 million q Q pairs
    "deep-nesting.pdf": (deep_nesting_pdf_bytes, "content_too_complex"),
    "objects.pdf": (lambda: many_objects_pdf_bytes(600_000), "content_too_complex"),
    "strip-1x14400pt.pdf": (lambda: blank_pdf_of_size(1, 14400), "page_size_unusable"),
    "strip-20x800pt.pdf": (lambda: blank_pdf_of_size(30, 800), "page_size_unusable"),
    "tiny-1x1.png": (lambda: png_of_size(1, 1), "page_size_unusable"),
    "tiny-3x3.png": (lambda: png_of_size(3, 3), "page_size_unusable"),
    "strip-3x3000.png": (lambda: png_of_size(3, 3000), "page_size_unusable"),
    "strip-100x3000.png": (lambda: png_of_size(100, 3000), "page_size_unusable"),
}
#: Neighbours of the bombs that are ordinary files and must be read: a scan page with a long but harmless
#: content stream (a million q Q pairs, below the byte limit: rasterised, not parsed operator by operator).
NEIGHBOURS: dict[str, Callable[[], bytes]] = {
    "long-content-scan.pdf": lambda: scan_pdf_with_content(b"q Q " * 1_000_000),  # a blank grey page
}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    for name, (build, _) in HOSTILE.items():
        (folder / name).write_bytes(build())
    for name, build in NEIGHBOURS.items():
        (folder / name).write_bytes(build())
    return folder


def measured_process(args: list[str], data_dir: Path) -> tuple[subprocess.CompletedProcess[str], int, float]:
    """``mailroom process ARGS`` in a wrapper that reports the peak RSS (MB) of the command and its tools."""
    wrapper = ("import resource, subprocess, sys; p = subprocess.run(sys.argv[1:]); "
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024, file=open(sys.argv[0], 'w'))"
               "; sys.exit(p.returncode)")
    report = data_dir / "peak-rss.txt"
    env = {**os.environ, "MAILROOM_DATA_DIR": str(data_dir)}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", wrapper.replace("sys.argv[0]", repr(str(report))),
                           sys.executable, "-m", "cli", "process", *args],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)
    return done, int(report.read_text()), time.monotonic() - started


def test_mailroom_process_refuses_every_bomb_with_its_code_in_bounded_memory_and_goes_on(
        files: Path, tmp_path: Path) -> None:
    good = SAMPLES / "0027-enquiry.pdf"
    names = [*HOSTILE, *NEIGHBOURS]
    done, peak_mb, seconds = measured_process([*(str(files / n) for n in names), str(good)], tmp_path / "data")
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert done.returncode == 1, done.stderr[-2000:]
    for name, (_, code) in HOSTILE.items():
        line = next((x for x in done.stderr.splitlines() if name in x), "")
        assert f"{code}:" in line, f"{name}: {line!r}\n{done.stderr[-2000:]}"
    for name in [*NEIGHBOURS, good.name]:  # read after the bombs: the run went on
        line = next((x for x in done.stderr.splitlines() if name in x), "")
        assert line and not line.startswith("✗"), f"{name}: {line!r}\n{done.stderr[-2000:]}"  # read (a blank
        # page may ask for a rescan: that is a reading, not an error)
    assert peak_mb < PEAK_RSS_MB, peak_mb
    assert seconds < 600, seconds


def test_intake_refuses_the_bombs_fast(files: Path) -> None:
    from intake.checks import inspect_file
    from mailroom.errors import InputError
    settings = make_settings(files)
    for name, (_, code) in HOSTILE.items():
        started = time.monotonic()
        with pytest.raises(InputError) as refused:
            inspect_file(files / name, settings)
        assert refused.value.code == code, name
        assert time.monotonic() - started < 10, name


# --- the API ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    with serve(make_settings(tmp_path_factory.mktemp("hostile-api"))) as running:
        yield running


def _stored(server: ApiServer) -> tuple[int, int]:
    with session_scope(server.ctx.sessions, readonly=True) as session:
        documents = session.query(DocumentRow).count()
    blobs = sum(1 for p in server.settings.blob_dir.rglob("*") if p.is_file())
    return documents, blobs


def test_api_refuses_every_bomb_stores_nothing_and_stays_up(server: ApiServer, files: Path) -> None:
    with server.client(server.key("station", "poststelle-hostile")) as station:
        before = _stored(server)
        for name, (_, code) in HOSTILE.items():
            response = upload(station, name, (files / name).read_bytes())
            assert response.status_code in (413, 422), f"{name}: {response.status_code} {response.text}"
            assert response.json()["code"] == code, name
        assert _stored(server) == before  # nothing stored half-way: no document, no blob
        ok = upload(station, "0027-enquiry.pdf", (SAMPLES / "0027-enquiry.pdf").read_bytes())
        assert ok.status_code == 202 and wait_settled(station, ok.json()["document_id"])["state"] in {
            "routed", "review"}


def test_page_image_of_a_huge_page_is_rendered_within_the_pixel_cap(server: ApiServer, tmp_path: Path) -> None:
    """A 200 × 200 inch page (14400 pt, valid) at dpi=100 would be 400 Mpx; the view is capped."""
    assert view_dpi(14400, 14400, 100) == 20 and view_dpi(595, 842, 300) == 300
    sha = server.ctx.blobs.put_bytes(blank_pdf_of_size(14400, 14400))
    row = DocumentRow(id="huge", kind="pdf", original_sha=sha, pages=1, page_from=1)
    started = time.monotonic()
    png = render_page_png(server.ctx, row, 1, 300)
    import io

    from PIL import Image
    with Image.open(io.BytesIO(png)) as image:
        assert image.width * image.height <= MAX_VIEW_PIXELS
        assert image.width > 1000  # still a usable view
    assert time.monotonic() - started < 60


# --- unexpected exceptions --------------------------------------------------------------------------------


def test_an_unexpected_exception_fails_the_document_at_once_with_internal_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = PipelineContext.create(make_settings(tmp_path))
    calls = []

    def broken(*args: object, **kwargs: object) -> None:
        calls.append(1)
        raise ValueError("a bug nobody foresaw in /internal/blob/ab12")  # a fault injected into a stage

    monkeypatch.setattr(inprocess, "assemble", broken)
    outcome = process_path(SAMPLES / "0027-enquiry.pdf", ctx)
    assert outcome.error is not None and outcome.error.code == "internal_error"
    assert "/internal/blob" not in outcome.error.message and "ValueError" in outcome.error.message
    assert calls == [1]  # not retried
    with session_scope(ctx.sessions, readonly=True) as session:
        (row,) = session.query(DocumentRow).all()
        assert row.state == "failed" and row.error_code == "internal_error"
        events = repository.document_events(session, row.id)
        assert events[-1].to_state == "failed"
    # the next file is processed normally
    monkeypatch.undo()
    assert process_path(SAMPLES / "0011-contract.pdf", ctx).error is None
