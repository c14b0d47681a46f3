"""A page over its OCR budget never fails its document: it is read again the cheaper way (binarised, 200 dpi,
sparse text), and if that runs over too it is marked unreadable with a warning while the other pages go on.

Real pipeline, real Tesseract; the timeouts are injected (the fault) by wrapping the real engine."""

from __future__ import annotations

from pathlib import Path

import cv2
import img2pdf
import numpy as np
import pytest
from pagefactory import render_letter, scan_grey

from intake.tesseract import OcrOutput, TesseractEngine
from mailroom.errors import ToolTimeout
from mailroom.settings import Settings
from workers.inprocess import process_path
from workers.pipeline import PipelineContext


class SlowOnPage(TesseractEngine):
    """The real engine, except that the full reading of one page "runs over its budget" (and, if asked, the
    cheaper reading too)."""

    def __init__(self, page: int, *, cheap_too: bool) -> None:
        super().__init__()
        self.page, self.cheap_too = page, cheap_too
        self.cheap_calls = 0

    def recognise(self, image_path: Path, out_base: Path, *, dpi: int, pdf: bool = True) -> OcrOutput:
        if image_path.name.startswith(f"page-{self.page:05d}"):
            raise ToolTimeout("tesseract did not finish within 60 s (injected)")
        return super().recognise(image_path, out_base, dpi=dpi, pdf=pdf)

    def recognise_sparse(self, image_path: Path, out_base: Path, *, dpi: int) -> OcrOutput:
        self.cheap_calls += 1
        if self.cheap_too:
            raise ToolTimeout("tesseract did not finish within 60 s (injected)")
        return super().recognise_sparse(image_path, out_base, dpi=dpi)


@pytest.fixture(scope="module")
def three_pages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("budget")
    page, _ = render_letter(200)
    paths = []
    for n in (1, 2, 3):
        path = folder / f"p{n}.png"
        cv2.imwrite(str(path), scan_grey(page, seed=n))
        paths.append(str(path))
    out = folder / "drei-seiten.pdf"
    out.write_bytes(img2pdf.convert(paths, layout_fun=img2pdf.get_fixed_dpi_layout_fun((200, 200))))
    return out


@pytest.mark.parametrize("cheap_too", [False, True])
def test_a_page_over_its_budget_does_not_fail_the_document(
    tmp_path: Path, three_pages: Path, cheap_too: bool
) -> None:
    engine = SlowOnPage(2, cheap_too=cheap_too)
    ctx = PipelineContext.create(Settings(_env_file=None, data_dir=tmp_path / "data"), ocr=engine)
    outcome = process_path(three_pages, ctx, channel="upload", station="poststelle-1")
    assert outcome.error is None, outcome.error
    assert outcome.document is not None and engine.cheap_calls == 1
    pages = {p.number: p for p in outcome.document.pages}
    assert all(sum(1 for _ in pages[n].words()) > 100 for n in (1, 3))
    # each readable page looks like a first page: one letter each; an unreadable page 2 stays with letter 1
    [second] = [r for r in outcome.results if r.parent is not None and 2 in r.parent.page_numbers]
    codes = {w.code for w in second.quality.warnings}
    if cheap_too:
        assert pages[2].quality.unreadable and not any(True for _ in pages[2].words())
        assert "page_unreadable" in codes
    else:
        assert not pages[2].quality.unreadable
        assert sum(1 for _ in pages[2].words()) > 100  # read the cheaper way, boxes on the page
        assert max(w.box[2] for w in pages[2].words()) <= pages[2].width
    for result in outcome.results:  # every letter has a readable page: none goes back, none fails
        assert result.rescan is None and result.routing is not None


def test_a_page_over_its_cpu_budget_goes_the_budget_way(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The real engine and the real CPU limit (no injection): with a budget of 1 CPU second, a dense page of two
    letters is stopped by the kernel, which the pipeline treats as a page over its budget (read the cheaper way,
    or marked unreadable): the document does not fail."""
    page, _ = render_letter(300)
    tall = np.vstack([scan_grey(page, seed=4), scan_grey(page, seed=5)])
    path = tmp_path / "zwei-briefe.png"
    cv2.imwrite(str(path), tall)
    document = tmp_path / "zwei-briefe.pdf"
    document.write_bytes(img2pdf.convert([str(path)], layout_fun=img2pdf.get_fixed_dpi_layout_fun((300, 300))))
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", ocr_timeout_seconds=1)
    ctx = PipelineContext.create(settings)
    with caplog.at_level("WARNING", logger="workers.pipeline"):
        outcome = process_path(document, ctx, channel="upload", station="poststelle-1")
    assert outcome.error is None, outcome.error
    assert any("over its budget" in r.getMessage() and "CPU budget of 1 s" in r.getMessage()
               for r in caplog.records), [r.getMessage() for r in caplog.records]
    assert outcome.document is not None
    [read] = outcome.document.pages
    assert read.quality.unreadable or sum(1 for _ in read.words()) > 50  # the cheaper reading, or unreadable
