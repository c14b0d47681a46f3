"""Separation of scanned stacks into letters: real OCR (Tesseract, Poppler) of committed and generated stacks,
real SQLite and blob store; plus the splitting rules on hand-made pages."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import pikepdf
import pytest

from cli.commands.stations import separator_sheets
from intake.separation import LetterStart, split_letters
from intake.separator import is_separator_sheet
from mailroom.model import Block, Line, Page, PageQuality, TextSource, Word
from mailroom.result import Result
from mailroom.settings import Settings
from mailroom.storage import repository
from sample_docs.generate import Spec, generate_document
from workers.pipeline import PipelineContext, assemble, finish, read_pages, receive
from workers.separation import separate, stored_document

COMMITTED = Path(__file__).resolve().parent.parent / "sample_docs" / "committed"


@pytest.fixture(scope="module")
def ctx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PipelineContext]:
    data_dir = tmp_path_factory.mktemp("data")
    yield PipelineContext.create(Settings().model_copy(update={"data_dir": data_dir}))


@dataclass
class Separated:
    parent_id: str
    letter_ids: list[str]
    results: list[Result]


def run_stack(path: Path, ctx: PipelineContext) -> Separated:
    """The stages as the pipeline runs them: receive, read pages, assemble, separate, then each letter on."""
    received = receive(path, ctx, channel="cli", station="scanner-1")
    read_pages(received.document_id, received.info, ctx)
    document = assemble(received.document_id, received.info, ctx)
    ids = separate(received.document_id, ctx, document)
    results = [finish(i, received.info, stored_document(i, ctx), ctx) for i in ids]
    return Separated(received.document_id, ids, results)


def truth_letters(path: Path) -> list[list[int]]:
    truth = json.loads(path.with_name(path.name + ".truth.json").read_text())
    return [letter["pages"] for letter in truth["letters"]]


def stored_result(ctx: PipelineContext, document_id: str) -> dict[str, Any]:
    with ctx.session() as session:
        row = repository.get_document(session, document_id)
        assert row is not None and row.result_json is not None
        return {"state": row.state, **json.loads(row.result_json)}


def pdf_pages(ctx: PipelineContext, document_id: str) -> int:
    with ctx.session() as session:
        row = repository.get_document(session, document_id)
        assert row is not None and row.searchable_pdf_sha is not None
        sha = row.searchable_pdf_sha
    with pikepdf.open(ctx.blobs.path(sha)) as pdf:
        return len(pdf.pages)


def test_stack_with_separator_sheets_becomes_one_document_per_letter(ctx: PipelineContext) -> None:
    path = COMMITTED / "0005-stack.pdf"  # 7 pages: letters [1, 2], [4, 5], [7]; sheets on pages 3 and 6
    stack = run_stack(path, ctx)
    assert len(stack.letter_ids) == 3 and stack.parent_id not in stack.letter_ids
    parent = stored_result(ctx, stack.parent_id)
    assert parent["state"] == "split"
    assert [(e["document_id"], e["pages"]) for e in parent["letters"]] == list(
        zip(stack.letter_ids, truth_letters(path), strict=True)
    )
    assert [e["started_by"] for e in parent["letters"]] == ["file_start", "separator_sheet", "separator_sheet"]
    for letter_id, result, pages in zip(stack.letter_ids, stack.results, truth_letters(path), strict=True):
        data = result.to_dict()
        assert data["document_id"] == letter_id and data["pages"] == len(pages)
        assert data["parent"] == {
            "document_id": stack.parent_id, "pages": [pages[0], pages[-1]], "page_numbers": pages,
        }
        assert data["source"]["station"] == "scanner-1" and data["text_source"] == "ocr"
        assert stored_result(ctx, letter_id)["state"] in ("routed", "review")
        assert pdf_pages(ctx, letter_id) == len(pages)
        assert [p.number for p in stored_document(letter_id, ctx).pages] == list(range(1, len(pages) + 1))
    # a second run of the stage (a retried task) creates nothing new
    document = stored_document(stack.parent_id, ctx)
    assert separate(stack.parent_id, ctx, document) == stack.letter_ids
    with ctx.session() as session:
        parent_row = repository.get_document(session, stack.parent_id)
        assert parent_row is not None and [c.id for c in parent_row.children] == stack.letter_ids


def test_stack_without_sheets_is_split_at_first_pages(ctx: PipelineContext) -> None:
    path = COMMITTED / "0012-stack.pdf"  # two one-page letters, no separator sheet
    stack = run_stack(path, ctx)
    parent = stored_result(ctx, stack.parent_id)
    assert [e["pages"] for e in parent["letters"]] == truth_letters(path) == [[1], [2]]
    assert parent["letters"][1]["started_by"] == "first_page"
    assert "address_field" in parent["letters"][1]["evidence"]


def test_duplex_stack_without_sheets_drops_blank_backs(ctx: PipelineContext, tmp_path: Path) -> None:
    spec = Spec("pdf_scan", "complaint", stack=2, separators=False, duplex=True, dpi=200, skew=0.8)
    path = generate_document(tmp_path, 0, 23, "scans", spec=spec)
    truth = json.loads(path.with_name(path.name + ".truth.json").read_text())
    blank = {p["number"] for p in truth["pages"] if p["blank"]}
    stack = run_stack(path, ctx)
    parent = stored_result(ctx, stack.parent_id)
    assert [sorted(e["pages"] + e.get("blank_pages", [])) for e in parent["letters"]] == truth_letters(path)
    assert {n for e in parent["letters"] for n in e.get("blank_pages", [])} == blank
    for result, letter in zip(stack.results, truth["letters"], strict=True):
        content = [n for n in letter["pages"] if n not in blank]
        assert result.to_dict()["parent"]["page_numbers"] == content
        assert result.quality.blank_pages == []


def test_one_letter_continues_itself(ctx: PipelineContext) -> None:
    path = COMMITTED / "0017-application_trade_registration.pdf"
    received = receive(path, ctx, channel="cli", station=None)
    read_pages(received.document_id, received.info, ctx)
    document = assemble(received.document_id, received.info, ctx)
    assert separate(received.document_id, ctx, document) == [received.document_id]


def test_printed_separator_sheet_is_recognised_after_rasterising(tmp_path: Path) -> None:
    pdf = tmp_path / "trennblatt.pdf"
    pdf.write_bytes(separator_sheets(2))
    subprocess.run(["pdftoppm", "-r", "150", "-gray", str(pdf), str(tmp_path / "sheet")], check=True, timeout=60)
    images = sorted(tmp_path.glob("sheet*.pgm"))
    assert len(images) == 2
    for image in images:
        pixels = cv2.imread(str(image), cv2.IMREAD_GRAYSCALE)
        assert pixels is not None and is_separator_sheet(pixels, 150)


# --- the rules on hand-made pages (positions in mm at 100 dpi: 1 mm = 3.937 px) --------------------------


def page(number: int, *lines: tuple[float, float, str], blank: bool = False, separator: bool = False) -> Page:
    """A page with text lines at (x mm, y mm)."""
    dpi = 100

    def px(mm: float) -> int:
        return round(mm * dpi / 25.4)

    blocks = [
        Block(lines=[Line(words=[Word(text=text, box=(px(x), px(y), px(x + 60), px(y + 4)))],
                          box=(px(x), px(y), px(x + 60), px(y + 4)))])
        for x, y, text in lines
    ]
    return Page(number=number, width=px(210), height=px(297), dpi=dpi, text_source=TextSource.OCR, blocks=blocks,
                quality=PageQuality(blank=blank), separator=separator)


FIRST = ((25, 60, "Stadtverwaltung Musterstadt"), (25, 75, "12345 Musterstadt"), (125, 55, "Datum: 12.11.2026"),
         (25, 110, "Sehr geehrte Damen und Herren,"))
CLOSING = ((25, 200, "Mit freundlichen Grüßen"),)


def test_first_page_starts_a_letter_unless_the_numbering_says_it_goes_on() -> None:
    pages = [page(1, *FIRST, *CLOSING), page(2, *FIRST), page(3, *FIRST, (150, 265, "Seite 1 von 2")),
             page(4, *FIRST), page(5, (70, 15, "- 2 -"), *FIRST)]
    spans = split_letters(pages)
    assert [s.pages for s in spans] == [(1,), (2,), (3, 4, 5)]
    assert [s.start for s in spans] == [LetterStart.FILE_START, LetterStart.FIRST_PAGE, LetterStart.FIRST_PAGE]
    assert spans[1].evidence == ("address_field", "date", "salutation")


def test_body_page_does_not_start_a_letter() -> None:
    body = ((25, 40, "Im Übrigen verweisen wir auf unser Schreiben."), (25, 120, "Sehr geehrte Frau Schmitz,"))
    assert [s.pages for s in split_letters([page(1, *FIRST), page(2, *body), page(3, *CLOSING)])] == [(1, 2, 3)]


def test_sheets_and_blank_pages_belong_to_no_letter_text() -> None:
    pages = [page(1, separator=True), page(2, blank=True), page(3, *FIRST), page(4, blank=True),
             page(5, separator=True), page(6, (25, 30, "Anlage")), page(7, separator=True), page(8, blank=True)]
    spans = split_letters(pages)
    assert [(s.pages, s.dropped, s.start) for s in spans] == [
        ((3,), (2, 4), LetterStart.SEPARATOR_SHEET),
        ((6,), (8,), LetterStart.SEPARATOR_SHEET),
    ]
    assert (spans[0].page_from, spans[0].page_to) == (2, 4)
    assert split_letters([page(1, blank=True), page(2, separator=True)]) == []
