"""DIN 5008 zones on real pipeline output: committed scans (forms A and B, skewed) and born-digital pages
shifted by a scanner offset of ±10 mm and turned by a residual skew."""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from rapidfuzz import fuzz

from classifiers.layout import find_zones
from classifiers.recipient import match_recipient
from intake.checks import inspect_file
from intake.pages import iter_pages
from mailroom.directory import default_directory
from mailroom.model import Document, Page, Word
from mailroom.settings import Settings
from workers.inprocess import process_path
from workers.pipeline import PipelineContext

COMMITTED = Path(__file__).resolve().parent.parent / "sample_docs" / "committed"
# form A skewed 3.2°, form A TIFF -2.5°, form B JPEG 4.1°, form B PNG with a confidential person
SCANS = [
    "0004-objection.pdf",
    "0006-invoice.tif",
    "0007-application_building_permit.jpg",
    "0008-complaint.png",
]
DIGITAL = ["0011-contract.pdf", "0019-job_application.pdf", "0021-offer.pdf", "0027-enquiry.pdf"]


def _truth(name: str) -> dict:  # type: ignore[type-arg]
    return json.loads((COMMITTED / f"{name}.truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def ocr_documents() -> Iterator[dict[str, Document]]:
    with tempfile.TemporaryDirectory() as data:
        ctx = PipelineContext.create(Settings(data_dir=Path(data)))
        out = {}
        for name in SCANS:
            outcome = process_path(COMMITTED / name, ctx)
            assert outcome.document is not None, outcome.error
            out[name] = outcome.document
        yield out


def _text_page(name: str, tmp: Path) -> Page:
    settings = Settings(data_dir=tmp)
    page = next(iter(iter_pages(inspect_file(COMMITTED / name, settings), settings, tmp))).text_page
    assert page is not None
    return page


def _moved(page: Page, dx_mm: float, dy_mm: float, degrees: float) -> Page:
    """The page as a scanner with an offset and a residual skew would deliver it (boxes moved and turned)."""
    angle = math.radians(degrees)

    def move(x: float, y: float) -> tuple[float, float]:
        return (
            x * math.cos(angle) - y * math.sin(angle) + page.mm_to_px(dx_mm),
            x * math.sin(angle) + y * math.cos(angle) + page.mm_to_px(dy_mm),
        )

    blocks = []
    for block in page.blocks:
        lines = []
        for line in block.lines:
            words = []
            for w in line.words:
                x0, y0 = move(w.box[0], w.box[1])
                x1, y1 = move(w.box[2], w.box[3])
                words.append(Word(text=w.text, box=(round(x0), round(y0), round(x1), round(y1))))
            lines.append(line.model_copy(update={"words": words}))
        blocks.append(block.model_copy(update={"lines": lines}))
    return page.model_copy(update={"blocks": blocks})


def _check(page: Page, truth: dict) -> None:  # type: ignore[type-arg]
    zones = find_zones(page)
    assert zones.address is not None
    assert fuzz.ratio(zones.address.text, "\n".join(truth["recipient"]["address_lines"])) >= 90
    assert zones.address.form == truth["form"]
    expected_return = truth["layout"]["return_address"]
    if expected_return is None:
        assert zones.address.return_address is None
    else:
        assert fuzz.ratio(zones.address.return_address or "", expected_return) >= 85
        assert expected_return not in zones.address.text  # the sender is never the recipient
    assert zones.subject is not None and fuzz.ratio(zones.subject.text, truth["subject"]) >= 85
    if truth["aktenzeichen"] and zones.info is not None and zones.info.your_reference:
        assert fuzz.ratio(zones.info.your_reference, truth["aktenzeichen"]) >= 85


@pytest.mark.parametrize("name", SCANS)
def test_zones_on_ocr_of_skewed_scans(name: str, ocr_documents: dict[str, Document]) -> None:
    truth = _truth(name)
    page = next(p for p in ocr_documents[name].pages if p.blocks)
    _check(page, truth)
    zones = find_zones(page)
    assert zones.address is not None
    m = match_recipient(
        zones.address.lines,
        default_directory(),
        endorsement=zones.address.endorsement,
        your_reference=zones.info.your_reference if zones.info else None,
    )
    r = truth["recipient"]
    assert (m.addressed_department, m.person, m.confidential) == (
        r["department"],
        r["person"],
        r["confidential"],
    )


@pytest.mark.parametrize("name", DIGITAL)
@pytest.mark.parametrize(("dx", "dy", "degrees"), [(0, 0, 0), (10, 10, 0.4), (-10, -10, -0.4), (6, -9, 0.8)])
def test_zones_with_scanner_offset_and_residual_skew(
    name: str, dx: float, dy: float, degrees: float, tmp_path: Path
) -> None:
    _check(_moved(_text_page(name, tmp_path), dx, dy, degrees), _truth(name))


def test_info_block_fields(tmp_path: Path) -> None:
    info = find_zones(_text_page("0011-contract.pdf", tmp_path)).info
    assert info is not None
    assert (info.your_reference, info.our_reference, info.date) == ("Ki/67", "EI-429", "2. April 2026")
    assert ("Telefon", "03485 286373") in info.rows


def test_page_without_letter_layout() -> None:
    page = Page(number=1, width=2480, height=3508, dpi=300, text_source="text_layer")
    zones = find_zones(page)
    assert (zones.address, zones.info, zones.subject) == (None, None, None)
