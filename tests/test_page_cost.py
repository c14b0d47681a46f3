"""Per-page cost of the pipeline (issue 16): work done twice for the same bytes is done once."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

import workers.pipeline as pipeline
from mailroom.settings import Settings
from workers.pipeline import PipelineContext, receive, stored_file

ROOT = Path(__file__).resolve().parents[1]
SCAN = ROOT / "sample_docs" / "committed" / "0008-complaint.png"


def test_a_file_checked_at_receive_is_not_decoded_again_for_its_stored_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = PipelineContext.create(Settings(_env_file=None, data_dir=tmp_path / "data"))
    received = receive(SCAN, ctx, channel="cli", station=None)
    checks: list[Path] = []
    real = pipeline.inspect_file
    monkeypatch.setattr(pipeline, "inspect_file", lambda path, settings: checks.append(path) or real(path, settings))

    info = stored_file(received.document_id, ctx, checked=received.info)
    assert checks == []  # the same bytes were checked a moment ago in this process
    assert info.path == ctx.blobs.path(received.info.sha256) and info.path.read_bytes() == SCAN.read_bytes()
    assert replace(info, path=SCAN) == received.info

    other = replace(received.info, sha256="0" * 64)  # a check of other bytes never stands for the stored file
    assert stored_file(received.document_id, ctx, checked=other) == info
    assert stored_file(received.document_id, ctx) == info  # a worker that did not receive it checks it again
    assert checks == [info.path, info.path]


class CountingEngine:
    """The real Tesseract engine, its full-page readings counted (nothing replaced)."""

    def __init__(self, engine: object) -> None:
        self.engine, self.pages_read = engine, 0

    def recognise(self, *args: object, **kwargs: object) -> object:
        self.pages_read += 1
        return self.engine.recognise(*args, **kwargs)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self.engine, name)


def test_a_blurred_page_is_read_once_and_flagged(tmp_path: Path) -> None:
    """A page blurred by 4 px reads poorly however it is given to Tesseract; its preparation only measured and
    deskewed it, so reading it once more as scanned (2.2 s CPU, issue 16) cannot pay and is not done. The page is
    flagged blurry for a rescan, and reads no worse than bare Tesseract reads the scan."""
    import subprocess

    import cv2
    import pagefactory as pf
    from PIL import Image
    from rapidfuzz.distance import Levenshtein

    from workers.inprocess import process_path

    page, text = pf.render_letter(200)
    scan = tmp_path / "blurred.png"
    Image.fromarray(pf.scan_grey(cv2.GaussianBlur(page, (0, 0), 4.0), seed=5)).save(scan, dpi=(200, 200))
    ctx = PipelineContext.create(Settings(_env_file=None, data_dir=tmp_path / "data"))
    counting = CountingEngine(ctx.ocr)
    ctx.ocr = counting  # type: ignore[assignment]
    outcome = process_path(scan, ctx, channel="cli")
    assert outcome.document is not None and outcome.result is not None
    assert counting.pages_read == 1
    assert "blurry" in {w.code for w in outcome.result.quality.warnings}
    bare = subprocess.run(["tesseract", str(scan), "stdout", "-l", "deu"], capture_output=True, text=True,
                          check=True).stdout

    def cer(read: str) -> float:
        return Levenshtein.distance(" ".join(sorted(text.split())), " ".join(sorted(read.split()))) / len(text)

    assert cer(outcome.document.pages[0].text) <= cer(bare) + 0.02


class CountingOsd(CountingEngine):
    """The real engine, its orientation checks counted too."""

    def __init__(self, engine: object) -> None:
        super().__init__(engine)
        self.osd_runs = 0

    def detect_orientation(self, *args: object, **kwargs: object) -> object:
        self.osd_runs += 1
        return self.engine.detect_orientation(*args, **kwargs)  # type: ignore[attr-defined]


def test_a_blurred_page_is_not_shown_to_osd_a_sharp_turned_one_is(tmp_path: Path) -> None:
    """A blurred page looks turned to the cheap orientation check (smeared line profiles); Tesseract's OSD cannot
    tell either at that blur (answers below the confidence needed to turn a page), so its 0.4-0.8 s were spent for
    nothing on every blurred page (issue 16). A sharp page that is upside down is still asked about and turned."""
    import cv2
    import pagefactory as pf
    from PIL import Image

    from intake.preprocess import rotate_orthogonal
    from workers.inprocess import process_path

    page, _ = pf.render_letter(200)
    blurred = tmp_path / "blurred.png"
    Image.fromarray(pf.scan_grey(cv2.GaussianBlur(page, (0, 0), 2.5), seed=6)).save(blurred, dpi=(200, 200))
    upside_down = tmp_path / "upside-down.png"
    Image.fromarray(rotate_orthogonal(pf.scan_grey(page, seed=6), 180)).save(upside_down, dpi=(200, 200))
    ctx = PipelineContext.create(Settings(_env_file=None, data_dir=tmp_path / "data"))
    counting = CountingOsd(ctx.ocr)
    ctx.ocr = counting  # type: ignore[assignment]

    outcome = process_path(blurred, ctx, channel="cli")
    assert outcome.document is not None and counting.osd_runs == 0
    assert outcome.document.pages[0].quality.rotation == 0 and outcome.document.pages[0].text.strip()

    outcome = process_path(upside_down, ctx, channel="cli")
    assert outcome.document is not None and counting.osd_runs == 1
    assert outcome.document.pages[0].quality.rotation == 180
